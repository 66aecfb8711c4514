"""Known article URLs are not downloaded again unless something says they changed."""

import time

from tests.sites import article_html, rss_feed, unaccounted_pages

ARTICLE = "/news/2026/11/known.html"


def source(url: str, **keys) -> str:
    extra = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    return f'[[sources]]\nname = "news"\nurls = ["{url}"]\n{extra}'


def runs(newsmill) -> list[tuple]:
    rows = newsmill.rows("select * from runs order by id")
    assert unaccounted_pages(rows) == []  # skipped re-checks and 304s are pages too
    return [(r["articles_new"], r["articles_updated"], r["articles_unchanged"]) for r in rows]


def test_unchanged_article_is_asked_for_conditionally_and_not_downloaded_again(site, newsmill):
    site.add(ARTICLE, article_html("Known story"), etag=True)
    feed = site.add("/rss.xml", rss_feed(site, [("Known story", ARTICLE)]), "application/rss+xml")

    assert newsmill.crawl(sources=source(feed)).returncode == 0
    assert newsmill.crawl(sources=source(feed)).returncode == 0

    etag = site.routes[ARTICLE].headers["ETag"]
    asked = [h.get("If-None-Match") for _, p, h in site.requests if p == ARTICLE]
    assert asked == [None, etag]
    assert [s for p, s, _ in site.served if p == ARTICLE] == [200, 304]
    assert runs(newsmill) == [(1, 0, 0), (0, 0, 1)]
    assert newsmill.rows("select etag from fetch_state")[0]["etag"] == etag


def test_changed_article_is_downloaded_again_and_kept_as_a_new_version(site, newsmill):
    site.add(ARTICLE, article_html("Known story"), etag=True)
    feed = site.add("/rss.xml", rss_feed(site, [("Known story", ARTICLE)]), "application/rss+xml")
    assert newsmill.crawl(sources=source(feed)).returncode == 0

    site.add(ARTICLE, article_html("Known story", paragraphs=8), etag=True)
    assert newsmill.crawl(sources=source(feed)).returncode == 0

    assert [s for p, s, _ in site.served if p == ARTICLE] == [200, 200]
    assert runs(newsmill) == [(1, 0, 0), (0, 1, 0)]
    assert newsmill.rows("select version from articles") == [{"version": 2}]
    assert newsmill.count("article_versions") == 1


def test_sitemap_lastmod_unchanged_means_no_request_at_all(site, newsmill):
    site.add(ARTICLE, article_html("Known story"), etag=True)
    sitemap = site.add("/sitemap.xml", '<?xml version="1.0"?><urlset xmlns="http://www.'
                       f'sitemaps.org/schemas/sitemap/0.9"><url><loc>{site.url(ARTICLE)}</loc>'
                       "<lastmod>2026-11-03T10:00:00+00:00</lastmod></url></urlset>",
                       "application/xml")

    assert newsmill.crawl(sources=source(sitemap)).returncode == 0
    assert newsmill.crawl(sources=source(sitemap)).returncode == 0

    assert site.fetched(ARTICLE) == 1
    assert runs(newsmill) == [(1, 0, 0), (0, 0, 1)]


def test_article_first_seen_longer_ago_than_recheck_for_is_not_requested(site, newsmill):
    site.add(ARTICLE, article_html("Known story"), etag=True)
    feed = site.add("/rss.xml", rss_feed(site, [("Known story", ARTICLE)]), "application/rss+xml")
    assert newsmill.crawl(sources=source(feed, recheck_for="1s")).returncode == 0

    time.sleep(1.5)  # the article is now older than recheck_for
    site.add(ARTICLE, article_html("Known story", paragraphs=8), etag=True)
    assert newsmill.crawl(sources=source(feed, recheck_for="1s")).returncode == 0

    assert site.fetched(ARTICLE) == 1
    assert runs(newsmill) == [(1, 0, 0), (0, 0, 1)]
    assert newsmill.count("article_versions") == 0


def test_lastmod_from_the_sitemap_counts_when_the_feed_lists_the_article_first(site, newsmill):
    """A feed dates entries by publication, a sitemap by lastmod. The feed is read first
    here (the sitemap answers 0.4 s later, each article 1 s later): on the first crawl its
    article requests are already queued when the sitemap's lastmod arrives and must still
    be judged by it; on the next, re-checks of known articles wait for the sitemap."""
    paths = [f"/news/2026/11/story-{i}.html" for i in range(12)]
    for n, path in enumerate(paths):
        site.add(path, article_html(f"Story {n}"), etag=True, delay=1.0)
    feed = site.add("/rss.xml", rss_feed(site, [(f"Story {n}", p) for n, p in enumerate(paths)]),
                    "application/rss+xml")
    entries = "".join(f"<url><loc>{site.url(p)}</loc><lastmod>2026-11-03T10:00:00+00:00</lastmod></url>"
                      for p in paths)
    sitemap = site.add("/sitemap.xml", '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                       f'schemas/sitemap/0.9">{entries}</urlset>', "application/xml", delay=0.4)
    sources = f'[[sources]]\nname = "news"\nurls = ["{feed}", "{sitemap}"]\n'
    crawl = ("-s", "CONCURRENT_REQUESTS=4", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4")

    assert newsmill.crawl(*crawl, sources=sources).returncode == 0
    # Every article is remembered with the sitemap's lastmod, though the feed found it first.
    assert {r["lastmod"] for r in newsmill.rows("select lastmod from fetch_state")} == \
        {"2026-11-03T10:00:00+00:00"}
    first = len(site.requests)

    assert newsmill.crawl(*crawl, sources=sources).returncode == 0
    again = [p for _, p, _ in site.requests[first:] if p in paths]
    # The feed's re-checks wait for the sitemap: its lastmod says unchanged, nothing is sent.
    assert again == []
    assert sorted(site.bodies_served(paths)) == sorted(paths)  # each once, in the first crawl
    assert runs(newsmill) == [(12, 0, 0), (0, 0, 12)]


def test_a_304_remembers_the_lastmod_the_sitemap_gave_so_the_next_crawl_sends_nothing(site, newsmill):
    site.add(ARTICLE, article_html("Known story"), etag=True)
    feed = site.add("/rss.xml", rss_feed(site, [("Known story", ARTICLE)]), "application/rss+xml")
    sitemap = site.add("/sitemap.xml", '<?xml version="1.0"?><urlset xmlns="http://www.'
                       f'sitemaps.org/schemas/sitemap/0.9"><url><loc>{site.url(ARTICLE)}</loc>'
                       "<lastmod>2026-11-03T10:00:00+00:00</lastmod></url></urlset>",
                       "application/xml")

    assert newsmill.crawl(sources=source(feed)).returncode == 0  # found by the feed: no lastmod
    assert newsmill.crawl(sources=source(sitemap)).returncode == 0  # conditional: 304
    assert newsmill.crawl(sources=source(sitemap)).returncode == 0  # lastmod unchanged: skipped

    assert [s for p, s, _ in site.served if p == ARTICLE] == [200, 304]
    assert newsmill.rows("select lastmod from fetch_state") == [{"lastmod": "2026-11-03T10:00:00+00:00"}]
    assert runs(newsmill) == [(1, 0, 0), (0, 0, 1), (0, 0, 1)]


def test_held_re_checks_still_go_out_when_a_listing_is_never_read(site, newsmill):
    """The source lists its sitemap under an old address too, which redirects to it: one
    of the two requests is dropped as a duplicate, so its callback never runs. The feed's
    re-checks, held for the source's listings, are still sent once nothing else is left
    to do."""
    paths = [f"/news/2026/11/held-{i}.html" for i in range(3)]
    for n, path in enumerate(paths):
        site.add(path, article_html(f"Held story {n}"), etag=True)
    feed = site.add("/rss.xml", rss_feed(site, [(f"Held story {n}", p) for n, p in enumerate(paths)]),
                    "application/rss+xml")
    entries = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in paths)  # no lastmod
    sitemap = site.add("/sitemap.xml", '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                       f'schemas/sitemap/0.9">{entries}</urlset>', "application/xml", delay=0.3)
    old = site.add("/old-sitemap.xml", "", status=301, headers={"Location": sitemap})
    sources = f'[[sources]]\nname = "news"\nurls = ["{feed}", "{old}", "{sitemap}"]\n'

    assert newsmill.crawl(sources=sources).returncode == 0
    started = time.monotonic()
    assert newsmill.crawl(sources=sources).returncode == 0
    assert time.monotonic() - started < 30

    # Nothing says they are unchanged: each is asked for conditionally, and answered 304.
    assert sorted(p for p, status, _ in site.served if status == 304) == sorted(paths)
    assert runs(newsmill) == [(3, 0, 0), (0, 0, 3)]
