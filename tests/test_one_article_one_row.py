"""One article, one row: URL variants, syndicated copies, updates and re-crawls.

Site A (127.0.0.1) serves N articles, each reachable under six URL variants (a feed link
with utm_* parameters, a section-page link with fbclid, a fragment and an upper-case
scheme, `?amp=1`, `?print=1`, an `/amp/` page and a `/print/` page that declare the article
with rel=canonical). Site B (127.0.0.2) republishes each article a day later with its own
boilerplate, a credit line and one edited sentence. Between two crawls, site A updates
three articles and changes only the date line of a fourth.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import FAST, newsmill_command, user_env
from tests.sites import Site, distinct_words, unaccounted_pages

N = 6
UPDATED = (0, 1, 2)
COSMETIC = 3
PARAGRAPHS = 10


def paragraphs(i: int, *, edited: bool = False, updated: bool = False) -> list[str]:
    texts = [f"{distinct_words(f'story {i} paragraph {p}', 18).capitalize()}."
             for p in range(PARAGRAPHS)]
    if edited:  # the syndicator rewrites three words of one sentence
        words = texts[4].split()
        words[5:8] = ["reportedly", "unusually", "promptly"]
        texts[4] = " ".join(words)
    if updated:  # the publisher adds a paragraph and corrects a sentence
        texts[2] = f"Correction: {distinct_words(f'correction {i}', 12)}."
        texts.append(f"Update: {distinct_words(f'update {i}', 20)}.")
    return texts


def page(title: str, texts: list[str], *, canonical: str, published: str, date_line: str,
         boilerplate: str) -> str:
    body = "\n".join(f"<p>{t}</p>" for t in texts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article">
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{published}">
<link rel="canonical" href="{canonical}">
</head><body>
<nav>{boilerplate} <a href="/">Home</a> <a href="/world/">World</a> <a href="/sport/">Sport</a></nav>
<article><h1>{title}</h1>
<p>{date_line}</p>
{body}
</article>
<aside>{boilerplate}: most read, newsletters, podcasts and puzzles.</aside>
<footer>{boilerplate} &copy; all rights reserved</footer>
</body></html>"""


class Newsroom:
    """Site A (originals) and site B (syndicated copies), and the switch between crawls."""

    def __init__(self, original: Site, partner: Site):
        self.a, self.b = original, partner
        self.publish(edition=1)
        self.b.add("/feed.xml", self.feed(self.b, [f"/syndicated/story-{i}/" for i in range(N)]),
                   "application/rss+xml")
        for i in range(N):
            self.b.add(f"/syndicated/story-{i}/", page(
                f"Story {i}", ["This article first appeared in Test News."] + paragraphs(i, edited=True),
                canonical=self.article(i), published=f"2026-11-{10 + i}T12:00:00+00:00",
                date_line="Republished Wed 11 Nov 2026", boilerplate="Partner Daily"),
                etag=True)

    def article(self, i: int) -> str:
        return self.a.url(f"/news/story-{i}.html")

    def publish(self, edition: int) -> None:
        """Edition 1: the first state of site A; edition 2: after the switch."""
        a = self.a
        for i in range(N):
            changed = edition == 2 and i in UPDATED
            title = f"Story {i}" + (" (updated)" if changed and i == 0 else "")
            date_line = ("Updated: Tue 3 Nov 2026, 10:00" if edition == 1 or i not in
                         (*UPDATED, COSMETIC) else "Updated:  Wed 4 Nov 2026,   18:45")
            texts = paragraphs(i, updated=changed)
            for prefix, boilerplate in (("", "Test News"), ("/amp", "Test News AMP"),
                                        ("/print", "Printed from Test News")):
                a.add(f"{prefix}/news/story-{i}.html", page(
                    title, texts, canonical=self.article(i),
                    published=f"2026-11-{9 + i}T08:00:00+00:00", date_line=date_line,
                    boilerplate=boilerplate), etag=True)
        a.add("/rss.xml", self.feed(a, [f"/news/story-{i}.html?utm_source=rss&utm_medium=feed"
                                        for i in range(N)]), "application/rss+xml")
        links = "\n".join(
            f'<li><a href="HTTP://{a.host}:{a.port}/news/story-{i}.html?fbclid=IwAR{i}#comments">'
            f'Story {i}</a> <a href="/news/story-{i}.html?print=1">print</a> '
            f'<a href="/print/news/story-{i}.html">printable</a></li>' for i in range(N))
        a.add("/section/", f"<!DOCTYPE html><html><body><h1>News</h1><ul>{links}</ul></body></html>")
        entries = "".join(
            f"<url><loc>{a.url(f'/amp/news/story-{i}.html')}</loc><lastmod>"
            f"{'2026-11-04T18:45:00+00:00' if edition == 2 and i in UPDATED else '2026-11-03T10:00:00+00:00'}"
            f"</lastmod></url><url><loc>{a.url(f'/news/story-{i}.html?amp=1')}</loc></url>"
            for i in range(N))
        a.add("/sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
              f'"http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
              "application/xml")

    @staticmethod
    def feed(site: Site, paths: list[str]) -> str:
        items = "".join(f"<item><title>Story {n}</title><link>{site.url(p)}</link>"
                        f"<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate></item>"
                        for n, p in enumerate(paths))
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                f"<link>{site.base}/</link>{items}</channel></rss>")

    def sources(self, *names: str) -> str:
        entries = {
            "original": f'urls = ["{self.a.url("/rss.xml")}", "{self.a.url("/sitemap.xml")}", '
                        f'"{self.a.url("/section/")}"]\nfollow = ["/news/", "/amp/", "/print/"]',
            "partner": f'urls = ["{self.b.url("/feed.xml")}"]',
        }
        return "\n".join(f'[[sources]]\nname = "{n}"\n{entries[n]}\n' for n in names)

    def article_paths(self, stories) -> set[str]:
        return {f"{prefix}/news/story-{i}.html" for i in stories for prefix in ("", "/amp", "/print")}


@pytest.fixture
def newsroom(make_site):
    return Newsroom(make_site("127.0.0.1"), make_site("127.0.0.2"))


def table_counts(newsmill) -> dict:
    return {
        "articles": newsmill.count("articles"),
        "canonical": newsmill.count("article_urls", "kind = 'canonical'"),
        "alias": newsmill.count("article_urls", "kind = 'alias'"),
        "duplicate": newsmill.count("article_urls", "kind = 'duplicate'"),
        "near_duplicate": newsmill.count("article_urls", "kind = 'near_duplicate'"),
        "article_versions": newsmill.count("article_versions"),
        "fetch_state": newsmill.count("fetch_state"),
        "near_duplicate_keys": newsmill.count("near_duplicate_keys"),
        "errors": newsmill.count("errors"),
    }


AFTER_FIRST = {"articles": N, "canonical": N, "alias": 2 * N, "duplicate": 0,
               "near_duplicate": N, "article_versions": 0, "fetch_state": 4 * N,
               "near_duplicate_keys": 14 * N, "errors": 0}
AFTER_SECOND = {**AFTER_FIRST, "article_versions": len(UPDATED)}


def run_counts(newsmill, source: str) -> list[tuple]:
    rows = newsmill.rows("select * from runs where source = ? order by id", [source])
    # The article's AMP and print pages count as aliases, not as more articles.
    assert unaccounted_pages(rows) == []
    return [(r["articles_new"], r["articles_updated"], r["articles_unchanged"],
             r["articles_duplicate"]) for r in rows]


def test_each_article_is_one_row_with_every_url_and_version(newsroom, newsmill):
    sources = newsroom.sources("original", "partner")

    first = newsmill.crawl(sources=sources)

    assert first.returncode == 0, first.stderr
    assert table_counts(newsmill) == AFTER_FIRST
    for i in range(N):
        urls = {r["url"]: (r["kind"], r["similarity"]) for r in newsmill.rows(
            "select u.url, u.kind, u.similarity from article_urls u join articles a "
            "on a.id = u.article_id where a.url = ?", [newsroom.article(i)])}
        assert {u: k for u, (k, _) in urls.items()} == {
            newsroom.article(i): "canonical",
            newsroom.a.url(f"/amp/news/story-{i}.html"): "alias",
            newsroom.a.url(f"/print/news/story-{i}.html"): "alias",
            newsroom.b.url(f"/syndicated/story-{i}/"): "near_duplicate",
        }
        assert 0.8 <= urls[newsroom.b.url(f"/syndicated/story-{i}/")][1] < 1.0
    # Which run meets an article first decides whether it counts it new or a duplicate.
    first_runs = [*run_counts(newsmill, "original"), *run_counts(newsmill, "partner")]
    assert [sum(column) for column in zip(*first_runs)] == [N, 0, 0, N]

    newsroom.publish(edition=2)
    newsroom.a.served.clear()
    newsroom.b.served.clear()
    second = newsmill.crawl(sources=sources)

    assert second.returncode == 0, second.stderr
    assert table_counts(newsmill) == AFTER_SECOND
    assert run_counts(newsmill, "original")[1] == (0, len(UPDATED), N - len(UPDATED), 0)
    assert run_counts(newsmill, "partner")[1] == (0, 0, 0, N)
    versions = newsmill.rows("select a.url, v.version, v.title, v.text, a.version as now, "
                             "a.title as title_now from article_versions v join articles a "
                             "on a.id = v.article_id order by a.url")
    assert [(v["url"], v["version"], v["now"]) for v in versions] == [
        (newsroom.article(i), 1, 2) for i in UPDATED]
    assert versions[0]["title"] == "Story 0" and versions[0]["title_now"] == "Story 0 (updated)"
    assert all("Correction:" not in v["text"] for v in versions)
    assert newsmill.count("articles", "text like '%Correction:%'") == len(UPDATED)
    # Unchanged articles were not downloaded again: no body of theirs, on either site.
    unchanged = newsroom.article_paths(i for i in range(N) if i not in (*UPDATED, COSMETIC))
    assert newsroom.a.bodies_served(unchanged) == []
    assert newsroom.b.bodies_served() == [p for p, s, _ in newsroom.b.served
                                          if p == "/feed.xml" and s == 200]


def crawl_at_once(newsmill, *source_files: str) -> list[subprocess.CompletedProcess]:
    """Start `newsmill crawl` processes on the same database at the same time."""
    procs = []
    for n, text in enumerate(source_files):
        path = newsmill.tmp / f"sources-{n}.toml"
        path.write_text(text)
        procs.append(subprocess.Popen(
            newsmill_command("crawl", "--sources", str(path), "--db", str(newsmill.db_path), *FAST),
            cwd=newsmill.tmp, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_concurrent_crawls_of_overlapping_sources_leave_the_same_rows(newsroom, newsmill):
    both, original = newsroom.sources("original", "partner"), newsroom.sources("original")

    for result in crawl_at_once(newsmill, both, original):
        assert result.returncode == 0, result.stderr
    assert table_counts(newsmill) == AFTER_FIRST
    assert newsmill.count("article_urls", "kind = 'canonical' and url like ?",
                          [newsroom.a.base + "/news/%"]) == N

    newsroom.publish(edition=2)
    for result in crawl_at_once(newsmill, both, original):
        assert result.returncode == 0, result.stderr
    assert table_counts(newsmill) == AFTER_SECOND
    assert newsmill.count("runs") == 6


def test_a_copy_crawled_before_its_original_becomes_the_originals_copy(newsroom, newsmill):
    assert newsmill.crawl(sources=newsroom.sources("partner")).returncode == 0
    assert newsmill.count("article_urls", "kind = 'canonical' and url like ?",
                          [newsroom.b.base + "%"]) == N

    assert newsmill.crawl(sources=newsroom.sources("original")).returncode == 0

    assert table_counts(newsmill) == AFTER_FIRST
    kinds = {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from article_urls")}
    assert all(kinds[newsroom.article(i)] == "canonical" for i in range(N))
    assert all(kinds[newsroom.b.url(f"/syndicated/story-{i}/")] == "near_duplicate"
               for i in range(N))
    assert {r["url"] for r in newsmill.rows("select url from articles")} == \
        {newsroom.article(i) for i in range(N)}
