"""Server pressure: Retry-After is honoured up to a cap, 5xx backs off, robots.txt as Google reads it."""

from tests.sites import article_html, rss_feed

QUICK_RETRIES = ["-s", "RETRY_TIMES=2", "-s", "RETRY_BACKOFF_BASE=0.2"]


def times(site, path):
    return [t for p, t in site.times if p == path]


def test_503_and_429_with_retry_after_are_retried_after_waiting(site, newsmill):
    urls = [site.add_sequence(f"/busy-{code}.html", [
        (code, "busy", {"Retry-After": "1"}),
        (200, article_html(f"Patience {code}"), {}),
    ]) for code in (503, 429)]
    result = newsmill.crawl(*QUICK_RETRIES, *urls)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 2
    for code in (503, 429):
        first, second = times(site, f"/busy-{code}.html")
        assert second - first >= 1.0  # the server asked for a second; it got at least that


def test_retry_after_beyond_the_cap_is_not_waited_for(site, newsmill):
    url = site.add("/come-back-tomorrow.html", "later", status=503, headers={"Retry-After": "86400"})
    result = newsmill.crawl(*QUICK_RETRIES, "-s", "RETRY_AFTER_MAX=60", url)
    assert result.returncode == 1
    assert site.fetched("/come-back-tomorrow.html") == 1
    assert newsmill.rows("select kind, message from errors") == [{"kind": "http", "message": "HTTP 503"}]


def test_repeated_5xx_backs_off_exponentially(site, newsmill):
    url = site.add_sequence("/flaky.html", [(500, "e", {}), (502, "e", {}), (200, article_html("Third time"), {})])
    result = newsmill.crawl(*QUICK_RETRIES, url)
    assert result.returncode == 0, newsmill.explain(result)
    first, second, third = times(site, "/flaky.html")
    assert second - first >= 0.2 and third - second >= 0.4


def test_robots_txt_5xx_means_the_site_is_not_crawled(site, newsmill):
    site.add("/robots.txt", "down", status=503)
    site.add("/a.html", article_html("Not now"))
    result = newsmill.crawl(*QUICK_RETRIES, site.url("/a.html"))
    assert result.returncode == 1
    assert site.fetched("/a.html") == 0
    errors = newsmill.rows("select kind, message from errors")
    assert [e["kind"] for e in errors] == ["robots_unavailable"]
    assert "HTTP 503" in errors[0]["message"]


def test_slow_robots_txt_means_the_site_is_not_crawled(site, newsmill):
    site.add_handler("/robots.txt", lambda h: site.stopping.wait(20))
    site.add("/a.html", article_html("Not now either"))
    result = newsmill.crawl("-s", "DOWNLOAD_TIMEOUT=1", site.url("/a.html"))
    assert result.returncode == 1
    assert site.fetched("/a.html") == 0
    assert [e["kind"] for e in newsmill.rows("select kind from errors")] == ["robots_unavailable"]


def test_robots_txt_4xx_means_no_rules(site, newsmill):
    site.add("/robots.txt", "forbidden", status=403)
    url = site.add("/a.html", article_html("Open for all"))
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 1


def test_huge_robots_txt_is_read_up_to_500_kib(site, newsmill):
    padding = "# padding line to make this file very large indeed\n" * 12_000  # ~600 KiB
    site.add("/robots.txt", "User-agent: *\nDisallow: /early/\n" + padding + "Disallow: /late/\n", "text/plain")
    site.add("/early/a.html", article_html("Early"))
    site.add("/late/b.html", article_html("Late"))
    feed = site.add("/f.xml", rss_feed(site, [("a", "/early/a.html"), ("b", "/late/b.html")]), "application/rss+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 0, newsmill.explain(result)
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Late"]
    assert site.fetched("/early/a.html") == 0


def test_robots_txt_is_read_once_for_crawls_soon_after_and_still_obeyed(site, newsmill):
    """Crawls into the same store within NEWSMILL_ROBOTSTXT_CACHE seconds of one that read a
    site's robots.txt use what it read (as Google caches it for up to a day): one request
    fewer per crawl, the same rules. Set to 0, every crawl asks."""
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/public/a.html", article_html("Public story"))
    site.add("/private/b.html", article_html("Private story"))
    feed = site.add("/feed.xml", rss_feed(site, [("a", "/public/a.html"), ("b", "/private/b.html")]),
                    "application/rss+xml")

    first, second = newsmill.crawl(feed), newsmill.crawl(feed)

    assert first.returncode == 0 and second.returncode == 0, newsmill.explain(second)
    assert site.fetched("/robots.txt") == 1
    assert site.fetched("/private/b.html") == 0
    assert [e["kind"] for e in newsmill.rows("select kind from errors")] == ["robots", "robots"]
    assert newsmill.rows("select url, status from robots_txt") == [
        {"url": site.url("/robots.txt"), "status": 200}]
    third = newsmill.crawl(feed, "-s", "NEWSMILL_ROBOTSTXT_CACHE=0")
    assert third.returncode == 0 and site.fetched("/robots.txt") == 2


def test_a_robots_txt_that_could_not_be_read_is_asked_for_again(site, newsmill):
    site.add("/robots.txt", "down", status=503)
    site.add("/a.html", article_html("Later"))
    first = newsmill.crawl(*QUICK_RETRIES, site.url("/a.html"))
    site.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    second = newsmill.crawl(*QUICK_RETRIES, site.url("/a.html"))
    assert first.returncode == 1 and second.returncode == 0, newsmill.explain(second)
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Later"]
    assert newsmill.rows("select status from robots_txt") == [{"status": 200}]
