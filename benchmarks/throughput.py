#!/usr/bin/env python3
"""Throughput: newsmill against the extraction ceiling and the trafilatura command line.

Serves N distinct article pages (benchmarks/article_site.py) on 127.0.0.1 behind an RSS feed
and a sitemap, each request after a random latency, and measures in one run:

1. ceiling: trafilatura extraction alone (trafilatura.extract with metadata, what newsmill
   needs of it) over the same pages, in one process per core, pages/s, half of the pages
   before newsmill's crawls and half after; newsmill's own extraction function and
   trafilatura.extract without metadata for reference;
2. newsmill: `newsmill crawl` of the feed and sitemap into a fresh database, pages/s;
3. peer: `trafilatura -i urls.txt --parallel C` over the same pages, pages/s;
4. the ratios newsmill/ceiling and newsmill/peer;
5. a re-crawl of the unchanged site (--recrawls N: N of them): its wall time and its CPU
   (the command's and its children's) as fractions of the first crawl's, bytes and article
   bodies the site sent again;
6. peak resident memory of the crawl's process tree; with --memory, at 1k and 10k pages.

With --archive, only the WARC archive's cost (crawler/archive.py): crawls of the same site
with ARCHIVE_ENABLED off and on, alternating, each into a fresh database; pages/s and CPU
per page of each, their ratios, and the archive's bytes per page.

    .venv/bin/python benchmarks/throughput.py [--pages 2000] [--latency 50-200] [--memory]
        [--recrawls N]
    .venv/bin/python benchmarks/throughput.py --archive [--rounds 3] [--pages 1000]

The last line is machine-readable (name value pairs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.article_site import CORPUS, ArticleSite, CorpusMissing, corpus_files  # noqa: E402

BIN = Path(sys.executable).parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK = os.sysconf("SC_CLK_TCK")


# --- measuring processes -------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    tree, total, todo = _children(), 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(tree.get(p, []))
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


class PeakMemory:
    """Samples the resident memory of a process tree until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.25):
        self.pid, self.interval, self.peak = pid, interval, 0
        self.cpu = 0.0  # CPU seconds of the root process itself, as last seen
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            try:
                self.cpu = cpu_seconds(self.pid)
            except (OSError, IndexError, ValueError):
                pass
            self.stopped.wait(self.interval)

    def stop(self) -> int:
        self.stopped.set()
        self.thread.join()
        return self.peak


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path | None = None,
                 timeout: float = 3600) -> dict:
    """Run a command; its wall time, exit status, output tail, peak tree memory and CPU.

    cpu_main is the command's own process, cpu_total it and every descendant it waited for
    (newsmill's extraction workers).
    """
    import resource

    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    memory = PeakMemory(proc.pid)
    out, err = proc.communicate(timeout=timeout)
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_total = (children.ru_utime + children.ru_stime
                 - children_before.ru_utime - children_before.ru_stime)
    return {"seconds": seconds, "exit": proc.returncode, "peak_rss": memory.stop(),
            "cpu_main": memory.cpu, "cpu_total": cpu_total,
            "stdout": out[-3000:], "stderr": err[-3000:]}


# --- the site --------------------------------------------------------------------------
class SiteProcess:
    """benchmarks/article_site.py in its own process, so it never shares our GIL."""

    def __init__(self, pages: int, latency: str, hosts: int = 1, prebuild: bool = True):
        # Pages built before the runs (ArticleSite.prebuild), except for --memory, where 10k
        # pages would hold 1.7 GB in the site and only the crawl's memory is measured.
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "article_site.py"), "--pages", str(pages),
             "--latency", latency, "--hosts", str(hosts), *([] if prebuild else ["--no-prebuild"])],
            stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.urls, self.pid = hello["urls"], hello["pid"]

    def stats(self) -> dict:
        with urllib.request.urlopen(self.urls[0] + "/__stats", timeout=10) as response:
            return {**json.loads(response.read()), "cpu": cpu_seconds(self.pid)}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after}


# --- 1. the ceiling ----------------------------------------------------------------------
def _timed(extract, page: bytes) -> float:
    """CPU seconds one extraction took in this worker; negative when it found nothing."""
    started = time.process_time()
    found = extract(page)
    spent = time.process_time() - started
    return spent if found else -spent


def _newsmill_extract(page: bytes) -> float:
    from pipelines.extract_worker import extract_article

    return _timed(lambda p: "not_article" not in extract_article(
        p, "http://127.0.0.1/news/x.html", {}, {"min_words": 10}, "utf-8"), page)


def _plain_extract(page: bytes) -> float:
    import trafilatura

    return _timed(lambda p: trafilatura.extract(p.decode("utf-8"), url="http://127.0.0.1/news/x.html")
                  is not None, page)


def _plain_extract_metadata(page: bytes) -> float:
    import trafilatura

    return _timed(lambda p: trafilatura.extract(p.decode("utf-8"), url="http://127.0.0.1/news/x.html",
                                                with_metadata=True) is not None, page)


def _warm() -> None:
    from pipelines.extract_worker import prepare_worker

    prepare_worker()  # as newsmill's workers start


class Ceilings:
    """Extraction alone: each function's pages per second and CPU per page, in `workers`
    processes, measured in parts (`measure`) that can bracket the crawls.

    The functions take turns on slices of the pages, so load from other work on the machine
    falls on all of them alike; the parts run before and after newsmill's crawls, so a
    machine that slows down (or speeds up) during a run moves the ceiling with it. Each
    function has a pool of its own: trafilatura and htmldate keep caches of the strings
    they have seen, so a worker that had just extracted a page would extract it again
    faster than a crawl ever sees it.
    """

    def __init__(self, site: ArticleSite, warm_from: int, workers: int, functions: list):
        self.site, self.functions = site, functions
        self.spent = [0.0] * len(functions)
        self.cpu = [0.0] * len(functions)
        self.pages = 0
        self.parts: list[float] = []  # the first function's pages/s in each part
        self.pools = [ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_warm)
                      for _ in functions]
        warm = [site.page(warm_from + i) for i in range(workers * 2)]  # pages not measured
        for pool, function in zip(self.pools, functions, strict=True):
            list(pool.map(function, warm))  # start and warm every worker

    def measure(self, start: int, stop: int, rounds: int = 2) -> None:
        step = -(-(stop - start) // rounds)
        part_spent = 0.0
        for first in range(start, stop, step):
            chunk = [self.site.page(i) for i in range(first, min(first + step, stop))]
            for n, (pool, function) in enumerate(zip(self.pools, self.functions, strict=True)):
                started = time.perf_counter()
                results = list(pool.map(function, chunk, chunksize=2))
                spent = time.perf_counter() - started
                self.spent[n] += spent
                if n == 0:
                    part_spent += spent
                self.cpu[n] += sum(abs(r) for r in results)
                done = sum(1 for r in results if r >= 0)
                assert done >= len(chunk) * 0.95, f"only {done} of {len(chunk)} pages extracted"
        self.pages += stop - start
        self.parts.append((stop - start) / part_spent)

    def rates(self) -> list[tuple[float, float]]:
        """(pages per second, CPU seconds per page) of each function over every part."""
        return [(self.pages / s, c / self.pages) for s, c in zip(self.spent, self.cpu, strict=True)]

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown()


# --- 2. newsmill -------------------------------------------------------------------------
def newsmill_command(base: str, db: Path, concurrency: int, extra: list[str]) -> list[str]:
    return [str(BIN / "newsmill"), "crawl", f"{base}/feed.xml", f"{base}/sitemap.xml",
            "--db", str(db), "--max-articles", "0", "--log-level", "WARNING",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
            "-s", f"CONCURRENT_REQUESTS={concurrency}",
            "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
            "-s", "NEWSMILL_PROGRESS=off",
            "-s", "NEWSMILL_SOURCE_MAX_REQUESTS=0", *extra]  # a 10k-page site needs more than 5000


def stored_articles(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from articles").fetchone()[0]


def crawl(site: SiteProcess, db: Path, concurrency: int, extra: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed command
    before = site.stats()
    result = run_measured(newsmill_command(site.urls[0], db, concurrency, extra), env=env, cwd=db.parent)
    result["site"] = delta(site.stats(), before)
    result["stored"] = stored_articles(db)
    return result


# --- 3. the peer -------------------------------------------------------------------------
def peer_settings(workdir: Path) -> Path:
    """trafilatura's own settings.cfg, with no sleep between requests and loopback allowed."""
    import trafilatura

    text = (Path(trafilatura.__file__).parent / "settings.cfg").read_text()
    lines = []
    for line in text.splitlines():
        if line.startswith("SLEEP_TIME"):
            line = "SLEEP_TIME = 0"
        elif line.startswith("SSRF_PROTECTION"):
            line = "SSRF_PROTECTION = off"  # the site is on 127.0.0.1
        lines.append(line)
    path = workdir / "trafilatura.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def peer(site: SiteProcess, pages: ArticleSite, workdir: Path, concurrency: int) -> dict:
    """`trafilatura -i urls.txt --parallel C`, URLs spread over the site's loopback hosts.

    The command line fetches one URL per host at a time (courlan's UrlStore hands out one
    URL per domain per round), so on a single host --parallel would not apply; spreading the
    same pages over C loopback addresses gives it its full concurrency.
    """
    urls = workdir / "urls.txt"
    urls.write_text("".join(f"{site.urls[i % len(site.urls)]}{pages.path(i)}\n"
                            for i in range(pages.pages)))
    out = workdir / "peer-output"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(BIN / "trafilatura"), "-i", str(urls), "--parallel", str(concurrency),
           "--config-file", str(peer_settings(workdir)), "--with-metadata", "-o", str(out)]
    before = site.stats()
    result = run_measured(cmd, cwd=workdir)
    result["site"] = delta(site.stats(), before)
    result["stored"] = sum(1 for p in out.rglob("*") if p.is_file())
    result["command"] = cmd
    return result


# --- reporting ---------------------------------------------------------------------------
def mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages on the site (default 2000)")
    parser.add_argument("--latency", default="50-200", help="per request, ms LOW-HIGH (default 50-200)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="concurrent requests, newsmill and peer alike (default 16)")
    parser.add_argument("--ceiling-pages", type=int, default=0,
                        help="pages for the extraction ceiling (default 0: all the site's pages)")
    parser.add_argument("--memory", action="store_true",
                        help="only newsmill's peak memory, crawling 1k then 10k pages")
    parser.add_argument("--archive", action="store_true",
                        help="only the archive's cost: crawls with ARCHIVE_ENABLED off and on")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --archive: crawls of each kind, alternating (default 3)")
    parser.add_argument("--no-peer", action="store_true", help="skip the trafilatura command line")
    parser.add_argument("--recrawls", type=int, default=1, metavar="N",
                        help="re-crawl the unchanged site N times (default 1); the last line "
                             "gives the median and the largest of their ratios")
    parser.add_argument("--keep", type=Path, help="keep databases and outputs in this directory")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="extra setting for newsmill crawl (repeatable)")
    args = parser.parse_args()
    corpus_files(CORPUS)  # before any site starts: its pages are made from the corpus
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsmill-throughput-"))
    workdir.mkdir(parents=True, exist_ok=True)
    extra = [x for s in args.settings for x in ("-s", s)]
    print(f"cores {os.cpu_count()}, load {load()}, latency {args.latency} ms, "
          f"concurrency {args.concurrency}, workdir {workdir}", flush=True)
    if args.memory:
        return memory_mode(args, workdir, extra)
    if args.archive:
        return archive_mode(args, workdir, extra)

    workers = os.cpu_count() or 1
    hosts = 1 if args.no_peer else args.concurrency
    site = SiteProcess(args.pages, args.latency, hosts)
    ceiling = None
    try:
        pages = ArticleSite(args.pages, CORPUS)
        count = min(args.ceiling_pages or args.pages, args.pages)
        ceiling = Ceilings(pages, args.pages, workers,
                           [_plain_extract_metadata, _newsmill_extract, _plain_extract])
        ceiling.measure(0, count // 2)  # the other half after the crawls
        print(f"ceiling, first half: {ceiling.parts[0]:.1f} pages/s (load {load()})", flush=True)

        db = workdir / "throughput.db"
        for stale in workdir.glob("throughput.db*"):
            stale.unlink()
        first = crawl(site, db, args.concurrency, extra)
        rate = args.pages / first["seconds"]
        print(f"newsmill: {first['stored']} of {args.pages} stored in {first['seconds']:.1f} s: "
              f"{rate:.1f} pages/s, peak RSS {mb(first['peak_rss'])}, exit {first['exit']}, "
              f"site CPU {first['site']['cpu'] / first['seconds']:.0%} of a core (load {load()})", flush=True)
        print(f"  CPU per page: crawl process {1000 * first['cpu_main'] / args.pages:.1f} ms, extraction "
              f"workers {1000 * (first['cpu_total'] - first['cpu_main']) / args.pages:.1f} ms", flush=True)
        if first["exit"] not in (0, 1) or first["stored"] < args.pages * 0.95:
            print(first["stderr"], file=sys.stderr)
        # The re-crawl of the unchanged site, --recrawls times: each against the first crawl,
        # by wall time and by CPU (its process and any it started), which other load on the
        # machine hardly changes.
        recrawls = []
        for n in range(args.recrawls):
            again = crawl(site, db, args.concurrency, extra)
            again["time_ratio"] = again["seconds"] / first["seconds"]
            again["cpu_ratio"] = again["cpu_total"] / first["cpu_total"]
            recrawls.append(again)
            print(f"re-crawl {n + 1}: {again['seconds']:.2f} s ({again['time_ratio']:.1%} of the "
                  f"first), CPU {again['cpu_total']:.2f} s ({again['cpu_ratio']:.1%} of the first's "
                  f"{first['cpu_total']:.1f} s), {again['site']['bytes']} bytes sent, "
                  f"{again['site']['article_bodies']} article bodies, "
                  f"{again['site']['not_modified']} answered 304, exit {again['exit']} "
                  f"(load {load()})", flush=True)
        again = recrawls[0]

        ceiling.measure(count // 2, count)
        (ceiling_rate, ceiling_cpu), (own_rate, own_cpu), (plain_rate, plain_cpu) = ceiling.rates()
        print(f"ceiling: trafilatura.extract(with_metadata=True) in {workers} processes: "
              f"{ceiling_rate:.1f} pages/s, {1000 * ceiling_cpu:.1f} ms CPU per page ({count} pages, "
              f"half before the crawls at {ceiling.parts[0]:.1f} pages/s, half after at "
              f"{ceiling.parts[1]:.1f}; load {load()})", flush=True)
        print(f"  for reference: newsmill's extract_article {own_rate:.1f} pages/s, "
              f"{1000 * own_cpu:.1f} ms; trafilatura.extract without metadata {plain_rate:.1f} pages/s, "
              f"{1000 * plain_cpu:.1f} ms", flush=True)

        if args.no_peer:
            peer_rate = peer_cpu = float("nan")
        else:
            other = peer(site, pages, workdir, args.concurrency)
            peer_rate = args.pages / other["seconds"]
            peer_cpu = other["cpu_total"] / args.pages
            print(f"peer: trafilatura --parallel {args.concurrency}: {other['stored']} of {args.pages} "
                  f"extracted in {other['seconds']:.1f} s: {peer_rate:.1f} pages/s, peak RSS "
                  f"{mb(other['peak_rss'])}, exit {other['exit']} (load {load()})", flush=True)
            print(f"  CPU per page: {1000 * peer_cpu:.1f} ms, in one process (extraction runs in its "
                  f"main thread)")
            print("  " + " ".join(other["command"]))
    finally:
        if ceiling is not None:
            ceiling.close()
        site.stop()
    print("newsmill: " + " ".join(newsmill_command("http://127.0.0.1:PORT", Path("DB"), args.concurrency, extra)))
    # The same comparison from CPU time, which other work on the machine hardly changes: the
    # rate each would reach with the machine to itself. newsmill: its cores over its CPU per
    # page, but no faster than its crawl process alone allows; the peer extracts in its main
    # thread, so one core over its CPU per page.
    newsmill_cpu, main_cpu = first["cpu_total"] / args.pages, first["cpu_main"] / args.pages
    cores = os.cpu_count() or 1
    newsmill_alone = min(cores / newsmill_cpu, 1 / main_cpu)
    ceiling_alone = cores / ceiling_cpu
    peer_alone = 1 / peer_cpu
    print(f"from CPU time: ceiling {ceiling_alone:.1f} pages/s, newsmill {newsmill_alone:.1f} pages/s "
          f"({1000 * newsmill_cpu:.1f} ms per page, {1000 * main_cpu:.1f} ms of it in the crawl process), "
          f"peer {peer_alone:.1f} pages/s")
    print(f"newsmill_vs_ceiling {rate / ceiling_rate:.2f} newsmill_vs_peer {rate / peer_rate:.2f} "
          f"recrawl_time {statistics.median(r['time_ratio'] for r in recrawls):.3f} "
          f"recrawl_time_max {max(r['time_ratio'] for r in recrawls):.3f} "
          f"recrawl_cpu {statistics.median(r['cpu_ratio'] for r in recrawls):.3f} "
          f"recrawl_cpu_max {max(r['cpu_ratio'] for r in recrawls):.3f} "
          f"recrawl_cpu_s {statistics.median(r['cpu_total'] for r in recrawls):.2f} "
          f"recrawl_article_bodies {again['site']['article_bodies']} recrawl_bytes {again['site']['bytes']} "
          f"peak_rss_mb {first['peak_rss'] / 2**20:.0f} "
          f"cpu_newsmill_vs_ceiling {newsmill_alone / ceiling_alone:.2f} "
          f"cpu_newsmill_vs_peer {newsmill_alone / peer_alone:.2f} "
          f"extract_article_vs_ceiling {own_rate / ceiling_rate:.2f} "
          f"newsmill_pps {rate:.1f} ceiling_pps {ceiling_rate:.1f} "
          f"peer_pps {peer_rate:.1f} pages {args.pages} cores {cores}")


def archive_mode(args, workdir: Path, extra: list[str]) -> None:
    """The archive's cost: the same crawl with ARCHIVE_ENABLED off and on, in alternation
    (off, on, on, off, ...: a machine whose load drifts favours neither), each into a fresh
    database; the medians' ratios and the archive's bytes per archived page."""
    import sqlite3
    from statistics import median

    site = SiteProcess(args.pages, args.latency)
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    try:
        for n in range(args.rounds):
            for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
                folder = workdir / f"archive-{mode}-{n}"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                db = folder / "throughput.db"
                result = crawl(site, db, args.concurrency,
                               [*extra, "-s", f"ARCHIVE_ENABLED={mode == 'on'}"])
                files = list((folder / "archive").glob("*.warc.gz"))
                result["archive_bytes"] = sum(f.stat().st_size for f in files)
                with sqlite3.connect(db) as conn:
                    result["archived"] = conn.execute(
                        "select count(*), coalesce(sum(length), 0) from archived_pages").fetchone()
                result["pps"] = args.pages / result["seconds"]
                result["cpu_per_page"] = result["cpu_total"] / args.pages
                runs[mode].append(result)
                print(f"archive {mode}: {result['stored']} stored in {result['seconds']:.1f} s, "
                      f"{result['pps']:.1f} pages/s, CPU {1000 * result['cpu_per_page']:.1f} ms a "
                      f"page ({1000 * result['cpu_main'] / args.pages:.1f} in the crawl process), "
                      f"{len(files)} files, {result['archive_bytes']} bytes, "
                      f"{result['archived'][0]} pages archived, site sent "
                      f"{result['site']['bytes']} bytes (load {load()})", flush=True)
                if mode == "off":
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        site.stop()
    pps = {m: median(r["pps"] for r in runs[m]) for m in runs}
    cpu = {m: median(r["cpu_per_page"] for r in runs[m]) for m in runs}
    main = {m: median(r["cpu_main"] / args.pages for r in runs[m]) for m in runs}
    last = runs["on"][-1]
    pages_archived, response_bytes = last["archived"]
    print("newsmill: " + " ".join(newsmill_command("http://127.0.0.1:PORT", Path("DB"),
                                                   args.concurrency, extra)))
    print(f"archive_throughput_ratio {pps['on'] / pps['off']:.3f} "
          f"archive_cpu_ratio {cpu['on'] / cpu['off']:.3f} "
          f"pps_off {pps['off']:.1f} pps_on {pps['on']:.1f} "
          f"cpu_ms_off {1000 * cpu['off']:.1f} cpu_ms_on {1000 * cpu['on']:.1f} "
          f"crawl_process_ms_off {1000 * main['off']:.2f} crawl_process_ms_on {1000 * main['on']:.2f} "
          f"archive_bytes_per_page {last['archive_bytes'] / pages_archived:.0f} "
          f"response_record_bytes_per_page {response_bytes / pages_archived:.0f} "
          f"site_bytes_per_page {last['site']['bytes'] / pages_archived:.0f} "
          f"pages {args.pages} rounds {args.rounds} cores {os.cpu_count()}")


def memory_mode(args, workdir: Path, extra: list[str]) -> None:
    """Peak memory of newsmill's crawl at 1k and at 10k pages, each on a fresh database."""
    peaks = {}
    for n in (1000, 10000):
        site = SiteProcess(n, args.latency, prebuild=False)
        try:
            db = workdir / f"memory-{n}.db"
            for stale in workdir.glob(f"memory-{n}.db*"):
                stale.unlink()
            result = crawl(site, db, args.concurrency, extra)
        finally:
            site.stop()
        peaks[n] = result["peak_rss"]
        print(f"{n} pages: {result['stored']} stored in {result['seconds']:.1f} s "
              f"({n / result['seconds']:.1f} pages/s), peak RSS {mb(result['peak_rss'])} (load {load()})",
              flush=True)
    print(f"memory_10k_vs_1k {peaks[10000] / peaks[1000]:.2f} peak_rss_1k_mb {peaks[1000] / 2**20:.0f} "
          f"peak_rss_10k_mb {peaks[10000] / 2**20:.0f} cores {os.cpu_count()}")


if __name__ == "__main__":
    try:
        main()
    except CorpusMissing as exc:
        sys.exit(f"throughput.py: {exc}")
