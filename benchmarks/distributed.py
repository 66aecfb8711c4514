"""Crawling on several machines: pages per second with 1 and 2 workers, and the one writer alone.

Serves N distinct article pages (benchmarks/article_site.py, in its own process) split
into sources of --per-source article URLs each, starts its own redis-server on a free
loopback port, and measures, each phase on a fresh database and a fresh Redis:

1. `newsmill daemon --redis --no-store` queues every source; `newsmill store` writes; 1
   `newsmill worker` (one extraction process) crawls: pages per second, from the daemon's
   start to the last run closed in the store;
2. the same with 2 workers: on this 2-core machine extraction is the bound, so near 2x is
   the most to expect (the writer, the daemon and Redis share the same two cores);
3. the writer alone: the workers crawl with no writer running (their results wait in
   Redis), then `newsmill store` is started and timed until the results stream is empty:
   articles written per second. From that and phase 1's articles per second per worker,
   how many workers one writer keeps up with (a projection: workers on other machines
   would each bring their own cores).

Politeness is off (DOWNLOAD_DELAY 0, no AutoThrottle, no shared host delay): the site is
local and the point is the CPU cost.

Also, around phase 1, newsmill's extract_article alone in one warmed process on the same
pages (CPU per page), and the 1-worker phase's CPU split into the worker process and its
extraction process: the worker's CPU per page against extraction alone.

Usage: .venv/bin/python benchmarks/distributed.py [--pages 1200] [--per-source 40]
       [--latency 20-60] [--alone-pages 400] [--one] [--repeat N] [--profile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.article_site import CORPUS, ArticleSite  # noqa: E402
from benchmarks.throughput import Ceilings, SiteProcess, _newsmill_extract  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

NEWSMILL = str(Path(sys.executable).parent / "newsmill")
QUICK = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "NEWSMILL_REDIS_HOST_DELAY=0",
         "-s", "NEWSMILL_DAEMON_JITTER=0", "-s", "NEWSMILL_PROGRESS=off"]


def sources_file(path: Path, base: str, pages: int, per_source: int) -> int:
    lines = []
    for n, start in enumerate(range(0, pages, per_source)):
        urls = [f"{base}/news/{i:06d}.html" for i in range(start, min(pages, start + per_source))]
        lines += ["[[sources]]", f'name = "part{n:03d}"', 'kind = "article"',
                  f"urls = {json.dumps(urls)}", 'every = "1h"', ""]
    path.write_text("\n".join(lines))
    return len(lines) // 6


class Phase:
    """One phase's processes, in a directory of its own."""

    def __init__(self, tmp: Path, name: str, sources: Path, redis: RedisServer,
                 profile: Path | None = None):
        self.profile = profile
        self.dir = tmp / name
        self.dir.mkdir()
        self.db = self.dir / "newsmill.db"
        self.sources = sources
        self.redis = redis
        self.procs: list[subprocess.Popen] = []

    def start(self, *args: str, name: str, env: dict | None = None) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "w")
        proc = subprocess.Popen([NEWSMILL, *args], cwd=self.dir, stdout=log, stderr=log,
                                start_new_session=True, env=env)
        self.procs.append(proc)
        return proc

    def workers(self, count: int) -> None:
        # --profile: the workers and their extraction processes under cProfile
        # (pipelines/profiling.py; CPU time of their main threads), each writing
        # DIR/<what>-<pid>.prof as it ends.
        env = {**os.environ, "NEWSMILL_PROFILE": str(self.profile),
               "NEWSMILL_PROFILE_CLOCK": "cpu"} if self.profile else None
        for n in range(count):
            self.start("worker", "--redis", self.redis.url, "--extract-workers", "1",
                       "--crawls", "8", *QUICK, name=f"worker{n}", env=env)
        client = self.redis.client()
        while client.scard("newsmill:workers") < count:
            time.sleep(0.1)

    def writer(self) -> subprocess.Popen:
        return self.start("store", "--redis", self.redis.url, "--db", str(self.db), name="store")

    def daemon(self, sources: int) -> subprocess.Popen:
        return self.start("daemon", "--redis", self.redis.url, "--no-store", "--sources",
                          str(self.sources), "--db", str(self.db), "--max-parallel",
                          str(sources), *QUICK, name="daemon")

    def closed_runs(self) -> list[tuple]:
        if not self.db.exists():
            return []
        try:
            with sqlite3.connect(self.db, timeout=30) as conn:
                return conn.execute("SELECT pages, articles_new FROM runs WHERE status NOT IN "
                                    "('running')").fetchall()
        except sqlite3.OperationalError:
            return []

    def cpu(self, name: str, children: bool = True) -> float:
        """CPU seconds so far of the processes started as `name`* and (with `children`) all
        they started."""
        total = 0.0
        for proc in self.procs:
            if not Path(proc.args[1]).name == name:
                continue
            try:
                tree = psutil.Process(proc.pid)
                for p in [tree, *(tree.children(recursive=True) if children else [])]:
                    times = p.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def crawl_phase(tmp: Path, sources: Path, count: int, workers: int,
                profile: Path | None = None, run: int = 1) -> dict:
    directory = tmp / f"redis-{workers}-{run}"
    directory.mkdir()
    redis = RedisServer(directory).start()
    phase = Phase(tmp, f"workers-{workers}-{run}", sources, redis, profile)
    try:
        phase.writer()
        phase.workers(workers)
        started = time.perf_counter()
        phase.daemon(count)
        while len(runs := phase.closed_runs()) < count:
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        worker_cpu, writer_cpu = phase.cpu("worker"), phase.cpu("store")
        reactor_cpu = phase.cpu("worker", children=False)
        load = os.getloadavg()[0]
    finally:
        phase.stop()
        redis.stop()
    pages, articles = sum(r[0] for r in runs), sum(r[1] for r in runs)
    return {"workers": workers, "seconds": round(seconds, 2), "pages": pages,
            "articles": articles, "pages_per_s": round(pages / seconds, 1),
            "articles_per_s": round(articles / seconds, 1),
            "workers_cpu_ms_per_page": round(1000 * worker_cpu / pages, 1),
            # the worker processes themselves (Scrapy, Redis) and their extraction processes
            "reactor_cpu_ms_per_page": round(1000 * reactor_cpu / pages, 1),
            "extraction_cpu_ms_per_page": round(1000 * (worker_cpu - reactor_cpu) / pages, 1),
            "writer_cpu_ms_per_page": round(1000 * writer_cpu / pages, 1),
            "load": round(load, 1)}


def writer_phase(tmp: Path, sources: Path, count: int) -> dict:
    (tmp / "redis-writer").mkdir()
    redis = RedisServer(tmp / "redis-writer").start()
    phase = Phase(tmp, "writer-alone", sources, redis)
    client = redis.client()
    try:
        phase.workers(2)
        phase.daemon(count)
        # Every crawl done: the workers' heartbeats count their crawls (a heartbeat is sent
        # every NEWSMILL_REDIS_HEARTBEAT seconds, 5 by default).
        while sum(json.loads(v)["done"] for v in client.mget(client.keys("newsmill:worker:*"))
                  if v) < count:
            time.sleep(0.5)
        time.sleep(2)  # the last results leave the workers' send queues
        results = client.xlen("newsmill:results")
        writer = phase.writer()
        while not phase.closed_runs() and writer.poll() is None:
            time.sleep(0.02)
        started = time.perf_counter()  # the writer's first run written: its start-up is behind
        while client.xlen("newsmill:results") > 0:
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        writer_cpu = phase.cpu("store")
    finally:
        phase.stop()
        redis.stop()
    articles = sum(r[1] for r in phase.closed_runs())
    return {"results": results, "articles": articles, "seconds": round(seconds, 2),
            "articles_per_s": round(articles / seconds, 1),
            "writer_cpu_s_with_start_up": round(writer_cpu, 2)}


def one_worker_run(tmp: Path, sources: Path, count: int, args, run: int) -> dict:
    """The 1-worker phase, and newsmill's extract_article alone on the same pages in one
    warmed process of its own (CPU per page, throughput.py's Ceilings), half before the phase
    and half after: the worker's CPU per page against extraction alone, measured together."""
    half = min(args.alone_pages, args.pages) // 2
    alone = Ceilings(ArticleSite(args.pages, CORPUS), args.pages, 1, [_newsmill_extract])
    try:
        alone.measure(0, half)
        one = crawl_phase(tmp, sources, count, 1, args.profile, run)
        alone.measure(half, 2 * half)
        (_, alone_cpu), = alone.rates()
    finally:
        alone.close()
    alone_ms = 1000 * alone_cpu
    one["extraction_alone_cpu_ms_per_page"] = round(alone_ms, 1)
    one["worker_vs_extraction_alone"] = round(one["workers_cpu_ms_per_page"] / alone_ms, 3)
    # The two parts of the ratio: the worker's own process (Scrapy, Redis), which is what a
    # worker adds to extraction, and its extraction process against extraction alone (the
    # same work: what moves it is the machine, minutes apart and under other load).
    one["worker_process_vs_extraction_alone"] = round(one["reactor_cpu_ms_per_page"] / alone_ms, 3)
    one["extraction_process_vs_alone"] = round(one["extraction_cpu_ms_per_page"] / alone_ms, 3)
    print(json.dumps({"phase": "1 worker", "run": run, **one}), flush=True)
    return one


def spread(runs: list[dict], name: str) -> dict:
    values = sorted(r[name] for r in runs)
    return {"min": values[0], "median": round(statistics.median(values), 3), "max": values[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1200)
    parser.add_argument("--per-source", type=int, default=40)
    parser.add_argument("--latency", default="20-60")
    parser.add_argument("--alone-pages", type=int, default=400,
                        help="pages extracted alone, for the worker's ratio (half before "
                             "the 1-worker phase, half after)")
    parser.add_argument("--one", action="store_true",
                        help="only the 1-worker phase and extraction alone (quick A/B)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="the 1-worker phase and extraction alone N times, each on a fresh "
                             "database, Redis and extraction process; then the least, median "
                             "and largest ratio")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="the 1-worker phase's worker and its extraction process under "
                             "cProfile: DIR/worker-PID.prof and DIR/extract-PID.prof")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    site = SiteProcess(args.pages, args.latency)
    tmp = Path(tempfile.mkdtemp(prefix="newsmill-distributed-"))
    try:
        sources = tmp / "sources.toml"
        count = sources_file(sources, site.urls[0], args.pages, args.per_source)
        print(f"{args.pages} pages in {count} sources; site latency {args.latency} ms", flush=True)
        runs = [one_worker_run(tmp, sources, count, args, n + 1) for n in range(args.repeat)]
        one = runs[-1]
        if args.repeat > 1:
            print(json.dumps({name: spread(runs, name) for name in (
                "worker_vs_extraction_alone", "worker_process_vs_extraction_alone",
                "extraction_process_vs_alone", "workers_cpu_ms_per_page",
                "reactor_cpu_ms_per_page", "extraction_alone_cpu_ms_per_page")}), flush=True)
        if args.one:
            return
        two = crawl_phase(tmp, sources, count, 2)
        print(json.dumps({"phase": "2 workers", **two}), flush=True)
        writer = writer_phase(tmp, sources, count)
        print(json.dumps({"phase": "writer alone", **writer}), flush=True)
        per_worker = one["articles_per_s"]
        print(json.dumps({
            "two_vs_one": round(two["pages_per_s"] / one["pages_per_s"], 2),
            "writer_articles_per_s": writer["articles_per_s"],
            "one_worker_articles_per_s": per_worker,
            "projection_workers_per_writer": round(writer["articles_per_s"] / per_worker, 1),
            # The same from CPU time, which the machine's other load does not inflate: a
            # worker's CPU per article over the writer's (its start-up included).
            "projection_by_cpu": round(one["workers_cpu_ms_per_page"] * writer["articles"]
                                       / (1000 * writer["writer_cpu_s_with_start_up"]), 1),
        }), flush=True)
    finally:
        site.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
