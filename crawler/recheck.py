"""Downloader middlewares: known article URLs, feeds, sitemaps and robots.txt are re-checked
cheaply, or not at all.

For a request whose URL the store already knows as an article's (its own URL, an alias, a
duplicate or near duplicate), however the URL was found, `KnownUrlsMiddleware` either
answers it itself with an empty 304 (nothing is sent) or sends it as a conditional request
(If-None-Match / If-Modified-Since), so an unchanged article costs a few hundred bytes.
It only reads the store; what a response said is written by the store pipeline.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.discovery import lastmod_hint
from crawler.sources import parse_duration, sources_from_settings
from crawler.store_lookups import store_lookup
from pipelines.database import KnownUrls, ListingValidators, RobotsCache
from pipelines.urls import clean_url

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
        return cls(crawler, store_lookup(KnownUrls, settings), recheck_for)

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


class ConditionalListingsMiddleware:
    """Feeds, sitemaps, start pages and robots.txt are asked for with the validators (ETag,
    Last-Modified) of their last full answer, as every feed reader does: a `304` means
    nothing new, for the cost of one small response.

    A listing's validators are kept only at the end of a run that finished with no failure
    (robots.txt and offsite refusals are none) and no budget or time limit reached for its
    source: a 304 next time skips everything it lists, so all it led to must have been
    read. robots.txt's validators live with its body in the robots_txt table
    (RobotsPolicyMiddleware reads a 304 as the kept body).
    NEWSMILL_CONDITIONAL_LISTINGS = False turns this off.
    """

    def __init__(self, crawler, validators: ListingValidators, robots: RobotsCache | None):
        self.stats = crawler.stats
        self.validators = validators
        self.robots = robots
        self.fresh: dict[str, list[tuple]] = defaultdict(list)  # source -> validators seen
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSMILL_CONDITIONAL_LISTINGS", True):
            raise NotConfigured
        # robots.txt only while its answers are kept (NEWSMILL_ROBOTSTXT_CACHE): a 304 needs
        # the kept body to mean anything.
        robots = store_lookup(RobotsCache, settings, 0) \
            if settings.getfloat("NEWSMILL_ROBOTSTXT_CACHE", 0) > 0 else None
        return cls(crawler, store_lookup(ListingValidators, settings), robots)

    def process_request(self, request, spider=None):
        meta = request.meta
        if meta.get("dont_obey_robotstxt") and request.url.endswith("/robots.txt"):
            if self.robots is None:
                return None
            known = self.robots.stored(request.url)
        elif meta.get("listing") and meta.get("kind") != "article" and \
                not meta.get("newsmill_conditional"):
            known = self.validators.get(meta.get("found_as") or request.url)
        else:
            return None
        meta["newsmill_conditional"] = True  # a redirected copy keeps its headers, not re-judged
        if not known or not (known["etag"] or known["last_modified"]):
            return None
        if known["etag"]:
            request.headers.setdefault(b"If-None-Match", known["etag"])
        if known["last_modified"]:
            request.headers.setdefault(b"If-Modified-Since", known["last_modified"])
        meta["handle_httpstatus_list"] = [*meta.get("handle_httpstatus_list", []), 304]
        self.stats.inc_value("newsmill/conditional_listings")
        return None

    def process_response(self, request, response, spider=None):
        meta = request.meta
        if response.status == 304 and meta.get("newsmill_conditional"):
            self.stats.inc_value("newsmill/listings_not_modified")
        elif response.status == 200 and meta.get("listing") and meta.get("kind") != "article":
            etag = response.headers.get(b"ETag")
            last_modified = response.headers.get(b"Last-Modified")
            if etag or last_modified:
                self.fresh[meta["source"]].append((
                    (meta.get("redirect_urls") or [meta.get("found_as") or request.url])[0],
                    meta["source"], etag and etag.decode("latin1"),
                    last_modified and last_modified.decode("latin1")))
        return response

    def spider_closed(self, spider, reason) -> None:
        get = self.stats.get_value
        rows = [row for source, found in self.fresh.items() for row in found
                if reason == "finished" and not get(f"newsmill/failures/{source}")
                and not get(f"newsmill/limit/{source}") and not get(f"newsmill/over_budget/{source}")]
        if rows:
            self.validators.put(rows)
