"""The `reextract` spider: stored articles' archived pages instead of the network.

For each stored article chosen (by id, in order, from where an earlier run of the same
re-extraction stopped), the newest archived response of its own page (`archived_pages`:
file, offset) is read with warcio (crawler/warc_input.py, as import-warc reads a record)
and handed to the crawl's item pipelines as the page a crawl would have fetched, tagged
with the article's id: the extraction workers extract it with the settings of this run,
and the re-extraction's store (pipelines/reextraction.py) writes what changed.

An article with no archived page, or whose page cannot be read, is an error item naming
it; nothing is fetched. Back-pressure is import-warc's (WarcImportSpider).
"""

from __future__ import annotations

import asyncio
import sqlite3

from crawler import discovery
from crawler.spiders.warc_import import WarcImportSpider
from crawler.warc_input import HttpResponse, WarcReader
from pipelines.archive_index import archive_path
from pipelines.items import FetchError, Page
from pipelines.reextraction import NOT_ARCHIVED

CHUNK = 500  # articles read from the store at a time

# The article's newest archived 2xx response of one of its own pages (its URL, or a URL it
# was fetched under: not a copy's), its own URL first.
PAGE = """SELECT p.url, p.file, p."offset", p.fetched FROM archived_pages p
JOIN article_urls u ON u.url = p.url AND u.article_id = p.article_id
WHERE p.article_id = ? AND p.status BETWEEN 200 AND 299 AND u.kind IN ('canonical', 'alias')
ORDER BY p.url = ? DESC, p.fetched DESC, p.id DESC LIMIT 1"""


def chosen_articles(conn: sqlite3.Connection, after: int, source: str | None, since: str | None):
    """The articles a re-extraction is of, id order, past `after`, CHUNK at a time."""
    where, params = ["id > ?"], []
    if source:
        where.append("source = ?")
        params.append(source)
    if since:
        where.append("last_seen >= ?")
        params.append(since)
    sql = (f"SELECT id, url, source, author, published, modified, content_hash FROM articles WHERE "
           f"{' AND '.join(where)} ORDER BY id LIMIT {CHUNK}")
    while True:
        rows = conn.execute(sql, [after, *params]).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


class ReextractSpider(WarcImportSpider):
    name = "reextract"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.db_path = s.get("NEWSMILL_DB")
        spider.source_name = s.get("NEWSMILL_REEXTRACT_SOURCE") or None
        spider.since = s.get("NEWSMILL_REEXTRACT_SINCE") or None
        spider.articles_total = 0
        spider.articles_read = 0
        spider.paths = {}  # archived_pages.file -> its path
        return spider

    async def start(self):
        progress = self.crawler.reextraction  # made by the store's pipeline as it opened
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            self.articles_total = self._count(conn, progress.last)
            for rows in chosen_articles(conn, progress.last, self.source_name, self.since):
                for article_id, url, source, author, published, modified, stored_hash in rows:
                    self.articles_read += 1
                    if progress.skip(article_id):
                        continue
                    page = conn.execute(PAGE, [article_id, url]).fetchone()
                    item = self._item(article_id, url, source, page,
                                      {"author": author, "published": published,
                                       "modified": modified}, stored_hash)
                    progress.handed_out(article_id, item.url)
                    await self._room_for(item)
                    yield item
                await asyncio.sleep(0)
        finally:
            conn.close()
        await self._all_settled()  # Scrapy then closes at once (see there)

    def _count(self, conn, after: int) -> int:
        where, params = "id > ?", [after]
        if self.source_name:
            where, params = where + " AND source = ?", [*params, self.source_name]
        if self.since:
            where, params = where + " AND last_seen >= ?", [*params, self.since]
        return conn.execute(f"SELECT count(*) FROM articles WHERE {where}", params).fetchone()[0]

    def _item(self, article_id: int, url: str, source: str, page, hints: dict,
              stored_hash: str | None = None):
        """The article's page as a crawl would hand it to extraction, or an error item."""
        stats = self.crawler.stats
        stats.inc_value(f"newsmill/pages/{source}")
        if page is None:
            return FetchError(source, url, NOT_ARCHIVED, f"article {article_id}: no page of it "
                              "is in the archive (stored before the archive was on, or its "
                              "source has archive = false)", self._now())
        page_url, file, offset, fetched = page
        if (path := self.paths.get(file)) is None:  # (pathlib's resolve: ~0.1 ms a page)
            path = self.paths[file] = str(archive_path(self.db_path, file))
        self.record = (path, offset)
        record = WarcReader(path, self.max_size).record_at(offset)
        if not isinstance(record, HttpResponse):
            what = getattr(record, "message", None) or f"a {record.what} record, not a response"
            return self._archive_error(source, page_url, article_id, what)
        stats.inc_value(f"newsmill/answered/{source}")
        stats.inc_value(f"newsmill/bytes/{source}", len(record.body))
        return Page(source, record.url, record.url, record.body, fetched,
                    # What the feed or sitemap said, which the page does not keep, is kept
                    # as stored where the page says nothing (extract_worker's fallbacks).
                    {k: v for k, v in hints.items() if v}, {"reextraction": article_id},
                    encoding=self._declared_encoding(record), declared=True,
                    # A text that hashes the same needs no near-duplicate keys: the store
                    # judges only a changed text again (pipelines/reextraction.py).
                    stored_hash=stored_hash)

    @staticmethod
    def _declared_encoding(record: HttpResponse) -> str | None:
        """The charset the archived response declares, as discovery.declared_encoding reads
        it from the Scrapy response a crawl gets (the last Content-Type, its bytes as
        Scrapy's Headers keep them); without making that response (~0.2 ms a page). The
        archive's pages were all fetched by Scrapy: their URLs are ones it takes."""
        content_type = next((value for name, value in reversed(record.headers)
                             if name.lower() == "content-type"), "")
        return discovery.declared_charset(content_type.encode("utf-8").decode("latin1"),
                                          record.body)

    def _archive_error(self, source, url, article_id, message) -> FetchError:
        return self._error(url, self.states[source], "archive",
                           f"article {article_id}: its archived page cannot be read: {message}")
