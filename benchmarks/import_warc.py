#!/usr/bin/env python3
"""import-warc: `newsmill import-warc` against the extraction ceiling, and its peak memory.

Writes a CC-NEWS-shaped WARC (gzip, a member per record; request, response and metadata
records) of N distinct article pages, the pages benchmarks/throughput.py's site serves
(benchmarks/article_site.py, made from the shared corpus), and measures in one run:

1. ceiling: trafilatura extraction alone over the same pages, in one process per core
   (throughput.py's `Ceilings`: half of the pages before the import, half after);
2. newsmill: `newsmill import-warc FILE --source bench` into a fresh database, pages/s
   (the whole command: Python starting, the workers starting, the store written);
3. the ratio newsmill/ceiling, by wall clock and from CPU time;
4. the peak resident memory of the import's process tree;

and with --memory only the peak memory of importing a WARC of about --size-mb MB (default
1024; not compressed, so that its size is that of its pages: ~6,000 of them).

    .venv/bin/python benchmarks/import_warc.py [--pages 2000] [--memory [--size-mb 1024]]

The last line is machine-readable (name value pairs).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.article_site import CORPUS, ArticleSite, CorpusMissing, corpus_files  # noqa: E402
from benchmarks.throughput import Ceilings, _newsmill_extract, _plain_extract_metadata, load, mb, run_measured  # noqa: E402

BIN = Path(sys.executable).parent
DATE = "2026-12-01T09:00:00Z"


def write_warc(path: Path, site: ArticleSite, pages: int, compress: bool = True,
               first: int = 0) -> int:
    """A WARC of `pages` of the site's pages, as CC-NEWS writes one; its size in bytes."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=compress)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "import_warc.py"}))
        for i in range(first, first + pages):
            url = f"https://news.example{site.path(i)}"
            headers = {"WARC-Date": DATE}
            writer.write_record(writer.create_warc_record(
                url, "request", warc_headers_dict=headers, http_headers=StatusAndHeaders(
                    f"GET {site.path(i)} HTTP/1.1", [("Host", "news.example")], is_http_request=True)))
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(site.page(i)), http_headers=http,
                warc_headers_dict=headers))
            writer.write_record(writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(b"fetchTimeMs: 150\r\n"),
                warc_content_type="application/warc-fields", warc_headers_dict=headers))
    return path.stat().st_size


def import_command(warc: Path, db: Path, extra: list[str]) -> list[str]:
    return [str(BIN / "newsmill"), "import-warc", str(warc), "--source", "bench", "--db", str(db),
            "--log-level", "WARNING", "-s", "NEWSMILL_PROGRESS=off", *extra]


def run_import(warc: Path, db: Path, extra: list[str]) -> dict:
    import sqlite3

    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed command
    result = run_measured(import_command(warc, db, extra), env=env, cwd=db.parent)
    with sqlite3.connect(db) as conn:
        result["stored"] = conn.execute("select count(*) from articles").fetchone()[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages in the WARC (default 2000)")
    parser.add_argument("--ceiling-pages", type=int, default=0,
                        help="pages for the extraction ceiling (default 0: all of them)")
    parser.add_argument("--memory", action="store_true", help="only the peak memory of a big import")
    parser.add_argument("--size-mb", type=int, default=1024, help="with --memory: the WARC's size")
    parser.add_argument("--keep", type=Path, help="keep the WARC and the database in this directory")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="extra setting for newsmill import-warc (repeatable)")
    args = parser.parse_args()
    corpus_files(CORPUS)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsmill-import-warc-"))
    workdir.mkdir(parents=True, exist_ok=True)
    extra = [x for s in args.settings for x in ("-s", s)]
    cores = os.cpu_count() or 1
    print(f"cores {cores}, load {load()}, workdir {workdir}", flush=True)
    if args.memory:
        return memory_mode(args, workdir, extra)

    site = ArticleSite(args.pages + 2 * cores, CORPUS)
    warc = workdir / "bench.warc.gz"
    started = time.perf_counter()
    size = write_warc(warc, site, args.pages)
    print(f"wrote {warc.name}: {args.pages} pages, {mb(size)} in {time.perf_counter() - started:.1f} s",
          flush=True)
    count = min(args.ceiling_pages or args.pages, args.pages)
    ceiling = Ceilings(site, args.pages, cores, [_plain_extract_metadata, _newsmill_extract])
    try:
        ceiling.measure(0, count // 2)
        print(f"ceiling, first half: {ceiling.parts[0]:.1f} pages/s (load {load()})", flush=True)
        result = run_import(warc, workdir / "import.db", extra)
        rate = args.pages / result["seconds"]
        print(f"newsmill import-warc: {result['stored']} of {args.pages} stored in {result['seconds']:.1f} s: "
              f"{rate:.1f} pages/s, peak RSS {mb(result['peak_rss'])}, exit {result['exit']} "
              f"(load {load()})", flush=True)
        print(f"  CPU per page: import process {1000 * result['cpu_main'] / args.pages:.1f} ms, extraction "
              f"workers {1000 * (result['cpu_total'] - result['cpu_main']) / args.pages:.1f} ms", flush=True)
        if result["exit"] != 0 or result["stored"] < args.pages * 0.95:
            print(result["stderr"], file=sys.stderr)
        ceiling.measure(count // 2, count)
        (ceiling_rate, ceiling_cpu), (own_rate, own_cpu) = ceiling.rates()
    finally:
        ceiling.close()
    print(f"ceiling: trafilatura.extract(with_metadata=True) in {cores} processes: {ceiling_rate:.1f} "
          f"pages/s, {1000 * ceiling_cpu:.1f} ms CPU per page ({count} pages, half before the import at "
          f"{ceiling.parts[0]:.1f} pages/s, half after at {ceiling.parts[1]:.1f}; load {load()})", flush=True)
    print(f"  for reference: newsmill's extract_article {own_rate:.1f} pages/s, {1000 * own_cpu:.1f} ms",
          flush=True)
    print("newsmill: " + " ".join(import_command(Path("FILE"), Path("DB"), extra)))
    # From CPU time, which other work on the machine hardly changes: the rate each would
    # reach with the machine to itself (as throughput.py works it out).
    cpu, main_cpu = result["cpu_total"] / args.pages, result["cpu_main"] / args.pages
    alone = min(cores / cpu, 1 / main_cpu)
    print(f"from CPU time: ceiling {cores / ceiling_cpu:.1f} pages/s, newsmill {alone:.1f} pages/s "
          f"({1000 * cpu:.1f} ms per page, {1000 * main_cpu:.1f} ms of it in the import process)")
    print(f"import_vs_ceiling {rate / ceiling_rate:.2f} cpu_import_vs_ceiling {alone / (cores / ceiling_cpu):.2f} "
          f"import_pps {rate:.1f} ceiling_pps {ceiling_rate:.1f} peak_rss_mb {result['peak_rss'] / 2**20:.0f} "
          f"warc_mb {size / 2**20:.0f} pages {args.pages} cores {cores}")


def memory_mode(args, workdir: Path, extra: list[str]) -> None:
    """The peak memory of importing an uncompressed WARC of about --size-mb MB."""
    site = ArticleSite(121, CORPUS)
    average = sum(len(site.page(i)) for i in range(121)) / 121  # one round of the corpus
    pages = int(args.size_mb * 2**20 / (average + 1500))  # + the records' headers
    site = ArticleSite(pages, CORPUS)
    warc = workdir / "memory.warc"
    started = time.perf_counter()
    size = write_warc(warc, site, pages, compress=False)
    print(f"wrote {warc.name}: {pages} pages, {mb(size)} in {time.perf_counter() - started:.1f} s",
          flush=True)
    result = run_import(warc, workdir / "memory.db", extra)
    print(f"newsmill import-warc: {result['stored']} of {pages} stored in {result['seconds']:.1f} s "
          f"({pages / result['seconds']:.1f} pages/s), peak RSS {mb(result['peak_rss'])}, exit "
          f"{result['exit']} (load {load()})", flush=True)
    if result["exit"] != 0:
        print(result["stderr"], file=sys.stderr)
    print(f"peak_rss_mb {result['peak_rss'] / 2**20:.0f} warc_mb {size / 2**20:.0f} pages {pages} "
          f"cores {os.cpu_count()}")


if __name__ == "__main__":
    try:
        main()
    except CorpusMissing as exc:
        sys.exit(f"import_warc.py: {exc}")
