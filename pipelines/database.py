"""The SQLite store: its schema, its migrations, and every write to it.

This is the only module that writes SQL for newsmill's tables. The schema is a public
interface (people query it with SQL and Datasette): it changes only by appending a
migration to `MIGRATIONS`; `PRAGMA user_version` records how far a file has come.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreError(RuntimeError):
    """The database cannot be opened or written; the message says what to do."""


def _v1_initial(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "id": int, "url": str, "source": str, "title": str, "author": str,
            "published": str, "modified": str, "sitename": str, "publisher": str,
            "description": str, "section": str, "tags": str, "image": str, "language": str,
            "text": str, "word_count": int, "content_hash": str, "version": int,
            "first_seen": str, "last_seen": str,
        },
        pk="id",
        not_null={"url", "source", "first_seen", "last_seen"},
        defaults={"version": 1, "tags": "[]"},
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["source", "published"])
    db["articles"].create_index(["published"])
    db["articles"].create_index(["content_hash"])
    db["articles"].enable_fts(["title", "description", "text"], fts_version="FTS5",
                              create_triggers=True)
    db["article_urls"].create(
        {"url": str, "article_id": int, "source": str, "kind": str, "similarity": float,
         "first_seen": str},
        pk="url",
        not_null={"article_id", "kind", "first_seen"},
        defaults={"kind": "canonical"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_urls"].create_index(["article_id"])
    db["article_versions"].create(
        {"id": int, "article_id": int, "version": int, "title": str, "text": str,
         "content_hash": str, "modified": str, "seen_at": str},
        pk="id",
        not_null={"article_id", "version"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_versions"].create_index(["article_id", "version"], unique=True)
    db["runs"].create(
        {"id": int, "source": str, "started": str, "finished": str, "status": str,
         "pages": int, "articles_new": int, "articles_updated": int, "articles_unchanged": int,
         "articles_duplicate": int, "not_articles": int, "errors": int, "bytes": int,
         "pid": int},
        pk="id",
        not_null={"source", "started", "status"},
        defaults={"pages": 0, "articles_new": 0, "articles_updated": 0, "articles_unchanged": 0,
                  "articles_duplicate": 0, "not_articles": 0, "errors": 0, "bytes": 0},
    )
    db["runs"].create_index(["source", "started"])
    db["errors"].create(
        {"id": int, "run_id": int, "source": str, "url": str, "kind": str, "message": str,
         "at": str},
        pk="id",
        not_null={"url", "kind", "at"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["errors"].create_index(["run_id"])
    db["errors"].create_index(["kind"])


def _v2_daemon(db: sqlite_utils.Database) -> None:
    """What `newsmill daemon` records so `newsmill status` can report it."""
    db["daemon"].create(  # one row per daemon start; the latest one is the current daemon
        {"id": int, "pid": int, "host": str, "started": str, "heartbeat": str, "stopped": str,
         "sources_file": str, "max_parallel": int, "heartbeat_seconds": float},
        pk="id",
        not_null={"pid", "started", "heartbeat"},
    )
    db["daemon_sources"].create(  # the daemon's view of each source's schedule
        {"source": str, "schedule": str, "next_run": str, "failures": int,
         "backoff_until": str, "last_note": str, "updated": str},
        pk="source",
        not_null={"failures"},
        defaults={"failures": 0},
    )


# Append only: MIGRATIONS[n] brings a file from user_version n to n + 1.
MIGRATIONS = [_v1_initial, _v2_daemon]
SCHEMA_VERSION = len(MIGRATIONS)

RUN_STATUSES = ("running", "ok", "partial", "failed", "interrupted")


class ArticleStore:
    """One SQLite file holding articles, their URLs and versions, runs and errors."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000)
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the database: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Bring the file up to SCHEMA_VERSION, one migration per transaction."""
        while (current := self.version) < SCHEMA_VERSION:
            with self.write():
                if self.version != current:  # another process migrated meanwhile
                    continue
                MIGRATIONS[current](self.db)
                self.db.execute(f"PRAGMA user_version = {current + 1}")
        if self.version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {self.version}, newer than this "
                             f"newsmill understands ({SCHEMA_VERSION}); upgrade newsmill")

    @contextlib.contextmanager
    def write(self):
        """One write transaction, taking the write lock up front.

        sqlite-utils' atomic() begins a deferred transaction; when two processes (the
        daemon and a one-off crawl) read then write, a deferred one can fail with
        "database is locked" instead of waiting. BEGIN IMMEDIATE waits its turn.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise
        else:
            self.db.conn.execute("COMMIT")

    # --- runs ----------------------------------------------------------------------
    def start_run(self, source: str, pid: int | None = None) -> int:
        with self.write():
            table = self.db["runs"]
            table.insert({"source": source, "started": utcnow(), "status": "running", "pid": pid})
            return table.last_pk

    def finish_run(self, run_id: int, status: str, **counts) -> None:
        with self.write():
            self.db["runs"].update(run_id, {"finished": utcnow(), "status": status, **counts})

    def interrupt_run(self, run_id: int) -> bool:
        """Mark a run `interrupted` if it is still `running`; its counters stay as stored."""
        with self.write():
            cursor = self.db.execute(
                "UPDATE runs SET status = 'interrupted', finished = ? "
                "WHERE id = ? AND status = 'running'", [utcnow(), run_id])
            return cursor.rowcount > 0

    def record_failed_run(self, source: str, pid: int | None = None) -> int:
        """A run that failed before the crawl could record one itself (e.g. it never started)."""
        with self.write():
            now = utcnow()
            table = self.db["runs"]
            table.insert({"source": source, "started": now, "finished": now, "status": "failed",
                          "pid": pid})
            return table.last_pk

    def get_run(self, run_id: int) -> dict | None:
        return self._one("SELECT * FROM runs WHERE id = ?", [run_id])

    def run_of_process(self, source: str, pid: int) -> dict | None:
        """The run a crawl process started for a source (the latest, should a pid recur)."""
        return self._one("SELECT * FROM runs WHERE source = ? AND pid = ? ORDER BY id DESC "
                         "LIMIT 1", [source, pid])

    def running_runs(self, source: str | None = None) -> list[dict]:
        if source is None:
            return list(self.db.query("SELECT * FROM runs WHERE status = 'running' ORDER BY id"))
        return list(self.db.query("SELECT * FROM runs WHERE status = 'running' AND source = ? "
                                  "ORDER BY id", [source]))

    def last_runs(self, completed: bool = False) -> dict[str, dict]:
        """Each source's latest run; with `completed`, its latest that ran to its end."""
        where = "WHERE status NOT IN ('running', 'interrupted')" if completed else ""
        rows = self.db.query("SELECT * FROM runs WHERE id IN "
                             f"(SELECT max(id) FROM runs {where} GROUP BY source)")
        return {r["source"]: r for r in rows}

    def _one(self, sql: str, params) -> dict | None:
        return next(iter(self.db.query(sql, params)), None)

    # --- the daemon ------------------------------------------------------------------
    def daemon_started(self, pid: int, host: str, sources_file: str, max_parallel: int,
                       heartbeat_seconds: float) -> int:
        with self.write():
            now = utcnow()
            table = self.db["daemon"]
            table.insert({"pid": pid, "host": host, "started": now, "heartbeat": now,
                          "sources_file": sources_file, "max_parallel": max_parallel,
                          "heartbeat_seconds": heartbeat_seconds})
            return table.last_pk

    def daemon_heartbeat(self, daemon_id: int, schedules: dict[str, dict] | None = None) -> None:
        """The daemon is alive; optionally with each source's current schedule state."""
        with self.write():
            now = utcnow()
            self.db["daemon"].update(daemon_id, {"heartbeat": now})
            for source, state in (schedules or {}).items():
                self.db["daemon_sources"].upsert({"source": source, **state, "updated": now},
                                                 pk="source")

    def daemon_stopped(self, daemon_id: int) -> None:
        with self.write():
            now = utcnow()
            self.db["daemon"].update(daemon_id, {"heartbeat": now, "stopped": now})

    def forget_source_schedules(self, keep: list[str]) -> None:
        """Drop the schedule state of sources that are no longer in the sources file."""
        with self.write():
            marks = ", ".join("?" for _ in keep) or "''"
            self.db.execute(f"DELETE FROM daemon_sources WHERE source NOT IN ({marks})", keep)

    def latest_daemon(self) -> dict | None:
        return self._one("SELECT * FROM daemon ORDER BY id DESC LIMIT 1", [])

    def source_schedules(self) -> dict[str, dict]:
        return {r["source"]: r for r in self.db.query("SELECT * FROM daemon_sources")}

    def add_to_run(self, run_id: int, **counts) -> None:
        """Add to a running run's counters (kept current while a crawl goes on)."""
        assignments = ", ".join(f"{k} = {k} + :{k}" for k in counts)
        self.db.execute(f"UPDATE runs SET {assignments} WHERE id = :id", {**counts, "id": run_id})

    # --- articles and errors ---------------------------------------------------------
    def save_batch(self, articles: list[dict], errors: list[dict], run_ids: dict[str, int]) -> Counter:
        """Write a batch of articles and errors in one transaction.

        Returns counts keyed by (source, outcome): new, updated, unchanged.
        """
        outcomes: Counter = Counter()
        with self.write():
            if errors:
                self.db["errors"].insert_all(
                    {**e, "run_id": run_ids.get(e["source"])} for e in errors)
                for source, n in Counter(e["source"] for e in errors).items():
                    if source in run_ids:
                        self.add_to_run(run_ids[source], errors=n)
            for article in articles:
                outcomes[article["source"], self._save_article(article)] += 1
            for (source, outcome), n in outcomes.items():
                if source in run_ids:
                    self.add_to_run(run_ids[source], **{f"articles_{outcome}": n})
        return outcomes

    def _save_article(self, article: dict) -> str:
        now = article.pop("fetched_at", None) or utcnow()
        seen_urls = article.pop("seen_urls", [])
        article["tags"] = json.dumps(article.get("tags") or [], ensure_ascii=False)
        existing = self.db.execute(
            "SELECT id, content_hash, title, text, version, modified, last_seen FROM articles "
            "WHERE url = ?", [article["url"]]).fetchone()
        if existing is None:
            table = self.db["articles"]
            table.insert({**article, "version": 1, "first_seen": now, "last_seen": now})
            article_id, outcome = table.last_pk, "new"
        else:
            article_id, old_hash, old_title, old_text, version, old_modified, old_seen = existing
            if old_hash == article["content_hash"] and old_title == article.get("title"):
                self.db["articles"].update(article_id, {"last_seen": now})
                outcome = "unchanged"
            else:
                self.db["article_versions"].insert({
                    "article_id": article_id, "version": version, "title": old_title,
                    "text": old_text, "content_hash": old_hash, "modified": old_modified,
                    "seen_at": old_seen,
                })
                self.db["articles"].update(
                    article_id, {**article, "version": version + 1, "last_seen": now})
                outcome = "updated"
        self.db["article_urls"].insert_all(
            ({"url": u, "article_id": article_id, "source": article["source"],
              "kind": "canonical" if u == article["url"] else "alias", "first_seen": now}
             for u in dict.fromkeys([article["url"], *seen_urls])),
            ignore=True,
        )
        return outcome
