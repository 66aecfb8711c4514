"""trafilatura's author cleaning, bounded: a hostile page's author costs no worker minutes.

trafilatura's `normalize_authors` (2.3.1) removes nicknames with a regular expression of an
opening bracket or quote then, lazily, the nearest closing one (AUTHOR_REMOVE_NICKNAME). On
an author of many "(" and no ")" each "(" scans to the end: its length squared, 20,000
characters in a meta tag 2 s of a worker, 300,000 minutes. Every author trafilatura reads
goes through it: meta tags, JSON-LD, its byline search. newsmill stores an author of at
most `max_author_chars` (500), so the string is cut at AUTHOR_CHARS first: no author a
page could have stored changes, and the cost is bounded (~20 ms). Written here because
trafilatura has no bound of its own; the rest of trafilatura is used as it is.
"""

from __future__ import annotations

import functools

AUTHOR_CHARS = 2000


def _bounded(normalize_authors):
    @functools.wraps(normalize_authors)
    def bounded(current_authors: str | None, author_string: str) -> str | None:
        return normalize_authors(current_authors, author_string[:AUTHOR_CHARS])

    bounded.newsmill_bounded = True
    return bounded


def bound_author_cleaning() -> None:
    """Put the bounded `normalize_authors` where trafilatura's modules call it (once)."""
    from trafilatura import json_metadata, metadata

    for module in (json_metadata, metadata):
        if not getattr(module.normalize_authors, "newsmill_bounded", False):
            module.normalize_authors = _bounded(module.normalize_authors)
