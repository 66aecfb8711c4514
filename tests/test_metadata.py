"""An article page that declares all its metadata lands with every field in its column."""

import json

from tests.sites import article_html

HEAD = """
<meta property="og:title" content="Harbour reopens after the storm">
<meta property="og:description" content="Fishing boats return as the harbour wall is repaired.">
<meta property="og:site_name" content="The Coastal Gazette">
<meta property="og:image" content="/images/harbour.jpg">
<meta property="og:url" content="{base}/news/2026/11/harbour-reopens">
<meta property="article:published_time" content="2026-11-02T08:15:00+01:00">
<meta property="article:modified_time" content="2026-11-03T17:40:12+01:00">
<meta property="article:section" content="Local news">
<meta property="article:tag" content="storms">
<meta property="article:tag" content="harbour">
<meta property="article:tag" content="fishing">
<meta name="author" content="Ines Marlow">
<link rel="canonical" href="{base}/news/2026/11/harbour-reopens">
<script type="application/ld+json">{ld}</script>
"""

LD = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Harbour reopens after the storm",
    "datePublished": "2026-11-02T08:15:00+01:00",
    "dateModified": "2026-11-03T17:40:12+01:00",
    "author": [{"@type": "Person", "name": "Ines Marlow"}],
    "publisher": {"@type": "Organization", "name": "Coastal Media Group"},
    "articleSection": "Local news",
    "keywords": ["storms", "harbour", "fishing"],
    "inLanguage": "en-GB",
}


def test_every_declared_field_lands_in_its_column(site, newsmill):
    head = HEAD.format(base=site.base, ld=json.dumps(LD))
    html = article_html("Harbour reopens after the storm", extra_head=head, lang="en-GB")
    url = site.add("/news/2026/11/harbour-reopens?utm_source=rss&utm_medium=feed", html)
    site.routes["/news/2026/11/harbour-reopens"] = site.routes.pop(
        "/news/2026/11/harbour-reopens?utm_source=rss&utm_medium=feed")

    result = newsmill.crawl(url)

    assert result.returncode == 0, newsmill.explain(result)
    row = newsmill.rows("select * from articles")[0]
    assert row["url"] == site.url("/news/2026/11/harbour-reopens")
    assert row["title"] == "Harbour reopens after the storm"
    assert row["description"] == "Fishing boats return as the harbour wall is repaired."
    assert row["sitename"] == "The Coastal Gazette"
    assert row["publisher"] == "Coastal Media Group"
    assert row["author"] == "Ines Marlow"
    assert row["published"] == "2026-11-02T08:15:00+01:00"
    assert row["modified"] == "2026-11-03T17:40:12+01:00"
    assert row["section"] == "Local news"
    assert json.loads(row["tags"]) == ["storms", "harbour", "fishing"]
    assert row["image"] == site.url("/images/harbour.jpg")
    assert row["language"] == "en"
    assert "Paragraph 5 adds its own detail number 5." in row["text"]
    assert "Copyright Test News" not in row["text"]
    assert row["word_count"] == len(row["text"].split())
    assert len(row["content_hash"]) == 64
    assert row["first_seen"] and row["last_seen"]
    urls = {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from article_urls")}
    # The feed's tracking parameters make no URL of their own (see "One article, one row").
    assert urls == {site.url("/news/2026/11/harbour-reopens"): "canonical"}


def test_full_text_search_finds_the_article(site, newsmill):
    site.add("/a.html", article_html("Volcanic ash grounds flights"))
    site.add("/b.html", article_html("Orchestra plays in the park"))
    newsmill.crawl(site.url("/a.html"), site.url("/b.html"))
    found = newsmill.rows("select articles.title from articles join articles_fts "
                          "on articles.rowid = articles_fts.rowid where articles_fts match 'volcanic'")
    assert [r["title"] for r in found] == ["Volcanic ash grounds flights"]


def test_an_address_is_no_publisher_and_an_empty_date_is_no_date(site, newsmill):
    """`article:publisher` is, by Open Graph's convention, the publisher's Facebook page, and
    a content system without a date writes year 1 or the Unix epoch: neither is stored."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                     "datePublished": "2026-11-02T08:15:00+01:00",
                     "dateModified": "0001-01-01T00:00:00+00:00"})
    addressed = site.add("/news/2026/11/addressed", article_html("Harbour reopens", extra_head=(
        '<meta property="article:publisher" content="https://www.facebook.com/CoastalGazette">'
        f'<script type="application/ld+json">{ld}</script>')))
    named = site.add("/news/2026/11/named", article_html("Ferry returns", extra_head=(
        '<meta property="article:publisher" content="Coastal Media Group">'
        '<meta property="article:modified_time" content="1970-01-01T00:00:00Z">')))
    result = newsmill.crawl(addressed, named)
    assert result.returncode == 0, newsmill.explain(result)
    rows = {r["title"]: r for r in newsmill.rows("select title, publisher, published, modified from articles")}
    assert rows["Harbour reopens"]["publisher"] is None
    assert rows["Harbour reopens"]["published"] == "2026-11-02T08:15:00+01:00"
    assert rows["Harbour reopens"]["modified"] is None
    assert rows["Ferry returns"]["publisher"] == "Coastal Media Group"
    assert rows["Ferry returns"]["modified"] is None


def test_metadata_escaped_as_html_is_stored_as_text(site, newsmill):
    """Content systems write JSON-LD strings HTML-escaped (JSON escapes nothing of the kind)
    and some escape meta tags twice: the store holds "M&A", not "M&amp;A". A value without a
    letter or digit is none."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                     "publisher": {"@type": "Organization", "name": "Derek&#039;s Harbour Blog"},
                     "keywords": ["Plants &amp; Crops", "M&amp;A"]})
    url = site.add("/news/2026/11/escaped", article_html("Harbour deal", extra_head=(
        '<meta property="og:site_name" content="/">'
        '<meta property="article:section" content="M&amp;amp;A Tracker">'
        '<meta property="og:description" content="Pricing &amp;amp; costs.&amp;nbsp;">'
        f'<script type="application/ld+json">{ld}</script>')))
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    row = newsmill.rows("select publisher, section, tags, description, sitename from articles")[0]
    assert row["publisher"] == "Derek's Harbour Blog"
    assert row["sitename"] == "Derek's Harbour Blog"  # a site name of "/" is none
    assert row["section"] == "M&A Tracker"
    assert json.loads(row["tags"]) == ["Plants & Crops", "M&A"]
    assert row["description"] == "Pricing & costs."
