"""Running one crawl in this process: settings assembled once, then Scrapy's CrawlerProcess."""

from __future__ import annotations

from dataclasses import dataclass

# Imported here, before the reactor runs, though Scrapy would import it when the crawl
# starts: the module defines deprecated aliases (scrapy.utils.deprecate), each of which calls
# inspect.stack(), reading the source of every frame on the stack. From inside the running
# reactor (some 50 frames deep) that cost ~0.1 s of every crawl's start; here, ~0.05 s.
import scrapy.core.downloader.handlers.http11  # noqa: F401
from scrapy.crawler import CrawlerProcess
from scrapy.settings import SETTINGS_PRIORITIES, Settings

from crawler.logs import install_crawl_log_handler
from crawler.sources import Source, parse_duration


def crawl_settings(sources: list[Source], db_path: str, overrides: dict | None = None,
                   log_level: str | None = None) -> Settings:
    """newsmill's settings module, the run's sources and database, then -s overrides."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NEWSMILL_SOURCES", [s.to_dict() for s in sources], priority="cmdline")
    settings.set("NEWSMILL_DB", db_path, priority="cmdline")
    if log_level is not None:  # else LOG_LEVEL for newsmill's lines, NEWSMILL_LOG_LIBRARIES
        settings.set("LOG_LEVEL", log_level.upper(), priority="cmdline")
        settings.set("NEWSMILL_LOG_LIBRARIES", log_level.upper(), priority="cmdline")
    # crawler/logs.py installs the root handler that decides what people see.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    # Scrapy imports an extension's module to learn that it is off: RemoteControl's imports
    # aiohttp (~0.15 s of every crawl's start), TelnetConsole's Twisted's conch (~0.03 s).
    # Left out of Scrapy's own base list while off, they are never imported.
    off = tuple(name for name, setting in ((".RemoteControl", "REMOTE_CONTROL_ENABLED"),
                                           (".TelnetConsole", "TELNETCONSOLE_ENABLED"))
                if not settings.getbool(setting))
    base = settings.getdict("EXTENSIONS_BASE")
    settings.set("EXTENSIONS_BASE", {k: v for k, v in base.items() if not k.endswith(off)},
                 priority="project")
    if not settings.getbool("COOKIES_ENABLED"):
        # Likewise CookiesMiddleware's module, which imports tldextract (and with it requests
        # and urllib3): ~35 ms of every crawl's start, off as newsmill's default is.
        base = settings.getdict("DOWNLOADER_MIDDLEWARES_BASE")
        settings.set("DOWNLOADER_MIDDLEWARES_BASE",
                     {k: v for k, v in base.items() if not k.endswith(".CookiesMiddleware")},
                     priority="project")
    if settings.getpriority("CLOSESPIDER_TIMEOUT") < SETTINGS_PRIORITIES["cmdline"]:
        # A hard stop behind the per-source budgets: requests already queued in a download
        # slot can each still take DOWNLOAD_TIMEOUT after their source's time is up.
        default = settings.getfloat("NEWSMILL_SOURCE_TIMEOUT")
        longest = max((parse_duration(s.timeout) if s.timeout else default) for s in sources)
        settings.set("CLOSESPIDER_TIMEOUT", longest + 2 * settings.getfloat("DOWNLOAD_TIMEOUT"),
                     priority="cmdline")
    return settings


def tune_garbage_collector() -> None:
    """Keep what is set up out of Python's cyclic garbage collections, and collect less often.

    By default a collection starts every 700 new container objects, and every tenth of
    those ten walks every object alive: Scrapy's, Twisted's and every module's included. In a
    2000-page crawl that was ~0.4 s of the crawl process's CPU (~5%); with what exists now
    frozen (gc.freeze) and a collection every 10,000 new objects, ~0.08 s. What a crawl
    leaves for the collector (cycles through Deferreds and failures) is still collected.
    The extraction workers do the same once ready (extract_worker.start_worker).
    """
    import gc

    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@dataclass
class CrawlOutcome:
    """What a crawl leaves besides its rows: its run ids, and why the store failed if it did."""

    run_ids: dict[str, int]
    store_failure: str | None = None


def crawl_once(sources: list[Source], db_path: str, overrides: dict | None = None,
               log_level: str | None = None) -> CrawlOutcome:
    """Crawl the sources once. Blocks until done."""
    from crawler.spiders.articles import ArticlesSpider

    settings = crawl_settings(sources, db_path, overrides, log_level)
    install_crawl_log_handler(settings)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ArticlesSpider)
    process.crawl(crawler)
    tune_garbage_collector()
    process.start()
    return CrawlOutcome(crawler.stats.get_value("newsmill/run_ids") or {},
                        crawler.stats.get_value("newsmill/store_failure"))


def run_crawl(sources: list[Source], db_path: str, overrides: dict | None = None,
              log_level: str | None = None) -> dict[str, int]:
    """Crawl the sources once; returns {source name: run id}. Blocks until done."""
    return crawl_once(sources, db_path, overrides, log_level).run_ids
