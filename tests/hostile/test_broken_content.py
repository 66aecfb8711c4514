"""Broken content: wrong charsets, bad bytes, malformed XML, non-HTML: an error or a skip, never a crash."""

import os

import pytest

from tests.sites import article_html, unaccounted_pages

RUSSIAN = ("Москва стала местом проведения большой международной конференции, на которой учёные "
           "обсудили будущее городского транспорта и новые способы сократить пробки.")
JAPANESE = ("東京都は新しい公共交通計画を発表し、市民の通勤時間を短縮するために多くの路線で"
            "運行本数を増やすと説明しました。専門家はこの計画を前向きに評価しています。")
FRENCH = "Le café du marché a rouvert ses portes après l'été, à la grande joie des habitués du quartier."


def _page(title, sentence):
    return article_html(title, words=sentence).replace('<meta charset="utf-8">', "")


def text_of(newsmill, title):
    return newsmill.rows("select text from articles where title = ?", [title])[0]["text"]


@pytest.mark.parametrize("title, text, codec, content_type", [
    ("Новости", RUSSIAN, "cp1251", "text/html"),  # undeclared cp1251
    ("ニュース", JAPANESE, "shift_jis", "text/html"),  # undeclared Shift_JIS
    ("Nouvelles", FRENCH, "latin-1", "text/html; charset=utf-8"),  # latin-1 declared as UTF-8
], ids=["undeclared-cp1251", "undeclared-shift-jis", "latin1-declared-utf8"])
def test_page_in_an_undeclared_or_misdeclared_charset_is_stored_right(site, newsmill, title, text, codec,
                                                                      content_type):
    url = site.add(f"/{codec}.html", _page(title, text).encode(codec), content_type)
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    assert text in text_of(newsmill, title)


def test_declared_charset_is_respected(site, newsmill):
    html = article_html("Объявлено", words=RUSSIAN).replace('<meta charset="utf-8">', '<meta charset="windows-1251">')
    url = site.add("/declared.html", html.encode("cp1251"), "text/html")
    newsmill.crawl(url)
    assert RUSSIAN in text_of(newsmill, "Объявлено")


def test_invalid_utf8_bytes_do_not_stop_the_page(site, newsmill):
    body = article_html("Mostly fine", words="A sentence with plain words and one broken byte here "
                        "to show the page still reads well enough for its readers.").encode()
    body = body.replace(b"broken byte", b"broken \xff\xfe byte")
    url = site.add("/bad-bytes.html", body, "text/html; charset=utf-8")
    result = newsmill.crawl(url)
    assert result.returncode == 0, newsmill.explain(result)
    assert "one broken" in text_of(newsmill, "Mostly fine")


def test_malformed_feed_and_sitemap_are_parse_errors(site, newsmill):
    feed = site.add("/broken-feed.xml", b"<?xml version='1.0'?><rss><channel><item><link>", "application/rss+xml")
    sitemap = site.add("/broken-sitemap.xml", b"<?xml version='1.0'?><urlset><url><loc>", "application/xml")
    result = newsmill.crawl(feed, sitemap)
    assert result.returncode == 1
    errors = {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from errors")}
    assert errors == {feed: "parse", sitemap: "parse"}
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []


def test_html_without_a_body_is_not_an_article(site, newsmill):
    url = site.add("/empty.html", "<html><head><title>Nothing</title></head></html>")
    result = newsmill.crawl("--kind", "article", url)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 0
    assert newsmill.rows("select not_articles from runs")[0]["not_articles"] == 1


def test_binary_served_as_html_is_skipped_without_a_crash(site, newsmill):
    url = site.add("/noise.html", os.urandom(200_000), "text/html")
    good = site.add("/good.html", article_html("Survivor"))
    result = newsmill.crawl("--kind", "article", url, good)
    assert result.returncode in (0, 1), newsmill.explain(result)
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Survivor"]
    assert "Traceback" not in result.stderr
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []


def test_pdf_and_image_are_content_type_errors(site, newsmill):
    pdf = site.add("/doc.pdf", b"%PDF-1.7\n" + os.urandom(1000), "application/pdf")
    png = site.add("/pic.png", b"\x89PNG\r\n\x1a\n" + os.urandom(1000), "image/png")
    result = newsmill.crawl("--kind", "article", pdf, png)
    assert result.returncode == 1
    errors = {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from errors")}
    assert errors == {pdf: "content_type", png: "content_type"}
    assert unaccounted_pages(newsmill.rows("select * from runs")) == []
