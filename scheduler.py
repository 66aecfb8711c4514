"""The newsmill daemon: runs each source's crawl on its own schedule, for months, unattended.

APScheduler decides *when*: one job per source, on an interval or cron trigger, never two
at once, missed starts coalesced, a little jitter. What runs a crawl is a long-lived crawl
worker process (crawler/worker.py) that crawls many sources at once, each as its own run;
a crash, a hang or a leak there never reaches the daemon, which stops a crawl alone, or
kills and replaces a worker. With NEWSMILL_DAEMON_WORKERS = 0, each crawl is a process of
its own instead (CrawlProcess: a fresh Scrapy runtime, as `newsmill crawl` runs it).
The `runs` table is the record of what happened: the daemon reads it to catch up after
downtime and to judge each crawl, and writes a heartbeat and each source's schedule state
there for `newsmill status`.
"""

from __future__ import annotations

import fcntl
import logging
import logging.handlers
import multiprocessing
import multiprocessing.context
import os
import random
import signal
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.sources import Source, SourcesError, load_sources, parse_duration
from crawler.worker import (
    CrawlWorker,
    WorkerCrawl,
    WorkerOptions,
    crawl_in_own_process,
    exit_status_within,
)
from pipelines.database import ArticleStore, StoreError, process_is_alive

logger = logging.getLogger("newsmill.daemon")


class DaemonError(RuntimeError):
    """The daemon cannot start; the message is meant for people."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


# --- settings, locks, logging -------------------------------------------------------
@dataclass(frozen=True)
class DaemonSettings:
    """The NEWSMILL_DAEMON_* settings (documented in crawler/settings.py)."""

    heartbeat: float
    jitter: float
    min_timeout: float
    max_timeout: float
    kill_grace: float
    max_backoff: float
    extract_workers: int
    auto_window: float  # every = "auto": how far back the source's rhythm is read
    auto_checks: float  # every = "auto": checks per expected new article
    workers: int
    worker_max_crawls: int
    worker_max_memory: float  # MB

    @classmethod
    def from_overrides(cls, overrides: dict) -> DaemonSettings:
        from scrapy.settings import Settings

        settings = Settings()
        settings.setmodule("crawler.settings", priority="project")
        settings.setdict(overrides, priority="cmdline")
        get = settings.getfloat
        return cls(
            heartbeat=get("NEWSMILL_DAEMON_HEARTBEAT"), jitter=get("NEWSMILL_DAEMON_JITTER"),
            min_timeout=get("NEWSMILL_DAEMON_MIN_TIMEOUT"),
            max_timeout=get("NEWSMILL_DAEMON_MAX_TIMEOUT"),
            kill_grace=get("NEWSMILL_DAEMON_KILL_GRACE"),
            max_backoff=get("NEWSMILL_DAEMON_MAX_BACKOFF"),
            extract_workers=settings.getint("NEWSMILL_DAEMON_EXTRACT_WORKERS"),
            auto_window=float(parse_duration(settings.get("NEWSMILL_DAEMON_AUTO_WINDOW"))),
            auto_checks=get("NEWSMILL_DAEMON_AUTO_CHECKS_PER_ARTICLE"),
            workers=settings.getint("NEWSMILL_DAEMON_WORKERS"),
            worker_max_crawls=settings.getint("NEWSMILL_DAEMON_WORKER_MAX_CRAWLS"),
            worker_max_memory=get("NEWSMILL_DAEMON_WORKER_MAX_MEMORY"),
        )


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


def configure_logging(level: str = "INFO", log_file: str | None = None) -> None:
    """One line per event to stderr and, with --log-file, to a rotating file."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # The daemon logs skipped starts in its own words; APScheduler's INFO lines are noise.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


# --- schedules ------------------------------------------------------------------------
# The heartbeat writes every source's schedule state once in this many beats (see _main_loop).
SCHEDULES_EVERY = 12


def describe_schedule(source: Source) -> str:
    if source.cron:
        return f"cron {source.cron}" + (f" ({source.timezone})" if source.timezone else "")
    if source.auto:
        return f"auto ({source.every_min}-{source.every_max})"
    return f"every {source.every}"


def auto_interval(published: list[datetime], now: datetime, lowest: float, highest: float,
                  window: float, checks_per_article: float) -> tuple[float, str]:
    """The interval for an every = "auto" source, and why, from when its articles appeared.

    The interval is the mean time between the source's articles, divided by
    `checks_per_article`, within [lowest, highest]: a source that publishes every ten
    minutes is checked every five (two checks per article), one that has published nothing
    in the last `window` seconds at `highest`. The mean is taken over the whole window and
    over its last day and last six hours, and the busiest of the three counts, so a story
    breaking on a quiet source is followed within hours, not days. The rule of Miniflux's
    entry-frequency scheduler (interval = window / articles), measured from publication
    dates rather than from what each check found, so the first check already knows the
    source's rhythm from its feed or sitemap.
    """
    recent = sorted(t for t in published if 0 <= (now - t).total_seconds() <= window)
    if not recent:
        return highest, f"no new article in the last {duration_text(window)}"
    best = None
    for length in sorted({window, min(window, 86400.0), min(window, 21600.0)}, reverse=True):
        inside = [t for t in recent if (now - t).total_seconds() <= length]
        if inside:
            span = max((now - inside[0]).total_seconds(), lowest)
            gap = span / len(inside)
            if best is None or gap < best[0]:
                best = (gap, len(inside), span)
    gap, count, span = best
    interval = min(max(gap / checks_per_article, lowest), highest)
    return interval, f"{count} articles in the last {duration_text(span)}"


def duration_text(seconds: float) -> str:
    """3s, 12m, 5h, 2d; 1h30m for what one unit says badly (logs, `newsmill status`)."""
    seconds = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            smaller = {"d": ("h", 3600), "h": ("m", 60), "m": ("s", 1)}[unit]
            part = rest // smaller[1]
            return f"{whole}{unit}" + (f"{part}{smaller[0]}" if part and whole < 10 else "")
    return f"{seconds}s"


def _published_moment(text: str) -> datetime | None:
    """A stored date as an instant: a date is its midnight, a time without offset is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class ScheduledSource:
    """A source with its trigger and the limits the daemon holds it to."""

    source: Source
    trigger: IntervalTrigger | CronTrigger
    period: float  # seconds between two starts
    timeout: float  # seconds a crawl may run
    schedule: str

    @classmethod
    def build(cls, source: Source, settings: DaemonSettings) -> ScheduledSource:
        if source.cron:
            # No timezone: the machine's local time, as crontab reads its lines.
            trigger = CronTrigger.from_crontab(source.cron, timezone=source.timezone)
            first = trigger.get_next_fire_time(None, now_utc())
            second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
            period = (second - first).total_seconds()
        else:  # every = "auto" starts at its shortest interval until it has learnt (adapt)
            period = float(source.interval_seconds or parse_duration(source.every_min))
            trigger = IntervalTrigger(seconds=period)
            if source.auto:
                schedule = f"auto: every {source.every_min} (not crawled yet)"
        trigger.jitter = min(settings.jitter, period / 10) or None
        if source.timeout:
            timeout = float(parse_duration(source.timeout))
        else:  # an "auto" source's from its shortest interval: it may come to run that often
            timeout = min(max(period * 0.9, settings.min_timeout), settings.max_timeout)
        return cls(source, trigger, period, timeout,
                   schedule if source.auto else describe_schedule(source))

    def adapt(self, store: ArticleStore, settings: DaemonSettings, now: datetime) -> bool:
        """every = "auto": set the interval from the source's rhythm (auto_interval);
        True when it changed by more than a tenth."""
        since = iso(now - timedelta(seconds=settings.auto_window))
        published = [m for m in map(_published_moment, store.publication_times(
            self.source.name, since)) if m is not None]
        interval, why = auto_interval(
            published, now, float(parse_duration(self.source.every_min)),
            float(parse_duration(self.source.every_max)), settings.auto_window,
            settings.auto_checks)
        changed = abs(interval - self.period) > self.period / 10
        if changed:
            self.period = interval
        self.schedule = f"auto: every {duration_text(self.period)} ({why})"
        if not changed:
            return False
        self.trigger = IntervalTrigger(seconds=interval)
        self.trigger.jitter = min(settings.jitter, interval / 10) or None
        return True

    def first_run(self, last_started: datetime | None, backoff_until: datetime | None,
                  now: datetime) -> datetime:
        """When to start first: at once if a start was missed (one catch-up, not N).

        A source never crawled starts at once on an interval, at its next time on cron.
        """
        if self.source.cron:  # the trigger adds its jitter itself
            due = self.trigger.get_next_fire_time(
                None, last_started + timedelta(seconds=1) if last_started else now)
        else:
            due = max(last_started + timedelta(seconds=self.period) if last_started else now, now)
            due += timedelta(seconds=random.uniform(0, self.trigger.jitter or 0))
        return max(due, now, backoff_until or now)

    def backoff(self, failures: int, max_backoff: float) -> float:
        """Seconds to wait after `failures` failures in a row: doubling, capped."""
        return min(self.period * 2 ** failures, max(max_backoff, self.period))


# --- one crawl ----------------------------------------------------------------------------
# What a crawl imports, imported once in the forkserver that forks every crawl worker (and
# every crawl process, with NEWSMILL_DAEMON_WORKERS = 0), so that none spends half a second
# of CPU importing them. None of them installs or starts a Twisted reactor: each worker or
# process installs its own.
CRAWL_PRELOAD = [
    "crawler.worker", "crawler.runner", "crawler.spiders.articles", "crawler.extensions",
    "pipelines.extraction", "pipelines.storage", "scrapy.core.engine", "scrapy.core.scraper",
    "scrapy.core.downloader.handlers.http11", "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.extensions.closespider", "scrapy.crawler",
]


def crawl_process_context() -> multiprocessing.context.BaseContext:
    """Crawl processes are forked from a forkserver that preloaded CRAWL_PRELOAD.

    Not plain fork: the daemon has threads (APScheduler's) that a fork would copy mid-flight;
    the forkserver is single-threaded and never runs a crawl itself.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(CRAWL_PRELOAD)
    return context


class CrawlProcess:
    """One crawl of one source in its own process, and its own process group.

    The process group holds the crawl's extraction workers too, so a kill leaves nothing
    behind; being a separate session keeps a terminal's Ctrl-C for the daemon to handle.
    """

    def __init__(self, name: str, arguments: tuple,
                 context: multiprocessing.context.BaseContext):
        self.name = name
        reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=crawl_in_own_process, args=(*arguments, writer),
                                       name=f"newsmill crawl {name}")
        self.process.start()
        writer.close()
        self.log = open(os.dup(reader.fileno()), errors="replace")
        reader.close()
        self.pid = self.process.pid
        self.started = time.monotonic()
        self.stop_lock = threading.Lock()
        self.wait_lock = threading.Lock()
        self.stopping = False
        self.relay = threading.Thread(target=self._relay_log, daemon=True)
        self.relay.start()

    def _relay_log(self) -> None:
        """The crawl's warnings and errors go into the daemon's log, each at its own level."""
        for line in self.log:
            if line.strip():
                level, _, rest = line.rstrip().partition(" ")
                if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
                    logger.log(logging.getLevelName(level), "%s: %s", self.name, rest)
                else:  # a line the crawl's log format did not make (a traceback's, say)
                    logger.warning("%s: %s", self.name, line.rstrip())

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait(self, seconds: float) -> int | None:
        """The exit status (negative: killed by that signal), or None if still running."""
        return exit_status_within(self.process, self.wait_lock, seconds)

    def stop(self, kill_grace: float) -> None:
        """SIGTERM (Scrapy closes the spider, flushes and marks its run), then SIGKILL.

        Only once: a second SIGTERM makes Scrapy skip that clean close.
        """
        with self.stop_lock:
            if self.stopping:
                return
            self.stopping = True
        self.signal(signal.SIGTERM)
        if self.wait(kill_grace) is None:
            logger.warning("%s: crawl (pid %d) did not stop within %.0fs; killing it",
                           self.name, self.pid, kill_grace)
            self.kill_group()

    def signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill_group(self) -> None:
        self.signal(signal.SIGKILL)  # in case it had no group of its own yet
        self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        # The group outlives its leader while any member lives, so its id cannot be reused.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> None:
        """After the crawl process ended: what it left behind, its log, its handles."""
        while self.wait(1.0) is None:
            pass
        # Only the group: the process itself is gone and the forkserver (its parent) has
        # reaped it, so its pid may already belong to someone else.
        self._kill_leftovers()  # extraction workers of a killed crawl
        self.relay.join(timeout=2)
        self.log.close()
        self.process.close()


# --- the daemon --------------------------------------------------------------------------
class Daemon:
    """Runs until SIGTERM/SIGINT; SIGHUP re-reads the sources file."""

    def __init__(self, sources_file: str, db_path: str, max_parallel: int = 2,
                 grace: float = 30.0, overrides: dict | None = None,
                 redis_url: str | None = None, write: bool = True):
        self.sources_file = str(Path(sources_file).resolve())
        self.db_path = str(Path(db_path).resolve())
        self.max_parallel = max_parallel
        self.grace = grace
        self.overrides = dict(overrides or {})
        self.settings = DaemonSettings.from_overrides(self.overrides)
        self.entries: dict[str, ScheduledSource] = {}
        self.states: dict[str, dict] = {}  # failures, backoff_until, last_note per source
        self.children: dict[str, CrawlProcess | WorkerCrawl] = {}
        self.workers: list[CrawlWorker] = []  # NEWSMILL_DAEMON_WORKERS > 0: the pool
        self.worker_count = 0
        self.crawl_count = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.stop_signals = 0
        self.reload_requested = False
        self.active_jobs = 0
        self.scheduler: BackgroundScheduler | None = None
        self.daemon_id: int | None = None
        self.crawl_context = crawl_process_context()
        # --redis: due sources go on a Redis queue for `newsmill worker`s; with `write`, this
        # daemon is also the one writer of their results (pipelines/remote_writer.py).
        self.redis_url = redis_url
        self.write_results = write
        self.link = None
        self.writer_thread: threading.Thread | None = None
        self.writer_stop = threading.Event()

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
            if self.redis_url:
                self._connect_redis()
            self._interrupt_orphaned_runs(store)
            self.daemon_id = store.daemon_started(os.getpid(), socket.gethostname(),
                                                  self.sources_file, self.max_parallel,
                                                  self.settings.heartbeat)
            self.states = {name: {"failures": row["failures"],
                                  "backoff_until": row["backoff_until"],
                                  "last_note": row["last_note"]}
                           for name, row in store.source_schedules().items()}
            self.scheduler = BackgroundScheduler(
                executors={"default": ThreadPoolExecutor(self.max_parallel)})
            self.scheduler.add_listener(self._on_skipped_start, EVENT_JOB_MAX_INSTANCES)
            self.scheduler.start(paused=True)
            self._apply_sources(sources, store)
            self.scheduler.resume()
            logger.info("daemon started (pid %d): %d sources from %s into %s, at most %d "
                        "crawls at once", os.getpid(), len(sources), self.sources_file,
                        self.db_path, self.max_parallel)
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
                self._check_workers(memory=True)
                next_beat = time.monotonic() + self.settings.heartbeat
            time.sleep(0.2)

    def _shut_down(self, store: ArticleStore) -> None:
        self.stopping.set()
        if self.link is not None:  # calls waiting for a Redis that is away give up now
            self.link.abandon.set()
        self.scheduler.shutdown(wait=False)
        running = self._running_children()
        logger.info("stopping: no new crawls; %d running, given %.0fs to finish",
                    len(running), self.grace)
        deadline = time.monotonic() + self.grace
        while self._running_children() and time.monotonic() < deadline \
                and self.stop_signals < 2:  # a second signal: stop them now
            time.sleep(0.2)
        running = self._running_children()
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
        with self.lock:
            workers, self.workers = self.workers, []
        for worker in workers:
            worker.exit()
        for worker in workers:
            worker.reap(self.settings.kill_grace)
        if self.writer_thread is not None:
            self.writer_stop.set()
            self.writer_thread.join(timeout=self.settings.kill_grace + 30)
        self._without_crashing(self._heartbeat, store)
        self._without_crashing(lambda store: store.daemon_stopped(self.daemon_id), store)
        logger.info("daemon stopped")

    @staticmethod
    def _without_crashing(write, store: ArticleStore) -> None:
        """A database that is busy or failing for a while must not end the daemon."""
        try:
            write(store)
        except (sqlite3.Error, StoreError) as exc:
            logger.error("cannot write to the database, will retry: %s", exc)

    def _running_children(self) -> list[CrawlProcess | WorkerCrawl]:
        with self.lock:
            return list(self.children.values())

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
        store.daemon_heartbeat(self.daemon_id, schedules)

    def _on_skipped_start(self, event) -> None:
        logger.info("%s: start skipped, its previous crawl is still running or waiting "
                    "for a free slot", event.job_id)

    # --- one crawl -----------------------------------------------------------------------
    def crawl_arguments(self, entry: ScheduledSource) -> tuple:
        """What a crawl process is given: the source, the database, the settings (every -s
        given to the daemon among them) and the log level."""
        settings = {"EXTRACT_WORKERS": self.settings.extract_workers,
                    # Scrapy's CloseSpider stops the crawl cleanly at its timeout; the daemon
                    # only steps in from outside if that does not work.
                    "CLOSESPIDER_TIMEOUT": int(entry.timeout) or 1,
                    "NEWSMILL_PROGRESS": "off",
                    # Each line goes into the daemon's log, which adds the time and source.
                    "LOG_FORMAT": "%(levelname)s %(name)s: %(message)s", **self.overrides}
        # Warnings and errors only (a failed URL is one line), unless the daemon's own log is
        # at DEBUG: then everything, tracebacks included.
        level = "DEBUG" if logger.isEnabledFor(logging.DEBUG) else "WARNING"
        return entry.source.to_dict(), self.db_path, settings, level

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
            return
        store = ArticleStore(self.db_path)
        try:
            if self.link is not None:
                self._crawl_on_redis(store, entry)
                return
            busy = [r for r in store.running_runs(name) if process_is_alive(r["pid"], r["started"])]
            if busy:
                logger.info("%s: start skipped, run %d (pid %d) of this source is still "
                            "running", name, busy[0]["id"], busy[0]["pid"])
                return
            if self.settings.workers > 0:
                self._crawl_in_worker(store, entry)
                return
            with self.lock:
                if self.stopping.is_set():
                    return
                child = CrawlProcess(name, self.crawl_arguments(entry), self.crawl_context)
                self.children[name] = child
            logger.info("%s: crawl started (pid %d, timeout %.0fs)", name, child.pid,
                        entry.timeout)
            deadline = entry.timeout + self.settings.kill_grace
            while (status := child.wait(0.5)) is None:
                if child.elapsed > deadline and not child.stopping:
                    logger.warning("%s: crawl (pid %d) still running %.0fs after its timeout; "
                                   "stopping it", name, child.pid, self.settings.kill_grace)
                    child.stop(self.settings.kill_grace)
            child.reap()
            with self.lock:
                self.children.pop(name, None)
            run = store.run_of_process(name, child.pid)
            if run is None:
                note = f"the crawl process exited with status {status} before it started"
            else:
                note = f"the crawl process ended abruptly (exit status {status})"
            self._record_outcome(store, entry, run, child.pid, child.elapsed, note)
        finally:
            store.close()

    # --- crawls in long-lived workers ----------------------------------------------------
    def crawl_overrides(self, entry: ScheduledSource) -> dict:
        """The settings of one crawl in a worker; every -s given to the daemon is passed on."""
        # Scrapy's CloseSpider stops the crawl cleanly at its timeout; the daemon only
        # steps in from outside if that does not work.
        return {"CLOSESPIDER_TIMEOUT": int(entry.timeout) or 1, "NEWSMILL_PROGRESS": "off",
                **self.overrides}

    def _worker_for_crawl(self) -> CrawlWorker:
        """The least busy worker taking crawls; a new one while fewer than WORKERS run."""
        open_ = [w for w in self.workers if not w.retiring and not w.dead.is_set()]
        if len(open_) < self.settings.workers and (not open_ or min(w.running for w in open_)):
            level = "DEBUG" if logger.isEnabledFor(logging.DEBUG) else "WARNING"
            # -s EXTRACT_WORKERS wins over NEWSMILL_DAEMON_EXTRACT_WORKERS, as for a crawl.
            extract = int(self.overrides.get("EXTRACT_WORKERS", self.settings.extract_workers))
            options = WorkerOptions({"EXTRACT_WORKERS": self.settings.extract_workers,
                                     **self.overrides}, level, extract or os.cpu_count() or 1)
            self.worker_count += 1
            worker = CrawlWorker(self.worker_count, options, self.crawl_context)
            logger.info("crawl worker %d started (pid %d)", self.worker_count, worker.pid)
            self.workers.append(worker)
            return worker
        return min(open_, key=lambda w: w.running)

    def _crawl_in_worker(self, store: ArticleStore, entry: ScheduledSource) -> None:
        name = entry.source.name
        with self.lock:
            if self.stopping.is_set():
                return
            worker = self._worker_for_crawl()
            self.crawl_count += 1
            crawl = worker.crawl(self.crawl_count, name, entry.source.to_dict(), self.db_path,
                                 self.crawl_overrides(entry))
            self.children[name] = crawl
            if self.settings.worker_max_crawls and \
                    worker.given >= self.settings.worker_max_crawls:
                self._retire(worker, f"after {worker.given} crawls")
        logger.info("%s: crawl started (worker pid %d, timeout %.0fs)", name, worker.pid,
                    entry.timeout)
        deadline = entry.timeout + self.settings.kill_grace
        while not crawl.done.wait(0.5):
            if crawl.elapsed > deadline and crawl.stop_asked is None:
                logger.warning("%s: crawl still running %.0fs after its timeout; stopping it",
                               name, self.settings.kill_grace)
                crawl.stop(self.settings.kill_grace)
        with self.lock:
            self.children.pop(name, None)
        if crawl.error:
            logger.error("%s: the crawl failed in its worker: %s", name, crawl.error)
        run_id = crawl.run_ids.get(name)
        run = store.get_run(run_id) if run_id else None
        if run is None:  # the worker died before it said which run it started, if any
            # Its earlier runs of this source have ended: a `running` one is this crawl's.
            run = store.run_of_process(name, worker.pid)
            if run is not None and run["status"] != "running":
                run = None
        if crawl.lost:
            note = f"its crawl worker (pid {worker.pid}) ended abruptly " \
                   f"(exit status {worker.process.exitcode})"
        else:
            note = "the crawl did not start" + (f": {crawl.error}" if crawl.error else "")
        self._record_outcome(store, entry, run, worker.pid, crawl.elapsed, note)
        if crawl.store_failure:
            logger.error("%s: %s", name, crawl.store_failure)
        self._check_workers()

    # --- crawls on other machines, through Redis --------------------------------------------
    def _connect_redis(self) -> None:
        from crawler.redis_link import RedisLink, RedisUnavailable
        from pipelines.remote_writer import ResultWriter, writer_settings

        link = RedisLink(self.redis_url, self.overrides.get("NEWSMILL_REDIS_PREFIX") or "newsmill:")
        try:
            link.ping()
            link.ensure_group("tasks", "workers")
            link.ensure_group("results", "writer")
        except RedisUnavailable as exc:
            raise DaemonError(str(exc)) from exc
        self.link = link
        if self.write_results:
            writer = ResultWriter(link, self.db_path, writer_settings(self.overrides),
                                  self.writer_stop)
            # A daemon thread: should the daemon fail to start, it does not keep the process
            # alive; a message it was writing is not acknowledged, and is written again.
            self.writer_thread = threading.Thread(target=writer.run, name="newsmill-writer",
                                                  daemon=True)
            self.writer_thread.start()
        logger.info("crawls go to the workers of Redis at %s%s", link.where,
                    "; this daemon writes their results" if self.write_results else
                    "; `newsmill store` writes their results")

    def _crawl_on_redis(self, store: ArticleStore, entry: ScheduledSource) -> None:
        """Queue the source for a worker (unless its last task is still queued or running),
        wait until the writer has closed its run, then judge the run as any other."""
        from crawler.redis_link import RedisUnavailable

        name, link = entry.source.name, self.link
        try:
            task = link.call(link.queued_task, name, stop=self.stopping)
            if task is None:
                task = link.call(link.enqueue, entry.source.to_dict(),
                                 self.crawl_overrides(entry), entry.timeout, stop=self.stopping)
                logger.info("%s: crawl queued for the workers (task %s)", name, task)
            else:
                logger.info("%s: its crawl queued before (task %s) has not ended; waiting for "
                            "it", name, task)
            polls = 0
            while not (done := link.call(link.done_run, task, stop=self.stopping)):
                if self.stopping.wait(1.0):
                    return  # the task stays queued; a writer stores what its crawl finds
                polls += 1
                if polls % 30 == 0 and link.call(link.queued_task, name) != task \
                        and not link.call(link.done_run, task):
                    # Neither queued nor done: Redis lost it (restarted without persistence).
                    logger.warning("%s: task %s is no longer in Redis (restarted without "
                                   "persistence?); the source is queued again at its next "
                                   "start", name, task)
                    return
        except RedisUnavailable:  # stopping while Redis is away
            return
        run = store.get_run(done["run_id"]) if done.get("run_id") else None
        elapsed = 0.0
        if run is not None and run["finished"]:
            elapsed = (parse_time(run["finished"]) - parse_time(run["started"])).total_seconds()
        self._record_outcome(store, entry, run, None, elapsed,
                             done.get("note") or "its worker ended without closing the run",
                             told=done.get("note"))

    def _retire(self, worker: CrawlWorker, why: str) -> None:
        """No new crawls for this worker; it exits once its running crawls have ended."""
        if not worker.retiring:
            worker.retiring = True
            logger.info("crawl worker %d (pid %d) replaced %s", worker.number, worker.pid, why)

    def _check_workers(self, memory: bool = False) -> None:
        """Retire workers past their memory ceiling (with `memory`: once a heartbeat, not
        after every crawl); let retired and dead ones go once idle."""
        ceiling = self.settings.worker_max_memory * 1024 * 1024 if memory else 0
        with self.lock:
            for worker in self.workers:
                if ceiling and not worker.retiring and not worker.dead.is_set():
                    if (rss := worker.memory()) > ceiling:
                        self._retire(worker, f"at {rss / 1024 / 1024:.0f} MB of memory")
            done = [w for w in self.workers
                    if w.dead.is_set() or (w.retiring and not w.running)]
            self.workers = [w for w in self.workers if w not in done]
        for worker in done:
            worker.exit()
            threading.Thread(target=worker.reap, args=(self.settings.kill_grace + 10,),
                             daemon=True).start()

    def _record_outcome(self, store: ArticleStore, entry: ScheduledSource, run: dict | None,
                        pid: int | None, elapsed: float, abrupt: str,
                        told: str | None = None) -> None:
        """Make sure the run is recorded and closed, judge it, back off if it failed.

        `abrupt` says why, should the run be missing or still `running`; `told`, what
        else is known of how it ended (a worker's word on a run it could not start).
        """
        name = entry.source.name
        if run is None:
            run = store.get_run(store.record_failed_run(name, pid))
            note = abrupt
        elif run["status"] == "running":  # killed before Scrapy could close the run itself
            store.interrupt_run(run["id"])
            run = store.get_run(run["id"])
            note = abrupt
        else:
            note = told
        stored = run["articles_new"] + run["articles_updated"] + run["articles_unchanged"]
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


# --- newsmill status -------------------------------------------------------------------
def run_is_live(run: dict) -> bool:
    """Whether a `running` run's crawl still runs: its process, on this host; a worker on
    another host is Redis's to judge (the writer interrupts its run when another worker
    takes its task over)."""
    if run.get("task") and run["host"] != socket.gethostname():
        return True
    return process_is_alive(run["pid"], run["started"])


def redis_report(url: str, prefix: str = "newsmill:") -> dict:
    """The queue and the workers, as `newsmill status --redis` shows them."""
    from crawler.redis_link import RedisLink, RedisUnavailable

    link = RedisLink(url, prefix, timeout=5.0)
    try:
        link.ping()
        report = {"url": link.where, "reachable": True, "queue": link.queue(), "workers": []}
        for worker in link.workers():
            age = (now_utc() - parse_time(worker["last_seen"])).total_seconds()
            report["workers"].append({**worker, "last_seen_age": round(max(0.0, age), 1)})
        return report
    except RedisUnavailable as exc:
        return {"url": link.where, "reachable": False, "error": str(exc)}
    finally:
        link.client.close()


def status_report(db_path: str, sources_file: str | None = None,
                  fallback_sources: str | None = None, redis_url: str | None = None) -> dict:
    """What `newsmill status` shows, as plain data (its --json output)."""
    store = ArticleStore(db_path)
    try:
        daemon = store.latest_daemon()
        schedules = store.source_schedules()
        last_runs = store.last_runs()
        running = store.running_runs()
    finally:
        store.close()
    report: dict = {"database": str(db_path), "daemon": None, "sources": []}
    alive = False
    if daemon:
        age = (now_utc() - parse_time(daemon["heartbeat"])).total_seconds()
        stale_after = max(3 * (daemon["heartbeat_seconds"] or 5), 15)
        same_host = daemon["host"] == socket.gethostname()
        alive = (not daemon["stopped"] and age <= stale_after
                 and (not same_host or process_is_alive(daemon["pid"], daemon["started"])))
        report["daemon"] = {**{k: daemon[k] for k in ("pid", "host", "started", "heartbeat",
                                                      "stopped", "sources_file",
                                                      "max_parallel")},
                            "alive": alive, "heartbeat_age": round(age, 1)}
    sources_file = sources_file or (daemon or {}).get("sources_file")
    if not sources_file and fallback_sources and Path(fallback_sources).exists():
        sources_file = fallback_sources
    sources: list[Source] = []
    if sources_file:
        try:
            sources = load_sources(sources_file)
        except SourcesError as exc:
            report["sources_error"] = str(exc)
    report["sources_file"] = sources_file
    names = [s.name for s in sources] + sorted(set(schedules) - {s.name for s in sources})
    by_name = {s.name: s for s in sources}
    running_by_source: dict[str, list[dict]] = {}
    for run in running:
        running_by_source.setdefault(run["source"], []).append(run)
    now = now_utc()
    for name in names:
        source, schedule = by_name.get(name), schedules.get(name, {})
        last = last_runs.get(name)
        live = [r for r in running_by_source.get(name, ()) if run_is_live(r)]
        report["sources"].append({
            "name": name,
            "schedule": (describe_schedule(source) + ("" if source.enabled else " (paused)"))
            if source and not (source.auto and source.enabled and alive
                               and schedule.get("schedule"))
            else schedule.get("schedule"),
            "enabled": source.enabled if source else None,
            "next_run": schedule.get("next_run") if alive else None,
            "running": bool(live),
            "running_since": live[0]["started"] if live else None,
            "failures": schedule.get("failures", 0),
            "backoff_until": schedule.get("backoff_until"),
            "note": schedule.get("last_note"),
            "last_run": _run_summary(last) if last else None,
        })
        entry = report["sources"][-1]
        entry["state"] = source_state(entry, source, alive, report["daemon"], now)
    report["totals"] = {"sources": len(report["sources"]),
                        **{state: sum(s["state"] == state for s in report["sources"])
                           for state in SOURCE_STATES}}
    if redis_url:
        report["redis"] = redis_report(redis_url)
    return report


# What `newsmill status` says of a source, those needing attention first.
SOURCE_STATES = ("failing", "late", "not scheduled", "running", "on schedule", "paused")
# A start this many seconds past its time, with no run going, is late.
LATE_AFTER = 30.0


def source_state(entry: dict, source: Source | None, daemon_alive: bool, daemon: dict | None,
                 now: datetime) -> str:
    """failing (failures in a row, or the last run failed), late (due and not started),
    running, on schedule, paused (enabled = false), or not scheduled (no daemon alive, or
    a source no longer in the sources file)."""
    last = entry["last_run"]
    if entry["failures"] or (last and last["status"] == "failed"):
        return "failing"
    if entry["running"]:
        return "running"
    if source is None:
        return "not scheduled"
    if not source.enabled:
        return "paused"
    if not daemon_alive:
        return "not scheduled"
    backoff = parse_time(entry["backoff_until"])
    if backoff and backoff > now:
        return "on schedule"
    next_run = parse_time(entry["next_run"])
    if next_run and (now - next_run).total_seconds() > LATE_AFTER:
        return "late"
    if source.interval_seconds:
        # APScheduler moves next_run on as soon as a start is handed to its pool, so a start
        # waiting for a free slot shows only here: one period (plus at most the jitter,
        # NEWSMILL_DAEMON_JITTER's default) after the last start, nothing has started.
        started = parse_time(last["started"]) if last else parse_time(daemon["started"])
        period = source.interval_seconds
        waited = (now - started).total_seconds() - period - min(30.0, period / 10)
        if waited > LATE_AFTER:
            return "late"
    return "on schedule"


def _run_summary(run: dict) -> dict:
    finished = parse_time(run["finished"])
    duration = (finished - parse_time(run["started"])).total_seconds() if finished else None
    keys = ("id", "started", "finished", "status", "pages", "articles_new", "articles_updated",
            "articles_unchanged", "not_articles", "errors")
    return {**{k: run[k] for k in keys}, "duration": duration}
