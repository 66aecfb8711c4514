"""The last pipeline: batches articles and errors into the store, keeps each run's record.

A crawl opens one `runs` row per source, marks it `running`, adds to its counters as
batches land, and closes it with a status when the spider closes.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime

from scrapy import signals
from twisted.internet import task

from crawler.items import Article, FetchError, NotModified
from pipelines.database import ArticleStore

logger = logging.getLogger(__name__)

# Kinds of error that are the crawler's choice, not a failure of the source.
POLICY_KINDS = {"robots", "offsite", "ignored"}


class StoragePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        s = crawler.settings
        self.db_path = s.get("NEWSMILL_DB")
        self.batch_size = s.getint("NEWSMILL_STORE_BATCH", 200)
        self.flush_seconds = s.getfloat("NEWSMILL_STORE_FLUSH_SECONDS", 2.0)
        self.near_duplicate_threshold = s.getfloat("NEWSMILL_NEAR_DUPLICATE_THRESHOLD", 0.8)
        self.articles: list[dict] = []
        self.not_modified: list[dict] = []
        self.errors: list[dict] = []
        self.counted: dict = {}  # (source, url): the outcome counted for it in this crawl
        self.failures: Counter = Counter()  # per source, errors that make a run partial
        self.store: ArticleStore | None = None
        self.run_ids: dict[str, int] = {}
        self.flusher = task.LoopingCall(self.flush)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = ArticleStore(self.db_path, self.near_duplicate_threshold)
        for source in self.crawler.spider.sources:
            self.run_ids[source.name] = self.store.start_run(source.name, pid=os.getpid())
        self.stats.set_value("newsmill/run_ids", dict(self.run_ids))
        self.flusher.start(self.flush_seconds, now=False)

    def process_item(self, item):
        if isinstance(item, Article):
            self.articles.append(asdict(item))
        elif isinstance(item, NotModified):
            self.not_modified.append(asdict(item))
        elif isinstance(item, FetchError):
            self.errors.append(asdict(item))
            if item.kind not in POLICY_KINDS:
                self.failures[item.source] += 1
            self.stats.inc_value("newsmill/errors")
        if len(self.articles) + len(self.not_modified) + len(self.errors) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not (self.articles or self.not_modified or self.errors):
            return
        articles, not_modified, errors = self.articles, self.not_modified, self.errors
        self.articles, self.not_modified, self.errors = [], [], []
        outcomes = self.store.save_batch(articles, errors, self.run_ids, not_modified,
                                         self.counted)
        for (_source, outcome), n in outcomes.items():
            self.stats.inc_value(f"newsmill/articles_{outcome}", n)

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
        if self.store is None:
            return
        self._record_limits()
        for source, run_id in self.run_ids.items():
            pages = self.stats.get_value(f"newsmill/pages/{source}", 0)
            if reason != "finished":
                status = "interrupted"
            elif pages == 0 and self.failures[source]:
                status = "failed"
            elif self.failures[source]:
                status = "partial"
            else:
                status = "ok"
            self.store.finish_run(
                run_id, status, pages=pages,
                bytes=self.stats.get_value(f"newsmill/bytes/{source}", 0),
                not_articles=self.stats.get_value(f"newsmill/not_article/{source}", 0),
            )
        self.store.close()
