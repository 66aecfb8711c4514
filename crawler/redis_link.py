"""What newsmill keeps in Redis when it crawls on several machines, and how it gets there.

The daemon puts due sources on a task stream; `newsmill worker` processes take them
through a consumer group, crawl, and send what they found down a results stream; one
writer (the daemon, or `newsmill store`) reads that into the SQLite store. Redis Streams
with consumer groups give what a plain list does not: an entry read by a worker stays
pending until the worker acknowledges it (XACK), so a worker that dies leaves its source
pending, and another claims it once it has been idle past the visibility timeout
(XAUTOCLAIM). The same holds for the writer and the results stream.

Every key starts with the prefix (`newsmill:` unless NEWSMILL_REDIS_PREFIX says
otherwise):

- `tasks`: stream of due sources (one entry a crawl), group `workers`
- `results`: stream of run openings, batches of articles and errors, run closings; group `writer`
- `queued:<source>`: the task id of the source's crawl now queued or running (set by the
  daemon, removed by the writer when the crawl's run is closed)
- `done:<task>`: the run id that closed a task (read by the daemon, kept a day)
- `crawling:<source>`: the attempt now crawling the source (no source twice at once)
- `host:<hostname>`: held for the host delay after each request (politeness across workers)
- `worker:<id>` and the set `workers`: each worker's heartbeat (host, pid, sources in hand)
- `writer`: the one writer's lease; `lookups` and `reply:<id>`: the workers' questions
  to the store (known URLs, robots.txt, listing validators) and their answers

A lost connection, or a Redis that restarts, is retried with backoff for as long as it
takes, and logged once when lost and once when back (`RedisLink.call`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

import redis

logger = logging.getLogger("newsmill.redis")

WORKERS_GROUP = "workers"
WRITER_GROUP = "writer"
DONE_KEEP = 24 * 3600  # seconds a done:<task> key is kept for the daemon to read
# A consumer is deleted from its group only if nothing is pending for it, checked in the
# same step: XGROUP DELCONSUMER drops the consumer's pending entries with it.
FORGET_CONSUMER = ("if #redis.call('xpending', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 "
                   "then return redis.call('xgroup', 'delconsumer', KEYS[1], ARGV[1], ARGV[2]) "
                   "end return -1")
# Compare-and-delete: a lock is released only by the one holding it.
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# Compare-and-extend.
EXTEND = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")


class RedisUnavailable(RuntimeError):
    """Redis could not be reached in the time the caller allowed."""


def describe_url(url: str) -> str:
    """The address of a Redis URL without its password, for log lines."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path or ''}"


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class RedisLink:
    """One Redis connection pool, the key names, and calls that survive a lost connection."""

    def __init__(self, url: str, prefix: str = "newsmill:", timeout: float = 10.0):
        self.url = url
        self.where = describe_url(url)
        self.prefix = prefix
        # socket_timeout bounds every call but the blocking reads, which pass their own.
        self.client = redis.Redis.from_url(url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout,
                                           health_check_interval=30, decode_responses=True)
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.abandon = threading.Event()  # set: calls waiting for Redis give up (at exit)
        self.outages = 0  # connections lost so far (a reply may have been lost with one)
        self.back_at: float | None = None
        self.quiet = False  # this outage is the last one going on (not logged again)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # --- calls that wait out a lost connection ----------------------------------------
    def call(self, fn, *args, give_up_after: float | None = None, stop: threading.Event | None = None,
             **kwargs):
        """fn(*args, **kwargs), retried with backoff (0.1 s doubling to 10 s) while Redis
        cannot be reached. Logged once when the connection is lost and once when it is
        back, whichever thread sees it. Past `give_up_after` seconds, or once `stop` (or
        the link's `abandon`) is set, RedisUnavailable."""
        started, pause = time.monotonic(), 0.1
        stop = stop or self.abandon
        while True:
            try:
                result = fn(*args, **kwargs)
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError,
                    redis.exceptions.TryAgainError) as exc:
                self._lost(exc)
                if give_up_after is not None and time.monotonic() - started > give_up_after:
                    raise RedisUnavailable(f"Redis at {self.where}: {exc}") from exc
                if stop.wait(pause) or self.abandon.is_set():
                    raise RedisUnavailable(f"Redis at {self.where}: {exc}") from exc
                pause = min(pause * 2, 10.0)
                continue
            if self.down_since is not None:
                self._back()
            return result

    FLAPPING = 10.0  # seconds after a recovery in which a new loss is the same outage

    def _lost(self, exc: Exception) -> None:
        with self.lock:
            self.outages += 1
            if self.down_since is None:
                self.down_since = time.monotonic()
                # A server shutting down answers some calls and drops others: one outage.
                self.quiet = self.back_at is not None and \
                    self.down_since - self.back_at < self.FLAPPING
                if not self.quiet:
                    logger.warning("Redis at %s cannot be reached (%s); retrying with backoff",
                                   self.where, exc)

    def _back(self) -> None:
        with self.lock:
            if self.down_since is not None:
                if not self.quiet:
                    logger.warning("Redis at %s reachable again after %.0fs", self.where,
                                   time.monotonic() - self.down_since)
                self.down_since = None
                self.back_at = time.monotonic()

    def ping(self) -> None:
        """Fails at once (RedisUnavailable) if Redis cannot be reached now."""
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise RedisUnavailable(f"cannot reach Redis at {self.where}: {exc}") from exc

    def ensure_group(self, stream: str, group: str) -> None:
        """The consumer group, created with its stream if need be (after a Redis without
        persistence restarted, too)."""
        try:
            self.client.xgroup_create(self.key(stream), group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _group_call(self, stream: str, group: str, fn, *args, **kwargs):
        """A call on a consumer group that makes the group again if Redis lost it."""
        def attempt():
            try:
                return fn(*args, **kwargs)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self.ensure_group(stream, group)
                return fn(*args, **kwargs)
        return attempt

    # --- the task stream (daemon → workers) --------------------------------------------
    def queued_task(self, source: str) -> str | None:
        return self.call(self.client.get, self.key("queued", source))

    def enqueue(self, source: dict, overrides: dict, timeout: float) -> str:
        """Put one crawl of `source` on the task stream; its task id."""
        task = uuid.uuid4().hex[:16]
        body = encode({"task": task, "source": source, "overrides": overrides,
                       "timeout": timeout})
        self.call(self.client.set, self.key("queued", source["name"]), task)
        self.call(self.client.xadd, self.key("tasks"), {"task": body})
        return task

    def take(self, consumer: str, block: float, visibility: float) -> tuple[str, dict, int] | None:
        """The next task for `consumer`: one left by a dead worker (idle past `visibility`
        seconds) first, else a new one, waiting up to `block` seconds. (entry id, task,
        deliveries so far) or None."""
        stream = self.key("tasks")
        claimed = self.call(self._group_call("tasks", WORKERS_GROUP, self.client.xautoclaim,
                                             stream, WORKERS_GROUP, consumer,
                                             int(visibility * 1000), "0-0", count=1))
        entries = claimed[1] if claimed and len(claimed) > 1 else []
        if entries and entries[0][1]:
            entry_id, fields = entries[0]
            pending = self.call(self.client.xpending_range, stream, WORKERS_GROUP,
                                min=entry_id, max=entry_id, count=1)
            deliveries = pending[0]["times_delivered"] if pending else 2
            return entry_id, json.loads(fields["task"]), deliveries
        read = self.call(self._group_call("tasks", WORKERS_GROUP, self.client.xreadgroup,
                                          WORKERS_GROUP, consumer, {stream: ">"}, count=1,
                                          block=max(1, int(block * 1000))))
        for _stream, messages in read or []:
            for entry_id, fields in messages:
                if fields:
                    return entry_id, json.loads(fields["task"]), 1
        return None

    def keep(self, consumer: str, entry_ids: list[str]) -> set[str]:
        """Tell Redis these tasks are still being worked on (their idle time starts again).
        Returns those no longer this consumer's: another worker took them over while this
        one was silent too long (a stalled process, a network split)."""
        if not entry_ids:
            return set()
        stream = self.key("tasks")
        mine = {p["message_id"] for p in self.client.xpending_range(
            stream, WORKERS_GROUP, min="-", max="+", count=10_000, consumername=consumer)}
        kept = [e for e in entry_ids if e in mine]
        if kept:
            self.client.xclaim(stream, WORKERS_GROUP, consumer, 0, kept, justid=True)
        return set(entry_ids) - mine

    def finish_task(self, entry_id: str) -> None:
        """The task's run is closed in the results stream: it leaves the task stream."""
        stream = self.key("tasks")
        self.call(self.client.xack, stream, WORKERS_GROUP, entry_id)
        self.call(self.client.xdel, stream, entry_id)

    def lock_source(self, source: str, attempt: str, seconds: float) -> bool:
        return bool(self.call(self.client.set, self.key("crawling", source), attempt,
                              px=int(seconds * 1000), nx=True))

    def extend_source(self, source: str, attempt: str, seconds: float) -> None:
        self.client.eval(EXTEND, 1, self.key("crawling", source), attempt, int(seconds * 1000))

    def release_source(self, source: str, attempt: str) -> None:
        self.call(self.client.eval, RELEASE, 1, self.key("crawling", source), attempt)

    # --- the results stream (workers → writer) -----------------------------------------
    def send_result(self, message: dict) -> None:
        self.call(self.client.xadd, self.key("results"), {"m": encode(message)})

    def read_results(self, consumer: str, block: float, backlog: bool, count: int = 50,
                     stop: threading.Event | None = None) -> list[tuple[str, dict]]:
        """Results for the writer: with `backlog`, those it read before and did not
        acknowledge (it stopped or died), else new ones, waiting up to `block` seconds."""
        stream = self.key("results")
        read = self.call(self._group_call("results", WRITER_GROUP, self.client.xreadgroup,
                                          WRITER_GROUP, consumer,
                                          {stream: "0" if backlog else ">"}, count=count,
                                          block=None if backlog else max(1, int(block * 1000))),
                         stop=stop)
        out = []
        for _stream, messages in read or []:
            for entry_id, fields in messages:
                if fields:  # an entry deleted while pending comes back empty
                    out.append((entry_id, json.loads(fields["m"])))
                else:
                    self.client.xack(stream, WRITER_GROUP, entry_id)
        return out

    def claim_results(self, consumer: str, idle: float) -> None:
        """Results a writer before this one read and never acknowledged become this one's."""
        stream = self.key("results")
        start = "0-0"
        while True:
            answer = self.call(self._group_call(
                "results", WRITER_GROUP, self.client.xautoclaim, stream, WRITER_GROUP,
                consumer, int(idle * 1000), start, count=100, justid=True))
            next_start = answer[0] if answer else "0-0"
            if next_start in ("0-0", start):
                return
            start = next_start

    def results_stored(self, entry_ids: list[str], stop: threading.Event | None = None) -> None:
        stream = self.key("results")
        self.call(self.client.xack, stream, WRITER_GROUP, *entry_ids, stop=stop)
        self.call(self.client.xdel, stream, *entry_ids, stop=stop)

    def task_done(self, task: str, source: str, run_id: int | None, note: str | None = None) -> None:
        """Written by the writer once a task's last run is closed: the daemon reads it."""
        pipe = self.client.pipeline()
        pipe.set(self.key("done", task), encode({"run_id": run_id, "note": note}), ex=DONE_KEEP)
        pipe.eval(RELEASE, 1, self.key("queued", source), task)
        self.call(pipe.execute)

    def done_run(self, task: str) -> dict | None:
        value = self.call(self.client.get, self.key("done", task))
        return json.loads(value) if value else None

    # --- the writer's lease -------------------------------------------------------------
    def hold_writer(self, holder: str, seconds: float) -> str | None:
        """Take or extend the writer's lease; None if held, else who holds it."""
        key = self.key("writer")
        if self.client.set(key, holder, px=int(seconds * 1000), nx=True):
            return None
        if self.client.eval(EXTEND, 1, key, holder, int(seconds * 1000)):
            return None
        return self.client.get(key) or "someone"

    def forget_gone_consumers(self, idle: float) -> int:
        """Delete from the consumer groups the consumers (workers, writers: one per process
        that ever read, `host:pid`) idle for `idle` seconds with nothing pending: the ones
        that retired, restarted or died and whose tasks were taken over. Redis keeps every
        consumer until told; a year of workers retiring every thousand crawls would leave
        hundreds of thousands. A live one reads every few seconds, so is never idle that
        long, and one forgotten by mistake is made again by its next read."""
        forgotten = 0
        for stream, group in (("tasks", WORKERS_GROUP), ("results", WRITER_GROUP)):
            try:
                consumers = self.client.xinfo_consumers(self.key(stream), group)
            except redis.ResponseError:  # no such stream or group yet
                continue
            for consumer in consumers:
                if consumer["pending"] == 0 and consumer["idle"] >= idle * 1000:
                    forgotten += self.client.eval(FORGET_CONSUMER, 1, self.key(stream), group,
                                                  consumer["name"]) == 0
        return forgotten

    def drop_writer(self, holder: str) -> None:
        try:
            self.client.eval(RELEASE, 1, self.key("writer"), holder)
        except redis.RedisError:
            pass

    # --- workers' heartbeats and the queue, for `newsmill status` ---------------------------
    def beat(self, worker_id: str, info: dict, ttl: float) -> None:
        pipe = self.client.pipeline()
        pipe.set(self.key("worker", worker_id), encode(info), px=int(ttl * 1000))
        pipe.sadd(self.key("workers"), worker_id)
        pipe.execute()

    def forget_worker(self, worker_id: str) -> None:
        try:
            self.client.delete(self.key("worker", worker_id))
            self.client.srem(self.key("workers"), worker_id)
        except redis.RedisError:
            pass

    def workers(self) -> list[dict]:
        """The workers that have beaten lately (those gone quiet are dropped from the set)."""
        ids = sorted(self.client.smembers(self.key("workers")))
        values = self.client.mget([self.key("worker", i) for i in ids]) if ids else []
        alive = []
        for worker_id, value in zip(ids, values):
            if value is None:
                self.client.srem(self.key("workers"), worker_id)
            else:
                alive.append({"id": worker_id, **json.loads(value)})
        return alive

    def queue(self) -> dict:
        """Tasks waiting for a worker, and tasks a worker has taken."""
        stream = self.key("tasks")
        try:
            length = self.client.xlen(stream)
            taken = self.client.xpending(stream, WORKERS_GROUP)["pending"]
        except redis.ResponseError:  # no stream or group yet
            return {"waiting": 0, "taken": 0}
        results = self.client.xlen(self.key("results"))
        return {"waiting": max(0, length - taken), "taken": taken, "results_unstored": results}

    # --- look-ups of the store (workers ask, the writer answers) --------------------------
    def ask(self, question: dict, timeout: float) -> object:
        """Ask the writer; its answer, or RedisUnavailable if none came within `timeout`."""
        reply = self.key("reply", uuid.uuid4().hex)
        try:
            self.client.rpush(self.key("lookups"), encode({**question, "reply": reply}))
            answer = self.client.blpop([reply], timeout=timeout)
        except redis.RedisError as exc:
            raise RedisUnavailable(f"Redis at {self.where}: {exc}") from exc
        if answer is None:
            raise RedisUnavailable(f"no writer answered within {timeout:.0f}s")
        return json.loads(answer[1])

    def next_question(self, block: float) -> dict | None:
        answer = self.client.blpop([self.key("lookups")], timeout=block)
        return json.loads(answer[1]) if answer else None

    def answer(self, reply: str, value) -> None:
        pipe = self.client.pipeline()
        pipe.rpush(reply, encode(value))
        pipe.expire(reply, 60)
        pipe.execute()
