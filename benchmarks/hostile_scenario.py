#!/usr/bin/env python3
"""The hostile-web scenario: one source mixing good articles with every trap at once.

Serves on 127.0.0.1 a feed and a section page whose links lead to good articles and to
stalls, trickles, endless bodies, compression bombs, a "1 GB" article, redirect loops,
redirects and links to a private address (a second server on 127.0.0.2 that must never
be reached), HTTP errors, PDFs, binary noise, malformed pages, an endless calendar and a
link farm; then runs `newsmill crawl` on it, sampling the crawl's resident memory.

    .venv/bin/python benchmarks/hostile_scenario.py

The last line is machine-readable:
`elapsed_s X good_stored N of M peak_rss_mb R forbidden_requests F error_kinds k1,k2,...`
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sites import Site, article_html, send  # noqa: E402

GOOD = 12




def build(site: Site, forbidden: Site) -> tuple[list[str], dict[str, str]]:
    """Serve the scenario; returns (good article URLs, {bad URL: expected error kind})."""
    good = [site.add(f"/news/{i}.html", article_html(f"Good story {i}")) for i in range(GOOD - 2)]
    good.append(site.add("/news/cyrillic.html", article_html(
        "Русская история", words="Москва стала местом большой конференции о городском транспорте и пробках.")
        .replace('<meta charset="utf-8">', "").encode("cp1251"), "text/html"))
    good.append(site.add("/news/latin1.html", article_html(
        "Le marché", words="Le café du marché a rouvert après l'été, à la joie des habitués du quartier.")
        .encode("latin-1"), "text/html; charset=utf-8"))
    forbidden.add("/internal.html", article_html("Internal"))
    forbidden.add("/other-internal.html", article_html("Internal too"))
    bad = {
        site.add_handler("/trap/silent.html", lambda h: site.stopping.wait(30)): "timeout",
        site.add("/trap/huge.html", b"<html><body>" + b"x" * 3_000_000 + b"</body></html>"): "too_large",
        site.add("/trap/bomb.html", gzip.compress(b"<p>" + b"a" * 60_000_000, 9),
                 headers={"Content-Encoding": "gzip"}): "too_large",
        site.add("/trap/loop-a.html", "", status=302, headers={"Location": "/trap/loop-b.html"}): "redirect",
        site.add("/trap/to-private.html", "", status=302,
                 headers={"Location": forbidden.url("/other-internal.html")}): "blocked",
        forbidden.url("/internal.html"): "blocked",
        site.add("/trap/missing.html", "gone", status=404): "http",
        site.add("/trap/error.html", "boom", status=500): "http",
        site.add("/trap/doc.pdf", b"%PDF-1.7 " + os.urandom(2000), "application/pdf"): "content_type",
        site.add("/trap/picture.png", b"\x89PNG\r\n\x1a\n" + os.urandom(2000), "image/png"): "content_type",
    }
    site.add("/trap/loop-b.html", "", status=302, headers={"Location": "/trap/loop-a.html"})

    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(60):
            h.wfile.write(b"<")
            h.wfile.flush()
            if site.stopping.wait(1):
                return

    bad[site.add_handler("/trap/trickle.html", trickle)] = "timeout"
    site.add("/trap/noise.html", os.urandom(100_000), "text/html")  # skipped as not an article

    items = [*good, *bad, site.url("/trap/noise.html")]
    entries = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in items)
    # A feed padded with 20,000 extra entries beyond max_articles: the budget holds.
    entries += "".join(f"<item><title>x</title><link>{site.url(f'/pad/{i}.html')}</link></item>" for i in range(20_000))
    site.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>s</title>{entries}</channel></rss>',
             "application/rss+xml")

    def calendar(h):
        n = int(h.path.split("=")[1])
        links = "".join(f'<a href="/calendar?day={n + k}">day</a> ' for k in (-1, 1))
        links += "".join(f'<a href="/farm/{n}-{k}?sessionid={time.time_ns()}">x</a> ' for k in range(50))
        send(h, body=f"<html><body>{links}</body></html>".encode())

    def farm(h):
        n = h.path.split("?")[0].rsplit("/", 1)[1]
        links = "".join(f'<a href="/farm/{n}{k}?sid={time.time_ns()}">x</a> ' for k in range(50))
        send(h, body=f"<html><body>{links}</body></html>".encode())

    site.add_handler("/calendar", calendar)
    site.add_prefix_handler("/farm/", farm)
    return good, bad


def run(workdir: Path) -> dict:
    site, forbidden = Site().start(), Site("127.0.0.2").start()
    try:
        good, bad = build(site, forbidden)
        sources = workdir / "sources.toml"
        sources.write_text(f"""
[[sources]]
name = "hostile"
urls = ["{site.url('/feed.xml')}", "{site.url('/calendar?day=0')}"]
hosts = ["127.0.0.2"]
max_articles = {len(good) + len(bad) + 1}
max_depth = 3
timeout = "90s"
""")
        db = workdir / "hostile.db"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed command
        cmd = [str(Path(sys.executable).parent / "newsmill"), "crawl", "--sources", str(sources), "--db", str(db),
               "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_TIMEOUT=3",
               "-s", "DOWNLOAD_MAXSIZE=2000000", "-s", "RETRY_TIMES=1", "-s", "RETRY_BACKOFF_BASE=0.2",
               "-s", "NEWSMILL_SOURCE_MAX_REQUESTS=300", "-s", "NEWSMILL_PROGRESS=off", "--log-level", "WARNING"]
        started = time.monotonic()
        process = psutil.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                try:
                    tree = [process, *process.children(recursive=True)]
                    peak = max(peak, max(p.memory_info().rss for p in tree))
                except psutil.Error:
                    pass
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _out, err = process.communicate(timeout=600)
        stop.set()
        sampler.join()
        elapsed = time.monotonic() - started
    finally:
        site.stop()
        forbidden.stop()

    import sqlite_utils

    store = sqlite_utils.Database(db)
    stored = {r["url"] for r in store.query("select url from articles")}
    errors = {r["url"]: r["kind"] for r in store.query("select url, kind from errors")}
    integrity = store.execute("pragma integrity_check").fetchone()[0]
    store.close()
    return {
        "elapsed": elapsed,
        "exit": process.returncode,
        "good": good,
        "bad": bad,
        "stored": stored,
        "errors": errors,
        "peak_rss_mb": peak / 1e6,
        "forbidden_requests": len(forbidden.requests),
        "integrity": integrity,
        "stderr": err[-3000:],
    }


def main() -> None:
    result = run(Path(tempfile.mkdtemp(prefix="newsmill-hostile-")))
    good_stored = sum(1 for u in result["good"] if u in result["stored"])
    wrong = {u: (k, result["errors"].get(u)) for u, k in result["bad"].items() if result["errors"].get(u) != k}
    if wrong:
        print("bad URLs without their expected error kind:", wrong)
        print("errors:", result["errors"])
    kinds = Counter(result["errors"].values())
    print(f"exit {result['exit']}, integrity {result['integrity']}, errors by kind {dict(kinds)}")
    print(f"elapsed_s {result['elapsed']:.1f} good_stored {good_stored} of {len(result['good'])} "
          f"peak_rss_mb {result['peak_rss_mb']:.0f} forbidden_requests {result['forbidden_requests']} "
          f"error_kinds {','.join(sorted(kinds))}")


if __name__ == "__main__":
    main()
