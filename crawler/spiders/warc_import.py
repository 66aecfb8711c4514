"""The `warc_import` spider: pages from WARC files instead of the network.

Each HTTP response record of the files becomes the Scrapy response a crawl would have
downloaded (its URL the WARC-Target-URI, fetched at the WARC-Date) and goes through the
`articles` spider's own judgement as a page reached from a section page: a page that
declares itself an article is one, a page of links is a listing, any other page is judged
by its text. The extraction worker makes that judgement (pipelines/page_kind.py, the
functions the spider judges by) from the tree it parses anyway, so this process parses no
page: it reads records and stores articles. Nothing is fetched: the links, canonical pages
and feeds a page names are not followed. The pages then go through the crawl's item pipelines (extraction
workers, de-duplication, the store and its run record) as a crawl's do.

The pages leave Spider.start(), which Scrapy reads as fast as it is given items (it has
back-pressure for requests only): the spider keeps the items in flight within a bound
itself, so a file of any size is read as fast as extraction takes its pages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections import deque

import scrapy
from scrapy import signals
from scrapy.http import Headers, TextResponse
from scrapy.responsetypes import responsetypes

from crawler.sources import sources_from_settings
from crawler.spiders.articles import ArticlesSpider, SourceState, now, printable
from crawler.warc_input import BadRecord, HttpResponse, NotWarc, Skipped, WarcReader
from pipelines.items import FetchError, Page


class WarcImportSpider(ArticlesSpider):
    name = "warc_import"
    # Nothing is followed, so nothing waits for the judgement: the extraction worker makes
    # it from the one parse it does anyway, and this process parses no page.
    judge_in_extraction = True
    # Nearly every record is a page to extract: the extraction workers start (and warm up)
    # with the spider, while Scrapy starts and the first records are read.
    extracts_every_page = True

    def __init__(self, files=(), *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.files = list(files)
        self.reader: WarcReader | None = None
        self.done_bytes = 0  # of the files read before the current one
        self.total_bytes = 0
        self.record = None  # (file, offset) of the record being judged, for error lines
        self.in_flight: deque[int] = deque()  # bytes of each item yielded and not settled
        self.in_flight_bytes = 0
        self.settled = asyncio.Event()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super(ArticlesSpider, cls).from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.sources = sources_from_settings(s)
        spider.states = {source.name: SourceState.build(source) for source in spider.sources}
        spider.max_size = s.getint("DOWNLOAD_MAXSIZE")
        spider.max_listing_hops = 0
        spider.known = None  # every page is judged by what it holds, as a first crawl's
        workers = s.getint("EXTRACT_WORKERS") or os.cpu_count() or 1  # as ExtractionPipeline
        # Enough pages waiting for every extraction worker to have the next at hand
        # (pipelines.extract_pool queues two a worker), and a bound on their bytes.
        spider.max_items = s.getint("NEWSMILL_IMPORT_MAX_ITEMS") or 4 * workers + 4
        spider.max_item_bytes = s.getint("NEWSMILL_IMPORT_MAX_BYTES", 64 * 1024 * 1024)
        # A line for each record that is no page (two of CC-NEWS's three records a page) at
        # --log-level DEBUG only: Scrapy's loggers pass every level, and its handler drops
        # them only after the record is made (~0.1 ms each).
        spider.log_skipped = logging.getLevelName(s.get("LOG_LEVEL") or "DEBUG") == logging.DEBUG
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider.item_settled, signal=signal)
        return spider

    # --- progress -------------------------------------------------------------------
    def bytes_read(self) -> int:
        """How far into the files reading has come, for the progress bar."""
        return self.done_bytes + (self.reader.position if self.reader is not None else 0)

    # --- back-pressure --------------------------------------------------------------
    def item_settled(self, *args, **kwargs) -> None:
        if self.in_flight:
            self.in_flight_bytes -= self.in_flight.popleft()
        self.settled.set()
        asyncio.get_running_loop().call_soon(self._close_if_idle)

    def _close_if_idle(self) -> None:
        """Let a close that began while items were in the pipelines (SIGTERM, Ctrl-C) end.

        Scrapy 2.19 checks whether its scraper is idle, for a close to end, only when a
        response's items are done, never when an item from Spider.start() is: an import
        stopped with items in flight waited for ever. While a close waits, this looks
        again every 0.1 s (the item is counted out after its signal) and then makes the
        scraper's own check (private, hence looked up).
        """
        scraper = getattr(self.crawler.engine, "scraper", None)
        slot = getattr(scraper, "slot", None)
        check = getattr(scraper, "_check_if_closing", None)
        if check is None or slot is None or not slot.closing or slot.closing.called:
            return
        if slot.is_idle():
            check()
        else:
            asyncio.get_running_loop().call_later(0.1, self._close_if_idle)

    async def _room_for(self, item) -> None:
        """Wait until the item can go without passing the bounds on items in flight."""
        size = len(item.html) if isinstance(item, Page) else 0
        while self.in_flight and (len(self.in_flight) >= self.max_items
                                  or self.in_flight_bytes + size > self.max_item_bytes):
            self.settled.clear()
            await self.settled.wait()
        self.in_flight.append(size)
        self.in_flight_bytes += size

    # --- reading the files ----------------------------------------------------------
    async def start(self):
        state = next(iter(self.states.values()))
        readers = [WarcReader(path, self.max_size) for path in self.files]
        unreadable = {}
        for reader in readers:
            try:
                reader.check()
            except NotWarc as exc:
                unreadable[reader.path] = reader.counts.unreadable = str(exc)
        self.total_bytes = sum(r.counts.size for r in readers if r.path not in unreadable)
        self.crawler.stats.set_value("newsmill/warc_files", [r.counts for r in readers])
        for reader in readers:
            if reader.path in unreadable:
                item = self._file_error(reader.path, state, unreadable[reader.path])
                await self._room_for(item)
                yield item
                continue
            self.reader = reader
            for n, record in enumerate(reader.records()):
                if n % 64 == 63:
                    # A run of records that are no pages (a crawl's images, revisits) yields
                    # nothing: the event loop still gets its turn (progress, store flushes).
                    await asyncio.sleep(0)
                try:
                    async for item in self._items(record, state):
                        await self._room_for(item)
                        yield item
                except Exception as exc:
                    # Scrapy ends the whole run at an exception from start() ("start_error"):
                    # a record the judgement chokes on is counted as an error instead.
                    self.logger.exception("%s at offset %d: cannot judge the record",
                                          reader.path, record.offset)
                    item = self._error(record.url, state, "parse",
                                       f"{reader.path} at offset {record.offset}: {exc!r}")
                    await self._room_for(item)
                    yield item
            self.done_bytes += reader.counts.size
            self.reader = None
        await self._all_settled()

    async def _all_settled(self) -> None:
        """Return once every item yielded is through the pipelines.

        Scrapy sees a crawl is done when it finds the engine idle, and looks when the start
        items end and then every 5 s: ending once the last items are through lets it close
        at once, not up to 5 s later (a quarter of importing 1,000 pages).
        """
        while self.in_flight:
            self.settled.clear()
            await self.settled.wait()

    async def _items(self, record, state):
        """What a crawl would make of the record: Page and FetchError items."""
        self.record = (self.reader.path, record.offset)
        stats = self.crawler.stats
        if isinstance(record, Skipped):
            if self.log_skipped:
                self.logger.debug("%s at offset %d: %s record skipped: %s", self.reader.path,
                                  record.offset, record.what, record.url)
            return
        if isinstance(record, BadRecord):
            stats.inc_value(f"newsmill/pages/{state.source.name}")  # ends as an error
            yield self._error(record.url or self.reader.path, state, record.kind, record.message)
            return
        if 300 <= record.status < 400:
            # The page it leads to is a record of its own, if it was archived; a crawl does
            # not count the redirect as a page either.
            skipped = self.reader.counts.skipped
            skipped["redirect"] = skipped.get("redirect", 0) + 1
            return
        response = self._response(record)
        if response is None:
            stats.inc_value(f"newsmill/pages/{state.source.name}")
            yield self._error(record.url, state, "bad_http", "a URL Scrapy cannot take")
            return
        if record.status >= 400 or record.status < 200:
            stats.inc_value(f"newsmill/pages/{state.source.name}")  # as a crawl's failed request
            yield self._error(record.url, state, "http", f"HTTP {record.status}")
            return
        # The articles spider's judgement of a downloaded page; what it would request
        # (nothing, with the steps below) is never sent.
        async for output in self._parse(response, state):
            if isinstance(output, (Page, FetchError)):
                yield output
        # Scrapy's Selector keeps its response and the response caches its selector: a
        # reference cycle holding the page's lxml tree, which only the cyclic collector
        # frees, and newsmill runs it seldom (runner.tune_garbage_collector). A crawl's
        # responses wait for the network between them; an import makes one a millisecond,
        # and pages of trees piled up (340 MB in the import process after 400 pages).
        # (Only a TextResponse has a selector: an image's plain Response has none.)
        if isinstance(response, TextResponse):
            response._cached_selector = None

    def _response(self, record: HttpResponse):
        """The Scrapy response a crawl would have received for the record."""
        headers = Headers(record.headers)
        try:
            request = scrapy.Request(record.url, meta={
                "source": next(iter(self.states)), "kind": "auto", "depth": 1, "listing": False,
                "hints": {}, "found_as": record.url, "warc_date": record.fetched_at})
        except ValueError:
            return None
        cls = responsetypes.from_args(headers=headers, url=record.url, body=record.body)
        return cls(url=record.url, status=record.status, headers=headers, body=record.body,
                   request=request)

    # --- the articles spider's steps, without the network ----------------------------
    def _page(self, response, state, kind, declared=True, mostly_links=False, judge=False) -> Page:
        page = super()._page(response, state, kind, declared, mostly_links, judge)
        return dataclasses.replace(page, fetched_at=response.meta["warc_date"])

    async def _parse_listing(self, response, body, found, state):
        """A feed, sitemap or robots.txt in the file: counted as a listing, not followed."""
        self.crawler.stats.inc_value(f"newsmill/listings/{state.source.name}")
        return
        yield

    def _parse_section(self, response, state, depth, listing=True):
        if listing:
            self.crawler.stats.inc_value(f"newsmill/listings/{state.source.name}")
        return iter(())

    def _canonical_request(self, canonical, state, depth, page_url):
        return None

    def _error(self, url, state, kind, message):
        """One line naming the file and the record's offset; the errors table keeps it too."""
        where = f"{self.record[0]} at offset {self.record[1]}" if self.record else ""
        what = message if self.record and url == self.record[0] else f"{url}: {message}"
        self.logger.warning("%s: [%s] %s", where, kind, printable(what))
        return FetchError(state.source.name, url, kind, f"{where}: {message}", self._now())

    def _file_error(self, path, state, message) -> FetchError:
        """A file that is no WARC at all: an input of the run that ended as an error (the
        command says so at its end)."""
        self.crawler.stats.inc_value(f"newsmill/pages/{state.source.name}")
        return FetchError(state.source.name, path, "warc", f"{path}: {message}", self._now())

    def _now(self) -> str:
        return now()


__all__ = ["WarcImportSpider"]
