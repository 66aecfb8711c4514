"""Running one crawl in this process: settings assembled once, then Scrapy's CrawlerProcess."""

from __future__ import annotations

import sys
from dataclasses import dataclass


def _import_download_handler() -> type:
    """Scrapy's HTTP/1.1 download handler, imported without its deprecation shims' stack walk.

    Imported here, before the reactor runs, though Scrapy would import it when the crawl
    starts: the TLS modules it imports (scrapy.core.downloader.tls, contextfactory) define
    deprecated aliases with scrapy.utils.deprecate.create_deprecated_class, which calls
    inspect.stack() and inspect.getmodule() only to name the module of the frame that
    called it. inspect.stack() reads the source lines of every frame on the stack, and
    inspect.getmodule() finds a frame's module by walking every loaded module's file: ~50 ms
    of CPU at every crawl's and every worker's start, a tenth of re-crawling an unchanged
    site (benchmarks/README.md). For this one import, inspect.stack gives the frames without
    their source (as inspect.stack(0) does, without its look-ups) and a frame's module is
    the one its globals name; the aliases' modules come out the same. Nothing else runs
    meanwhile: it happens once, as the module is imported.
    """
    import inspect

    stack, getmodule = inspect.stack, inspect.getmodule

    def frames(context: int = 1) -> list:
        frame, found = sys._getframe(1), []
        while frame is not None:
            code = frame.f_code
            found.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno,
                                           code.co_name, None, None))
            frame = frame.f_back
        return found

    def module_of(thing, _filename=None):
        if inspect.isframe(thing):
            return sys.modules.get(thing.f_globals.get("__name__"))
        return getmodule(thing, _filename)

    inspect.stack, inspect.getmodule = frames, module_of
    try:
        from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
    finally:
        inspect.stack, inspect.getmodule = stack, getmodule
    return HTTP11DownloadHandler


HTTP11DownloadHandler = _import_download_handler()

from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.settings import SETTINGS_PRIORITIES, Settings  # noqa: E402

from crawler.logs import install_crawl_log_handler  # noqa: E402
from crawler.sources import Source, parse_duration  # noqa: E402


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
