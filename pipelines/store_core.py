"""The store's connection: opening and migrating a file, write transactions, and the
errors a write can meet (named for people: disk full, locked, read-only...)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pipelines.schema import MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger("pipelines.database")

# How long a write waits for another process's write lock, and the size cap (0: none);
# NEWSMILL_DB_BUSY_TIMEOUT and NEWSMILL_DB_MAX_PAGES in crawler/settings.py set them per run.
DEFAULT_BUSY_TIMEOUT = 30.0
DEFAULT_MAX_PAGES = 0

# A new file's page size. An article row (its text, a few KB) fills most of a 4 KiB page,
# SQLite's default, and the rest of the page stays empty: at 100,000 articles, 900 bytes
# of every 4 KiB page of `articles` were unused, a third of the text's own size
# (benchmarks/README.md, "A year of news in one file"). 16 KiB pages hold four or five
# rows and waste a tenth of that. SQLite fixes the page size when the first table is
# created; a store made before keeps its pages (`newsmill backup` writes a copy with
# these settings). A bigger page costs each small write (a run row) more bytes of WAL.
PAGE_SIZE = 16384


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


def _sqlite_utils():
    """sqlite-utils, imported without numpy unless this process has loaded numpy already.

    sqlite-utils imports numpy whenever it is installed, only to map numpy's scalar types
    to column types. newsmill stores no numpy value (the fingerprints are Python ints), and
    numpy (installed for the extraction workers' MinHash, which run in processes of their
    own) costs ~75 ms of CPU to import: a tenth of re-crawling an unchanged site. While
    sqlite-utils is imported, `import numpy` fails as it would were numpy not installed;
    sqlite-utils documents that case and goes on without numpy's types.
    """
    if "sqlite_utils" not in sys.modules and "numpy" not in sys.modules:
        sys.modules["numpy"] = None  # an ImportError for `import numpy`
        try:
            import sqlite_utils
        finally:
            if "numpy" in sys.modules and sys.modules["numpy"] is None:
                del sys.modules["numpy"]
    import sqlite_utils

    return sqlite_utils


class StoreConnection:
    """One SQLite file: opened, migrated, written in transactions that name their faults."""

    def __init__(self, path: str | Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 max_pages: int = DEFAULT_MAX_PAGES, near_duplicate_threshold: float = 0.8):
        """Open (creating and migrating if need be) the store at `path`.

        `busy_timeout`: seconds a write waits for another process's lock before failing;
        `max_pages`: cap on the file's size in pages (PRAGMA max_page_count; 0: no cap).
        """
        # Imported here, when a file is opened: a `newsmill worker`, which writes through
        # Redis, or a daemon with --no-store never opens a store.
        sqlite_utils = _sqlite_utils()
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.near_duplicate_threshold = near_duplicate_threshold
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=busy_timeout)
            # No sqlite-utils plugins: newsmill's writes call no SQL function of theirs, and
            # loading them reads the entry points of every installed package (~25-35 ms of
            # each process's first store, a tenth of re-crawling an unchanged site's CPU).
            self.db = sqlite_utils.Database(conn, execute_plugins=False)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if max_pages:
                self.db.execute(f"PRAGMA max_page_count = {int(max_pages)}")
            self._lay_out_new_file()
            self._enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the database: {exc}") from exc

    def _lay_out_new_file(self) -> None:
        """A new (empty) file gets PAGE_SIZE pages and incremental vacuum, both of which
        SQLite only takes before the first table: with auto_vacuum = INCREMENTAL, the
        pages that deletes free (run history rolled up, articles removed) can be given
        back to the file system a few at a time (ArticleStore.give_back_free_pages),
        without a VACUUM that rewrites the whole file and holds the writer meanwhile."""
        if self.db.execute("PRAGMA page_count").fetchone()[0] == 0:
            self.db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")

    def _enable_wal(self) -> None:
        """WAL mode, waiting for other processes as every write does.

        Switching the journal mode needs the file to itself, and SQLite answers "database
        is locked" at once, without its busy timeout, while another connection holds a
        lock: two crawls creating a store together failed so (about one start in twenty).
        The switch is retried until the busy timeout has passed."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.enable_wal()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

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
