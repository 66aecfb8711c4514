"""The `articles` spider: where each source's URLs become requests and pages.

Every start URL is fetched and recognised from its response (robots.txt, sitemap or
sitemap index, RSS/Atom/RDF feed, article, or a section page whose links are followed)
unless the source fixes its `kind`. Found articles are yielded as `Page` items; every
failed request as a `FetchError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from courlan import is_navigation_page, is_not_crawlable
from scrapy.linkextractors import LinkExtractor

from crawler import discovery
from crawler.errors import describe_failure
from crawler.items import FetchError, Page
from crawler.sources import Source, sources_from_settings
from crawler.urls import clean_url, on_domains, registered_domain


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SourceState:
    """What the spider tracks about one source during a run."""

    source: Source
    domains: tuple[str, ...]
    follow: tuple[re.Pattern, ...]
    deny: tuple[re.Pattern, ...]
    links: LinkExtractor
    articles_left: float
    scheduled: set = field(default_factory=set)

    @classmethod
    def build(cls, source: Source) -> SourceState:
        hosts = [urlsplit(u).hostname for u in source.urls] + list(source.hosts)
        domains = tuple(sorted({registered_domain(h) for h in hosts if h}))
        return cls(
            source=source,
            domains=domains,
            follow=tuple(re.compile(p) for p in source.follow),
            deny=tuple(re.compile(p) for p in source.deny),
            links=LinkExtractor(deny=source.deny, unique=True),
            articles_left=source.max_articles or float("inf"),
        )

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

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.sources = sources_from_settings(crawler.settings)
        spider.states = {s.name: SourceState.build(s) for s in spider.sources}
        spider.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        return spider

    async def start(self):
        for state in self.states.values():
            for url in state.source.urls:
                yield self._request(url, state, state.source.kind or "auto", depth=0, dont_filter=True)

    # --- requests ------------------------------------------------------------------
    def _request(self, url, state, kind, depth, hints=None, found_as=None, dont_filter=False):
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            dont_filter=dont_filter,
            meta={"source": state.source.name, "kind": kind, "depth": depth,
                  "hints": hints or {}, "found_as": found_as or url},
        )

    def _article_request(self, url, state, depth, hints=None):
        """A request for an article, if the source allows it and has budget left."""
        cleaned = clean_url(url)
        if cleaned in state.scheduled or not state.allows(cleaned):
            return None
        if not state.take_article():
            self.crawler.stats.inc_value(f"newsmill/over_budget/{state.source.name}")
            return None
        state.scheduled.add(cleaned)
        return self._request(cleaned, state, "article", depth, hints, found_as=url)

    # --- responses -----------------------------------------------------------------
    def parse(self, response):
        meta = response.meta
        state = self.states[meta["source"]]
        stats = self.crawler.stats
        stats.inc_value(f"newsmill/pages/{state.source.name}")
        stats.inc_value(f"newsmill/bytes/{state.source.name}", len(response.body))
        kind = meta["kind"]
        try:
            body = discovery.body_of(response, self.max_size)
        except ValueError as exc:  # a gzip body past the size limit, or broken
            yield self._error(response.url, state, "too_large" if "size" in str(exc) else "parse", str(exc))
            return
        found = discovery.classify(response, body)
        if kind != "article" and found in ("robots", "sitemap", "feed"):
            yield from self._parse_listing(response, body, found, state)
        elif kind in ("sitemap", "feed"):
            yield self._error(response.url, state, "parse", f"expected a {kind}, got {found} content")
        elif found != "html":
            yield self._error(response.url, state, "content_type",
                              f"not an HTML page ({response.headers.get('Content-Type', b'?').decode('latin1')})")
        elif kind == "article" or (kind == "auto" and discovery.looks_like_article(response)):
            if kind == "article" or state.take_article():
                # The raw body and its encoding: decoding happens in the extraction worker.
                yield Page(state.source.name, response.url, meta["found_as"], response.body, now(),
                           meta["hints"], encoding=response.encoding)
        else:
            yield from self._parse_section(response, state, meta["depth"])

    def _parse_listing(self, response, body, found, state):
        depth = response.meta["depth"]
        try:
            if found == "robots":
                for url in discovery.robots_sitemaps(response):
                    if state.allows(url):
                        yield self._request(url, state, "sitemap", depth)
            elif found == "sitemap":
                what, entries = discovery.sitemap_entries(body)
                for url, hints in entries:
                    if what == "index":
                        if state.allows(url):
                            yield self._request(url, state, "sitemap", depth, hints)
                    elif request := self._article_request(url, state, depth + 1, hints):
                        yield request
            else:
                for url, hints in discovery.feed_entries(body, response.url):
                    if request := self._article_request(url, state, depth + 1, hints):
                        yield request
        except ValueError as exc:
            yield self._error(response.url, state, "parse", f"unreadable {found}: {exc}")

    def _parse_section(self, response, state, depth):
        """A section or home page: read its advertised feeds, follow its links."""
        for url in discovery.advertised_feeds(response):
            if state.allows(url):
                yield self._request(url, state, "feed", depth)
        if depth >= state.source.max_depth:
            return
        # A linked page is only worth fetching if it may still lead somewhere itself.
        pages_useful = depth + 1 < state.source.max_depth
        for link in state.links.extract_links(response):
            url = clean_url(link.url)
            if not state.allows(url) or is_not_crawlable(url):
                continue
            if state.follow:
                if any(p.search(url) for p in state.follow):
                    if request := self._article_request(url, state, depth + 1):
                        yield request
                elif pages_useful:
                    yield self._request(url, state, "page", depth + 1)
            elif is_navigation_page(url):
                if pages_useful:
                    yield self._request(url, state, "page", depth + 1)
            else:
                yield self._request(url, state, "auto", depth + 1)

    # --- failures ------------------------------------------------------------------
    def on_error(self, failure):
        request = failure.request
        state = self.states[request.meta["source"]]
        kind, message = describe_failure(failure)
        yield self._error(request.url, state, kind, message)

    def _error(self, url, state, kind, message):
        return FetchError(state.source.name, url, kind, message, now())
