"""Ten thousand sources on one machine: does the daemon keep their schedules, and at what CPU?

N feed sources (default 10,000), each a feed of 3 articles on a site of its own loopback
address (127.0.x.y, so Scrapy's per-site politeness applies per source), all served by
benchmarks/feed_server.py (one asyncio loop in a process of its own, ETag/Last-Modified and
304s as real feeds), are crawled once (`newsmill crawl`, in chunks: a set-up step), then
checked by `newsmill daemon`, with its default settings, every INTERVAL seconds for DURATION
seconds. Their first starts are spread evenly over one interval (as jitter and time do to a
long-running daemon) by dating each source's last run back, and jitter is off, so every
check's scheduled time is known exactly: the last run's start plus k intervals.

Must show (issue 26): at least 99% of the checks scheduled in the window start within 30 s of
their time; no run of a source overlaps its previous one; none failed; CPU per check of an
unchanged feed (the daemon and everything it started: crawl workers, extraction workers,
forkserver; not the feed server) at most 0.03 s; the daemon's and the workers' memory flat
(after the first interval, the last quarter's highest sample within 5% of the first
quarter's). The feeds never change, so every check is of an unchanged feed, answered 304
(the server's counts say how many).

Usage: .venv/bin/python benchmarks/many_sources.py [--sources 10000] [--interval 900]
       [--duration 1800] [--max-parallel N] [--workers N] [--crawl-chunk 1000] [--lead-in S]
"""

from __future__ import annotations

import argparse
import json
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

from benchmarks.feed_server import address  # noqa: E402

NEWSMILL = str(Path(sys.executable).parent / "newsmill")
SERVER = str(Path(__file__).resolve().parent / "feed_server.py")
# The first crawl only (a set-up step, not measured): the sites are local, politeness would
# only make it longer. The daemon runs with its defaults.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0"]
ON_TIME = 30.0  # seconds a check may start after its scheduled time
CPU_PER_CHECK = 0.03  # seconds, the ceiling for a check of an unchanged feed
FLAT = 1.05  # memory is flat when the last sample is within 5% of the one after warm-up
MIB = 1024 * 1024
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


class FeedServer:
    """benchmarks/feed_server.py in a process of its own (its CPU is not the daemon's)."""

    def __init__(self, count: int):
        began = time.monotonic()
        self.process = subprocess.Popen([sys.executable, SERVER, str(count)], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the feed server did not start (exit {self.process.wait()})")
        self.ready = json.loads(line)
        self.ready["wall_s"] = time.monotonic() - began  # its interpreter's start included
        self.port = self.ready["port"]

    def feed(self, n: int) -> str:
        return f"http://{address(n)}:{self.port}/rss.xml"

    def set_latency(self, latency: str) -> None:
        """Each answer from now on waits a random time in `latency` ("0.1-1.0" seconds)."""
        self.process.stdin.write(f"latency {latency}\n")
        self.process.stdin.flush()

    def counts(self) -> dict:
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def name(n: int) -> str:
    return f"s{n:05d}"


def sources_toml(server: FeedServer, numbers: range, every: float | None = None) -> str:
    lines = []
    for n in numbers:
        lines += ["[[sources]]", f'name = "{name(n)}"', f'urls = ["{server.feed(n)}"]']
        if every:
            lines.append(f'every = "{every:.0f}s"')
    return "\n".join(lines) + "\n"


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
    due = {name: start + timedelta(seconds=interval * i / len(names))
           for i, name in enumerate(names)}
    conn = sqlite3.connect(db, timeout=60)
    with conn:
        conn.executemany("update runs set started = ?, finished = ? where source = ?", [
            ((when - timedelta(seconds=interval)).isoformat(timespec="seconds"),
             (when - timedelta(seconds=interval - 1)).isoformat(timespec="seconds"), name)
            for name, when in due.items()])
    conn.close()
    return due


def first_crawl(tmp: Path, db: Path, server: FeedServer, count: int, chunk: int) -> None:
    """Every source's first crawl (a set-up step: it stores the articles, and the feeds'
    validators the daemon's checks send): one `newsmill crawl` per `chunk` sources, so that
    ten thousand need not fit in one crawl's memory."""
    began, usage = time.monotonic(), psutil.Process().cpu_times()
    codes = []
    for first in range(0, count, chunk):
        path = tmp / f"first-crawl-{first // chunk:03d}.toml"
        path.write_text(sources_toml(server, range(first, min(first + chunk, count))))
        crawl = subprocess.run([NEWSMILL, "crawl", "--sources", str(path), "--db", str(db),
                                *FAST], cwd=tmp, capture_output=True, text=True, env=ENV)
        codes.append(crawl.returncode)
        if crawl.returncode:
            (tmp / f"{path.stem}.log").write_text(crawl.stdout + crawl.stderr)
    after = psutil.Process().cpu_times()
    cpu = after.children_user + after.children_system - usage.children_user - usage.children_system
    stored = query(db, "select count(*) from articles")[0][0]
    kept = query(db, "select count(*) from listing_state where etag is not null "
                     "or last_modified is not null")[0][0]
    print(f"first crawl of all {count} sources ({len(codes)} `newsmill crawl` of up to {chunk} "
          f"sources, exits {sorted(set(codes))}): {time.monotonic() - began:.1f}s wall, "
          f"{cpu:.1f}s CPU; {stored} articles stored (of {3 * count}), validators kept for "
          f"{kept} feeds")


def largest(workers: dict[int, int]) -> int:
    return max(workers.values(), default=0)


def run_daemon(tmp: Path, db: Path, server: FeedServer, names: list[str], interval: float,
               duration: float, lead_in: float, options: list[str]) -> dict:
    """Run a daemon over `names` for `duration` seconds after their first check; measure."""
    path = tmp / "sources.toml"
    path.write_text(sources_toml(server, range(len(names)), interval))
    window_start = datetime.now(UTC) + timedelta(seconds=lead_in)  # after the daemon's start-up
    due = stagger(db, names, interval, window_start)
    window_end = window_start + timedelta(seconds=duration)
    first_id = query(db, "select coalesce(max(id), 0) from runs")[0][0]
    log = open(tmp / "daemon.log", "w")
    command = [NEWSMILL, "daemon", "--sources", str(path), "--db", str(db), "--log-level",
               "WARNING", *options]
    print("daemon: " + " ".join(command[1:]).replace(str(tmp) + "/", ""))
    process = subprocess.Popen(command, cwd=tmp, stdout=log, stderr=log, env=ENV)
    daemon = psutil.Process(process.pid)
    time.sleep(max(0.0, (window_start - datetime.now(UTC)).total_seconds()))
    cpu_start, began = tree_cpu(daemon), time.monotonic()
    own_start = sum(daemon.cpu_times()[:2])
    served_start = server.counts()
    memory = []  # (seconds into the window, daemon RSS, {worker pid: RSS})
    while (left := (window_end - datetime.now(UTC)).total_seconds()) > 0:
        memory.append((time.monotonic() - began, daemon.memory_info().rss,
                       worker_memory(daemon)))
        time.sleep(min(left, max(duration / 30, 5)))
    cpu = tree_cpu(daemon) - cpu_start
    own = sum(daemon.cpu_times()[:2]) - own_start
    served_end = server.counts()
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
    served = {kind: {status: served_end["by_kind"][kind][status] - count
                     for status, count in counts.items()}
              for kind, counts in served_start["by_kind"].items()}
    return {"sources": len(names), "interval": interval, "scheduled": scheduled,
            "on_time": on_time, "started": len(lateness), "overlaps": overlaps,
            "failed": failed, "statuses": statuses, "new_articles": new,
            "checks_in_window": in_window, "cpu": cpu, "cpu_per_check": cpu / max(in_window, 1),
            "exit": code, "daemon_cpu": own, "served": served,
            "requests": served_end["requests"] - served_start["requests"],
            "not_modified": served_end["not_modified"] - served_start["not_modified"],
            "server_cpu": served_end["cpu_s"] - served_start["cpu_s"],
            "server_end": served_end,
            "late_p50": lateness[len(lateness) // 2] if lateness else float("nan"),
            "late_p99": lateness[int(len(lateness) * 0.99)] if lateness else float("nan"),
            "late_max": lateness[-1] if lateness else float("nan"), "memory": memory}


def flat(samples: list[tuple[float, int]], warm_up: float) -> tuple[int, int, bool]:
    """(RSS after warm-up, RSS at the end, flat?) of (seconds, RSS) samples: the highest
    sample in the first quarter after `warm_up` seconds against the highest in the last
    quarter. Highest, because a crawl worker is replaced every
    NEWSMILL_DAEMON_WORKER_MAX_CRAWLS crawls: a single sample may find a fresh one."""
    end = samples[-1][0]
    span = max((end - warm_up) / 4, 1.0)
    after = max((rss for t, rss in samples if warm_up <= t < warm_up + span),
                default=samples[0][1])
    last = max(rss for t, rss in samples if t >= end - span)
    return after, last, last <= after * FLAT


def report(result: dict) -> bool:
    share = result["on_time"] / max(result["scheduled"], 1)
    served = result["served"]
    print(f"\n== {result['sources']} sources, every {result['interval']:.0f}s")
    print(f"checks scheduled in the window: {result['scheduled']}; started: {result['started']}; "
          f"within {ON_TIME:.0f}s: {result['on_time']} ({share:.1%})")
    print(f"lateness: median {result['late_p50']:.1f}s, 99th percentile {result['late_p99']:.1f}s, "
          f"max {result['late_max']:.1f}s (runs.started has whole seconds)")
    print(f"overlapping runs: {result['overlaps']}; failed: {result['failed']}; statuses: "
          f"{result['statuses']}; new articles (should be 0: feeds unchanged): "
          f"{result['new_articles']}")
    print(f"sites asked during the window: {result['requests']} requests, "
          f"{result['not_modified']} answered 304; feeds {served['feed']['304']} x 304 + "
          f"{served['feed']['200']} x 200, robots.txt {served['robots']['304']} x 304 + "
          f"{served['robots']['200']} x 200, articles {served['article']['200']} x 200, "
          f"404s {sum(c['404'] for c in served.values())}; feed server CPU "
          f"{result['server_cpu']:.1f}s, RSS {result['server_end']['rss_mib']:.0f} MiB, "
          f"connections open at the end {result['server_end']['connections']} "
          f"(most at once {result['server_end']['peak_connections']})")
    print(f"CPU: {result['cpu']:.1f}s for {result['checks_in_window']} checks started in the "
          f"window: {result['cpu_per_check']:.4f}s per check (daemon and all it started); "
          f"the daemon process itself: {result['daemon_cpu']:.1f}s")
    memory = result["memory"]
    warm_up = min(result["interval"], memory[-1][0] / 2)
    daemon_flat = worker_flat = True
    if memory:
        print("daemon RSS (MiB) over the window: " + ", ".join(
            f"{t:.0f}s {rss / MIB:.0f}" for t, rss, _ in memory))
        print("largest crawl worker (with its extraction workers) RSS (MiB): " + ", ".join(
            f"{t:.0f}s {largest(workers) / MIB:.0f}" for t, _, workers in memory))
        pids = sorted({pid for _, _, workers in memory for pid in workers})
        print(f"crawl workers seen: {len(pids)} (one is replaced after "
              "NEWSMILL_DAEMON_WORKER_MAX_CRAWLS crawls)")
        for pid in pids:
            print(f"  worker {pid}, with its extraction workers, RSS (MiB): " + ", ".join(
                f"{t:.0f}s {workers[pid] / MIB:.0f}" for t, _, workers in memory
                if pid in workers))
        after, last, daemon_flat = flat([(t, rss) for t, rss, _ in memory], warm_up)
        print(f"daemon memory {'flat' if daemon_flat else 'NOT flat'}: {after / MIB:.0f} MiB "
              f"after warm-up ({warm_up:.0f}s), {last / MIB:.0f} MiB at the end (the highest "
              "samples of the first and last quarters after it)")
        after, last, worker_flat = flat([(t, largest(w)) for t, _, w in memory], warm_up)
        print(f"largest worker's memory {'flat' if worker_flat else 'NOT flat'}: "
              f"{after / MIB:.0f} MiB after warm-up, {last / MIB:.0f} MiB at the end")
    print(f"daemon exit status: {result['exit']}")
    checks = {
        f">= 99% on time ({share:.1%})": share >= 0.99,
        f"<= {CPU_PER_CHECK}s CPU per check ({result['cpu_per_check']:.4f}s)":
            result["cpu_per_check"] <= CPU_PER_CHECK,
        f"no overlap ({result['overlaps']})": result["overlaps"] == 0,
        f"none failed ({result['failed']})": result["failed"] == 0,
        f"memory flat within {FLAT - 1:.0%} (daemon, largest worker)": daemon_flat and worker_flat,
        f"daemon exit 0 ({result['exit']})": result["exit"] == 0,
    }
    ok = all(checks.values())
    print(f"\n{'PASS' if ok else 'FAIL'}: " + "; ".join(
        f"{label} {'ok' if passed else 'FAILED'}" for label, passed in checks.items()))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=10000)
    parser.add_argument("--interval", type=float, default=900, help="seconds between checks")
    parser.add_argument("--duration", type=float, default=1800, help="seconds measured")
    parser.add_argument("--max-parallel", type=int, default=None,
                        help="the daemon's --max-parallel (default: the daemon's own)")
    parser.add_argument("--workers", type=int, default=None,
                        help="-s NEWSMILL_DAEMON_WORKERS (default: the daemon's own)")
    parser.add_argument("--crawl-chunk", type=int, default=1000,
                        help="sources per `newsmill crawl` of the first crawl")
    parser.add_argument("--lead-in", type=float, default=None,
                        help="seconds from the daemon's start to the window's "
                             "(default: 15 + 4 per thousand sources)")
    parser.add_argument("--latency", default="0.1-1.0",
                        help="seconds each answer waits after the first crawl, a random time "
                             "in this range (a real feed's round trip and server time); 0: none")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="newsmill-many-"))
    db = tmp / "bench.db"
    server = FeedServer(args.sources)
    ready = server.ready
    print(f"{args.sources} sites listening on 127.0.1.1-{address(args.sources - 1)} port "
          f"{server.port} after {ready['startup_s']:.2f}s ({ready['wall_s']:.2f}s with the "
          f"interpreter's start), feed server RSS {ready['rss_mib']:.0f} MiB; work files in {tmp}")
    names = [name(n) for n in range(args.sources)]
    # Jitter off: every check's scheduled time is then known exactly (the module docstring).
    options = ["-s", "NEWSMILL_DAEMON_JITTER=0"]
    if args.max_parallel:
        options += ["--max-parallel", str(args.max_parallel)]
    if args.workers is not None:
        options += ["-s", f"NEWSMILL_DAEMON_WORKERS={args.workers}"]
    try:
        first_crawl(tmp, db, server, args.sources, args.crawl_chunk)
        server.set_latency(args.latency)
        print(f"from now on each answer waits {args.latency} s (a network round trip and the "
              "server's time)")
        lead_in = args.lead_in if args.lead_in is not None else 15 + 4 * args.sources / 1000
        ok = report(run_daemon(tmp, db, server, names, args.interval, args.duration, lead_in,
                               options))
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
