"""Where a fetched page becomes an article: trafilatura in worker processes.

Extraction is CPU-bound, so it never runs on the reactor thread: `ExtractionPipeline`
hands each page to a worker (pipelines.extract_pool) and awaits the result, so
downloading goes on while the workers parse. The body travels as bytes and is decoded
and parsed once per page, in the worker (pipelines.extract_worker).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from scrapy.exceptions import DropItem

from pipelines.extract_pool import ExtractionPool, TaskTimedOut, WorkerDied
from pipelines.items import Article, FetchError, Page
from pipelines.urls import same_site

logger = logging.getLogger(__name__)

# EXTRACT_ENGINE's values: newsmill's text (pipelines.article_text) or plain trafilatura's.
ENGINES = ("newsmill", "trafilatura")

# The worker's option for each bound on a metadata field (pipelines.field_bounds).
FIELD_BOUND_SETTINGS = {
    "max_title_chars": "EXTRACT_MAX_TITLE_CHARS",
    "max_author_chars": "EXTRACT_MAX_AUTHOR_CHARS",
    "max_description_chars": "EXTRACT_MAX_DESCRIPTION_CHARS",
    "max_section_chars": "EXTRACT_MAX_SECTION_CHARS",
    "max_name_chars": "EXTRACT_MAX_NAME_CHARS",
    "max_tag_chars": "EXTRACT_MAX_TAG_CHARS",
    "max_tags": "EXTRACT_MAX_TAGS",
    "max_image_url_chars": "EXTRACT_MAX_IMAGE_URL_CHARS",
}


def original_claim(url: str, canonical: str | None, declares_article: bool,
                   publisher_url: str | None, publisher_is_site_name: bool) -> int:
    """How strongly a page declares itself the original of its text (`claims_original`).

    One point each for naming a page of its own site with rel=canonical, declaring itself
    an article (og:type or JSON-LD), and naming its own site as publisher (the JSON-LD
    publisher's address on this site, or its name being the page's og:site_name); -1 when
    its rel=canonical names another site's page: the page says it is a copy. The store
    compares it when two pages share a text and their dates do not tell which came first.
    """
    if canonical and not same_site(canonical, url):
        return -1
    own_publisher = publisher_is_site_name or bool(publisher_url and same_site(publisher_url, url))
    return int(bool(canonical)) + int(declares_article) + int(own_publisher)


class ExtractionPipeline:
    """Turns `Page` items into `Article` items in worker processes; drops non-articles."""

    def __init__(self, crawler, workers: int, options: dict, recycle_pages: int = 0,
                 timeout: float = 0.0):
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = workers
        self.options = options
        self.recycle_pages = recycle_pages
        self.timeout = timeout
        self.pool: ExtractionPool | None = None
        # A long-lived crawl worker (crawler/worker.py) hands its crawls one pool it owns.
        self.shared_pool: ExtractionPool | None = getattr(crawler, "extraction_pool", None)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        workers = s.getint("EXTRACT_WORKERS") or os.cpu_count() or 1
        engine = s.get("EXTRACT_ENGINE") or "newsmill"
        if engine not in ENGINES:  # a typo must not quietly change what is stored
            raise ValueError(f"EXTRACT_ENGINE must be one of {', '.join(ENGINES)}, not {engine!r}")
        comments = s.get("EXTRACT_INCLUDE_COMMENTS")
        options = {
            "engine": engine,
            "favor_precision": s.getbool("EXTRACT_FAVOR_PRECISION"),
            "favor_recall": s.getbool("EXTRACT_FAVOR_RECALL"),
            # None: the engine's default (trafilatura keeps comments, newsmill does not)
            "include_comments": engine == "trafilatura" if comments in (None, "", "None", "none")
            else s.getbool("EXTRACT_INCLUDE_COMMENTS"),
            "include_tables": s.getbool("EXTRACT_INCLUDE_TABLES", True),
            "min_words": s.getint("EXTRACT_MIN_WORDS", 10),
            **{option: s.getint(setting) for option, setting in FIELD_BOUND_SETTINGS.items()},
        }
        return cls(crawler, workers, options, s.getint("EXTRACT_RECYCLE_PAGES", 0),
                   s.getfloat("EXTRACT_TIMEOUT", 0.0))

    def open_spider(self) -> None:
        # Each worker is replaced after EXTRACT_RECYCLE_PAGES pages, bounding any slow leak
        # over long runs; not Python's max_tasks_per_child, with which a pool stopped for
        # good once its workers reached the limit (CPython gh-115634).
        self.pool = self.shared_pool or ExtractionPool(self.workers, self.recycle_pages, self.timeout)
        spider = getattr(self.crawler, "spider", None)
        every_page = getattr(spider, "extracts_every_page", False)  # import-warc, reextract
        if (every_page or self._first_crawl()) and len(self.pool.workers) < self.pool.size:
            self.pool.start(warm=True)
            logger.debug("%d extraction workers started with the spider (a first crawl, or an import)",
                        self.workers)

    def _first_crawl(self) -> bool:
        """Whether the store holds no article of this crawl's sources yet.

        A first crawl extracts nearly every page it fetches, so its workers are started
        with the spider, while robots.txt and the listings download, and warmed up (see
        extract_worker.warm_up) before the first page comes. A later crawl of the same
        sources usually finds nothing changed (most of a daemon's crawls): its workers
        start only if a page comes.
        """
        from scrapy.utils.misc import load_object

        from pipelines.database import KnownUrls

        spider = getattr(self.crawler, "spider", None)
        names = [s.name for s in getattr(spider, "sources", [])]
        store_lookup = load_object(self.crawler.settings["NEWSMILL_STORE_LOOKUP"])
        known = store_lookup(KnownUrls, self.crawler.settings)
        try:
            return bool(names) and not known.holds_articles_of(names)
        finally:
            known.close()

    def close_spider(self) -> None:
        if self.pool is not None and self.pool is not self.shared_pool:
            self.stats.inc_value("newsmill/extraction_workers_replaced", self.pool.replaced)
            self.pool.close()
        self.pool = None

    async def process_item(self, item):
        if not isinstance(item, Page):
            return item
        # Imported at the first page, not with the pipeline: the worker's module brings lxml,
        # charset_normalizer and newsmill's text and metadata readers (~25 ms of CPU), which
        # a re-crawl that finds nothing changed never uses.
        from pipelines.extract_worker import extract_article

        html, item.html = item.html, b""  # release the body as soon as it is handed over
        try:
            future = self.pool.submit(extract_article, html, item.url, item.hints, self.options,
                                      item.encoding, item.declared, item.mostly_links, item.judge,
                                      item.stored_hash)
            del html
            result = await future
        except TaskTimedOut as exc:
            # A page made to be slow to read (or a bug) must not hold a worker for ever.
            self.stats.inc_value("newsmill/extraction_timeouts")
            logger.warning("extraction of %s stopped: %s (EXTRACT_TIMEOUT)", item.url, exc)
            return self._error(item, "extraction", f"extraction took too long (EXTRACT_TIMEOUT): {exc}")
        except WorkerDied:
            # Killed, out of memory: the pool starts another worker; the page is recorded.
            return self._error(item, "extraction", "extraction worker died on this page")
        except Exception as exc:  # a bug or a pathological page must not stop the crawl
            logger.warning("extraction failed for %s: %r", item.url, exc)
            return self._error(item, "extraction", f"{type(exc).__name__}: {exc}")
        if "listing" in result:
            # Judged in the worker (Page.judge) as the spider judges a section page: counted
            # as the crawl counts one, so the page still ends in one outcome of its run.
            self.stats.inc_value(f"newsmill/listings/{item.source}")
            raise DropItem(f"a listing: {item.url}: {result['listing']}", log_level="DEBUG")
        if "not_article" in result:
            self.stats.inc_value(f"newsmill/not_article/{item.source}")
            raise DropItem(f"not an article: {item.url}: {result['not_article']}", log_level="DEBUG")
        if cuts := result.pop("cut"):
            self.stats.inc_value("newsmill/fields_cut")
            logger.info("fields of %s cut to their bounds (EXTRACT_MAX_*): %s", item.url,
                        "; ".join(f"{field}: {what}" for field, what in cuts.items()))
        canonical = result.pop("canonical")
        # Judged here: the registered domain needs tldextract and its suffix list, ~0.1 s of
        # CPU that every worker would spend at its start.
        if canonical and same_site(canonical, item.url):
            result["url"] = canonical
        result["claims_original"] = original_claim(
            item.url, canonical, result.pop("declares_article"), result.pop("publisher_url"),
            result.pop("publisher_is_site_name"))
        seen = [u for u in dict.fromkeys([item.requested_url, item.url, result["url"]]) if u]
        return Article(source=item.source, fetched_at=item.fetched_at, seen_urls=seen,
                       fetch=item.fetch, **result)

    def _error(self, page: Page, kind: str, message: str) -> FetchError:
        return FetchError(page.source, page.url, kind, message, datetime.now(UTC).isoformat(timespec="seconds"))

