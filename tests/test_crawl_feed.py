from tests.sites import article_html, rss_feed, unaccounted_pages


def test_rss_feed_articles_are_stored_with_their_text(site, newsmill):
    items = [(f"Story {i}", f"/news/2026/11/story-{i}.html") for i in range(3)]
    for title, path in items:
        site.add(path, article_html(title))
    feed = site.add("/rss.xml", rss_feed(site, items), "application/rss+xml")

    result = newsmill.crawl(feed)

    assert result.returncode == 0, result.stderr
    rows = newsmill.rows("select url, title, text, source from articles order by url")
    assert [r["title"] for r in rows] == ["Story 0", "Story 1", "Story 2"]
    assert all("Paragraph 3 adds its own detail" in r["text"] for r in rows)
    assert {r["source"] for r in rows} == {"adhoc"}
    run = newsmill.rows("select * from runs")[0]
    assert run["status"] == "ok" and run["articles_new"] == 3 and run["pages"] == 4
    assert run["listings"] == 1 and unaccounted_pages([run]) == []


def test_a_crawl_longer_than_one_extraction_pool_stores_every_article(site, newsmill):
    # Workers are replaced every EXTRACT_RECYCLE_PAGES pages; with Python's own
    # max_tasks_per_child the crawl used to stop for good at that point (CPython gh-115634).
    items = [(f"Story {i}", f"/news/2026/11/story-{i}.html") for i in range(7)]
    for title, path in items:
        site.add(path, article_html(title))
    feed = site.add("/rss.xml", rss_feed(site, items), "application/rss+xml")

    result = newsmill.crawl(feed, "-s", "EXTRACT_RECYCLE_PAGES=3", "-s", "EXTRACT_WORKERS=1",
                            timeout=120)

    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 7
