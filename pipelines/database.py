"""The SQLite store: its schema, its migrations, and every write to it.

This is the only module that writes SQL for newsmill's tables. The schema is a public
interface (people query it with SQL and Datasette): it changes only by appending a
migration to `MIGRATIONS`; `PRAGMA user_version` records how far a file has come.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psutil
import sqlite_utils

from crawler.urls import scheme_and_www_variants

logger = logging.getLogger(__name__)

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


ARTICLES_FTS_COLUMNS = ("title", "description", "text")  # what articles_fts indexes


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
    db["articles"].enable_fts(list(ARTICLES_FTS_COLUMNS), fts_version="FTS5", create_triggers=True)
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


def _v2_known_urls_and_near_duplicates(db: sqlite_utils.Database) -> None:
    """What each URL last returned (for conditional re-checks), and the near-duplicate index.

    Existing articles get their content_hash recomputed (it now ignores date lines) and
    their near-duplicate keys, so a store from v1 judges old and new articles alike.
    """
    from pipelines.fingerprints import content_hash, near_duplicate_keys

    db["fetch_state"].create(
        {"url": str, "source": str, "article_id": int, "etag": str, "last_modified": str,
         "lastmod": str, "status": int, "fetched": str, "checked": str},
        pk="url",
        not_null={"checked"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["fetch_state"].create_index(["article_id"])
    # WITHOUT ROWID: the (key, article_id) primary key is the only index the lookup needs.
    db.execute("CREATE TABLE near_duplicate_keys (key INTEGER NOT NULL, article_id INTEGER "
               "NOT NULL REFERENCES articles(id), PRIMARY KEY (key, article_id)) WITHOUT ROWID")
    for article_id, text in db.execute("SELECT id, text FROM articles").fetchall():
        db.execute("UPDATE articles SET content_hash = ? WHERE id = ?",
                   [content_hash(text or ""), article_id])
        db.conn.executemany("INSERT OR IGNORE INTO near_duplicate_keys VALUES (?, ?)",
                       [(key, article_id) for key in near_duplicate_keys(text or "")])


def _v3_run_host(db: sqlite_utils.Database) -> None:
    """runs.host: with runs.pid, tells whether a `running` run's process is still alive."""
    db["runs"].add_column("host", str)


def _v4_daemon(db: sqlite_utils.Database) -> None:
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


def _v5_search_index_only_for_searched_columns(db: sqlite_utils.Database) -> None:
    """The full-text index is rewritten only when a searched column changes.

    sqlite-utils' enable_fts trigger re-indexes a row on every UPDATE, so marking 2000
    unchanged articles as seen (last_seen) re-indexed all their text: most of a re-crawl's
    time. Same trigger name and body, now `AFTER UPDATE OF` the indexed columns.
    """
    columns = ", ".join(f'"{c}"' for c in ARTICLES_FTS_COLUMNS)
    old = ", ".join(f'old."{c}"' for c in ARTICLES_FTS_COLUMNS)
    new = ", ".join(f'new."{c}"' for c in ARTICLES_FTS_COLUMNS)
    db.execute('DROP TRIGGER IF EXISTS "articles_au"')
    db.execute(
        f'CREATE TRIGGER "articles_au" AFTER UPDATE OF {columns} ON "articles" BEGIN\n'
        f'  INSERT INTO "articles_fts" ("articles_fts", rowid, {columns}) '
        f"VALUES('delete', old.rowid, {old});\n"
        f'  INSERT INTO "articles_fts" (rowid, {columns}) VALUES (new.rowid, {new});\n'
        "END")


def _v6_robots_txt(db: sqlite_utils.Database) -> None:
    """robots_txt: each site's robots.txt as last read, so that a crawl soon after another
    need not ask for it again (NEWSMILL_ROBOTSTXT_CACHE)."""
    db["robots_txt"].create({"url": str, "status": int, "body": bytes, "fetched": str},
                            pk="url", not_null={"status", "fetched"})


def _v7_runs_account_for_every_page(db: sqlite_utils.Database) -> None:
    """runs.listings and runs.aliases: with them a run's outcome columns add up to its
    `pages` (each page ends in exactly one), so a page that is lost shows."""
    db["runs"].add_column("listings", int, not_null_default=0)
    db["runs"].add_column("aliases", int, not_null_default=0)


def _v8_claims_original(db: sqlite_utils.Database) -> None:
    """articles.claims_original: how strongly the stored page declared itself the original
    of its text, so that a copy found later is judged against it (NULL: stored before)."""
    db["articles"].add_column("claims_original", int)


def _v9_conditional_listings(db: sqlite_utils.Database) -> None:
    """listing_state: the validators (ETag, Last-Modified) of each feed, sitemap and start
    page as last read in full, so the next crawl asks with If-None-Match /
    If-Modified-Since; robots_txt keeps its validators too."""
    db["listing_state"].create({"url": str, "source": str, "etag": str, "last_modified": str,
                                "fetched": str}, pk="url")
    db["robots_txt"].add_column("etag", str)
    db["robots_txt"].add_column("last_modified", str)


# Append only: MIGRATIONS[n] brings a file from user_version n to n + 1.
MIGRATIONS = [_v1_initial, _v2_known_urls_and_near_duplicates, _v3_run_host, _v4_daemon,
              _v5_search_index_only_for_searched_columns, _v6_robots_txt,
              _v7_runs_account_for_every_page, _v8_claims_original, _v9_conditional_listings]
SCHEMA_VERSION = len(MIGRATIONS)

# Which outcome a run counts when one article comes back several times in it; the other
# pages of that article count as `alias` (runs.aliases).
OUTCOME_RANK = {"unchanged": 0, "duplicate": 1, "new": 2, "updated": 3}
# The runs column each outcome of save_batch is counted in.
OUTCOME_COLUMN = {"new": "articles_new", "updated": "articles_updated",
                  "unchanged": "articles_unchanged", "duplicate": "articles_duplicate",
                  "alias": "aliases"}


def process_is_alive(pid: int | None, since: str | None = None) -> bool:
    """Whether process `pid` of this host lives and is the one already running at `since`.

    A zombie (killed, not yet reaped) is dead; a live pid whose process started after
    `since` is a reused pid, so the original one is dead too.
    """
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        born = process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # someone else's process: alive
        return True
    try:
        started = datetime.fromisoformat(since).timestamp() if since else None
    except ValueError:
        started = None
    return started is None or born <= started + 2  # runs.started has whole seconds


class ArticleStore:
    """One SQLite file holding articles, their URLs and versions, runs and errors."""

    def __init__(self, path: str | Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 max_pages: int = DEFAULT_MAX_PAGES, near_duplicate_threshold: float = 0.8):
        """Open (creating and migrating if need be) the store at `path`.

        `busy_timeout`: seconds a write waits for another process's lock before failing;
        `max_pages`: cap on the file's size in pages (PRAGMA max_page_count; 0: no cap).
        """
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.near_duplicate_threshold = near_duplicate_threshold
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

    def publication_times(self, source: str, since: str) -> list[str]:
        """When the source's articles of the last while were published: `published`, else
        when first seen, for articles published or first seen at `since` or later (ISO
        text, compared as written). Articles without a date that the source's first run
        found are its back catalogue, not its rhythm, and are left out."""
        rows = self.db.execute(
            "SELECT coalesce(published, first_seen) FROM articles WHERE source = ? AND "
            "(published >= ? OR (published IS NULL AND first_seen >= ? AND first_seen > "
            "coalesce((SELECT finished FROM runs WHERE source = ? ORDER BY id LIMIT 1), '')))",
            [source, since, since, source]).fetchall()
        return [r[0] for r in rows]

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
    def save_batch(self, articles: list[dict], errors: list[dict], run_ids: dict[str, int],
                   not_modified: list[dict] = (), counted: dict | None = None) -> Counter:
        """Write a batch of articles, not-modified answers and errors in one transaction.

        Every judgement (new, updated, unchanged, duplicate) is made inside the write
        transaction, so two crawls writing at once see each other's rows. `counted` maps
        (source, url) to the outcome already counted in these runs: an article seen again
        under another URL of the same source (its AMP page, say) is not counted twice.
        Returns counts keyed by (source, outcome).
        """
        counted = {} if counted is None else counted
        outcomes: Counter = Counter()
        with self.write():
            if errors:
                self.db["errors"].insert_all(
                    {**e, "run_id": run_ids.get(e["source"])} for e in errors)
                # A run's `limit` row stands for requests never made, not for a page.
                pages = Counter(e["source"] for e in errors if e["url"] or e["kind"] != "limit")
                for source, n in pages.items():
                    if source in run_ids:
                        self.add_to_run(run_ids[source], errors=n)
            judged = [(a["source"], *self._save_article(a)) for a in articles]
            judged += self._save_not_modified(list(not_modified))
            for source, outcome, counted_as in judged:
                before = counted.get((source, counted_as))
                if before is None:
                    counted[source, counted_as] = outcome
                elif OUTCOME_RANK[outcome] > OUTCOME_RANK[before]:
                    # Its AMP page may come before the article's own page: the stronger
                    # outcome (updated over unchanged) is the one the run counts.
                    counted[source, counted_as] = outcome
                    outcomes[source, before] -= 1
                    outcomes[source, "alias"] += 1
                else:
                    outcome = "alias"  # another page of an article this run counted already
                outcomes[source, outcome] += 1
            for (source, outcome), n in outcomes.items():
                if source in run_ids and n:
                    self.add_to_run(run_ids[source], **{OUTCOME_COLUMN[outcome]: n})
        return outcomes

    def _save_article(self, article: dict) -> tuple[str, str]:
        """Store one extracted article; returns (outcome, the URL it is counted under)."""
        now = article.pop("fetched_at", None) or utcnow()
        seen_urls = article.pop("seen_urls", [])
        fetch = article.pop("fetch", None) or {}
        keys = article.pop("near_duplicate_keys", [])
        article["tags"] = json.dumps(article.get("tags") or [], ensure_ascii=False)
        url = article["url"]
        existing, kind = self._article_for_url(url)
        if existing is not None and kind in ("duplicate", "near_duplicate"):
            article_id, outcome = existing["id"], "duplicate"
            if url in fetch.get("urls", [url]) and is_original_of(article, existing):
                # The page itself, fetched again, tells that it is the original after all
                # (the article's claim was unknown before, or what a page declares changed).
                self._crown(existing, article, keys, seen_urls, now, kind, existing["similarity"])
            else:  # a page already known as a copy of another article: still a copy
                self._touch(article_id, now)
                self._add_urls(article_id, article["source"], seen_urls, now, kind,
                               existing["similarity"])
        elif existing is not None and self._claims_other_text(existing, article, fetch):
            # rel=canonical points at a page with another text (some sites point every page
            # at their home page): this page is an article of its own, at its own URL.
            article["url"] = fetch["urls"][-1]
            seen_urls = [u for u in seen_urls if u != url]
            article_id, outcome, url = self._save_new_url(article, keys, seen_urls, now)
        elif existing is not None:
            article_id = existing["id"]
            outcome = self._update_article(existing, article, keys, fetch, now)
            self._add_urls(article_id, article["source"], [url, *seen_urls], now, "alias")
        else:
            article_id, outcome, url = self._save_new_url(article, keys, seen_urls, now)
        self._record_fetch(fetch, article["source"], article_id, now)
        return outcome, url

    def _save_new_url(self, article: dict, keys: list[int], seen_urls: list[str], now: str):
        """An article URL never seen: a new article, a copy of a stored one, or the
        original of a stored copy."""
        url, source = article["url"], article["source"]
        original, similarity = self.find_duplicate(article, keys)
        if original is None:
            table = self.db["articles"]
            table.insert({**article, "version": 1, "first_seen": now, "last_seen": now})
            article_id = table.last_pk
            self._add_keys(article_id, keys)
            self._add_urls(article_id, source, [url], now, "canonical")
            self._add_urls(article_id, source, seen_urls, now, "alias")
            return article_id, "new", url
        kind = "duplicate" if similarity == 1.0 else "near_duplicate"
        article_id = original["id"]
        if is_original_of(article, original):
            # The stored article is a copy of this page (syndication found first).
            self._crown(original, article, keys, seen_urls, now, kind, similarity)
        else:
            self._touch(article_id, now)
            self._add_urls(article_id, source, [url, *seen_urls], now, kind, similarity)
        return article_id, "duplicate", url

    def _crown(self, stored: dict, article: dict, keys: list[int], seen_urls: list[str],
               now: str, kind: str, similarity: float | None) -> None:
        """`article`, the original of the `stored` article's page, becomes the article: the
        row keeps its id (what points at it stays right) and takes the original's URL,
        source and fields; the stored page's URLs become its copies (`kind`)."""
        article_id, url, source = stored["id"], article["url"], article["source"]
        self._remove_keys(article_id, stored["text"])
        self.db.execute("UPDATE article_urls SET kind = ?, similarity = ? WHERE article_id = ? "
                        "AND kind IN ('canonical', 'alias')", [kind, similarity, article_id])
        self.db["articles"].update(article_id, {**article, "last_seen": now})
        self._add_keys(article_id, keys)
        self._set_urls(article_id, source, [url], now, "canonical")
        self._set_urls(article_id, source, [u for u in seen_urls if u != url], now, "alias")

    def _claims_other_text(self, existing: dict, article: dict, fetch: dict) -> bool:
        """Fetched under another URL, naming a stored article whose text is not its own."""
        from pipelines.fingerprints import similarity

        fetched = fetch.get("urls") or []
        if not fetched or article["url"] in fetched or existing["url"] in fetched \
                or existing["content_hash"] == article["content_hash"]:
            return False
        if self._article_for_url(fetched[-1])[0] is not None:
            return False  # that URL is already known as this article's alias or a copy
        return similarity(existing["text"] or "", article["text"]) < self.near_duplicate_threshold

    def _update_article(self, existing: dict, article: dict, keys: list[int], fetch: dict,
                        now: str) -> str:
        """A known article fetched again: unchanged, or a new version.

        Only the article's own page makes a version: its AMP or print page, fetched under
        another URL, may differ in small ways and must not make versions flip back and forth.
        Nor does the own page of an article first stored from its AMP or print page.
        """
        article_id = existing["id"]
        same = (existing["content_hash"] == article["content_hash"]
                and existing["title"] == article.get("title"))
        own_page = article["url"] in fetch.get("urls", [article["url"]]) or \
            existing["url"] in fetch.get("urls", [])
        claim = article.get("claims_original")
        if own_page and claim is not None and claim != existing["claims_original"]:
            # What the page declares now (an article stored before schema 8 had no claim):
            # a copy of it found later, or fetched again, is judged against this.
            self.db.execute("UPDATE articles SET claims_original = ? WHERE id = ?",
                            [claim, article_id])
        if same or not own_page:
            self._touch(article_id, now)
            return "unchanged"
        changes = {k: v for k, v in article.items() if k not in ("url", "source")}
        if fetch.get("urls") and not self._fetched(existing["url"]):
            # First stored from its AMP or print page (fetched first, its article only asked
            # for then): the article's own page takes its place, and nothing was edited.
            self._remove_keys(article_id, existing["text"])
            self._add_keys(article_id, keys)
            self.db["articles"].update(article_id, {**changes, "last_seen": now})
            return "unchanged"
        self.db["article_versions"].insert({
            "article_id": article_id, "version": existing["version"],
            "title": existing["title"], "text": existing["text"],
            "content_hash": existing["content_hash"], "modified": existing["modified"],
            "seen_at": existing["last_seen"],
        })
        self._remove_keys(article_id, existing["text"])
        self._add_keys(article_id, keys)
        changes["modified"] = article.get("modified") or now
        self.db["articles"].update(
            article_id, {**changes, "version": existing["version"] + 1, "last_seen": now})
        return "updated"

    def _fetched(self, url: str) -> bool:
        """Whether this URL (or its http/https, www twin) was ever fetched (fetch_state)."""
        variants = scheme_and_www_variants(url)
        return self.db.execute(f"SELECT 1 FROM fetch_state WHERE url IN ({', '.join('?' * len(variants))}) "
                               "LIMIT 1", variants).fetchone() is not None

    def _article_for_url(self, url: str) -> tuple[dict | None, str | None]:
        """The stored article this URL (or its http/https, www twin) belongs to, and how."""
        variants = scheme_and_www_variants(url)
        marks = ", ".join("?" * len(variants))
        row = self.db.execute(
            f"SELECT id FROM articles WHERE url IN ({marks}) ORDER BY id LIMIT 1", variants
        ).fetchone()
        kind, similarity = "canonical", None
        if row is None:
            row = self.db.execute(
                f"SELECT article_id, kind, similarity FROM article_urls WHERE url IN ({marks}) "
                "ORDER BY url = ? DESC LIMIT 1", [*variants, url]).fetchone()
            if row is None:
                return None, None
            kind, similarity = row[1], row[2]
        article = self._article(row[0])
        article["similarity"] = similarity
        return article, kind

    def _article(self, article_id: int) -> dict:
        return dict(zip(
            ("id", "url", "content_hash", "title", "text", "version", "modified", "last_seen",
             "published", "claims_original"),
            self.db.execute("SELECT id, url, content_hash, title, text, version, modified, "
                            "last_seen, published, claims_original FROM articles WHERE id = ?",
                            [article_id]).fetchone()))

    def find_duplicate(self, article: dict, keys: list[int]) -> tuple[dict | None, float]:
        """The stored article with the same text (similarity 1.0), else the most similar
        one at or above the threshold among those sharing a near-duplicate key."""
        from pipelines.fingerprints import similarity

        row = self.db.execute("SELECT id FROM articles WHERE content_hash = ? ORDER BY id LIMIT 1",
                              [article["content_hash"]]).fetchone()
        if row is not None:
            return self._article(row[0]), 1.0
        best, best_similarity = None, 0.0
        for candidate_id in self.near_duplicate_candidates(keys):
            candidate = self._article(candidate_id)
            score = similarity(article["text"], candidate["text"] or "")
            if score >= self.near_duplicate_threshold and score > best_similarity:
                best, best_similarity = candidate, score
        return best, round(min(best_similarity, 0.9999), 4)

    def near_duplicate_candidates(self, keys: list[int]) -> list[int]:
        """Articles sharing at least one LSH band key: an index lookup per key."""
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT article_id FROM near_duplicate_keys WHERE key IN ({marks})", keys)]

    def _add_keys(self, article_id: int, keys: list[int]) -> None:
        self.db.conn.executemany("INSERT OR IGNORE INTO near_duplicate_keys VALUES (?, ?)",
                            [(k, article_id) for k in keys])

    def _remove_keys(self, article_id: int, old_text: str | None) -> None:
        from pipelines.fingerprints import near_duplicate_keys

        self.db.conn.executemany("DELETE FROM near_duplicate_keys WHERE key = ? AND article_id = ?",
                            [(k, article_id) for k in near_duplicate_keys(old_text or "")])

    def _touch(self, article_id: int, now: str) -> None:
        self.db.execute("UPDATE articles SET last_seen = ? WHERE id = ? AND last_seen < ?",
                        [now, article_id, now])

    def _add_urls(self, article_id: int, source: str, urls, now: str, kind: str,
                  similarity: float | None = None) -> None:
        """Record URLs of an article; a URL already recorded keeps what it was."""
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO article_urls (url, article_id, source, kind, similarity, "
            "first_seen) VALUES (?, ?, ?, ?, ?, ?)",
            [(u, article_id, source, kind, similarity, now) for u in dict.fromkeys(urls)])

    def _set_urls(self, article_id: int, source: str, urls, now: str, kind: str) -> None:
        self.db.conn.executemany(
            "INSERT INTO article_urls (url, article_id, source, kind, similarity, first_seen) "
            "VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (url) DO UPDATE SET "
            "article_id = excluded.article_id, kind = excluded.kind, similarity = NULL",
            [(u, article_id, source, kind, now) for u in dict.fromkeys(urls)])

    def _record_fetch(self, fetch: dict, source: str, article_id: int, now: str) -> None:
        """Remember what each URL of the request chain returned, for the next re-check."""
        self.db.conn.executemany(
            "INSERT INTO fetch_state (url, source, article_id, etag, last_modified, lastmod, "
            "status, fetched, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO "
            "UPDATE SET source = excluded.source, article_id = excluded.article_id, "
            "etag = excluded.etag, last_modified = excluded.last_modified, "
            "lastmod = coalesce(excluded.lastmod, lastmod), status = excluded.status, "
            "fetched = excluded.fetched, checked = excluded.checked",
            [(u, source, article_id, fetch.get("etag"), fetch.get("last_modified"),
              fetch.get("lastmod"), fetch.get("status"), now, now)
             for u in dict.fromkeys(fetch.get("urls", []))])

    def _save_not_modified(self, items: list[dict]) -> list[tuple[str, str | None, str]]:
        """Known URLs that did not change: their articles are seen, nothing else is written.

        One lookup per 500 URLs and two executemany for the whole batch, not a few
        statements per URL: a re-crawled sitemap brings thousands of them.
        Returns (source, outcome, the URL it is counted under) per item.
        """
        urls = list(dict.fromkeys(item["url"] for item in items))
        found: dict[str, tuple] = {}
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            found.update((row[0], row[1:]) for row in self.db.execute(
                "SELECT f.url, f.article_id, u.kind, a.url FROM fetch_state f JOIN articles a "
                "ON a.id = f.article_id LEFT JOIN article_urls u ON u.url = f.url "
                f"WHERE f.url IN ({', '.join('?' * len(chunk))})", chunk))
        known = [item for item in items if item["url"] in found]
        self.db.conn.executemany(
            "UPDATE fetch_state SET checked = ?, lastmod = coalesce(?, lastmod) WHERE url = ?",
            [(item["at"], item.get("lastmod"), item["url"]) for item in known])
        self.db.conn.executemany(
            "UPDATE articles SET last_seen = ? WHERE id = ? AND last_seen < ?",
            [(item["at"], found[item["url"]][0], item["at"]) for item in known])
        judged = []
        for item in items:
            if item["url"] not in found:  # the server said unchanged; the store forgot it
                judged.append((item["source"], "unchanged", item["url"]))
                continue
            _article_id, kind, article_url = found[item["url"]]
            if kind in ("duplicate", "near_duplicate"):
                judged.append((item["source"], "duplicate", item["url"]))
            else:
                judged.append((item["source"], "unchanged", article_url))
        return judged


def is_original_of(page: dict, stored: dict) -> bool:
    """Whether `page`, a page with the text of the `stored` article, is its original.

    The earlier publication is the original when the dates tell (_earlier); when they do
    not, the page that declares itself the original more strongly (`claims_original`:
    rel=canonical on its own site, declared an article, its own site as publisher; a
    rel=canonical naming another site's page says "copy"). Dates come first: a page's
    rel=canonical may name its own publisher's other domain (a regional edition), which
    is no sign of a copy. On a tie, or a claim unknown (an article stored before schema 8),
    the stored article stays. Each step gives the same answer for the same two pages
    whichever came first, so neither crawl order nor concurrent crawls choose the original.
    """
    if _earlier(page.get("published"), stored["published"]):
        return True
    if _earlier(stored["published"], page.get("published")):
        return False
    mine, theirs = page.get("claims_original"), stored["claims_original"]
    return mine is not None and theirs is not None and mine > theirs


# The offsets of the world's time zones run from UTC-12 to UTC+14: a date, or a time
# without an offset, can mean any of them.
_WEST, _EAST = timedelta(hours=12), timedelta(hours=14)


def _span(value: str) -> tuple[datetime, datetime, bool] | None:
    """(first, last, is_instant) of what a `published` value can mean; None if unreadable.

    A time with an offset is one instant (in UTC). A date is a whole day, and a time
    without an offset one wall-clock time, both in an unknown time zone.
    """
    value = value.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        first = datetime.combine(day, time())
        return first, first + timedelta(days=1) - timedelta(microseconds=1), False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment, moment, False
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment, moment, True


def _earlier(published: str | None, other: str | None) -> bool:
    """True when both dates are known and the first is certainly earlier.

    Compared at the coarser of their precisions: a date and a time of that day are the same
    day, neither earlier (a page showing only its date, as trafilatura reads it, is not
    earlier than the publisher's 09:00 that day). A date, or a time without an offset, is
    on a calendar of unknown time zone: against an instant it is earlier only if it is
    earlier in every time zone (an instant falls on the day before or the day after
    somewhere on Earth); two of them are compared as written.
    """
    if not published or not other:
        return False
    a, b = _span(published), _span(other)
    if a is None or b is None:
        return False
    (a_first, a_last, a_instant), (b_first, b_last, b_instant) = a, b
    if a_instant and not b_instant:  # the instant's wall-clock times across the zones
        a_first, a_last = a_first - _WEST, a_last + _EAST
    elif b_instant and not a_instant:
        b_first, b_last = b_first - _WEST, b_last + _EAST
    return a_last < b_first


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
