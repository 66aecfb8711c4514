"""Downloader middlewares newsmill adds to Scrapy's own."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet import defer
from twisted.internet import error as net

from crawler.store_lookups import store_lookup
from pipelines.database import RobotsCache

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, but waiting before each one: exponentially, or as Retry-After says.

    Scrapy re-queues a retry at once; a server that answers 503 or 429 wants time.
    RETRY_BACKOFF_BASE doubles per attempt up to RETRY_BACKOFF_MAX; a Retry-After
    longer than RETRY_AFTER_MAX is not waited for (the request gives up instead).
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_cap = settings.getfloat("RETRY_AFTER_MAX", 300.0)

    def delay(self, request, response=None) -> float | None:
        attempt = request.meta.get("retry_times", 0)
        delay = min(self.base * 2 ** attempt, self.cap)
        if response is not None:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            if asked is not None:
                if asked > self.retry_after_cap:
                    return None
                delay = max(delay, asked)
        return delay

    async def process_response(self, request, response):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        if request.meta.get("retry_times", 0) >= request.meta.get("max_retry_times", self.max_retry_times):
            return self._retry(request, response_status_message(response.status)) or response
        delay = self.delay(request, response)
        if delay is None:
            logger.info("not retrying %s: Retry-After is beyond RETRY_AFTER_MAX", request.url)
            return response
        await asyncio.sleep(delay)
        return self._retry(request, response_status_message(response.status)) or response

    async def process_exception(self, request, exception):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        if request.meta.get("retry_times", 0) < request.meta.get("max_retry_times", self.max_retry_times):
            await asyncio.sleep(self.delay(request))
        return self._retry(request, exception)


class RobotsUnavailable(IgnoreRequest):
    """robots.txt could not be read (5xx, timeout), so its site is not crawled this run."""


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, reading robots.txt the way Google documents it.

    Scrapy parses whatever body comes back and allows everything when the fetch fails;
    Google (developers.google.com/search/docs/crawling-indexing/robots/robots_txt) treats
    a 4xx as "no rules", a 5xx or a timeout as "disallow everything" for now, and reads
    only the first 500 KiB of the file. A refused connection or an unknown host is left
    to fail on the request itself, where its error is clearer.
    """

    MAX_BYTES = 500 * 1024
    CACHED = "newsmill:cached"  # the flag of a robots.txt answer read from the store

    def __init__(self, crawler):
        super().__init__(crawler)
        self.unavailable: dict[str, str] = {}  # netloc -> why its robots.txt could not be read
        max_age = crawler.settings.getfloat("NEWSMILL_ROBOTSTXT_CACHE", 0)
        self.cache = store_lookup(RobotsCache, crawler.settings, max_age) if max_age > 0 else None

    async def robot_parser(self, request):
        """Scrapy's, but a robots.txt read from this site less than NEWSMILL_ROBOTSTXT_CACHE
        seconds ago (by an earlier crawl into the same store) is not asked for again.

        Kept in the store rather than by Scrapy's HttpCacheMiddleware, which would cache every
        response in .scrapy/httpcache unless given a policy of its own. The look-up is one
        row through a read-only connection (in WAL mode it never waits for a writer), so it
        runs here, before the placeholder other requests for the site wait on is set."""
        url = urlparse_cached(request)
        if self.cache is not None and url.netloc not in self._parsers:
            robots_url = f"{url.scheme}://{url.netloc}/robots.txt"
            if (cached := self.cache.get(robots_url)) is not None:
                self._parsers[url.netloc] = defer.Deferred()
                status, body = cached
                response = Response(robots_url, status=status, body=body, flags=[self.CACHED],
                                    request=Request(robots_url))
                self._stats.inc_value("newsmill/robotstxt_cached")
                await self._parse_robots(response, url.netloc, request)
        return await super().robot_parser(request)

    async def _parse_robots(self, response, netloc, request):
        robots_url = f"{urlparse_cached(request).scheme}://{netloc}/robots.txt"  # before redirects
        if response.status == 304 and self.cache is not None:
            # Asked with the kept answer's validators (ConditionalListingsMiddleware): it holds.
            kept = await asyncio.to_thread(self.cache.stored, robots_url)
            if kept is not None:
                response = Response(robots_url, status=kept["status"], body=kept["body"],
                                    headers={"ETag": kept["etag"] or "",
                                             "Last-Modified": kept["last_modified"] or ""},
                                    request=Request(robots_url))
                self._stats.inc_value("newsmill/robotstxt_not_modified")
        if self.cache is not None and response.status < 500 and self.CACHED not in response.flags:
            # A write may wait for another writer's lock (up to 1 s): not on the event loop.
            headers = response.headers
            await asyncio.to_thread(
                self.cache.put, robots_url, response.status, response.body[: self.MAX_BYTES],
                (headers.get(b"ETag") or b"").decode("latin1") or None,
                (headers.get(b"Last-Modified") or b"").decode("latin1") or None)
        if 400 <= response.status < 500:
            response = response.replace(body=b"")
        elif response.status >= 500:
            self.unavailable[netloc] = f"robots.txt answered HTTP {response.status}"
        elif len(response.body) > self.MAX_BYTES:
            response = response.replace(body=response.body[: self.MAX_BYTES])
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc, netloc):
        if isinstance(exc, (TimeoutError, DownloadTimeoutError, defer.TimeoutError, net.TimeoutError)):
            self.unavailable[netloc] = f"robots.txt timed out ({exc.__class__.__name__})"
        return super()._robots_error(exc, netloc)

    def process_request_2(self, rp, request):
        netloc = urlparse_cached(request).netloc
        if netloc in self.unavailable:
            raise RobotsUnavailable(f"{self.unavailable[netloc]}: site not crawled this run")
        return super().process_request_2(rp, request)


class RedirectLoopMiddleware:
    """Names a redirect loop as one. Left alone, a redirect back to a URL already fetched is
    dropped silently by Scrapy's duplicate filter and the page just disappears; here it
    becomes a `redirect` error. Sits just inside RedirectMiddleware, seeing 3xx first."""

    def process_response(self, request, response):
        location = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urljoin(request.url, location.decode("latin1"))
        visited = {*request.meta.get("redirect_urls", []), request.url}
        if target in visited:
            raise IgnoreRequest(f"redirect loop: {request.url} redirects back to {target}")
        return response


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, without decoding pages that cannot hold one.

    Scrapy looks for <meta http-equiv="refresh"> in `response.text[:4096]`, which decodes
    the whole body and keeps the copy on the response while it waits for extraction
    (benchmarks/throughput.py: ~0.3 ms of reactor CPU and ~25 MB of peak memory per crawl).
    Those 4096 characters are at most 16384 bytes in any ASCII-compatible encoding: if no
    <meta> tag among them has "refresh" in it, there is nothing to find (pages mention the
    word elsewhere, in scripts: 12 of the corpus's 121 pages in their first 16 KB, 2 in a
    <meta> tag).
    """

    META_REFRESH = re.compile(rb"<meta\b[^>]*refresh", re.IGNORECASE)

    def process_response(self, request, response):
        head = response.body[:16384]
        ascii_compatible = b"\x00" not in head[:256]  # UTF-16/32 pages go the long way
        if ascii_compatible and not self.META_REFRESH.search(head):
            return response
        return super().process_response(request, response)
