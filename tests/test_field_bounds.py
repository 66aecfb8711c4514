"""Metadata a page writes is bounded and cut cleanly; a site name is only one the site declares."""

from __future__ import annotations

import json

from pipelines.field_bounds import cut
from tests.sites import article_html

HEADLINE = "Harbour ferry returns after repairs to its engine, the operator says "


def ends_between_words(stored: str, original: str) -> bool:
    """`stored` is `original` cut where a word ends, marked with an ellipsis."""
    kept = stored.removesuffix("…")
    return stored.endswith("…") and original.startswith(kept) and not original[len(kept)].isalnum()


def test_a_two_megabyte_title_is_stored_cut_to_its_bound_at_a_word(site, newsmill):
    title = (HEADLINE * (2_000_000 // len(HEADLINE) + 1))[:2_000_000]
    in_title = site.add("/title.html", article_html("Ferry").replace(  # no <h1>: the <title> is read
        "<title>Ferry | Test News</title>", f"<title>{title}</title>").replace("<h1>Ferry</h1>", ""))
    in_og_title = site.add("/og-title.html", article_html("Other ferry", extra_head=(  # no <h1>
        f'<meta property="og:title" content="{title}">')).replace("<h1>Other ferry</h1>", ""))

    result = newsmill.crawl(in_title, in_og_title)

    assert result.returncode == 0, newsmill.explain(result)
    titles = {r["url"]: r["title"] for r in newsmill.rows("select url, title from articles")}
    assert set(titles) == {in_title, in_og_title}
    for url, stored in titles.items():
        assert 400 <= len(stored) <= 500, (url, len(stored))
        assert ends_between_words(stored, title), stored[-40:]
    assert result.stderr.count("cut to their bounds") == 2
    assert "title: 2000000 characters cut to 500" in result.stderr


def test_long_author_description_section_and_tags_are_bounded(site, newsmill):
    # (Not "Reporter ...": after a comma a job title is not another author.)
    authors = ", ".join(f"Maria Number{n}" for n in range(300))
    description = "The ferry that crosses the harbour carried its first passengers again. " * 200
    tags = [f"harbour-topic-{n}" for n in range(120)] + ["tag " * 100]
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry back",
          "author": [{"@type": "Person", "name": a} for a in authors.split(", ")],
          "articleSection": "Local news and " * 50, "keywords": tags[::-1]}
    head = (f'<meta property="og:description" content="{description}">\n'
            f'<meta property="og:image" content="/img/{"x" * 3000}.jpg">\n'
            f'<script type="application/ld+json">{json.dumps(ld)}</script>')
    url = site.add("/long.html", article_html("Ferry back", extra_head=head))

    result = newsmill.crawl(url)

    assert result.returncode == 0, newsmill.explain(result)
    row = newsmill.rows("select author, description, section, tags, image from articles")[0]
    assert len(row["author"]) <= 500 and ends_between_words(row["author"], authors)
    assert len(row["description"]) <= 2000 and ends_between_words(row["description"], description)
    assert len(row["section"]) <= 300 and ends_between_words(row["section"], ld["articleSection"])
    stored_tags = json.loads(row["tags"])
    assert len(stored_tags) == 100 and all(len(t) <= 200 for t in stored_tags)
    assert stored_tags[0] == "tag " * 49 + "tag…"
    assert stored_tags[1:] == [f"harbour-topic-{n}" for n in range(119, 20, -1)]
    assert row["image"] is None  # a cut URL would name nothing
    logged = [line for line in result.stderr.splitlines() if "cut to their bounds" in line]
    assert len(logged) == 1 and all(f"{field}: " in logged[0] for field in
                                    ("author", "description", "section", "tags", "image"))


def test_bounds_are_settings_and_cut_between_characters_where_there_is_no_space(site, newsmill):
    title = "東京都が新しい公共交通計画を発表、通勤時間の短縮めざす"
    url = site.add("/ja.html", article_html("x", lang="ja").replace(
        "<title>x | Test News</title>", f"<title>{title}</title>").replace("<h1>x</h1>", ""))

    result = newsmill.crawl(url, "-s", "EXTRACT_MAX_TITLE_CHARS=12")

    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.rows("select title from articles")[0]["title"] == title[:11] + "…"


def test_cut_keeps_whole_characters_and_words():
    assert cut("Short enough", 12) == "Short enough"
    assert cut("The mayor opened the bridge on Friday", 20) == "The mayor opened…"
    assert cut("Café", 4) == "Café"
    assert cut("Cafe\u0301 de la gare", 5) == "Caf…"  # not "Cafe…" without its accent
    assert cut("Il était une fois l'été", 20) == "Il était une fois…"  # not "fois l…"
    assert cut("Family 👨\u200d👩\u200d👧 day", 12) == "Family…"
    assert cut("東京都は新しい計画", 5) == "東京都は…"
    assert cut("https://example.org/" + "x" * 50, 30) == "https://example.org/xxxxxxxxx…"


def test_site_name_is_only_a_declared_one(site, newsmill):
    pages = {
        "/undeclared.html": ("Harbour news", "", None),
        "/title-with-domain.html": ("Ferry news", "", None),
        "/og.html": ("Bridge news", '<meta property="og:site_name" content="The Coastal Gazette">',
                     "The Coastal Gazette"),
        "/website.html": ("Storm news", '<script type="application/ld+json">' + json.dumps(
            {"@context": "https://schema.org", "@graph": [
                {"@type": "WebSite", "name": "Coast Daily", "url": "https://coast.example/"},
                {"@type": "NewsArticle", "headline": "Storm news"}]}) + "</script>", "Coast Daily"),
        "/application.html": ("Market news", '<meta name="application-name" content="Harbour Radio">',
                              "Harbour Radio"),
    }
    urls = {}
    for path, (title, head, _) in pages.items():
        html = article_html(title, extra_head=head)
        if path == "/title-with-domain.html":  # trafilatura took the part of a title with a dot
            html = html.replace("Ferry news | Test News", "Ferry news | coast-gazette.example")
        urls[site.add(path, html)] = pages[path][2]

    result = newsmill.crawl(*urls)

    assert result.returncode == 0, newsmill.explain(result)
    assert {r["url"]: r["sitename"] for r in newsmill.rows("select url, sitename from articles")} == urls
