"""newsmill's extraction takes shortcuts for speed (trafilatura's metadata finders run only
for what a page does not declare, its author search without its copy of the tree): on
the corpus, with EXTRACT_ENGINE=trafilatura (the way back to plain trafilatura), its text
and its fallback metadata finders must still find trafilatura's own (the stored author is
then chosen among them, pipelines/article_fields.py, tests/test_article_fields.py)."""

from __future__ import annotations

import pytest
import trafilatura
from trafilatura.metadata import extract_metadata
from trafilatura.utils import load_html

from benchmarks.article_site import load_corpus
from pipelines.extract_worker import extract_article, search_author, trafilatura_metadata
from pipelines.page_metadata import read_page_metadata


@pytest.mark.corpus
def test_trafilatura_engine_text_and_undeclared_author_are_trafilaturas_on_every_corpus_page():
    undeclared = found = 0
    for n, page in enumerate(load_corpus()):
        url = f"https://example.org/{n}.html"
        ours = extract_article(page.encode(), url, {}, {"engine": "trafilatura"}, "utf-8")
        assert ours.get("text") == trafilatura.extract(page, url=url), f"corpus page {n}"
        if read_page_metadata(load_html(page), url).get("author"):
            continue  # newsmill reads the page's own declaration first
        theirs = extract_metadata(load_html(page), url).author
        tree = load_html(page)
        assert (trafilatura_metadata(tree, url, {}).author or search_author(tree)) == theirs, \
            f"corpus page {n}"
        undeclared += 1
        found += theirs is not None
    # The corpus has pages without a declared author where trafilatura's search finds one.
    assert undeclared >= 40 and found >= 30, (undeclared, found)
