"""What flows from the spider through the pipelines.

The spider yields `Page` (a fetched HTML page thought to be an article), `NotModified`
(a known article that has not changed), `UnchangedListing` (many of those, from one
sitemap or feed) and `FetchError`;
the extraction pipeline turns a `Page` into an `Article`; the store writes both.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Page:
    """A fetched page that should hold an article; `html` is released after extraction.

    `html` is the response body as it came (bytes, with the charset the response declared
    in `encoding`): it is decoded in the extraction worker, off the reactor thread.
    """

    source: str
    url: str  # the URL the response came from (after redirects)
    requested_url: str  # the URL as discovered (feed link, sitemap loc, page link)
    html: bytes | str
    fetched_at: str
    hints: dict = field(default_factory=dict)  # metadata from the feed or sitemap entry
    fetch: dict = field(default_factory=dict)  # urls (request chain), etag, last_modified, lastmod
    encoding: str | None = None  # the charset the response declared; None: none declared
    # False: the page did not say it is an article (og:type, article:* meta, JSON-LD) and
    # neither did the source (kind, follow); extraction judges it by its text.
    declared: bool = True
    mostly_links: bool = False  # more words in its links than outside them (an undeclared page)
    # True: not judged yet (newsmill import-warc): the extraction worker makes the spider's
    # judgement of a page found on a section page from its own parse (pipelines/page_kind.py).
    judge: bool = False
    # The content hash of the article the page is extracted again for (newsmill reextract).
    stored_hash: str | None = None


@dataclass
class Article:
    """One extracted article; field names are the `articles` columns."""

    source: str
    url: str
    title: str | None = None
    author: str | None = None
    published: str | None = None
    modified: str | None = None
    sitename: str | None = None
    publisher: str | None = None
    description: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    language: str | None = None
    text: str = ""
    word_count: int = 0
    content_hash: str = ""
    fetched_at: str = ""
    seen_urls: list[str] = field(default_factory=list)  # every URL this fetch came under
    fetch: dict = field(default_factory=dict)  # what the response said, for the next re-check
    near_duplicate_keys: list[int] = field(default_factory=list)  # set with content_hash at extraction
    # How strongly the page declares itself the original (pipelines.extraction.original_claim);
    # None: not judged (the store then tells an original from its copy by dates only).
    claims_original: int | None = None


@dataclass
class NotModified:
    """A known article URL that did not change: a 304 answer, or a re-check skipped
    because the sitemap/feed lastmod is unchanged or the article is past `recheck_for`."""

    source: str
    url: str
    at: str
    skipped: bool = False  # True when no request was sent at all
    lastmod: str | None = None  # the listing's lastmod, for a 304 answer (kept for next time)


@dataclass
class UnchangedListing:
    """The known article URLs one sitemap or feed lists with an unchanged lastmod, judged
    together: a sitemap may list tens of thousands, and one item each would cost Scrapy's
    per-item work for every one of them. The store treats each as a skipped NotModified."""

    source: str
    urls: list[str]
    at: str


@dataclass
class FetchError:
    """Something that went wrong for one URL; becomes an `errors` row."""

    source: str
    url: str
    kind: str  # http, timeout, dns, connection, too_large, robots, parse, extraction, ...
    message: str
    at: str
