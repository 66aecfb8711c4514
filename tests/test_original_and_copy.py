"""Of an article and its syndicated copy, the original is the article, whatever the order.

Site A (127.0.0.1) publishes the originals: JSON-LD and `article:published_time` with a
time, og:type=article, rel=canonical to themselves, its own site as publisher. Site B
(127.0.0.2) republishes each the same day with only a visible date (trafilatura reads it
as a date without a time), its own boilerplate and a credit line, and declares nothing.
"""

from __future__ import annotations

import json

import pytest

from pipelines.database import _earlier
from tests.sites import Site, distinct_words, rss_feed

N = 3
PUBLISHED = "2025-11-06T09:00:00+00:00"


def texts(i: int, *, edited: bool = False) -> list[str]:
    found = [f"{distinct_words(f'original {i} paragraph {p}', 18).capitalize()}." for p in range(8)]
    if edited:
        found.append(f"Update: {distinct_words(f'original {i} update', 20)}.")
    return found


class Syndication:
    """Site A (the publisher) and site B (a partner that republishes its articles)."""

    def __init__(self, publisher: Site, partner: Site):
        self.a, self.b = publisher, partner
        for i in range(N):
            self.publish(i)
            body = "".join(f"<p>{t}</p>" for t in texts(i))
            self.b.add(self.copy_path(i), f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Story {i} | Partner Daily</title></head>
<body><nav><a href="/">Partner Daily</a> <a href="/wire/">Wire</a></nav>
<article><h1>Story {i}</h1><p class="date">6 November 2025</p>
{body}<p>This article first appeared on Test News.</p></article>
<footer>Partner Daily, all rights reserved</footer></body></html>""", etag=True)
        self.a.add("/rss.xml", rss_feed(self.a, [(f"Story {i}", self.original_path(i))
                                                 for i in range(N)]), "application/rss+xml")
        self.b.add("/wire.xml", rss_feed(self.b, [(f"Story {i}", self.copy_path(i))
                                                  for i in range(N)]), "application/rss+xml")

    @staticmethod
    def original_path(i: int) -> str:
        return f"/news/2025/11/story-{i}.html"

    @staticmethod
    def copy_path(i: int) -> str:
        return f"/wire/story-{i}/"

    def original(self, i: int) -> str:
        return self.a.url(self.original_path(i))

    def copy(self, i: int) -> str:
        return self.b.url(self.copy_path(i))

    def publish(self, i: int, *, edited: bool = False, delay: float = 0.0) -> None:
        ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": f"Story {i}",
              "datePublished": PUBLISHED,
              "publisher": {"@type": "Organization", "name": "Test News", "url": self.a.url("/")}}
        body = "".join(f"<p>{t}</p>" for t in texts(i, edited=edited))
        self.a.add(self.original_path(i), f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Story {i} | Test News</title>
<meta property="og:type" content="article">
<meta property="og:site_name" content="Test News">
<meta property="article:published_time" content="{PUBLISHED}">
<link rel="canonical" href="{self.original(i)}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><nav><a href="/">Test News</a> <a href="/news/">News</a></nav>
<article><h1>Story {i}</h1>{body}</article>
<footer>Test News</footer></body></html>""", etag=True, delay=delay)

    def sources(self, *names: str) -> str:
        feeds = {"publisher": self.a.url("/rss.xml"), "partner": self.b.url("/wire.xml")}
        return "".join(f'[[sources]]\nname = "{n}"\nurls = ["{feeds[n]}"]\n' for n in names)


@pytest.fixture
def syndication(make_site):
    return Syndication(make_site("127.0.0.1"), make_site("127.0.0.2"))


def assert_originals_are_the_articles(syndication, newsmill):
    articles = newsmill.rows("select url, source, published from articles order by url")
    assert [tuple(a.values()) for a in articles] == [
        (syndication.original(i), "publisher", PUBLISHED) for i in range(N)]
    for i in range(N):
        urls = {r["url"]: (r["kind"], r["source"]) for r in newsmill.rows(
            "select u.url, u.kind, u.source from article_urls u join articles a "
            "on a.id = u.article_id where a.url = ?", [syndication.original(i)])}
        assert urls == {syndication.original(i): ("canonical", "publisher"),
                        syndication.copy(i): ("near_duplicate", "partner")}
    assert newsmill.rows("select distinct claims_original from articles") == [
        {"claims_original": 3}]


def assert_an_edit_of_the_original_makes_a_version(syndication, newsmill, sources):
    ids = {r["url"]: r["id"] for r in newsmill.rows("select id, url from articles")}
    syndication.publish(0, edited=True)

    result = newsmill.crawl(sources=sources)

    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.rows("select id, url, source, version from articles where text like "
                         "'%Update:%'") == [{"id": ids[syndication.original(0)],
                                             "url": syndication.original(0),
                                             "source": "publisher", "version": 2}]
    assert newsmill.rows("select article_id, version from article_versions") == [
        {"article_id": ids[syndication.original(0)], "version": 1}]


def test_a_copy_crawled_after_its_original_stays_its_copy(syndication, newsmill):
    for sources in (syndication.sources("publisher"), syndication.sources("partner")):
        result = newsmill.crawl(sources=sources)
        assert result.returncode == 0, newsmill.explain(result)

    assert_originals_are_the_articles(syndication, newsmill)
    assert_an_edit_of_the_original_makes_a_version(syndication, newsmill,
                                                   syndication.sources("publisher"))


def test_an_original_crawled_after_its_copy_takes_the_copys_row(syndication, newsmill):
    result = newsmill.crawl(sources=syndication.sources("partner"))
    assert result.returncode == 0, newsmill.explain(result)
    copies = {r["url"]: r["id"] for r in newsmill.rows("select id, url from articles")}

    result = newsmill.crawl(sources=syndication.sources("publisher"))

    assert result.returncode == 0, newsmill.explain(result)
    assert_originals_are_the_articles(syndication, newsmill)
    # The article keeps its id: what pointed at the copy's row points at the original's.
    assert {r["url"]: r["id"] for r in newsmill.rows("select id, url from articles")} == {
        syndication.original(i): copies[syndication.copy(i)] for i in range(N)}
    assert newsmill.count("near_duplicate_keys") == 14 * N
    assert_an_edit_of_the_original_makes_a_version(syndication, newsmill,
                                                    syndication.sources("publisher"))


def test_an_original_and_its_copy_in_one_crawl_end_as_the_original(syndication, newsmill):
    for i in range(N):  # the copies come first, as a slow publisher's would
        syndication.publish(i, delay=0.5)
    both = syndication.sources("publisher", "partner")

    result = newsmill.crawl(sources=both)

    assert result.returncode == 0, newsmill.explain(result)
    assert_originals_are_the_articles(syndication, newsmill)
    assert_an_edit_of_the_original_makes_a_version(syndication, newsmill, both)


def test_an_original_and_its_copy_crawled_by_two_crawls_at_once_end_as_the_original(
        syndication, newsmill):
    from tests.test_one_article_one_row import crawl_at_once

    for result in crawl_at_once(newsmill, syndication.sources("partner"),
                                syndication.sources("publisher")):
        assert result.returncode == 0, result.stderr

    assert_originals_are_the_articles(syndication, newsmill)


@pytest.mark.parametrize("first, second, earlier", [
    ("2025-11-06", "2025-11-06T09:00:00+00:00", False),  # the same day: neither is earlier
    ("2025-11-06T09:00:00+00:00", "2025-11-06", False),
    ("2025-11-06T23:30:00-05:00", "2025-11-07", False),  # 11-07 in UTC, 11-06 where written
    ("2025-11-07", "2025-11-06T23:30:00-05:00", False),
    ("2025-11-05", "2025-11-06T09:00:00+00:00", False),  # still 11-05 west of UTC-9
    ("2025-11-04", "2025-11-06T09:00:00+00:00", True),
    ("2025-11-06T09:00:00+00:00", "2025-11-07", True),  # 23:00 at most, anywhere
    ("2025-11-06T09:00:00+00:00", "2025-11-06T10:00:00+00:00", True),
    ("2025-11-06T10:00:00+01:00", "2025-11-06T09:30:00Z", True),  # instants compare in UTC
    ("2025-11-05", "2025-11-06", True),
    ("2025-11-06T08:00:00", "2025-11-06", False),  # a time without an offset: that day
    ("2025-11-06", "2025-11-06T08:00:00", False),
    ("2025-11-06T08:00:00", "2025-11-06T09:00:00", True),
    ("2025-11-06", None, False),
    ("yesterday", "2025-11-06", False),
])
def test_dates_compare_at_the_coarser_precision_in_any_time_zone(first, second, earlier):
    assert _earlier(first, second) is earlier


def claim_of(url: str, head: str) -> int:
    from pipelines.extract_worker import extract_article
    from pipelines.extraction import original_claim

    body = "".join(f"<p>{t}</p>" for t in texts(0))
    found = extract_article(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}'
                            f"</head><body><article><h1>Story</h1>{body}</article></body></html>",
                            url, {}, {})
    return original_claim(url, found["canonical"], found["declares_article"],
                          found["publisher_url"], found["publisher_is_site_name"])


def test_what_a_page_declares_of_itself_is_its_claim_to_be_the_original():
    url = "https://news.example.com/2025/11/story.html"
    publisher = {"@type": "NewsArticle", "publisher": {"name": "Example News",
                                                       "url": "https://www.example.com/"}}
    assert claim_of(url, "") == 0
    assert claim_of(url, '<meta property="og:type" content="article">') == 1
    assert claim_of(url, f'<link rel="canonical" href="{url}">'
                         f'<script type="application/ld+json">{json.dumps(publisher)}</script>') == 3
    assert claim_of(url, '<meta property="og:type" content="article"><meta property='
                         '"og:site_name" content="Example News"><script type="application/ld+json">'
                         '{"@type": "Article", "publisher": {"name": "Example News"}}</script>') == 2
    assert claim_of(url, '<meta property="og:type" content="article"><link rel="canonical" '
                         'href="https://wire.example.org/story">') == -1
