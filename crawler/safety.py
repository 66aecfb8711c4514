"""Where requests are kept safe: no private addresses, and a bounded run per source.

Pages and feeds can link anywhere, and DNS can answer anything. newsmill never connects
to loopback, private, link-local, multicast or reserved addresses (cloud metadata at
169.254.169.254 among them) unless a source's own URL is on such an address. The check
is made on the address actually connected to: the resolver refuses private answers for
names that are not a source's own, so a name that resolves differently between two
looks (DNS rebinding) is still checked on the answer used; IP-literal URLs, which skip
the resolver, are checked by `AddressPolicyMiddleware`, redirects included.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver

from crawler.sources import parse_duration, sources_from_settings


class BlockedAddress(IgnoreRequest):
    """A request to an address newsmill may not connect to."""


class SourceLimitReached(IgnoreRequest):
    """A request dropped because its source's run spent its time or request budget."""


def is_public(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def own_hosts(settings) -> set[str]:
    """The host names and addresses of every source's own URLs, lower-cased."""
    if settings.getbool("NEWSMILL_ALLOW_PRIVATE_ADDRESSES"):
        return set()
    try:
        sources = sources_from_settings(settings)
    except Exception:
        return set()
    return {(urlsplit(u).hostname or "").lower() for s in sources for u in s.urls}


class SafeResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing private answers for names that are not a source's own."""

    def __init__(self, reactor, cache_size, timeout, allowed_names: set[str], allow_all: bool):
        super().__init__(reactor, cache_size, timeout)
        self.allowed_names = allowed_names
        self.allow_all = allow_all
        self.blocked: dict[str, str] = {}  # name -> why; Twisted reports a refusal as a DNS failure

    @classmethod
    def from_crawler(cls, crawler, reactor):
        s = crawler.settings
        cache_size = s.getint("DNSCACHE_SIZE") if s.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, s.getfloat("DNS_TIMEOUT"), own_hosts(s),
                   s.getbool("NEWSMILL_ALLOW_PRIVATE_ADDRESSES"))

    def getHostByName(self, name, timeout=()):
        d = super().getHostByName(name, timeout)
        if self.allow_all or name.lower() in self.allowed_names:
            return d
        return d.addCallback(self._check, name)

    def _check(self, ip: str, name: str) -> str:
        if not is_public(ip):
            self.blocked[name.lower()] = f"{name} resolves to the non-public address {ip}"
            raise BlockedAddress(self.blocked[name.lower()])
        return ip


def blocked_name(host: str) -> str | None:
    """Why the resolver refused `host`, if it did (its refusal reaches errbacks as a DNS error)."""
    from twisted.internet import reactor

    return getattr(reactor.resolver, "blocked", {}).get((host or "").lower())


class AddressPolicyMiddleware:
    """Refuses requests to non-public IP literals that are not a source's own host."""

    def __init__(self, allowed_hosts: set[str], allow_all: bool):
        self.allowed_hosts = allowed_hosts
        self.allow_all = allow_all

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(own_hosts(s), s.getbool("NEWSMILL_ALLOW_PRIVATE_ADDRESSES"))

    def process_request(self, request):
        host = (urlsplit(request.url).hostname or "").lower()
        ip = _ip_literal(host)
        if self.allow_all or ip is None or host in self.allowed_hosts or is_public(ip):
            return None
        raise BlockedAddress(f"{host} is a non-public address and not a source's own")


class SourceLimitsMiddleware:
    """Bounds each source's run: at most NEWSMILL_SOURCE_MAX_REQUESTS requests (their
    retries not counted), and no new request after its time budget (the source's
    `timeout`, else NEWSMILL_SOURCE_TIMEOUT).

    Dropped requests are counted (`newsmill/limit/<source>`), not recorded one by one.
    """

    def __init__(self, crawler, max_requests: int, default_timeout: float):
        self.crawler = crawler
        self.max_requests = max_requests
        self.default_timeout = default_timeout
        self.requests: Counter = Counter()
        self.started = time.monotonic()
        self.timeouts: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(crawler, s.getint("NEWSMILL_SOURCE_MAX_REQUESTS"), s.getfloat("NEWSMILL_SOURCE_TIMEOUT"))

    def _timeout(self, source: str) -> float:
        if source not in self.timeouts:
            spider = self.crawler.spider
            given = next((s.timeout for s in getattr(spider, "sources", []) if s.name == source), None)
            self.timeouts[source] = parse_duration(given) if given else self.default_timeout
        return self.timeouts[source]

    def process_request(self, request):
        source = request.meta.get("source")
        if source is None:
            return None
        self._check_time(source)
        if request.meta.get("retry_times"):
            # A retry of a request the budget already took: RETRY_TIMES bounds those, and
            # refusing one would lose why the first try failed (a timeout, a 503).
            return None
        if self.max_requests and self.requests[source] >= self.max_requests:
            self._drop(source, f"the run's request budget ({self.max_requests}) is spent")
        self.requests[source] += 1
        return None

    def process_response(self, request, response):
        # Requests pass process_request before they wait in the download slot's queue,
        # so an answer can arrive after the budget is spent: it is not used then.
        source = request.meta.get("source")
        if source is not None:
            self._check_time(source)
        return response

    def _check_time(self, source: str) -> None:
        timeout = self._timeout(source)
        if timeout and time.monotonic() - self.started > timeout:
            self._drop(source, f"the run's time budget ({timeout:.0f} s) is spent")

    def _drop(self, source: str, why: str):
        stats = self.crawler.stats
        stats.inc_value(f"newsmill/limit/{source}")
        stats.set_value(f"newsmill/limit_reason/{source}", why)
        raise SourceLimitReached(why)

