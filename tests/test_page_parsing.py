"""Extraction workers parse a page from its bytes where trafilatura's load_html would parse
the same text: the tree must be load_html's, page by page, whichever way it is made."""

from __future__ import annotations

import pytest
import trafilatura.utils
from lxml import etree

from benchmarks.article_site import load_corpus
from pipelines.extract_worker import decode_page, parse_page, prepare_worker
from pipelines.mojibake import mend_mojibake

ARTICLE = ("<head><title>Ferry returns</title></head><body><article><h1>Ferry returns</h1>"
           + "<p>The ferry carried its first passengers in weeks after repairs.</p>" * 5
           + "</article></body></html>")


def serialised(tree) -> str | None:
    return None if tree is None else etree.tostring(tree.getroottree(), encoding="unicode")


def load_html_path(monkeypatch) -> list:
    """Records each page parse_page hands to trafilatura's load_html (its slow path)."""
    calls = []
    original = trafilatura.utils.load_html

    def recording(html, *args):
        calls.append(html)
        return original(html, *args)

    monkeypatch.setattr(trafilatura.utils, "load_html", recording)
    return calls


@pytest.mark.corpus
def test_corpus_pages_parse_from_their_bytes_to_load_htmls_tree(monkeypatch):
    prepare_worker()  # the element classes workers use
    pages = [page.encode() for page in load_corpus()]
    # Two pages hold mojibake (in a script): load_html's tree of the text mended.
    expected = [serialised(trafilatura.utils.load_html(mend_mojibake(decode_page(b, "utf-8"))))
                for b in pages]
    slow = load_html_path(monkeypatch)
    for n, (body, tree) in enumerate(zip(pages, expected)):
        assert serialised(parse_page(body, "utf-8")) == tree, f"corpus page {n}"
    assert len(slow) < len(pages) / 10  # nearly every page took the bytes path


@pytest.mark.parametrize("body, declared, by_load_html", [
    ("<!DOCTYPE html>\n<html>" + ARTICLE, None, False),
    ("\ufeff<!DOCTYPE html>\n<html lang='ru'>" + ARTICLE.replace("ferry", "паром"), None, False),
    ("<html>" + ARTICLE.replace("weeks", "weeks\x01\x0b"), "utf-8", True),       # controls
    ("<html>" + ARTICLE.replace("weeks", "weeks\ufffe"), "utf-8", True),         # noncharacter
    ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "http://www.w3.org/TR/xhtml1/DTD/x.dtd">'
     "\n<html>" + ARTICLE, None, True),                                           # doctype rewritten
    ("<!DOCTYPE html><html>" + ARTICLE, None, True),                              # one line
    ("<html lang='en'/>\n" + ARTICLE, None, True),                               # <html/>
    ("\u00a0\u2003<html>" + ARTICLE, None, True),                                # Unicode spaces
    ("just some text, no markup at all", None, True),                            # not HTML
    ("<html>" + ARTICLE.replace("ferry", "паром"), "windows-1251", True),        # declared
    ("<!DOCTYPE html>\n<html>" + ARTICLE.replace("weeks", "weeks\u00e2\u0080\u0099"), None, True),  # mojibake
])
def test_pages_needing_a_repair_or_another_charset_get_load_htmls_tree(
        monkeypatch, body, declared, by_load_html):
    raw = body.encode(declared or "utf-8")
    expected = serialised(trafilatura.utils.load_html(mend_mojibake(decode_page(raw, declared))))
    slow = load_html_path(monkeypatch)
    assert serialised(parse_page(raw, declared)) == expected
    assert bool(slow) == by_load_html


def test_undeclared_cp1251_page_is_decoded_by_guess_then_parsed_by_load_html(monkeypatch):
    raw = ("<html><head><title>Паром</title></head><body>"
           + "<p>Паром снова перевозит пассажиров после ремонта двигателя.</p>" * 20
           + "</body></html>").encode("cp1251")
    slow = load_html_path(monkeypatch)
    tree = parse_page(raw, None)
    assert slow and tree.findtext(".//title") == "Паром"
