"""Where a fetched page becomes an article: trafilatura in a pool of worker processes.

Extraction is CPU-bound, so it never runs on the reactor thread: `ExtractionPipeline`
hands each page to a `ProcessPoolExecutor` and awaits the result, so downloading
goes on while the workers parse. The body travels as bytes and is decoded and parsed
once per page, in the worker.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

from scrapy.exceptions import DropItem

from crawler.discovery import decode_page
from crawler.items import Article, FetchError, Page
from crawler.urls import same_site
from pipelines.dedup import fingerprints
from pipelines.page_metadata import read_page_metadata

logger = logging.getLogger(__name__)


def extract_article(html: str | bytes, url: str, hints: dict, options: dict,
                    encoding: str | None = None) -> dict:
    """Extract body text and metadata from one page; runs in a worker process.

    `html` may be the raw body with the charset the response declared (None: none): it is
    decoded here (crawler.discovery.decode_page), so the reactor thread neither decodes
    nor pickles a str. Returns the `Article` fields as a dict, or {"not_article": reason}.
    """
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html, normalize_unicode
    from trafilatura.xml import xmltotxt

    if isinstance(html, bytes):
        html = decode_page(html, encoding)
    tree = load_html(html)
    if tree is None:
        return {"not_article": "not parseable as HTML"}
    page = read_page_metadata(tree, url)  # before trafilatura, which prunes the tree
    found = trafilatura_metadata(tree, url, page)
    document = bare_extraction(
        tree,
        url=url,
        with_metadata=False,  # found above, for the fields the page does not declare
        favor_precision=options.get("favor_precision", False),
        favor_recall=options.get("favor_recall", False),
        include_comments=options.get("include_comments", True),
        include_tables=options.get("include_tables", True),
    )
    if document is None or document.body is None:
        return {"not_article": "no main text found"}
    # The same text trafilatura.extract() returns with the same options.
    text = xmltotxt(document.body, False)
    if document.commentsbody is not None:
        text = f"{text}\n{xmltotxt(document.commentsbody, False)}".strip()
    text = normalize_unicode(text)
    words = len(text.split())
    if words < options.get("min_words", 10):
        return {"not_article": f"only {words} words of main text"}

    canonical = page.get("canonical")
    article_url = canonical if canonical and same_site(canonical, url) else url
    tags = page.get("tags") or _clean_list(found.tags)
    # The fingerprints dedup judges by, computed here as they cost CPU (MinHash: ~1 ms).
    text_hash, keys = fingerprints(text)
    return {
        "url": article_url,
        "title": page.get("title") or found.title or hints.get("title"),
        "author": page.get("author") or found.author or hints.get("author"),
        "published": page.get("published") or found.date or hints.get("published"),
        "modified": page.get("modified") or hints.get("modified"),
        "sitename": page.get("sitename") or found.sitename,
        "publisher": page.get("publisher"),
        "description": page.get("description") or found.description,
        "section": page.get("section") or next(iter(_clean_list(found.categories)), None),
        "tags": tags,
        "image": page.get("image") or found.image,
        "language": page.get("language"),
        "text": text,
        "word_count": words,
        "content_hash": text_hash,
        "near_duplicate_keys": keys,
    }


def trafilatura_metadata(tree, url: str, page: dict):
    """trafilatura's metadata for what the page does not declare itself.

    The steps of trafilatura.metadata.extract_metadata, in its order, but each finder only
    runs when `page` (read_page_metadata) lacks its field: on every page trafilatura's pass
    costs ~6 ms, most of it the author search (a deep copy of the tree, ~5 ms), htmldate,
    the category/tag link search and the licence, which newsmill does not store.
    Returns a trafilatura Document; `date` is htmldate's day, like trafilatura's.
    """
    from htmldate import find_date
    from trafilatura.metadata import (
        META_URL,
        examine_meta,
        extract_author,
        extract_catstags,
        extract_meta_json,
        extract_sitename,
        extract_title,
        extract_url,
    )

    def missing(field: str) -> bool:
        return not page.get(field)

    found = examine_meta(tree)  # cheap (<1 ms): trafilatura's reading of the meta tags
    if found.author and " " not in found.author:
        found.author = None
    try:
        found = extract_meta_json(tree, found)
    except Exception as exc:  # as trafilatura does: bugs in its JSON-LD reader are not fatal
        logger.debug("trafilatura JSON-LD reading failed for %s: %r", url, exc)
    if missing("title") and not found.title:
        found.title = extract_title(tree)
    if missing("author") and not found.author:
        found.author = extract_author(tree)
    if missing("published"):
        found.date = find_date(tree, url=url, **_date_search())
    if missing("sitename"):
        if not found.sitename:
            found.sitename = extract_sitename(tree)
        if found.sitename:
            found.sitename = found.sitename.lstrip("@")
            if found.sitename and "." not in found.sitename and not found.sitename[0].isupper():
                found.sitename = found.sitename.title()
        elif match := META_URL.match(found.url or extract_url(tree, url) or url):  # as trafilatura: the declared URL
            found.sitename = match[1]
    if missing("section") and not found.categories:
        found.categories = extract_catstags("category", tree)
    if missing("tags") and not found.tags:
        found.tags = extract_catstags("tag", tree)
    found.clean_and_trim()
    return found


def _date_search() -> dict:
    """htmldate's options as trafilatura sets them (set_date_params), the newest date
    allowed being today in UTC."""
    return {"original_date": True, "extensive_search": True,
            "max_date": datetime.now(UTC).strftime("%Y-%m-%d")}


def _clean_list(values) -> list[str]:
    out: list[str] = []
    for value in values or []:
        for part in re.split(r"\s*[,;]\s*", value or ""):
            if part and part not in out:
                out.append(part)
    return out


def _warm_worker(crawl_pid: int) -> None:
    """Die with the crawl; import trafilatura once per worker, not on the first page."""
    _die_with_parent(crawl_pid)
    import trafilatura  # noqa: F401


def _die_with_parent(crawl_pid: int) -> None:
    """On Linux, ask for SIGKILL when the process that started this worker dies.

    A pool's workers hold their own task queue open, so a crawl killed with SIGKILL
    (which runs no cleanup) would leave them waiting on it for ever.
    """
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    try:
        os.kill(crawl_pid, 0)
    except ProcessLookupError:  # the crawl died before prctl took effect
        os._exit(1)
    except OSError:
        pass


class ExtractionPipeline:
    """Turns `Page` items into `Article` items in worker processes; drops non-articles."""

    def __init__(self, crawler, workers: int, options: dict, recycle_pages: int = 0):
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = workers
        self.options = options
        self.recycle_pages = recycle_pages
        self.pool: ProcessPoolExecutor | None = None
        self.pool_pages = 0  # pages handed to the current pool
        self.recycling: asyncio.Future | None = None  # set while the pool is being replaced

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        workers = s.getint("EXTRACT_WORKERS") or os.cpu_count() or 1
        options = {
            "favor_precision": s.getbool("EXTRACT_FAVOR_PRECISION"),
            "favor_recall": s.getbool("EXTRACT_FAVOR_RECALL"),
            "include_comments": s.getbool("EXTRACT_INCLUDE_COMMENTS", True),
            "include_tables": s.getbool("EXTRACT_INCLUDE_TABLES", True),
            "min_words": s.getint("EXTRACT_MIN_WORDS", 10),
        }
        return cls(crawler, workers, options, s.getint("EXTRACT_RECYCLE_PAGES", 0))

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a forked copy of a running reactor (threads, sockets) is not safe to use.
        # Not max_tasks_per_child: on Python 3.11-3.13 the pool then stops for good once its
        # workers have reached the limit (CPython gh-115634); see _pool_for_next_page.
        self.pool_pages = 0
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_worker,
            initargs=(os.getpid(),),
        )

    async def _pool_for_next_page(self) -> ProcessPoolExecutor:
        """The current pool, replaced by a fresh one every EXTRACT_RECYCLE_PAGES pages.

        Fresh workers bound any slow leak over long runs. The old pool first finishes the
        pages already queued on it, and only then do new workers start, so there is never
        more than one pool in memory; pages that come meanwhile wait for the new pool.
        """
        while self.recycling is not None:
            await self.recycling
        if self.recycle_pages and self.pool_pages >= self.recycle_pages:
            self.recycling = asyncio.get_running_loop().create_future()
            try:
                await asyncio.to_thread(self.pool.shutdown, wait=True)
                self.pool = self._new_pool()
                self.stats.inc_value("newsmill/extraction_pools")
            finally:
                self.recycling.set_result(None)
                self.recycling = None
        self.pool_pages += 1
        return self.pool

    def open_spider(self) -> None:
        self.pool = self._new_pool()

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    async def process_item(self, item):
        if not isinstance(item, Page):
            return item
        html, item.html = item.html, b""  # release the body as soon as it is handed over
        pool = await self._pool_for_next_page()
        try:
            future = pool.submit(extract_article, html, item.url, item.hints, self.options,
                                 item.encoding)
            del html
            result = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start a fresh pool, record the page.
            if pool is self.pool:
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._new_pool()
            return self._error(item, "extraction", "extraction worker died on this page")
        except Exception as exc:  # a bug or a pathological page must not stop the crawl
            logger.warning("extraction failed for %s: %r", item.url, exc)
            return self._error(item, "extraction", f"{type(exc).__name__}: {exc}")
        if "not_article" in result:
            self.stats.inc_value(f"newsmill/not_article/{item.source}")
            raise DropItem(f"not an article: {item.url}: {result['not_article']}", log_level="DEBUG")
        seen = [u for u in dict.fromkeys([item.requested_url, item.url, result["url"]]) if u]
        return Article(source=item.source, fetched_at=item.fetched_at, seen_urls=seen,
                       fetch=item.fetch, **result)

    def _error(self, page: Page, kind: str, message: str) -> FetchError:
        return FetchError(page.source, page.url, kind, message, datetime.now(UTC).isoformat(timespec="seconds"))

