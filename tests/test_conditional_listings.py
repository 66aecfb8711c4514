"""Feeds, sitemaps and robots.txt are asked for conditionally: unchanged, they cost one 304."""

from __future__ import annotations

import time

from tests.sites import article_html, rss_feed, unaccounted_pages


def feed_site(site, etag=True, headers=None) -> str:
    items = [(f"Story {n}", f"/news/{n}.html") for n in (1, 2)]
    for title, path in items:
        site.add(path, article_html(title), etag=True)
    return site.add("/rss.xml", rss_feed(site, items), "application/rss+xml", etag=etag,
                    headers=headers)


def requests_since(site, before: int) -> list[tuple[str, dict]]:
    return [(path, headers) for _, path, headers in site.requests[before:]]


def test_an_unchanged_feed_costs_one_conditional_request(site, newsmill):
    feed = feed_site(site)
    first = newsmill.crawl(feed)
    assert first.returncode == 0, newsmill.explain(first)
    before = len(site.requests)

    again = newsmill.crawl(feed)

    assert again.returncode == 0, newsmill.explain(again)
    [(path, headers)] = requests_since(site, before)  # robots.txt is kept for an hour
    assert path == "/rss.xml" and headers.get("If-None-Match")
    assert site.served[-1] == ("/rss.xml", 304, 0)
    runs = newsmill.rows("select * from runs order by id")
    assert (runs[1]["pages"], runs[1]["listings"], runs[1]["articles_new"]) == (1, 1, 0)
    assert unaccounted_pages(runs) == []
    assert newsmill.count("articles") == 2


def test_a_feed_with_only_last_modified_is_asked_if_modified_since(site, newsmill):
    stamp = "Mon, 30 Nov 2026 10:00:00 GMT"
    feed = feed_site(site, etag=False, headers={"Last-Modified": stamp})
    assert newsmill.crawl(feed).returncode == 0
    before = len(site.requests)
    assert newsmill.crawl(feed).returncode == 0
    [(path, headers)] = requests_since(site, before)
    assert path == "/rss.xml" and headers.get("If-Modified-Since") == stamp and site.served[-1][1] == 304


def test_a_feed_whose_articles_failed_is_read_in_full_again(site, newsmill):
    """A 304 would skip what the feed lists: its validators are kept only when all of it
    was read."""
    feed = feed_site(site)
    site.add_sequence("/news/2.html", [(503, "busy", {}), (200, article_html("Story 2"), {})])
    first = newsmill.crawl(feed)
    assert first.returncode == 1 and newsmill.count("articles") == 1
    before = len(site.requests)

    again = newsmill.crawl(feed)

    assert again.returncode == 0, newsmill.explain(again)
    assert ("/rss.xml", 200) in [(p, s) for p, s, _ in site.served[-3:]]
    assert "/news/2.html" in [path for path, _ in requests_since(site, before)]
    assert newsmill.count("articles") == 2


def test_robots_txt_answered_304_keeps_its_rules(site, newsmill):
    site.add("/robots.txt", "User-agent: *\nDisallow: /news/2.html\n", "text/plain", etag=True)
    feed = feed_site(site, etag=False)  # read in full each time: its entries are judged again
    kept = ["-s", "NEWSMILL_ROBOTSTXT_CACHE=1"]  # a second: the next crawl asks again
    newsmill.crawl(*kept, feed)  # /news/2.html forbidden: a `robots` error
    time.sleep(1.2)
    before = len(site.requests)

    newsmill.crawl(*kept, feed)

    asked = requests_since(site, before)
    robots = [headers for path, headers in asked if path == "/robots.txt"]
    assert len(robots) == 1 and robots[0].get("If-None-Match")
    assert ("/robots.txt", 304, 0) in site.served
    assert "/news/2.html" not in [path for path, _ in requests_since(site, before)]
    assert [(r["run_id"], r["kind"]) for r in newsmill.rows("select * from errors")] \
        == [(1, "robots"), (2, "robots")]


RECORD_MODULES = """
import atexit, sys
atexit.register(lambda: print("MODULES", *sorted(sys.modules), file=sys.stderr))
sys.argv = ["newsmill", *sys.argv[1:]]
from crawler.cli import main
main()
"""


def test_a_re_crawl_that_finds_nothing_new_loads_only_what_it_uses(site, newsmill):
    """Start-up is most of an unchanged re-crawl's cost (benchmarks/README.md, Throughput):
    a crawl whose listings answer 304 loads neither the extraction workers' module, nor
    feedparser, nor tldextract and its suffix list (CookiesMiddleware's module imports it,
    and cookies are off), nor the fingerprints: they are imported where first used; nor
    numpy, which sqlite-utils would import (pipelines/store_core.py)."""
    import subprocess
    import sys

    from tests.conftest import FAST, user_env

    feed = feed_site(site)
    assert newsmill.crawl(feed).returncode == 0
    before = len(site.requests)
    again = subprocess.run([sys.executable, "-c", RECORD_MODULES, "crawl", *FAST, feed,
                            "--db", str(newsmill.db_path)], cwd=newsmill.tmp, env=user_env(),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, newsmill.explain(again)
    assert [status for _, status, _ in site.served[before:]] == [304]
    loaded = set(again.stderr.split("MODULES", 1)[1].split())
    assert "scrapy" in loaded and "sqlite_utils" in loaded  # what it does use
    assert not loaded & {"pipelines.extract_worker", "trafilatura", "feedparser", "tldextract",
                         "pipelines.fingerprints", "psutil", "numpy",
                         "scrapy.downloadermiddlewares.cookies"}, sorted(loaded)
