#!/usr/bin/env python3
"""A local news site of N distinct article pages, for throughput benchmarks.

Every page is one of the real pages of ../shared/corpus/article-extraction/ made distinct:
its own title (in <title>, og:title, twitter:title and the JSON-LD headline) and its own
sentence at the start of the page's longest paragraph, so that no two pages extract to
the same text. Pages are assembled on request from pre-split templates (a join of a few
byte strings), so the server stays cheap however many pages it serves.

The site answers on one or more loopback addresses, every page on every address, each
request after a random latency, with ETag and Last-Modified validators and 304 answers
to conditional requests. It counts what it sends; GET /__stats returns the counts as JSON
(not counted, no latency).

    .venv/bin/python benchmarks/article_site.py --pages 2000 --latency 50-200 [--hosts 4]

prints one JSON line ({"urls": [...base URLs...], "pid": ...}) once it is listening.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import os
import random
import re
import string
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "article-extraction"

# Placeholders put into the templates, replaced by each copy's own title and sentence.
_TITLE, _SENTENCE = "\x00TITLE\x00", "\x00SENTENCE\x00"
_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_TITLE_TAG = re.compile(r"(<title[^>]*>)(.*?)(</title>)", re.IGNORECASE | re.DOTALL)
_META_TITLE = re.compile(
    r"""(<meta\b[^>]*?(?:property|name)\s*=\s*["'](?:og:title|twitter:title)["'][^>]*?content\s*=\s*["'])"""
    r"""([^"']*)""", re.IGNORECASE)
_META_TITLE_FIRST = re.compile(
    r"""(<meta\b[^>]*?content\s*=\s*["'])([^"']*)(["'][^>]*?(?:property|name)\s*=\s*["'](?:og:title|twitter:title)["'])""",
    re.IGNORECASE)
_LD_HEADLINE = re.compile(r'("headline"\s*:\s*")((?:[^"\\]|\\.)*)(")')
EPOCH = 1_790_000_000  # 2026-09: pages are "published" one minute apart from here


class CorpusMissing(FileNotFoundError):
    """The shared article corpus is not where the benchmarks look for it."""


def corpus_files(corpus: Path = CORPUS) -> list[Path]:
    """The corpus pages' files, in name order; CorpusMissing when there are none."""
    files = sorted((corpus / "html").glob("*.html.gz"))
    if not files:
        raise CorpusMissing(f"no corpus pages in {corpus / 'html'}: the benchmarks build their "
                            "pages from the shared article corpus (shared/corpus/article-extraction "
                            "beside the repository)")
    return files


def load_corpus(corpus: Path = CORPUS) -> list[str]:
    """The corpus pages as text, in file name order."""
    return [gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
            for p in corpus_files(corpus)]


def letter_shift(round_: int, codes: set[int]) -> dict[int, int]:
    """str.translate table over `codes`: ASCII letters through a shuffled alphabet, other
    letters moved `round_` code points on (when that is a letter too), the rest kept."""
    letters = list(string.ascii_lowercase)
    random.Random(round_).shuffle(letters)
    ascii_table = str.maketrans(string.ascii_lowercase + string.ascii_uppercase,
                                "".join(letters) + "".join(letters).upper())

    def target(code: int) -> int:
        if code in ascii_table:
            return ascii_table[code]
        moved = code + round_
        return moved if code > 127 and chr(code).isalpha() and chr(moved).isalpha() else code

    return {code: target(code) for code in codes}


_LETTER = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
_WORD_BEFORE = re.compile(r"(?:\S+\s+)?\S*\Z")  # searched in a window ending at a digit
_WORD_AFTER = re.compile(r"\S*(?:\s+\S+)?")  # matched from a digit


def vary(text: str, table: dict) -> str:
    """`text` through a letter substitution, except words with a digit and their neighbours.

    Dates ("19 November 2019", "Nov. 19") stay readable: without them htmldate's search
    for a date in the text finds none and goes through all of its fallbacks, up to 1.6 s on
    one of these pages, which no real page costs. The substitution maps one character to
    one, so the kept stretches are put back at the same offsets; only the digits are looked
    at one by one, which keeps the site cheap to serve.
    """
    shifted = text.translate(table)
    out, at = [], 0
    for digits in _DIGITS.finditer(text):
        if digits.start() < at:
            continue  # inside the stretch just kept
        before = _WORD_BEFORE.search(text, max(at, digits.start() - 80), digits.start())
        after = _WORD_AFTER.match(text, digits.start())
        start = before.start() if before else digits.start()
        out.append(shifted[at:start])
        out.append(text[start:after.end()])
        at = after.end()
    out.append(shifted[at:])
    return "".join(out)


class BodyText(str):
    """Text between tags in a page's <body> (outside scripts and styles)."""


_MARKUP = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]*>)",
                     re.IGNORECASE | re.DOTALL)


def split_body_text(parts: list[str]) -> list[str]:
    """A template with the text of its body marked as BodyText, everything else as it is."""
    out: list[str] = []
    in_body = False
    for part in parts:
        if part in (_TITLE, _SENTENCE):
            out.append(part)
            continue
        if not in_body:
            at = part.lower().find("<body")
            if at < 0:
                out.append(part)
                continue
            out.append(part[:at])
            part, in_body = part[at:], True
        # Text without a letter (mostly the whitespace between tags) is left as it is.
        out.extend(BodyText(chunk) if n % 2 == 0 and _LETTER.search(chunk) else chunk
                   for n, chunk in enumerate(_MARKUP.split(part)))
    # Runs of parts that are copied as they are become one part: fewer joins per page.
    merged: list[str] = []
    for part in out:
        plain = not isinstance(part, BodyText) and part not in (_TITLE, _SENTENCE)
        if plain and merged and not isinstance(merged[-1], BodyText) \
                and merged[-1] not in (_TITLE, _SENTENCE):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def make_template(page: str, tries: int = 8) -> list[str]:
    """The page split around title and sentence placeholders: [text, marker, text, ...].

    The sentence goes at the start of the longest paragraph that trafilatura keeps in the
    main text (checked by extracting once), so every copy extracts to a different text.
    """
    import trafilatura

    page = _TITLE_TAG.sub(lambda m: f"{m.group(1)}{_TITLE}{m.group(3)}", page, count=1)
    page = _META_TITLE.sub(lambda m: f"{m.group(1)}{_TITLE}", page)
    page = _META_TITLE_FIRST.sub(lambda m: f"{m.group(1)}{_TITLE}{m.group(3)}", page)
    page = _LD_HEADLINE.sub(lambda m: f"{m.group(1)}{_TITLE}{m.group(3)}", page)
    paragraphs = sorted(_PARAGRAPH.finditer(page), key=lambda m: -len(_TAG.sub("", m.group(1))))
    probe = "Zqxprobe marker sentence for the benchmark site."
    for match in paragraphs[:tries]:
        at = match.start(1)
        candidate = page[:at] + _SENTENCE + page[at:]
        text = trafilatura.extract(candidate.replace(_SENTENCE, probe).replace(_TITLE, "T")) or ""
        if "Zqxprobe" in text:
            return re.split(f"({_TITLE}|{_SENTENCE})", candidate)
    # No <p> kept (text in <div>s, say): put it before the first words trafilatura keeps.
    body = max(page.lower().find("<body"), 0)
    text = trafilatura.extract(page.replace(_TITLE, "T")) or ""
    for line in text.splitlines()[:tries]:
        words = " ".join(line.split()[:3])
        at = page.find(words, body) if len(words) > 5 else -1
        if at > 0:
            candidate = page[:at] + _SENTENCE + " " + page[at:]
            if "Zqxprobe" in (trafilatura.extract(candidate.replace(_SENTENCE, probe)
                                                  .replace(_TITLE, "T")) or ""):
                return re.split(f"({_TITLE}|{_SENTENCE})", candidate)
    at = page.find(">", body) + 1
    page = page[:at] + f"<p>{_SENTENCE}</p>" + page[at:]
    return re.split(f"({_TITLE}|{_SENTENCE})", page)


class ArticleSite:
    """N distinct article pages, a feed of the newest, a sitemap of all, and robots.txt."""

    def __init__(self, pages: int, corpus: Path = CORPUS, feed_items: int = 200):
        self.pages = pages
        self.feed_items = feed_items
        # Copy i is made from corpus page i % len(templates); fewer pages need fewer templates.
        self.templates = [split_body_text(make_template(p)) for p in load_corpus(corpus)[:max(pages, 1)]]
        self.ciphers: dict[int, dict] = {}
        # Every character of the templates' body text: what each substitution maps.
        self.alphabet = {ord(c) for parts in self.templates for p in parts if isinstance(p, BodyText)
                         for c in set(p)}
        self.built: list[bytes] = []  # every page, when prebuild() has made them

    def prebuild(self) -> None:
        """Make every page now, before any crawl: serving one then costs the site only the
        HTTP exchange. The site stands for servers elsewhere; building a page (~1 ms) while
        a crawl runs would take CPU from the crawler on the same cores."""
        self.built = [self.page(i) for i in range(self.pages)]

    def path(self, i: int) -> str:
        return f"/news/{i:06d}.html"

    def title(self, i: int) -> str:
        return f"Benchmark dispatch {i}: report number {i * 7919 % 100003}"

    def sentence(self, i: int) -> str:
        return (f"Benchmark dispatch {i} opens with reference code {i * 104729 % 999983} "
                f"and was filed as copy {i} of the local article site. ")

    def cipher(self, round_: int) -> dict:
        """A letter substitution for the round-th copy of each corpus page (identity first)."""
        if round_ not in self.ciphers:
            self.ciphers[round_] = {} if round_ == 0 else letter_shift(round_, self.alphabet)
        return self.ciphers[round_]

    def page(self, i: int) -> bytes:
        if self.built:
            return self.built[i]
        parts = self.templates[i % len(self.templates)]
        # Each later round of copies of one corpus page gets its visible body text through a
        # letter substitution of its own (dates kept, see vary): the same markup, the same
        # amount of text, but hardly any shared word 3-grams, so newsmill's near-duplicate
        # check sees different articles.
        table = self.cipher(i // len(self.templates))
        title, sentence = html.escape(self.title(i)), html.escape(self.sentence(i))
        return "".join(title if p == _TITLE else sentence if p == _SENTENCE
                       else vary(p, table) if table and isinstance(p, BodyText) else p
                       for p in parts).encode("utf-8")

    def modified(self, i: int) -> int:
        return EPOCH + 60 * i

    def etag(self, i: int) -> str:
        return f'"p{i}-{len(self.templates)}"'

    def feed(self, base: str) -> bytes:
        newest = range(self.pages - 1, max(self.pages - 1 - self.feed_items, -1), -1)
        items = "".join(
            f"<item><title>{html.escape(self.title(i))}</title><link>{base}{self.path(i)}</link>"
            f"<pubDate>{formatdate(self.modified(i), usegmt=True)}</pubDate></item>" for i in newest)
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>Benchmark news</title><link>{base}/</link>{items}</channel></rss>").encode()

    def sitemap(self, base: str) -> bytes:
        urls = "".join(
            f"<url><loc>{base}{self.path(i)}</loc><lastmod>"
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.modified(i)))}</lastmod></url>"
            for i in range(self.pages))
        return (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()

    def robots(self, base: str) -> bytes:
        return f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode()

    def index_of(self, path: str) -> int | None:
        match = re.fullmatch(r"/news/(\d{6})\.html", path)
        if match and int(match.group(1)) < self.pages:
            return int(match.group(1))
        return None


class Counts:
    """What the server sent, by kind of answer; shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.values = {"requests": 0, "ok": 0, "not_modified": 0, "not_found": 0,
                       "bytes": 0, "article_bodies": 0, "article_bytes": 0}

    def add(self, **deltas) -> None:
        with self.lock:
            for key, n in deltas.items():
                self.values[key] += n

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.values)


def make_handler(site: ArticleSite, counts: Counts, latency: tuple[float, float]):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/__stats":
                return self._send(200, json.dumps(counts.snapshot()).encode(), "application/json",
                                  count=False)
            time.sleep(random.uniform(*latency))
            host, port = self.server.server_address[:2]
            base = f"http://{self.headers.get('Host') or f'{host}:{port}'}"
            i = site.index_of(path)
            if i is not None:
                validators = {"ETag": site.etag(i),
                              "Last-Modified": formatdate(site.modified(i), usegmt=True)}
                if self._not_modified(validators["ETag"], site.modified(i)):
                    return self._send(304, b"", None, validators)
                body = site.page(i)
                counts.add(article_bodies=1, article_bytes=len(body))
                return self._send(200, body, "text/html; charset=utf-8", validators)
            if path in ("/feed.xml", "/sitemap.xml", "/robots.txt"):
                body = {"/feed.xml": site.feed, "/sitemap.xml": site.sitemap,
                        "/robots.txt": site.robots}[path](base)
                ctype = {"/feed.xml": "application/rss+xml", "/sitemap.xml": "application/xml",
                         "/robots.txt": "text/plain"}[path]
                etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
                validators = {"ETag": etag,
                              "Last-Modified": formatdate(site.modified(site.pages - 1), usegmt=True)}
                if self._not_modified(etag, site.modified(site.pages - 1)):
                    return self._send(304, b"", None, validators)
                return self._send(200, body, ctype, validators)
            counts.add(not_found=1)
            return self._send(404, b"<html><body>not found</body></html>", "text/html")

        def _not_modified(self, etag: str, modified: int) -> bool:
            if_none_match = self.headers.get("If-None-Match")
            if if_none_match is not None:
                return etag in [t.strip() for t in if_none_match.split(",")] or if_none_match.strip() == "*"
            since = self.headers.get("If-Modified-Since")
            if since:
                from email.utils import parsedate_to_datetime
                try:
                    return parsedate_to_datetime(since).timestamp() >= modified
                except (TypeError, ValueError):
                    return False
            return False

        def _send(self, status, body, ctype, headers=None, count=True):
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
            if count:
                counts.add(requests=1, bytes=len(body), **({"ok": 1} if status == 200 else
                                                          {"not_modified": 1} if status == 304 else {}))

        def log_message(self, *args):
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default 5 drops connections when crawlers open many at once
    allow_reuse_address = True


def serve(site: ArticleSite, hosts: list[str], latency: tuple[float, float]) -> list[Server]:
    """One server per loopback address, all serving the same site, in background threads."""
    counts = Counts()
    handler = make_handler(site, counts, latency)
    servers = []
    for host in hosts:
        server = Server((host, 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def parse_latency(text: str) -> tuple[float, float]:
    """"50-200" (milliseconds) as (0.05, 0.2); "0" as no latency."""
    low, _, high = text.partition("-")
    return float(low) / 1000, float(high or low) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--latency", default="50-200", help="milliseconds, LOW-HIGH (default 50-200)")
    parser.add_argument("--hosts", type=int, default=1,
                        help="answer on 127.0.0.1 ... 127.0.0.N (default 1)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-prebuild", action="store_true",
                        help="make each page when it is requested (less memory, more CPU)")
    args = parser.parse_args()
    site = ArticleSite(args.pages, args.corpus)
    if not args.no_prebuild:
        site.prebuild()
    servers = serve(site, [f"127.0.0.{n}" for n in range(1, args.hosts + 1)], parse_latency(args.latency))
    print(json.dumps({"urls": ["http://{}:{}".format(*s.server_address[:2]) for s in servers],
                      "pid": os.getpid()}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
