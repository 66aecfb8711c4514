"""Traps: redirect loops and chains, endless calendars, session ids, link farms all end."""

from tests.sites import article_html, rss_feed, send, unaccounted_pages


def test_redirect_loop_ends_with_an_error(site, newsmill):
    site.add("/loop/a", "", status=302, headers={"Location": "/loop/b"})
    site.add("/loop/b", "", status=302, headers={"Location": "/loop/a"})
    result = newsmill.crawl("--kind", "article", site.url("/loop/a"))
    assert result.returncode == 1
    assert [r["kind"] for r in newsmill.rows("select kind from errors")] == ["redirect"]
    assert site.fetched("/loop/a") + site.fetched("/loop/b") <= 12
    assert [(r["pages"], r["errors"]) for r in newsmill.rows("select * from runs")] == [(1, 1)]


def test_long_redirect_chain_is_cut(site, newsmill):
    def hop(h):
        n = int(h.path.rsplit("/", 1)[1])
        send(h, 301, headers={"Location": f"/chain/{n + 1}"})

    for n in range(100):
        site.add_handler(f"/chain/{n}", hop)
    result = newsmill.crawl("-s", "REDIRECT_MAX_TIMES=5", "--kind", "article", site.url("/chain/0"))
    assert result.returncode == 1
    assert [r["kind"] for r in newsmill.rows("select kind from errors")] == ["redirect"]
    assert sum(site.fetched(f"/chain/{n}") for n in range(100)) <= 6


def test_endless_calendar_is_bounded_by_max_depth(site, newsmill):
    def day(h):
        n = int(h.path.split("=")[1])
        links = f'<a href="/calendar?day={n + 1}">next day</a> <a href="/calendar?day={n - 1}">previous day</a>'
        send(h, body=f"<html><body><h1>Events of day {n}</h1>{links}</body></html>".encode())

    site.add_handler("/calendar", day)
    sources = f"""
[[sources]]
name = "calendar"
urls = ["{site.url('/calendar?day=0')}"]
max_depth = 3
"""
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    calendar_requests = [p for _, p, _ in site.requests if p.startswith("/calendar")]
    assert 1 < len(calendar_requests) <= 7  # day 0, then at most 3 levels of +-1


def test_session_ids_in_every_link_do_not_multiply_pages(site, newsmill):
    import itertools

    counter = itertools.count()
    for i in range(3):
        site.add(f"/story/{i}.html", article_html(f"Session story {i}"))

    def section(h):
        n = next(counter)
        links = "".join(f'<a href="/story/{i}.html?sessionid={n}x{i}&utm_source=s{n}">s</a> '
                        f'<a href="/story/{i}.html?jsessionid=Z{n}{i}">again</a> ' for i in range(3))
        links += f'<a href="/section?sid={n}">more</a>'
        send(h, body=f"<html><body>{links}</body></html>".encode())

    site.add_handler("/section", section)
    sources = f"""
[[sources]]
name = "sessions"
urls = ["{site.url('/section?sid=start')}"]
max_depth = 4
"""
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 3
    story_fetches = [p for _, p, _ in site.requests if p.startswith("/story/")]
    assert len(story_fetches) == 3
    assert sum(1 for _, p, _ in site.requests if p.startswith("/section")) <= 2


def test_link_farm_stops_at_the_request_budget(site, newsmill):
    def farm(h):
        n = int(h.path.rsplit("/", 1)[1])
        links = "".join(f'<a href="/farm/{n * 100 + k}">page {k}</a> ' for k in range(1, 101))
        send(h, body=f"<html><body>{links}</body></html>".encode())

    site.add_handler("/farm/", farm)
    for n in range(1, 101):  # handlers match exact paths; the farm answers every one of them
        site.add_handler(f"/farm/{n}", farm)
    sources = f"""
[[sources]]
name = "farm"
urls = ["{site.url('/farm/0')}"]
max_depth = 5
"""
    site.add_handler("/farm/0", farm)
    result = newsmill.crawl("-s", "NEWSMILL_SOURCE_MAX_REQUESTS=40", sources=sources)
    assert result.returncode == 1
    farm_requests = [p for _, p, _ in site.requests if p.startswith("/farm/")]
    assert len(farm_requests) <= 40
    limit = newsmill.rows("select message from errors where kind = 'limit'")
    assert len(limit) == 1 and "request budget (40)" in limit[0]["message"]
    # The limit row stands for requests never made: no page, and not in runs.errors.
    run = newsmill.rows("select * from runs")[0]
    assert run["pages"] == len(farm_requests) and unaccounted_pages([run]) == []


def test_a_link_farm_cannot_spend_the_budget_before_a_slow_feed_is_read(site, newsmill):
    """The farm answers at once and the feed a second later: navigation waits for the
    source's listings, so the articles the feed lists are fetched within the budget."""
    def farm(h):
        n = int(h.path.rsplit("/", 1)[1])
        links = "".join(f'<a href="/farm/{n * 100 + k}">page {k}</a> ' for k in range(1, 101))
        send(h, body=f"<html><body>{links}</body></html>".encode())

    site.add_prefix_handler("/farm/", farm)
    paths = [f"/news/2026/11/listed-{i}.html" for i in range(3)]
    for n, path in enumerate(paths):
        site.add(path, article_html(f"Listed story {n}"))
    feed = site.add("/rss.xml", rss_feed(site, [(f"Listed story {n}", p) for n, p in enumerate(paths)]),
                    "application/rss+xml", delay=1.0)
    sources = f"""
[[sources]]
name = "farm"
urls = ["{site.url('/farm/0')}", "{feed}"]
max_depth = 5
"""
    result = newsmill.crawl("-s", "NEWSMILL_SOURCE_MAX_REQUESTS=30", sources=sources)
    assert result.returncode == 1  # the budget ran out: partial
    assert {r["url"] for r in newsmill.rows("select url from articles")} == {site.url(p) for p in paths}
    assert len([p for _, p, _ in site.requests if p.startswith("/farm/")]) <= 30


def test_a_retry_does_not_count_against_the_request_budget(site, newsmill):
    """A budget of one request: the article's first answer is a 503, its retry succeeds."""
    url = site.add_sequence("/news/2026/11/busy.html", [
        (503, "busy", {}), (200, article_html("Busy story"), {})])
    result = newsmill.crawl(url, "-s", "NEWSMILL_SOURCE_MAX_REQUESTS=1", "-s", "RETRY_TIMES=1",
                            "-s", "RETRY_BACKOFF_BASE=0.1")
    assert result.returncode == 0, newsmill.explain(result)
    assert [r["url"] for r in newsmill.rows("select url from articles")] == [url]
