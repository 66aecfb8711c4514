"""`newsmill import-warc`: WARC files someone else crawled, stored as one run of a source.

The import is a Scrapy crawl of the `warc_import` spider (crawler/spiders/warc_import.py),
which reads the files instead of the network, through the crawl's own settings, item
pipelines and run record: what is stored, counted and de-duplicated is what a crawl of the
same pages would store, count and de-duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scrapy.crawler import CrawlerProcess
from scrapy.settings import SETTINGS_PRIORITIES, Settings

from crawler.logs import install_crawl_log_handler
from crawler.runner import crawl_settings, tune_garbage_collector
from crawler.sources import Source


def import_source(name: str) -> Source:
    """The source the import's run is recorded under: a name, no URL to crawl."""
    return Source(name=name, urls=(), max_articles=0)


def import_settings(source_name: str, db_path: str, overrides: dict | None = None,
                    log_level: str | None = None) -> Settings:
    """A crawl's settings, with the import's progress display and no time limit."""
    settings = crawl_settings([import_source(source_name)], db_path, overrides, log_level)
    extensions = settings.getdict("EXTENSIONS")
    extensions.update({"crawler.extensions.CrawlProgress": None,
                       "crawler.import_progress.ImportProgress": 500})
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    if settings.getpriority("CLOSESPIDER_TIMEOUT") <= SETTINGS_PRIORITIES["cmdline"] \
            and "CLOSESPIDER_TIMEOUT" not in (overrides or {}):
        # A crawl's hard stop is its sources' time budget; an import lasts as its files do.
        settings.set("CLOSESPIDER_TIMEOUT", 0, priority="cmdline")
    return settings


@dataclass
class ImportOutcome:
    """What an import leaves besides its rows: its run id, each file's counts, and why the
    store failed if it did."""

    run_ids: dict[str, int]
    files: list = field(default_factory=list)  # crawler.warc_input.FileCounts, in order
    store_failure: str | None = None


def import_files(files: list[str], source_name: str, db_path: str, overrides: dict | None = None,
                 log_level: str | None = None) -> ImportOutcome:
    """Import the files into the store. Blocks until done."""
    from crawler.spiders.warc_import import WarcImportSpider

    settings = import_settings(source_name, db_path, overrides, log_level)
    install_crawl_log_handler(settings)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(WarcImportSpider)
    process.crawl(crawler, files=list(files))
    tune_garbage_collector()
    process.start()
    stats = crawler.stats
    return ImportOutcome(stats.get_value("newsmill/run_ids") or {},
                         stats.get_value("newsmill/warc_files") or [],
                         stats.get_value("newsmill/store_failure"))
