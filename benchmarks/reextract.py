#!/usr/bin/env python3
"""reextract: `newsmill reextract` against the extraction ceiling.

Crawls N distinct article pages (the site benchmarks/throughput.py crawls,
benchmarks/article_site.py, made from the shared corpus) into a fresh database with the
WARC archive on, stops the site, and measures in one run:

1. ceiling: trafilatura extraction alone over the same pages, in one process per core
   (throughput.py's `Ceilings`: half of the pages before the re-extractions, half after);
2. `newsmill reextract` with the settings of the crawl (every article read from the
   archive, extracted and compared, none changed: what an upgrade's re-extraction mostly
   finds), pages/s;
3. `newsmill reextract -s EXTRACT_ENGINE=trafilatura` (every article's text changes: a new
   version each, its near-duplicate keys and search index rewritten), pages/s;
4. each against the ceiling, by wall clock and from CPU time.

    .venv/bin/python benchmarks/reextract.py [--pages 1000] [--ceiling-pages N]

The last line is machine-readable (name value pairs).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.article_site import CORPUS, ArticleSite, CorpusMissing, corpus_files  # noqa: E402
from benchmarks.throughput import (  # noqa: E402
    Ceilings,
    SiteProcess,
    _newsmill_extract,
    _plain_extract_metadata,
    crawl,
    load,
    run_measured,
)

BIN = Path(sys.executable).parent
CHANGING = ["-s", "EXTRACT_ENGINE=trafilatura"]  # a new text for every article


def reextract_command(db: Path, extra: list[str]) -> list[str]:
    return [str(BIN / "newsmill"), "reextract", "--db", str(db), "--log-level", "WARNING",
            "-s", "NEWSMILL_PROGRESS=off", *extra]


def run_reextract(db: Path, extra: list[str], pages: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed command
    result = run_measured(reextract_command(db, extra), env=env, cwd=db.parent)
    with sqlite3.connect(db) as conn:
        run = conn.execute("select pages, articles_updated, articles_unchanged, errors from runs "
                           "order by id desc limit 1").fetchone()
    result["run"] = dict(zip(("pages", "updated", "unchanged", "errors"), run))
    result["pps"] = pages / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="article pages (default 1000)")
    parser.add_argument("--ceiling-pages", type=int, default=0,
                        help="pages for the extraction ceiling (default 0: all of them)")
    parser.add_argument("--keep", type=Path, help="keep the database and archive in this directory")
    args = parser.parse_args()
    corpus_files(CORPUS)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsmill-reextract-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    print(f"cores {cores}, load {load()}, workdir {workdir}", flush=True)
    db = workdir / "reextract.db"
    for stale in workdir.glob("reextract.db*"):
        stale.unlink()

    site = SiteProcess(args.pages, "0")
    try:
        crawled = crawl(site, db, 16, [])
    finally:
        site.stop()  # nothing is fetched from here on
    print(f"crawled: {crawled['stored']} of {args.pages} stored in {crawled['seconds']:.1f} s, "
          f"exit {crawled['exit']} (load {load()})", flush=True)
    if crawled["stored"] < args.pages * 0.95:
        sys.exit(f"reextract.py: the crawl stored only {crawled['stored']}:\n{crawled['stderr']}")
    pages = crawled["stored"]

    local = ArticleSite(args.pages + 2 * cores, CORPUS)
    count = min(args.ceiling_pages or args.pages, args.pages)
    ceiling = Ceilings(local, args.pages, cores, [_plain_extract_metadata, _newsmill_extract])
    try:
        ceiling.measure(0, count // 2)
        print(f"ceiling, first half: {ceiling.parts[0]:.1f} pages/s (load {load()})", flush=True)
        same = run_reextract(db, [], pages)
        changing = run_reextract(db, CHANGING, pages)
        ceiling.measure(count // 2, count)
        (ceiling_rate, ceiling_cpu), (own_rate, own_cpu) = ceiling.rates()
    finally:
        ceiling.close()
    for name, result in (("same settings", same), ("EXTRACT_ENGINE=trafilatura", changing)):
        print(f"newsmill reextract, {name}: {result['run']} in {result['seconds']:.1f} s: "
              f"{result['pps']:.1f} pages/s, CPU per page: command "
              f"{1000 * result['cpu_main'] / pages:.1f} ms, extraction workers "
              f"{1000 * (result['cpu_total'] - result['cpu_main']) / pages:.1f} ms, exit "
              f"{result['exit']}", flush=True)
        if result["exit"] != 0 or result["run"]["pages"] != pages:
            print(result["stderr"], file=sys.stderr)
    print(f"ceiling: trafilatura.extract(with_metadata=True) in {cores} processes: {ceiling_rate:.1f} "
          f"pages/s, {1000 * ceiling_cpu:.1f} ms CPU per page ({count} pages, half before at "
          f"{ceiling.parts[0]:.1f} pages/s, half after at {ceiling.parts[1]:.1f}; load {load()})",
          flush=True)
    print(f"  for reference: newsmill's extract_article {own_rate:.1f} pages/s, {1000 * own_cpu:.1f} ms",
          flush=True)
    print("newsmill: " + " ".join(reextract_command(Path("DB"), [])))

    def alone(result) -> float:
        """The rate from CPU time, as throughput.py works it out: the machine to itself."""
        cpu, main_cpu = result["cpu_total"] / pages, result["cpu_main"] / pages
        return min(cores / cpu, 1 / main_cpu)

    cpu_ceiling = cores / ceiling_cpu
    print(f"reextract_vs_ceiling {same['pps'] / ceiling_rate:.2f} "
          f"cpu_reextract_vs_ceiling {alone(same) / cpu_ceiling:.2f} "
          f"changing_vs_ceiling {changing['pps'] / ceiling_rate:.2f} "
          f"cpu_changing_vs_ceiling {alone(changing) / cpu_ceiling:.2f} "
          f"reextract_pps {same['pps']:.1f} changing_pps {changing['pps']:.1f} "
          f"ceiling_pps {ceiling_rate:.1f} changed {changing['run']['updated']} "
          f"pages {pages} cores {cores}")


if __name__ == "__main__":
    try:
        main()
    except CorpusMissing as exc:
        sys.exit(f"reextract.py: {exc}")
