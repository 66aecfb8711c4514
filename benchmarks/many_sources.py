"""A thousand sources on one machine: does the daemon keep their schedules, and at what CPU?

N feed sources, each a feed of 3 articles on a site of its own loopback address (127.0.x.y,
so Scrapy's per-site politeness applies per source), are crawled once (`newsmill crawl`,
timed: the one-process figure), then checked by `newsmill daemon` every INTERVAL seconds
for DURATION seconds. Their first starts are spread evenly over one interval (as jitter and
time do to a long-running daemon) by dating each source's last run back, and jitter is off,
so every check's scheduled time is known exactly: the last run's start plus k intervals.

Must show: at least 99% of the checks scheduled in the window start within 30 s of their
time; no run of a source overlaps its previous one; none failed; CPU per check (the daemon
and everything it started: crawl workers, extraction workers, forkserver) at most 0.05 s;
the daemon's and each worker's memory flat across the run. (The process-per-crawl mode that
--compare once measured beside it was removed; its figures stay in benchmarks/README.md.)

Usage: .venv/bin/python benchmarks/many_sources.py [--sources 1000] [--interval 300]
       [--duration 900] [--max-parallel 20] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sites import Site, article_html, rss_feed  # noqa: E402

NEWSMILL = str(Path(sys.executable).parent / "newsmill")
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0"]
ON_TIME = 30.0  # seconds a check may start after its scheduled time
MIB = 1024 * 1024


def address(n: int) -> str:
    """The n-th loopback address from 127.0.1.1: 254 per /24, never .0 or .255."""
    return f"127.0.{1 + n // 254}.{1 + n % 254}"


def make_sites(count: int) -> tuple[list[Site], str]:
    """One site per source, each on its own address; returns the sites and the sources file."""
    sites, lines = [], []
    for n in range(count):
        site = Site(address(n)).start()
        items = [(f"Source {n} story {i}", f"/story-{i}.html") for i in range(3)]
        for title, path in items:
            site.add(path, article_html(title))
        feed = site.add("/rss.xml", rss_feed(site, items), "application/rss+xml")
        sites.append(site)
        lines += ["[[sources]]", f'name = "s{n:04d}"', f'urls = ["{feed}"]']
    return sites, "\n".join(lines)


def query(db: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=60)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of a process and its descendants, the ended ones (reaped) included."""
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def worker_memory(daemon: psutil.Process) -> dict[int, int]:
    """RSS of each crawl worker (a child of the daemon's forkserver), its extraction workers
    included, by worker pid."""
    found = {}
    for server in daemon.children():
        try:
            if "forkserver" not in " ".join(server.cmdline()):
                continue
            for worker in server.children():
                if worker.status() == psutil.STATUS_ZOMBIE:
                    continue
                found[worker.pid] = sum(p.memory_info().rss
                                        for p in [worker, *worker.children(recursive=True)])
        except psutil.Error:
            pass
    return found


def stagger(db: Path, names: list[str], interval: float, start: datetime) -> dict[str, datetime]:
    """Date each source's last run back so its first check falls at start + i·interval/N."""
    due = {}
    conn = sqlite3.connect(db, timeout=60)
    with conn:
        for i, name in enumerate(names):
            due[name] = start + timedelta(seconds=interval * i / len(names))
            last = due[name] - timedelta(seconds=interval)
            conn.execute("update runs set started = ?, finished = ? where source = ?",
                         [last.isoformat(timespec="seconds"),
                          (last + timedelta(seconds=1)).isoformat(timespec="seconds"), name])
    conn.close()
    return due


def run_daemon(tmp: Path, db: Path, sources: str, names: list[str], interval: float,
               duration: float, max_parallel: int, settings: list[str], label: str) -> dict:
    """Run a daemon over `names` for `duration` seconds after their first check; measure."""
    slug = "workers" if "workers" in label else "processes"
    path = tmp / f"sources-{slug}.toml"
    path.write_text("\n".join(line if not line.startswith("urls") else
                              f'{line}\nevery = "{interval:.0f}s"'
                              for line in sources.splitlines()) + "\n")
    window_start = datetime.now(UTC) + timedelta(seconds=15)  # after the daemon's start-up
    due = stagger(db, names, interval, window_start)
    window_end = window_start + timedelta(seconds=duration)
    first_id = query(db, "select coalesce(max(id), 0) from runs")[0][0]
    log = open(tmp / f"daemon-{slug}.log", "w")
    process = subprocess.Popen(
        [NEWSMILL, "daemon", "--sources", str(path), "--db", str(db), "--max-parallel",
         str(max_parallel), "--log-level", "WARNING", *FAST, "-s", "NEWSMILL_DAEMON_JITTER=0",
         *settings], cwd=tmp, stdout=log, stderr=log,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    daemon = psutil.Process(process.pid)
    time.sleep(max(0.0, (window_start - datetime.now(UTC)).total_seconds()))
    cpu_start, began = tree_cpu(daemon), time.monotonic()
    own_start = sum(daemon.cpu_times()[:2])
    memory = []  # (seconds into the window, daemon RSS, {worker pid: RSS})
    while (left := (window_end - datetime.now(UTC)).total_seconds()) > 0:
        memory.append((time.monotonic() - began, daemon.memory_info().rss,
                       worker_memory(daemon)))
        time.sleep(min(left, max(duration / 12, 5)))
    cpu = tree_cpu(daemon) - cpu_start
    own = sum(daemon.cpu_times()[:2]) - own_start
    memory.append((time.monotonic() - began, daemon.memory_info().rss, worker_memory(daemon)))
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=300)
    log.close()

    runs = query(db, "select source, started, finished, status, articles_new, "
                 "articles_unchanged from runs where id > ? order by id", [first_id])
    by_source: dict[str, list[tuple]] = {}
    for run in runs:
        by_source.setdefault(run[0], []).append(run)
    scheduled = on_time = overlaps = failed = 0
    lateness = []
    in_window = 0
    for name in names:
        starts = [datetime.fromisoformat(r[1]) for r in by_source.get(name, [])]
        k = 0
        while (when := due[name] + timedelta(seconds=k * interval)) < window_end:
            scheduled += 1
            late = [(s - when).total_seconds() for s in starts
                    if -2 <= (s - when).total_seconds() < interval - 2]
            if late:
                lateness.append(min(late))
                on_time += min(late) <= ON_TIME
            k += 1
        source_runs = by_source.get(name, [])
        overlaps += sum(b[1] < a[2] for a, b in pairwise(source_runs) if a[2])
        # A run the daemon's SIGTERM interrupted after the window is not a failure.
        failed += sum(r[3] not in ("ok", "interrupted") or (
            r[3] == "interrupted" and (r[2] is None or datetime.fromisoformat(r[2]) < window_end))
            for r in source_runs)
        in_window += sum(window_start <= datetime.fromisoformat(r[1]) < window_end
                         for r in source_runs)
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run[3]] = statuses.get(run[3], 0) + 1
    new = sum(r[4] for r in runs)
    lateness.sort()
    return {"label": label, "sources": len(names), "scheduled": scheduled, "on_time": on_time,
            "started": len(lateness), "overlaps": overlaps, "failed": failed,
            "statuses": statuses, "new_articles": new, "checks_in_window": in_window,
            "cpu": cpu, "cpu_per_check": cpu / max(in_window, 1), "exit": code,
            "daemon_cpu": own,
            "late_p50": lateness[len(lateness) // 2] if lateness else float("nan"),
            "late_p99": lateness[int(len(lateness) * 0.99)] if lateness else float("nan"),
            "late_max": lateness[-1] if lateness else float("nan"), "memory": memory}


def report(result: dict) -> bool:
    share = result["on_time"] / max(result["scheduled"], 1)
    print(f"\n== {result['label']}: {result['sources']} sources")
    print(f"checks scheduled in the window: {result['scheduled']}; started: {result['started']}; "
          f"within {ON_TIME:.0f}s: {result['on_time']} ({share:.1%})")
    print(f"lateness: median {result['late_p50']:.1f}s, 99th percentile {result['late_p99']:.1f}s, "
          f"max {result['late_max']:.1f}s (runs.started has whole seconds)")
    print(f"overlapping runs: {result['overlaps']}; failed: {result['failed']}; statuses: "
          f"{result['statuses']}; new articles (should be 0: feeds unchanged): "
          f"{result['new_articles']}")
    print(f"CPU: {result['cpu']:.1f}s for {result['checks_in_window']} checks started in the "
          f"window: {result['cpu_per_check']:.3f}s per check (daemon and all it started); "
          f"the daemon process itself: {result['daemon_cpu']:.1f}s")
    memory = result["memory"]
    if memory:
        print("daemon RSS (MiB) over the window: " + ", ".join(
            f"{t:.0f}s {rss / MIB:.0f}" for t, rss, _ in memory))
        pids = sorted({pid for _, _, workers in memory for pid in workers})
        for pid in pids:
            print(f"crawl worker or process {pid}, with its extraction workers, RSS (MiB): " + ", ".join(
                f"{t:.0f}s {workers[pid] / MIB:.0f}" for t, _, workers in memory
                if pid in workers))
    print(f"daemon exit status: {result['exit']}")
    return (share >= 0.99 and result["overlaps"] == 0 and result["failed"] == 0
            and result["exit"] == 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=300, help="seconds between checks")
    parser.add_argument("--duration", type=float, default=900, help="seconds measured")
    parser.add_argument("--max-parallel", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="NEWSMILL_DAEMON_WORKERS")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="newsmill-many-"))
    db = tmp / "bench.db"
    print(f"starting {args.sources} sites on 127.0.1.1 onwards; work files in {tmp}")
    sites, sources = make_sites(args.sources)
    names = [f"s{n:04d}" for n in range(args.sources)]
    try:
        (tmp / "sources.toml").write_text(sources + "\n")
        began = time.monotonic()
        usage = psutil.Process().cpu_times()
        crawl = subprocess.run([NEWSMILL, "crawl", "--sources", str(tmp / "sources.toml"),
                                "--db", str(db), *FAST], cwd=tmp, capture_output=True,
                               text=True, env={k: v for k, v in os.environ.items()
                                               if k != "PYTHONPATH"})
        after = psutil.Process().cpu_times()
        wall = time.monotonic() - began
        cpu = (after.children_user + after.children_system
               - usage.children_user - usage.children_system)
        stored = query(db, "select count(*) from articles")[0][0]
        print(f"one `newsmill crawl` of all {args.sources} sources (first crawl, {stored} "
              f"articles stored, exit {crawl.returncode}): {wall:.1f}s wall, {cpu:.1f}s CPU")
        ok = report(run_daemon(tmp, db, sources, names, args.interval, args.duration,
                               args.max_parallel, ["-s", f"NEWSMILL_DAEMON_WORKERS={args.workers}"],
                               f"crawl workers ({args.workers})"))
        print(f"\n{'PASS' if ok else 'FAIL'} (the crawl workers' run: >= 99% on time, no "
              "overlap, none failed, exit 0; CPU and memory are read from the figures above)")
        return 0 if ok else 1
    finally:
        for site in sites:
            site.stop()


if __name__ == "__main__":
    sys.exit(main())
