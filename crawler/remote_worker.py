"""`newsmill worker --redis URL`: a crawl worker on any machine, fed through Redis.

It is the daemon's long-lived crawl worker (crawler/worker.py) with Redis in place of the
pipe to its daemon: `TaskConnection` takes due sources from the task stream as the pipe
would have brought them, and what the crawls find goes down the results stream
(pipelines/outbox.py) to the one writer. Each crawl is still its own Scrapy Crawler, with
the same settings, budgets, SSRF guard and size limits as on one machine.

What makes it safe on many machines:

- a task stays pending in the consumer group until its run's closing has been sent; a
  worker that dies leaves it idle, and another claims it after NEWSMILL_REDIS_VISIBILITY
  seconds. A worker that lives keeps its tasks (XCLAIM) on every heartbeat.
- a source is crawled by one attempt at a time (`crawling:<source>`, held while it runs);
- a task claimed more than NEWSMILL_REDIS_MAX_DELIVERIES times (it kills its workers, say)
  is given up and recorded as a failed run;
- SIGTERM: no new tasks; running crawls get NEWSMILL_DAEMON_KILL_GRACE seconds, and those
  stopped are handed back (left pending, their source unlocked) for another worker.
- past `--max-crawls` tasks or `--max-memory` MB it retires as the daemon's own workers do:
  no new task, its crawls end as they would, everything sent, exit 0; its supervisor
  (systemd's Restart=always) starts a fresh one.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import dataclass

from crawler.redis_link import RedisLink, RedisUnavailable
from crawler.worker import WorkerOptions, WorkerProcess, process_tree_memory
from pipelines.store_core import utcnow

logger = logging.getLogger("newsmill.worker")

# One line a record, with its time, level and source (the worker is not behind a daemon).
LOG_FORMAT = "%(asctime)s %(levelname)s %(source)s %(name)s: %(message)s"


class ResultSender:
    """Sends results down the stream in order, from a thread of its own: a crawl never waits
    on Redis, and a task is acknowledged only after everything its crawl sent before."""

    def __init__(self, link: RedisLink, observe=None):
        self.link = link
        self.observe = observe  # sees every result message (the worker's metrics)
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="newsmill-results", daemon=True)
        self.thread.start()

    def result(self, message: dict) -> None:
        if self.observe is not None:
            self.observe(message)
        self.queue.put((self.link.send_result, (message,)))

    def then(self, fn, *args) -> None:
        """Call fn(*args) once every message queued before it has been sent."""
        self.queue.put((fn, args))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            fn, args = item
            try:
                fn(*args)
            except RedisUnavailable:  # only when given up at exit: the task stays pending
                pass
            except Exception:
                logger.exception("could not send to Redis")

    def close(self, timeout: float) -> bool:
        """Send what is queued (within `timeout` seconds while Redis is away); True if all was."""
        self.queue.put(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.link.abandon.set()
            self.thread.join(5)
            return False
        return True


@dataclass
class Held:
    """A task this worker has taken."""

    entry_id: str
    task: dict
    attempt: str
    name: str
    taken: float


class TaskConnection:
    """The worker's end of the daemon's pipe (recv/send), over Redis."""

    def __init__(self, link: RedisLink, sender: ResultSender, settings, crawls: int,
                 stopping: threading.Event, max_crawls: int = 0, max_memory: float = 0):
        self.link = link
        self.sender = sender
        self.crawls = crawls
        self.max_crawls = max_crawls  # tasks taken before it retires (0: never)
        self.max_memory = max_memory * 1024 * 1024  # bytes of RSS above which it retires
        self.retiring: str | None = None  # why it takes no new task, and exits when idle
        self.given = 0
        self.said_too_big = False
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.consumer = f"{self.host}:{self.pid}"
        self.visibility = settings.getfloat("NEWSMILL_REDIS_VISIBILITY")
        self.heartbeat = settings.getfloat("NEWSMILL_REDIS_HEARTBEAT")
        self.max_deliveries = settings.getint("NEWSMILL_REDIS_MAX_DELIVERIES")
        self.grace = settings.getfloat("NEWSMILL_DAEMON_KILL_GRACE")
        self.held: dict[int, Held] = {}
        self.orders: list[tuple] = []  # for the worker, before any new task (recv)
        self.final: dict[int, bool] = {}  # key -> whether its crawl's run closed for good
        self.opened: set[int] = set()
        self.condition = threading.Condition()
        self.stopping = stopping
        self.gone = threading.Event()
        self.next_key = 0
        self.done = 0
        self.started = utcnow()
        self.loop_beat = time.monotonic()  # /healthz: the reactor came round (run_worker)
        self.beating = threading.Thread(target=self._beat, name="newsmill-heartbeat", daemon=True)
        self.beating.start()

    # --- WorkerProcess reads its orders here -----------------------------------------
    def recv(self) -> tuple:
        while True:
            with self.condition:
                if self.orders:
                    return self.orders.pop(0)
                while (len(self.held) >= self.crawls or self.retiring) \
                        and not self.stopping.is_set() and not self.orders:
                    if self.retiring and not self.held:
                        return ("exit",)  # its last crawl has ended: nothing is stopped
                    self.condition.wait(1.0)
                if self.orders:
                    continue
            if self.stopping.is_set():
                return self._exit_after_grace()
            try:
                taken = self.link.call(self.link.take, self.consumer, 2.0, self.visibility,
                                       stop=self.stopping)
            except RedisUnavailable:
                continue
            if taken is None:
                continue
            order = self._order(*taken)
            if order is not None:
                return order

    def _exit_after_grace(self) -> tuple:
        """Stopping: running crawls get the grace to finish; then the worker stops the rest
        (handed back) and exits."""
        deadline = time.monotonic() + self.grace
        with self.condition:
            while self.held and time.monotonic() < deadline:
                self.condition.wait(min(1.0, max(0.0, deadline - time.monotonic())))
        return ("exit",)

    def _order(self, entry_id: str, task: dict, deliveries: int) -> tuple | None:
        name = task["source"]["name"]
        attempt = f"{task['task']}/{deliveries}"
        if deliveries > self.max_deliveries:
            logger.error("%s: task %s given up after %d deliveries (its workers died or "
                         "stopped each time)", name, task["task"], deliveries - 1)
            self.sender.result({"kind": "lost", "task": task["task"], "attempt": attempt,
                                "source": name, "deliveries": deliveries - 1})
            self.sender.then(self.link.finish_task, entry_id)
            return None
        # The source's last crawl releases it just after its task is done: wait that out.
        for wait in (0.0, 0.2, 0.5, 1.0, 2.0):
            if self.stopping.wait(wait):
                return None
            if self.link.call(self.link.lock_source, name, attempt, self.visibility,
                              stop=self.stopping):
                break
        else:
            logger.info("%s: already being crawled by another worker; task %s left for later",
                        name, task["task"])
            return None
        with self.condition:
            self.next_key += 1
            key = self.next_key
            self.held[key] = Held(entry_id, task, attempt, name, time.monotonic())
            self.given += 1
            if self.max_crawls and self.given >= self.max_crawls:
                self.retire(f"after {self.given} crawls (--max-crawls)")
        if deliveries > 1:
            logger.warning("%s: task %s taken again (delivery %d): its worker stopped or "
                           "went quiet", name, task["task"], deliveries)
        logger.info("%s: crawl started (task %s)", name, attempt)
        overrides = {**task.get("overrides", {}), "NEWSMILL_TASK": attempt}
        return ("crawl", key, task["source"], "", overrides)

    # --- and reports here --------------------------------------------------------------
    def send(self, message: tuple) -> None:
        kind, key = message[0], message[1]
        if kind == "started":
            self.opened.add(key)
            return
        if kind != "finished":
            return
        with self.condition:
            held = self.held.pop(key, None)
            final = self.final.pop(key, True)
            opened = key in self.opened
            self.opened.discard(key)
            self.condition.notify_all()
        if held is None:
            return
        error = message[4]
        if error and not opened:  # the crawl never started: its run is recorded as failed
            self.sender.result({"kind": "failed", "task": held.task["task"],
                                "attempt": held.attempt, "source": held.name,
                                "host": self.host, "pid": self.pid, "error": error})
        if final or (error and not opened):
            self.sender.then(self.link.finish_task, held.entry_id)
            logger.info("%s: crawl finished in %.1fs", held.name, time.monotonic() - held.taken)
        else:
            logger.info("%s: crawl stopped with this worker; handed back for another",
                        held.name)
        self.sender.then(self.link.release_source, held.name, held.attempt)
        self.done += 1

    # --- retiring --------------------------------------------------------------------------
    def retire(self, why: str) -> None:
        """Take no new task; exit once the crawls in hand have ended (call with the lock)."""
        if self.retiring is None and not self.stopping.is_set():
            self.retiring = why
            logger.info("worker %s retiring %s: no new task; it exits once its %d running "
                        "crawl(s) have ended, for its supervisor to start a fresh one",
                        self.consumer, why, len(self.held))
            self.condition.notify_all()

    def memory(self) -> int:
        """Resident memory of this worker and its extraction processes, in bytes."""
        return process_tree_memory()

    # --- heartbeat -----------------------------------------------------------------------
    def _beat(self) -> None:
        """Keep the tasks in hand (and their sources' locks); say this worker is alive;
        retire it above its memory ceiling."""
        while not self.gone.wait(self.heartbeat):
            # Only once it has crawled: a ceiling below a fresh worker's own size would
            # otherwise have its supervisor start worker after worker that crawl nothing.
            if self.max_memory and self.retiring is None and \
                    (rss := self.memory()) > self.max_memory:
                if self.given:
                    with self.condition:
                        self.retire(f"at {rss / 1024 / 1024:.0f} MB of memory (--max-memory "
                                    f"{self.max_memory / 1024 / 1024:.0f})")
                elif not self.said_too_big:
                    self.said_too_big = True
                    logger.warning("worker %s uses %.0f MB before any crawl, above its "
                                   "--max-memory %.0f: it retires after its first crawl",
                                   self.consumer, rss / 1024 / 1024,
                                   self.max_memory / 1024 / 1024)
            with self.condition:
                held = list(self.held.values())
            try:
                self.link.call(self._beat_once, held, give_up_after=0)
            except RedisUnavailable:
                pass

    def _beat_once(self, held: list[Held]) -> None:
        lost = self.link.keep(self.consumer, [h.entry_id for h in held])
        for h in held:
            if h.entry_id in lost:
                self._taken_over(h)
            else:
                self.link.extend_source(h.name, h.attempt, self.visibility)
        self.link.beat(self.consumer, {
            "host": self.host, "pid": self.pid, "started": self.started,
            "last_seen": utcnow(), "crawls": self.crawls, "done": self.done,
            "stopping": self.stopping.is_set(), "retiring": self.retiring,
            "sources": sorted(h.name for h in held),
        }, ttl=max(3 * self.heartbeat, self.visibility))

    def _taken_over(self, held: Held) -> None:
        """Another worker took this task over (this one went quiet past the visibility
        timeout): its crawl is the one that counts; this one stops, and acknowledges
        nothing."""
        with self.condition:
            key = next((k for k, h in self.held.items() if h is held), None)
            if key is None or ("stop", key) in self.orders:
                return
            self.orders.append(("stop", key))
            self.condition.notify_all()
        logger.warning("%s: task %s was taken over by another worker; stopping this crawl",
                       held.name, held.attempt)

    def close(self) -> None:
        """After its results were sent: off the list of workers (the heartbeat stopped
        first, or a beat under way would put it back on for NEWSMILL_REDIS_VISIBILITY)."""
        self.gone.set()
        self.beating.join(timeout=self.visibility)
        try:
            self.link.call(self.link.forget_worker, self.consumer, give_up_after=5)
        except RedisUnavailable:  # its entry expires by itself
            pass


class RemoteWorkerProcess(WorkerProcess):
    """WorkerProcess whose crawls send their results to Redis, and hand back their tasks
    when the worker stops."""

    log_format = LOG_FORMAT

    def __init__(self, conn: TaskConnection, options: WorkerOptions):
        super().__init__(conn, options)

    def _prepare(self, crawler) -> None:
        crawler.redis_sender = self.conn.sender

    def _finished(self, key: int, crawler, hosts: set, task) -> None:
        stats = crawler._stats
        if stats is not None and stats.get_value("newsmill/final") is False:
            with self.conn.condition:
                self.conn.final[key] = False
        super()._finished(key, crawler, hosts, task)

    def _stop(self, key: int) -> None:
        # A worker stops a crawl only when it stops itself, or when another worker has
        # taken the task over: either way the task is not this crawl's to close.
        self.crawlers[key].newsmill_hand_back = True
        super()._stop(key)


def remote_overrides(url: str, prefix: str) -> dict:
    """The settings that make a crawl send its results to Redis instead of a file."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    order = pipelines.pop("pipelines.storage.StoragePipeline")
    pipelines["pipelines.outbox.OutboxPipeline"] = order
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares["crawler.shared_politeness.SharedHostDelayMiddleware"] = 950
    return {"ITEM_PIPELINES": pipelines, "DOWNLOADER_MIDDLEWARES": middlewares,
            "NEWSMILL_REDIS_URL": url, "NEWSMILL_REDIS_PREFIX": prefix}


def worker_metrics():
    """The worker's /metrics, and what counts its crawls' runs and errors as it sends them
    (its crawls in hand and memory are read from its connection). Articles new or updated
    are the writer's to judge (the daemon's)."""
    from crawler.metrics import CrawlMetrics

    metrics = CrawlMetrics(dict, "worker")  # live gauges: set once its connection exists

    def observe(message: dict) -> None:
        if message["kind"] == "close":
            for run in message["runs"].values():
                metrics.crawl_ended(run, {})
        elif message["kind"] == "batch":
            for error in message["errors"]:
                metrics.errors.labels(error.get("kind") or "other").inc()

    return metrics, observe


def run_worker(url: str, crawls: int, extract_workers: int, overrides: dict,
               log_level: str, max_crawls: int = 0, max_memory: float = 0,
               metrics_address: tuple[str, int] | None = None) -> int:
    """Take and crawl sources until SIGTERM or SIGINT, or until it retires; the exit status."""
    from scrapy.utils.reactor import install_reactor

    from crawler.logs import install_crawl_log_handler
    from crawler.remote_writer import writer_settings

    settings = writer_settings(overrides)
    library_level = "DEBUG" if log_level == "DEBUG" else "WARNING"
    early = settings.copy()  # until the worker's own handler names each line's source
    early.setdict({"LOG_FORMAT": LOG_FORMAT.replace("%(source)s ", ""), "LOG_LEVEL": log_level,
                   "NEWSMILL_LOG_LIBRARIES": library_level}, priority="cmdline")
    install_crawl_log_handler(early)
    stopping = threading.Event()
    conn: TaskConnection | None = None

    def stop(signum, frame):
        if stopping.is_set():  # a second signal: now (tasks in hand go back by timeout)
            logger.warning("stopping now")
            os._exit(1)
        logger.info("stopping: no new crawls; running ones get %.0fs",
                    settings.getfloat("NEWSMILL_DAEMON_KILL_GRACE"))
        stopping.set()
        if conn is not None:
            with conn.condition:
                conn.condition.notify_all()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    prefix = settings.get("NEWSMILL_REDIS_PREFIX") or "newsmill:"
    link = RedisLink(url, prefix)
    link.abandon = stopping  # once stopping, calls waiting for a Redis that is away give up
    try:
        link.call(link.ensure_group, "tasks", "workers", stop=stopping)
        link.call(link.ensure_group, "results", "writer", stop=stopping)
    except RedisUnavailable:
        return 0  # stopped before Redis could be reached
    metrics, observe = worker_metrics()
    sender = ResultSender(link, observe)
    conn = TaskConnection(link, sender, settings, crawls, stopping, max_crawls, max_memory)
    metrics.live = lambda: {"running": len(conn.held), "limit": crawls,
                            "workers": {conn.pid: conn.memory()}}
    server = None
    if metrics_address is not None:
        from crawler.metrics import Heartbeat, MetricsServer

        # /healthz: the reactor, which runs every crawl, comes round at least once a second.
        reactor_loop = Heartbeat(10.0, "worker's reactor")
        try:
            server = MetricsServer(metrics, reactor_loop, *metrics_address)
        except RuntimeError as exc:
            logger.error("%s", exc)
            conn.close()
            sender.close(5)
            return 2
    options = WorkerOptions({**overrides, **remote_overrides(url, prefix)}, log_level,
                            extract_workers or os.cpu_count() or 1, library_level)
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor

    worker = RemoteWorkerProcess(conn, options)
    failed = []

    def start() -> None:
        try:
            worker.start()
        except BaseException:
            logger.exception("the crawl worker cannot start")
            failed.append(True)
            reactor.stop()

    logger.info("worker %s taking up to %d crawls at once from Redis at %s", conn.consumer,
                crawls, link.where)
    reactor.callLater(0, start)
    if server is not None:
        from twisted.internet.task import LoopingCall

        LoopingCall(reactor_loop.beat).start(1.0)
    reactor.run(installSignalHandlers=False)
    if not sender.close(settings.getfloat("NEWSMILL_DAEMON_KILL_GRACE")):
        logger.warning("Redis was away at exit: the results not sent are crawled again by "
                       "another worker")
    conn.close()
    if server is not None:
        server.close()
    if conn.retiring and not failed:
        logger.info("worker %s retired %s; its supervisor starts a fresh one", conn.consumer,
                    conn.retiring)
    else:
        logger.info("worker %s stopped after %d crawls", conn.consumer, conn.done)
    return 1 if failed else 0
