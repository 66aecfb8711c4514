"""Read-only look-ups of the store for the downloader middlewares (known URLs), and the
caches they keep in it (robots.txt answers, listings' validators), each through short
connections of its own so that a crawl never waits on them.

These classes are the look-ups' interface; crawler/remote_lookups.py implements it again for
a crawl on another machine, and crawler/store_lookups.py chooses which one a crawl gets."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pipelines.store_core import DEFAULT_BUSY_TIMEOUT, utcnow

logger = logging.getLogger("pipelines.database")


class KnownUrls:
    """What the store knows about article URLs, read-only, for the downloader middleware.

    A separate read-only connection: reads never wait for a writer (WAL), and the
    middleware can never write.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.conn: sqlite3.Connection | None = None

    _FIELDS = ("etag", "last_modified", "lastmod", "article_id", "first_seen")

    def get(self, url: str) -> dict | None:
        """The last fetch of this URL and when its article was first seen, or None."""
        return self.get_many([url]).get(url)

    def holds_articles_of(self, sources: list[str]) -> bool:
        """Whether the store has an article of any of these sources (False: no store yet)."""
        if not sources or not self._connect():
            return False
        marks = ", ".join("?" * len(sources))
        try:
            return self.conn.execute(f"SELECT 1 FROM articles WHERE source IN ({marks}) LIMIT 1",
                                     sources).fetchone() is not None
        except sqlite3.OperationalError:  # no articles table: nothing stored
            return False

    def _connect(self) -> bool:
        if self.conn is None:
            if not self.path.exists():
                return False
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                        timeout=DEFAULT_BUSY_TIMEOUT)
        return True

    def get_many(self, urls: list[str]) -> dict[str, dict]:
        """`get` for many URLs (a sitemap's entries) with one query per 500 of them;
        unknown URLs are absent."""
        if not self._connect():
            return {}
        urls = list(dict.fromkeys(urls))
        found: dict[str, dict] = {}
        try:
            for start in range(0, len(urls), 500):
                chunk = urls[start:start + 500]
                for url, *row in self.conn.execute(
                        "SELECT f.url, f.etag, f.last_modified, f.lastmod, f.article_id, a.first_seen "
                        "FROM fetch_state f JOIN articles a ON a.id = f.article_id "
                        f"WHERE f.url IN ({', '.join('?' * len(chunk))})", chunk):
                    found[url] = dict(zip(self._FIELDS, row))
        except sqlite3.OperationalError:  # a store from before fetch_state existed
            return {}
        return found

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class RobotsCache:
    """robots.txt answers kept in the store between crawls, for `max_age` seconds.

    RFC 9309 (2.4) lets a crawler use a cached robots.txt for up to 24 hours, as Google
    does; without it a daemon crawling a site every few minutes asks for robots.txt before
    every crawl. Only answers that give rules (2xx) or say there are none (4xx) are kept: a
    5xx or a timeout means "not now", and the next crawl asks again.
    """

    def __init__(self, path: str | Path, max_age: float):
        self.path = Path(path)
        self.max_age = max_age

    def get(self, url: str) -> tuple[int, bytes] | None:
        """(status, body) of the robots.txt at `url` if read less than max_age ago."""
        row = self.stored(url)
        if row is None:
            return None
        age = (datetime.now(UTC) - datetime.fromisoformat(row["fetched"])).total_seconds()
        return (row["status"], row["body"]) if 0 <= age < self.max_age else None

    def stored(self, url: str) -> dict | None:
        """The answer kept for `url` however old (status, body, fetched, etag,
        last_modified): its validators make the next request conditional, and a 304 means
        the kept body still holds."""
        if not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=1.0)
            conn.row_factory = sqlite3.Row
            try:
                row = conn.execute("SELECT * FROM robots_txt WHERE url = ?", [url]).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:  # no such table yet, locked, unreadable: read it from the site
            return None
        return dict(row) if row is not None else None

    def put(self, url: str, status: int, body: bytes, etag: str | None = None,
            last_modified: str | None = None) -> None:
        """Remember an answer; if the store is busy or cannot be written, it is not kept
        (the crawl goes on, and the next one reads robots.txt from the site)."""
        _write_quietly(self.path, "INSERT OR REPLACE INTO robots_txt (url, status, body, fetched, "
                       "etag, last_modified) VALUES (?, ?, ?, ?, ?, ?)",
                       [[url, status, body, utcnow(), etag, last_modified]], f"robots.txt of {url}")


class ListingValidators:
    """The ETag and Last-Modified of feeds, sitemaps and start pages as last read in full
    (listing_state), for conditional requests. Read through a read-only connection per
    look-up; written once per run, at its end (see ConditionalListingsMiddleware)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def get(self, url: str) -> dict | None:
        if not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=1.0)
            try:
                row = conn.execute("SELECT etag, last_modified FROM listing_state WHERE url = ?",
                                   [url]).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return None
        return {"etag": row[0], "last_modified": row[1]} if row else None

    def put(self, rows: list[tuple[str, str, str | None, str | None]]) -> None:
        """(url, source, etag, last_modified) rows; not kept if the store is busy."""
        now = utcnow()
        _write_quietly(self.path, "INSERT OR REPLACE INTO listing_state (url, source, etag, "
                       "last_modified, fetched) VALUES (?, ?, ?, ?, ?)",
                       [[*row, now] for row in rows], f"{len(rows)} listing validators")


def _write_quietly(path: Path, sql: str, rows: list[list], what: str) -> None:
    """A cache write that waits at most a second for another writer, and is given up (with a
    DEBUG line) rather than fail a crawl: what it would keep is asked for again next time."""
    try:
        conn = sqlite3.connect(path, timeout=1.0)
        try:
            with conn:
                conn.executemany(sql, rows)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        logger.debug("%s not kept: %s", what, exc)
