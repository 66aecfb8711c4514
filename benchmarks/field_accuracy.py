#!/usr/bin/env python3
"""Field accuracy: the title, author and publication day newsmill stores, beside
trafilatura's own metadata, on the shared corpora.

Each page goes through extract_article, what a crawl's extraction worker runs (so the
fields are the ones stored), and through trafilatura.bare_extraction with its metadata,
in the same run. Scored against ../shared/corpus/web-content's ground truth, on its
article pages that have each field:
- title: equal as lower-cased `\\w+` words (the corpus's own measure);
- author: equal as lower-cased `\\w+` words, "and" left out: newsmill joins several
  authors with ", " where the truth writes "A, B and C" as its page does;
- published: the same day (or the same month where the truth gives only a month).
The truth names the site or publisher as the author on some pages, which newsmill never
stores as an author: a second author line leaves those pages out.

The news corpus (../shared/corpus/article-extraction) has no field ground truth: its
table shows how often each field is filled, and how often newsmill and trafilatura agree.

    .venv/bin/python benchmarks/field_accuracy.py [--corpus DIR] [--cv] [--misses FIELD]

`--misses FIELD` (title, author or published): instead of the tables, every web-content
article page newsmill gets wrong on that field, with what it chose, the truth, and what the
page offers for it (see page_offers): how its rules were worked out, page by page.

`--cv`: 5-fold cross-validation by site of the constants article_fields was tuned with
(H1_OVERLAP, DATELINE_AFTER), chosen on four folds and scored on the fifth.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED_CORPORA = ROOT.parent / "shared" / "corpus"
FIELDS = ("title", "author", "published")
_WORD = re.compile(r"\w+")


def _words(text) -> list[str]:
    return _WORD.findall(text.casefold()) if isinstance(text, str) else []


def field_right(field: str, value, truth: str) -> bool:
    """Whether a stored field matches the ground truth's (see the module's docstring)."""
    if field == "title":
        return bool(value) and _words(value) == _words(truth)
    if field == "author":
        return bool(value) and [w for w in _words(value) if w != "and"] \
            == [w for w in _words(truth) if w != "and"]
    return isinstance(value, str) and value[:10].startswith(truth)


def corpus_root(corpus_dir: Path) -> Path:
    """The folder holding both corpora, given it or either corpus."""
    corpus_dir = Path(corpus_dir)
    return corpus_dir.parent if (corpus_dir / "ground-truth.json").exists() else corpus_dir


def read_pages(corpus: Path, article_only: bool = True):
    """(id, url, html bytes, truth) of each page of a corpus (article pages only)."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    for doc, row in sorted(truth.items()):
        if article_only and row.get("page_type", "article") != "article":
            continue
        yield doc, row.get("url") or "", gzip.decompress((corpus / "html" / f"{doc}.html.gz").read_bytes()), row


def newsmill_fields(html: bytes, url: str) -> dict:
    """The title, author and published time a crawl stores for the page."""
    from pipelines.extract_worker import extract_article

    article = extract_article(html, url, {}, {}, encoding=None)
    return {field: article.get(field) for field in FIELDS}


def trafilatura_fields(html: bytes, url: str) -> dict:
    """trafilatura's own metadata of the page (bare_extraction, its defaults)."""
    from trafilatura import bare_extraction

    document = bare_extraction(html.decode("utf-8", errors="replace"), url=url, with_metadata=True)
    if document is None:
        return dict.fromkeys(FIELDS)
    return {"title": document.title, "author": document.author, "published": document.date}


def truth_is_organisation(html: bytes, url: str, author: str) -> bool:
    """Whether the truth's author is the site's or publisher's name (never stored)."""
    from pipelines.article_fields import _page_signals, _squash
    from pipelines.extract_worker import parse_page
    from pipelines.page_metadata import read_page_metadata

    tree = parse_page(html, None)
    signals = _page_signals(tree, url, read_page_metadata(tree, url))
    names = {_squash(n) for n in signals["organisations"] + signals["site_names"]}
    host = "".join(signals["host"].replace("-", "").split(".")[:-1])
    return _squash(author) in names or _squash(author) == host


NO_DAY = "no day: none stored"


def measure(corpus_dir: Path = SHARED_CORPORA) -> dict:
    """Both corpora's fields, newsmill's and trafilatura's: per corpus, per field, the
    counts (web-content: right of pages with the field; news: filled, and agreeing)."""
    root = corpus_root(corpus_dir)
    web: dict = {f: {"pages": 0, "newsmill": 0, "trafilatura": 0} for f in FIELDS}
    web["author (person)"] = {"pages": 0, "newsmill": 0, "trafilatura": 0}
    # Pages whose truth has no day: right when no day is stored (a copyright year's 1
    # January was stored on 56 of them; a declared day the page does not show counts wrong).
    web[NO_DAY] = {"pages": 0, "newsmill": 0, "trafilatura": 0}
    for _, url, html, truth in read_pages(root / "web-content"):
        ours, theirs = newsmill_fields(html, url), trafilatura_fields(html, url)
        if not truth.get("published"):
            web[NO_DAY]["pages"] += 1
            web[NO_DAY]["newsmill"] += not ours["published"]
            web[NO_DAY]["trafilatura"] += not theirs["published"]
        for field in FIELDS:
            if not truth.get(field):
                continue
            rows = [web[field]]
            if field == "author" and not truth_is_organisation(html, url, truth["author"]):
                rows.append(web["author (person)"])
            for row in rows:
                row["pages"] += 1
                row["newsmill"] += field_right(field, ours[field], truth[field])
                row["trafilatura"] += field_right(field, theirs[field], truth[field])
    news: dict = {f: {"pages": 0, "newsmill": 0, "trafilatura": 0, "agree": 0} for f in FIELDS}
    for _, url, html, _ in read_pages(root / "article-extraction", article_only=False):
        ours, theirs = newsmill_fields(html, url), trafilatura_fields(html, url)
        for field in FIELDS:
            row = news[field]
            row["pages"] += 1
            row["newsmill"] += bool(ours[field])
            row["trafilatura"] += bool(theirs[field])
            row["agree"] += bool(ours[field]) and field_right(
                field, ours[field], theirs[field][:10] if field == "published" and theirs[field]
                else theirs[field] or "")
    return {"web-content": web, "news": news}


def field_table(corpus_dir: Path = SHARED_CORPORA, result: dict | None = None) -> str:
    """The field accuracies as printed tables (see measure; `result` if measured already)."""
    result = result or measure(corpus_dir)
    lines = ["fields, web-content article pages: right / pages with the field (the last row:"
             " no day stored / pages whose truth has none)",
             f"{'field':20} {'pages':>5} {'newsmill':>9} {'trafilatura':>11}"]
    for field, row in result["web-content"].items():
        n = row["pages"] or 1
        lines.append(f"{field:20} {row['pages']:5} {row['newsmill'] / n:9.3f} {row['trafilatura'] / n:11.3f}")
    lines += ["", "fields, news corpus (no field ground truth): pages filled, and agreement",
              f"{'field':20} {'pages':>5} {'newsmill':>9} {'trafilatura':>11} {'agree':>6}"]
    for field, row in result["news"].items():
        n = row["pages"] or 1
        lines.append(f"{field:20} {row['pages']:5} {row['newsmill'] / n:9.3f} {row['trafilatura'] / n:11.3f}"
                     f" {row['agree'] / n:6.3f}")
    return "\n".join(lines)


def page_offers(html: bytes, url: str, field: str) -> dict:
    """What a page offers for a field, read the way article_fields reads it: for the title
    its `<h1>`s, declared headline (JSON-LD, else og:title), og:title and `<title>`; for
    the author its declared author, other author meta tags, byline markup and the bylines
    beside its headline; for the day its declared publication and modification times, the
    days shown around the headline and in the URL."""
    import pipelines.article_fields as fields
    from pipelines.extract_worker import parse_page
    from pipelines.page_metadata import read_page_metadata

    tree = parse_page(html, None)
    page = read_page_metadata(tree, url)
    signals = fields._page_signals(tree, url, page)
    if field == "title":
        return {"h1": signals["h1s"][:3], "declared": page.get("title"),
                "og:title": signals["meta"].get("og:title"), "<title>": signals["title"]}
    before, after = ("", "")
    element = fields.headline_element(tree, fields.choose_title(signals, page.get("title"), None))
    if element is not None:
        before, after = fields.text_around(tree, element)
    if field == "author":
        return {"declared": page.get("author"), "meta": signals["marked_authors"],
                "markup": signals["byline_markup"](),
                "byline": fields.visible_byline(after[:400], signals)
                or fields.visible_byline(before[-120:], signals),
                "unlabelled": fields.unlabelled_byline(after, signals),
                "under headline": after[:120]}
    month_first = signals["lang"] in ("", "en-us", "en")
    shown = [fields.parse_visible_date(after, month_first),
             fields.parse_visible_date(before[-fields.DATELINE_BEFORE:], month_first)]
    return {"declared": page.get("published"), "modified": page.get("modified"),
            "json-ld": signals["ld_published"], "url": str(fields._url_day(url) or ""),
            "shown": [(str(d.day), "updated" if d.updated else "") for d in shown if d]}


def misses(field: str, corpus_dir: Path = SHARED_CORPORA) -> str:
    """One block per web-content article page whose stored `field` is wrong."""
    lines = []
    for doc, url, html, truth in read_pages(corpus_root(corpus_dir) / "web-content"):
        if not truth.get(field):
            continue
        ours = newsmill_fields(html, url)[field]
        if field_right(field, ours, truth[field]):
            continue
        lines.append(f"{doc} {url}\n  chose {ours!r}\n  truth {truth[field]!r}")
        lines += [f"  {key:14} {value!r}" for key, value in page_offers(html, url, field).items()]
    return "\n".join(lines)


def cross_validate(corpus_dir: Path = SHARED_CORPORA, folds: int = 5, repeats: int = 3) -> str:
    """Accuracy of title and day with article_fields' tuned constants chosen on k-1 folds
    of sites and scored on the fold left out (fields only, without the body text)."""
    import pipelines.article_fields as fields
    from pipelines.extract_worker import parse_page, trafilatura_metadata
    from pipelines.page_metadata import read_page_metadata

    root = corpus_root(corpus_dir)
    grid = [(h1, after) for h1 in (0.2, 0.3, 0.4, 0.5, 0.6) for after in (300, 600, 1000)]
    shipped = (fields.H1_OVERLAP, fields.DATELINE_AFTER)
    pages = list(read_pages(root / "web-content"))
    right: dict = {}  # (grid point, doc) -> (title right, day right), None where no truth
    read = []  # each page's tree and readings, once: choose_fields only reads them
    for doc, url, html, truth in pages:
        tree = parse_page(html, None)
        page = read_page_metadata(tree, url)
        read.append((doc, url, truth, tree, page, trafilatura_metadata(tree, url, page)))
    try:
        for point in grid:
            fields.H1_OVERLAP, fields.DATELINE_AFTER = point
            for doc, url, truth, tree, page, found in read:
                chosen = fields.choose_fields(tree, url, dict(page), copy.copy(found))
                right[point, doc] = tuple(
                    field_right(f, chosen.get(f), truth[f]) if truth.get(f) else None
                    for f in ("title", "published"))
    finally:
        fields.H1_OVERLAP, fields.DATELINE_AFTER = shipped
    site = {doc: (urlsplit(url).hostname or doc).removeprefix("www.") for doc, url, _, _ in pages}
    sites = sorted(set(site.values()))

    def accuracy(point, docs, i):
        scored = [right[point, d][i] for d in docs if right[point, d][i] is not None]
        return sum(scored) / max(1, len(scored))

    lines = [f"{folds}-fold cross-validation by site, {repeats} shuffles, "
             f"grid H1_OVERLAP x DATELINE_AFTER ({len(grid)} points)"]
    for i, name in enumerate(("title", "published")):
        held, chosen = [], []
        for repeat in range(repeats):
            random.Random(repeat).shuffle(sites)
            fold_of = {s: n % folds for n, s in enumerate(sites)}
            for fold in range(folds):
                train = [d for d in site if fold_of[site[d]] != fold]
                test = [d for d in site if fold_of[site[d]] == fold]
                best = max(grid, key=lambda p: accuracy(p, train, i))
                chosen.append(best)
                held += [right[best, d][i] for d in test if right[best, d][i] is not None]
        lines.append(f"  {name:10} held-out {sum(held) / max(1, len(held)):.3f}   shipped "
                     f"{shipped}, all pages {accuracy(shipped, site, i):.3f}   chosen "
                     + ", ".join(f"{p}x{chosen.count(p)}" for p in sorted(set(chosen))))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPORA,
                        help="the folder holding web-content/ and article-extraction/")
    parser.add_argument("--cv", action="store_true", help="also cross-validate the tuned constants")
    parser.add_argument("--misses", choices=FIELDS,
                        help="list the pages newsmill gets this field wrong on, and what they offer")
    args = parser.parse_args()
    if args.misses:
        print(misses(args.misses, args.corpus))
        return
    print(field_table(args.corpus))
    if args.cv:
        print()
        print(cross_validate(args.corpus))


if __name__ == "__main__":
    main()
