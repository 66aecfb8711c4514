"""The one writer: what workers on other machines found, into the SQLite store.

`newsmill daemon --redis URL` runs it in a thread; `newsmill store --redis URL` runs it
alone. It reads the results stream (crawler/redis_link.py) in order and writes each
message as the storage pipeline would have (pipelines/storage.py): a run opened, a batch
of articles, not-modified answers and errors judged and saved, a run closed. The
duplicate and version judgements stay where they are, in the store's write transaction.

Nothing is lost or doubled:

- a message is acknowledged only once written; a writer that dies leaves it pending, and
  the next writer reads its backlog first;
- a run is opened once per attempt (`runs.task` names it), however often its opening is
  delivered; an article delivered twice (a batch sent again, a source crawled again after
  its worker died) is judged against what is stored, and stored once;
- when the store cannot be written (disk full, locked), the message stays in Redis and
  is tried again with backoff: nothing fetched is dropped.

Only one writer at a time holds the lease (`writer` key); another waits, standing by.
It also answers the workers' look-ups of the store (crawler/remote_lookups.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from crawler.redis_link import RedisLink, RedisUnavailable
from crawler.remote_lookups import answer
from pipelines.database import ArticleStore, KnownUrls, StoreError
from pipelines.storage import open_store

logger = logging.getLogger("newsmill.store")

LEASE = 15.0  # seconds the writer's lease lasts without renewal
TIDY_EVERY = 600.0  # at most this many seconds between two clear-outs of gone workers


def writer_settings(overrides: dict):
    """newsmill's settings with the -s overrides: the store's busy timeout, size cap..."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(overrides, priority="cmdline")
    return settings


class ResultWriter:
    def __init__(self, link: RedisLink, db_path: str, settings, stop: threading.Event):
        self.link = link
        self.db_path = db_path
        self.settings = settings
        self.stop = stop
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.store: ArticleStore | None = None
        self.runs: dict[str, dict[str, int]] = {}  # attempt -> {source: run id}
        self.counted: dict[str, dict] = {}  # attempt -> outcomes counted (StoragePipeline's)
        # attempt -> the last batch written: a batch sent again (the connection dropped after
        # Redis took it, before the worker heard so) is not counted twice in its run.
        self.written: dict[str, int] = {}
        self.stored = 0  # messages written
        self.failing_since: float | None = None

    # --- the loop -----------------------------------------------------------------------
    def run(self) -> None:
        """Write results until `stop` is set."""
        self._take_lease()
        if self.stop.is_set():
            return
        self.store = open_store(self.db_path, self.settings)
        lookups = threading.Thread(target=self._answer_lookups, name="newsmill-lookups",
                                   daemon=True)
        lookups.start()
        try:
            self.link.call(self.link.ensure_group, "results", "writer", stop=self.stop)
            self.link.call(self.link.claim_results, self.holder, LEASE, stop=self.stop)
            backlog, renewed, tidied = True, time.monotonic(), 0.0
            while not self.stop.is_set():
                if time.monotonic() - renewed > LEASE / 3:
                    self._take_lease()
                    renewed = time.monotonic()
                if time.monotonic() - tidied > min(
                        TIDY_EVERY, self.settings.getfloat("NEWSMILL_REDIS_FORGET_AFTER") / 6):
                    self._forget_gone_consumers()
                    tidied = time.monotonic()
                outages = self.link.outages
                messages = self.link.read_results(self.holder, 1.0, backlog, stop=self.stop)
                if self.link.outages != outages and not backlog:
                    # A read whose reply was lost with the connection still delivered its
                    # entries to this writer: they are pending, before these. Read them all
                    # again, in order, from the pending list.
                    backlog = True
                    continue
                if backlog and not messages:
                    backlog = False
                    continue
                for entry_id, message in messages:
                    if not self._write(message):
                        return  # stopping while the store could not be written
                    self.link.results_stored([entry_id], stop=self.stop)
                    self.stored += 1
        except RedisUnavailable:  # only once stopping
            pass
        finally:
            self.link.drop_writer(self.holder)
            lookups.join(timeout=5)
            self.store.close()

    def _forget_gone_consumers(self) -> None:
        forget_after = self.settings.getfloat("NEWSMILL_REDIS_FORGET_AFTER")
        forgotten = self.link.call(self.link.forget_gone_consumers, forget_after, stop=self.stop)
        if forgotten:
            logger.info("%d workers or writers gone for %.0fs, with nothing pending, forgotten "
                        "by Redis", forgotten, forget_after)

    def _take_lease(self) -> None:
        said = None
        while not self.stop.is_set():
            try:
                holder = self.link.call(self.link.hold_writer, self.holder, LEASE, stop=self.stop)
            except RedisUnavailable:
                return
            if holder is None:
                if said:
                    logger.info("the store's writer %s is gone: writing now", said)
                return
            if holder != said:
                logger.warning("another writer (%s) holds this Redis's results: standing by",
                               holder)
                said = holder
            self.stop.wait(LEASE / 3)

    def _write(self, message: dict) -> bool:
        """Write one message, retrying while the store cannot take it; False if stopped."""
        pause = 1.0
        while True:
            try:
                self._handle(message)
            except StoreError as exc:
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    logger.error("cannot write to the store %s (%s): the workers' results wait "
                                 "in Redis until it can", self.db_path, exc)
                if self.stop.wait(pause):
                    return False
                pause = min(pause * 2, 60.0)
                try:  # still the writer while it waits (a standby would take its results)
                    self.link.hold_writer(self.holder, LEASE)
                except Exception:  # Redis away too: the next read waits for it
                    pass
                continue
            if self.failing_since is not None:
                logger.warning("the store %s can be written again after %.0fs", self.db_path,
                               time.monotonic() - self.failing_since)
                self.failing_since = None
            return True

    # --- one message ------------------------------------------------------------------------
    def _handle(self, m: dict) -> None:
        kind = m["kind"]
        if kind in ("open", "batch", "close") and self._closed(m["attempt"]):
            logger.debug("%s of %s delivered again after its run was closed: skipped", kind,
                         m["attempt"])
            if kind == "close" and m.get("final", True):  # Redis may have lost it with the rest
                for name, run_id in self.store.runs_of_task(m["attempt"]).items():
                    self.link.task_done(m["task"], name, run_id)
            return
        if kind == "open":
            self._open(m)
        elif kind == "batch":
            if m["seq"] <= self.written.get(m["attempt"], 0):
                logger.debug("batch %d of %s delivered again: skipped", m["seq"], m["attempt"])
                return
            run_ids = self._run_ids(m)
            self.store.save_batch(m["articles"], m["errors"], run_ids, m["not_modified"],
                                  self.counted.setdefault(m["attempt"], {}))
            self.written[m["attempt"]] = m["seq"]
        elif kind == "close":
            self._close(m)
        elif kind in ("failed", "lost"):
            self._gave_up(m)
        else:
            logger.error("unknown result %r from a worker: skipped", kind)

    def _open(self, m: dict) -> dict[str, int]:
        store, attempt = self.store, m["attempt"]
        run_ids = store.runs_of_task(attempt)
        if not run_ids:
            # Earlier attempts of the same task ended with their workers.
            self._interrupt_earlier(m["task"], attempt)
            run_ids = {name: store.start_run(name, pid=m["pid"], host=m["host"], task=attempt)
                       for name in m["sources"]}
        self.runs[attempt] = run_ids
        return run_ids

    def _run_ids(self, m: dict) -> dict[str, int]:
        run_ids = self.runs.get(m["attempt"]) or self.store.runs_of_task(m["attempt"])
        if not run_ids:  # its opening was never written (cannot happen in one stream)
            raise StoreError(f"no run was opened for task {m['attempt']}")
        self.runs[m["attempt"]] = run_ids
        return run_ids

    def _closed(self, attempt: str) -> bool:
        """Whether the attempt's runs were closed already, so this message is one delivered
        again: by Redis restarted from a snapshot taken before it was acknowledged, or sent
        twice. Written again after this writer closed the run and forgot the attempt's
        batches, its articles would count twice in the run.
        """
        if attempt in self.runs:  # open in this writer: its batches are counted by `written`
            return False
        run_ids = self.store.runs_of_task(attempt)
        return bool(run_ids) and all(self.store.get_run(i)["status"] != "running"
                                     for i in run_ids.values())

    def _interrupt_earlier(self, task: str, attempt: str) -> None:
        for run in self.store.running_runs_of_task(task):
            if run["task"] != attempt:
                self.store.interrupt_run(run["id"])
                logger.warning("%s: run %d was left running by a worker that is gone (%s, "
                               "pid %s); marked interrupted", run["source"], run["id"],
                               run["host"], run["pid"])

    def _close(self, m: dict) -> None:
        run_ids = self._run_ids(m)
        for name, run in m["runs"].items():
            if name in run_ids:
                self.store.finish_run(run_ids[name], run.pop("status"), **run)
        self.runs.pop(m["attempt"], None)
        self.counted.pop(m["attempt"], None)
        self.written.pop(m["attempt"], None)
        if m.get("final", True):
            for name, run_id in run_ids.items():
                self.link.task_done(m["task"], name, run_id)

    def _gave_up(self, m: dict) -> None:
        """A task that never ran to a close: the crawl could not start, or its workers kept
        dying. Its run is recorded as failed, and its earlier attempts as interrupted."""
        if self.store.runs_of_task(m["attempt"]):
            return  # delivered again: its run was recorded the first time
        self._interrupt_earlier(m["task"], m["attempt"])
        if m["kind"] == "failed":
            note = f"the crawl could not start: {m['error']}"
        else:
            note = f"given up after {m['deliveries']} workers stopped or died with it"
        run_id = self.store.record_failed_run(m["source"], m.get("pid"), task=m["attempt"],
                                              host=m.get("host"))
        logger.error("%s: run %d failed: %s", m["source"], run_id, note)
        self.link.task_done(m["task"], m["source"], run_id, note)

    # --- the workers' questions -----------------------------------------------------------
    def _answer_lookups(self) -> None:
        known = KnownUrls(self.db_path)
        try:
            while not self.stop.is_set():
                try:
                    question = self.link.call(self.link.next_question, 1.0, stop=self.stop)
                except RedisUnavailable:
                    return
                if question is None:
                    continue
                try:
                    value = answer(question, self.db_path, known)
                except Exception as exc:  # a bad question must not end the answers
                    logger.error("cannot answer a worker's look-up %r: %s", question.get("ask"), exc)
                    value = None
                try:
                    self.link.call(self.link.answer, question["reply"], value, stop=self.stop)
                except RedisUnavailable:
                    return
        finally:
            known.close()


def run_store(url: str, db_path: str, overrides: dict) -> int:
    """`newsmill store`: write results until SIGTERM or SIGINT; the exit status."""
    import signal

    stop = threading.Event()

    def on_signal(signum, frame):
        logger.info("stopping: the results being written are finished first")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = writer_settings(overrides)
    link = RedisLink(url, settings.get("NEWSMILL_REDIS_PREFIX") or "newsmill:")
    link.abandon = stop  # once stopping, calls waiting for a Redis that is away give up
    writer = ResultWriter(link, db_path, settings, stop)
    logger.info("writing the results of Redis at %s into %s", link.where, db_path)
    writer.run()
    logger.info("stopped after writing %d results", writer.stored)
    return 0
