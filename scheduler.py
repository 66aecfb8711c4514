"""The newsmill daemon: runs each source's crawl on its own schedule, for months, unattended.

APScheduler decides *when*: one job per source, on an interval or cron trigger, never two
at once, missed starts coalesced, a little jitter (the schedule maths: crawler/schedule.py).
A crawl backend crawls (crawler/crawl_backends.py): long-lived crawl worker processes on this
machine, or `newsmill worker`s on any machine through Redis. Either way the daemon judges how
each crawl ended the same way, backs off a failing source and adapts an every = "auto" one.
How many crawl at once follows the work and the machine's load (crawler/concurrency.py);
--metrics-port shows Prometheus what happens (crawler/metrics.py); a daily job keeps the
store small and quick to read.
The `runs` table is the record of what happened: the daemon reads it to catch up after
downtime and to judge each crawl, and writes a heartbeat and each source's schedule state
there for `newsmill status` (crawler/status.py).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from crawler.concurrency import CrawlSlots, LoadMeter
from crawler.crawl_backends import CrawlBackend, CrawlOutcome, LocalWorkers, RedisQueue
from crawler.metrics import CrawlMetrics, Heartbeat, MetricsServer
from crawler.schedule import DaemonSettings, ScheduledSource
from crawler.sources import Source, SourcesError, load_sources
from crawler.times import duration_text, iso, now_utc, parse_time
from pipelines.database import ArticleStore, StoreError

logger = logging.getLogger("newsmill.daemon")

# The heartbeat writes every source's schedule state once in this many beats (see _main_loop).
SCHEDULES_EVERY = 12


class DaemonError(RuntimeError):
    """The daemon cannot start; the message is meant for people."""


class SlotExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, telling the crawl slots when each crawl was due.

    A crawl waits from the moment APScheduler hands it over (it may sit in the pool's queue
    before a thread takes it): that is how far behind its schedule the daemon is."""

    def __init__(self, slots: CrawlSlots):
        super().__init__(slots.ceiling)
        self.slots = slots

    def _do_submit_job(self, job, run_times):
        self.slots.submitted(job.id, run_times[0])
        super()._do_submit_job(job, run_times)


class DaemonLock:
    """One daemon per database: an exclusive flock on `<db>.daemon.lock`.

    The OS drops the lock when the process ends, however it ends (kill -9 included), so
    there is never a stale lock to clean up by hand.
    """

    def __init__(self, db_path: str | Path):
        self.db_path = db_path
        self.path = Path(f"{db_path}.daemon.lock")
        self.file = None

    def acquire(self) -> DaemonLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise DaemonError(f"{self.db_path}: another newsmill daemon (pid {holder}) is already "
                              f"running on this database (lock file {self.path}); stop it first, "
                              "or give this one another --db") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.file = handle
        return self

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing the file releases the lock
            self.file = None


class Daemon:
    """Runs until SIGTERM/SIGINT; SIGHUP re-reads the sources file."""

    def __init__(self, sources_file: str, db_path: str, max_parallel: int | None = None,
                 grace: float = 30.0, overrides: dict | None = None,
                 redis_url: str | None = None, write: bool = True,
                 metrics_port: int | None = None, metrics_host: str = "127.0.0.1"):
        self.sources_file = str(Path(sources_file).resolve())
        self.db_path = str(Path(db_path).resolve())
        self.max_parallel = max_parallel  # a ceiling; None: as many as the work needs
        self.metrics_address = (metrics_host, metrics_port) if metrics_port is not None else None
        self.grace = grace
        self.overrides = dict(overrides or {})
        try:
            self.settings = DaemonSettings.from_overrides(self.overrides)
        except ValueError as exc:
            raise DaemonError(str(exc)) from exc
        self.entries: dict[str, ScheduledSource] = {}
        self.states: dict[str, dict] = {}  # failures, backoff_until, last_note per source
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.stop_signals = 0
        self.reload_requested = False
        self.active_jobs = 0
        self.scheduler: BackgroundScheduler | None = None
        self.daemon_id: int | None = None
        if not redis_url and self.settings.workers < 1:
            raise DaemonError(f"NEWSMILL_DAEMON_WORKERS = {self.settings.workers}: the daemon "
                              "crawls in at least one crawl worker (default 1)")
        # Who crawls: this machine's crawl workers, or with --redis the `newsmill worker`s of a
        # Redis queue, whose results this daemon also writes unless `write` is off.
        self.backend: CrawlBackend = (
            RedisQueue(redis_url, self.db_path, self.settings, self.overrides, write)
            if redis_url else LocalWorkers(self.db_path, self.settings, self.overrides))
        # Local crawls take this machine's CPU and memory: their number follows its load. A
        # crawl queued on Redis costs this machine a waiting thread; its workers pace it.
        extract = int(self.overrides.get("EXTRACT_WORKERS", self.settings.extract_workers)) \
            or os.cpu_count() or 1
        busy_cores = min(os.cpu_count() or 1, self.settings.workers * (1 + extract))
        self.slots = CrawlSlots(max_parallel, busy_cores, follow_load=not redis_url)
        self.meter = LoadMeter()
        # /healthz: the main loop comes round every 0.2 s and beats once a heartbeat; a loop
        # quiet for four heartbeats (10 s at least) is stuck.
        self.loop = Heartbeat(max(10.0, 4 * self.settings.heartbeat), "daemon's main loop")
        self.metrics = CrawlMetrics(self._live_metrics, "daemon")
        self.metrics_server: MetricsServer | None = None
        self.last_success: dict[str, float] = {}  # source -> Unix time its last ok run ended

    # --- life cycle ------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped; returns the exit status (0 after a clean stop)."""
        self._install_signal_handlers()  # from the start: a signal is never a traceback
        lock = DaemonLock(self.db_path).acquire()
        try:
            try:
                sources = load_sources(self.sources_file)
            except SourcesError as exc:
                raise DaemonError(str(exc)) from exc
            store = ArticleStore(self.db_path)
            try:
                self.backend.start()
            except RuntimeError as exc:
                raise DaemonError(str(exc)) from exc
            self._interrupt_orphaned_runs(store)
            self.daemon_id = store.daemon_started(os.getpid(), socket.gethostname(),
                                                  self.sources_file, self.max_parallel,
                                                  self.settings.heartbeat)
            self.last_success = store.last_successes()
            self.states = {name: {"failures": row["failures"],
                                  "backoff_until": row["backoff_until"],
                                  "last_note": row["last_note"]}
                           for name, row in store.source_schedules().items()}
            self.scheduler = BackgroundScheduler(executors={
                "default": SlotExecutor(self.slots),
                "housekeeping": ThreadPoolExecutor(1)})  # not a crawl: takes no crawl slot
            self.scheduler.add_listener(self._on_skipped_start, EVENT_JOB_MAX_INSTANCES)
            self.scheduler.start(paused=True)
            self.scheduler.add_job(self._housekeeping, "interval", days=1,  # at start, daily
                                   executor="housekeeping", id="newsmill:housekeeping",
                                   next_run_time=now_utc(), max_instances=1, coalesce=True,
                                   misfire_grace_time=None)
            self._apply_sources(sources, store)
            self.loop.alive = lambda: self.scheduler.running
            if self.metrics_address:
                try:
                    self.metrics_server = MetricsServer(self.metrics, self.loop,
                                                        *self.metrics_address)
                except RuntimeError as exc:
                    raise DaemonError(str(exc)) from exc
            self.scheduler.resume()
            logger.info("daemon started (pid %d): %d sources from %s into %s; crawls at once: %s",
                        os.getpid(), len(sources), self.sources_file, self.db_path,
                        f"at most {self.max_parallel}" if self.max_parallel else
                        f"as many as are due, while the machine carries them (up to "
                        f"{self.slots.ceiling})")
            self._main_loop(store)
            self._shut_down(store)
            store.close()
            return 0
        finally:
            lock.release()

    def _install_signal_handlers(self) -> None:
        def stop(signum, frame):
            self.stop_signals += 1

        def reload(signum, frame):
            self.reload_requested = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def _main_loop(self, store: ArticleStore) -> None:
        # Signal handlers only set flags; the work happens here, on the main thread.
        next_beat, beats = 0.0, 0
        while not self.stop_signals:
            self.loop.beat()
            if self.reload_requested:
                self.reload_requested = False
                self._without_crashing(self._reload, store)
            if time.monotonic() >= next_beat:
                # Every source's schedule state is written after each of its crawls; all of
                # them again every SCHEDULES_EVERY beats (skipped starts move next runs too).
                every = beats % SCHEDULES_EVERY == 0
                self._without_crashing(
                    lambda store, every=every: self._heartbeat(store, None if every else ()),
                    store)
                beats += 1
                self.slots.adjust(self.meter.read())
                self.backend.housekeeping(memory=True)
                next_beat = time.monotonic() + self.settings.heartbeat
            time.sleep(0.2)

    def _shut_down(self, store: ArticleStore) -> None:
        self.stopping.set()
        self.backend.abandon_waits()
        self.scheduler.shutdown(wait=False)
        running = self.backend.running()
        logger.info("stopping: no new crawls; %d running, given %.0fs to finish",
                    len(running), self.grace)
        deadline = time.monotonic() + self.grace
        while self.backend.running() and time.monotonic() < deadline \
                and self.stop_signals < 2:  # a second signal: stop them now
            time.sleep(0.2)
        running = self.backend.running()
        if running:
            logger.info("stopping %d crawl(s): %s", len(running),
                        ", ".join(c.name for c in running))
            stoppers = [threading.Thread(target=c.stop, args=(self.settings.kill_grace,))
                        for c in running]
            for thread in stoppers:
                thread.start()
            for thread in stoppers:
                thread.join()
        # The crawl jobs record how their runs ended; wait for them.
        deadline = time.monotonic() + self.settings.kill_grace + 10
        while self.active_jobs and time.monotonic() < deadline:
            time.sleep(0.1)
        self.backend.close()
        self._without_crashing(self._heartbeat, store)
        self._without_crashing(lambda store: store.daemon_stopped(self.daemon_id), store)
        if self.metrics_server is not None:
            self.metrics_server.close()
        logger.info("daemon stopped")

    @staticmethod
    def _without_crashing(write, store: ArticleStore) -> None:
        """A database that is busy or failing for a while must not end the daemon."""
        try:
            write(store)
        except (sqlite3.Error, StoreError) as exc:
            logger.error("cannot write to the database, will retry: %s", exc)

    def _interrupt_orphaned_runs(self, store: ArticleStore) -> None:
        """Runs left `running` by a crawl that died with its daemon (or was kill -9'd)."""
        for run in store.mark_orphaned_runs():
            logger.warning("%s: run %d was left running by a crawl that is gone "
                           "(pid %s); marked interrupted", run["source"], run["id"], run["pid"])

    # --- schedules -------------------------------------------------------------------
    def _apply_sources(self, sources: list[Source], store: ArticleStore) -> None:
        """Schedule new and changed sources, unschedule removed and paused ones."""
        old = self.entries
        new = {s.name: ScheduledSource.build(s, self.settings) for s in sources}
        # A run that was interrupted (the daemon stopped, the machine went down) does not
        # count: such a source is due at once.
        last_runs = store.last_runs(completed=True)
        added, changed, removed = [], [], []
        for name in old.keys() - new.keys():
            removed.append(name)
            self._unschedule(name)
        for name, entry in new.items():
            before = old.get(name)
            if before is not None and before.source == entry.source:
                new[name] = before
                continue
            (changed if before else added).append(name)
            self._unschedule(name)
            if not entry.source.enabled:
                continue
            state = self.states.setdefault(name, {"failures": 0, "backoff_until": None,
                                                  "last_note": None})
            last = last_runs.get(name)
            if entry.source.auto and last:  # else its shortest interval until a first run
                entry.adapt(store, self.settings, now_utc())
            first = entry.first_run(parse_time(last["started"]) if last else None,
                                    parse_time(state["backoff_until"]), now_utc())
            self.scheduler.add_job(
                self._crawl_job, entry.trigger, args=[name], id=name, name=name,
                next_run_time=first, max_instances=1, coalesce=True,
                misfire_grace_time=None,  # late (the machine slept): run once, not never
                replace_existing=True)
        self.entries = new
        store.forget_source_schedules(list(new))
        if old:
            logger.info("sources re-read: %d scheduled; added %s; changed %s; removed %s",
                        sum(e.source.enabled for e in new.values()), added or "none",
                        changed or "none", removed or "none")
        self._heartbeat(store)

    def _unschedule(self, name: str) -> None:
        if self.scheduler.get_job(name):
            self.scheduler.remove_job(name)

    def _reload(self, store: ArticleStore) -> None:
        try:
            sources = load_sources(self.sources_file)
        except SourcesError as exc:
            logger.error("SIGHUP: %s; keeping the previous schedule", exc)
            return
        self._apply_sources(sources, store)

    def _heartbeat(self, store: ArticleStore, names=None) -> None:
        """The daemon's heartbeat, with the schedule state of `names` (None: every source).

        Not every source after each crawl: with a thousand sources that was a thousand
        row writes per crawl."""
        schedules = {}
        entries = self.entries.items() if names is None else \
            [(n, self.entries[n]) for n in names if n in self.entries]
        for name, entry in entries:
            job = None if self.stopping.is_set() else self.scheduler.get_job(name)
            state = self.states.get(name, {})
            schedules[name] = {
                "schedule": entry.schedule + ("" if entry.source.enabled else " (paused)"),
                "next_run": iso(job.next_run_time) if job and job.next_run_time else None,
                "failures": state.get("failures", 0),
                "backoff_until": state.get("backoff_until"),
                "last_note": state.get("last_note"),
            }
        load = self.slots.report()
        store.daemon_heartbeat(self.daemon_id, schedules, {
            "crawl_limit": load["limit"], "crawls_running": load["running"],
            "crawls_waiting": load["waiting"], "behind_seconds": round(load["behind"], 1),
            "pressure": load["pressure"]})

    def _live_metrics(self) -> dict:
        """The gauges of /metrics, read at each scrape."""
        load = self.slots.report()
        sources = {name: (self.last_success.get(name), entry.period)
                   for name, entry in list(self.entries.items()) if entry.source.enabled}
        return {"running": load["running"], "waiting": load["waiting"], "limit": load["limit"],
                "behind": load["behind"], "sources": sources, **self.backend.gauges()}

    def _on_skipped_start(self, event) -> None:
        logger.info("%s: start skipped, its previous crawl is still running or waiting "
                    "for a free slot", event.job_id)

    def _housekeeping(self) -> None:
        """Daily: fold old runs that found nothing into runs_daily (NEWSMILL_KEEP_RUNS), merge
        the full-text index a step at a time, give free pages back to the file system
        (incremental vacuum), PRAGMA optimize."""
        began = time.monotonic()
        before = iso(now_utc() - timedelta(seconds=self.settings.keep_runs))
        try:
            store = ArticleStore(self.db_path)
            try:
                folded = store.roll_up_runs(before) if self.settings.keep_runs else 0
                merged = store.tidy()
                freed = store.give_back_free_pages()
                page_size = store.db.execute("PRAGMA page_size").fetchone()[0]
            finally:
                store.close()
        except (sqlite3.Error, StoreError) as exc:
            logger.error("cannot tidy the store, will try again tomorrow: %s", exc)
            return
        if folded:
            logger.info("%d runs that started before %s and found nothing folded into "
                        "runs_daily", folded, before)
        logger.info("store tidied in %.1fs (%d full-text index merge steps, %.1f MB of free "
                    "pages given back, PRAGMA optimize)", time.monotonic() - began, merged,
                    freed * page_size / 1e6)

    # --- one crawl -----------------------------------------------------------------------
    def _crawl_job(self, name: str) -> None:
        with self.lock:
            self.active_jobs += 1
        try:
            self._crawl(name)
        except Exception:  # a bug here must not end the schedule of this source
            logger.exception("%s: the daemon failed to run a crawl", name)
        finally:
            with self.lock:
                self.active_jobs -= 1

    def _crawl(self, name: str) -> None:
        entry = self.entries.get(name)
        if self.stopping.is_set() or entry is None:
            self.slots.forget(name)
            return
        lateness = self.slots.acquire(name, self.stopping)
        if lateness is None:  # the daemon stopped while it waited
            return
        self.metrics.lateness.observe(lateness)
        try:
            store = ArticleStore(self.db_path)
            try:
                outcome = self.backend.crawl(store, entry, self.stopping)
                if outcome is not None:
                    self._record_outcome(store, entry, outcome)
            finally:
                store.close()
        finally:  # whatever happened, the slot is free again
            self.slots.release()

    def _record_outcome(self, store: ArticleStore, entry: ScheduledSource,
                        outcome: CrawlOutcome) -> None:
        """Make sure the run is recorded and closed, judge it, back off if it failed.

        The outcome's `abrupt` says why, should the run be missing or still `running`;
        its `told`, what else is known of how it ended (a worker's word on a run it could
        not start).
        """
        name, run, elapsed = entry.source.name, outcome.run, outcome.elapsed
        if run is None:
            run = store.get_run(store.record_failed_run(name, outcome.pid))
            note = outcome.abrupt
        elif run["status"] == "running":  # killed before Scrapy could close the run itself
            store.interrupt_run(run["id"])
            run = store.get_run(run["id"])
            note = outcome.abrupt
        else:
            note = outcome.told
        stored = run["articles_new"] + run["articles_updated"] + run["articles_unchanged"]
        self.metrics.crawl_ended(run, store.error_kinds(run["id"]))
        if run["status"] == "ok":
            self.last_success[name] = time.time()
        state = self.states.setdefault(name, {"failures": 0})
        status = run["status"]
        if status == "interrupted" and self.stopping.is_set():
            note = "stopped with the daemon"
            failed = None  # neither a success nor a failure of the source
        elif status == "interrupted" and elapsed >= entry.timeout:
            note = f"stopped at its timeout ({entry.timeout:.0f}s)"
            failed = stored == 0  # a slow source that still delivers is not failing
        elif status == "interrupted":
            failed = True
        else:
            failed = status == "failed"
            note = note or ("every request failed" if failed else None)
        if failed is not None:
            state["failures"] = state.get("failures", 0) + 1 if failed else 0
        state["last_note"] = note
        state["backoff_until"] = None
        logger.info("%s: run %d %s in %.1fs: %d pages, %d new, %d updated, %d unchanged, "
                    "%d errors%s", name, run["id"], status, elapsed, run["pages"],
                    run["articles_new"], run["articles_updated"], run["articles_unchanged"],
                    run["errors"], f" ({note})" if note else "")
        if failed and not self.stopping.is_set():
            wait = entry.backoff(state["failures"], self.settings.max_backoff)
            until = now_utc() + timedelta(seconds=wait)
            state["backoff_until"] = iso(until)
            job = self.scheduler.get_job(name)
            if job is not None and job.next_run_time and job.next_run_time < until:
                job.modify(next_run_time=until)
            logger.warning("%s: %d failure(s) in a row; next try not before %s", name,
                           state["failures"], iso(until))
        elif entry.source.auto and not self.stopping.is_set():
            self._adapt(entry, store)
        if not self.stopping.is_set():
            self._heartbeat(store, (name,))

    def _adapt(self, entry: ScheduledSource, store: ArticleStore) -> None:
        """every = "auto": after each run, the interval follows the source's rhythm."""
        before = entry.period
        if entry.adapt(store, self.settings, now_utc()):
            job = self.scheduler.get_job(entry.source.name)
            if job is not None:  # the next start: one new interval from now
                job.reschedule(entry.trigger)
            logger.info("%s: checked every %s instead of %s from now on (%s)", entry.source.name,
                        duration_text(entry.period), duration_text(before),
                        entry.schedule.partition("(")[2].rstrip(")"))
