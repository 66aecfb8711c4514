"""What goes wrong is recorded and reported: HTTP errors, robots.txt, usage errors.

Bad sources files are in tests/hostile/test_bad_config.py.
"""

from tests.sites import article_html, rss_feed, unaccounted_pages


def test_robots_txt_disallow_is_obeyed_and_recorded(site, newsmill):
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/public/a.html", article_html("Public story"))
    site.add("/private/b.html", article_html("Private story"))
    feed = site.add("/feed.xml", rss_feed(site, [("a", "/public/a.html"), ("b", "/private/b.html")]),
                    "application/rss+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 0, newsmill.explain(result)
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Public story"]
    assert site.fetched("/private/b.html") == 0
    errors = newsmill.rows("select url, kind from errors")
    assert errors == [{"url": site.url("/private/b.html"), "kind": "robots"}]
    # The page robots.txt forbids is settled as an error, though never requested.
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []


def test_http_errors_are_recorded_and_make_the_run_partial(site, newsmill):
    site.add("/ok.html", article_html("Fine story"))
    site.add("/gone.html", "gone", status=410)
    site.add("/broken.html", "oops", status=500)
    feed = site.add("/feed.xml", rss_feed(site, [("a", "/ok.html"), ("b", "/gone.html"),
                                                  ("c", "/broken.html"), ("d", "/missing.html")]),
                    "application/rss+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 1
    errors = {r["url"]: (r["kind"], r["message"]) for r in newsmill.rows("select * from errors")}
    assert errors == {
        site.url("/gone.html"): ("http", "HTTP 410"),
        site.url("/broken.html"): ("http", "HTTP 500"),
        site.url("/missing.html"): ("http", "HTTP 404"),
    }
    run = newsmill.rows("select * from runs")[0]
    assert (run["status"], run["errors"], run["articles_new"]) == ("partial", 3, 1)
    assert (run["pages"], unaccounted_pages([run])) == (5, [])
    assert "partial" in result.stdout  # the summary table shows it


def test_unreachable_source_fails_the_run(newsmill):
    result = newsmill.crawl("http://127.0.0.1:9/feed.xml")  # nothing listens on port 9
    assert result.returncode == 1
    run = newsmill.rows("select * from runs")[0]
    assert run["status"] == "failed"
    assert newsmill.rows("select kind from errors")[0]["kind"] == "connection"


def test_not_an_html_page_is_an_error_of_its_own_kind(site, newsmill):
    url = site.add("/report.pdf", b"%PDF-1.4 binary", "application/pdf")
    newsmill.crawl("--kind", "article", url)
    assert newsmill.rows("select kind from errors")[0]["kind"] == "content_type"
    assert newsmill.count("articles") == 0


def test_unknown_source_name_is_a_usage_error(newsmill):
    result = newsmill.crawl("--source", "nope",
                            sources="[[sources]]\nname = 'a'\nurls = ['http://127.0.0.1/']\n")
    assert result.returncode == 2
    assert "no source named 'nope'" in result.stderr


def test_help_lists_every_option(newsmill):
    result = newsmill.run("crawl", "--help")
    assert result.returncode == 0
    for option in ("--sources", "--source", "--db", "--max-articles", "-s, --set", "--log-level"):
        assert option in result.stdout



def test_extensions_that_are_off_are_not_loaded_and_can_be_turned_on():
    """Scrapy imports an extension's module only to learn that it is off (the telnet
    console's imports Twisted's conch, the remote control's aiohttp): while off they are
    left out; turned on with -s they are there as in any Scrapy project."""
    from crawler.runner import crawl_settings
    from crawler.sources import adhoc_source

    sources = [adhoc_source(["https://example.org/a.html"])]
    base = crawl_settings(sources, "unused.db").getdict("EXTENSIONS_BASE")
    assert not any(k.endswith((".TelnetConsole", ".RemoteControl")) for k in base)
    assert "scrapy.extensions.corestats.CoreStats" in base
    on = crawl_settings(sources, "unused.db", {"TELNETCONSOLE_ENABLED": "True"}).getdict("EXTENSIONS_BASE")
    assert "scrapy.extensions.telnet.TelnetConsole" in on
