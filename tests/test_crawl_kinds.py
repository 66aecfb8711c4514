"""Each kind of source URL is recognised from its response and leads to its articles."""

from tests.sites import article_html, rss_feed, unaccounted_pages

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom test</title><id>urn:test</id>
<updated>2026-11-02T10:00:00Z</updated>
{entries}
</feed>"""


def _articles(site, prefix, n):
    paths = [f"/{prefix}/2026/11/{prefix}-{i}.html" for i in range(n)]
    for i, path in enumerate(paths):
        site.add(path, article_html(f"{prefix.title()} story {i}"))
    return paths


def _urlset(site, paths, news=False):
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    extra = ("<news:news><news:publication><news:name>Test</news:name><news:language>en"
             "</news:language></news:publication><news:publication_date>2026-11-02T10:00:00Z"
             "</news:publication_date><news:title>T</news:title></news:news>") if news else ""
    urls = "".join(f"<url><loc>{site.url(p)}</loc><lastmod>2026-11-0{i % 9 + 1}</lastmod>{extra}</url>"
                   for i, p in enumerate(paths))
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>{urls}</urlset>')


def titles(newsmill):
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []
    return sorted(r["title"] for r in newsmill.rows("select title from articles"))


def test_atom_feed_entries_are_crawled(site, newsmill):
    paths = _articles(site, "atom", 2)
    entries = "".join(f'<entry><title>e{i}</title><id>urn:{i}</id><link href="{site.url(p)}"/>'
                      f"<updated>2026-11-02T10:00:00Z</updated></entry>" for i, p in enumerate(paths))
    feed = site.add("/atom.xml", ATOM.format(entries=entries), "application/atom+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Atom story 0", "Atom story 1"]


def test_sitemap_index_with_gzipped_child_sitemap(site, newsmill):
    plain = _articles(site, "plain", 2)
    zipped = _articles(site, "zipped", 2)
    site.add("/sitemap-plain.xml", _urlset(site, plain), "application/xml")
    site.add("/sitemap-zipped.xml.gz", _urlset(site, zipped), "application/gzip", gzipped=True)
    index = site.add("/sitemap.xml", (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-plain.xml')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/sitemap-zipped.xml.gz')}</loc></sitemap>"
        "</sitemapindex>"), "application/xml")
    result = newsmill.crawl(index)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Plain story 0", "Plain story 1", "Zipped story 0", "Zipped story 1"]


def test_google_news_sitemap(site, newsmill):
    paths = _articles(site, "breaking", 3)
    sitemap = site.add("/news-sitemap.xml", _urlset(site, paths, news=True), "text/xml")
    result = newsmill.crawl(sitemap)
    assert result.returncode == 0, newsmill.explain(result)
    assert len(titles(newsmill)) == 3


def test_sitemaps_listed_in_robots_txt(site, newsmill):
    paths = _articles(site, "robots", 2)
    site.add("/sm.xml", _urlset(site, paths), "application/xml")
    robots = site.add("/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {site.url('/sm.xml')}\n",
                      "text/plain")
    result = newsmill.crawl(robots)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Robots story 0", "Robots story 1"]


def test_section_page_pagination_with_follow_and_deny(site, newsmill):
    articles = _articles(site, "world", 4)
    site.add("/video/2026/11/clip.html", article_html("A video page"))
    links = lambda paths: "".join(f'<a href="{p}">{p}</a> ' for p in paths)
    site.add("/section/world/", f"<html><body>{links(articles[:2])} <a href='/video/2026/11/clip.html'>v</a>"
                                f"<a href='/about/'>About</a> <a href='/section/world/?page=2'>Next</a></body></html>")
    site.add("/section/world/?page=2", f"<html><body>{links(articles[2:])}"
                                       f"<a href='/section/world/?page=3'>Next</a></body></html>")
    site.add("/section/world/?page=3", "<html><body><a href='/world/2026/11/deep.html'>x</a></body></html>")
    site.add("/world/2026/11/deep.html", article_html("Too deep"))
    site.add("/about/", "<html><body><a href='/misc/team.html'>x</a></body></html>")
    sources = f"""
[[sources]]
name = "world"
urls = ["{site.url('/section/world/')}"]
follow = ['/\\d{{4}}/\\d{{2}}/']
deny = ['/video/']
max_depth = 2
"""
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == [f"World story {i}" for i in range(4)]
    assert site.fetched("/video/2026/11/clip.html") == 0
    assert site.fetched("/section/world/?page=3") == 0  # a page at max_depth yields nothing
    assert site.fetched("/misc/team.html") == 0
    assert site.fetched("/world/2026/11/deep.html") == 0


def test_home_page_is_read_through_the_feeds_it_advertises(site, newsmill):
    paths = _articles(site, "feedlinked", 2)
    site.add("/feed.rss", rss_feed(site, [("a", paths[0]), ("b", paths[1])]), "application/rss+xml")
    home = site.add("/", '<html><head><link rel="alternate" type="application/rss+xml" '
                         'href="/feed.rss"></head><body><p>Welcome</p></body></html>')
    result = newsmill.crawl(home)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Feedlinked story 0", "Feedlinked story 1"]


def test_article_url_is_stored_directly(site, newsmill):
    url = site.add("/one/article.html", article_html("Direct article"))
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Direct article"]
    assert newsmill.rows("select url from articles")[0]["url"] == url


def test_kind_override_treats_a_plain_page_as_an_article(site, newsmill):
    html = article_html("No declared type").replace('<meta property="og:type" content="article">', "")
    url = site.add("/plain.html", html)
    result = newsmill.crawl("--kind", "article", url)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["No declared type"]


def test_plain_text_file_of_urls(site, newsmill):
    paths = _articles(site, "listed", 2)
    listing = newsmill.tmp / "urls.txt"
    listing.write_text("# my reading list\n" + "\n".join(site.url(p) for p in paths) + "\n\n")
    result = newsmill.crawl("--sources", str(listing))
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Listed story 0", "Listed story 1"]
    assert {r["source"] for r in newsmill.rows("select source from runs")} == {"urls"}


def test_max_articles_caps_a_source_run(site, newsmill):
    paths = _articles(site, "many", 8)
    feed = site.add("/many.xml", rss_feed(site, [(p, p) for p in paths]), "application/rss+xml")
    result = newsmill.crawl("--max-articles", "3", feed)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 3
    assert sum(site.fetched(p) for p in paths) == 3


def test_off_site_links_in_a_feed_are_not_followed(make_site, newsmill):
    home, other = make_site(), make_site("127.0.0.2")
    home.add("/mine.html", article_html("Mine"))
    other.add("/theirs.html", article_html("Theirs"))
    feed = home.add("/feed.xml", (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><link>{home.url('/mine.html')}</link></item>"
        f"<item><link>{other.url('/theirs.html')}</link></item></channel></rss>"), "application/rss+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 0, newsmill.explain(result)
    assert titles(newsmill) == ["Mine"]
    assert other.fetched("/theirs.html") == 0


def test_a_page_that_is_not_an_article_is_counted_not_stored(site, newsmill):
    url = site.add("/short.html", '<html><head><meta property="og:type" content="article"></head>'
                                  "<body><p>Too short to be an article.</p></body></html>")
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 0
    assert newsmill.rows("select not_articles from runs")[0]["not_articles"] == 1
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []


def test_a_meta_refresh_redirect_is_followed_to_the_article(site, newsmill):
    site.add("/old.html", '<html><head><META HTTP-EQUIV="Refresh" content="0; url=/new.html">'
                          "</head><body>moved</body></html>")
    site.add("/new.html", article_html("Moved story"))

    result = newsmill.crawl(site.url("/old.html"), "--kind", "article")

    assert result.returncode == 0, newsmill.explain(result)
    assert [r["url"] for r in newsmill.rows("select url from articles")] == [site.url("/new.html")]
