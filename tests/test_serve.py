"""`newsmill serve`: Datasette on a store filled by a real crawl of local pages.

One crawled store and one server are shared by the module (crawling and starting
Datasette take seconds); tests only read from them. Tests that need their own store or
server make it themselves.
"""

from __future__ import annotations

import html
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from markupsafe import escape

from tests.conftest import ROOT, Newsmill, newsmill_command, user_env
from tests.sites import Site, article_html

# The module's fixtures crawl one store and start one server: its tests share an xdist worker.
pytestmark = pytest.mark.xdist_group("serve")

ARTIFACTS = ROOT / "tests" / "artifacts"
# The README's two screenshots, taken here so that they show what newsmill shows today.
DOCS_IMAGES = ROOT / "docs" / "images"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

ALPHA_HEAD = ('<meta property="article:section" content="World">'
              '<meta name="keywords" content="climate, energy">'
              '<meta property="og:image" content="http://127.0.0.1:9/images/lead.jpg">')
# A word only the text of "Alpha story 1" contains, to find it by full-text search.
SEARCH_WORD = "marmalade"


def dated_feed(site: Site, items: list[tuple[str, str, str]]) -> str:
    """An RSS feed whose items have their own publication dates (RFC 822)."""
    entries = "\n".join(
        f"<item><title>{title}</title><link>{site.url(path)}</link><pubDate>{date}</pubDate>"
        "</item>" for title, path, date in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Test feed</title><link>{site.base}/</link>{entries}</channel></rss>")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`newsmill serve` in a subprocess on a free loopback port, as a user starts it."""

    def __init__(self, db_path: Path, cwd: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                newsmill_command("serve", "--db", str(db_path), "--port", str(self.port)),
                cwd=cwd, env=user_env(), stdout=log, stderr=subprocess.STDOUT)

    def wait_until_up(self, seconds: float = 60) -> Server:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"newsmill serve exited: {self.log.read_text()}")
            try:
                urllib.request.urlopen(self.base + "/-/versions.json", timeout=5).read()
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"newsmill serve did not answer in {seconds}s: "
                             f"{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def json(self, path: str, **params):
        query = urllib.parse.urlencode(params)
        status, body = self.get(f"{path}?{query}" if query else path)
        assert status == 200, body[:2000]
        return json.loads(body)

    def rows(self, query_name: str, **params) -> list[dict]:
        """A canned query's rows."""
        return self.json(f"/newsmill/{query_name}.json", _shape="array", **params)


def start_server(db_path: Path, cwd: Path) -> Server:
    server = Server(db_path, cwd)
    try:
        return server.wait_until_up()
    except BaseException:
        server.stop()
        raise


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """A store filled by two real crawls of three local sources, under an unusual file name.

    alpha: three articles on three days (sections, tags, image), one corrected before the
    second crawl; beta: one article and one dead link (partial run); broken: a missing
    feed (failed run). Then, as the dedup stage and time would: two copies of an alpha
    article recorded in article_urls, and beta's article backdated ten days.
    """
    tmp = tmp_path_factory.mktemp("served")
    site = Site().start()
    try:
        alpha = [(f"Alpha story {i}", f"/alpha/story-{i}.html", f"0{i + 1} Nov 2026")
                 for i in range(3)]
        for title, path, _ in alpha:
            words = (f"A report about {title.lower()} and a jar of {SEARCH_WORD} found in the "
                     "old town hall, with enough plain words to be taken as an article."
                     if title == "Alpha story 1" else None)
            site.add(path, article_html(title, extra_head=ALPHA_HEAD, words=words))
        site.add("/alpha/rss.xml", dated_feed(site, [
            (t, p, f"Mon, {d} 10:00:00 +0000") for t, p, d in alpha]), "application/rss+xml")
        site.add("/beta/zeppelin.html", article_html("Beta zeppelin report", lang="de"))
        site.add("/beta/rss.xml", dated_feed(site, [
            ("Beta zeppelin report", "/beta/zeppelin.html", "Mon, 02 Nov 2026 12:00:00 +0000"),
            ("Beta gone", "/beta/gone.html", "Mon, 02 Nov 2026 13:00:00 +0000"),
        ]), "application/rss+xml")
        newsmill = Newsmill(tmp)
        newsmill.db_path = tmp / "crawled-store.db"  # served as `newsmill` all the same
        sources = "".join(f'[[sources]]\nname = "{name}"\nurls = ["{site.url(path)}"]\n'
                          for name, path in [("alpha", "/alpha/rss.xml"),
                                             ("beta", "/beta/rss.xml"),
                                             ("broken", "/broken/rss.xml")])
        first = newsmill.crawl(sources=sources)
        assert first.returncode == 1, first.stderr  # beta partial, broken failed
        site.add("/alpha/story-0.html", article_html(
            "Alpha story 0 (corrected)", extra_head=ALPHA_HEAD,
            words="A corrected report about alpha story 0 with enough plain words to be taken "
                  "as the main text of a real news article by the extractor."))
        second = newsmill.crawl("--source", "alpha", sources=sources)
        assert second.returncode == 0, second.stderr
    finally:
        site.stop()

    db = newsmill.db
    story_1 = db.execute("select id from articles where title = 'Alpha story 1'").fetchone()[0]
    now = datetime.now(UTC)
    db["article_urls"].insert_all([
        {"url": "http://127.0.0.1:9/mirror/story-1.html", "article_id": story_1,
         "source": "beta", "kind": "duplicate", "similarity": 1.0,
         "first_seen": now.isoformat(timespec="seconds")},
        {"url": "http://127.0.0.1:9/syndicated/story-1.html", "article_id": story_1,
         "source": "beta", "kind": "near_duplicate", "similarity": 0.93,
         "first_seen": now.isoformat(timespec="seconds")},
    ])
    ten_days_ago = (now - timedelta(days=10)).isoformat(timespec="seconds")
    db["articles"].update(
        db.execute("select id from articles where source = 'beta'").fetchone()[0],
        {"first_seen": ten_days_ago})
    db.close()
    return newsmill


@pytest.fixture(scope="module")
def server(crawled):
    server = start_server(crawled.db_path, crawled.tmp)
    yield server
    server.stop()


def article_id(crawled: Newsmill, title: str) -> int:
    return crawled.rows("select id from articles where title = ?", [title])[0]["id"]


# --- the database and its metadata ---------------------------------------------------------
def test_store_is_served_as_newsmill_whatever_its_file_is_called(server):
    databases = server.json("/-/databases.json")
    assert [d["name"] for d in databases] == ["newsmill"]
    assert databases[0]["path"].endswith("crawled-store.db")


def test_metadata_describes_every_table_and_column_of_the_store(server, crawled):
    metadata = server.json("/-/metadata.json")
    assert metadata["title"] == "newsmill" and metadata["description_html"]
    described = metadata["databases"]["newsmill"]["tables"]
    db = crawled.db
    tables = [t for t in db.table_names() if not t.startswith("articles_fts_")]
    missing = [f"{t}.{c}" for t in tables for c in db[t].columns_dict
               if c not in described.get(t, {}).get("columns", {})]
    db.close()
    assert "articles_fts" in tables
    assert all(described[t].get("description") for t in tables)
    assert missing == [], "describe these in crawler/datasette/metadata.yml"


def test_articles_table_lists_newest_published_first(server):
    titles = [r["title"] for r in server.json("/newsmill/articles.json", _shape="array",
                                                _col="title")]
    assert titles == ["Alpha story 2", "Beta zeppelin report", "Alpha story 1",
                      "Alpha story 0 (corrected)"]


def test_search_finds_the_article_with_a_word_of_its_text(server):
    found = server.json("/newsmill/articles.json", _search=SEARCH_WORD, _shape="array")
    assert [a["title"] for a in found] == ["Alpha story 1"]
    assert SEARCH_WORD in found[0]["text"]


def test_articles_table_offers_a_source_facet_and_the_others_when_asked(server):
    """The default facet is the one an index answers at a million articles (section,
    language, tags and day read every row: tests/test_store_scale.py); the others are
    asked for."""
    facets = server.json("/newsmill/articles.json")["facet_results"]

    def counts(name):
        return {r["value"]: r["count"] for r in facets[name]["results"]}

    assert set(facets) == {"source"}
    assert counts("source") == {"alpha": 3, "beta": 1}
    facets = server.json("/newsmill/articles.json?_facet=section&_facet=language"
                         "&_facet_array=tags&_facet_date=published")["facet_results"]
    assert facets["published"]["type"] == "date"
    assert counts("published") == {"2026-11-01": 1, "2026-11-02": 2, "2026-11-03": 1}
    assert counts("section") == {"World": 3}
    assert counts("language") == {"en": 3, "de": 1}
    assert facets["tags"]["type"] == "array" and counts("tags") == {"climate": 3, "energy": 3}


def test_table_view_shortens_text_asked_for_and_links_urls_and_images(server):
    status, html = server.get("/newsmill/articles?source=beta&_col=text&_col=url")
    assert status == 200
    text_cell = html.split('<td class="col-text type-str">')[1].split("</td>")[0]
    assert text_cell.endswith("\u2026") and len(text_cell) < 400
    assert '<a href="http://127.0.0.1:9/images/lead.jpg">' in server.get("/newsmill/articles")[1]
    url_cell = html.split('<td class="col-url type-str">')[1].split("</td>")[0]
    assert url_cell.startswith('<a href="http://127.0.0.1:') and "/beta/zeppelin.html" in url_cell


# --- canned queries ------------------------------------------------------------------------
def test_at_least_six_canned_queries_are_listed(server):
    names = [q["name"] for q in server.json("/newsmill.json")["queries"]]
    assert len(names) >= 6
    assert {"latest_articles", "articles_per_source_per_day", "problem_runs",
            "errors_by_kind_and_host", "duplicate_groups", "article_history",
            "quiet_sources", "latest_feed"} <= set(names)


def test_latest_articles_are_newest_first_for_all_sources_or_one(server):
    assert [r["title"] for r in server.rows("latest_articles")] == [
        "Alpha story 2", "Beta zeppelin report", "Alpha story 1", "Alpha story 0 (corrected)"]
    assert [r["title"] for r in server.rows("latest_articles", source="beta")] == [
        "Beta zeppelin report"]


def test_articles_per_source_per_day_counts_by_publication_day(server):
    assert server.rows("articles_per_source_per_day") == [
        {"day": "2026-11-03", "source": "alpha", "articles": 1},
        {"day": "2026-11-02", "source": "alpha", "articles": 1},
        {"day": "2026-11-02", "source": "beta", "articles": 1},
        {"day": "2026-11-01", "source": "alpha", "articles": 1},
    ]


def test_problem_runs_show_failed_and_partial_runs_with_their_errors(server):
    rows = server.rows("problem_runs")
    found = {(r["source"], r["status"], r["error_kind"], r["error_url"].rsplit("/", 2)[-2:][-1],
              r["error_message"]) for r in rows}
    assert found == {("broken", "failed", "http", "rss.xml", "HTTP 404"),
                     ("beta", "partial", "http", "gone.html", "HTTP 404")}


def test_errors_are_counted_by_kind_and_host(server, crawled):
    host = crawled.rows("select url from errors limit 1")[0]["url"].split("/")[2]
    assert [(r["kind"], r["host"], r["errors"]) for r in server.rows("errors_by_kind_and_host")] \
        == [("http", host, 2)]


def test_duplicate_groups_list_copies_under_the_article_kept(server):
    rows = server.rows("duplicate_groups")
    assert [(r["title"], r["copies"], r["kind"], r["copy_url"], r["similarity"])
            for r in rows] == [
        ("Alpha story 1", 2, "duplicate", "http://127.0.0.1:9/mirror/story-1.html", 1.0),
        ("Alpha story 1", 2, "near_duplicate", "http://127.0.0.1:9/syndicated/story-1.html",
         0.93),
    ]


def test_article_history_shows_current_and_earlier_versions(server, crawled):
    corrected = article_id(crawled, "Alpha story 0 (corrected)")
    rows = server.rows("article_history", article_id=corrected)
    assert [(r["state"], r["version"], r["title"]) for r in rows] == [
        ("current", 2, "Alpha story 0 (corrected)"), ("earlier", 1, "Alpha story 0")]
    # The body text without its headline (the newsmill engine stores that in title only).
    assert rows[0]["text_start"].startswith("A corrected report about alpha story 0")


def test_quiet_sources_are_those_with_no_new_article_in_n_days(server):
    by_default = server.rows("quiet_sources")  # 7 days
    assert [(r["source"], r["articles"]) for r in by_default] == [("broken", 0), ("beta", 1)]
    assert by_default[0]["last_run_status"] == "failed"
    assert 9.9 < by_default[1]["days_quiet"] < 10.1
    assert [r["source"] for r in server.rows("quiet_sources", days="30")] == ["broken"]


def test_atom_feed_lists_latest_articles_for_feed_readers(server):
    status, body = server.get("/newsmill/latest_feed.atom")
    assert status == 200
    feed = feedparser.parse(body)
    assert feed.feed.title == "newsmill latest articles"
    assert sorted(e.title for e in feed.entries) == [
        "Alpha story 0 (corrected)", "Alpha story 1", "Alpha story 2", "Beta zeppelin report"]
    assert all(e.link.startswith("http://127.0.0.1:") for e in feed.entries)


def test_atom_feed_of_a_store_with_no_article_yet_is_an_empty_feed(tmp_path):
    from pipelines.database import ArticleStore

    ArticleStore(tmp_path / "fresh.db").close()  # what `newsmill crawl` creates first
    server = start_server(tmp_path / "fresh.db", tmp_path)
    try:
        status, body = server.get("/newsmill/latest_feed.atom")
    finally:
        server.stop()
    assert status == 200, body[:500]
    feed = feedparser.parse(body)
    assert not feed.bozo and feed.feed.title == "newsmill latest articles"
    assert feed.entries == []


# --- read-only, and the command itself ----------------------------------------------------
def test_served_store_refuses_writes(server, crawled):
    status, body = server.get("/newsmill.json?" + urllib.parse.urlencode(
        {"sql": "delete from articles"}))
    assert status == 400 and "Statement must be a SELECT" in body
    request = urllib.request.Request(server.base + "/newsmill/articles/-/insert",
                                     data=b'{"row": {"url": "x"}}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)
    assert crawled.count("articles") == 4


def test_dashboard_page_is_served_with_its_charts(server):
    status, html = server.get("/-/dashboards/newsmill")
    assert status == 200
    for chart in ("articles-per-day", "run-durations", "run-outcomes", "error-kinds"):
        assert f'id="chart-{chart}"' in html


def test_serve_refuses_a_file_that_is_not_there(newsmill):
    result = newsmill.run("serve", "--db", "nothing-here.db")
    assert result.returncode == 2
    assert "nothing-here.db: no such database" in result.stderr


def test_serve_warns_when_bound_beyond_loopback(newsmill):
    # The missing database stops it before it binds: nothing is opened to the network.
    result = newsmill.run("serve", "--db", "nothing-here.db", "--host", "0.0.0.0")
    assert "no authentication" in result.stderr


def test_serve_shows_articles_a_crawl_adds_while_it_runs(site, newsmill):
    site.add("/a.html", article_html("First story"))
    assert newsmill.crawl(site.url("/a.html"), "--kind", "article").returncode == 0
    server = start_server(newsmill.db_path, newsmill.tmp)
    try:
        assert [r["title"] for r in server.rows("latest_articles")] == ["First story"]
        site.add("/b.html", article_html("Second story"))
        assert newsmill.crawl(site.url("/b.html"), "--kind", "article").returncode == 0
        assert {r["title"] for r in server.rows("latest_articles")} == {
            "First story", "Second story"}
    finally:
        server.stop()


# --- reading: the articles table and the article page ------------------------------------
# Newsroom-like titles for a store big enough to fill a screen: (source, section, title).
READING_ARTICLES = [
    ("harbour", "City", "Council approves the new harbour bridge after a decade of delays"),
    ("harbour", "City", "Night buses return to the old town from the first of the month"),
    ("harbour", "Business", "Fishing cooperative reports its best season since records began"),
    ("harbour", "Business", "Shipyard orders two ferries as passenger numbers keep growing"),
    ("harbour", "Culture", "Lighthouse museum reopens with a gallery of storm photographs"),
    ("harbour", "Sport", "Rowing club wins the regatta on the last stroke of the race"),
    ("harbour", "Weather", "Storm warning for the coast as winds reach gale force tonight"),
    ("valley", "Politics", "Regional parliament debates a tax on holiday homes in the valley"),
    ("valley", "Science", "Glacier lost a tenth of its ice in one summer, survey finds"),
    ("valley", "Science", "Wolves seen again in the upper valley for the first time in a century"),
    ("valley", "Health", "Mountain hospital opens a clinic for winter sports injuries"),
    ("valley", "Culture", "Village choir records the folk songs of the high pastures"),
]
CHANGED_TITLE = READING_ARTICLES[0][2]
# The sentence the second crawl finds added to CHANGED_TITLE's article.
CORRECTION = "Correction: the bridge will open to cyclists in March, not in May."
# Text and a title that are markup when read as HTML; they must show as text.
HOSTILE_TITLE = 'Headline with <b>bold</b> and <script>alert("title")</script>'
HOSTILE_WORDS = ('A reader wrote <script>alert("text")</script> and <em>emphasis</em> with '
                 "<a href=\"javascript:alert(1)\">a link</a> in the comment quoted here.")
HOSTILE_ADDED = '<img src=x onerror="alert(\'diff\')"> was added later.'


def reading_page(title: str, section: str, words: str | None = None, added: str = "") -> str:
    tags = ", ".join(title.lower().split()[1:3])
    head = (f'<meta property="article:section" content="{section}">'
            f'<meta name="keywords" content="{html.escape(tags)}">'
            f'<meta name="author" content="Jo Reporter">'
            f'<meta property="og:image" content="http://127.0.0.1:9/images/{len(title)}.jpg">'
            f'<meta name="description" content="What happened: {html.escape(title.lower())}.">')
    page = article_html(html.escape(title), extra_head=head, words=words)
    return page.replace("</article>", f"<p>{html.escape(added)}</p></article>") if added \
        else page


@pytest.fixture(scope="module")
def reading(tmp_path_factory):
    """A store of two real crawls of two sources, 13 articles; between the crawls one
    article had a sentence added and the one whose text and title hold markup had a
    line added; a third source republished one article word for word."""
    tmp = tmp_path_factory.mktemp("reading")
    site = Site().start()
    try:
        feeds: dict[str, list] = {"harbour": [], "valley": [], "mirror": []}
        for day, (source, section, title) in enumerate(READING_ARTICLES):
            path = f"/{source}/{day}.html"
            site.add(path, reading_page(title, section))
            feeds[source].append((title, path, f"{day + 1:02d} Nov 2026"))
        site.add("/valley/hostile.html",
                 reading_page(HOSTILE_TITLE, "Letters", words=html.escape(HOSTILE_WORDS)))
        feeds["valley"].append((html.escape(HOSTILE_TITLE), "/valley/hostile.html",
                                "20 Nov 2026"))
        _, section, title = READING_ARTICLES[4]
        site.add("/mirror/copy.html", reading_page(title, section))
        feeds["mirror"].append((title, "/mirror/copy.html", "30 Nov 2026"))
        for source, items in feeds.items():
            site.add(f"/{source}/rss.xml", dated_feed(site, [
                (t, p, f"Mon, {d} 10:00:00 +0000") for t, p, d in items]),
                "application/rss+xml")
        newsmill = Newsmill(tmp)
        sources = "".join(f'[[sources]]\nname = "{name}"\nurls = ["{site.url(f"/{name}/rss.xml")}"]\n'
                          for name in feeds)
        first = newsmill.crawl(sources=sources)
        assert first.returncode == 0, newsmill.explain(first)
        site.add("/harbour/0.html", reading_page(CHANGED_TITLE, "City", added=CORRECTION))
        site.add("/valley/hostile.html", reading_page(
            HOSTILE_TITLE, "Letters", words=html.escape(HOSTILE_WORDS), added=HOSTILE_ADDED))
        second = newsmill.crawl(sources=sources)
        assert second.returncode == 0, newsmill.explain(second)
    finally:
        site.stop()
    return newsmill


@pytest.fixture(scope="module")
def reading_server(reading):
    server = start_server(reading.db_path, reading.tmp)
    yield server
    server.stop()


def test_reading_store_has_the_changed_articles_and_the_copy(reading):
    assert reading.count("articles") == len(READING_ARTICLES) + 1
    assert [r["title"] for r in reading.rows(
        "select title from articles where version = 2 order by title")] == [
        CHANGED_TITLE, HOSTILE_TITLE]
    assert reading.count("article_urls", "kind = 'duplicate'") == 1


def reading_id(reading: Newsmill, title: str) -> int:
    return reading.rows("select id from articles where title = ?", [title])[0]["id"]


def columns_shown(html: str) -> list[str]:
    head = html.split('<table class="rows-and-columns">')[1].split("</thead>")[0]
    return re.findall(r'<th [^>]*data-column="([^"]+)"', head)


def test_articles_table_shows_titles_first_then_source_published_and_words(reading_server):
    status, page = reading_server.get("/newsmill/articles")
    assert status == 200
    shown = columns_shown(page)
    assert shown[:4] == ["title", "source", "published", "word_count"]
    assert "text" not in shown and "content_hash" not in shown
    assert {"url", "image", "description", "tags", "id"} <= set(shown)


def test_articles_table_links_each_title_to_its_article_page(reading_server, reading):
    article = reading_id(reading, CHANGED_TITLE)
    page = reading_server.get("/newsmill/articles")[1]
    assert (f'<a class="article-link" href="/newsmill/articles/{article}">{CHANGED_TITLE}</a>'
            in page)
    hostile = reading_id(reading, HOSTILE_TITLE)
    assert (f'<a class="article-link" href="/newsmill/articles/{hostile}">'
            f"{escape(HOSTILE_TITLE)}</a>") in page


def test_articles_table_keeps_text_and_hash_in_json_csv_and_on_request(reading_server):
    rows = reading_server.json("/newsmill/articles.json", _shape="array", _size="1")
    assert rows[0]["text"] and rows[0]["content_hash"]
    status, csv = reading_server.get("/newsmill/articles.csv?_size=1")
    assert status == 200 and {"text", "content_hash"} <= set(csv.splitlines()[0].split(","))
    page = reading_server.get("/newsmill/articles?_col=title&_col=text")[1]
    assert columns_shown(page) == ["id", "title", "text"]
    assert page.count('<td class="col-text type-str">') == len(READING_ARTICLES) + 1


def test_articles_table_folds_its_column_descriptions(reading_server):
    page = reading_server.get("/newsmill/articles")[1]
    folded = page.split('<details class="column-descriptions">')[1].split("</details>")[0]
    assert "<summary>What each column holds" in folded
    assert "<dt>content_hash</dt><dd>Fingerprint of the text" in folded
    assert 'data-column-description="Headline' in page  # the column menu still has them


def test_article_page_shows_the_article_its_urls_and_its_copies(reading_server, reading):
    source, section, title = READING_ARTICLES[4]
    article = reading.rows("select * from articles where title = ? and source = ?",
                           [title, source])[0]
    status, page = reading_server.get(f"/newsmill/articles/{article['id']}")
    assert status == 200
    assert f"{title}</h1>" in page and "By Jo Reporter" in page
    assert article["published"] in page and f"<dd>{section}</dd>" in page
    assert all(f'<span class="tag">{tag}</span>' in page for tag in json.loads(article["tags"]))
    assert f'<a href="{article["image"]}">' in page
    assert f'<p class="description">What happened: {title.lower()}.</p>' in page
    text = page.split('<div class="text">')[1].split("</div>")[0]
    lines = article["text"].split("\n")
    assert re.findall(r"<p>(.*?)</p>", text) == (lines[1:] if lines[0] == title else lines)
    assert f"<p>{title}</p>" not in text  # the headline is the page's title, not a paragraph
    seen = page.split('<section class="seen-under">')[1].split("</section>")[0]
    assert f'<a href="{article["url"]}">' in seen and "<td>canonical</td>" in seen
    copies = page.split('<section class="copies">')[1].split("</section>")[0]
    assert "/mirror/copy.html</a></td><td>duplicate</td><td>1.0</td><td>mirror</td>" in copies
    fields = page.split('<details class="all-fields">')[1].split("</details>")[0]
    assert f"<dt>content_hash</dt><dd>{article['content_hash']}</dd>" in fields


def test_article_page_shows_versions_newest_first_each_diffed_against_the_one_before(
        reading_server, reading):
    status, page = reading_server.get(f"/newsmill/articles/{reading_id(reading, CHANGED_TITLE)}")
    assert status == 200
    versions = page.split('<section class="versions">')[1].split("</section>")[0]
    assert re.findall(r"<h3>Version (\d)", versions) == ["2", "1"]
    diff = versions.split('<div class="diff text-diff">')[1].split("</div>")[0]
    assert re.findall(r"<ins>(.*?)</ins>", diff) == [CORRECTION]
    assert "<del>" not in diff and "unchanged words …" in diff
    assert "The first version seen." in versions.split('id="version-1"')[1]


def test_article_page_shows_markup_in_a_text_and_title_as_text(reading_server, reading):
    status, page = reading_server.get(f"/newsmill/articles/{reading_id(reading, HOSTILE_TITLE)}")
    assert status == 200
    for markup in ("<script>alert", "<b>bold", "<em>emphasis", "<img src=x",
                   'href="javascript:'):
        assert markup not in page
    assert f"{escape(HOSTILE_TITLE)}</h1>" in page
    assert str(escape(HOSTILE_WORDS)) in page
    diff = page.split('<div class="diff text-diff">')[1].split("</div>")[0]
    assert f"<ins>{escape(HOSTILE_ADDED)}</ins>" in diff


def test_word_diff_marks_inserted_and_removed_words_and_escapes_each():
    from crawler.datasette.article import word_diff

    assert word_diff("The mayor said no.\nRain fell.", "The mayor said <b>yes</b>.\nRain fell.") \
        == "The mayor said <del>no.</del> <ins>&lt;b&gt;yes&lt;/b&gt;.</ins>\nRain fell."
    assert word_diff("one two three", "one three four") \
        == "one <del>two</del> three <ins>four</ins> "


def test_word_diff_folds_long_unchanged_stretches_around_a_change():
    from crawler.datasette.article import word_diff

    words = [f"w{i}" for i in range(200)]
    diff = word_diff(" ".join(words), " ".join(words[:100] + ["new"] + words[100:]), context=5)
    assert diff == ("<span class=\"diff-fold\">… 95 unchanged words …</span>\n"
                    "w95 w96 w97 w98 w99 <ins>new</ins> w100 w101 w102 w103 w104 "
                    "<span class=\"diff-fold\">… 95 unchanged words …</span>")


def test_word_diff_context_reaches_to_the_paragraph_the_change_is_in():
    from crawler.datasette.article import word_diff

    old = "\n".join(f"Paragraph {p} says {' '.join(['more'] * 6)}." for p in range(9))
    new = old.replace("Paragraph 4 says", "Paragraph 4 now says")
    assert word_diff(old, new, context=4) == (
        '<span class="diff-fold">… 36 unchanged words …</span>\n'
        "Paragraph 4 <ins>now</ins> says more more more more more more.\n"
        '<span class="diff-fold">… 36 unchanged words …</span>')


# --- in a browser ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


def test_browser_search_facet_and_dashboard(server, browser):
    page = browser.new_page()
    page.goto(server.base + "/newsmill/articles")
    assert page.locator("table.rows-and-columns tbody tr").count() == 4
    page.screenshot(path=ARTIFACTS / "articles.png", full_page=True)

    page.fill("input#_search", SEARCH_WORD)
    page.press("input#_search", "Enter")
    page.wait_for_url(f"**_search={SEARCH_WORD}**")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() == 1 and "Alpha story 1" in rows.first.inner_text()
    page.screenshot(path=ARTIFACTS / "search.png", full_page=True)

    page.goto(server.base + "/newsmill/articles")
    page.locator(".facet-info[data-column=source] a", has_text="beta").first.click()
    page.wait_for_url("**source=beta**")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() == 1 and "Beta zeppelin report" in rows.first.inner_text()
    page.screenshot(path=ARTIFACTS / "facet.png", full_page=True)

    page.goto(server.base + "/-/dashboards/newsmill")
    for chart in ("articles-per-day", "run-durations", "run-outcomes", "error-kinds"):
        drawing = page.locator(f"#chart-{chart} canvas, #chart-{chart} svg.marks").first
        drawing.wait_for(state="visible", timeout=30_000)
        box = drawing.bounding_box()
        assert box["width"] > 100 and box["height"] > 50, (chart, box)
    assert page.locator("#chart-articles-total").inner_text().strip().endswith("4")
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 1300})  # the totals and three charts
    page.screenshot(path=DOCS_IMAGES / "dashboard.png")
    page.close()


def test_browser_articles_first_screen_and_an_article_page_with_its_diff(reading_server,
                                                                         reading, browser):
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(reading_server.base + "/newsmill/articles")
    assert not page.locator("details.column-descriptions dl").is_visible()
    titles = page.locator("table.rows-and-columns tbody td.col-title a.article-link")
    on_first_screen = [t for t in titles.all()
                       if t.is_visible() and t.bounding_box()["y"]
                       + t.bounding_box()["height"] <= 800]
    page.screenshot(path=ARTIFACTS / "articles-first-screen.png")
    assert len(on_first_screen) >= 10, len(on_first_screen)
    page.locator("details.column-descriptions summary").click()
    assert page.locator("details.column-descriptions dl").is_visible()

    titles.filter(has_text=CHANGED_TITLE).click()
    page.wait_for_url(f"**/newsmill/articles/{reading_id(reading, CHANGED_TITLE)}")
    assert page.locator("article h1").inner_text() == CHANGED_TITLE
    assert page.locator(".article .text p").last.inner_text() == CORRECTION
    assert [re.match(r"Version \d+", v).group() for v in
            page.locator(".versions .version h3").all_inner_texts()] == ["Version 2", "Version 1"]
    inserted = page.locator(".versions .text-diff ins")
    assert inserted.all_inner_texts() == [CORRECTION]
    assert inserted.first.is_visible()
    page.screenshot(path=ARTIFACTS / "article.png", full_page=True)
    page.screenshot(path=DOCS_IMAGES / "article.png")

    page.goto(reading_server.base + f"/newsmill/articles/{reading_id(reading, HOSTILE_TITLE)}")
    assert page.locator("article h1").inner_text() == HOSTILE_TITLE
    assert HOSTILE_WORDS in page.locator(".article .text").inner_text()
    assert page.locator(".versions .text-diff ins").all_inner_texts() == [HOSTILE_ADDED]
    assert page.locator("article script, article img, .versions img, article em").count() == 0
    page.screenshot(path=ARTIFACTS / "article-markup.png", full_page=True)
    assert dialogs == []
    page.close()
