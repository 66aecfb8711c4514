"""The WARC archive's index in the store: `archived_pages` (schema version 14).

The crawl's archive writer (crawler/archive.py) says where each response record went; the
storage pipeline hands those rows here in batches. Which article a page belongs to is
looked up in `article_urls` now, and kept right later by the schema's triggers, since a
page is archived as it arrives and its article is stored only after extraction.
"""

from __future__ import annotations

import os
from pathlib import Path

INSERT = ('INSERT INTO archived_pages (url, article_id, source, status, content_type, file, "offset", '
          "length, fetched) VALUES (?, (SELECT article_id FROM article_urls WHERE url = ?), "
          "?, ?, ?, ?, ?, ?, ?)")


def file_name(path: str, db_path: Path) -> str:
    """The file as the table names it: relative to the database's folder when inside it
    (the store and its archive move together), absolute otherwise."""
    full = Path(path).resolve()
    try:
        return full.relative_to(db_path.resolve().parent).as_posix()
    except ValueError:
        return str(full)


def record_archived_pages(store, rows: list[dict]) -> None:
    """Add the rows (url, source, status, content_type, file, offset, length, fetched) in one
    write transaction of `store` (an ArticleStore)."""
    if not rows:
        return
    with store.write() as db:
        db.conn.executemany(INSERT, [
            (r["url"], r["url"], r["source"] or None, r["status"], r["content_type"],
             file_name(r["file"], store.path), r["offset"], r["length"], r["fetched"])
            for r in rows])


def archive_path(db_path: str | os.PathLike, file: str) -> Path:
    """The WARC file an `archived_pages.file` names, for a store at `db_path`."""
    path = Path(file)
    return path if path.is_absolute() else Path(db_path).resolve().parent / path
