"""Run history that stays small: the daemon folds old runs that found nothing into
`runs_daily` (NEWSMILL_KEEP_RUNS), and every count survives. Real crawls, a real daemon, a
real SQLite file; runs are made old by moving their dates back, as a month would."""

from __future__ import annotations

import subprocess

from pipelines.database import ArticleStore
from pipelines.schema import RUN_OUTCOMES
from tests.conftest import FAST, newsmill_command, user_env
from tests.test_daemon import news_site, sources_toml

COUNTED = ("pages", "bytes", *RUN_OUTCOMES)


def totals(newsmill) -> dict[str, dict[str, int]]:
    """Per source: the number of runs and every counter, runs and runs_daily together."""
    rows = newsmill.rows(
        "select source, sum(n) as runs, " + ", ".join(f"sum({c}) as {c}" for c in COUNTED) +
        " from (select source, 1 as n, " + ", ".join(COUNTED) + " from runs union all "
        "select source, runs, " + ", ".join(COUNTED) + " from runs_daily) group by source")
    return {r["source"]: {k: v for k, v in r.items() if k != "source"} for r in rows}


def age_every_run(newsmill, days: int) -> None:
    newsmill.execute(f"update runs set started = datetime(started, '-{days} days') || '+00:00', "
                     f"finished = datetime(finished, '-{days} days') || '+00:00'")


def test_old_runs_that_found_nothing_fold_into_runs_daily_and_every_count_adds_up(
        site, newsmill, start_daemon):
    feed = news_site(site, "news", articles=2)
    broken = site.url("/gone.html")
    sources = sources_toml(news={"urls": [feed], "every": "1h"},
                           broken={"urls": [broken], "every": "1h"})
    (newsmill.tmp / "sources.toml").write_text(sources)
    for _ in range(4):  # the first run stores two articles; the next three find nothing new
        result = newsmill.run("crawl", "--sources", str(newsmill.tmp / "sources.toml"), "--db",
                              str(newsmill.db_path), *FAST)
        assert result.returncode in (0, 1), result.stderr  # 1: the broken source failed
    age_every_run(newsmill, 40)
    recorded = totals(newsmill)
    kept = newsmill.rows("select id from runs where articles_new > 0 or articles_updated > 0 "
                         "or errors > 0 or status != 'ok' or id in "
                         "(select max(id) from runs group by source) order by id")
    last_before = newsmill.rows("select max(id) as id from runs")[0]["id"]

    daemon = start_daemon(sources, "-s", "NEWSMILL_DAEMON_JITTER=0")
    daemon.wait_for("the roll-up", lambda: "folded into runs_daily" in daemon.log)
    daemon.wait_for("the store tidied", lambda: "store tidied" in daemon.log)
    assert daemon.stop() == 0
    # The full-text index, merged, still finds both articles.
    assert newsmill.rows("select count(*) as n from articles_fts where articles_fts match "
                         "'story'")[0]["n"] == 2

    # news: run 1 stored two articles (kept), runs 2 and 3 found nothing (folded), run 4 is
    # its latest (kept); broken: every run failed (kept). The daemon's own runs came after.
    folded = newsmill.rows("select * from runs_daily")
    assert [(r["source"], r["runs"]) for r in folded] == [("news", 2)], folded
    assert folded[0]["articles_unchanged"] == 4 and folded[0]["articles_new"] == 0
    still = {r["id"] for r in newsmill.rows("select id from runs")}
    assert {r["id"] for r in kept} <= still
    # Every count adds up: runs and runs_daily together, less the daemon's own new runs.
    now = totals(newsmill)
    for source, counts in recorded.items():
        new = newsmill.rows("select count(*) as runs, " + ", ".join(
            f"coalesce(sum({c}), 0) as {c}" for c in COUNTED) + " from runs where source = ? "
            "and id > ?", [source, last_before])[0]
        assert {k: now[source][k] - new[k] for k in counts} == counts, source


def test_a_roll_up_while_a_crawl_writes_loses_nothing_and_the_crawl_succeeds(
        site, newsmill, start_daemon):
    # A month of a thousand "nothing new" runs a day, as plain rows of the public table.
    ArticleStore(newsmill.db_path).close()  # an empty store, at the current schema
    newsmill.execute(
        "with recursive n(i) as (select 0 union all select i + 1 from n where i < 29999) "
        "insert into runs (source, started, finished, status, pages, listings, bytes, "
        "articles_new, articles_updated, articles_unchanged, articles_duplicate, "
        "not_articles, errors, aliases) "
        "select 'feed' || (i % 1000), strftime('%Y-%m-%dT%H:%M:%S+00:00', "
        "'now', '-60 days', '+' || (i * 86) || ' seconds'), null, 'ok', 1, 1, 500, "
        "0, 0, 0, 0, 0, 0, 0 from n")
    recorded = newsmill.rows("select count(*) as runs, sum(pages) as pages, sum(bytes) as bytes "
                             "from runs")[0]
    slow = news_site(site, "slow", articles=30, delay=0.2)
    crawl = subprocess.Popen(
        newsmill_command("crawl", slow, "--db", str(newsmill.db_path), "-s",
                         "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "DOWNLOAD_DELAY=0"),
        cwd=newsmill.tmp, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    daemon = start_daemon(sources_toml(other={"urls": [news_site(site, "other")],
                                              "every": "1h"}))
    daemon.wait_for("the roll-up", lambda: "folded into runs_daily" in daemon.log, timeout=120)
    assert crawl.poll() is None  # the crawl was still writing when the roll-up ended
    output = crawl.communicate(timeout=120)[0]
    daemon.wait_for("the store tidied", lambda: "store tidied" in daemon.log, timeout=120)
    assert daemon.stop() == 0
    assert crawl.returncode == 0, output  # it never waited out its busy timeout

    assert newsmill.count("articles") == 30 + 2
    folded = newsmill.rows("select sum(runs) as runs, sum(pages) as pages, sum(bytes) as bytes "
                           "from runs_daily")[0]
    left = newsmill.rows("select count(*) as runs, sum(pages) as pages, sum(bytes) as bytes "
                         "from runs where source like 'feed%'")[0]
    assert left["runs"] == 1000  # each source's latest run stays in full
    assert {k: folded[k] + left[k] for k in folded} == recorded
    assert newsmill.rows("select count(*) as n from runs_daily")[0]["n"] <= 1000 * 31


def test_the_pages_a_roll_up_frees_go_back_to_the_file_system_beyond_a_reserve(newsmill):
    """A new store is laid out for incremental vacuum: after a month of runs is folded,
    the file shrinks, keeping a tenth of itself free for the writes to come."""
    ArticleStore(newsmill.db_path).close()
    newsmill.execute(
        "with recursive n(i) as (select 0 union all select i + 1 from n where i < 59999) "
        "insert into runs (source, started, finished, status, pages, bytes) "
        "select 'feed' || (i % 100), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-60 days', "
        "'+' || (i * 43) || ' seconds'), null, 'ok', 1, 500 from n")
    grown = newsmill.db_path.stat().st_size
    store = ArticleStore(newsmill.db_path)
    try:
        assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert store.roll_up_runs("9999", pause=0) > 59000
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert newsmill.db_path.stat().st_size >= grown  # deleted rows leave free pages
        given = store.give_back_free_pages(pause=0)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free = (store.db.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("page_count", "freelist_count"))
    finally:
        store.close()
    assert given > 0
    assert newsmill.db_path.stat().st_size < grown / 2
    assert free <= pages * 0.10 + 1
    assert newsmill.count("runs_daily") > 0


def test_a_store_laid_out_before_gives_nothing_back_and_still_works(newsmill):
    """A store made with SQLite's defaults (4 KiB pages, no auto_vacuum), as newsmill made
    them before, keeps its layout: the housekeeping step does nothing rather than fail."""
    import sqlite3
    sqlite3.connect(newsmill.db_path).execute("create table t (x)").connection.close()
    store = ArticleStore(newsmill.db_path)
    try:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert store.give_back_free_pages(pause=0) == 0
    finally:
        store.close()
