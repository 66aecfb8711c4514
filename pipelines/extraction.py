"""Where a fetched page becomes an article: trafilatura in a pool of worker processes.

Extraction is CPU-bound, so it never runs on the reactor thread: `ExtractionPipeline`
hands each page to a `ProcessPoolExecutor` and awaits the result, so downloading
goes on while the workers parse. The body travels as bytes and is decoded and parsed
once per page, in the worker (pipelines.extract_worker).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

from scrapy.exceptions import DropItem

from crawler.items import Article, FetchError, Page
from pipelines.extract_worker import extract_article, start_worker

logger = logging.getLogger(__name__)


class ExtractionPipeline:
    """Turns `Page` items into `Article` items in worker processes; drops non-articles."""

    def __init__(self, crawler, workers: int, options: dict, recycle_pages: int = 0):
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = workers
        self.options = options
        self.recycle_pages = recycle_pages
        self.pool: ProcessPoolExecutor | None = None
        self.pool_pages = 0  # pages handed to the current pool
        self.recycling: asyncio.Future | None = None  # set while the pool is being replaced

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        workers = s.getint("EXTRACT_WORKERS") or os.cpu_count() or 1
        options = {
            "favor_precision": s.getbool("EXTRACT_FAVOR_PRECISION"),
            "favor_recall": s.getbool("EXTRACT_FAVOR_RECALL"),
            "include_comments": s.getbool("EXTRACT_INCLUDE_COMMENTS", True),
            "include_tables": s.getbool("EXTRACT_INCLUDE_TABLES", True),
            "min_words": s.getint("EXTRACT_MIN_WORDS", 10),
        }
        return cls(crawler, workers, options, s.getint("EXTRACT_RECYCLE_PAGES", 0))

    def _new_pool(self, warm: bool = False) -> ProcessPoolExecutor:
        # spawn: a forked copy of a running reactor (threads, sockets) is not safe to use.
        # Not max_tasks_per_child: on Python 3.11-3.13 the pool then stops for good once its
        # workers have reached the limit (CPython gh-115634); see _pool_for_next_page.
        self.pool_pages = 0
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker,
            initargs=(os.getpid(), warm),
        )

    async def _pool_for_next_page(self) -> ProcessPoolExecutor:
        """The current pool, replaced by a fresh one every EXTRACT_RECYCLE_PAGES pages.

        Fresh workers bound any slow leak over long runs. The old pool first finishes the
        pages already queued on it, and only then do new workers start, so there is never
        more than one pool in memory; pages that come meanwhile wait for the new pool.
        """
        while self.recycling is not None:
            await self.recycling
        if self.recycle_pages and self.pool_pages >= self.recycle_pages:
            self.recycling = asyncio.get_running_loop().create_future()
            try:
                await asyncio.to_thread(self.pool.shutdown, wait=True)
                self.pool = self._new_pool()
                self.stats.inc_value("newsmill/extraction_pools")
            finally:
                self.recycling.set_result(None)
                self.recycling = None
        self.pool_pages += 1
        return self.pool

    def open_spider(self) -> None:
        if self._first_crawl():
            self.pool = self._new_pool(warm=True)
            self._start_workers()
            logger.info("first crawl of these sources: %d extraction workers started with it",
                        self.workers)
        else:
            self.pool = self._new_pool()

    def _first_crawl(self) -> bool:
        """Whether the store holds no article of this crawl's sources yet.

        A first crawl extracts nearly every page it fetches, so its workers are started
        with the spider, while robots.txt and the listings download, and warmed up (see
        extract_worker.warm_up) before the first page comes. A later crawl of the same
        sources usually finds nothing changed (most of a daemon's crawls): its workers
        start only if a page comes.
        """
        from pipelines.database import KnownUrls

        spider = getattr(self.crawler, "spider", None)
        names = [s.name for s in getattr(spider, "sources", [])]
        known = KnownUrls(self.crawler.settings.get("NEWSMILL_DB"))
        try:
            return bool(names) and not known.holds_articles_of(names)
        finally:
            known.close()

    def _start_workers(self) -> None:
        # ProcessPoolExecutor spawns a worker per submission while none is idle, up to
        # max_workers, and has no call to start them all: one trivial task per worker.
        for _ in range(self.workers):
            self.pool.submit(int)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    async def process_item(self, item):
        if not isinstance(item, Page):
            return item
        html, item.html = item.html, b""  # release the body as soon as it is handed over
        pool = await self._pool_for_next_page()
        try:
            future = pool.submit(extract_article, html, item.url, item.hints, self.options,
                                 item.encoding)
            del html
            result = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start a fresh pool, record the page.
            if pool is self.pool:
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._new_pool()
            return self._error(item, "extraction", "extraction worker died on this page")
        except Exception as exc:  # a bug or a pathological page must not stop the crawl
            logger.warning("extraction failed for %s: %r", item.url, exc)
            return self._error(item, "extraction", f"{type(exc).__name__}: {exc}")
        if "not_article" in result:
            self.stats.inc_value(f"newsmill/not_article/{item.source}")
            raise DropItem(f"not an article: {item.url}: {result['not_article']}", log_level="DEBUG")
        seen = [u for u in dict.fromkeys([item.requested_url, item.url, result["url"]]) if u]
        return Article(source=item.source, fetched_at=item.fetched_at, seen_urls=seen,
                       fetch=item.fetch, **result)

    def _error(self, page: Page, kind: str, message: str) -> FetchError:
        return FetchError(page.source, page.url, kind, message, datetime.now(UTC).isoformat(timespec="seconds"))

