"""No server-side request forgery: links, redirects and names never reach private addresses."""

from tests.sites import article_html, rss_feed


def _sources(url, hosts):
    listed = ", ".join(f'"{h}"' for h in hosts)
    return f'[[sources]]\nname = "s"\nurls = ["{url}"]\nhosts = [{listed}]\n'


def test_links_to_another_private_address_are_refused(make_site, newsmill):
    home, inside = make_site(), make_site("127.0.0.2")
    inside.add("/admin.html", article_html("Internal only"))
    home.add("/ok.html", article_html("Public story"))
    feed = home.add("/feed.xml", rss_feed(home, [("ok", "/ok.html")]).replace(
        "</channel>", f"<item><link>{inside.url('/admin.html')}</link></item></channel>"), "application/rss+xml")
    # Even a source that lists the other host may not reach a private address that is not its own.
    result = newsmill.crawl(sources=_sources(feed, ["127.0.0.2"]))
    assert result.returncode == 1
    assert inside.requests == []
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Public story"]
    assert newsmill.rows("select url, kind from errors") == [{"url": inside.url("/admin.html"), "kind": "blocked"}]


def test_redirects_to_private_and_metadata_addresses_are_refused(make_site, newsmill):
    home, inside = make_site(), make_site("127.0.0.3")
    inside.add("/secret.html", article_html("Secret"))
    home.add("/to-inside.html", "", status=302, headers={"Location": inside.url("/secret.html")})
    home.add("/to-metadata.html", "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    result = newsmill.crawl("--kind", "article", home.url("/to-inside.html"), home.url("/to-metadata.html"))
    assert result.returncode == 1
    assert inside.requests == []
    errors = {r["url"]: (r["kind"], r["message"]) for r in newsmill.rows("select url, kind, message from errors")}
    assert set(errors) == {home.url("/to-inside.html"), home.url("/to-metadata.html")}
    assert errors[home.url("/to-inside.html")][0] == "blocked"
    assert inside.url("/secret.html") in errors[home.url("/to-inside.html")][1]
    assert errors[home.url("/to-metadata.html")][0] == "blocked"
    assert "169.254.169.254" in errors[home.url("/to-metadata.html")][1]


def test_a_name_that_resolves_to_loopback_is_refused(site, newsmill):
    site.add("/real.html", article_html("Reached by address"))
    site.add("/via-name.html", article_html("Reached by name"))
    feed = site.add("/feed.xml", rss_feed(site, [("a", "/real.html")]).replace(
        "</channel>", f"<item><link>http://localhost:{site.port}/via-name.html</link></item></channel>"),
        "application/rss+xml")
    result = newsmill.crawl(sources=_sources(feed, ["localhost"]))
    assert result.returncode == 1
    assert site.fetched("/via-name.html") == 0
    assert newsmill.rows("select kind from errors") == [{"kind": "blocked"}]


def test_a_source_on_a_private_address_may_crawl_itself(make_site, newsmill):
    inside = make_site("127.0.0.2")
    url = inside.add("/intranet.html", article_html("Intranet news"))
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 1


def test_the_protection_can_be_turned_off_for_intranet_crawls(make_site, newsmill):
    home, inside = make_site(), make_site("127.0.0.2")
    inside.add("/wiki.html", article_html("Wiki page"))
    home.add("/go.html", "", status=302, headers={"Location": inside.url("/wiki.html")})
    result = newsmill.crawl("-s", "NEWSMILL_ALLOW_PRIVATE_ADDRESSES=True", "--kind", "article", home.url("/go.html"))
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 1
