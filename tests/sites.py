"""Local HTTP sites for the tests: real servers on 127.0.0.1 serving what a test puts there."""

from __future__ import annotations

import gzip
import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class Site:
    """A tiny web site: `add()` pages, read `requests` to see what the crawler fetched."""

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers)
        self.times: list[tuple[str, float]] = []  # (path, time.monotonic()) of each request
        self.prefixes: dict[str, object] = {}  # path prefix -> handler, for generated sites
        self.stopping = threading.Event()  # misbehaving handlers give up when the site stops
        self.served: list[tuple[str, int, int]] = []  # (path, status, body bytes sent)
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                site.requests.append(("GET", self.path, dict(self.headers)))
                site.times.append((self.path, time.monotonic()))
                route = site.routes.get(self.path) or site.routes.get(urlsplit(self.path).path) \
                    or next((r for prefix, r in site.prefixes.items() if self.path.startswith(prefix)), None)
                if isinstance(route, list):  # a sequence: each answer once, the last for ever
                    route = route.pop(0) if len(route) > 1 else route[0]
                if callable(route):  # a misbehaving server writes what it likes
                    try:
                        route(self)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    self.close_connection = True
                    return
                if route is None:
                    route = Route(b"<html><body>not found</body></html>", 404,
                                  {"Content-Type": "text/html"})
                # Slept in steps: a test that sets `route.delay = 0` releases the requests
                # already waiting (a hold it lifts once it has seen what it waits for).
                until = time.monotonic() + route.delay
                while route.delay and time.monotonic() < until:
                    time.sleep(0.05)
                if route.status == 200 and site.not_modified(route, self.headers):
                    site.served.append((self.path, 304, 0))
                    self.send_response(304)
                    for name in ("ETag", "Last-Modified"):
                        if name in route.headers:
                            self.send_header(name, route.headers[name])
                    self.end_headers()
                    return
                site.served.append((self.path, route.status, len(route.body)))
                self.send_response(route.status)
                headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8",
            status: int = 200, headers: dict | None = None, gzipped: bool = False,
            delay: float = 0.0, etag: bool = False) -> str:
        """Serve `body` at `path`; with `etag`, an ETag of the body, so conditional requests
        for an unchanged body get a 304."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        if gzipped:
            data = gzip.compress(data)
        headers = {"Content-Type": content_type, **(headers or {})}
        if etag:
            headers["ETag"] = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        self.routes[path] = Route(data, status, headers, delay)
        return self.url(path)

    def add_handler(self, path: str, handler) -> str:
        """Serve `path` with `handler(request_handler)`, which writes the raw answer itself."""
        self.routes[path] = handler
        return self.url(path)

    def add_prefix_handler(self, prefix: str, handler) -> str:
        """Serve every path under `prefix` with `handler(request_handler)` (exact routes win)."""
        self.prefixes[prefix] = handler
        return self.url(prefix)

    def add_sequence(self, path: str, answers: list[tuple[int, str | bytes, dict]]) -> str:
        """Answer successive requests for `path` with (status, body, headers), in order."""
        self.routes[path] = [
            Route(b.encode() if isinstance(b, str) else b, status,
                  {"Content-Type": "text/html; charset=utf-8", **headers})
            for status, b, headers in answers]
        return self.url(path)
    @staticmethod
    def not_modified(route: Route, request_headers) -> bool:
        """What a real server does with If-None-Match / If-Modified-Since (exact match)."""
        etag, since = request_headers.get("If-None-Match"), request_headers.get("If-Modified-Since")
        if etag is not None and "ETag" in route.headers:
            return etag == route.headers["ETag"]
        return since is not None and since == route.headers.get("Last-Modified")

    def bodies_served(self, paths=None) -> list[str]:
        """Paths whose full body (status 200) was sent, optionally only among `paths`."""
        return [p for p, status, _ in self.served
                if status == 200 and (paths is None or p in paths)]

    def fetched(self, path: str) -> int:
        """How many times a path was requested."""
        return sum(1 for _, p, _ in self.requests if p == path)

    def start(self) -> Site:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


VOCABULARY = (
    "council harbour railway budget winter farmers museum river election bridge teachers "
    "hospital market festival storm village police court library garden station airport "
    "factory coast mountain school league concert minister mayor island forest tunnel "
    "energy water housing traffic science theatre archive orchestra vineyard glacier "
    "ferry parliament union workers students doctors nurses pilots drivers artists painters "
    "bakers fishermen engineers lawyers judges voters tenants neighbours visitors tourists "
    "opened closed announced rejected approved delayed repaired painted measured counted "
    "promised questioned celebrated expanded reduced renamed restored moved sold bought "
    "quietly suddenly finally carefully loudly early late slowly openly briefly again "
    "northern southern eastern western local regional national ancient modern wooden "
    "stone green narrow wide crowded empty famous hidden seasonal annual weekly new old"
).split()


def distinct_words(seed: str, count: int) -> str:
    """Words drawn from VOCABULARY, the same for the same seed: texts of different articles
    share few word triples, so they are not near duplicates of one another."""
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCABULARY) for _ in range(count))


def send(handler, status: int = 200, body: bytes = b"", headers: dict | None = None) -> None:
    """Write a whole answer from inside an `add_handler` handler."""
    handler.send_response(status)
    for name, value in {"Content-Type": "text/html", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def article_html(title: str, paragraphs: int = 6, *, extra_head: str = "", lang: str = "en",
                 words: str | None = None) -> str:
    """A plausible news article page with enough text to count as an article.

    Without `words`, each paragraph carries words drawn for this title, so different
    titles give texts that are not duplicates of each other.
    """
    def sentence(i: int) -> str:
        return words or (f"This is a report about {title.lower()}: "
                         f"{distinct_words(f'{title}/{i}', 16)}.")
    body = "\n".join(f"<p>{sentence(i)} Paragraph {i} adds its own detail number {i}.</p>"
                      for i in range(paragraphs))
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Test News</title>
<meta property="og:type" content="article">
{extra_head}
</head><body>
<nav><a href="/">Home</a> <a href="/section/">Section</a></nav>
<article><h1>{title}</h1>
{body}
</article>
<footer>Copyright Test News</footer>
</body></html>"""


def rss_feed(site: Site, items: list[tuple[str, str]], title: str = "Test feed") -> str:
    entries = "\n".join(
        f"<item><title>{t}</title><link>{site.url(p)}</link>"
        f"<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate></item>" for t, p in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>{site.base}/</link>{entries}</channel></rss>")


OUTCOME_COLUMNS = ("articles_new", "articles_updated", "articles_unchanged", "articles_duplicate",
                   "aliases", "not_articles", "listings", "errors")


def unaccounted_pages(rows: list[dict]) -> list[tuple]:
    """Runs whose `pages` is not the sum of their outcome columns: (id, pages, sum) each."""
    return [(r["id"], r["pages"], sum(r[c] for c in OUTCOME_COLUMNS)) for r in rows
            if r["pages"] != sum(r[c] for c in OUTCOME_COLUMNS)]
