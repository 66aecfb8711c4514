"""Naming what went wrong with a request, for the `errors` table's `kind` column."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import exceptions as scrapy_errors
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer
from twisted.internet import error as net
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.middlewares import RobotsUnavailable
from crawler.safety import BlockedAddress, blocked_name

# Checked in order; the first match names the kind.
_KINDS = (
    ("timeout", (scrapy_errors.DownloadTimeoutError, net.TimeoutError, defer.TimeoutError,
                 net.TCPTimedOutError)),
    ("dns", (scrapy_errors.CannotResolveHostError, net.DNSLookupError)),
    ("too_large", (scrapy_errors.DownloadCancelledError, defer.CancelledError)),
    ("connection", (scrapy_errors.DownloadConnectionRefusedError, net.ConnectionRefusedError,
                    scrapy_errors.ResponseDataLossError, scrapy_errors.DownloadFailedError,
                    ResponseFailed, ResponseNeverReceived, net.ConnectionLost, net.ConnectError)),
    ("scheme", (scrapy_errors.UnsupportedURLSchemeError,)),
)


def describe_failure(failure) -> tuple[str, str]:
    """(kind, message) for a request's failure; kinds are stable, messages are for people."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return "http", f"HTTP {exc.response.status}"
    if isinstance(exc, RobotsUnavailable):
        return "robots_unavailable", str(exc)
    if isinstance(exc, BlockedAddress):
        return "blocked", f"refused: {exc}"
    if isinstance(exc, scrapy_errors.IgnoreRequest):
        text = str(exc)
        if "robots.txt" in text.lower():
            return "robots", "forbidden by robots.txt"
        if "DOWNLOAD_MAXSIZE" in text:  # HttpCompressionMiddleware defusing a compression bomb
            return "too_large", text
        if "redirect" in text.lower():
            return "redirect", text
        return "ignored", text or "request ignored"
    if isinstance(exc, (scrapy_errors.CannotResolveHostError, net.DNSLookupError)):
        why = blocked_name(urlsplit(failure.request.url).hostname) if getattr(failure, "request", None) else None
        if why:
            return "blocked", f"refused: {why}"
    for kind, types in _KINDS:
        if isinstance(exc, types):
            return kind, f"{exc.__class__.__name__}: {_reasons(exc) or kind}"
    return "other", f"{exc.__class__.__name__}: {exc}"


def _reasons(exc) -> str:
    reasons = getattr(exc, "reasons", None)
    if reasons:
        return "; ".join(str(r.value) for r in reasons)
    return str(exc)
