"""Who crawls a due source for the daemon, behind one interface.

The daemon (scheduler.py) decides when a source is crawled; a backend crawls it and says how
the crawl ended, as a `CrawlOutcome` the daemon judges the same way whoever crawled:

- `LocalWorkers`: long-lived crawl worker processes on this machine (crawler/worker.py);
- `RedisQueue`: `newsmill worker`s on any machine, through a Redis stream
  (crawler/remote_worker.py), whose results one writer stores (crawler/remote_writer.py).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import threading
from dataclasses import dataclass
from typing import Protocol

from crawler.schedule import DaemonSettings, ScheduledSource
from crawler.times import parse_time
from crawler.worker import CrawlWorker, WorkerCrawl, WorkerOptions
from pipelines.database import ArticleStore, process_is_alive

logger = logging.getLogger("newsmill.daemon")


@dataclass
class CrawlOutcome:
    """How one crawl ended, as its backend saw it."""

    run: dict | None  # its `runs` row; None when none was recorded
    pid: int | None  # the process that crawled, when it was on this machine
    elapsed: float
    abrupt: str  # why, should the run be missing or still `running`
    told: str | None = None  # what else is known of how it ended


class CrawlBackend(Protocol):
    def start(self) -> None:
        """Before the first crawl; RuntimeError, in words for people, when it cannot."""

    def crawl(self, store: ArticleStore, entry: ScheduledSource,
              stopping: threading.Event) -> CrawlOutcome | None:
        """Crawl the source, blocking until its crawl has ended; None when it did not start
        (the daemon is stopping, or the source's previous crawl is still running)."""

    def running(self) -> list:
        """The crawls running here, each with `name` and `stop(kill_grace)`."""

    def housekeeping(self, memory: bool = False) -> None:
        """Once a heartbeat (memory=True) and after each crawl."""

    def abandon_waits(self) -> None:
        """The daemon stops: calls that wait (for Redis, say) may give up."""

    def gauges(self) -> dict:
        """The backend's live gauges for /metrics: {"workers": {name: RSS}} or {"redis": ...}."""

    def close(self) -> None:
        """After the running crawls were stopped: nothing of the backend left running."""


# What a crawl imports, imported once in the forkserver that forks every crawl worker, so that
# none spends half a second of CPU importing them. None of them installs or starts a Twisted
# reactor: each worker installs its own.
CRAWL_PRELOAD = [
    "crawler.worker", "crawler.runner", "crawler.spiders.articles", "crawler.extensions",
    "pipelines.extraction", "pipelines.storage", "scrapy.core.engine", "scrapy.core.scraper",
    "scrapy.core.downloader.handlers.http11", "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.extensions.closespider", "scrapy.crawler",
]


def crawl_process_context() -> multiprocessing.context.BaseContext:
    """Crawl workers are forked from a forkserver that preloaded CRAWL_PRELOAD.

    Not plain fork: the daemon has threads (APScheduler's) that a fork would copy mid-flight;
    the forkserver is single-threaded and never runs a crawl itself.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(CRAWL_PRELOAD)
    return context


def crawl_overrides(entry: ScheduledSource, overrides: dict) -> dict:
    """The settings of one crawl; every -s given to the daemon is passed on."""
    # Scrapy's CloseSpider stops the crawl cleanly at its timeout; the daemon only steps in
    # from outside if that does not work.
    return {"CLOSESPIDER_TIMEOUT": int(entry.timeout) or 1, "NEWSMILL_PROGRESS": "off",
            **overrides}


class LocalWorkers:
    """Crawls in long-lived crawl worker processes on this machine (NEWSMILL_DAEMON_WORKERS).

    A crash, a hang or a leak in a worker never reaches the daemon: a crawl past its timeout
    is stopped alone, a worker that does not stop it is killed, and workers are replaced
    after NEWSMILL_DAEMON_WORKER_MAX_CRAWLS crawls or past their memory ceiling.
    """

    def __init__(self, db_path: str, settings: DaemonSettings, overrides: dict):
        self.db_path = db_path
        self.settings = settings
        self.overrides = overrides
        self.context = crawl_process_context()
        self.lock = threading.Lock()
        self.workers: list[CrawlWorker] = []
        self.crawls: dict[str, WorkerCrawl] = {}
        self.worker_count = 0
        self.crawl_count = 0

    def start(self) -> None:
        pass  # the first worker starts with the first crawl

    def running(self) -> list[WorkerCrawl]:
        with self.lock:
            return list(self.crawls.values())

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
            worker = CrawlWorker(self.worker_count, options, self.context)
            logger.info("crawl worker %d started (pid %d)", self.worker_count, worker.pid)
            self.workers.append(worker)
            return worker
        return min(open_, key=lambda w: w.running)

    def crawl(self, store: ArticleStore, entry: ScheduledSource,
              stopping: threading.Event) -> CrawlOutcome | None:
        name = entry.source.name
        busy = [r for r in store.running_runs(name) if process_is_alive(r["pid"], r["started"])]
        if busy:
            logger.info("%s: start skipped, run %d (pid %d) of this source is still "
                        "running", name, busy[0]["id"], busy[0]["pid"])
            return None
        with self.lock:
            if stopping.is_set():
                return None
            worker = self._worker_for_crawl()
            self.crawl_count += 1
            crawl = worker.crawl(self.crawl_count, name, entry.source.to_dict(), self.db_path,
                                 crawl_overrides(entry, self.overrides))
            self.crawls[name] = crawl
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
            self.crawls.pop(name, None)
        if crawl.error:
            logger.error("%s: the crawl failed in its worker: %s", name, crawl.error)
        if crawl.store_failure:
            logger.error("%s: %s", name, crawl.store_failure)
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
        self.housekeeping()
        return CrawlOutcome(run, worker.pid, crawl.elapsed, note)

    def _retire(self, worker: CrawlWorker, why: str) -> None:
        """No new crawls for this worker; it exits once its running crawls have ended."""
        if not worker.retiring:
            worker.retiring = True
            logger.info("crawl worker %d (pid %d) replaced %s", worker.number, worker.pid, why)

    def housekeeping(self, memory: bool = False) -> None:
        """Retire workers past their memory ceiling (with `memory`: once a heartbeat, not
        after every crawl); let retired and dead ones go once idle."""
        ceiling = self.settings.worker_max_memory * 1024 * 1024 if memory else 0
        with self.lock:  # after close() the list is empty: nothing left to look after
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

    def abandon_waits(self) -> None:
        pass  # nothing waits here; each running crawl is stopped through running()

    def gauges(self) -> dict:
        with self.lock:
            workers = [w for w in self.workers if not w.dead.is_set()]
        return {"workers": {w.pid: w.memory() for w in workers}}

    def close(self) -> None:
        with self.lock:
            workers, self.workers = self.workers, []
        for worker in workers:
            worker.exit()
        for worker in workers:
            worker.reap(self.settings.kill_grace)


class RedisQueue:
    """Crawls by `newsmill worker`s on any machine: due sources go on a Redis stream; with
    `write`, this daemon is also the one writer of their results."""

    def __init__(self, url: str, db_path: str, settings: DaemonSettings, overrides: dict,
                 write: bool):
        self.url = url
        self.db_path = db_path
        self.settings = settings
        self.overrides = overrides
        self.write = write
        self.link = None
        self.writer_thread: threading.Thread | None = None
        self.writer_stop = threading.Event()

    def start(self) -> None:
        from crawler.redis_link import RedisLink, RedisUnavailable
        from crawler.remote_writer import ResultWriter, writer_settings

        link = RedisLink(self.url, self.overrides.get("NEWSMILL_REDIS_PREFIX") or "newsmill:")
        try:
            link.ping()
            link.ensure_group("tasks", "workers")
            link.ensure_group("results", "writer")
        except RedisUnavailable as exc:
            raise RuntimeError(str(exc)) from exc
        self.link = link
        if self.write:
            writer = ResultWriter(link, self.db_path, writer_settings(self.overrides),
                                  self.writer_stop)
            # A daemon thread: should the daemon fail to start, it does not keep the process
            # alive; a message it was writing is not acknowledged, and is written again.
            self.writer_thread = threading.Thread(target=writer.run, name="newsmill-writer",
                                                  daemon=True)
            self.writer_thread.start()
        logger.info("crawls go to the workers of Redis at %s%s", link.where,
                    "; this daemon writes their results" if self.write else
                    "; `newsmill store` writes their results")

    def running(self) -> list:
        return []  # crawls run in the workers; on a stop their tasks stay queued

    def crawl(self, store: ArticleStore, entry: ScheduledSource,
              stopping: threading.Event) -> CrawlOutcome | None:
        """Queue the source for a worker (unless its last task is still queued or running),
        wait until the writer has closed its run, then return it to be judged as any other."""
        from crawler.redis_link import RedisUnavailable

        name, link = entry.source.name, self.link
        try:
            task = link.call(link.queued_task, name, stop=stopping)
            if task is None:
                task = link.call(link.enqueue, entry.source.to_dict(),
                                 crawl_overrides(entry, self.overrides), entry.timeout,
                                 stop=stopping)
                logger.info("%s: crawl queued for the workers (task %s)", name, task)
            else:
                logger.info("%s: its crawl queued before (task %s) has not ended; waiting for "
                            "it", name, task)
            polls = 0
            while not (done := link.call(link.done_run, task, stop=stopping)):
                if stopping.wait(1.0):
                    return None  # the task stays queued; a writer stores what its crawl finds
                polls += 1
                if polls % 30 == 0 and link.call(link.queued_task, name) != task \
                        and not link.call(link.done_run, task):
                    # Neither queued nor done: Redis lost it (restarted without persistence).
                    logger.warning("%s: task %s is no longer in Redis (restarted without "
                                   "persistence?); the source is queued again at its next "
                                   "start", name, task)
                    return None
        except RedisUnavailable:  # stopping while Redis is away
            return None
        run = store.get_run(done["run_id"]) if done.get("run_id") else None
        elapsed = 0.0
        if run is not None and run["finished"]:
            elapsed = (parse_time(run["finished"]) - parse_time(run["started"])).total_seconds()
        return CrawlOutcome(run, None, elapsed,
                            done.get("note") or "its worker ended without closing the run",
                            told=done.get("note"))

    def housekeeping(self, memory: bool = False) -> None:
        pass

    def gauges(self) -> dict:
        from crawler.redis_link import RedisUnavailable

        try:  # a scrape while Redis is away shows no queue rather than waiting for it
            return {"redis": self.link.call(self.link.queue, give_up_after=0)}
        except RedisUnavailable:
            return {}

    def abandon_waits(self) -> None:
        if self.link is not None:  # calls waiting for a Redis that is away give up now
            self.link.abandon.set()

    def close(self) -> None:
        if self.writer_thread is not None:
            self.writer_stop.set()
            self.writer_thread.join(timeout=self.settings.kill_grace + 30)
