#!/usr/bin/env python3
"""Extraction quality: newsmill's stored text against plain trafilatura, on the shared corpus.

Serves the 121 pages of ../shared/corpus/article-extraction on 127.0.0.1 behind an RSS
feed, crawls that feed with `newsmill crawl` into a fresh database, and scores the stored
bodies with ../shared/tools/score_extraction.py beside plain trafilatura's output on the
same pages (../shared/tools/extract_baseline.py, trafilatura's defaults), in one run.

    .venv/bin/python benchmarks/extraction_quality.py [--corpus DIR] [--keep DIR]

The last line is machine-readable: `newsmill_f1 X baseline_f1 Y stored N of M`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sites import Site, rss_feed  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "article-extraction"
TOOLS = SHARED / "tools"


def score(truth: Path, predictions: Path) -> float:
    out = subprocess.run([sys.executable, str(TOOLS / "score_extraction.py"), "--truth", str(truth),
                          "--pred", str(predictions)], capture_output=True, text=True, check=True)
    last = out.stdout.strip().splitlines()[-1].split()
    return float(last[last.index("F1") + 1])


def measure(corpus: Path = CORPUS, workdir: Path | None = None) -> dict:
    """Crawl the corpus through a local feed; return both F1 scores and the counts."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="newsmill-quality-"))
    pages = sorted((corpus / "html").glob("*.html.gz"))
    site = Site().start()
    try:
        for page in pages:
            doc_id = page.name[: -len(".html.gz")]
            site.add(f"/corpus/{doc_id}.html", gzip.decompress(page.read_bytes()))
        items = [(p.name[:16], f"/corpus/{p.name[: -len('.html.gz')]}.html") for p in pages]
        feed = site.add("/corpus.xml", rss_feed(site, items), "application/rss+xml")
        db = workdir / "quality.db"
        for stale in workdir.glob("quality.db*"):
            stale.unlink()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed command
        crawl = subprocess.run(
            [str(Path(sys.executable).parent / "newsmill"), "crawl", feed, "--db", str(db),
             "--max-articles", "0", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
             "-s", "NEWSMILL_PROGRESS=off", "--log-level", "WARNING"],
            env=env, capture_output=True, text=True, timeout=600)
    finally:
        site.stop()
    import sqlite_utils

    store = sqlite_utils.Database(db)
    predictions = {}
    for row in store.query("select u.url, a.text from article_urls u join articles a "
                           "on a.id = u.article_id"):
        doc_id = row["url"].rsplit("/", 1)[-1].removesuffix(".html")
        predictions[doc_id] = {"articleBody": row["text"]}
    stored = store["articles"].count
    store.close()
    newsmill_pred = workdir / "newsmill.json"
    newsmill_pred.write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
    baseline_pred = workdir / "baseline.json"
    subprocess.run([sys.executable, str(TOOLS / "extract_baseline.py"), str(corpus), str(baseline_pred)],
                   check=True, capture_output=True, text=True)
    truth = corpus / "ground-truth.json"
    return {
        "newsmill_f1": score(truth, newsmill_pred),
        "baseline_f1": score(truth, baseline_pred),
        "stored": stored,
        "pages": len(pages),
        "crawl_exit": crawl.returncode,
        "crawl_stderr": crawl.stderr[-2000:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--keep", type=Path, default=None, help="keep predictions and database here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    result = measure(args.corpus, args.keep)
    print(f"newsmill_f1 {result['newsmill_f1']:.3f} baseline_f1 {result['baseline_f1']:.3f} "
          f"stored {result['stored']} of {result['pages']}")


if __name__ == "__main__":
    main()
