"""Process and disk faults: a crawl killed, stopped, out of disk, locked out or read-only.

Whatever happens, the database passes `PRAGMA integrity_check`, every article committed
before the fault is still there, the run says how it ended, and stderr says what happened
and what to do.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from pipelines.database import ArticleStore
from tests.conftest import FAST, Newsmill, newsmill_command, user_env
from tests.sites import Site, article_html, rss_feed

# One article per transaction, one request at a time: a crawl that commits a few articles
# a second, so that a fault lands between commits, and in the middle of one.
SLOW = ["-s", "NEWSMILL_STORE_BATCH=1", "-s", "NEWSMILL_STORE_FLUSH_SECONDS=0.2",
        "-s", "CONCURRENT_REQUESTS=1", "-s", "EXTRACT_WORKERS=1"]
ARTICLES = 40


def slow_feed(site: Site, delay: float = 0.25, paragraphs: int = 6) -> str:
    """A feed of ARTICLES articles, each served after `delay` seconds."""
    paths = [f"/slow/{i}.html" for i in range(ARTICLES)]
    for i, path in enumerate(paths):
        site.add(path, article_html(f"Story {i}", paragraphs=paragraphs), delay=delay)
    return site.add("/slow.xml", rss_feed(site, [(p, p) for p in paths]), "application/rss+xml")


def start_crawl(newsmill: Newsmill, *args: str) -> subprocess.Popen:
    """`newsmill crawl` started in the background, in its own process group.

    Its output goes to files: a pipe would stay open as long as any process of the
    group lives, and a full one would block the crawl.
    """
    cmd = newsmill_command("crawl", *FAST, *SLOW, *args, "--db", str(newsmill.db_path))
    crawl = subprocess.Popen(cmd, cwd=newsmill.tmp, env=user_env(),
                             stdout=(newsmill.tmp / "stdout").open("w"),
                             stderr=(newsmill.tmp / "stderr").open("w"), start_new_session=True)
    crawl.stderr_path = newsmill.tmp / "stderr"
    return crawl


def committed_urls(db_path: Path) -> set[str]:
    """The articles a reader sees: exactly those committed so far."""
    if not db_path.exists():
        return set()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return {url for (url,) in conn.execute("select url from articles")}
    except sqlite3.OperationalError:  # the schema is not there yet
        return set()
    finally:
        conn.close()


def wait_for_articles(db_path: Path, crawl: subprocess.Popen, at_least: int) -> set[str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        urls = committed_urls(db_path)
        if len(urls) >= at_least:
            return urls
        if crawl.poll() is not None:
            raise AssertionError(f"the crawl ended early: {stderr_of(crawl)[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} articles committed in 120 s")


def stderr_of(crawl: subprocess.Popen) -> str:
    return crawl.stderr_path.read_text()


def finish(crawl: subprocess.Popen, timeout: float = 90) -> str:
    """Wait for the crawl to end; returns its stderr. Anything left of it is killed."""
    try:
        crawl.wait(timeout=timeout)
    finally:
        try:
            os.killpg(crawl.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return stderr_of(crawl)


def processes_in_group(pgid: int) -> list[str]:
    ps = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(pgid)], capture_output=True, text=True)
    return ps.stdout.splitlines()


def integrity(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_kill_9_at_a_random_moment_loses_nothing_committed(site, newsmill):
    feed = slow_feed(site)
    crawl = start_crawl(newsmill, feed)
    seed = random.randrange(1_000_000)
    try:
        wait_for_articles(newsmill.db_path, crawl, at_least=3)
        time.sleep(random.Random(seed).uniform(0, 0.5))  # anywhere: between commits or in one
        before = committed_urls(newsmill.db_path)
        crawl.kill()
        crawl.wait()
    finally:
        finish(crawl)
    assert integrity(newsmill.db_path) == "ok", f"seed {seed}"
    assert before <= committed_urls(newsmill.db_path), f"seed {seed}"
    assert [r["status"] for r in newsmill.rows("select status from runs")] == ["running"]


def test_kill_9_leaves_no_extraction_worker_behind(site, newsmill):
    crawl = start_crawl(newsmill, "-s", "EXTRACT_WORKERS=2", slow_feed(site))
    try:
        wait_for_articles(newsmill.db_path, crawl, at_least=1)
        crawl.kill()
        crawl.wait()
        deadline = time.monotonic() + 30
        while processes_in_group(crawl.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_in_group(crawl.pid) == []
    finally:
        finish(crawl)


def test_the_next_crawl_marks_a_killed_crawls_run_interrupted(site, newsmill):
    feed = slow_feed(site)
    crawl = start_crawl(newsmill, feed)
    try:
        wait_for_articles(newsmill.db_path, crawl, at_least=2)
        crawl.kill()
        crawl.wait()
    finally:
        finish(crawl)
    killed = newsmill.rows("select id, pid from runs")[0]

    result = newsmill.crawl(site.url("/slow/0.html"), "--kind", "article")
    assert result.returncode == 0, newsmill.explain(result)
    runs = newsmill.rows("select id, status, finished from runs order by id")
    assert runs[0] == {"id": killed["id"], "status": "interrupted", "finished": None}
    assert runs[1]["status"] == "ok"
    assert (f"run {killed['id']} of source 'adhoc' (pid {killed['pid']}) ended without finishing"
            in result.stderr)


def test_runs_of_live_processes_and_other_hosts_are_left_running(newsmill):
    store = ArticleStore(newsmill.db_path)
    live = store.start_run("live", pid=os.getpid())
    elsewhere = store.start_run("elsewhere", pid=2 ** 22 + 1)  # no such pid here...
    store.db["runs"].update(elsewhere, {"host": "another-machine"})  # ...and not this host
    unknown = store.start_run("unknown")  # no pid recorded
    dead = store.start_run("dead", pid=2 ** 22 + 1)
    assert [r["id"] for r in store.mark_orphaned_runs()] == [dead]
    statuses = {r["id"]: r["status"] for r in store.db.query("select id, status from runs")}
    store.close()
    assert statuses == {live: "running", elsewhere: "running", unknown: "running",
                        dead: "interrupted"}


def test_sigterm_stops_the_crawl_gracefully_and_marks_the_run_interrupted(site, newsmill):
    feed = slow_feed(site)
    crawl = start_crawl(newsmill, feed)
    try:
        wait_for_articles(newsmill.db_path, crawl, at_least=3)
        before = committed_urls(newsmill.db_path)
        crawl.send_signal(signal.SIGTERM)
        stderr = finish(crawl)
    finally:
        finish(crawl)
    assert crawl.returncode == 1, stderr[-3000:]
    assert integrity(newsmill.db_path) == "ok"
    after = committed_urls(newsmill.db_path)
    assert before <= after and len(after) < ARTICLES
    run = newsmill.rows("select * from runs")[0]
    assert run["status"] == "interrupted" and run["finished"]
    assert run["articles_new"] == len(after)  # the counters were brought up to date
    assert last_line(stderr) == (
        f"newsmill: the crawl was stopped before it finished (a signal, or Ctrl-C): "
        f"{len(after)} new or updated articles were stored; run it again to go on")


def test_ctrl_c_stops_the_crawl_gracefully_and_its_workers_finish_their_pages(site, newsmill):
    """Ctrl-C in a terminal signals the whole process group, extraction workers included:
    they leave stopping to the crawl, so no page they hold is lost and no traceback is
    printed."""
    feed = slow_feed(site, delay=0.1)
    crawl = start_crawl(newsmill, feed)
    try:
        wait_for_articles(newsmill.db_path, crawl, at_least=3)
        os.killpg(crawl.pid, signal.SIGINT)
        crawl.wait(timeout=60)
        stderr = stderr_of(crawl)
    finally:
        finish(crawl)
    assert crawl.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    assert newsmill.rows("select * from errors where kind = 'extraction'") == []
    run = newsmill.rows("select * from runs")[0]
    assert run["status"] == "interrupted"
    assert run["articles_new"] == len(committed_urls(newsmill.db_path)) >= 3


def test_a_full_disk_stops_the_crawl_with_what_was_stored_and_what_to_do(site, newsmill):
    ArticleStore(newsmill.db_path).close()  # the empty store: its size is the baseline
    conn = sqlite3.connect(newsmill.db_path)
    empty_pages = conn.execute("pragma page_count").fetchone()[0]
    conn.close()
    feed = slow_feed(site, paragraphs=40)  # ~8 KB of text an article
    crawl = start_crawl(newsmill, "-s", f"NEWSMILL_DB_MAX_PAGES={empty_pages + 30}", feed)
    stderr = finish(crawl)
    assert crawl.returncode == 1, stderr[-3000:]
    assert integrity(newsmill.db_path) == "ok"
    stored = newsmill.count("articles")
    assert 0 < stored < ARTICLES
    assert last_line(stderr) == (
        f"newsmill: {newsmill.db_path}: the disk is full (or NEWSMILL_DB_MAX_PAGES reached): "
        f"{stored} new or updated articles were stored before; free space (or raise "
        "NEWSMILL_DB_MAX_PAGES) and run again")
    run = newsmill.rows("select * from runs")[0]
    assert (run["status"], run["articles_new"]) == ("failed", stored)
    fetched = sum(site.fetched(f"/slow/{i}.html") for i in range(ARTICLES))
    assert fetched < ARTICLES, (stored, fetched)  # it stopped; it did not crawl on


def hold_write_lock(db_path: Path) -> sqlite3.Connection:
    """What another writer (the daemon, a long crawl) does: hold the write lock."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    conn.execute("begin immediate")
    return conn


def test_a_database_locked_by_another_writer_stops_a_crawl_before_it_starts(site, newsmill):
    ArticleStore(newsmill.db_path).close()
    lock = hold_write_lock(newsmill.db_path)
    try:
        result = newsmill.crawl("-s", "NEWSMILL_DB_BUSY_TIMEOUT=1", site.url("/a.html"))
    finally:
        lock.close()
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"newsmill: {newsmill.db_path}: the database is locked: another process kept writing to "
        "it for longer than NEWSMILL_DB_BUSY_TIMEOUT (1 s); wait for the other writer (another "
        "crawl or the daemon) or stop it, and run again")
    assert site.fetched("/a.html") == 0
    assert newsmill.count("runs") == 0


def test_a_database_locked_mid_crawl_stops_it_keeping_what_was_committed(site, newsmill):
    feed = slow_feed(site)
    crawl = start_crawl(newsmill, "-s", "NEWSMILL_DB_BUSY_TIMEOUT=1", feed)
    lock = None
    try:
        wait_for_articles(newsmill.db_path, crawl, at_least=3)
        lock = hold_write_lock(newsmill.db_path)
        stored = len(committed_urls(newsmill.db_path))  # nothing commits past the lock
        stderr = finish(crawl)
    finally:
        if lock is not None:
            lock.close()
        finish(crawl)
    assert crawl.returncode == 1, stderr[-3000:]
    assert last_line(stderr) == (
        f"newsmill: {newsmill.db_path}: the database is locked: another process kept writing to "
        f"it for longer than NEWSMILL_DB_BUSY_TIMEOUT (1 s): {stored} new or updated articles "
        "were stored before; wait for the other writer (another crawl or the daemon) or stop "
        "it, and run again")
    assert integrity(newsmill.db_path) == "ok"
    assert newsmill.count("articles") == stored
    # The lock kept the run from being marked failed; the next open marks it interrupted.
    assert newsmill.rows("select status from runs")[0]["status"] == "running"
    store = ArticleStore(newsmill.db_path)
    store.mark_orphaned_runs()
    store.close()
    assert newsmill.rows("select status from runs")[0]["status"] == "interrupted"


def make_immutable(path: Path) -> bool:
    """`chattr +i`: read-only even for root (chmod is not); False where it cannot be done."""
    if not shutil.which("chattr"):
        return False
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


def test_a_read_only_database_is_refused_before_the_crawl_starts(site, newsmill):
    site.add("/a.html", article_html("Kept safe"))
    first = newsmill.crawl(site.url("/a.html"))
    assert first.returncode == 0, newsmill.explain(first)
    if os.geteuid() != 0:
        newsmill.db_path.chmod(0o444)
    elif not make_immutable(newsmill.db_path):
        pytest.skip("running as root on a filesystem without `chattr +i`: no way to make a "
                    "file read-only for root here")
    try:
        result = newsmill.crawl(site.url("/a.html"))
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(newsmill.db_path)], check=True)
        else:
            newsmill.db_path.chmod(0o644)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"newsmill: {newsmill.db_path}: the database is read-only; make the file, its -wal and "
        "-shm files and its directory writable by this user, and run again")
    assert integrity(newsmill.db_path) == "ok"
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Kept safe"]
    assert newsmill.count("runs") == 1  # nothing started


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_a_database_path_that_cannot_be_created_is_a_usage_error(newsmill, where):
    blocker = newsmill.tmp / "blocker"
    if where == "a directory":
        blocker.mkdir()
        newsmill.db_path = blocker
    else:
        blocker.write_text("not a directory")
        newsmill.db_path = blocker / "newsmill.db"
    result = newsmill.crawl("http://127.0.0.1:9/a.html")
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith(f"newsmill: {newsmill.db_path}: cannot ")
    assert len(message.splitlines()) == 1 and "Traceback" not in message


def test_a_store_created_while_another_process_holds_a_lock_waits_for_it(tmp_path):
    """Two crawls creating one store at once: SQLite refuses the switch to WAL at once while
    the other holds a lock (no busy timeout there); the store waits for it instead."""
    import threading

    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("create table t (x)")
    other.execute("begin immediate")  # what the first process does while it migrates
    threading.Timer(0.5, lambda: other.execute("commit")).start()
    started = time.monotonic()
    store = ArticleStore(path, busy_timeout=10)
    assert time.monotonic() - started >= 0.4  # it waited its turn
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    other.close()
