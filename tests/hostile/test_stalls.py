"""Servers that stall: every request is bounded by a timeout, and so is a source's whole run."""

import time

from tests.sites import article_html, rss_feed, unaccounted_pages

TIMEOUT = ["-s", "DOWNLOAD_TIMEOUT=2"]


def test_server_that_accepts_and_never_answers_times_out(site, newsmill):
    site.add_handler("/silent.html", lambda h: site.stopping.wait(30))
    good = site.add("/good.html", article_html("Still stored"))
    result = newsmill.crawl(*TIMEOUT, good, site.url("/silent.html"))
    assert result.returncode == 1
    assert newsmill.rows("select url, kind from errors") == [
        {"url": site.url("/silent.html"), "kind": "timeout"}]
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Still stored"]


def test_one_byte_a_second_times_out(site, newsmill):
    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(60):  # bounded: at most a minute, and the site stops it sooner
            h.wfile.write(b"<")
            h.wfile.flush()
            if site.stopping.wait(1):
                return

    url = site.add_handler("/trickle.html", trickle)
    started = time.monotonic()
    result = newsmill.crawl(*TIMEOUT, url)
    assert result.returncode == 1
    assert newsmill.rows("select kind from errors") == [{"kind": "timeout"}]
    assert time.monotonic() - started < 50  # bounded by the timeout, not by the minute of trickle


def test_body_that_never_ends_is_cut_at_the_size_limit(site, newsmill):
    def endless(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"<p>" + b"x" * 8192 + b"</p>"
        for _ in range(100_000):  # bounded: ~800 MB at most; the crawler hangs up long before
            if site.stopping.is_set():
                return
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    url = site.add_handler("/endless.html", endless)
    result = newsmill.crawl(*TIMEOUT, "-s", "DOWNLOAD_MAXSIZE=1000000", "-s", "DOWNLOAD_TIMEOUT=20", url)
    assert result.returncode == 1
    assert newsmill.rows("select kind from errors") == [{"kind": "too_large"}]


def test_a_source_run_stops_at_its_time_budget(site, newsmill):
    paths = [f"/slow/{i}.html" for i in range(60)]
    for i, path in enumerate(paths):
        site.add(path, article_html(f"Slow {i}"), delay=3)
    site.add("/slow.xml", rss_feed(site, [(p, p) for p in paths]), "application/rss+xml")
    sources = f"""
[[sources]]
name = "slow"
urls = ["{site.url('/slow.xml')}"]
timeout = "8s"
"""
    # 60 articles of 3 s need far more than 8 s even fetched several at a time (the run's
    # concurrency, not one at a time); the budget leaves time for the feed and a first
    # article on a loaded machine (3 s did not, at load 15: nothing stored).
    result = newsmill.crawl("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", sources=sources)
    assert result.returncode == 1
    stored = newsmill.count("articles")
    assert 0 < stored < 60
    limit = newsmill.rows("select kind, message from errors where kind = 'limit'")
    assert len(limit) == 1 and "time budget (8 s)" in limit[0]["message"]
    assert newsmill.rows("select status from runs")[0]["status"] == "partial"


def test_a_page_whose_extraction_passes_the_time_limit_is_an_error_naming_it(site, newsmill):
    """EXTRACT_TIMEOUT bounds a page's extraction (a page made to be slow to read holds a
    worker no longer): here a limit no page can meet, so that the test does not depend on
    how fast this machine is. Each page is recorded as an extraction error naming the
    limit, the crawl ends, and the run's counts account for every page."""
    urls = [site.add(f"/slow-{i}.html", article_html(f"Slow {i}")) for i in range(2)]
    result = newsmill.crawl("--kind", "article", "-s", "EXTRACT_TIMEOUT=0.001", *urls)
    assert result.returncode == 1, newsmill.explain(result)
    errors = newsmill.rows("select url, kind, message from errors order by url")
    assert [(e["url"], e["kind"]) for e in errors] == [(u, "extraction") for u in sorted(urls)]
    assert all("EXTRACT_TIMEOUT" in e["message"] for e in errors), errors
    assert newsmill.count("articles") == 0
    assert all(url in result.stderr for url in urls)  # the log names each page
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []
