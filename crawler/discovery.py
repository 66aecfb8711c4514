"""What a response is, and which article URLs it lists.

Sitemaps are read with Scrapy's own sitemap utilities, feeds with feedparser; this
module only decides which of them applies and turns entries into (url, hints) pairs.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from lxml import etree
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    resolve_encoding,
)

from pipelines import page_kind
from pipelines.page_kind import NAVIGATION_SHARE  # noqa: F401 (the spider's, by this name)
from pipelines.page_metadata import iso_timestamp

_XML_ROOT = re.compile(
    rb"<(?:[\w.-]+:)?(urlset|sitemapindex|rss|feed|RDF)\b", re.IGNORECASE
)
_ROOT_KIND = {b"urlset": "sitemap", b"sitemapindex": "sitemap", b"rss": "feed", b"feed": "feed",
              b"rdf": "feed"}


def body_of(response, max_size: int) -> bytes:
    """The response body, un-gzipped when it is a .gz file (as sitemaps often are)."""
    body = response.body
    if gzip_magic_number(response):
        # gunzip with max_size stops a gzip bomb at the same limit as a plain download.
        return gunzip(body, max_size=max_size)
    return body


def classify(response, body: bytes) -> str:
    """One of robots, sitemap, feed, html, other; from URL, content type and content."""
    if response.url.split("?")[0].endswith("/robots.txt"):
        return "robots"
    head = body[:4096].lstrip()
    ctype = response.headers.get(b"Content-Type", b"").lower()
    if head.startswith(b"<?xml") or b"xml" in ctype or (head[:1] == b"<" and not _looks_html(head)):
        match = _XML_ROOT.search(head)
        if match:
            return _ROOT_KIND[match.group(1).lower()]
    if b"html" in ctype or _looks_html(head):
        return "html"
    return "other"


def _looks_html(head: bytes) -> bool:
    start = head[:256].lower()
    return start.startswith(b"<!doctype html") or b"<html" in start or b"<head" in start


def declared_encoding(response) -> str | None:
    """The charset the response declares (Content-Type header, BOM or <meta>), if any."""
    return declared_charset(response.headers.get(b"Content-Type", b"").decode("latin1"),
                            response.body)


def declared_charset(content_type: str, body: bytes) -> str | None:
    """declared_encoding from a Content-Type value and the body, without a response."""
    declared = http_content_type_encoding(content_type) or html_body_declared_encoding(body[:4096])
    return resolve_encoding(declared) if declared else None


def looks_like_article(response) -> bool:
    """A page that declares itself an article (Open Graph, article:* meta or JSON-LD)."""
    return page_kind.declares_article(response.selector.root)


def judge_page(response, linked: bool) -> page_kind.JudgedPage:
    """What an HTML page of kind `auto` is: an article, a section page, or a page for the
    judgement in extraction (pipelines/page_kind.py, which an extraction worker also
    judges by); `linked`: found on a section page."""
    return page_kind.judge_page(response.selector.root, response.url, response.urljoin, linked)


def link_share(response) -> float:
    """The share of the page's words inside links, on a page with at least 5 links and
    fewer than 3 paragraphs of 30 words or more; 0.0 on any other page.

    Decided on the page's markup, with no extraction (pipelines/page_kind.py, which an
    extraction worker also judges by).
    """
    return page_kind.link_share(response.selector.root)


def mostly_links(response) -> bool:
    """At least 5 links, more words inside links than outside them, and fewer than 3
    paragraphs of 30 words or more (link_share): a section, tag or archive page, or a
    short article in a big menu (see NAVIGATION_SHARE)."""
    return link_share(response) > 0.5


def is_amp(response) -> bool:
    """An AMP page: `<html amp>` or `<html ⚡>` (the AMP specification's marks)."""
    return page_kind.is_amp(response.selector.root)


def declared_canonical(response) -> str | None:
    """The absolute URL the page's `<link rel="canonical">` names, if any."""
    href = page_kind.canonical_href(response.selector.root)
    return response.urljoin(href) if href else None


def sitemap_entries(body: bytes) -> tuple[str, list[tuple[str, dict]]]:
    """("index", child sitemaps) or ("urlset", articles, newest first)."""
    sitemap = Sitemap(body)
    entries = []
    for entry in sitemap:
        loc = entry.get("loc")
        if not loc:
            continue
        hints = {}
        lastmod = iso_timestamp(entry.get("lastmod"))
        if lastmod:
            hints["lastmod"] = lastmod
        entries.append((loc.strip(), hints))
    if not entries:
        _require_well_formed(body)
    if sitemap.type == "sitemapindex":
        return "index", entries
    entries.sort(key=lambda e: e[1].get("lastmod", ""), reverse=True)
    return "urlset", entries


def lastmod_hint(hints: dict) -> str | None:
    """When the listing says the article last changed: a sitemap `lastmod`, or a feed entry's
    `updated` when it differs from its `published` (feedparser copies an RSS pubDate into
    `updated`, which says nothing about changes)."""
    if hints.get("lastmod"):
        return hints["lastmod"]
    modified = hints.get("modified")
    return modified if modified and modified != hints.get("published") else None


def robots_sitemaps(response) -> list[str]:
    return list(sitemap_urls_from_robots(response.text, base_url=response.url))


def feed_entries(body: bytes, url: str) -> list[tuple[str, dict]]:
    """Article links of an RSS, Atom or RDF feed, with what the feed says about each."""
    import feedparser  # here: ~13 ms of every crawl's start, and a re-crawl's feed is a 304

    parsed = feedparser.parse(body, response_headers={"content-location": url})
    entries = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        hints = {
            "title": entry.get("title"),
            "author": entry.get("author"),
            "published": _feed_time(entry.get("published_parsed")) or None,
            "modified": _feed_time(entry.get("updated_parsed")) or None,
        }
        entries.append((link.strip(), {k: v for k, v in hints.items() if v}))
    if not entries and parsed.bozo:  # broken, not merely empty
        raise ValueError(str(parsed.get("bozo_exception")))
    return entries


def _require_well_formed(body: bytes) -> None:
    """Scrapy's Sitemap parses in recovery mode: tell a broken document from an empty one."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(str(exc)) from exc


def _feed_time(value: time.struct_time | None) -> str | None:
    if not value:
        return None
    return datetime(*value[:6], tzinfo=UTC).isoformat()


def advertised_feeds(response) -> list[str]:
    """Feeds a page announces with <link rel="alternate" type="application/rss+xml">."""
    hrefs = response.xpath(
        '//link[contains(concat(" ", normalize-space(@rel), " "), " alternate ")]'
        '[contains(@type, "rss") or contains(@type, "atom") or contains(@type, "rdf")]/@href'
    ).getall()
    return [response.urljoin(h.strip()) for h in hrefs if h.strip()]
