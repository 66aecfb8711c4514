"""Crawl progress: a live bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

logger = logging.getLogger("newsmill.progress")


class CrawlProgress:
    """Shows pages, articles, errors and the page rate while a crawl runs.

    NEWSMILL_PROGRESS: "auto" (bar when stderr is a terminal), "bar", "log" or "off".
    """

    def __init__(self, crawler, mode: str, interval: float):
        self.stats = crawler.stats
        self.mode = mode
        self.interval = interval
        self.started = time.monotonic()
        self.bar = None
        self.loop = task.LoopingCall(self.tick)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        mode = crawler.settings.get("NEWSMILL_PROGRESS", "auto")
        if mode == "off":
            raise NotConfigured
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        interval = crawler.settings.getfloat("NEWSMILL_PROGRESS_INTERVAL", 10.0)
        return cls(crawler, mode, 0.5 if mode == "bar" else interval)

    def counts(self) -> dict:
        get = self.stats.get_value
        pages = get("response_received_count", 0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return {
            "pages": pages,
            "articles": get("newsmill/articles_new", 0) + get("newsmill/articles_updated", 0)
            + get("newsmill/articles_unchanged", 0),
            "errors": get("newsmill/errors", 0),
            "rate": pages / elapsed,
        }

    def describe(self) -> str:
        c = self.counts()
        return (f"{c['pages']} pages, {c['articles']} articles, {c['errors']} errors, "
                f"{c['rate']:.1f} pages/s")

    def spider_opened(self, spider) -> None:
        self.started = time.monotonic()
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("[bold]crawling[/]"),
                                TextColumn("{task.description}"), TimeElapsedColumn(),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task_id = self.bar.add_task(self.describe(), total=None)
        self.loop.start(self.interval, now=False)

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.update(self.task_id, description=self.describe())
        else:
            logger.info("progress: %s", self.describe())

    def spider_closed(self, spider, reason) -> None:
        if self.loop.running:
            self.loop.stop()
        if self.bar is not None:
            self.bar.stop()
        # On a terminal the summary table follows at once and says it all.
        logger.log(logging.DEBUG if self.bar is not None else logging.INFO, "finished (%s): %s",
                   reason, self.describe())
