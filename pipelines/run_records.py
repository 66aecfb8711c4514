"""Run and daemon records: what each crawl did (`runs`) and the daemon's heartbeat and
schedules (`daemon`, `daemon_sources`), for the summary table and `newsmill status`."""

from __future__ import annotations

import logging
import socket
from datetime import datetime

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
