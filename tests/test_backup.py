"""`newsmill backup`, run for real: a copy taken while a crawl writes to the store is whole,
consistent and opens in Datasette; an existing copy is never overwritten by accident; a
missing store or a full disk is a clear error that leaves nothing behind."""

from __future__ import annotations

import re
import resource
import sqlite3
import subprocess
import time

from pipelines.database import ArticleStore
from tests.conftest import FAST, newsmill_command, user_env
from tests.sites import article_html, rss_feed
from tests.test_daemon import finished, news_site, sources_toml
from tests.test_serve import Server

ARTICLES = 40


def slow_feed(site, articles: int = ARTICLES, delay: float = 0.4) -> str:
    """A feed of slow article pages: a crawl of it is seconds long, time to back up mid-run."""
    items = [(f"Backup story {i}", f"/b/story-{i}.html") for i in range(articles)]
    for title, path in items:
        site.add(path, article_html(title), delay=delay)
    return site.add("/b/rss.xml", rss_feed(site, items), "application/rss+xml")


def rows(db_path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def crawled_articles(newsmill) -> int:
    """Articles the one-off crawl (source "adhoc") has stored so far."""
    return rows(newsmill.db_path, "select count(*) from articles where source = 'adhoc'")[0][0]


def test_a_backup_taken_while_a_crawl_and_the_daemon_write_is_whole_and_opens_in_datasette(
        site, newsmill, start_daemon):
    daemon = start_daemon(sources_toml(steady={"urls": [news_site(site, "steady")], "every": "1s"}))
    daemon.wait_for("the daemon's first run", lambda: finished(daemon.runs("steady")))
    crawl = subprocess.Popen(
        newsmill_command("crawl", slow_feed(site), "--db", str(newsmill.db_path), *FAST,
                         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
                         "-s", "NEWSMILL_STORE_FLUSH_SECONDS=0.2"),  # writes all along
        cwd=newsmill.tmp, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    copy = newsmill.tmp / "copy.db"
    try:
        deadline = time.monotonic() + 60
        while crawled_articles(newsmill) < 3:
            assert time.monotonic() < deadline and crawl.poll() is None, "the crawl stored nothing"
            time.sleep(0.1)
        backup = newsmill.run("backup", "--db", str(newsmill.db_path), str(copy))
        still_crawling = crawl.poll() is None
        err = crawl.communicate(timeout=120)[1]
    finally:
        if crawl.poll() is None:
            crawl.kill()
    assert backup.returncode == 0, backup.stderr
    assert crawl.returncode == 0, err[-3000:]
    assert daemon.stop() == 0
    assert still_crawling, "the crawl ended before the backup did: nothing was shown"
    assert re.search(rf"backed up .* to {re.escape(str(copy))}: [\d.]+ MB, \d+ articles, \d+ runs, "
                     r"schema version \d+, in [\d.]+ s", backup.stdout), backup.stdout

    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert rows(copy, "PRAGMA user_version") == rows(newsmill.db_path, "PRAGMA user_version")
    assert not (newsmill.tmp / "copy.db.tmp").exists()
    article = "select url, source, title, text, content_hash from articles"
    copied, complete = rows(copy, article), rows(newsmill.db_path, article)
    assert set(copied) <= set(complete)
    assert all(title and text and content_hash for _, _, title, text, content_hash in copied)
    assert sum(source == "adhoc" for _, source, *_ in complete) == ARTICLES
    assert 0 < sum(source == "adhoc" for _, source, *_ in copied) < ARTICLES, \
        "the copy was not taken mid-crawl"
    assert {source for _, source, *_ in copied} == {"adhoc", "steady"}
    assert ("adhoc", "running") in rows(copy, "select source, status from runs")  # its moment

    server = Server(copy, newsmill.tmp).wait_until_up()
    try:
        served = server.json("/newsmill/articles.json", _shape="array", _size="max")
    finally:
        server.stop()
    assert sorted(a["url"] for a in served) == sorted(url for url, *_ in copied)
    assert all(a["title"] and a["text"] for a in served)


def test_an_existing_copy_is_kept_unless_forced_and_a_directory_gets_a_dated_file(site, newsmill):
    site.add("/a.html", article_html("Kept story"))
    assert newsmill.crawl(site.url("/a.html")).returncode == 0
    dest = newsmill.tmp / "copy.db"
    dest.write_bytes(b"an older backup")

    refused = newsmill.run("backup", "--db", str(newsmill.db_path), str(dest))
    assert refused.returncode != 0 and f"{dest}: already exists" in refused.stderr
    assert dest.read_bytes() == b"an older backup"
    assert not dest.with_name("copy.db.tmp").exists()

    forced = newsmill.run("backup", "--db", str(newsmill.db_path), str(dest), "--force")
    assert forced.returncode == 0, forced.stderr
    assert rows(dest, "select title from articles") == [("Kept story",)]

    folder = newsmill.tmp / "backups"
    folder.mkdir()
    dated = newsmill.run("backup", "--db", str(newsmill.db_path), str(folder))
    assert dated.returncode == 0, dated.stderr
    [made] = folder.iterdir()
    assert re.fullmatch(r"newsmill-\d{8}T\d{6}Z\.db", made.name), made.name
    assert str(made) in dated.stdout
    assert rows(made, "PRAGMA integrity_check") == [("ok",)]


def test_a_missing_store_exits_2_naming_it(newsmill):
    missing = newsmill.tmp / "nothing-here.db"
    result = newsmill.run("backup", "--db", str(missing), str(newsmill.tmp / "copy.db"))
    assert result.returncode == 2
    assert f"{missing}: no such database" in result.stderr
    assert "unexpected error" not in result.stderr
    assert not missing.exists() and not (newsmill.tmp / "copy.db").exists()


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_copy(site, newsmill):
    """A file size limit stands in for a full disk (the copy's writes fail the same way)."""
    for i in range(20):
        site.add(f"/f/{i}.html", article_html(f"Filling story {i}", paragraphs=40))
    assert newsmill.crawl(*(site.url(f"/f/{i}.html") for i in range(20))).returncode == 0
    limit = 64 * 1024
    assert newsmill.db_path.stat().st_size > 2 * limit
    dest = newsmill.tmp / "backups" / "copy.db"
    dest.parent.mkdir()

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(newsmill_command("backup", "--db", str(newsmill.db_path), str(dest)),
                            cwd=newsmill.tmp, env=user_env(), capture_output=True, text=True,
                            timeout=60, preexec_fn=small_files)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"newsmill: {dest}: ") and "nothing was left behind" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(dest.parent.iterdir()) == []  # no copy.db, copy.db.tmp or its journal


def test_a_backup_of_a_store_laid_out_before_has_the_new_layout_and_the_same_rows(newsmill):
    """Stores made before newsmill chose 16 KiB pages and incremental vacuum keep SQLite's
    defaults; their backup is written with the new layout, so restoring it converts them."""
    sqlite3.connect(newsmill.db_path).execute("create table t (x)").connection.close()
    ArticleStore(newsmill.db_path).close()  # migrated to the current schema, old layout
    newsmill.execute("insert into runs (source, started, status) values ('old', '2026-01-01', 'ok')")
    assert rows(newsmill.db_path, "pragma page_size") == [(4096,)]
    dest = newsmill.tmp / "copy.db"
    result = newsmill.run("backup", "--db", str(newsmill.db_path), str(dest))
    assert result.returncode == 0, result.stderr
    assert rows(dest, "pragma page_size") == [(16384,)]
    assert rows(dest, "pragma auto_vacuum") == [(2,)]
    assert rows(dest, "select source, status from runs") == [("old", "ok")]
    assert rows(dest, "pragma integrity_check") == [("ok",)]
