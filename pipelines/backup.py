"""A consistent copy of the store, taken while the daemon and crawls go on writing to it.

The copy is made with `VACUUM INTO` from a read-only connection, not with the online backup
API (`sqlite3.Connection.backup`). The store is in WAL mode (store_core.py): a reader has a
snapshot of its own and never blocks a writer, so one read transaction can last the whole
copy without holding up the daemon or a crawl. The backup API copied in steps (pages at a
time, with pauses) starts over whenever another process writes to the source between two
steps, which a busy daemon does every few seconds: on a large store it might never finish.
In one step it is the same single read transaction as VACUUM INTO, which besides writes a
compact file (no free pages) in rollback-journal mode: one self-contained file, no -wal.

The copy is written to DEST.tmp, checked (PRAGMA integrity_check), flushed to disk (VACUUM
INTO does not fsync) and only then renamed to DEST: a DEST that exists is a whole copy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.store_core import PAGE_SIZE

# How long opening the snapshot waits should SQLite answer "busy" (WAL recovery, a
# checkpoint restarting the log); a writer never holds a reader up longer than that.
BUSY_TIMEOUT = 30.0


class BackupError(RuntimeError):
    """The backup was not made; the message names the file and says why.

    `before_copy`: found before anything was copied (bad arguments, a missing or unreadable
    store), which the command line reports as a usage error (exit 2).
    """

    def __init__(self, message: str, before_copy: bool = False):
        super().__init__(message)
        self.before_copy = before_copy


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    articles: int
    runs: int
    schema_version: int
    seconds: float


def timestamped_name(now: datetime | None = None) -> str:
    """newsmill-YYYYMMDDTHHMMSSZ.db, in UTC: names that sort in the order they were taken."""
    return (now or datetime.now(UTC)).strftime("newsmill-%Y%m%dT%H%M%SZ.db")


def backup_destination(db_path: Path, dest: Path, force: bool) -> Path:
    """The file to write: `dest`, or a timestamped file in it if it is a directory."""
    if dest.is_dir():
        dest = dest / timestamped_name()
    elif not dest.parent.is_dir():
        raise BackupError(f"{dest}: no such directory: {dest.parent}", before_copy=True)
    if dest.resolve() in {db_path.resolve(), *(db_path.resolve().with_name(db_path.name + suffix)
                                               for suffix in ("-wal", "-shm"))}:
        raise BackupError(f"{dest}: is the store itself; back it up to another file",
                          before_copy=True)
    if dest.exists() and not force:
        raise BackupError(f"{dest}: already exists; pass --force to replace it", before_copy=True)
    if dest.is_dir():
        raise BackupError(f"{dest}: is a directory", before_copy=True)
    return dest


def backup_store(db_path: str | Path, dest: str | Path, force: bool = False) -> BackupResult:
    """Copy the store at `db_path` to `dest` (a file, or a directory to put a timestamped file
    in), consistently, without ever blocking its writers; see the module's docstring."""
    started = time.monotonic()
    if str(dest).endswith(("/", os.sep)) and not Path(dest).is_dir():
        raise BackupError(f"{dest}: no such directory", before_copy=True)
    db_path, dest = Path(db_path), Path(dest)
    source = open_source(db_path)
    try:
        dest = backup_destination(db_path, dest, force)
        tmp = dest.with_name(dest.name + ".tmp")
        try:
            remove_copy(tmp)  # one left by a backup that was killed: VACUUM INTO needs none
            # The copy is laid out as newsmill lays out a new store (its page size and
            # incremental vacuum), so restoring it also brings an older store to both.
            # (An auto_vacuum already on is left as it is: changing it writes the file.)
            source.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            if source.execute("PRAGMA auto_vacuum").fetchone()[0] == 0:
                source.execute("PRAGMA auto_vacuum = INCREMENTAL")
            with stop_on_signals(source):
                source.execute("VACUUM INTO ?", (str(tmp),))
            result = check_copy(tmp, dest)
            flush_to_disk(tmp)
            os.replace(tmp, dest)
            flush_to_disk(dest.parent)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                remove_copy(tmp)
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise BackupError(f"{dest}: {copy_failure(exc)}") from exc
            raise
    finally:
        source.close()
    return BackupResult(dest, dest.stat().st_size, result["articles"], result["runs"],
                        result["schema_version"], time.monotonic() - started)


def open_source(db_path: Path) -> sqlite3.Connection:
    """A read-only connection to a newsmill store: a backup never writes to it."""
    if not db_path.is_file():
        raise BackupError(f"{db_path}: no such database (crawl or start the daemon first)",
                          before_copy=True)
    conn = None
    try:  # a URI for mode=ro; as_uri() escapes the ? # % a path may hold
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT)
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise BackupError(f"{db_path}: cannot open the database: {exc}", before_copy=True) from exc
    if not {"articles", "runs"} <= tables:
        conn.close()
        raise BackupError(f"{db_path}: not a newsmill database (no articles or runs table)",
                          before_copy=True)
    return conn


def check_copy(copy: Path, dest: Path) -> dict:
    """PRAGMA integrity_check on the copy, and what it holds."""
    conn = sqlite3.connect(copy)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{dest}: the copy fails PRAGMA integrity_check: "
                              f"{'; '.join(problems[:3])}")
        runs = conn.execute("select count(*) from runs").fetchone()[0]
        if conn.execute("select 1 from sqlite_master where name = 'runs_daily'").fetchone():
            # every run: those folded into runs_daily too (schema 12)
            runs += conn.execute("select coalesce(sum(runs), 0) from runs_daily").fetchone()[0]
        return {"articles": conn.execute("select count(*) from articles").fetchone()[0],
                "runs": runs,
                "schema_version": conn.execute("PRAGMA user_version").fetchone()[0]}
    finally:
        conn.close()


def remove_copy(tmp: Path) -> None:
    """DEST.tmp and the rollback journal VACUUM INTO writes beside it (DEST.tmp-journal)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)


def flush_to_disk(path: Path) -> None:
    """fsync a file or a directory (the rename in it), so a crash leaves the copy whole."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_failure(exc: BaseException) -> str:
    """What went wrong while writing the copy, for people."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_FULL") or getattr(exc, "errno", None) == 28:  # ENOSPC
        return "the disk is full; nothing was left behind: free space and run again"
    if name.startswith("SQLITE_CANTOPEN") or isinstance(exc, PermissionError):
        return f"cannot create the copy (is its directory writable?): {exc}"
    if name.startswith("SQLITE_IOERR"):
        return (f"a disk I/O error happened while writing the copy (a full disk, or a file size "
                f"limit?); nothing was left behind: {exc}")
    if name == "SQLITE_INTERRUPT":
        return "the backup was stopped (a signal); nothing was left behind"
    return f"the copy failed and nothing was left behind: {exc}"


@contextlib.contextmanager
def stop_on_signals(conn: sqlite3.Connection):
    """SIGTERM and SIGINT stop the copy at once (SQLite checks between steps) rather than
    after it, so that DEST.tmp is removed; without this, Ctrl-C waits for the whole copy."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    conn.set_progress_handler(lambda: bool(stopping), 10_000)
    try:
        yield
    finally:
        conn.set_progress_handler(None, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
