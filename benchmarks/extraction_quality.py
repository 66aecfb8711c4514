#!/usr/bin/env python3
"""Extraction quality: newsmill's stored text against plain trafilatura, on both shared corpora.

For each corpus (../shared/corpus/article-extraction: 121 news pages; ../shared/corpus/
web-content: 1,497 pages of seven kinds, 793 of them articles), serves its pages on
127.0.0.1 behind an RSS feed, crawls that feed with `newsmill crawl` into a fresh database,
and scores the stored bodies with ../shared/tools/score_extraction.py (the news pages by
4-word shingles, web-content by WCXB's word F1, its article pages and each page type) beside
plain trafilatura's output on the same pages (../shared/tools/extract_baseline.py:
trafilatura's defaults, and its favor_precision mode), in one run. Then the speed of each
text step on the corpus's article pages, in pages per second of one core (CPU time of this
one process, the steps interleaved page by page so that other load on the machine falls on
all of them alike). Then, where those modules exist, the field accuracies
(benchmarks/field_accuracy.py) and the recognition table (benchmarks/recognition.py) on
web-content.

    .venv/bin/python benchmarks/extraction_quality.py [--corpus NAME] [--keep DIR]
        [--engine newsmill|trafilatura] [--no-speed]

The last line is machine-readable: `newsmill_f1 X baseline_f1 Y precision_f1 Z stored N of M
speed_ratio R` for the news pages, then the same keys prefixed `web_` for web-content's
article pages, with `web_newsmill_p`, `web_newsmill_r`, `web_baseline_p`, `web_baseline_r`.
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
WEB_CORPUS = SHARED / "corpus" / "web-content"
TOOLS = SHARED / "tools"
# Each corpus and the metric its benchmark publishes (score_extraction.py --metric).
CORPORA = {"article-extraction": (CORPUS, "shingles"), "web-content": (WEB_CORPUS, "words")}


def metric_of(corpus: Path) -> str:
    return "words" if corpus.name == WEB_CORPUS.name else "shingles"


def page_types(corpus: Path) -> dict[str, str]:
    """{id: page_type}; the news corpus's pages are all articles."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    return {k: v.get("page_type", "article") for k, v in truth.items()}


def score(truth: Path, predictions: Path, metric: str = "shingles", page_type: str | None = None) -> dict:
    """F1, precision and recall of a predictions file (score_extraction.py's last line)."""
    args = [sys.executable, str(TOOLS / "score_extraction.py"), "--truth", str(truth),
            "--pred", str(predictions), "--metric", metric]
    if page_type:
        args += ["--type", page_type]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    last = out.stdout.strip().splitlines()[-1].split()
    return {name: float(last[last.index(key) + 1])
            for name, key in (("f1", "F1"), ("precision", "precision"), ("recall", "recall"))}


def article_scores(corpus: Path, predictions: Path) -> dict:
    """The scores that count for a corpus: its article pages, by its benchmark's metric."""
    web = metric_of(corpus) == "words"
    return score(corpus / "ground-truth.json", predictions, metric_of(corpus), "article" if web else None)


def baseline(corpus: Path, out: Path, *options: str) -> dict:
    """Plain trafilatura.extract over the corpus (extract_baseline.py), scored on its articles."""
    args = [a for option in options for a in ("--option", option)]
    subprocess.run([sys.executable, str(TOOLS / "extract_baseline.py"), str(corpus), str(out), *args],
                   check=True, capture_output=True, text=True)
    return article_scores(corpus, out)


def measure(corpus: Path = CORPUS, workdir: Path | None = None, engine: str = "newsmill",
            only_articles: bool = False) -> dict:
    """Crawl the corpus (or only its article pages) through a local feed; return the scores
    of the stored text and of plain trafilatura on its article pages, the counts, and the
    article pages where newsmill stored no text that plain trafilatura finds."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="newsmill-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = page_types(corpus)
    pages = [p for p in sorted((corpus / "html").glob("*.html.gz"))
             if not only_articles or kinds[p.name[: -len(".html.gz")]] == "article"]
    site = Site().start()
    try:
        for page in pages:
            doc_id = page.name[: -len(".html.gz")]
            site.add(f"/corpus/{doc_id}.html", gzip.decompress(page.read_bytes()))
        items = [(p.name[:16], f"/corpus/{p.name[: -len('.html.gz')]}.html") for p in pages]
        feed = site.add("/corpus.xml", rss_feed(site, items), "application/rss+xml")
        prefix = site.url("/corpus/")
        db = workdir / "quality.db"
        for stale in workdir.glob("quality.db*"):
            stale.unlink()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed command
        crawl = subprocess.run(
            [str(Path(sys.executable).parent / "newsmill"), "crawl", feed, "--db", str(db),
             "--max-articles", "0", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
             "-s", "NEWSMILL_PROGRESS=off", "-s", f"EXTRACT_ENGINE={engine}",
             "--log-level", "WARNING"],
            env=env, capture_output=True, text=True, timeout=1800)
    finally:
        site.stop()
    import sqlite_utils

    store = sqlite_utils.Database(db)
    predictions = {}
    for row in store.query("select u.url, a.text from article_urls u join articles a "
                           "on a.id = u.article_id"):
        if row["url"].startswith(prefix):  # not a canonical URL the page names elsewhere
            doc_id = row["url"].rsplit("/", 1)[-1].removesuffix(".html")
            predictions[doc_id] = {"articleBody": row["text"]}
    store.close()
    newsmill_pred = workdir / f"newsmill-{corpus.name}.json"
    newsmill_pred.write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
    baseline_pred = workdir / f"baseline-{corpus.name}.json"
    plain = baseline(corpus, baseline_pred)
    plain_text = json.loads(baseline_pred.read_text(encoding="utf-8"))
    ours = article_scores(corpus, newsmill_pred)
    articles = [k for k, kind in kinds.items() if kind == "article"]
    return {
        "newsmill": ours,
        "baseline": plain,
        "newsmill_f1": ours["f1"],
        "baseline_f1": plain["f1"],
        "lost": sorted(k for k in articles if plain_text.get(k, {}).get("articleBody", "").strip()
                       and not predictions.get(k, {}).get("articleBody")),
        "stored": sum(1 for k in articles if predictions.get(k, {}).get("articleBody")),
        "pages": len(articles),
        "stored_all": len(predictions),
        "pages_all": len(pages),
        "predictions": {"newsmill": newsmill_pred, "trafilatura": baseline_pred},
        "crawl_exit": crawl.returncode,
        "crawl_stderr": crawl.stderr[-2000:],
    }


def speeds(corpus: Path = CORPUS, rounds: int = 2, limit: int | None = None) -> dict:
    """Pages per second per core of each text step, and of the worker's whole step, on the
    corpus's article pages (the first `limit` of them).

    "trafilatura" is trafilatura.extract(page) with its defaults (what extract_baseline.py
    times), "favor_precision" the same in its precision mode, "newsmill" the newsmill
    engine's text step (parse, page_titles, newsmill_text, which joins a split body and
    reads the page's links), trafilatura's pruning in Python as in extract_article. The worker
    figures are extract_article (text, metadata, fingerprints) with each EXTRACT_ENGINE.
    """
    import time

    import trafilatura
    from trafilatura.utils import load_html

    from pipelines.article_text import newsmill_text, page_titles
    from pipelines.extract_worker import extract_article, prepare_worker
    from pipelines.page_metadata import read_page_metadata
    from pipelines.trafilatura_xpaths import faster_pruning

    prepare_worker()  # as in a worker process
    kinds = page_types(corpus)
    paths = [p for p in sorted((corpus / "html").glob("*.html.gz"))
             if kinds[p.name[: -len(".html.gz")]] == "article"][:limit]
    pages = [gzip.decompress(p.read_bytes()) for p in paths]

    def newsmill_step(page: str, url: str) -> None:
        tree = load_html(page)
        with faster_pruning():  # as extract_article runs it
            newsmill_text(tree, url, {}, page_titles(tree, read_page_metadata(tree, url).get("title")))

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


def corpus_table(name: str, corpus: Path, workdir: Path, engine: str, speed: bool) -> dict:
    """Crawl, score and time one corpus; print its table (and per page type); return the figures."""
    result = measure(corpus, workdir, engine)
    precise_pred = workdir / f"favor_precision-{corpus.name}.json"
    precise = baseline(corpus, precise_pred, "favor_precision=true")
    web = metric_of(corpus) == "words"
    rate = speeds(corpus, rounds=1 if web else 2) if speed else {}
    rows = [("trafilatura (defaults)", result["baseline"], "trafilatura"),
            ("trafilatura favor_precision", precise, "favor_precision"),
            (f"newsmill crawl, EXTRACT_ENGINE={engine}", result["newsmill"], "newsmill")]
    print(f"\n{name}: {result['pages']} article pages, {metric_of(corpus)} metric")
    print(f"{'':40} {'F1':>6} {'prec.':>6} {'recall':>6} {'pages/s/core':>13}")
    for label, scores, step in rows:
        pace = f"{rate[step]:13.1f}" if rate else f"{'-':>13}"
        print(f"{label:40} {scores['f1']:6.3f} {scores['precision']:6.3f} {scores['recall']:6.3f} {pace}")
    if web:
        truth = corpus / "ground-truth.json"
        kinds = sorted(set(page_types(corpus).values()), key=lambda k: (k != "article", k))
        preds = {"trafilatura": result["predictions"]["trafilatura"], "favor_precision": precise_pred,
                 "newsmill": result["predictions"]["newsmill"]}
        print(f"by page type (F1 / precision / recall; every page crawled as an article, "
              f"{result['stored_all']} of {result['pages_all']} stored):")
        print(f"{'':16}" + "".join(f"{system:>24}" for system in preds))
        for kind in kinds:
            cells = [score(truth, path, "words", kind) for path in preds.values()]
            print(f"{kind:16}" + "".join(
                f"{c['f1']:>10.3f} {c['precision']:.3f} {c['recall']:.3f}" for c in cells))
    if rate:
        print(f"worker step (text, metadata, fingerprints), pages/s/core: "
              f"EXTRACT_ENGINE=trafilatura {rate['worker_trafilatura']:.1f}, "
              f"newsmill {rate['worker_newsmill']:.1f} "
              f"({rate['worker_newsmill'] / rate['worker_trafilatura']:.2f} of it)")
    if result["lost"]:
        print(f"article pages with text from trafilatura and none stored: {', '.join(result['lost'])}")
    if result["crawl_exit"] != 0:
        print(f"the crawl exited {result['crawl_exit']}: {result['crawl_stderr']}")
    return {"result": result, "precise": precise,
            "ratio": rate["newsmill"] / rate["trafilatura"] if rate else float("nan")}


def other_tables(corpus: Path) -> None:
    """The field accuracies and the recognition table, from their own modules where they
    exist (written beside this one; this script runs without them)."""
    for module, function in (("benchmarks.field_accuracy", "field_table"),
                             ("benchmarks.recognition", "recognition_table")):
        try:
            table = getattr(__import__(module, fromlist=[function]), function)
        except (ImportError, AttributeError):
            print(f"\n({module}.{function} not available)")
            continue
        print()
        printed = table(corpus)
        if isinstance(printed, str):
            print(printed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append",
                        help="only this corpus (default: both)")
    parser.add_argument("--keep", type=Path, default=None, help="keep predictions and databases here")
    parser.add_argument("--engine", default="newsmill", help="EXTRACT_ENGINE of the crawl")
    parser.add_argument("--no-speed", action="store_true", help="scores only")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsmill-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures = {}
    for name in args.corpus or CORPORA:
        corpus = CORPORA[name][0]
        figures[name] = corpus_table(name, corpus, workdir / name, args.engine, not args.no_speed)
    if "web-content" in figures:
        other_tables(WEB_CORPUS)
    words = []
    for name, prefix in (("article-extraction", ""), ("web-content", "web_")):
        if name not in figures:
            continue
        f = figures[name]
        result = f["result"]
        words.append(f"{prefix}newsmill_f1 {result['newsmill_f1']:.3f} {prefix}baseline_f1 "
                     f"{result['baseline_f1']:.3f} {prefix}precision_f1 {f['precise']['f1']:.3f} "
                     f"{prefix}stored {result['stored']} of {result['pages']} "
                     f"{prefix}speed_ratio {f['ratio']:.2f}")
        if prefix:
            words.append(f"web_newsmill_p {result['newsmill']['precision']:.3f} "
                         f"web_newsmill_r {result['newsmill']['recall']:.3f} "
                         f"web_baseline_p {result['baseline']['precision']:.3f} "
                         f"web_baseline_r {result['baseline']['recall']:.3f}")
    print(" ".join(words))


if __name__ == "__main__":
    main()
