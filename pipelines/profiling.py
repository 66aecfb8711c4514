"""Profiling a command and its extraction workers: NEWSMILL_PROFILE=DIR.

With NEWSMILL_PROFILE naming a directory, `newsmill` (crawler/cli.py main) and each
extraction worker it spawns (pipelines/extract_worker.serve; the variable is inherited)
run their main thread under cProfile and write `DIR/<what>-<pid>.prof` as they end, for
`python -m pstats`. NEWSMILL_PROFILE_CLOCK=cpu times with the thread's CPU clock instead of
the wall clock: a worker's reactor spends most of its wall time waiting in epoll, and what
the benchmarks count is CPU. How the benchmarks' profiles were taken: benchmarks/README.md.
Unset, it costs one environment look-up per process.
"""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def profiled(what: str):
    """Run the body under cProfile if NEWSMILL_PROFILE is set; the profile written at its end
    (a SystemExit included: `newsmill crawl` ends with sys.exit)."""
    directory = os.environ.get("NEWSMILL_PROFILE")
    if not directory:
        yield
        return
    import cProfile
    import time

    cpu = os.environ.get("NEWSMILL_PROFILE_CLOCK") == "cpu"
    profile = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        os.makedirs(directory, exist_ok=True)
        profile.dump_stats(os.path.join(directory, f"{what}-{os.getpid()}.prof"))
