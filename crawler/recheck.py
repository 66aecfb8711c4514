"""Downloader middleware: known article URLs are re-checked cheaply, or not at all.

For a request whose URL the store already knows as an article's (its own URL, an alias, a
duplicate or near duplicate), however the URL was found, `KnownUrlsMiddleware` either
answers it itself with an empty 304 (nothing is sent) or sends it as a conditional request
(If-None-Match / If-Modified-Since), so an unchanged article costs a few hundred bytes.
It only reads the store; what a response said is written by the store pipeline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.discovery import lastmod_hint
from crawler.sources import parse_duration, sources_from_settings
from crawler.urls import clean_url
from pipelines.database import KnownUrls

SKIPPED = "newsmill:skipped"


class KnownUrlsMiddleware:
    """Skip or condition requests for known article URLs.

    A known article URL is skipped when its sitemap/feed `lastmod` is the one stored, or
    when its article was first seen longer ago than its source's `recheck_for` (and no
    newer `lastmod` says it changed); otherwise it is asked for with the validators
    (ETag, Last-Modified) of its last response. A 304 reaches the spider, which records the
    article as unchanged. NEWSMILL_RECHECK_KNOWN_URLS = False turns this off.
    """

    def __init__(self, crawler, known: KnownUrls, recheck_for: dict[str, timedelta]):
        self.stats = crawler.stats
        self.known = known
        self.recheck_for = recheck_for
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSMILL_RECHECK_KNOWN_URLS", True):
            raise NotConfigured
        recheck_for = {s.name: timedelta(seconds=parse_duration(s.recheck_for))
                       for s in sources_from_settings(settings)}
        return cls(crawler, KnownUrls(settings.get("NEWSMILL_DB")), recheck_for)

    def process_request(self, request, spider=None):
        meta = request.meta
        # "auto": a start URL, or the article an AMP page names; the spider looks up the
        # links of listings and section pages itself, and makes the known ones "article".
        if meta.get("kind") not in ("article", "auto") or meta.get("newsmill_rechecked"):
            return None
        if "newsmill_known" in meta:
            # Looked up by the spider with the rest of its listing, 500 at a time; popped, so
            # a redirected copy of the request (another URL) is looked up here.
            known = meta.pop("newsmill_known")
        else:
            known = self.known.get(clean_url(request.url))
        if known is None:
            return None
        meta["kind"] = "article"  # an article's page before: extracted as one if it changed
        meta["newsmill_rechecked"] = True  # a redirected copy of this request is not re-judged
        meta["handle_httpstatus_list"] = [*meta.get("handle_httpstatus_list", []), 304]
        lastmod = lastmod_hint(meta.get("hints") or {})
        if lastmod and known["lastmod"]:
            if not _later(lastmod, known["lastmod"]):
                return self._skip(request, "lastmod")
        elif self._past_recheck(known["first_seen"], meta.get("source")):
            return self._skip(request, "recheck_for")
        if known["etag"]:
            request.headers.setdefault(b"If-None-Match", known["etag"])
        if known["last_modified"]:
            request.headers.setdefault(b"If-Modified-Since", known["last_modified"])
        self.stats.inc_value("newsmill/conditional_requests")
        return None

    def _past_recheck(self, first_seen: str | None, source: str | None) -> bool:
        window = self.recheck_for.get(source)
        if window is None or not first_seen:
            return False
        return datetime.now(UTC) - datetime.fromisoformat(first_seen) > window

    def _skip(self, request, why: str) -> Response:
        """An empty 304 made here: the request is never sent (as HttpCacheMiddleware does)."""
        self.stats.inc_value(f"newsmill/skipped_requests/{why}")
        return Response(request.url, status=304, request=request, flags=[SKIPPED])

    def spider_closed(self, spider) -> None:
        self.known.close()


def unchanged_by_lastmod(known: dict | None, hints: dict) -> bool:
    """True when the sitemap/feed gives the same (or an older) lastmod than last time."""
    lastmod = lastmod_hint(hints or {})
    return bool(known and lastmod and known["lastmod"]) and not _later(lastmod, known["lastmod"])


def _later(timestamp: str, than: str) -> bool:
    """ISO timestamps compared as instants (offsets may differ); unreadable ones as text."""
    try:
        a, b = datetime.fromisoformat(timestamp), datetime.fromisoformat(than)
        if (a.tzinfo is None) != (b.tzinfo is None):
            a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
        return a > b
    except ValueError:
        return timestamp > than
