"""Run and daemon records: what each crawl did (`runs`) and the daemon's heartbeat and
schedules (`daemon`, `daemon_sources`), for the summary table and `newsmill status`."""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime

from pipelines.schema import RUN_OUTCOMES
from pipelines.store_core import utcnow

logger = logging.getLogger("pipelines.database")


def process_is_alive(pid: int | None, since: str | None = None) -> bool:
    """Whether process `pid` of this host lives and is the one already running at `since`.

    A zombie (killed, not yet reaped) is dead; a live pid whose process started after
    `since` is a reused pid, so the original one is dead too.
    """
    if not pid:
        return False
    import psutil  # here: a crawl whose runs all closed never asks (~8 ms of its start)

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


class RunRecords:
    """ArticleStore's `runs`, `daemon` and `daemon_sources` rows (a mixin: needs `db` and
    `write()` from StoreConnection)."""

    # --- runs ----------------------------------------------------------------------
    def start_run(self, source: str, pid: int | None = None, host: str | None = None,
                  task: str | None = None) -> int:
        """A `running` run; `host` and `pid` of the crawl (this process's host unless said),
        `task` the Redis task attempt that runs it (crawls on several machines)."""
        with self.write():
            table = self.db["runs"]
            row = {"source": source, "started": utcnow(), "status": "running", "pid": pid,
                   "host": host or socket.gethostname()}
            if task is not None:
                row["task"] = task
            table.insert(row)
            return table.last_pk

    def runs_of_task(self, attempt: str) -> dict[str, int]:
        """{source: run id} of the runs a task attempt opened (crawls through Redis)."""
        return {r["source"]: r["id"] for r in self.db.query(
            "SELECT id, source FROM runs WHERE task = ?", [attempt])}

    def running_runs_of_task(self, task: str) -> list[dict]:
        """The runs of any attempt of a task still `running`."""
        return [dict(r) for r in self.db.query(
            "SELECT * FROM runs WHERE task >= ? AND task < ? AND status = 'running'",
            [f"{task}/", f"{task}0"])]

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

    def record_failed_run(self, source: str, pid: int | None = None, task: str | None = None,
                          host: str | None = None) -> int:
        """A run that failed before the crawl could record one itself (e.g. it never started)."""
        with self.write():
            now = utcnow()
            table = self.db["runs"]
            row = {"source": source, "started": now, "finished": now, "status": "failed",
                   "pid": pid}
            if task is not None:
                row.update(task=task, host=host)
            table.insert(row)
            return table.last_pk

    def get_run(self, run_id: int) -> dict | None:
        return self._one("SELECT * FROM runs WHERE id = ?", [run_id])

    def run_of_process(self, source: str, pid: int) -> dict | None:
        """The run a crawl process started for a source (the latest, should a pid recur)."""
        return self._one("SELECT * FROM runs WHERE source = ? AND pid = ? ORDER BY id DESC "
                         "LIMIT 1", [source, pid])

    def running_runs(self, source: str | None = None) -> list[dict]:
        """The runs still `running`, oldest first. `ORDER BY +id`: a plain `ORDER BY id`
        made SQLite walk every run in id order (0.7 s at ten million runs) rather than
        read the few in idx_runs_running and sort them."""
        if source is None:
            return list(self.db.query("SELECT * FROM runs WHERE status = 'running' "
                                      "ORDER BY +id"))
        return list(self.db.query("SELECT * FROM runs WHERE status = 'running' AND source = ? "
                                  "ORDER BY +id", [source]))

    def last_runs(self, completed: bool = False) -> dict[str, dict]:
        """Each source's latest run (the last started); with `completed`, its latest that
        ran to its end.

        A few index seeks per source, in the (source, started) index: the sources are
        found by skipping from one to the next (a recursive CTE, SQLite's way to a loose
        index scan), each one's latest run by reading that index backwards. A GROUP BY
        source read every run: 1.1 s for `newsmill status` at a million runs.
        """
        where = "AND status NOT IN ('running', 'interrupted')" if completed else ""
        rows = self.db.query(
            "WITH RECURSIVE sources(source) AS (SELECT min(source) FROM runs UNION ALL "
            "SELECT (SELECT min(source) FROM runs WHERE source > sources.source) FROM sources "
            "WHERE sources.source IS NOT NULL) "
            "SELECT runs.* FROM sources JOIN runs ON runs.id = (SELECT id FROM runs latest "
            f"WHERE latest.source = sources.source {where} "
            "ORDER BY latest.started DESC, latest.id DESC LIMIT 1)")
        return {r["source"]: r for r in rows}

    def roll_up_runs(self, before: str, chunk: int = 2000, pause: float = 0.05) -> int:
        """Fold the runs that started before `before` and stored nothing and failed nothing
        into `runs_daily` (a row per source and day); the number of runs folded.

        Kept in full: runs that stored or updated articles or recorded errors, runs not `ok`,
        and each source's latest run (what `newsmill status` and the schedule read). The
        runs to fold are found outside any write; they are folded `chunk` at a time, each
        chunk its own short transaction with a pause after it, so a crawl writing meanwhile
        waits milliseconds, never its busy timeout.
        """
        keep = {r[0] for r in self.db.execute("SELECT max(id) FROM runs GROUP BY source")}
        # Runs are numbered as they start: those before `before` end at the first after it.
        newer = self.db.execute("SELECT id FROM runs WHERE started >= ? ORDER BY id LIMIT 1",
                                [before]).fetchone()
        end = newer[0] if newer else (self.db.execute("SELECT max(id) FROM runs").fetchone()[0]
                                      or 0) + 1
        outcomes = ", ".join(RUN_OUTCOMES)
        sums = ", ".join(f"coalesce(sum({c}), 0)" for c in RUN_OUTCOMES)
        updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in
                            ("runs", "pages", "bytes", *RUN_OUTCOMES))
        folded, after = 0, 0
        while True:
            rows = self.db.execute(
                "SELECT id FROM runs WHERE id > ? AND id < ? AND started < ? AND status = 'ok' "
                "AND articles_new = 0 AND articles_updated = 0 AND errors = 0 "
                "ORDER BY id LIMIT ?", [after, end, before, chunk]).fetchall()
            if not rows:
                return folded
            after = rows[-1][0]
            ids = [r[0] for r in rows if r[0] not in keep]
            if not ids:
                continue
            marks = ",".join("?" * len(ids))
            with self.write():
                self.db.execute(
                    f"INSERT INTO runs_daily (source, day, runs, pages, bytes, {outcomes}, "
                    "first_started, last_started) "
                    "SELECT source, substr(started, 1, 10), count(*), coalesce(sum(pages), 0), "
                    f"coalesce(sum(bytes), 0), {sums}, min(started), max(started) "
                    f"FROM runs WHERE id IN ({marks}) GROUP BY source, substr(started, 1, 10) "
                    f"ON CONFLICT (source, day) DO UPDATE SET {updates}, "
                    "first_started = min(first_started, excluded.first_started), "
                    "last_started = max(last_started, excluded.last_started)", ids)
                self.db.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
            folded += len(ids)
            time.sleep(pause)

    def tidy(self, pages_per_step: int = 500, pause: float = 0.05) -> int:
        """Keep the store quick to read as it grows: merge the full-text index's segments a
        step at a time (FTS5's 'merge', each step its own short transaction, rather than
        'optimize', which would hold the writer for the whole index), then PRAGMA optimize
        (SQLite's own statistics upkeep). The number of merge steps that did work."""
        steps = 0
        while True:
            with self.write():
                before = self.db.conn.total_changes
                self.db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?)",
                                [pages_per_step])
                worked = self.db.conn.total_changes - before >= 2  # FTS5's sign of work done
            if not worked:
                break
            steps += 1
            time.sleep(pause)
        self.db.execute("PRAGMA optimize")
        return steps

    def give_back_free_pages(self, keep: float = 0.10, pages_per_step: int = 1024,
                             pause: float = 0.05) -> int:
        """Hand the file's free pages back to the file system, beyond a reserve of `keep`
        of the file, a step of `pages_per_step` at a time (SQLite's incremental vacuum,
        each step its own short transaction); the number of pages given back.

        Deleted rows (run history rolled up, articles removed) leave free pages inside the
        file, which later writes reuse. The reserve is what the next days of writing take
        back anyway: giving it away would only have the file grow again. A file made
        without auto_vacuum = INCREMENTAL (a store made before newsmill laid out new files
        so) cannot give pages back short of a full VACUUM: nothing is done."""
        if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            return 0
        given = 0
        while True:
            pages = self.db.execute("PRAGMA page_count").fetchone()[0]
            spare = self.db.execute("PRAGMA freelist_count").fetchone()[0] - int(pages * keep)
            if spare <= 0:
                return given
            step = min(spare, pages_per_step)
            with self.write():
                self.db.execute(f"PRAGMA incremental_vacuum({step})").fetchall()
            given += step
            time.sleep(pause)

    def last_successes(self) -> dict[str, float]:
        """When each source's last run that ended ok finished, as a Unix time."""
        rows = self.db.execute("SELECT source, max(finished) FROM runs WHERE status = 'ok' "
                               "GROUP BY source").fetchall()
        return {source: datetime.fromisoformat(finished).timestamp() for source, finished in rows if finished}

    def error_kinds(self, run_id: int) -> dict[str, int]:
        """A run's failed requests, counted by kind."""
        return dict(self.db.execute("SELECT kind, count(*) FROM errors WHERE run_id = ? "
                                    "GROUP BY kind", [run_id]).fetchall())

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

    def daemon_heartbeat(self, daemon_id: int, schedules: dict[str, dict] | None = None,
                         load: dict | None = None) -> None:
        """The daemon is alive; optionally with each source's current schedule state, and
        its load (the daemon table's crawl_limit ... pressure columns)."""
        with self.write():
            now = utcnow()
            self.db["daemon"].update(daemon_id, {"heartbeat": now, **(load or {})})
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
