"""The `articles` spider: where each source's URLs become requests and pages.

Every start URL is fetched and recognised from its response (robots.txt, sitemap or
sitemap index, RSS/Atom/RDF feed, article, or a section page whose links are followed)
unless the source fixes its `kind`. Found articles are yielded as `Page` items; every
failed request as a `FetchError`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import urlsplit

import scrapy
from courlan import is_navigation_page, is_not_crawlable
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.linkextractors import LinkExtractor

from crawler import discovery
from crawler.errors import describe_failure
from crawler.recheck import unchanged_by_lastmod
from crawler.safety import SourceLimitReached
from crawler.sources import Source, sources_from_settings
from crawler.store_lookups import store_lookup
from pipelines.database import KnownUrls
from pipelines.items import FetchError, NotModified, Page, UnchangedListing
from pipelines.urls import clean_url, on_domains, registered_domain

# Articles first, then what lists them, then pages to explore: a source's request budget
# is spent on what it is for before a maze of navigation can use it up.
PRIORITY = {"article": 20, "feed": 10, "sitemap": 10, "auto": 0, "page": 0}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SourceState:
    """What the spider tracks about one source during a run."""

    source: Source
    hosts: tuple[str, ...]  # of its URLs, and those it names (`hosts`)
    follow: tuple[re.Pattern, ...]
    deny: tuple[re.Pattern, ...]
    links: LinkExtractor
    articles_left: float
    # Article URLs (cleaned) already requested or judged unchanged in this run, each with
    # the hints its request carries: a later listing's lastmod is added to them.
    scheduled: dict = field(default_factory=dict)
    # Listings (start URLs, feeds, sitemaps) requested and not yet read, and the requests
    # waiting for them: re-checks of known articles, navigation (see ArticlesSpider._hold).
    listings_open: int = 0
    held: list = field(default_factory=list)
    listings_requested: set = field(default_factory=set)  # start, feed and sitemap URLs

    @classmethod
    def build(cls, source: Source) -> SourceState:
        hosts = [urlsplit(u).hostname for u in source.urls] + list(source.hosts)
        return cls(
            source=source,
            hosts=tuple(h for h in hosts if h),
            follow=tuple(re.compile(p) for p in source.follow),
            deny=tuple(re.compile(p) for p in source.deny),
            links=LinkExtractor(deny=source.deny, unique=True),
            articles_left=source.max_articles or float("inf"),
        )

    @cached_property
    def domains(self) -> tuple[str, ...]:
        """The registered domains of its hosts, worked out when a URL is first judged: a
        re-crawl whose listings all answer 304 judges none, and never loads tldextract's
        suffix list (~55 ms of CPU)."""
        return tuple(sorted({registered_domain(h) for h in self.hosts}))

    def allows(self, url: str) -> bool:
        """On the source's sites, http(s), and not denied."""
        if urlsplit(url).scheme not in ("http", "https"):
            return False
        return on_domains(url, self.domains) and not any(p.search(url) for p in self.deny)

    def take_article(self) -> bool:
        """Spend one of this run's article budget; False once it is used up."""
        if self.articles_left <= 0:
            return False
        self.articles_left -= 1
        return True


class ArticlesSpider(scrapy.Spider):
    name = "articles"
    # An HTML page of kind `auto` judged in extraction rather than here: only for a spider
    # that follows no link, which the judgement must precede (WarcImportSpider).
    judge_in_extraction = False

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.sources = sources_from_settings(crawler.settings)
        spider.states = {s.name: SourceState.build(s) for s in spider.sources}
        spider.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        spider.max_listing_hops = crawler.settings.getint("NEWSMILL_MAX_SITEMAP_NESTING", 4)
        # Read-only: which listed articles are known and unchanged need no request at all.
        spider.known = store_lookup(KnownUrls, crawler.settings) \
            if crawler.settings.getbool("NEWSMILL_RECHECK_KNOWN_URLS", True) else None
        crawler.signals.connect(spider.close_known, signal=signals.spider_closed)
        crawler.signals.connect(spider.release_when_idle, signal=signals.spider_idle)
        return spider

    def close_known(self) -> None:
        if self.known is not None:
            self.known.close()

    async def start(self):
        # All made before the first is sent: each counts as an open listing of its source
        # (see _hold) from the start, however lazily Scrapy takes them.
        requests = [self._request(url, state, state.source.kind or "auto", depth=0)
                    for state in self.states.values() for url in state.source.urls
                    if self._first_listing(url, state)]
        self._look_up_start_urls(requests)
        for request in requests:
            yield request

    def _look_up_start_urls(self, requests) -> None:
        """What the store knows of the start URLs KnownUrlsMiddleware judges (those that may
        be articles), looked up together as a listing's entries are (500 to a query).

        The middleware would look each up as it passes: one query per URL, and for a crawl
        in `newsmill worker` one round trip through Redis to the writer per URL, with the
        reactor waiting on each (an `article` source of 40 URLs: 40 questions, now one).
        """
        if self.known is None:
            return
        asked = [(r, clean_url(r.url)) for r in requests if r.meta["kind"] in ("article", "auto")]
        for start in range(0, len(asked), 500):
            chunk = asked[start:start + 500]
            known = self.known.get_many([cleaned for _, cleaned in chunk])
            for request, cleaned in chunk:
                request.meta["newsmill_known"] = known.get(cleaned)

    # --- requests ------------------------------------------------------------------
    def _request(self, url, state, kind, depth, hints=None, found_as=None):
        listing = kind in ("feed", "sitemap") or depth == 0
        state.listings_open += listing
        return scrapy.Request(
            url,
            priority=PRIORITY[kind],
            callback=self.parse,
            errback=self.on_error,
            meta={"source": state.source.name, "kind": kind, "depth": depth, "listing": listing,
                  "hints": {} if hints is None else hints, "found_as": found_as or url},
        )

    def _article_request(self, url, state, depth, hints=None):
        """A request for an article, if the source allows it and has budget left."""
        cleaned = clean_url(url)
        if cleaned in state.scheduled or not state.allows(cleaned):
            return None
        if not state.take_article():
            self.crawler.stats.inc_value(f"newsmill/over_budget/{state.source.name}")
            return None
        hints = dict(hints or {})
        state.scheduled[cleaned] = hints  # the same dict as the request's meta["hints"]
        return self._request(cleaned, state, "article", depth, hints, found_as=url)

    # --- re-checks and navigation wait for the source's listings ---------------------
    def _hold(self, state, request, cleaned=None, known=None) -> bool:
        """Keep back a request while other listings of its source are still to be read:
        the re-check of a known article, or a navigation page to explore.

        A feed dates entries by publication, which says nothing of a change; the source's
        sitemap, often read a moment later, gives the lastmod that spares the re-check. And
        navigation must not spend the source's request budget before the articles a big
        feed or sitemap lists are known: once they are, they go first (PRIORITY).
        """
        if state.listings_open <= 1:  # only the listing being read now
            return False
        state.held.append((request, cleaned, known))
        return True

    @staticmethod
    def _first_listing(url, state) -> bool:
        """A start URL, feed or sitemap not yet requested in this run. Every section page
        advertises the same feed, and robots.txt often names the sitemap a source lists:
        Scrapy would drop the repeats, but each would stay counted as a listing to read."""
        if url in state.listings_requested:
            return False
        state.listings_requested.add(url)
        return True

    def _listing_read(self, meta, state):
        """A listing is read (or failed): once none is left, what was held goes out now,
        re-checks judged by the lastmods the listings gave (unchanged: no request at all)."""
        if meta.get("listing"):
            state.listings_open -= 1
        if state.listings_open > 0 or not state.held:
            return
        held, state.held = state.held, []
        unchanged = []
        for request, cleaned, known in held:
            if known is not None and unchanged_by_lastmod(known, request.meta["hints"]):
                state.articles_left += 1  # taken when it was held
                unchanged.append(cleaned)
            else:
                yield request
        if unchanged:
            yield self._unchanged_listing(state, unchanged)

    def _unchanged_listing(self, state, urls) -> UnchangedListing:
        """Known articles whose listed lastmod has not changed: counted, and judged by the
        store together (no request for any of them)."""
        self.crawler.stats.inc_value(f"newsmill/skipped/{state.source.name}", len(urls))
        self.crawler.stats.inc_value("newsmill/skipped_requests/lastmod", len(urls))
        # Pages settled without a request: each is counted, as unchanged (runs.pages).
        self.crawler.stats.inc_value(f"newsmill/pages/{state.source.name}", len(urls))
        return UnchangedListing(state.source.name, urls, now())

    def release_when_idle(self):
        """A listing whose callback never ran (dropped as a duplicate request): nothing is
        held for ever; KnownUrlsMiddleware judges the re-checks as it would have."""
        held = [request for state in self.states.values() for request, _, _ in state.held]
        for state in self.states.values():
            state.held, state.listings_open = [], 0
        for request in held:
            self.crawler.engine.crawl(request)
        if held:
            raise DontCloseSpider

    # --- responses -----------------------------------------------------------------
    async def parse(self, response):
        state = self.states[response.meta["source"]]
        async for output in self._parse(response, state):
            yield output
        for output in self._listing_read(response.meta, state):
            yield output

    async def _parse(self, response, state):
        meta = response.meta
        stats = self.crawler.stats
        # Every page counts once in runs.pages, and ends in exactly one outcome column.
        stats.inc_value(f"newsmill/pages/{state.source.name}")
        stats.inc_value(f"newsmill/answered/{state.source.name}")  # not all failed (run status)
        if response.status == 304 and meta.get("newsmill_conditional") and meta["kind"] != "article":
            # A feed, sitemap or start page unchanged since it was last read in full
            # (ConditionalListingsMiddleware): nothing new in it.
            stats.inc_value(f"newsmill/listings/{state.source.name}")
            return
        if response.status == 304:  # article requests (KnownUrlsMiddleware)
            skipped = "newsmill:skipped" in response.flags
            stats.inc_value(f"newsmill/{'skipped' if skipped else 'not_modified'}/{state.source.name}")
            # The server says unchanged: what the listings say now is remembered for next time.
            lastmod = None if skipped else discovery.lastmod_hint(meta["hints"])
            yield NotModified(state.source.name, response.url, now(), skipped, lastmod)
            return
        stats.inc_value(f"newsmill/bytes/{state.source.name}", len(response.body))
        kind = meta["kind"]
        try:
            body = discovery.body_of(response, self.max_size)
        except ValueError as exc:  # a gzip body past the size limit, or broken
            too_large = "exceeded the specified maximum" in str(exc)
            yield self._error(response.url, state, "too_large" if too_large else "parse", str(exc))
            return
        found = discovery.classify(response, body)
        if kind != "article" and found in ("robots", "sitemap", "feed"):
            async for output in self._parse_listing(response, body, found, state):
                yield output
        elif kind in ("sitemap", "feed"):
            yield self._error(response.url, state, "parse", f"expected a {kind}, got {found} content")
        elif found != "html":
            ctype = response.headers.get("Content-Type", b"?").decode("latin1")
            yield self._error(response.url, state, "content_type", f"not an HTML page ({ctype})")
        elif kind == "auto" and self.judge_in_extraction:
            # The extraction worker judges the page as below, from the tree it parses anyway
            # (pipelines/page_kind.py): this process parses nothing (newsmill import-warc).
            yield self._page(response, state, kind, declared=False, judge=True)
        elif kind == "article" or (kind == "auto" and (
                judged := discovery.judge_page(response, meta["depth"] > 0)).kind == "article"):
            yield self._page(response, state, kind)
        elif kind == "auto" and judged.kind == "undeclared":
            # A linked page that does not say what it is, and not plainly a page of links at
            # a URL that is no article's: judged by its text in extraction. An AMP or print
            # page names its article with rel=canonical: that is fetched too.
            if judged.elsewhere and (request := self._canonical_request(
                    judged.canonical, state, meta["depth"], response.url)):
                yield request
            # An AMP page names its article by rule: it is one of its pages, however little
            # it says of itself.
            yield self._page(response, state, kind, declared=judged.declared,
                             mostly_links=judged.mostly_links)
            # Article or not, it leads on as a section page does, while max_depth allows.
            for output in self._parse_section(response, state, meta["depth"], listing=False):
                yield output
        else:
            for output in self._parse_section(response, state, meta["depth"]):
                yield output

    def _page(self, response, state, kind, declared=True, mostly_links=False, judge=False) -> Page:
        """The page for extraction: the raw body and its declared charset (decoded in the
        extraction worker); `judge`: the worker judges what the page is (judge_in_extraction)."""
        if kind != "article":
            # Spent now it is fetched; one in flight when the budget ran out is still
            # handed over rather than lost (_parse_section stops asking for more).
            state.take_article()
        meta = response.meta
        return Page(state.source.name, response.url, meta["found_as"], response.body, now(),
                    meta["hints"], self._fetch_record(response),
                    encoding=discovery.declared_encoding(response), declared=declared,
                    mostly_links=mostly_links, judge=judge)

    def _canonical_request(self, canonical, state, depth, page_url):
        """The article an AMP or print page names, unless this run has asked for it: a known
        one is re-checked as any known article, an unknown one judged as the page was and,
        found as `page_url`, gets it as an alias even if that page is too short to extract."""
        cleaned = clean_url(canonical)
        if cleaned in state.scheduled or not state.allows(cleaned):
            return None
        known = self.known.get(cleaned) if self.known is not None else None
        if known is not None:
            request = self._article_request(cleaned, state, depth)
            if request is not None:
                request.meta["newsmill_known"] = known
            return request
        state.scheduled[cleaned] = {}
        return self._request(cleaned, state, "auto", depth, found_as=page_url)

    @staticmethod
    def _fetch_record(response) -> dict:
        """What the next crawl needs to re-check this article cheaply."""
        header = response.headers.get
        hints = response.meta["hints"]
        return {
            "urls": [*response.meta.get("redirect_urls", []), response.url],
            "etag": (header(b"ETag") or b"").decode("latin1") or None,
            "last_modified": (header(b"Last-Modified") or b"").decode("latin1") or None,
            "lastmod": discovery.lastmod_hint(hints),
            "status": response.status,
        }

    async def _parse_listing(self, response, body, found, state):
        """Sitemaps, feeds and robots.txt; parsed in a thread, as a big one takes seconds."""
        depth, hops = response.meta["depth"], response.meta.get("hops", 0)
        try:
            if found == "robots":
                children = await asyncio.to_thread(discovery.robots_sitemaps, response)
                what, entries = "index", [(url, {}) for url in children]
            elif found == "sitemap":
                what, entries = await asyncio.to_thread(discovery.sitemap_entries, body)
            else:
                what, entries = "feed", await asyncio.to_thread(discovery.feed_entries, body, response.url)
        except ValueError as exc:
            yield self._error(response.url, state, "parse", f"unreadable {found}: {exc}")
            return
        if what == "index":
            if hops >= self.max_listing_hops:
                yield self._error(response.url, state, "limit",
                                  f"sitemap indexes nested deeper than {self.max_listing_hops}: not followed")
                return
            for url, hints in entries:
                if state.allows(url) and self._first_listing(url, state):
                    request = self._request(url, state, "sitemap", depth, hints)
                    request.meta["hops"] = hops + 1
                    yield request
            self.crawler.stats.inc_value(f"newsmill/listings/{state.source.name}")
            return
        self.crawler.stats.inc_value(f"newsmill/listings/{state.source.name}")
        unchanged = []
        for start in range(0, len(entries), 500):
            if state.articles_left <= 0:
                break
            chunk = [(url, hints, clean_url(url)) for url, hints in entries[start:start + 500]]
            # What the store knows of these entries: one query for 500, not one each.
            known = self.known.get_many([c for _, _, c in chunk]) if self.known is not None else {}
            for url, hints, cleaned in chunk:
                if state.articles_left <= 0:
                    break
                if (pending := state.scheduled.get(cleaned)) is not None:
                    # Listed twice (a feed and a sitemap): a lastmod that only the second
                    # gives still reaches the request, if KnownUrlsMiddleware has not seen it.
                    _learn_lastmod(pending, hints)
                elif hints and unchanged_by_lastmod(known.get(cleaned), hints):
                    # Decided here, not in KnownUrlsMiddleware: no request, no article budget
                    # and no trip through Scrapy's engine for the many unchanged entries of a
                    # re-crawled sitemap; they leave the listing as one UnchangedListing item.
                    state.scheduled[cleaned] = {}
                    unchanged.append(cleaned)
                elif request := self._article_request(url, state, depth + 1, hints):
                    if self.known is not None:
                        request.meta["newsmill_known"] = known.get(cleaned)  # KnownUrlsMiddleware's
                    if cleaned not in known or not self._hold(state, request, cleaned, known[cleaned]):
                        yield request
        if unchanged:
            yield self._unchanged_listing(state, unchanged)

    def _parse_section(self, response, state, depth, listing=True):
        """A section or home page: read its advertised feeds, follow its links. `listing`
        False: the page is counted by what extraction makes of it."""
        if listing:
            self.crawler.stats.inc_value(f"newsmill/listings/{state.source.name}")
        for url in discovery.advertised_feeds(response):
            if state.allows(url) and self._first_listing(url, state):
                yield self._request(url, state, "feed", depth)
        if depth >= state.source.max_depth:
            return
        # A linked page is only worth fetching if it may still lead somewhere itself.
        pages_useful = depth + 1 < state.source.max_depth
        urls = [url for url in dict.fromkeys(clean_url(link.url) for link in state.links.extract_links(response))
                if state.allows(url) and not is_not_crawlable(url)]
        # Pages fetched before as an article's (its own, an alias, a copy): re-checked as the
        # articles a feed lists are, conditionally or not at all (KnownUrlsMiddleware).
        known = self.known.get_many(urls) if self.known is not None and urls else {}
        for url in urls:
            if url in known:
                if request := self._article_request(url, state, depth + 1):
                    request.meta["newsmill_known"] = known[url]
                    if not self._hold(state, request, url, known[url]):
                        yield request
            elif state.follow:
                if any(p.search(url) for p in state.follow):
                    if request := self._article_request(url, state, depth + 1):
                        yield request
                elif pages_useful:
                    yield from self._navigation(self._request(url, state, "page", depth + 1), state)
            elif is_navigation_page(url):
                if pages_useful:
                    yield from self._navigation(self._request(url, state, "page", depth + 1), state)
            elif state.articles_left <= 0 and not pages_useful:
                # No budget left for what it could be; one that may lead further is still asked for.
                self.crawler.stats.inc_value(f"newsmill/over_budget/{state.source.name}")
            else:
                yield from self._navigation(self._request(url, state, "auto", depth + 1), state)

    def _navigation(self, request, state):
        if not self._hold(state, request):
            yield request

    # --- failures ------------------------------------------------------------------
    def on_error(self, failure):
        request = failure.request
        state = self.states[request.meta["source"]]
        yield from self._listing_read(request.meta, state)
        if failure.check(SourceLimitReached):
            return  # counted by SourceLimitsMiddleware; the run records one line for all of them
        self.crawler.stats.inc_value(f"newsmill/pages/{state.source.name}")  # ends as an error
        kind, message = describe_failure(failure)
        # The URL recorded is the one the source led to; where redirects took it goes in the message.
        linked = (request.meta.get("redirect_urls") or [request.url])[0]
        if linked != request.url:
            message = f"{message} (redirected to {request.url})"
        yield self._error(linked, state, kind, message)

    def _error(self, url, state, kind, message):
        # The one line a failed URL gets at every log level (Scrapy's own lines about it are
        # left for --log-level DEBUG: crawler/logs.py); the errors table keeps it too.
        self.logger.warning("failed [%s] %s: %s", kind, printable(url), printable(message))
        return FetchError(state.source.name, url, kind, message, now())


def printable(text: str) -> str:
    """`text` with control characters escaped: a server's bytes never drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _learn_lastmod(pending: dict, hints: dict | None) -> None:
    """Give a scheduled article's hints the lastmod another listing gives, if they had none.

    A feed dates its entries by publication (no change signal), a sitemap by lastmod: the
    same article found in both must be judged, and remembered, by the sitemap's lastmod,
    whichever listing is read first.
    """
    lastmod = discovery.lastmod_hint(hints or {})
    if lastmod and not discovery.lastmod_hint(pending):
        pending["lastmod"] = lastmod
