"""Datasette on a store of realistic shape, scaled to fit the suite (issue 27): 20,000
articles written through `ArticleStore.save_batch` across 1,000 sources, and 200,000 runs.

What must hold at a million articles cannot be timed here (a test must not fail because a
machine is slow); what makes it hold can be checked: no default facet times out by
Datasette's own measure, every default facet is answered from an index alone (SQLite's
query plan says so), the dashboard's charts draw at most 11 series, and the counts the
dashboard reads stay equal to the rows they count. benchmarks/store_scale.py times it all.
"""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_serve import start_server

pytestmark = pytest.mark.xdist_group("store_scale")

ARTICLES, RUNS, SOURCES = 20_000, 200_000, 1000
METADATA = yaml.safe_load((ROOT / "crawler" / "datasette" / "metadata.yml").read_text())
TABLES = METADATA["databases"]["newsmill"]["tables"]
CHARTS = METADATA["plugins"]["datasette-dashboards"]["newsmill"]["charts"]
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "si", "ta")
         for b in ("n", "ra", "to", "mel", "dor", "vik", "sa", "po")]


def build(path) -> None:
    """Runs as rows of `runs` (the history before), then a crawl of every source storing
    articles through save_batch (without near-duplicate keys: facets do not read them, and
    computing them would take most of a minute)."""
    from pipelines.database import ArticleStore

    rng = random.Random(27)
    now = datetime.now(UTC).replace(microsecond=0)
    sources = [f"source-{i:04d}" for i in range(SOURCES)]
    store = ArticleStore(path)
    first = now - timedelta(days=RUNS // SOURCES * 5 / 1440 + 1)
    rows = []
    for n in range(RUNS):
        started = (first + timedelta(minutes=5 * (n // SOURCES))).isoformat(timespec="seconds")
        status = "ok" if n % 97 else rng.choice(["partial", "failed"])
        rows.append((sources[n % SOURCES], started, started, status, int(status != "ok")))
    with store.write():
        store.db.conn.executemany("INSERT INTO runs (source, started, finished, status, errors)"
                                  " VALUES (?, ?, ?, ?, ?)", rows)
        store.db.conn.execute(
            "INSERT INTO errors (run_id, source, url, kind, message, at) SELECT id, source, "
            "'https://' || source || '.example/feed', 'timeout', 'no answer', started FROM runs "
            "WHERE errors > 0")
    run_ids = {s: store.start_run(s) for s in sources}
    for start in range(0, ARTICLES, 500):
        batch = []
        for n in range(start, start + 500):
            text = " ".join(rng.choice(WORDS) for _ in range(60)) + f" word{n}."
            published = now - timedelta(seconds=rng.randrange(364 * 86400))
            batch.append({
                "source": sources[n % SOURCES if n % 3 else n % 7],  # a few sources lead
                "url": f"https://example.com/{n}", "title": f"Story {n}", "text": text,
                "published": published.isoformat(timespec="seconds"),
                "section": rng.choice(["world", "sport", "city"]), "language": "en",
                "tags": rng.sample(WORDS, 2), "content_hash": f"{n:064x}",
                "fetched_at": published.isoformat(timespec="seconds")})
        store.save_batch(batch, [], run_ids)
    for run_id in run_ids.values():
        store.finish_run(run_id, "ok")
    store.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "scale.db"
    build(path)
    return path


@pytest.fixture(scope="module")
def server(store):
    server = start_server(store, store.parent)
    yield server
    server.stop()


def default_facets(table: str) -> list[tuple[str, str]]:
    """(kind, column) of each default facet of a table in metadata.yml."""
    facets = []
    for facet in TABLES[table].get("facets", []):
        kind, column = next(iter(facet.items())) if isinstance(facet, dict) else ("column", facet)
        facets.append((kind, column))
    return facets


@pytest.mark.parametrize("table", ["articles", "runs", "errors"])
def test_default_facets_answer_without_timing_out(server, table):
    """Datasette's own verdict: a facet past facet_time_limit_ms is named in the page's
    "These facets timed out" and missing from the JSON's facet_results."""
    status, html = server.get(f"/newsmill/{table}")
    assert status == 200 and "facets timed out" not in html
    page = server.json(f"/newsmill/{table}.json")
    assert set(page["facet_results"]) == {column for _, column in default_facets(table)}
    assert page["suggested_facets"] == []  # a query per column per view: off (serve.py)


def test_every_default_facet_is_answered_from_an_index_alone(store):
    """What keeps a facet fast at any size: a covering index, never the rows (articles
    carry their text). The SQL is Datasette 0.65's for each kind of facet."""
    conn = sqlite3.connect(store)
    try:
        for table in TABLES:
            columns = ", ".join(r[1] for r in conn.execute(f"pragma table_info({table})"))
            for kind, column in default_facets(table):
                value = {"column": column, "date": f"date({column})"}[kind]
                sql = (f"select {value} as value, count(*) as count from (select {columns} "
                       f"from {table})"
                       f" where {value} is not null group by {value} order by count desc,"
                       " value limit 31")
                plan = " ".join(r[3] for r in conn.execute(f"explain query plan {sql}"))
                assert "COVERING INDEX" in plan, (table, column, plan)
    finally:
        conn.close()


def chart_rows(server, name: str) -> list[dict]:
    sql = CHARTS[name]["query"].replace("[[ and source = :source ]]", "")
    return server.json("/newsmill.json", sql=sql, _shape="array")


@pytest.mark.parametrize("name", ["articles-per-day", "errors-per-source"])
def test_source_charts_draw_the_top_ten_sources_and_others(server, name):
    rows = chart_rows(server, name)
    series = {r["source"] for r in rows}
    assert len(series) <= 11 and "others" in series, series
    assert sum(r["articles" if name == "articles-per-day" else "errors"] for r in rows) == (
        ARTICLES if name == "articles-per-day"
        else server.json("/newsmill.json", sql="select count(*) as n from errors",
                         _shape="array")[0]["n"])


def test_chart_colours_name_no_source_but_the_top_ten(server):
    """Every chart coloured by source is one of the top-ten charts above."""
    for name, chart in CHARTS.items():
        colour = chart.get("display", {}).get("encoding", {}).get("color", {})
        if colour.get("field") == "source":
            assert "others" in chart["query"], name


def test_dashboard_totals_and_source_picker(server):
    status, html = server.get("/-/dashboards/newsmill")
    assert status == 200 and html.count('<option value="source-') == SOURCES
    totals = {name: chart_rows(server, name)[0]["n"]
              for name in ("articles-total", "sources-total", "runs-total")}
    assert totals == {"articles-total": ARTICLES, "sources-total": SOURCES,
                      "runs-total": RUNS + SOURCES}
    picked = server.json("/newsmill.json", _shape="array", source="source-0003", sql=(
        CHARTS["articles-per-day"]["query"].replace("[[", "").replace("]]", "")))
    assert {r["source"] for r in picked} == {"source-0003"}


def test_counts_kept_by_triggers_equal_the_rows_they_count(store, tmp_path):
    """articles_per_day and runs_per_day stay equal to grouping the rows, through inserts,
    updates (a run ending, an article's date corrected), deletes and the roll-up."""
    import shutil

    from pipelines.database import ArticleStore

    path = tmp_path / "copy.db"
    shutil.copy(store, path)
    s = ArticleStore(path)
    try:
        run = s.start_run("source-0001")
        s.finish_run(run, "partial")
        s.db.execute("UPDATE articles SET published = '2020-01-01' WHERE id % 50 = 0")
        s.db.execute("UPDATE articles SET published = NULL WHERE id % 77 = 0")
        s.db.execute("DELETE FROM article_urls WHERE article_id % 91 = 0")
        s.db.execute("DELETE FROM fetch_state WHERE article_id % 91 = 0")
        s.db.execute("DELETE FROM articles WHERE id % 91 = 0")
        s.db.conn.commit()
        cutoff = s.db.execute("SELECT started FROM runs ORDER BY id LIMIT 1 OFFSET 100000"
                              ).fetchone()[0]
        assert s.roll_up_runs(cutoff, pause=0) > 0
        articles = ("SELECT coalesce(date(coalesce(published, first_seen)), "
                    "substr(first_seen, 1, 10)) AS d, source, count(*) FROM articles "
                    "GROUP BY d, source ORDER BY 1, 2")
        assert s.db.execute(articles).fetchall() == s.db.execute(
            "SELECT * FROM articles_per_day ORDER BY 1, 2").fetchall()
        runs = ("SELECT substr(started, 1, 10) AS d, source, status, count(*) FROM runs "
                "GROUP BY d, source, status ORDER BY 1, 2, 3")
        assert s.db.execute(runs).fetchall() == s.db.execute(
            "SELECT * FROM runs_per_day ORDER BY 1, 2, 3").fetchall()
    finally:
        s.close()


def test_last_runs_are_each_sources_latest(store):
    """newsmill status's look-up (an index seek per source) finds what a GROUP BY over
    every run finds."""
    from pipelines.database import ArticleStore

    s = ArticleStore(store)
    try:
        latest = {r[0]: r[1] for r in s.db.execute(
            "SELECT source, max(id) FROM runs GROUP BY source")}
        assert {k: v["id"] for k, v in s.last_runs().items()} == latest
        completed = {r[0]: r[1] for r in s.db.execute(
            "SELECT source, max(id) FROM runs WHERE status NOT IN ('running', 'interrupted') "
            "GROUP BY source")}
        assert {k: v["id"] for k, v in s.last_runs(completed=True).items()} == completed
    finally:
        s.close()


def test_search_and_an_article_page_answer(server):
    found = server.json("/newsmill/articles.json", _search="word12345", _shape="array")
    assert [a["title"] for a in found] == ["Story 12345"]
    status, html = server.get(f"/newsmill/articles/{found[0]['id']}")
    assert status == 200 and "Story 12345" in html


# --- search: a word in most articles, a word in one ----------------------------------------
COMMON = WORDS[0]  # in ~60% of the articles: more than search.MANY_MATCHES


def newest_matches(store, word: str, limit: int, offset: int = 0) -> list[str]:
    """The titles a search should list first: matches, newest published first."""
    conn = sqlite3.connect(store)
    try:
        return [r[0] for r in conn.execute(
            "SELECT title FROM articles WHERE id IN (SELECT rowid FROM articles_fts WHERE "
            "articles_fts MATCH ?) ORDER BY published DESC, id DESC LIMIT ? OFFSET ?",
            (f'"{word}"', limit, offset))]
    finally:
        conn.close()


def page_titles(html: str) -> list[str]:
    return re.findall(r'class="article-link" href="/newsmill/articles/\d+">([^<]*)</a>', html)


def test_search_with_many_matches_lists_the_newest_from_the_published_index(server, store):
    """A word in most articles: the page lists the newest 50 matches and their count, read
    from the published index (the view articles_newest_first), not from every match."""
    from crawler.datasette.search import MANY_MATCHES

    conn = sqlite3.connect(store)
    matches = conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?",
                           (f'"{COMMON}"',)).fetchone()[0]
    plan = " ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM articles_newest_first WHERE id IN (SELECT rowid "
        "FROM articles_fts WHERE articles_fts MATCH 'x') ORDER BY published DESC LIMIT 51"))
    conn.close()
    assert matches > MANY_MATCHES
    assert "USING INDEX idx_articles_published" in plan and "TEMP B-TREE" not in plan, plan

    status, html = server.get(f"/newsmill/articles?_search={COMMON}")
    assert status == 200
    assert "table-articles_newest_first" in html  # answered from the view
    assert f'{matches:,} rows where search matches "{COMMON}"' in unescape(html)
    assert page_titles(html) == newest_matches(store, COMMON, 50)
    assert f'value="{COMMON}"' in html  # the search box keeps the word

    following = urlsplit(unescape(re.search(r'href="([^"]*_next=[^"]*)"', html).group(1)))
    status, html = server.get(f"{following.path}?{following.query}")
    assert status == 200 and page_titles(html) == newest_matches(store, COMMON, 50, offset=50)


def test_search_with_few_matches_or_a_chosen_sort_stays_on_the_articles_table(server, store):
    status, html = server.get("/newsmill/articles?_search=word12345")
    assert status == 200 and "table-articles_newest_first" not in html
    assert page_titles(html) == ["Story 12345"] and "1 row" in html
    assert 'class="facet-info' in html  # the source facet, over one match

    # Searched again from the view's own page (its form carries _nocount): back to articles.
    status, html = server.get("/newsmill/articles_newest_first?_search=word12345&_nocount=1")
    assert status == 200 and "table-articles_newest_first" not in html
    assert "1 row" in html

    status, html = server.get(f"/newsmill/articles?_search={COMMON}&_sort=title")
    assert status == 200 and "table-articles_newest_first" not in html
