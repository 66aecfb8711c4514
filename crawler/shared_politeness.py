"""Per-site politeness across machines: one request start per host per delay, for every worker.

Scrapy's download slots (DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN, AutoThrottle)
keep one process polite; two workers crawling two sources of one site would each be
polite alone and, together, twice as fast. Before each request, this middleware takes the
host's turn in Redis (`SET host:<name> NX PX delay`): whoever sets the key may send, the
others wait until it expires. So a site sees at most one request start per
NEWSMILL_REDIS_HOST_DELAY seconds (DOWNLOAD_DELAY unless set) however many workers crawl
it. The wait runs on the event loop (redis.asyncio): a crawl's other hosts go on.

Hosts are named as Scrapy's slots name them (the host name, without the port). If Redis
cannot be reached the request goes ahead under Scrapy's own delay, and that is logged once.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis
import redis.asyncio
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger("newsmill.worker")


class SharedTurns:
    """The worker's client for the hosts' turns, shared by all its crawls (one connection
    pool, one event loop), and the pause after Redis failed to answer, logged once."""

    PAUSE = 30.0  # seconds without the shared delay after Redis failed to answer

    def __init__(self, url: str):
        self.client = redis.asyncio.Redis.from_url(url, socket_timeout=2.0,
                                                   socket_connect_timeout=2.0)
        self.quiet_until = 0.0

    def failed(self, exc: Exception) -> None:
        if time.monotonic() >= self.quiet_until:
            logger.warning("the shared host delay is off for %.0fs: Redis does not answer "
                           "(%s)", self.PAUSE, exc)
        self.quiet_until = time.monotonic() + self.PAUSE


_TURNS: dict[str, SharedTurns] = {}  # per Redis URL, in this worker process


class SharedHostDelayMiddleware:
    MAX_WAIT = 120.0  # at most this long in the host's queue, then go (and say so)

    def __init__(self, crawler, url: str, prefix: str, delay: float):
        if url not in _TURNS:
            _TURNS[url] = SharedTurns(url)
        self.turns = _TURNS[url]
        self.prefix = prefix
        self.delay_ms = max(1, int(delay * 1000))
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        url = s.get("NEWSMILL_REDIS_URL")
        delay = s.getfloat("NEWSMILL_REDIS_HOST_DELAY", -1)
        if delay < 0:
            delay = s.getfloat("DOWNLOAD_DELAY")
        if not url or delay <= 0:
            raise NotConfigured
        return cls(crawler, url, s.get("NEWSMILL_REDIS_PREFIX") or "newsmill:", delay)

    async def process_request(self, request, spider=None):
        host = urlparse_cached(request).hostname or ""
        key = f"{self.prefix}host:{host}"
        started = time.monotonic()
        turns = self.turns
        while time.monotonic() >= turns.quiet_until:
            try:
                if await turns.client.set(key, 1, px=self.delay_ms, nx=True):
                    break
                wait_ms = await turns.client.pttl(key)
            except (redis.RedisError, OSError) as exc:
                turns.failed(exc)
                break
            if time.monotonic() - started > self.MAX_WAIT:
                logger.warning("%s: waited %.0fs for its turn among the workers; going ahead",
                               host, self.MAX_WAIT)
                break
            await asyncio.sleep(max(wait_ms, 1) / 1000)
        waited = time.monotonic() - started
        if waited > 0.001:
            self.stats.inc_value("newsmill/shared_delay_seconds", round(waited, 3))
        return None
