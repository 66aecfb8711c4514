"""Responses too big or too clever: size limits hold, bombs are defused, budgets hold."""

import gzip
import zlib

import brotli

from tests.sites import article_html, rss_feed

SMALL = ["-s", "DOWNLOAD_MAXSIZE=1000000", "-s", "DOWNLOAD_WARNSIZE=0"]


def kinds(newsmill):
    return {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from errors")}


def test_body_past_the_size_limit_is_an_error(site, newsmill):
    url = site.add("/huge.html", "<html><body>" + "x" * 2_000_000 + "</body></html>")
    good = site.add("/good.html", article_html("Small and fine"))
    result = newsmill.crawl(*SMALL, url, good)
    assert result.returncode == 1
    assert kinds(newsmill) == {url: "too_large"}
    assert newsmill.count("articles") == 1


def test_a_gigabyte_article_is_refused_from_its_length_alone(site, newsmill):
    def gigabyte(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(1 << 30))
        h.end_headers()
        for _ in range(64):  # bounded; the crawler hangs up after the headers
            if site.stopping.is_set():
                return
            h.wfile.write(b"x" * 65536)

    url = site.add_handler("/gigabyte.html", gigabyte)
    result = newsmill.crawl(*SMALL, url)
    assert result.returncode == 1
    assert kinds(newsmill) == {url: "too_large"}


def _bomb(site, path, encoding, data):
    return site.add(path, data, headers={"Content-Encoding": encoding})


def test_compression_bombs_are_stopped_at_the_size_limit(site, newsmill):
    expanded = b"<html><body>" + b"a" * 50_000_000 + b"</body></html>"  # 50 MB of nothing
    urls = [
        _bomb(site, "/gzip-bomb.html", "gzip", gzip.compress(expanded, 9)),
        _bomb(site, "/deflate-bomb.html", "deflate", zlib.compress(expanded, 9)),
        _bomb(site, "/br-bomb.html", "br", brotli.compress(expanded, quality=5)),
    ]
    for url in urls:
        assert len(site.routes[url.removeprefix(site.base)].body) < 200_000
    result = newsmill.crawl(*SMALL, *urls)
    assert result.returncode == 1
    assert kinds(newsmill) == dict.fromkeys(urls, "too_large")


def test_gzipped_sitemap_that_expands_past_the_limit_is_refused(site, newsmill):
    entries = "".join(f"<url><loc>{site.url(f'/a/{i}.html')}</loc></url>" for i in range(40_000))
    body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    url = site.add("/big.xml.gz", body, "application/gzip", gzipped=True)
    result = newsmill.crawl(*SMALL, url)
    assert result.returncode == 1
    assert kinds(newsmill) == {url: "too_large"}


def test_sitemap_with_a_quarter_million_urls_keeps_max_articles(site, newsmill):
    for i in range(5):
        site.add(f"/a/{i}.html", article_html(f"Listed {i}"))
    # The five real articles are the newest; a quarter million older entries follow.
    entries = "".join(f"<url><loc>{site.url(f'/a/{i}.html')}</loc>"
                      f"<lastmod>{'2026-11-20' if i < 5 else '2025-01-01'}</lastmod></url>"
                      for i in range(250_000))
    body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    url = site.add("/huge-sitemap.xml.gz", body, "application/gzip", gzipped=True)
    result = newsmill.crawl("--max-articles", "5", "-s", "DOWNLOAD_MAXSIZE=30000000", url)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 5
    assert len(site.requests) < 20  # robots.txt, the sitemap, five articles: nothing more


def test_sitemap_indexes_pointing_at_each_other_end(site, newsmill):
    site.add("/article.html", article_html("Reached through a loop"))
    site.add("/a.xml", _index(site, ["/b.xml"]), "application/xml")
    site.add("/b.xml", _index(site, ["/a.xml", "/leaf.xml"]), "application/xml")
    site.add("/leaf.xml", '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                          f"<url><loc>{site.url('/article.html')}</loc></url></urlset>", "application/xml")
    result = newsmill.crawl(site.url("/a.xml"))
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 1
    assert site.fetched("/a.xml") == 1 and site.fetched("/b.xml") == 1


def test_endless_chain_of_sitemap_indexes_is_cut(site, newsmill):
    def chain(h):
        n = int(h.path.rsplit("/", 1)[1].split(".")[0])
        body = _index(site, [f"/chain/{n + 1}.xml"]).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    for n in range(50):  # more than the crawler may follow; it must stop well before
        site.add_handler(f"/chain/{n}.xml", chain)
    result = newsmill.crawl(site.url("/chain/0.xml"))
    assert result.returncode == 1
    assert sum(site.fetched(f"/chain/{n}.xml") for n in range(50)) <= 6
    assert [r["kind"] for r in newsmill.rows("select kind from errors")] == ["limit"]


def test_feed_of_forty_thousand_items_keeps_max_articles(site, newsmill):
    """A feed hundreds of times a real one's length (they list 10-100 items), past the size
    Scrapy warns at (DOWNLOAD_WARNSIZE, 5 MB): the budget holds and nothing else is asked
    for. (It had 100,000 items, 14 MB: the parse took 15-43 s and proved nothing more.)"""
    for i in range(3):
        site.add(f"/item/{i}.html", article_html(f"Feed item {i}"))
    feed = rss_feed(site, [(f"Item {i}", f"/item/{i}.html") for i in range(40_000)])
    assert len(feed.encode()) > 5 * 1024 * 1024
    url = site.add("/big-feed.xml", feed, "application/rss+xml")
    result = newsmill.crawl("--max-articles", "3", url, timeout=300)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 3
    assert len(site.requests) < 10


def _index(site, paths):
    children = "".join(f"<sitemap><loc>{site.url(p)}</loc></sitemap>" for p in paths)
    return ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{children}</sitemapindex>")
