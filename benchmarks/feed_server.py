"""Many feed sites from one process: each on its own loopback address, answering as real feeds do.

Why not `tests.sites.Site`: each of those is a ThreadingHTTPServer whose serve_forever thread
wakes every 0.5 s; ten thousand of them burn a core doing nothing, in the very process that
measures the daemon's CPU. Here one asyncio loop serves every address (a listening socket
each, 127.0.1.1 onwards, all on one port) and sleeps between requests; it runs as a child of
the benchmark, so its CPU is counted apart from the daemon's.

Each site n serves /robots.txt (allow all), /rss.xml (3 items linking to /story-{0,1,2}.html
on the same site) and those articles (`tests.sites.article_html`). Every answer carries a
strong ETag and a Last-Modified; If-None-Match (or, without it, If-Modified-Since) that
matches gets a 304 with no body, as RFC 9110 section 13.1 has it. Nothing ever changes.

Protocol on stdin/stdout (one JSON object a line): once every address listens, the server
prints {"port", "sites", "startup_s", "rss_mib", "nofile"}; each line "counts" read on stdin
is answered with the request counters so far; end of stdin stops the server.

A real feed answers after a network round trip and its server's time, not at once as
loopback does: with LATENCY (seconds, "0.1-1.0"), each answer waits a random time in that
range first, so a check of an unchanged feed lasts what it lasts on the web and the daemon
must run several at once to keep its schedule.

A line "latency 0.1-1.0" on stdin sets it from then on (the benchmark's first crawl, a
set-up step, runs without).

Usage: python benchmarks/feed_server.py SITES [LATENCY]
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import random
import resource
import socket
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import SimpleNamespace

# h11 (pinned, httpx's) parses and frames HTTP/1.1, keep-alive included: no hand-written parser.
import h11

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sites import article_html, rss_feed  # noqa: E402

LAST_MODIFIED = "Mon, 02 Nov 2026 10:00:00 GMT"  # the feed items' pubDate
LAST_MODIFIED_AT = parsedate_to_datetime(LAST_MODIFIED)
ROBOTS = b"User-agent: *\nAllow: /\n"
IDLE = 60.0  # seconds a kept-alive connection may sit idle before the server closes it
KINDS = ("robots", "feed", "article", "other")


def address(n: int) -> str:
    """The n-th loopback address from 127.0.1.1: 254 per /24, never .0 or .255 (all of
    127.0.0.0/8 is loopback on Linux, no set-up needed)."""
    return f"127.0.{1 + n // 254}.{1 + n % 254}"


def items(n: int) -> list[tuple[str, str]]:
    return [(f"Source {n} story {i}", f"/story-{i}.html") for i in range(3)]


class Sites:
    """The pages of every site, made on request (ten thousand sites' bodies would be ~60 MB
    kept for a first crawl only), and what was asked of them."""

    def __init__(self, count: int, port: int, latency: tuple[float, float] = (0.0, 0.0)):
        self.count, self.port = count, port
        self.latency = latency  # (lowest, highest) seconds before each answer
        self.requests = [0] * count  # per site
        self.not_modified = [0] * count
        self.by_kind = {kind: {"200": 0, "304": 0, "404": 0} for kind in KINDS}
        self.connections = self.peak_connections = 0  # open now, most open at once

    def page(self, n: int, path: str) -> tuple[str, bytes, str] | None:
        """(kind, body, content type) of a path of site n, None if it has none."""
        if path == "/robots.txt":
            return "robots", ROBOTS, "text/plain"
        if path == "/rss.xml":
            base = f"http://{address(n)}:{self.port}"
            site = SimpleNamespace(base=base, url=lambda p: base + p)  # what rss_feed reads
            return "feed", rss_feed(site, items(n)).encode(), "application/rss+xml"
        for title, item_path in items(n):
            if path == item_path:
                return "article", article_html(title).encode(), "text/html; charset=utf-8"
        return None

    @staticmethod
    def etag(n: int, path: str) -> str:
        """A strong ETag: the bodies never change, so site and path name them exactly
        (and a 304 needs no body made to compare against)."""
        return f'"{n}-{path.strip("/").replace("/", "-")}-1"'

    @staticmethod
    def not_modified_since(request_headers: dict[bytes, bytes], etag: str) -> bool:
        """RFC 9110 13.1.2-13.1.3: If-None-Match wins (weak comparison, `*` matches any);
        only without it does If-Modified-Since count (not modified since: 304)."""
        if (tags := request_headers.get(b"if-none-match")) is not None:
            wanted = etag.encode()
            return any(t.strip().removeprefix(b"W/") in (wanted, b"*") for t in tags.split(b","))
        if (since := request_headers.get(b"if-modified-since")) is not None:
            try:
                return LAST_MODIFIED_AT <= parsedate_to_datetime(since.decode("latin1"))
            except (TypeError, ValueError):
                return False
        return False

    def answer(self, n: int, request: h11.Request) -> tuple[int, list, bytes]:
        path = request.target.decode("latin1").split("?", 1)[0]
        headers = {name: value for name, value in request.headers}  # h11 lower-cases names
        self.requests[n] += 1
        page = self.page(n, path)
        if page is None:
            self.by_kind["other"]["404"] += 1
            return 404, [("Content-Type", "text/plain")], b"not found\n"
        kind, body, content_type = page
        etag = self.etag(n, path)
        validators = [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
        if self.not_modified_since(headers, etag):
            self.not_modified[n] += 1
            self.by_kind[kind]["304"] += 1
            return 304, validators, b""
        self.by_kind[kind]["200"] += 1
        return 200, [("Content-Type", content_type), *validators], body

    def counts(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"requests": sum(self.requests), "not_modified": sum(self.not_modified),
                "sites_asked": sum(1 for r in self.requests if r), "by_kind": self.by_kind,
                "connections": self.connections, "peak_connections": self.peak_connections,
                "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mib": rss_mib()}

    async def serve(self, n: int, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        """One connection to site n: requests in turn, kept alive until the client closes it,
        breaks the protocol or is idle for IDLE seconds."""
        conn = h11.Connection(h11.SERVER)
        self.connections += 1
        self.peak_connections = max(self.peak_connections, self.connections)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await asyncio.wait_for(reader.read(65536), IDLE)
                    conn.receive_data(data)  # b"" is the client's end
                    continue
                if isinstance(event, h11.Request):
                    if self.latency[1]:
                        await asyncio.sleep(random.uniform(*self.latency))
                    status, headers, body = self.answer(n, event)
                    if status != 304:
                        headers.append(("Content-Length", str(len(body))))
                    if event.method == b"HEAD":
                        body = b""
                    out = conn.send(h11.Response(status_code=status, headers=headers))
                    out += conn.send(h11.Data(data=body)) if body else b""
                    out += conn.send(h11.EndOfMessage())
                    writer.write(out)
                    await writer.drain()
                elif event is h11.PAUSED:  # this exchange is over: the next, if kept alive
                    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                        break  # "Connection: close", or HTTP/1.0
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    break
        except (h11.RemoteProtocolError, h11.LocalProtocolError, TimeoutError,
                ConnectionError):
            pass
        finally:
            self.connections -= 1
            writer.close()


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def listen_all(count: int) -> tuple[list[socket.socket], int]:
    """A listening socket on each address, all on one port: the first address's free port,
    tried again with another if some address has it taken already (another test's site)."""
    for _ in range(20):
        socks: list[socket.socket] = []
        port = 0
        try:
            for n in range(count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address(n), port))
                sock.listen(128)
                sock.setblocking(False)
                port = sock.getsockname()[1]
            return socks, port
        except OSError as e:
            for sock in socks:
                sock.close()
            if e.errno != errno.EADDRINUSE:
                raise
    raise SystemExit("no port free on every address after 20 tries")


async def main(count: int, latency: tuple[float, float]) -> None:
    began = time.monotonic()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # A descriptor per listening socket, plus the connections: the hard limit, not the soft.
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if count + 100 > hard:
        raise SystemExit(f"{count} sites need more than the {hard} descriptors allowed")
    socks, port = listen_all(count)
    sites = Sites(count, port, latency)
    servers = []
    for n, sock in enumerate(socks):
        servers.append(await asyncio.start_server(
            lambda r, w, n=n: sites.serve(n, r, w), sock=sock))
    print(json.dumps({"port": port, "sites": count, "startup_s": time.monotonic() - began,
                      "rss_mib": rss_mib(), "nofile": [hard, hard]}), flush=True)
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        if line.strip() == b"counts":
            print(json.dumps(sites.counts()), flush=True)
        elif line.startswith(b"latency "):
            sites.latency = parse_latency(line.split()[1].decode())
    # Out at once: asyncio.run would cancel each kept-alive connection's task in turn, and
    # asyncio's streams log every one of them as an error.
    os._exit(0)


def parse_latency(text: str) -> tuple[float, float]:
    """"0.1-1.0" (a range of seconds), "0.3" (always), "0" (none)."""
    low, _, high = text.partition("-")
    return float(low), float(high or low)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), parse_latency(sys.argv[2] if len(sys.argv) > 2 else "0")))
