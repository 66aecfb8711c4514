"""Does the daemon's memory stay flat over hundreds of crawls?

Runs `newsmill daemon` on four tiny local sources every second (two crawls at once)
until 200+ crawls have finished, and compares the daemon process's resident memory
after a warm-up (the baseline, measured in this run) with its memory at the end.
Passes if it grew by at most 10%. Usage: .venv/bin/python benchmarks/daemon_memory.py [CRAWLS]
"""

from __future__ import annotations

import sys
import time

import psutil
from daemon_common import DaemonBench

WARM_UP = 10


def forkserver_rss(daemon: psutil.Process) -> int:
    """The forkserver the crawls are forked from lives as long as the daemon: it counts too."""
    for child in daemon.children():
        if "multiprocessing.forkserver" in " ".join(child.cmdline()):
            return child.memory_info().rss
    return 0


def main() -> int:
    crawls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    bench = DaemonBench(sources=4, every="1s")
    daemon = psutil.Process(bench.process.pid)
    time.sleep(1)
    at_start = daemon.memory_info().rss
    began = time.monotonic()
    bench.wait_for_runs(WARM_UP, timeout=300)
    baseline = daemon.memory_info().rss
    server_baseline = forkserver_rss(daemon)
    bench.wait_for_runs(WARM_UP + crawls, timeout=crawls * 10)
    at_end = daemon.memory_info().rss
    server_end = forkserver_rss(daemon)
    elapsed = time.monotonic() - began
    total = bench.finished_runs()
    code = bench.stop()
    statuses = dict(bench.query("select status, count(*) from runs group by status"))
    mib = 1024 * 1024
    ratio = at_end / baseline
    print(f"crawls finished:        {total} in {elapsed:.0f}s ({total / elapsed:.2f}/s), "
          f"{statuses}")
    print(f"daemon RSS at start:    {at_start / mib:.1f} MiB (before any crawl)")
    print(f"daemon RSS baseline:    {baseline / mib:.1f} MiB (after {WARM_UP} crawls)")
    print(f"daemon RSS at the end:  {at_end / mib:.1f} MiB (after {total} crawls)")
    print(f"end / baseline:         {ratio:.3f} (limit 1.10)")
    server_ratio = server_end / server_baseline if server_baseline else float("nan")
    print(f"forkserver RSS:         {server_baseline / mib:.1f} MiB after {WARM_UP} crawls, "
          f"{server_end / mib:.1f} MiB at the end ({server_ratio:.3f})")
    print(f"daemon exit status:     {code}")
    return 0 if ratio <= 1.10 and server_ratio <= 1.10 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
