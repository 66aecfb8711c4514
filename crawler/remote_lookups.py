"""The store's look-ups for a crawl on another machine: asked of the writer through Redis.

A crawl in `newsmill worker` has no SQLite file: what it needs to know of the store (the
known article URLs and their validators, robots.txt answers kept, listings' validators)
it asks the writer, which holds the file (crawler/remote_writer.py answers). Each class
here keeps the interface of its SQLite twin in pipelines/lookups.py, so the middlewares
and the spider are the same on one machine and on many.

When no answer comes (no writer running, Redis gone), a look-up answers "not known" and
the crawl goes on: it re-fetches what it would have skipped, which costs requests but
loses nothing. Questions then pause for a while, so that a crawl does not wait on every
request, and it is logged once.
"""

from __future__ import annotations

import base64
import logging
import threading
import time

from crawler.redis_link import RedisLink, RedisUnavailable
from pipelines.lookups import KnownUrls, ListingValidators, RobotsCache

logger = logging.getLogger("newsmill.worker")


_SHARED: dict[tuple, StoreQuestions] = {}  # see StoreQuestions.from_settings
_SHARED_LOCK = threading.Lock()


class StoreQuestions:
    """Questions to the writer, with a short timeout and a pause after one goes unanswered."""

    PAUSE = 30.0  # seconds without questions after one went unanswered

    def __init__(self, url: str, prefix: str, timeout: float):
        # A link of its own, with a short socket timeout: a look-up runs on the reactor.
        self.link = RedisLink(url, prefix, timeout=timeout)
        self.timeout = timeout
        self.quiet_until = 0.0
        self.lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> StoreQuestions:
        """One per worker process and Redis, shared by its crawls: one connection pool, and
        one pause (and one log line) when the writer does not answer, not one per crawl."""
        key = (settings.get("NEWSMILL_REDIS_URL"),
               settings.get("NEWSMILL_REDIS_PREFIX") or "newsmill:",
               settings.getfloat("NEWSMILL_REDIS_LOOKUP_TIMEOUT"))
        with _SHARED_LOCK:
            if key not in _SHARED:
                _SHARED[key] = cls(*key)
            return _SHARED[key]

    def ask(self, what: str, *args, default=None):
        if time.monotonic() < self.quiet_until:
            return default
        try:
            return self.link.ask({"ask": what, "args": list(args)}, self.timeout)
        except RedisUnavailable as exc:
            with self.lock:
                if time.monotonic() >= self.quiet_until:
                    logger.warning("the store's look-ups are unanswered (%s): for %.0fs, every "
                                   "URL counts as not known", exc, self.PAUSE)
                self.quiet_until = time.monotonic() + self.PAUSE
            return default


class RemoteKnownUrls(KnownUrls):
    def __init__(self, questions: StoreQuestions):
        super().__init__("")
        self.questions = questions

    def holds_articles_of(self, sources: list[str]) -> bool:
        # Unanswered: a later crawl, the usual case (its extraction workers start on demand).
        return bool(self.questions.ask("holds_articles_of", sources, default=True))

    def get_many(self, urls: list[str]) -> dict[str, dict]:
        if not urls:
            return {}
        return self.questions.ask("known_urls", list(dict.fromkeys(urls)), default={}) or {}

    def close(self) -> None:
        pass


class RemoteRobotsCache(RobotsCache):
    def __init__(self, questions: StoreQuestions, max_age: float):
        super().__init__("", max_age)
        self.questions = questions

    def stored(self, url: str) -> dict | None:
        row = self.questions.ask("robots_stored", url)
        if row is not None:
            row["body"] = base64.b64decode(row["body"])
        return row

    def put(self, url: str, status: int, body: bytes, etag: str | None = None,
            last_modified: str | None = None) -> None:
        self.questions.ask("robots_put", url, status, base64.b64encode(body).decode("ascii"),
                           etag, last_modified)


class RemoteListingValidators(ListingValidators):
    def __init__(self, questions: StoreQuestions):
        super().__init__("")
        self.questions = questions

    def get(self, url: str) -> dict | None:
        return self.questions.ask("listing_validators", url)

    def put(self, rows: list[tuple[str, str, str | None, str | None]]) -> None:
        self.questions.ask("listing_validators_put", [list(r) for r in rows])


# The remote twin of each SQLite look-up (crawler/store_lookups.py chooses between them).
REMOTE = {KnownUrls: RemoteKnownUrls, RobotsCache: RemoteRobotsCache,
          ListingValidators: RemoteListingValidators}


def answer(question: dict, path: str, known: KnownUrls) -> object:
    """The writer's answer to a worker's question, from the store at `path` (`known`: its
    read-only connection, kept between questions)."""
    what, args = question["ask"], question["args"]
    if what == "known_urls":
        return known.get_many(args[0])
    if what == "holds_articles_of":
        return known.holds_articles_of(args[0])
    if what == "robots_stored":
        row = RobotsCache(path, 0).stored(args[0])
        if row is not None:
            row["body"] = base64.b64encode(row["body"] or b"").decode("ascii")
        return row
    if what == "robots_put":
        url, status, body, etag, last_modified = args
        RobotsCache(path, 0).put(url, status, base64.b64decode(body), etag, last_modified)
        return True
    if what == "listing_validators":
        return ListingValidators(path).get(args[0])
    if what == "listing_validators_put":
        ListingValidators(path).put([tuple(r) for r in args[0]])
        return True
    raise ValueError(f"unknown question {what!r}")
