#!/usr/bin/env python3
"""Extraction quality: newsmill's stored text against plain trafilatura, on the shared corpus.

Serves the 121 pages of ../shared/corpus/article-extraction on 127.0.0.1 behind an RSS
feed, crawls that feed with `newsmill crawl` into a fresh database, and scores the stored
bodies with ../shared/tools/score_extraction.py beside plain trafilatura's output on the
same pages (../shared/tools/extract_baseline.py: trafilatura's defaults, and its
favor_precision mode), in one run. Then the speed of each text step on the same pages,
in pages per second of one core (CPU time of this one process, the steps interleaved page
by page so that other load on the machine falls on all of them alike).

    .venv/bin/python benchmarks/extraction_quality.py [--corpus DIR] [--keep DIR]
        [--engine newsmill|trafilatura] [--no-speed]

The last line is machine-readable:
`newsmill_f1 X baseline_f1 Y precision_f1 Z stored N of M speed_ratio R`.
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


def score(truth: Path, predictions: Path) -> dict:
    """F1, precision and recall of a predictions file (score_extraction.py's last line)."""
    out = subprocess.run([sys.executable, str(TOOLS / "score_extraction.py"), "--truth", str(truth),
                          "--pred", str(predictions)], capture_output=True, text=True, check=True)
    last = out.stdout.strip().splitlines()[-1].split()
    return {name: float(last[last.index(key) + 1])
            for name, key in (("f1", "F1"), ("precision", "precision"), ("recall", "recall"))}


def baseline(corpus: Path, out: Path, *options: str) -> dict:
    """Plain trafilatura.extract over the corpus (extract_baseline.py), scored."""
    args = [a for option in options for a in ("--option", option)]
    subprocess.run([sys.executable, str(TOOLS / "extract_baseline.py"), str(corpus), str(out), *args],
                   check=True, capture_output=True, text=True)
    return score(corpus / "ground-truth.json", out)


def measure(corpus: Path = CORPUS, workdir: Path | None = None, engine: str = "newsmill") -> dict:
    """Crawl the corpus through a local feed; return the scores of the stored text and of
    plain trafilatura, the counts, and the pages where newsmill stored no text that
    plain trafilatura finds."""
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
             "-s", "NEWSMILL_PROGRESS=off", "-s", f"EXTRACT_ENGINE={engine}",
             "--log-level", "WARNING"],
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
    plain = baseline(corpus, baseline_pred)
    plain_text = json.loads(baseline_pred.read_text(encoding="utf-8"))
    ours = score(corpus / "ground-truth.json", newsmill_pred)
    return {
        "newsmill": ours,
        "baseline": plain,
        "newsmill_f1": ours["f1"],
        "baseline_f1": plain["f1"],
        "lost": sorted(k for k, v in plain_text.items()
                       if v["articleBody"].strip() and not predictions.get(k, {}).get("articleBody")),
        "stored": stored,
        "pages": len(pages),
        "crawl_exit": crawl.returncode,
        "crawl_stderr": crawl.stderr[-2000:],
    }


def speeds(corpus: Path = CORPUS, rounds: int = 2) -> dict:
    """Pages per second per core of each text step, and of the worker's whole step.

    "trafilatura" is trafilatura.extract(page) with its defaults (what extract_baseline.py
    times), "favor_precision" the same in its precision mode, "newsmill" the newsmill
    engine's text step (parse, join_split_body, page_titles, newsmill_text). The worker
    figures are extract_article (text, metadata, fingerprints) with each EXTRACT_ENGINE.
    """
    import time

    import trafilatura
    from trafilatura.utils import load_html

    from pipelines.article_text import join_split_body, newsmill_text, page_titles
    from pipelines.extract_worker import extract_article, prepare_worker
    from pipelines.page_metadata import read_page_metadata

    prepare_worker()  # as in a worker process
    pages = [gzip.decompress(p.read_bytes()) for p in sorted((corpus / "html").glob("*.html.gz"))]

    def newsmill_step(page: str, url: str) -> None:
        tree = load_html(page)
        newsmill_text(join_split_body(tree), url, {},
                      page_titles(tree, read_page_metadata(tree, url).get("title")))

    steps = {
        "trafilatura": lambda page, url: trafilatura.extract(page.decode(), url=url),
        "favor_precision": lambda page, url: trafilatura.extract(page.decode(), url=url,
                                                                 favor_precision=True),
        "newsmill": lambda page, url: newsmill_step(page.decode(), url),
        "worker_trafilatura": lambda page, url: extract_article(page, url, {}, {"engine": "trafilatura"},
                                                                "utf-8"),
        "worker_newsmill": lambda page, url: extract_article(page, url, {}, {"engine": "newsmill"},
                                                             "utf-8"),
    }
    cpu = dict.fromkeys(steps, 0.0)
    for _ in range(rounds):
        for n, page in enumerate(pages):
            url = f"https://example.org/{n}.html"
            for name, step in steps.items():
                start = time.process_time()
                step(page, url)
                cpu[name] += time.process_time() - start
    return {name: rounds * len(pages) / seconds for name, seconds in cpu.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--keep", type=Path, default=None, help="keep predictions and database here")
    parser.add_argument("--engine", default="newsmill", help="EXTRACT_ENGINE of the crawl")
    parser.add_argument("--no-speed", action="store_true", help="scores only")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsmill-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    result = measure(args.corpus, workdir, args.engine)
    precise = baseline(args.corpus, workdir / "favor_precision.json", "favor_precision=true")
    rate = {} if args.no_speed else speeds(args.corpus)
    rows = [("trafilatura (defaults)", result["baseline"], "trafilatura"),
            ("trafilatura favor_precision", precise, "favor_precision"),
            (f"newsmill crawl, EXTRACT_ENGINE={args.engine}", result["newsmill"], "newsmill")]
    print(f"{'':40} {'F1':>6} {'prec.':>6} {'recall':>6} {'pages/s/core':>13}")
    for name, scores, step in rows:
        speed = f"{rate[step]:13.1f}" if rate else f"{'-':>13}"
        print(f"{name:40} {scores['f1']:6.3f} {scores['precision']:6.3f} {scores['recall']:6.3f} {speed}")
    if rate:
        print(f"worker step (text, metadata, fingerprints), pages/s/core: "
              f"EXTRACT_ENGINE=trafilatura {rate['worker_trafilatura']:.1f}, "
              f"newsmill {rate['worker_newsmill']:.1f} "
              f"({rate['worker_newsmill'] / rate['worker_trafilatura']:.2f} of it)")
    if result["lost"]:
        print(f"pages with text from trafilatura and none stored: {', '.join(result['lost'])}")
    ratio = rate["newsmill"] / rate["trafilatura"] if rate else float("nan")
    print(f"newsmill_f1 {result['newsmill_f1']:.3f} baseline_f1 {result['baseline_f1']:.3f} "
          f"precision_f1 {precise['f1']:.3f} stored {result['stored']} of {result['pages']} "
          f"speed_ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
