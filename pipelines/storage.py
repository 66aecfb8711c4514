"""The last pipeline: batches articles and errors into the store, keeps each run's record.

A crawl opens one `runs` row per source, marks it `running`, adds to its counters as
batches land, and closes it with a status when the spider closes.

When the store cannot take a write (disk full, locked for too long, read-only), the
crawl stops at once with the close reason `store_failed`: fetching on would only lose
more. What happened, and what to do, is left in the stat `newsmill/store_failure`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from datetime import UTC, datetime

from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from pipelines.database import ArticleStore, StoreError, StoreWriteError
from pipelines.items import Article, FetchError, NotModified, UnchangedListing

logger = logging.getLogger(__name__)


def fields_of(item) -> dict:
    """An item's fields as the dict the store takes. Shallow: dataclasses.asdict copies
    every list and dict inside (seen URLs, tags, keys, the fetch record): 38 against 2 µs
    per article on the reactor thread, and the item is not used after the store has it."""
    return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}


# Kinds of error that are the crawler's choice, not a failure of the source.
POLICY_KINDS = {"robots", "offsite", "ignored"}
STORE_FAILED = "store_failed"  # the close reason when the store cannot be written


def open_store(path: str, settings) -> ArticleStore:
    """The store at `path`, with the busy timeout and size cap the settings give."""
    return ArticleStore(path, busy_timeout=settings.getfloat("NEWSMILL_DB_BUSY_TIMEOUT", 30.0),
                        max_pages=settings.getint("NEWSMILL_DB_MAX_PAGES", 0),
                        near_duplicate_threshold=settings.getfloat("NEWSMILL_NEAR_DUPLICATE_THRESHOLD", 0.8))


class StoragePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        s = crawler.settings
        self.db_path = s.get("NEWSMILL_DB")
        self.batch_size = s.getint("NEWSMILL_STORE_BATCH", 200)
        self.flush_seconds = s.getfloat("NEWSMILL_STORE_FLUSH_SECONDS", 2.0)
        self.articles: list[dict] = []
        self.not_modified: list[dict] = []
        self.errors: list[dict] = []
        self.counted: dict = {}  # (source, url): the outcome counted for it in this crawl
        self.store: ArticleStore | None = None
        self.opened = False  # somewhere to put batches (the store, or OutboxPipeline's Redis)
        self.run_ids: dict[str, int] = {}
        self.store_failure: StoreError | None = None
        self.unsaved = 0  # articles and errors dropped after the store failed
        self.flusher = task.LoopingCall(self.flush)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        try:
            self._open_runs()
        except StoreError as exc:
            self._fail(exc, close=False)  # Scrapy closes the spider it has not opened yet
            raise CloseSpider(STORE_FAILED) from exc
        finally:
            self.stats.set_value("newsmill/run_ids", dict(self.run_ids))
        self.flusher.start(self.flush_seconds, now=False)

    def _open_runs(self) -> None:
        """Open the store and a `running` run per source."""
        self.store = open_store(self.db_path, self.crawler.settings)
        self.opened = True
        for run in self.store.mark_orphaned_runs():
            logger.warning("run %d of source %r (pid %d) ended without finishing (killed or "
                           "crashed); marked interrupted", run["id"], run["source"], run["pid"])
        for source in self.crawler.spider.sources:
            self.run_ids[source.name] = self.store.start_run(source.name, pid=os.getpid())

    def _fail(self, exc: StoreError, close: bool = True) -> None:
        """Remember the first store failure, in words for people, and stop the crawl."""
        if self.store_failure is not None:
            return
        self.store_failure = exc
        stored = sum(self.stats.get_value(f"newsmill/articles_{o}", 0) for o in ("new", "updated"))
        if isinstance(exc, StoreWriteError):
            message = (f"{self.db_path}: {exc.what}: {stored} new or updated articles were "
                       f"stored before; {exc.advice}")
        else:
            message = str(exc)
        self.stats.set_value("newsmill/store_failure", message)
        logger.error("cannot write to the store, stopping the crawl: %s", message)
        if close:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=STORE_FAILED))

    def process_item(self, item):
        if self.store_failure is not None:  # nowhere to put it: the crawl is stopping
            self.unsaved += 1
            return item
        if isinstance(item, Article):
            self.articles.append(fields_of(item))
        elif isinstance(item, NotModified):
            self.not_modified.append(fields_of(item))
        elif isinstance(item, UnchangedListing):
            self.not_modified.extend({"source": item.source, "url": url, "at": item.at,
                                      "skipped": True, "lastmod": None} for url in item.urls)
        elif isinstance(item, FetchError):
            self.errors.append(fields_of(item))
            if item.kind not in POLICY_KINDS:
                # Errors that make a run partial; and something to read again next time: no
                # listing of the source is skipped by a 304 then (ConditionalListingsMiddleware).
                self.stats.inc_value(f"newsmill/failures/{item.source}")
            self.stats.inc_value("newsmill/errors")
        if len(self.articles) + len(self.not_modified) + len(self.errors) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        self._index_archive()
        if not (self.articles or self.not_modified or self.errors):
            return
        articles, not_modified, errors = self.articles, self.not_modified, self.errors
        self.articles, self.not_modified, self.errors = [], [], []
        if not self.opened or self.store_failure is not None:
            self.unsaved += len(articles) + len(not_modified) + len(errors)
            return
        try:
            outcomes = self._save(articles, errors, not_modified)
        except StoreError as exc:
            self.unsaved += len(articles) + len(not_modified) + len(errors)
            self._fail(exc)
            return
        for (_source, outcome), n in outcomes.items():
            self.stats.inc_value(f"newsmill/articles_{outcome}", n)

    def _index_archive(self, wait: float = 0.0) -> None:
        """Where the crawl's archive put its records (crawler/archive.py), into
        archived_pages; `wait`: seconds to wait for records still being written. Not in
        `newsmill worker`, which has no store: its archive is on its own machine."""
        archive = getattr(self.crawler, "warc_archive", None)
        if archive is None or self.store is None or self.store_failure is not None:
            return
        from pipelines.archive_index import record_archived_pages

        try:
            record_archived_pages(self.store, archive.written(wait))
        except StoreError as exc:
            self._fail(exc)

    def _save(self, articles: list[dict], errors: list[dict], not_modified: list[dict]) -> dict:
        """Write a batch; {(source, outcome): count}."""
        return self.store.save_batch(articles, errors, self.run_ids, not_modified, self.counted)

    def close_spider(self) -> None:
        if self.flusher.running:
            self.flusher.stop()
        self.flush()

    def _record_limits(self) -> None:
        """One `limit` error per source whose run hit its time or request budget."""
        for source in self.run_ids:
            dropped = self.stats.get_value(f"newsmill/limit/{source}", 0)
            if dropped:
                why = self.stats.get_value(f"newsmill/limit_reason/{source}")
                self.process_item(FetchError(source, "", "limit", f"{why}: {dropped} requests not made",
                                             datetime.now(UTC).isoformat(timespec="seconds")))
        self.flush()

    def spider_closed(self, spider, reason: str) -> None:
        """Give every run its final counters and status; `reason` is Scrapy's close reason."""
        if not self.opened:
            return
        self._record_limits()
        self._index_archive(wait=60.0)
        if self.unsaved:
            logger.error("%d articles and errors fetched in this run were not stored", self.unsaved)
        try:
            self._finish_runs(reason)
        except StoreError as exc:  # the run stays `running`; the next open marks it interrupted
            logger.error("could not record how the runs ended: %s", exc)
        if self.store is not None:
            self.store.close()

    def _finish_runs(self, reason: str) -> None:
        for source, summary in self.run_summaries(reason).items():
            status = summary.pop("status")
            self.store.finish_run(self.run_ids[source], status, **summary)

    def run_summaries(self, reason: str) -> dict[str, dict]:
        """Each source's run as it ended: its status and counters. `reason` is Scrapy's
        close reason."""
        summaries = {}
        for source in self.run_ids:
            pages = self.stats.get_value(f"newsmill/pages/{source}", 0)
            answered = self.stats.get_value(f"newsmill/answered/{source}", 0)
            failures = self.stats.get_value(f"newsmill/failures/{source}", 0)
            if reason == STORE_FAILED or self.store_failure is not None:
                status = "failed"
            elif reason != "finished":
                status = "interrupted"
            elif answered == 0 and failures:
                status = "failed"
            elif failures:
                status = "partial"
            else:
                status = "ok"
            summaries[source] = {
                "status": status, "pages": pages,
                "bytes": self.stats.get_value(f"newsmill/bytes/{source}", 0),
                "not_articles": self.stats.get_value(f"newsmill/not_article/{source}", 0),
                "listings": self.stats.get_value(f"newsmill/listings/{source}", 0),
            }
        return summaries
