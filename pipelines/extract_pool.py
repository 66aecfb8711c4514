"""Extraction worker processes driven from the crawl's event loop, with no helper thread.

Written by hand rather than taken from concurrent.futures: ProcessPoolExecutor runs two
threads in the crawl process (a queue feeder and a manager) and wakes both for every
page, then wakes the event loop from the manager through its self-pipe. On the benchmark
site they used 0.5 ms of CPU per page, 14% of the crawl process, besides the GIL
hand-offs they cost the reactor thread (benchmarks/README.md). Here the event loop writes
each task straight into its worker's pipe (made big enough for a whole page) and reads
the answer when the result pipe becomes readable (`loop.add_reader`/`add_writer`).

Messages use multiprocessing.connection's framing, so a worker reads and answers with
Connection.recv_bytes/send_bytes (extract_worker.serve).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import multiprocessing
import os
import pickle
import struct
from collections import deque

logger = logging.getLogger(__name__)

# A task's pipe holds a whole page (the benchmark site's are ~170 KB; Linux's default is
# 64 KiB), so a worker reads its next page at once instead of waiting for the event loop
# to write the rest. 1 MiB is what Linux lets any process ask for (pipe-max-size).
PIPE_BYTES = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# Tasks given to one worker at a time: the one it extracts and the next, already in its pipe.
QUEUED_PER_WORKER = 2


class WorkerDied(Exception):
    """The worker process ended while extracting this task (killed, out of memory)."""


class TaskTimedOut(Exception):
    """The task ran past the pool's time limit, so its worker was killed.

    Killed from outside, not interrupted by an alarm inside the worker: a signal handler
    runs only between Python bytecodes, never inside lxml or a regular expression, where
    a hostile page spends its time."""


def _frame(payload: bytes) -> bytes:
    """multiprocessing.connection's framing: a 4-byte length, or -1 and an 8-byte one."""
    if len(payload) > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, len(payload)) + payload
    return struct.pack("!i", len(payload)) + payload


class _Worker:
    """One worker process, its two pipes, and the tasks it has been given, oldest first."""

    def __init__(self, pool: ExtractionPool, warm: bool):
        # Imported when a worker starts: a crawl that extracts nothing never loads the
        # worker's module (lxml, charset_normalizer, newsmill's readers).
        from pipelines.extract_worker import serve

        self.pool = pool
        self.loop = pool.loop
        context = multiprocessing.get_context("spawn")  # a forked copy of a running reactor is unsafe
        task_reader, task_writer = context.Pipe(duplex=False)
        result_reader, result_writer = context.Pipe(duplex=False)
        self.process = context.Process(target=serve, args=(task_reader, result_writer, os.getpid(), warm),
                                       name="newsmill-extract", daemon=True)
        self.process.start()
        task_reader.close()  # the worker's ends: EOF on the result pipe then means it is gone
        result_writer.close()
        self.pipes = (task_writer, result_reader)  # used through their descriptors only
        self.task_fd, self.result_fd = task_writer.fileno(), result_reader.fileno()
        os.set_blocking(self.task_fd, False)
        os.set_blocking(self.result_fd, False)
        try:
            fcntl.fcntl(self.task_fd, F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # not Linux, or a lower limit: pages then take a few writes
            pass
        self.outgoing = bytearray()
        self.incoming = bytearray()
        self.writing = False
        self.in_flight: deque = deque()  # (future, frame) of each task given, in order
        self.given = 0
        self.answered = 0
        self.retiring = False
        self.deadline: asyncio.TimerHandle | None = None  # the running task's time limit
        self.loop.add_reader(self.result_fd, self._readable)

    def give(self, future: asyncio.Future, frame: bytes) -> None:
        self.in_flight.append((future, frame))
        self.given += 1
        if len(self.in_flight) == 1:  # an idle worker starts on it now
            self._arm()
        self.outgoing += frame
        self._write()

    def _arm(self) -> None:
        """Time the task the worker runs now (the oldest given): the pool's limit, twice
        that for a worker's first task, which also waits for the worker to start."""
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        if self.in_flight and self.pool.task_timeout > 0:
            limit = self.pool.task_timeout * (1 if self.answered else 2)
            self.deadline = self.loop.call_later(limit, self.pool._overran, self, self.in_flight[0][0])

    def _write(self) -> None:
        try:
            while self.outgoing:
                del self.outgoing[:os.write(self.task_fd, self.outgoing)]
        except BlockingIOError:
            pass
        except OSError:  # the worker is gone: its result pipe's EOF says so
            self.outgoing.clear()
        if self.outgoing and not self.writing:
            self.loop.add_writer(self.task_fd, self._write)
            self.writing = True
        elif not self.outgoing and self.writing:
            self.loop.remove_writer(self.task_fd)
            self.writing = False

    def _readable(self) -> None:
        try:
            data = os.read(self.result_fd, PIPE_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.pool._lost(self)
            return
        self.incoming += data
        while len(self.incoming) >= 4:
            (size,), start = struct.unpack_from("!i", self.incoming), 4
            if size == -1:
                if len(self.incoming) < 12:
                    return
                (size,), start = struct.unpack_from("!Q", self.incoming, 4), 12
            if len(self.incoming) < start + size:
                return
            payload = bytes(self.incoming[start:start + size])
            del self.incoming[:start + size]
            future, _ = self.in_flight.popleft()
            self.answered += 1
            self._arm()  # the next task given, if any, runs now
            self.pool._answered(self, future, payload)

    def close(self) -> None:
        """Stop listening and close the task pipe: the worker finishes, reads EOF, exits."""
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.loop.remove_reader(self.result_fd)
        if self.writing:
            self.loop.remove_writer(self.task_fd)
        for pipe in self.pipes:
            pipe.close()


class ExtractionPool:
    """Up to `size` worker processes, started when work comes (or all at once by `start`),
    each replaced by a fresh one after `recycle_tasks` tasks (0: never); a worker whose
    task runs past `task_timeout` seconds (0: no limit) is killed and replaced."""

    def __init__(self, size: int, recycle_tasks: int = 0, task_timeout: float = 0.0):
        self.size = size
        self.recycle_tasks = recycle_tasks
        self.task_timeout = task_timeout
        self.loop = asyncio.get_running_loop()
        self.workers: list[_Worker] = []
        self.ended: list = []  # processes of retired or lost workers, reaped at close
        self.waiting: deque = deque()  # (future, frame) not yet given to a worker
        self.replaced = 0  # workers retired after recycle_tasks

    def start(self, warm: bool = False) -> None:
        """Start every worker now (warm: each extracts a made-up page first)."""
        while len(self.workers) < self.size:
            self.workers.append(_Worker(self, warm))

    def submit(self, function, *args) -> asyncio.Future:
        """Run function(*args) in a worker; its result (or exception) through the future."""
        future = self.loop.create_future()
        self.waiting.append((future, _frame(pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL))))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        while self.waiting:
            worker = self._worker_for_next()
            if worker is None:
                return
            future, frame = self.waiting.popleft()
            if not future.cancelled():
                worker.give(future, frame)
                if self.recycle_tasks and worker.given >= self.recycle_tasks:
                    worker.retiring = True  # no more tasks; replaced once it has answered

    def _worker_for_next(self) -> _Worker | None:
        """An idle worker, else a new one while fewer than `size` run, else the least busy
        one with room for a queued task."""
        open_ = [w for w in self.workers if not w.retiring and len(w.in_flight) < QUEUED_PER_WORKER]
        if any(not w.in_flight for w in open_):
            return next(w for w in open_ if not w.in_flight)
        if len(self.workers) < self.size:
            self.workers.append(_Worker(self, warm=False))
            return self.workers[-1]
        return min(open_, key=lambda w: len(w.in_flight), default=None)

    def _answered(self, worker: _Worker, future: asyncio.Future, payload: bytes) -> None:
        try:
            ok, value = pickle.loads(payload)
        except Exception as exc:  # an exception class that cannot be rebuilt here
            ok, value = False, RuntimeError(f"unreadable answer from an extraction worker: {exc!r}")
        if not future.cancelled():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if worker.retiring and not worker.in_flight:
            self._end(worker)
            self.replaced += 1
        self._dispatch()

    def _lost(self, worker: _Worker) -> None:
        """The worker's result pipe closed: it died. Its current task fails with
        WorkerDied; the ones queued behind it never started and go to another worker."""
        self._fail(worker, WorkerDied(f"extraction worker {worker.process.pid} died "
                                      f"(exit code {worker.process.exitcode})"))

    def _overran(self, worker: _Worker, future: asyncio.Future) -> None:
        """The worker's current task passed the time limit: the worker is killed, the task
        fails with TaskTimedOut, and the ones queued behind it go to another worker."""
        if worker not in self.workers or not worker.in_flight or worker.in_flight[0][0] is not future:
            return  # answered, or the worker ended, as the timer fired
        limit = self.task_timeout * (1 if worker.answered else 2)
        logger.warning("extraction worker %d killed: its task ran past %g s", worker.process.pid, limit)
        worker.process.kill()
        self._fail(worker, TaskTimedOut(f"ran past {limit:g} s; its worker was killed"))

    def _fail(self, worker: _Worker, error: Exception) -> None:
        self._end(worker)
        if worker.in_flight:
            future, _ = worker.in_flight.popleft()
            if not future.cancelled():
                future.set_exception(error)
            self.waiting.extendleft(reversed(worker.in_flight))
            worker.in_flight.clear()
        self._dispatch()

    def _end(self, worker: _Worker) -> None:
        worker.close()
        self.workers.remove(worker)
        self.ended.append(worker.process)
        self.ended = [p for p in self.ended if p.is_alive()]  # is_alive reaps the ones gone

    def close(self, timeout: float = 10.0) -> None:
        """Close every worker's pipes and wait for the processes to end (killed past
        `timeout`); tasks not answered yet are cancelled."""
        for future, _ in self.waiting:
            future.cancel()
        self.waiting.clear()
        for worker in list(self.workers):
            for future, _ in worker.in_flight:
                future.cancel()
            self._end(worker)
        for process in self.ended:
            process.join(timeout)
            if process.is_alive():
                logger.warning("extraction worker %d did not exit; killed", process.pid)
                process.kill()
                process.join()
        self.ended = []
