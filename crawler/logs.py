"""What a crawl writes to the terminal or the daemon's log: what a person needs, at each level.

Scrapy, left to itself, opens every crawl with its versions, settings and component lists,
logs a failed download up to three times (each retry's give-up, the robots.txt middleware's
error with its traceback) and names no error kind. newsmill logs each failed URL once, with
its kind (crawler/spiders/articles.py), and installs its own root handler here (Scrapy's
LOG_INSTALL_ROOT_HANDLER switched off, as Scrapy's logging docs suggest for custom set-ups)
so that one filter decides what reaches people:

- the default (no --log-level): newsmill's own lines from INFO up (progress, one line per
  failed URL), Scrapy's and Twisted's from WARNING up;
- --log-level INFO: Scrapy's start-up listing and INFO lines too;
- at every level but DEBUG: no traceback for a download that failed (the robots.txt
  middleware's), since its URL's failure is already logged once as a line of its own.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

# Loggers of the libraries whose INFO lines are left out by default.
LIBRARY_LOGGERS = ("scrapy", "twisted", "py.warnings", "protego", "trafilatura", "htmldate")
# Loggers whose download errors (with a traceback) say again what newsmill's own line says.
DOWNLOAD_ERROR_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt",)


class CrawlLogFilter(logging.Filter):
    """Leaves out the libraries' lines below `library_level`, and repeated download errors."""

    def __init__(self, library_level: int, show_tracebacks: bool):
        super().__init__()
        self.library_level = library_level
        self.show_tracebacks = show_tracebacks

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if record.levelno < self.library_level and name.startswith(LIBRARY_LOGGERS):
            return False
        if not self.show_tracebacks and record.exc_info and name in DOWNLOAD_ERROR_LOGGERS:
            return False
        return True


class CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time: while the progress bar shows, rich
    redirects it so that a line prints above the bar instead of through it."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def install_crawl_log_handler(settings) -> logging.Handler:
    """The root handler for a crawl run by `newsmill crawl`, built from Scrapy's LOG_* settings.

    NEWSMILL_LOG_LIBRARIES is the level from which Scrapy's and Twisted's own lines show.
    """
    level = logging.getLevelName(settings.get("LOG_LEVEL").upper())
    library_level = logging.getLevelName(
        (settings.get("NEWSMILL_LOG_LIBRARIES") or settings.get("LOG_LEVEL")).upper())
    if settings.get("LOG_FILE"):
        handler: logging.Handler = logging.FileHandler(
            settings.get("LOG_FILE"), mode="a" if settings.getbool("LOG_FILE_APPEND") else "w",
            encoding=settings.get("LOG_ENCODING"))
    elif settings.getbool("LOG_ENABLED"):
        handler = CurrentStderrHandler()
    else:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
    handler.setLevel(level)
    handler.addFilter(CrawlLogFilter(max(level, library_level), show_tracebacks=level <= logging.DEBUG))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "newsmill_crawl", False)]:
        root.removeHandler(old)
    handler.newsmill_crawl = True
    root.addHandler(handler)
    root.setLevel(logging.NOTSET)
    return handler


def configure_logging(level: str = "INFO", log_file: str | None = None) -> None:
    """The long-running commands' log (`newsmill daemon`, `newsmill store`): one line per event
    to stderr and, with --log-file, to a rotating file."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # The daemon logs skipped starts in its own words; APScheduler's INFO lines are noise.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
