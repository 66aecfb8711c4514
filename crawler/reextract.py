"""`newsmill reextract`: stored articles extracted again from their archived pages, offline.

A Scrapy crawl of the `reextract` spider (crawler/spiders/reextract.py), which reads each
article's archived page from the WARC archive instead of the network, through the crawl's
settings (`-s` as for `crawl`), its extraction workers (both cores) and a store of its own
(pipelines/reextraction.py): a changed article gets a new version whose predecessor is
marked 're-extraction' in `article_versions.reason`, and is judged again for duplicates.

Resuming: a re-extraction is one `reextractions` row, keyed by what decides its result
(the extraction options, newsmill's version, --source and --since). Run again with the same
key after a kill or Ctrl-C, it goes on from the articles it had not done; once finished,
the same command starts a new one (which finds every article unchanged).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from scrapy.crawler import CrawlerProcess
from scrapy.settings import SETTINGS_PRIORITIES, Settings

from crawler.extensions import logger
from crawler.import_progress import ImportProgress
from crawler.logs import install_crawl_log_handler
from crawler.runner import crawl_settings, tune_garbage_collector
from crawler.sources import Source

STORAGE = "pipelines.storage.StoragePipeline"
REEXTRACTION_STORAGE = "pipelines.reextraction.ReextractionStoragePipeline"


def chosen_sources(db_path: str, source: str | None) -> list[str]:
    """The sources whose articles a re-extraction reads (a run is recorded for each)."""
    from pipelines.database import ArticleStore

    store = ArticleStore(db_path)
    try:
        if source:
            return [source]
        return [r[0] for r in store.db.execute("SELECT DISTINCT source FROM articles ORDER BY source")]
    finally:
        store.close()


def reextract_settings(sources: list[str], db_path: str, source: str | None = None,
                       since: str | None = None, overrides: dict | None = None,
                       log_level: str | None = None) -> Settings:
    """A crawl's settings for these sources, with the re-extraction's spider, store and
    progress, no archive (nothing is fetched) and no time limit."""
    settings = crawl_settings([Source(name=name, urls=(), max_articles=0) for name in sources],
                              db_path, overrides, log_level)
    pipelines = settings.getdict("ITEM_PIPELINES")
    pipelines[REEXTRACTION_STORAGE] = pipelines.pop(STORAGE, 900)
    extensions = settings.getdict("EXTENSIONS")
    extensions.update({"crawler.extensions.CrawlProgress": None,
                       "crawler.reextract.ReextractProgress": 500})
    for name, value in (("ITEM_PIPELINES", pipelines), ("EXTENSIONS", extensions),
                        ("ARCHIVE_ENABLED", False), ("NEWSMILL_REEXTRACT_SOURCE", source or ""),
                        ("NEWSMILL_REEXTRACT_SINCE", since or "")):
        settings.set(name, value, priority="cmdline")
    if "CLOSESPIDER_TIMEOUT" not in (overrides or {}) \
            and settings.getpriority("CLOSESPIDER_TIMEOUT") <= SETTINGS_PRIORITIES["cmdline"]:
        settings.set("CLOSESPIDER_TIMEOUT", 0, priority="cmdline")  # it lasts as the store does
    return settings


def reextraction_key(settings: Settings) -> dict:
    """What decides a re-extraction's result: two runs with the same are one re-extraction."""
    from importlib.metadata import version

    from pipelines.extraction import ExtractionPipeline

    # The options exactly as the extraction workers get them (EXTRACT_* settings).
    options = ExtractionPipeline.from_crawler(SimpleNamespace(settings=settings, stats=None)).options
    return {"extraction": options, "newsmill": version("newsmill"),
            "source": settings.get("NEWSMILL_REEXTRACT_SOURCE") or None,
            "since": settings.get("NEWSMILL_REEXTRACT_SINCE") or None}


def open_reextraction(db_path: str, settings: Settings) -> tuple[int, bool]:
    """The unfinished re-extraction with these settings' key, or a new one: (id, resumed)."""
    from pipelines.storage import open_store
    from pipelines.store_core import utcnow

    options = reextraction_key(settings)
    key = json.dumps(options, sort_keys=True)
    store = open_store(db_path, settings)
    try:
        with store.write() as db:
            row = db.execute("SELECT id FROM reextractions WHERE key = ? AND finished IS NULL "
                             "ORDER BY id DESC LIMIT 1", [key]).fetchone()
            if row is not None:
                return row[0], True
            table = db["reextractions"]
            table.insert({"key": key, "options": json.dumps(options, indent=1), "started": utcnow()})
            return table.last_pk, False
    finally:
        store.close()


@dataclass
class ReextractOutcome:
    """What a re-extraction leaves besides its rows."""

    run_ids: dict[str, int]
    reextraction: int
    resumed: bool
    store_failure: str | None = None
    counts: dict = field(default_factory=dict)


def reextract(db_path: str, source: str | None = None, since: str | None = None,
              overrides: dict | None = None, log_level: str | None = None) -> ReextractOutcome:
    """Re-extract the chosen articles. Blocks until done."""
    from crawler.spiders.reextract import ReextractSpider

    sources = chosen_sources(db_path, source)
    settings = reextract_settings(sources, db_path, source, since, overrides, log_level)
    reextraction, resumed = open_reextraction(db_path, settings)
    settings.set("NEWSMILL_REEXTRACTION", reextraction, priority="cmdline")
    install_crawl_log_handler(settings)
    if resumed:
        logger.info("going on with re-extraction %d, stopped before it finished", reextraction)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ReextractSpider)
    process.crawl(crawler)
    tune_garbage_collector()
    process.start()
    stats = crawler.stats
    return ReextractOutcome(stats.get_value("newsmill/run_ids") or {}, reextraction, resumed,
                            stats.get_value("newsmill/store_failure"))


def summary(db_path: str, outcome: ReextractOutcome, named: int = 20) -> list[str]:
    """Lines for people: how many articles changed, stayed, are missing, failed; the missing
    and failed ones named (the first `named` of each; all are in `errors`)."""
    from pipelines.database import ArticleStore
    from pipelines.reextraction import NOT_ARCHIVED

    run_ids = list(outcome.run_ids.values())
    if not run_ids:
        return []
    store = ArticleStore(db_path)
    try:
        marks = ", ".join("?" * len(run_ids))
        runs = [dict(zip(("pages", "updated", "unchanged", "duplicate", "not_articles", "errors"), r))
                for r in store.db.execute(
                    "SELECT pages, articles_updated, articles_unchanged, articles_duplicate, "
                    f"not_articles, errors FROM runs WHERE id IN ({marks})", run_ids)]
        errors = store.db.execute(f"SELECT kind, url, message FROM errors WHERE run_id IN ({marks}) "
                                  "ORDER BY id", run_ids).fetchall()
    finally:
        store.close()
    total = {k: sum(r[k] for r in runs) for k in runs[0]}
    missing = [e for e in errors if e[0] == NOT_ARCHIVED]
    failed = [e for e in errors if e[0] != NOT_ARCHIVED]
    lines = [f"re-extracted {total['pages']} articles: {total['updated'] + total['duplicate']} "
             f"changed ({total['duplicate']} of them now one article with another), "
             f"{total['unchanged']} unchanged, {total['not_articles']} without an article now "
             f"(kept as stored), {len(missing)} missing from the archive, {len(failed)} errors"
             + (" (this run; it went on with a re-extraction stopped before)"
                if outcome.resumed else "")]
    for what, rows in (("missing from the archive", missing), ("error", failed)):
        for kind, url, message in rows[:named]:
            lines.append(f"{what}: {url}: {message}" if kind == NOT_ARCHIVED
                         else f"{what}: {url}: [{kind}] {message}")
        if len(rows) > named:
            lines.append(f"... and {len(rows) - named} more {what} (the errors table has them all)")
    return lines


class ReextractProgress(ImportProgress):
    """A bar by articles on a terminal (log lines elsewhere, NEWSMILL_PROGRESS as for a crawl)."""

    LABEL = "re-extracting"

    def counts(self) -> dict:
        spider, get = self.spider, self.stats.get_value
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return {"pages": spider.articles_read, "done": spider.articles_read,
                "total": spider.articles_total,
                "articles": get("newsmill/articles_updated", 0) + get("newsmill/articles_duplicate", 0),
                "unchanged": get("newsmill/articles_unchanged", 0),
                "errors": get("newsmill/errors", 0), "rate": spider.articles_read / elapsed}

    def describe(self) -> str:
        c = self.counts()
        return (f"{c['articles']} changed, {c['unchanged']} unchanged, {c['errors']} errors, "
                f"{c['rate']:.1f} articles/s")

    def amount_column(self):
        from rich.progress import MofNCompleteColumn

        return MofNCompleteColumn()

    def tick(self) -> None:
        if self.bar is not None:
            return super().tick()
        c = self.counts()
        logger.info("progress: %d of %d articles read, %s", c["done"], c["total"], self.describe())
