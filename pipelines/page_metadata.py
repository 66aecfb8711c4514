"""Publisher-declared metadata: Open Graph, `article:*` meta, JSON-LD, `<html lang>`.

trafilatura finds most metadata, but it reduces dates to the day (no time, no offset),
reports no modification date, and has no publisher field; publishers state all of
these exactly in their meta tags and JSON-LD, so those are read here first and
trafilatura's findings fill the gaps.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from html import unescape
from urllib.parse import urljoin, urlsplit

_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|LiveBlogPosting)$")


def read_page_metadata(tree, url: str) -> dict:
    """Metadata the page declares about itself, normalized; missing fields are absent."""
    meta = _meta_tags(tree)
    ld, website = _json_ld_article(tree)
    out: dict = {}

    def first(*values):
        for value in values:
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
        return None

    def text(*values):
        """The first value with a letter or digit in it, as text (a site name of "/" is none)."""
        for value in values:
            if isinstance(value, str) and any(c.isalnum() for c in value):
                return _plain(value)
        return None

    out["title"] = text(ld.get("headline"), meta.get("og:title"), meta.get("twitter:title"))
    out["description"] = text(meta.get("og:description"), meta.get("description"),
                               ld.get("description"), meta.get("twitter:description"))
    # Only a name the site gives itself: trafilatura's fallbacks (a part of the <title>, the
    # URL's host and port) are not names, and its other meta tags (article:publisher,
    # twitter:site) hold addresses and handles.
    out["sitename"] = text(meta.get("og:site_name"), _name(website), _name(ld.get("publisher")),
                            meta.get("application-name"))
    # article:publisher, by the Open Graph convention, is the publisher's Facebook page:
    # an address is no name.
    out["publisher"] = text(_name(ld.get("publisher")), _not_address(meta.get("article:publisher")))
    out["author"] = text(_names(ld.get("author")), meta.get("author"), meta.get("article:author"))
    out["published"] = page_time(first(ld.get("datePublished"), meta.get("article:published_time"),
                                       meta.get("datePublished"), meta.get("pubdate")))
    out["modified"] = page_time(first(ld.get("dateModified"), meta.get("article:modified_time"),
                                      meta.get("og:updated_time"), meta.get("dateModified")))
    out["section"] = _not_address(text(meta.get("article:section"), _one(ld.get("articleSection"))))
    tags = _all_meta(tree, "article:tag") or _split_keywords(ld.get("keywords")) \
        or _split_keywords(meta.get("news_keywords")) or _split_keywords(meta.get("keywords"))
    out["tags"] = list(dict.fromkeys(_plain(t) for t in tags if t.strip()))
    image = first(meta.get("og:image"), _image(ld.get("image")), meta.get("twitter:image"))
    out["image"] = urljoin(url, image) if image else None
    lang = first(tree.get("lang"), tree.get("xml:lang"), meta.get("og:locale"),
                 meta.get("content-language"), _one(ld.get("inLanguage")))
    out["language"] = re.split(r"[-_]", lang)[0].lower() if lang else None
    canonical = tree.xpath('//link[@rel="canonical"]/@href')
    canonical_url = first(canonical[0] if canonical else None, meta.get("og:url"))
    out["canonical"] = urljoin(url, canonical_url) if canonical_url else None
    # What the page says of itself that tells an original from a copy (the store's choice
    # of which of two copies of a text is the article, pipelines.extraction.original_claim).
    out["declares_article"] = bool(ld) or (meta.get("og:type") or "").strip().lower() == "article"
    publisher_url = _publisher_url(ld.get("publisher"))
    out["publisher_url"] = urljoin(url, publisher_url) if publisher_url else None
    site_name, publisher = text(meta.get("og:site_name")), text(_name(ld.get("publisher")))
    out["publisher_is_site_name"] = bool(site_name and publisher) \
        and site_name.casefold() == publisher.casefold()
    return {k: v for k, v in out.items() if v}


def _meta_tags(tree) -> dict:
    found: dict = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") \
            or element.get("http-equiv")
        content = element.get("content")
        if key and content and key.lower() not in found:
            found[key.lower()] = content
    return found


def _all_meta(tree, key: str) -> list[str]:
    return [e.get("content", "").strip() for e in tree.iter("meta")
            if (e.get("property") or e.get("name") or "").lower() == key]


def _json_ld_article(tree) -> tuple[dict, dict]:
    """The first JSON-LD object whose @type is some kind of Article, and the first WebSite."""
    article: dict = {}
    website: dict = {}
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script, strict=False)
        except ValueError:
            continue
        for node in _walk(data):
            types = node.get("@type")
            types = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
            if not article and any(_ARTICLE_TYPES.search(t) for t in types):
                article = node
            elif not website and "WebSite" in types:
                website = node
            if article and website:
                return article, website
    return article, website


def _walk(data, depth: int = 0):
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _walk(data["@graph"], depth + 1)
        if "mainEntity" in data:
            yield from _walk(data["mainEntity"], depth + 1)


def _plain(value: str) -> str:
    """Text as a reader sees it, spaces collapsed. HTML escapes are decoded once more: JSON-LD
    is JSON, which escapes none, yet content systems write its strings HTML-escaped ("Derek
    Seaman&#039;s Tech Blog"), and some escape meta tags twice ("M&amp;amp;A"). Only whole
    escapes, ended by ";": html.unescape alone would read "AT&T &notes" as "AT&T ¬es"."""
    if "&" in value:
        value = _ESCAPE.sub(lambda m: unescape(m[0]), value)
    return " ".join(value.split())


_ESCAPE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _not_address(value: str | None) -> str | None:
    """The value, unless it is a web address ("https://www.facebook.com/Example",
    "www.example.com/about"); a name written as a domain ("Example.com") stays."""
    if value and re.match(r"\s*(?:[a-z][a-z0-9+.-]*://|//|www\.|[^\s/]+\.[a-z]{2,}/)", value, re.IGNORECASE):
        return None
    return value


def _name(value):
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return value.get("name")
    return value if isinstance(value, str) else None


def _publisher_url(value):
    """The publisher's own address: its `url`, else an `@id` that is a web address."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dict):
        return None
    for key in ("url", "@id"):
        found = _one(value.get(key))
        if found and found.strip().lower().startswith(("http://", "https://", "//")):
            return found.strip()
    return None


def _names(value):
    values = value if isinstance(value, list) else [value]
    names = [n for n in (_name(v) for v in values) if isinstance(n, str) and n.strip()]
    return ", ".join(dict.fromkeys(names)) if names else None


def _one(value):
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _image(value):
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return value.get("url") or value.get("contentUrl")
    return value if isinstance(value, str) else None


def _split_keywords(value) -> list[str]:
    if isinstance(value, list):
        return [v.strip() for v in value if isinstance(v, str) and v.strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return []


_DAY_ONLY = re.compile(r"\d{4}-\d\d-\d\d")


def page_time(value: str | None) -> str | None:
    """A time a page declares, as iso_timestamp reads it; a day without a time stays a
    day ("2026-11-02", not a made-up midnight); None for a content system's empty date
    (year 1 or any year before 1800, the Unix epoch: see _EPOCH)."""
    if value and _DAY_ONLY.fullmatch(value.strip()):
        found = iso_timestamp(value) and value.strip()
    else:
        found = iso_timestamp(value)
    if found and (found[:4] < "1800" or found == "1970-01-01" or found.startswith(_EPOCH)):
        return None
    return found


# What content systems write for a date they do not have: the first day of year 1 (an
# empty .NET or Go date: "0001-01-01T00:00:00+00:00", on five pages of the news corpus;
# any year before 1800 is taken for one) and the Unix epoch.
_EPOCH = ("1970-01-01T00:00:00", "1970-01-01T01:00:00+01:00")


def iso_timestamp(value: str | None) -> str | None:
    """An ISO 8601 timestamp, keeping the offset the source gave; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    try:  # RFC 822 dates, as feeds and HTTP headers write them
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


# An article's URL: a date in its path (/2026/11/), a long number (an id) or a slug of four
# or more words; what a section, tag or about page's URL seldom has.
_ARTICLE_PATH = re.compile(r"/(?:19|20)\d\d[/-][01]?\d[/-]|\d{5,}|[^\W_]+(?:[-_][^\W_]+){3,}")


def looks_like_article_url(url: str | None) -> bool:
    """Whether the URL's path has the shape of an article's (see _ARTICLE_PATH)."""
    return bool(url) and bool(_ARTICLE_PATH.search(urlsplit(url).path))
