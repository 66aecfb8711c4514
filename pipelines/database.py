"""The SQLite store: its schema, its migrations, and every write to it.

This is the only module that writes SQL for newsmill's tables. The schema is a public
interface (people query it with SQL and Datasette): it changes only by appending a
migration to `MIGRATIONS`; `PRAGMA user_version` records how far a file has come.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

# How long a write waits for another process's write lock, and the size cap (0: none);
# NEWSMILL_DB_BUSY_TIMEOUT and NEWSMILL_DB_MAX_PAGES in crawler/settings.py set them per run.
DEFAULT_BUSY_TIMEOUT = 30.0
DEFAULT_MAX_PAGES = 0


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreError(RuntimeError):
    """The database cannot be opened or written; the message says what to do."""


class StoreWriteError(StoreError):
    """A write failed (disk full, locked, read-only, I/O error, damaged file).

    `what` says what happened and `advice` what to do, so that callers can put what
    they know (how much was stored before) in between.
    """

    def __init__(self, path: Path, kind: str, what: str, advice: str):
        super().__init__(f"{path}: {what}; {advice}")
        self.kind, self.what, self.advice = kind, what, advice


# SQLite's primary result codes that mean "this file cannot take the write", as
# (kind, what happened, what to do); extended codes (SQLITE_IOERR_WRITE...) share them.
_WRITE_FAULTS = {
    "FULL": ("full", "the disk is full (or NEWSMILL_DB_MAX_PAGES reached)",
             "free space (or raise NEWSMILL_DB_MAX_PAGES) and run again"),
    "BUSY": ("locked", "the database is locked: another process kept writing to it for "
             "longer than NEWSMILL_DB_BUSY_TIMEOUT ({timeout:g} s)",
             "wait for the other writer (another crawl or the daemon) or stop it, and run again"),
    "LOCKED": ("locked", "the database is locked by another connection",
               "wait for the other writer or stop it, and run again"),
    "READONLY": ("readonly", "the database is read-only",
                 "make the file, its -wal and -shm files and its directory writable by this "
                 "user, and run again"),
    "IOERR": ("io", "a disk I/O error happened while writing",
              "check the disk (dmesg, df) and run again"),
    "CORRUPT": ("corrupt", "the database file is damaged",
                "move it aside and restore a backup (or recover it with sqlite3 .recover)"),
    "NOTADB": ("corrupt", "the file is not a SQLite database",
               "pass another --db, or move this file aside"),
    "CANTOPEN": ("cantopen", "the database file cannot be opened for writing",
                 "check that its directory exists and is writable, and run again"),
}


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


def _v2_run_host(db: sqlite_utils.Database) -> None:
    """runs.host: with runs.pid, tells whether a `running` run's process is still alive."""
    db["runs"].add_column("host", str)


# Append only: MIGRATIONS[n] brings a file from user_version n to n + 1.
MIGRATIONS = [_v1_initial, _v2_run_host]
SCHEMA_VERSION = len(MIGRATIONS)

RUN_STATUSES = ("running", "ok", "partial", "failed", "interrupted")


def process_is_alive(pid: int, since: str) -> bool:
    """Whether process `pid` of this host lives and is the one that started at `since`.

    A zombie (killed, not yet reaped by its parent) is dead. On Linux, a live pid whose
    process started after `since` is a reused pid, so the original one is dead too.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return True  # no /proc: trust os.kill
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (command name)"
    if fields[0] in ("Z", "X"):
        return False
    started_at = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    try:
        run_started = datetime.fromisoformat(since).timestamp()
    except (TypeError, ValueError):
        return True
    return started_at <= run_started + 2  # seconds of slack: btime and `since` are whole seconds


class ArticleStore:
    """One SQLite file holding articles, their URLs and versions, runs and errors."""

    def __init__(self, path: str | Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 max_pages: int = DEFAULT_MAX_PAGES):
        """Open (creating and migrating if need be) the store at `path`.

        `busy_timeout`: seconds a write waits for another process's lock before failing;
        `max_pages`: cap on the file's size in pages (PRAGMA max_page_count; 0: no cap).
        """
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=busy_timeout)
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if max_pages:
                self.db.execute(f"PRAGMA max_page_count = {int(max_pages)}")
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
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            else:
                self.db.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            fault = self._write_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    def _write_fault(self, exc: sqlite3.DatabaseError) -> StoreWriteError | None:
        """A StoreWriteError for errors of the file, not of the SQL; None for the others."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        primary = name.removeprefix("SQLITE_").split("_")[0]
        if primary not in _WRITE_FAULTS:
            return None
        kind, what, advice = _WRITE_FAULTS[primary]
        return StoreWriteError(self.path, kind, what.format(timeout=self.busy_timeout), advice)

    def check_writable(self) -> None:
        """Raise StoreWriteError now if a write would fail (read-only, locked).

        BEGIN IMMEDIATE alone succeeds on a read-only file; rewriting the schema version
        with its own value is a real write that changes nothing.
        """
        with self.write():
            self.db.execute(f"PRAGMA user_version = {self.version}")

    # --- runs ----------------------------------------------------------------------
    def start_run(self, source: str, pid: int | None = None) -> int:
        with self.write():
            table = self.db["runs"]
            table.insert({"source": source, "started": utcnow(), "status": "running", "pid": pid,
                          "host": socket.gethostname()})
            return table.last_pk

    def mark_orphaned_runs(self) -> list[dict]:
        """Mark `interrupted` the runs left `running` by a process of this host that is gone.

        A crawl killed with SIGKILL, or one whose machine lost power, cannot close its
        runs; whoever opens the store next (a crawl, the daemon) calls this. Runs of
        other hosts, runs without a pid or host, and runs whose process still lives are
        left alone. `finished` stays empty: when the process died is not known.
        Returns the runs marked.
        """
        host = socket.gethostname()
        running = [dict(r) for r in self.db.query(
            "SELECT id, source, pid, started FROM runs "
            "WHERE status = 'running' AND host = ? AND pid IS NOT NULL", [host])]
        orphans = [r for r in running if not process_is_alive(r["pid"], r["started"])]
        if orphans:
            with self.write():
                for run in orphans:
                    self.db.execute("UPDATE runs SET status = 'interrupted' "
                                    "WHERE id = ? AND status = 'running'", [run["id"]])
        return orphans

    def finish_run(self, run_id: int, status: str, **counts) -> None:
        with self.write():
            self.db["runs"].update(run_id, {"finished": utcnow(), "status": status, **counts})

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
