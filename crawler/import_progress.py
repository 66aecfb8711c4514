"""`newsmill import-warc`'s progress: a bar by bytes of the files on a terminal, periodic
log lines elsewhere (NEWSMILL_PROGRESS, as for a crawl)."""

from __future__ import annotations

import time

from crawler.extensions import CrawlProgress, logger


class ImportProgress(CrawlProgress):
    """How far into the WARC files the import has read, with pages, articles and errors."""

    LABEL = "importing"

    def amount_column(self):
        """How much of the total is done, as the bar shows it: bytes here."""
        from rich.progress import DownloadColumn

        return DownloadColumn()

    def counts(self) -> dict:
        """A crawl's counts, with the pages read from the files (no response is received)
        and how many of the files' bytes are read."""
        spider = self.spider
        pages = sum(self.stats.get_value(f"newsmill/pages/{s.name}", 0) for s in spider.sources)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return {**super().counts(), "pages": pages, "rate": pages / elapsed,
                "done": spider.bytes_read(), "total": spider.total_bytes}

    def spider_opened(self, spider) -> None:
        self.spider = spider
        self.started = time.monotonic()
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(f"[bold]{self.LABEL}[/]"), BarColumn(), self.amount_column(),
                                TimeRemainingColumn(), TextColumn("{task.description}"),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task_id = self.bar.add_task(self.describe(), total=None)
        self.loop.start(self.interval, now=False)

    def tick(self) -> None:
        c = self.counts()
        if self.bar is not None:
            self.bar.update(self.task_id, description=self.describe(), completed=c["done"],
                            total=c["total"] or None)
        else:
            share = f" ({c['done'] / c['total']:.0%})" if c["total"] else ""
            logger.info("progress: %.1f of %.1f MB read%s, %s", c["done"] / 1e6, c["total"] / 1e6,
                        share, self.describe())
