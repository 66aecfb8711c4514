#!/usr/bin/env python3
"""Title: can a small learned chooser tell the `<h1>` from the title tags' headline?

On the web-content article pages (../shared/corpus/web-content, CC-BY-4.0: its README and
LICENSE.txt) where the headline article_fields takes from the `<h1>` differs from the title
tags' headline (site name stripped: `<title>` first, then the declared headline, og:title,
twitter:title, the first that differs) and one of the two is the truth, this computes cheap
features of the pair (how many of the page's title tags agree with each, exactly, as a
part, by word overlap; lengths; case; where the `<h1>` stands; the URL's words...) and
cross-validates small models by site: 5 folds (the pages of one host in one fold), several
shuffles of hosts to folds. Out of fold, a page is won where the model picks the tags and
they are the truth, lost where it picks them and the `<h1>` was; today's rule keeps the
`<h1>` on every one of these pages.

    nice -n 10 .venv/bin/python benchmarks/title_chooser.py [--corpus DIR] [--shuffles 4]

Evaluation only: nothing of it ships unless it wins clearly more than it loses
(benchmarks/README.md, "Sixteenth session, title": it did not). scikit-learn is in the
test extras.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the machine's cores are shared

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.field_accuracy import SHARED_CORPORA, corpus_root, read_pages  # noqa: E402

FOLDS = 5
THRESHOLDS = (0.5, 0.4, 0.3)  # the tags are picked where P(the <h1> is right) is below
_LETTERS = re.compile(r"[^\W\d_]+")
_ANCESTORS = ("header", "nav", "aside", "article", "main", "footer", "a")
_CLASSES = ("header", "hero", "card", "sidebar", "title", "headline", "entry")


def _run(words: list[str], inner: list[str]) -> bool:
    """Whether `inner` is a run of `words`."""
    n = len(inner)
    return n > 0 and any(words[i:i + n] == inner for i in range(len(words) - n + 1))


def _jaccard(a: list[str], b: list[str]) -> float:
    a, b = set(a), set(b)
    return len(a & b) / max(1, len(a | b))


def _case(text: str) -> tuple[float, float]:
    """The share of words in capitals, and of words starting with one."""
    words = _LETTERS.findall(text) or [""]
    return (sum(w.isupper() and len(w) > 1 for w in words) / len(words),
            sum(w[:1].isupper() for w in words) / len(words))


def _h1_element(tree, text: str):
    from pipelines import article_fields as fields

    for element in tree.iter("h1"):
        if fields._clean(fields._text_with_breaks(element)[0]) == text:
            return element
    return None


def _shown(tree, words: list[str], tags: tuple[str, ...]) -> int:
    """How many short elements (up to 3) show exactly these words."""
    from pipelines import article_fields as fields

    count = 0
    for element in tree.iter(*tags):
        text = element.text_content()
        if len(text) < 400 and fields._words(text) == words:
            count += 1
            if count > 3:
                break
    return count


def pair_features(tree, url: str, signals: dict, titles: list[str], h1: str, h1_raw: str | None,
                  tags: str) -> dict[str, float]:
    """The features of one page's pair: the `<h1>`'s headline against the tags'."""
    from pipelines import article_fields as fields

    words = fields._words
    h, t = words(h1), words(tags)
    f: dict[str, float] = {}
    for name, mine, text in (("h", h, h1), ("t", t, tags)):
        f[name + "_exact"] = sum(words(x) == mine for x in titles)
        f[name + "_in_copy"] = sum(_run(words(x), mine) for x in titles)
        f[name + "_holds_copy"] = sum(_run(mine, words(x)) for x in titles)
        f[name + "_overlap"] = sum(_jaccard(words(x), mine) for x in titles) / max(1, len(titles))
        f[name + "_words"] = len(mine)
        f[name + "_capitals"], f[name + "_title_case"] = _case(text)
        f[name + "_question"] = text.rstrip().endswith("?")
        f[name + "_colon"] = ":" in text
    f["ratio"] = len(h) / max(1, len(t))
    f["h_in_t"], f["t_in_h"], f["h_t_overlap"] = _run(t, h), _run(h, t), _jaccard(h, t)
    f["t_cut"] = tags.rstrip().endswith(("...", "…"))
    f["h1s"], f["copies"] = len(signals["h1s"]), len(titles)
    slug = words(urlsplit(url).path.replace("-", " ").replace("_", " "))
    f["slug_h"], f["slug_t"] = _jaccard(slug, h), _jaccard(slug, t)
    f["t_shown"] = _shown(tree, t, ("h2", "h3", "h4", "p", "span", "div", "strong", "a", "li"))
    f["h_shown_again"] = _shown(tree, h, ("h2", "h3", "h4", "p", "span", "div", "strong", "a", "li"))
    element = _h1_element(tree, h1_raw) if h1_raw else None
    seen: set[str] = set()
    if element is not None:
        for ancestor in element.iterancestors():
            seen.add(ancestor.tag)
            classes = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
            seen.update("." + c for c in _CLASSES if c in classes)
        own = (element.get("class") or "").lower()
        seen.update("own." + c for c in _CLASSES if c in own)
        if element.find(".//a") is not None:
            seen.add("a")
        before, _ = fields.text_around(tree, element, before=3000, after=10)
        f["words_before_h1"] = min(len(before.split()), 400) / 100
        first = next((e for e in tree.iter("h1", "h2", "h3") if e.text_content().strip()), None)
        f["h1_first_heading"] = first is element
    else:
        f["words_before_h1"], f["h1_first_heading"] = 0.0, False
    for tag in _ANCESTORS:
        f["in_" + tag] = tag in seen
    for c in _CLASSES:
        f["in_." + c] = "." + c in seen
        f["own." + c] = "own." + c in seen
    return {k: float(v) for k, v in f.items()}


def contested_pages(corpus_dir: Path = SHARED_CORPORA) -> list[dict]:
    """Every article page whose `<h1>` headline and tags' headline differ, with its pair's
    features and which one is the truth (label 1: the `<h1>`, 0: the tags, None: neither)."""
    from pipelines import article_fields as fields
    from pipelines.extract_worker import parse_page, trafilatura_metadata
    from pipelines.page_metadata import read_page_metadata

    words = fields._words
    rows = []
    for doc, url, html, truth in read_pages(corpus_root(corpus_dir) / "web-content"):
        if not truth.get("title"):
            continue
        tree = parse_page(html, None)
        page = read_page_metadata(tree, url)
        found = trafilatura_metadata(tree, url, page, find_day=False, find_links=False)
        signals = fields._page_signals(tree, url, page)
        raw, titles = fields._title_tags(signals, page.get("title"), found.title)
        h1 = fields._h1_headline(signals, raw, titles)
        if not h1 or not titles:
            continue
        meta = signals["meta"]
        tags = None
        for written in (signals["title"], fields._clean(page.get("title")),
                        fields._clean(meta.get("og:title")), fields._clean(meta.get("twitter:title"))):
            if not written:
                continue
            headline = fields.strip_site_name(written, signals, [o for o in raw if o is not written])
            if headline and not fields._is_site_name(headline, signals) and words(headline) != words(h1):
                tags = fields._completed(headline, titles)
                break
        if tags is None or words(tags) == words(h1):
            continue
        right = words(truth["title"])
        h1_raw = next((x for x in signals["h1s"] if _run(words(x), words(h1))), None)
        rows.append({"doc": doc, "host": (urlsplit(url).hostname or doc).removeprefix("www."),
                     "label": 1 if words(h1) == right else 0 if words(tags) == right else None,
                     "h1": h1, "tags": tags,
                     "features": pair_features(tree, url, signals, titles, h1, h1_raw, tags)})
    return rows


def models() -> dict:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    def logistic(c):
        return lambda: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))

    return {"logistic C=0.03": logistic(0.03), "logistic C=0.1": logistic(0.1),
            "logistic C=1": logistic(1.0),
            "tree depth 2": lambda: DecisionTreeClassifier(max_depth=2, min_samples_leaf=5, random_state=0),
            "tree depth 3": lambda: DecisionTreeClassifier(max_depth=3, min_samples_leaf=5, random_state=0),
            # not small: for reference, whether any combination of the features separates
            "boosted trees (100)": lambda: GradientBoostingClassifier(
                n_estimators=100, max_depth=2, random_state=0)}


def cross_validate(rows: list[dict], shuffles: int = 4) -> str:
    """Won and lost against today's rule, out of fold, per model, shuffle and threshold."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    rows = [r for r in rows if r["label"] is not None]
    names = sorted(rows[0]["features"])
    x = np.array([[r["features"][n] for n in names] for r in rows])
    y = np.array([r["label"] for r in rows])
    hosts = [r["host"] for r in rows]
    lines = [f"{len(rows)} pages where the <h1>'s headline and the tags' differ and one is the "
             f"truth: <h1> {int(y.sum())}, tags {int(len(y) - y.sum())}; {len(set(hosts))} hosts, "
             f"{len(names)} features",
             f"{FOLDS}-fold cross-validation by host, {shuffles} shuffles; won/lost against "
             "keeping the <h1>, where P(<h1>) < threshold",
             f"{'model':22} {'AUC':>5}  " + "  ".join(f"{'< ' + str(t):>14}" for t in THRESHOLDS)]
    for label, make in models().items():
        won = {t: [] for t in THRESHOLDS}
        lost = {t: [] for t in THRESHOLDS}
        aucs = []
        for shuffle in range(shuffles):
            order = sorted(set(hosts))
            random.Random(shuffle).shuffle(order)
            fold = np.array([{h: n % FOLDS for n, h in enumerate(order)}[h] for h in hosts])
            p = np.zeros(len(y))
            for k in range(FOLDS):
                model = make().fit(x[fold != k], y[fold != k])
                p[fold == k] = model.predict_proba(x[fold == k])[:, 1]
            aucs.append(roc_auc_score(y, p))
            for t in THRESHOLDS:
                won[t].append(int(((p < t) & (y == 0)).sum()))
                lost[t].append(int(((p < t) & (y == 1)).sum()))
        cells = [f"{'+' + '/'.join(map(str, won[t])):>7} {'-' + '/'.join(map(str, lost[t])):<7}"
                 for t in THRESHOLDS]
        lines.append(f"{label:22} {sum(aucs) / len(aucs):5.2f}  " + "  ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPORA,
                        help="the folder holding web-content/ (or web-content itself)")
    parser.add_argument("--shuffles", type=int, default=4, help="shuffles of hosts to folds")
    args = parser.parse_args()
    print(cross_validate(contested_pages(args.corpus), args.shuffles))


if __name__ == "__main__":
    main()
