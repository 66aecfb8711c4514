"""Long-lived crawl workers: one process crawls many sources, each as its own run.

Starting a crawl process costs far more CPU than crawling an unchanged feed (the
interpreter, Scrapy, Twisted and an extraction worker each time), so the daemon keeps a few
worker processes and hands each due source to one. A worker runs one Twisted (asyncio)
reactor with Scrapy's AsyncCrawlerRunner: each source is its own Crawler with its own
settings, so its own `runs` row, budgets, CLOSESPIDER_TIMEOUT, stats and errors, exactly as
`newsmill crawl --source NAME` records them. The extraction workers are started once per
crawl worker and shared by its crawls.

The daemon and a worker talk over a multiprocessing Pipe, in small tuples:

- daemon → worker: ("crawl", key, source, db_path, settings), ("stop", key), ("exit",)
- worker → daemon: ("started", key, run_ids), ("finished", key, run_ids, store_failure, error)

A worker whose daemon is gone (its end of the pipe closed, kill -9 included) stops its
crawls (their runs end `interrupted`) and exits. The daemon's side is `CrawlWorker`.
"""

from __future__ import annotations

import contextvars
import logging
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from scrapy.exceptions import IgnoreRequest

from crawler.runner import HTTP11DownloadHandler  # Scrapy's, imported at less cost (runner.py)

logger = logging.getLogger("newsmill.daemon")

# The source whose crawl is running this code: each crawl's asyncio task carries it, so a log
# line written from inside a crawl can name its source (SourceNameFilter, below).
CURRENT_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "newsmill_current_source", default=None)
# Each line a worker writes to its stderr: "LEVEL<TAB>source<TAB>logger: message".
WORKER_LOG_FORMAT = "%(levelname)s\t%(source)s\t%(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A full garbage collection after this many crawls. A finished crawl is a web of cycles
# (crawler, engine, components, signals) old enough to sit in the oldest generation, which
# Python collects rarely (the more so with runner.tune_garbage_collector's thresholds): the
# worker's memory rose by some 70 KB a crawl for hundreds of crawls before it levelled off.
COLLECT_EVERY = 50


@dataclass(frozen=True)
class WorkerOptions:
    """What a worker is given once, at its start: the settings every crawl of it shares."""

    overrides: dict
    log_level: str
    extract_workers: int
    library_log_level: str | None = None  # Scrapy's and Twisted's lines (None: log_level)


# --- inside the worker process ----------------------------------------------------------
class StoppableDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, whose downloads in flight can be cancelled.

    Scrapy closes a spider (at CLOSESPIDER_TIMEOUT, or when asked to stop) only once every
    request in flight has ended, so one hung download holds its crawl until its
    DOWNLOAD_TIMEOUT. A process per crawl could be killed; in a worker, only this crawl's
    downloads are cancelled (each fails as an ignored request) and the crawl closes.
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self.in_flight: set = set()
        crawler.__dict__.setdefault("stoppable_download_handlers", []).append(self)

    async def download_request(self, request):
        import asyncio

        task = asyncio.ensure_future(super().download_request(request))
        self.in_flight.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():  # cancelled by cancel_all, not this coroutine's own caller
                raise IgnoreRequest("the crawl was stopped while this download ran") from None
            raise
        finally:
            self.in_flight.discard(task)

    def cancel_all(self) -> int:
        tasks = [t for t in self.in_flight if not t.done()]
        for task in tasks:
            task.cancel()
        return len(tasks)


def crawler_keeping(spidercls, settings):
    """A Scrapy Crawler that takes the Settings made for it as its own, without a copy.

    Crawler.__init__ deep-copies the Settings it is given (some 600 of them, with their
    dicts), so that a caller may reuse them; each of a worker's crawls gets Settings made for
    it alone (crawl_settings), which nothing else holds. The copy was the largest part of a
    crawl's set-up in a worker (~2 ms a crawl; a worker re-checking unchanged feeds does little
    else). For the Crawler's one call, this object's copy() is itself; a Scrapy that copied
    otherwise would still copy, as before.
    """
    from scrapy.crawler import Crawler

    settings.copy = lambda: settings  # shadows Settings.copy on this object only
    try:
        return Crawler(spidercls, settings)
    finally:
        del settings.copy


class SourceNameFilter(logging.Filter):
    """Gives each log record the name of the source whose crawl wrote it (`%(source)s`)."""

    def __init__(self, worker: WorkerProcess):
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        name = CURRENT_SOURCE.get()
        spider = getattr(record, "spider", None)
        if name is None and spider is not None:
            sources = getattr(spider, "sources", None) or ()
            name = sources[0].name if len(sources) == 1 else None
        if name is None and len(self.worker.names) == 1 \
                and not record.name.startswith(("newsmill.worker", "newsmill.redis")):
            # only one crawl: it is that one's (but for the worker's own lines)
            name = next(iter(self.worker.names.values()))
        record.source = name or "worker"
        return True


class WorkerProcess:
    """The worker's side: receives crawls, runs them in this process's reactor, reports."""

    log_format = WORKER_LOG_FORMAT  # what the daemon's relay reads (CrawlWorker._relay_log)

    def __init__(self, conn, options: WorkerOptions):
        from scrapy.crawler import AsyncCrawlerRunner
        from scrapy.settings import Settings

        self.conn = conn
        self.options = options
        self.send_lock = threading.Lock()
        self.settings = Settings()
        self.settings.setmodule("crawler.settings", priority="project")
        # At "project", not "cmdline": Scrapy's runner copies its settings into every crawler
        # it starts (CrawlerRunner.create_crawler), at their own priorities, and a crawl's
        # own settings (a task's, a source's timeout) are set at "cmdline" and must win.
        self.settings.setdict(options.overrides, priority="project")
        self.runner = AsyncCrawlerRunner(self.settings)
        self.crawlers: dict[int, object] = {}  # key -> Crawler
        self.names: dict[int, str] = {}  # key -> source name
        self.hosts: Counter = Counter()  # own hosts of the running crawls (SafeResolver)
        self.pool = None
        # The WARC files of this worker's crawls, one writer per folder for all of them
        # (crawler/archive.py): a scheduled crawl does not start a file of its own.
        from crawler.archive import ArchiveFiles

        self.warc_files = ArchiveFiles()
        self.exiting = False
        self.tasks: set = set()  # asyncio keeps only weak references to the tasks it runs
        # Seconds a stopping crawl's downloads in flight get to end before they are cancelled.
        self.cancel_after = self.settings.getfloat("NEWSMILL_DAEMON_KILL_GRACE") / 2
        self.cancel_calls: dict[int, object] = {}  # key -> DelayedCall
        self.finished = 0

    def start(self) -> None:
        """Once the reactor runs: logging, the resolver, the extraction pool, the reader."""
        from twisted.internet import reactor

        from crawler.logs import install_crawl_log_handler
        from crawler.runner import tune_garbage_collector
        from crawler.safety import SafeResolver
        from pipelines.extract_pool import ExtractionPool

        log_settings = self.settings.copy()
        log_settings.set("LOG_FORMAT", self.log_format, priority="cmdline")
        log_settings.set("LOG_LEVEL", self.options.log_level, priority="cmdline")
        log_settings.set("NEWSMILL_LOG_LIBRARIES",
                         self.options.library_log_level or self.options.log_level,
                         priority="cmdline")
        install_crawl_log_handler(log_settings).addFilter(SourceNameFilter(self))
        # One resolver for the whole reactor (CrawlerProcess installs one per process; the
        # runner none): it lets through the own hosts of every crawl now running.
        s = self.settings
        SafeResolver(reactor, s.getint("DNSCACHE_SIZE") if s.getbool("DNSCACHE_ENABLED") else 0,
                     s.getfloat("DNS_TIMEOUT"), self.hosts.keys(),
                     s.getbool("NEWSMILL_ALLOW_PRIVATE_ADDRESSES")).install_on_reactor()
        self.pool = ExtractionPool(self.options.extract_workers,
                                   s.getint("EXTRACT_RECYCLE_PAGES"), s.getfloat("EXTRACT_TIMEOUT"))
        tune_garbage_collector()
        threading.Thread(target=self._read, name="newsmill-worker-reader", daemon=True).start()

    def _read(self) -> None:
        """The daemon's messages, handed to the reactor thread; EOF: the daemon is gone."""
        from twisted.internet import reactor

        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = ("exit",)
                # Should the reactor not get to it (stuck in a crawl), exit anyway.
                grace = self.settings.getfloat("NEWSMILL_DAEMON_KILL_GRACE") + 5
                threading.Timer(grace, os._exit, args=(1,)).start()
            reactor.callFromThread(self._handle, message)
            if message[0] == "exit":
                return

    def send(self, message: tuple) -> None:
        with self.send_lock:
            try:
                self.conn.send(message)
            except OSError:  # the daemon is gone; the reader sees it too
                pass

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "crawl":
            self._crawl(*message[1:])
        elif kind == "stop":
            if message[1] in self.crawlers:
                self._stop(message[1])
        elif kind == "exit" and not self.exiting:
            self.exiting = True
            import asyncio

            self._keep(asyncio.ensure_future(self._exit()))

    def _keep(self, task) -> None:
        """Hold a task until it is done (a task nobody refers to may be collected mid-way)."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _crawl(self, key: int, source: dict, db_path: str, overrides: dict) -> None:
        from scrapy import signals

        from crawler.runner import crawl_settings
        from crawler.safety import own_hosts
        from crawler.sources import Source
        from crawler.spiders.articles import ArticlesSpider

        name = source["name"]
        try:
            settings = crawl_settings([Source.from_dict(source)], db_path,
                                      {**self.options.overrides, **overrides},
                                      self.options.log_level)
            handler = f"{__name__}.StoppableDownloadHandler"
            settings.set("DOWNLOAD_HANDLERS", {**settings.getdict("DOWNLOAD_HANDLERS"),
                                               "http": handler, "https": handler},
                         priority="cmdline")
            crawler = crawler_keeping(ArticlesSpider, settings)
        except Exception as exc:  # bad settings: the crawl never starts
            self.send(("finished", key, {}, None, f"{type(exc).__name__}: {exc}"))
            return
        crawler.extraction_pool = self.pool  # shared by this worker's crawls (extraction.py)
        crawler.warc_files = self.warc_files  # likewise (crawler/archive.py)
        self._prepare(crawler)
        hosts = own_hosts(settings)
        self.hosts.update(hosts)
        self.crawlers[key], self.names[key] = crawler, name
        crawler.newsmill_key = key
        # A bound method of this long-lived object, held weakly by pydispatch: a closure
        # would have to be held strongly, and its registry would keep every crawler for ever.
        crawler.signals.connect(self._opened, signals.spider_opened)
        token = CURRENT_SOURCE.set(name)
        try:  # the task copies this context: everything the crawl runs knows its source
            task = self.runner.crawl(crawler)
        finally:
            CURRENT_SOURCE.reset(token)
        task.add_done_callback(partial(self._finished, key, crawler, hosts))
        # Past its CLOSESPIDER_TIMEOUT, Scrapy closes the crawl but waits for what is in flight.
        from twisted.internet import reactor

        self.cancel_calls[key] = reactor.callLater(
            settings.getfloat("CLOSESPIDER_TIMEOUT") + self.cancel_after,
            self._cancel_downloads, key)

    def _prepare(self, crawler) -> None:
        """Anything a kind of worker gives each of its crawlers before it starts."""

    def _opened(self, spider) -> None:
        """The run ids exist once the storage pipeline has opened: the daemon learns them."""
        crawler = spider.crawler
        self.send(("started", crawler.newsmill_key,
                   dict(crawler.stats.get_value("newsmill/run_ids") or {})))

    def _finished(self, key: int, crawler, hosts: set, task) -> None:
        self.crawlers.pop(key, None)
        self.names.pop(key, None)
        call = self.cancel_calls.pop(key, None)
        if call is not None and call.active():
            call.cancel()
        self.hosts.subtract(hosts)
        self.hosts += Counter()  # drops the hosts no running crawl has any more
        error = None
        if task.cancelled():
            error = "cancelled"
        elif task.exception() is not None:
            exc = task.exception()
            error = f"{type(exc).__name__}: {exc}"
            logging.getLogger(__name__).error("crawl failed: %s", error)
        stats = crawler._stats  # None if the crawl failed before it had any
        run_ids = dict(stats.get_value("newsmill/run_ids") or {}) if stats else {}
        failure = stats.get_value("newsmill/store_failure") if stats else None
        self.send(("finished", key, run_ids, failure, error))
        self.finished += 1
        if self.finished % COLLECT_EVERY == 0:
            import gc

            gc.collect()

    def _stop(self, key: int) -> None:
        """A clean stop, as SIGTERM gives a crawl: close reason `shutdown`, run interrupted;
        downloads still in flight after `cancel_after` seconds are cancelled."""
        import asyncio

        from twisted.internet import reactor

        crawler = self.crawlers[key]
        engine = crawler._engine
        if engine is None or not engine.running:
            # Scrapy's Crawler.stop_async while the engine is still opening the spider marks
            # the crawler stopped without stopping the engine; when the spider then closes,
            # the engine waits for a stop that never comes and the crawl never ends. Ask
            # again once the engine runs (a crawl that has ended is gone from `crawlers`).
            reactor.callLater(0.1, lambda: key in self.crawlers and self._stop(key))
            return
        self._keep(asyncio.ensure_future(crawler.stop_async()))
        call = self.cancel_calls.get(key)
        if call is not None and call.active():
            call.cancel()
        self.cancel_calls[key] = reactor.callLater(self.cancel_after, self._cancel_downloads, key)

    def _cancel_downloads(self, key: int) -> None:
        crawler = self.crawlers.get(key)
        if crawler is None:
            return
        token = CURRENT_SOURCE.set(self.names.get(key))
        try:
            cancelled = sum(h.cancel_all()
                            for h in getattr(crawler, "stoppable_download_handlers", []))
            if cancelled:
                logging.getLogger(__name__).warning(
                    "%d download(s) still running after the crawl's time was up: cancelled",
                    cancelled)
        finally:
            CURRENT_SOURCE.reset(token)

    async def _exit(self) -> None:
        from twisted.internet import reactor

        for key in list(self.crawlers):
            self._stop(key)
        await self.runner.join()
        if self.pool is not None:
            self.pool.close()
        self.warc_files.close()
        reactor.stop()


def _detach(log_pipe) -> None:
    """A session and process group of its own (extraction workers included: killed as one;
    a terminal's Ctrl-C is the daemon's to handle), its stderr into the daemon's pipe."""
    os.setsid()
    os.dup2(log_pipe.fileno(), 2)
    log_pipe.close()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stderr = open(2, "w", buffering=1, errors="replace", closefd=False)


def serve(conn, log_pipe, options: WorkerOptions) -> None:
    """The body of a crawl worker process: its own session, its stderr into the daemon."""
    _detach(log_pipe)
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor

    worker = WorkerProcess(conn, options)

    def start() -> None:  # from inside the running event loop (the extraction pool needs it)
        try:
            worker.start()
        except BaseException:  # a worker that cannot start must not take crawls: the
            logging.getLogger(__name__).exception("the crawl worker cannot start")
            os._exit(70)  # daemon sees it gone and marks its crawls failed

    reactor.callLater(0, start)
    reactor.run(installSignalHandlers=False)
    # Everything is written and closed: leave the rest to the operating system, as a
    # one-off crawl does (crawler/cli.py).
    import gc

    gc.freeze()


def process_tree_memory(pid: int | None = None) -> int:
    """Resident memory of a process (None: this one) and all its descendants, in bytes."""
    import psutil  # only where memory is measured: a crawl worker's start need not pay it

    total = 0
    try:
        process = psutil.Process(pid)
        for p in [process, *process.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


# --- the daemon's side ------------------------------------------------------------------
@dataclass
class WorkerCrawl:
    """One crawl handed to a worker, as the daemon sees it."""

    key: int
    name: str
    worker: CrawlWorker
    started: float = field(default_factory=time.monotonic)
    run_ids: dict = field(default_factory=dict)
    store_failure: str | None = None
    error: str | None = None
    lost: bool = False  # the worker died before the crawl finished
    stop_asked: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def pid(self) -> int:
        return self.worker.pid

    def stop(self, kill_grace: float) -> None:
        """Ask the worker to stop this crawl cleanly; past kill_grace, kill the worker."""
        if self.stop_asked is None:
            self.stop_asked = time.monotonic()
            self.worker.send(("stop", self.key))
        if not self.done.wait(max(0.0, self.stop_asked + kill_grace - time.monotonic())):
            logger.warning("%s: crawl did not stop within %.0fs; killing its worker (pid %d) "
                           "and its %d crawl(s)", self.name, kill_grace, self.worker.pid,
                           len(self.worker.crawls))
            self.worker.kill()
            self.done.wait()


def exit_status_within(process, lock: threading.Lock, seconds: float) -> int | None:
    """A child process's exit status (negative: killed by that signal), or None if it still
    runs after `seconds`.

    One thread at a time (`lock`): multiprocessing reads a forkserver child's exit status
    from a pipe, and a second reader at the same moment would see 255 instead.
    """
    deadline = time.monotonic() + seconds
    if not lock.acquire(timeout=seconds):
        return None
    try:
        process.join(max(0.0, deadline - time.monotonic()))
        return process.exitcode
    finally:
        lock.release()


class CrawlWorker:
    """A crawl worker process as the daemon sees it: its pipe, its crawls, its log.

    Its crawls end when the worker says so, or all at once when it dies (its pipe closes).
    """

    def __init__(self, number: int, options: WorkerOptions,
                 context: multiprocessing.context.BaseContext):
        self.number = number
        self.conn, worker_conn = context.Pipe()
        reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=serve, args=(worker_conn, writer, options),
                                       name=f"newsmill crawl worker {number}")
        self.process.start()
        worker_conn.close()
        writer.close()
        self.log = open(os.dup(reader.fileno()), errors="replace")
        reader.close()
        self.pid = self.process.pid
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.crawls: dict[int, WorkerCrawl] = {}
        self.given = 0
        self.retiring = False
        self.dead = threading.Event()
        self.wait_lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._relay_log, daemon=True)]
        for thread in self.threads:
            thread.start()

    def crawl(self, key: int, name: str, source: dict, db_path: str,
              overrides: dict) -> WorkerCrawl:
        crawl = WorkerCrawl(key, name, self)
        with self.lock:
            self.crawls[key] = crawl
            self.given += 1
            if self.dead.is_set():
                crawl.lost = True
                crawl.done.set()
                return crawl
        self.send(("crawl", key, source, db_path, overrides))
        return crawl

    def send(self, message: tuple) -> None:
        with self.send_lock:
            try:
                self.conn.send(message)
            except OSError:  # the worker is gone; the reader ends its crawls
                pass

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            kind, key = message[0], message[1]
            with self.lock:
                crawl = self.crawls.get(key)
                if kind == "finished":
                    self.crawls.pop(key, None)
            if crawl is None:
                continue
            if kind == "started":
                crawl.run_ids = message[2]
            elif kind == "finished":
                crawl.run_ids = message[2] or crawl.run_ids
                crawl.store_failure, crawl.error = message[3], message[4]
                crawl.done.set()
        # The worker is gone: wait for it, so that none of its crawls is started again
        # while it may still write.
        while self.wait(1.0) is None:
            pass
        with self.lock:
            self.dead.set()
            lost, self.crawls = list(self.crawls.values()), {}
        for crawl in lost:
            crawl.lost = True
            crawl.done.set()

    def _relay_log(self) -> None:
        """The worker's lines go into the daemon's log, each at its level, with its source."""
        for line in self.log:
            parts = line.rstrip().split("\t", 2)
            if len(parts) == 3 and parts[0] in LEVELS:
                logger.log(logging.getLevelName(parts[0]), "%s: %s", parts[1], parts[2])
            elif line.strip():  # a line the log format did not make (a traceback's, say)
                logger.warning("crawl worker %d: %s", self.pid, line.rstrip())

    @property
    def running(self) -> int:
        return len(self.crawls)

    def memory(self) -> int:
        """Resident memory of the worker and its extraction workers, in bytes."""
        return process_tree_memory(self.pid)

    def wait(self, seconds: float) -> int | None:
        """The exit status, or None if still running (one waiting thread at a time)."""
        return exit_status_within(self.process, self.wait_lock, seconds)

    def exit(self) -> None:
        """No more crawls: the worker finishes the ones it has, then exits."""
        self.send(("exit",))

    def kill(self) -> None:
        """SIGKILL the worker's process group: it, and its extraction workers."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap(self, timeout: float) -> None:
        """After the worker ended, or past `timeout`: nothing of it left, its handles closed."""
        self.dead.wait(timeout)
        if not self.dead.is_set():
            self.kill()
            self.dead.wait()
        try:  # the group outlives its leader while a member lives: its id is not reused
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for thread in self.threads:
            thread.join(timeout=2)
        self.log.close()
        self.conn.close()
