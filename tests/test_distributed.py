"""Crawling on several machines: `newsmill daemon --redis`, `newsmill worker`s and `newsmill
store`, each the installed command, with a real redis-server, sites on 127.0.0.1 and one
SQLite file. (The machines are processes of this one; what crosses between them is Redis.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import FAST, newsmill_command, user_env
from tests.redis_server import free_port, redis_server_or_skip
from tests.sites import article_html
from tests.test_daemon import Daemon, news_site, sources_toml

# Short heartbeats and visibility timeout: a dead worker's task is taken over in seconds.
REDIS_FAST = ["-s", "NEWSMILL_REDIS_HEARTBEAT=0.5", "-s", "NEWSMILL_REDIS_VISIBILITY=3"]


@pytest.fixture
def redis_server(tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir()
    server = redis_server_or_skip(directory)
    yield server
    server.stop()


class Worker:
    """A `newsmill worker` process (its own session: killed with its extraction workers)."""

    def __init__(self, tmp: Path, url: str, *args: str, name: str = "worker"):
        self.log_path = tmp / f"{name}-{time.monotonic_ns()}.log"
        cmd = newsmill_command("worker", "--redis", url, "--extract-workers", "1", *FAST,
                               *REDIS_FAST, *args)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(cmd, cwd=tmp, stdout=log, stderr=log, env=user_env(),
                                            start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """kill -9 of the worker and everything it started: a machine gone."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as systemd stops it; its exit status (killed past `timeout`: -9)."""
        return stop_process(self.process, timeout)


def stop_process(process: subprocess.Popen, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -9


def wait_for_workers(redis_server, count: int, timeout: float = 60) -> None:
    """Until `count` workers have sent a heartbeat (a bound, not a speed requirement)."""
    client = redis_server.client()
    deadline = time.monotonic() + timeout
    while client.scard("newsmill:workers") < count:
        assert time.monotonic() < deadline, f"fewer than {count} workers started"
        time.sleep(0.1)


def stop_daemon(daemon: Daemon, timeout: float = 60) -> int:
    return stop_process(daemon.process, timeout)


def test_workers_crawl_queued_sources_into_the_daemons_store(site, newsmill, redis_server):
    feeds = {f"news{i}": news_site(site, f"news{i}", articles=2) for i in range(3)}
    sources = sources_toml(**{name: {"urls": [url], "every": "3s", "recheck_for": "1s"}
                              for name, url in feeds.items()})
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url, "--max-parallel", "4")
    worker = Worker(newsmill.tmp, redis_server.url, "--crawls", "2")
    try:
        # Every source crawled twice: the second time, its articles are known (the writer
        # answers the worker's look-ups), and each is past its recheck_for: not fetched.
        daemon.wait_for("two runs of every source", lambda: all(
            len(daemon.runs(name, "status = 'ok'")) >= 2 for name in feeds), timeout=90)
        status = subprocess.run(newsmill_command("status", "--db", str(newsmill.db_path),
                                                 "--redis", redis_server.url, "--json"),
                                cwd=newsmill.tmp, env=user_env(), capture_output=True,
                                text=True, timeout=60)
        text = subprocess.run(newsmill_command("status", "--db", str(newsmill.db_path),
                                               "--redis", redis_server.url),
                              cwd=newsmill.tmp, env=user_env(), capture_output=True, text=True,
                              timeout=60)
    finally:
        exits = worker.stop(), stop_daemon(daemon)
    assert exits == (0, 0), worker.log + daemon.log
    articles = newsmill.rows("select url, source from articles order by url")
    assert len(articles) == 6 and len({a["url"] for a in articles}) == 6
    for name in feeds:
        for i in range(2):
            assert site.fetched(f"/{name}/story-{i}.html") == 1, (name, i)
    runs = newsmill.rows("select * from runs where status != 'running' order by id")
    assert runs and all(r["task"] and r["pid"] == worker.pid for r in runs)
    assert all(r["host"] == socket.gethostname() for r in runs)
    assert newsmill.count("runs", "status = 'running'") == 0
    first = {r["source"]: r for r in reversed(runs)}  # each source's first run
    assert all(r["articles_new"] == 2 for r in first.values())
    report = json.loads(status.stdout)
    assert report["redis"]["reachable"] is True
    assert [w["pid"] for w in report["redis"]["workers"]] == [worker.pid]
    assert {"waiting", "taken"} <= set(report["redis"]["queue"])
    assert f"pid {worker.pid}" in text.stdout and "workers: 1" in text.stdout, text.stdout


def test_results_wait_for_the_writer_and_are_stored_once_however_often_sent(
        site, newsmill, redis_server):
    """With the daemon not writing (--no-store), results wait in Redis until `newsmill
    store` runs; sent twice, they are stored once; a second writer stands by while the
    first holds the store."""
    feed = news_site(site, "late", articles=3)
    sources = sources_toml(late={"urls": [feed], "every": "1h"})
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url, "--no-store")
    worker = Worker(newsmill.tmp, redis_server.url)
    client = redis_server.client()
    writer = standby = None
    try:
        daemon.wait_for("the crawl's results in Redis", lambda: any(
            json.loads(fields["m"])["kind"] == "close"
            for _id, fields in client.xrange("newsmill:results")), timeout=60)
        assert newsmill.count("articles") == 0  # nobody has written them yet
        # Every result delivered twice (as after a writer that died before acknowledging):
        # still one run, and each article stored once.
        for _id, fields in client.xrange("newsmill:results"):
            client.xadd("newsmill:results", fields)
        cmd = newsmill_command("store", "--redis", redis_server.url, "--db", str(newsmill.db_path))
        writer = subprocess.Popen(cmd, cwd=newsmill.tmp, env=user_env(), text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        daemon.wait_for("the run written", lambda: daemon.runs("late", "status = 'ok'"))
        standby_path = newsmill.tmp / "standby.log"
        with open(standby_path, "w") as log:
            standby = subprocess.Popen(cmd, cwd=newsmill.tmp, env=user_env(), stdout=log,
                                       stderr=log)
        # Until it says so (a fixed 3 s was too short for a loaded machine: the SIGTERM came
        # before its handler was set, and the standby died without a word).
        daemon.wait_for("the second writer standing by",
                        lambda: "standing by" in standby_path.read_text(), timeout=60)
        standby.send_signal(signal.SIGTERM)
        standby.wait(timeout=30)
        standby_log = standby_path.read_text()
        writer.send_signal(signal.SIGTERM)
        writer_log = writer.communicate(timeout=30)[0]
    finally:
        for process in (writer, standby):
            if process is not None:
                stop_process(process)
        exits = worker.stop(), stop_daemon(daemon)
    assert exits == (0, 0), worker.log + daemon.log
    assert writer.returncode == 0, writer_log
    assert "standing by" in standby_log, standby_log
    assert newsmill.count("articles") == 3
    assert client.xlen("newsmill:results") == 0  # written, acknowledged, deleted
    [run] = newsmill.rows("select * from runs")
    assert run["status"] == "ok" and run["articles_new"] == 3
    # ... and counted once in its run: the feed and three articles, nothing again
    assert (run["pages"], run["listings"], run["articles_unchanged"]) == (4, 1, 0), run


def test_the_worker_keeps_the_ssrf_guard_and_size_limits(make_site, newsmill, redis_server):
    home, inside = make_site(), make_site("127.0.0.2")
    inside.add("/admin.html", article_html("Internal only"))
    home.add("/ok.html", article_html("Public story"))
    home.add("/huge.html", article_html("Huge story", paragraphs=400))
    feed = home.add("/feed.xml", (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f'<item><link>{home.url("/ok.html")}</link></item>'
        f'<item><link>{home.url("/huge.html")}</link></item>'
        f'<item><link>{inside.url("/admin.html")}</link></item></channel></rss>'),
        "application/rss+xml")
    sources = sources_toml(s={"urls": [feed], "hosts": ["127.0.0.2"], "every": "1h"})
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url,
                    "-s", "DOWNLOAD_MAXSIZE=60000", "-s", "DOWNLOAD_WARNSIZE=0")
    worker = Worker(newsmill.tmp, redis_server.url)
    try:
        daemon.wait_for("the run", lambda: daemon.runs("s", "status != 'running'"))
    finally:
        exits = worker.stop(), stop_daemon(daemon)
    assert exits == (0, 0), worker.log + daemon.log
    assert inside.requests == []
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Public story"]
    errors = {r["url"]: r["kind"] for r in newsmill.rows("select url, kind from errors")}
    assert errors == {inside.url("/admin.html"): "blocked", home.url("/huge.html"): "too_large"}


def test_three_workers_a_killed_worker_and_a_redis_restart_lose_and_double_nothing(
        site, newsmill, redis_server):
    """The issue's own scenario: one daemon, three workers, 100 sources on 127.0.0.1; a
    worker is killed (kill -9, with its extraction process) mid-crawl, and redis-server is
    restarted while the others crawl. Every article is stored exactly once, and every crawl
    has its run recorded: the killed worker's as interrupted, each redone by another."""
    names = [f"s{i:03d}" for i in range(100)]
    # Articles answer in 0.3 s, so each crawl is still running when the worker is killed.
    feeds = {name: news_site(site, name, articles=2, delay=0.3) for name in names}
    expected = {site.url(f"/{name}/story-{i}.html") for name in names for i in range(2)}
    sources = sources_toml(**{name: {"urls": [url], "every": "1h"} for name, url in feeds.items()})
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url, "--max-parallel", "40")
    slow = ["-s", "NEWSMILL_REDIS_VISIBILITY=6"]  # a few beats lost to the restart are no takeover
    workers = [Worker(newsmill.tmp, redis_server.url, "--crawls", "6", *slow, name=f"w{n}")
               for n in range(3)]
    doomed = workers[0]
    try:
        daemon.wait_for("crawls running in the doomed worker", lambda: daemon.runs(
            None, f"pid = {doomed.pid} and status = 'running'"), timeout=120)
        doomed.kill()
        daemon.wait_for("a third of the sources done", lambda: len(
            daemon.runs(None, "status = 'ok'")) >= 33, timeout=240)
        redis_server.restart(down_for=0.5)
        daemon.wait_for("every source crawled", lambda: len(
            {r["source"] for r in daemon.runs(None, "status = 'ok'")}) == 100, timeout=300)
        daemon.wait_for("every run closed", lambda: not daemon.runs(None, "status = 'running'"),
                        timeout=60)
    finally:
        exits = [worker.stop() for worker in workers[1:]] + [stop_daemon(daemon)]
    assert exits == [0, 0, 0], workers[1].log + workers[2].log + daemon.log
    stored = newsmill.rows("select url from articles")
    assert len(stored) == 200 and {r["url"] for r in stored} == expected
    assert newsmill.count("errors") == 0, newsmill.rows("select * from errors")
    runs = newsmill.rows("select * from runs order by id")
    ok = [r for r in runs if r["status"] == "ok"]
    assert sorted(r["source"] for r in ok) == names  # one closed run per crawl
    for run in ok:  # every page it fetched is accounted for, as on one machine
        assert run["pages"] == 3 == sum(run[c] for c in (
            "articles_new", "articles_updated", "articles_unchanged", "articles_duplicate",
            "aliases", "not_articles", "listings", "errors")), (
            [r for r in runs if r["source"] == run["source"]],
            [line for line in daemon.log.splitlines() if run["source"] in line])
    assert sum(r["articles_new"] for r in ok) + sum(
        r["articles_new"] for r in runs if r["status"] == "interrupted") >= 200
    killed = [r for r in runs if r["pid"] == doomed.pid]
    assert killed and all(r["status"] == "interrupted" for r in killed)
    assert {r["status"] for r in runs} == {"ok", "interrupted"}
    for run in killed:  # taken over: the same task, the next delivery, another worker
        task = run["task"].rpartition("/")[0]
        assert any(r["task"].startswith(task + "/") and r["status"] == "ok" for r in ok)
    assert all(r["pid"] in (workers[1].pid, workers[2].pid) for r in ok)
    # The restart is logged once per process that saw it, not once per request.
    for log in (workers[1].log, workers[2].log, daemon.log):
        assert log.count("cannot be reached") == 1, log[-3000:]
        assert log.count("reachable again") == 1


def test_one_sites_requests_are_not_multiplied_by_the_workers(site, newsmill, redis_server):
    """Two workers crawl two sources of one site at once: the site still sees at most one
    request start per NEWSMILL_REDIS_HOST_DELAY, across both."""
    feeds = {f"half{n}": news_site(site, f"half{n}", articles=4) for n in range(2)}
    sources = sources_toml(**{name: {"urls": [url], "every": "1h"} for name, url in feeds.items()})
    workers = [Worker(newsmill.tmp, redis_server.url, "--crawls", "1", name=f"w{n}")
               for n in range(2)]
    wait_for_workers(redis_server, 2)  # both ready before the first source is queued
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url, "--max-parallel", "2",
                    "-s", "NEWSMILL_REDIS_HOST_DELAY=0.4")
    try:
        daemon.wait_for("both sources crawled", lambda: len(
            daemon.runs(None, "status = 'ok'")) == 2, timeout=120)
    finally:
        exits = [worker.stop() for worker in workers] + [stop_daemon(daemon)]
    assert exits == [0, 0, 0], workers[0].log + workers[1].log + daemon.log
    runs = newsmill.rows("select pid from runs")
    assert {r["pid"] for r in runs} == {w.pid for w in workers}  # one source each, at once
    starts = sorted(t for path, t in site.times if path != "/robots.txt")
    assert len(starts) == 10  # two feeds, eight articles
    gaps = [b - a for a, b in pairwise(starts)]
    assert min(gaps) >= 0.35, gaps  # the delay, less the server's timing noise


def test_a_bad_or_unreachable_redis_is_a_clear_error(tmp_path):
    """Bad input names the culprit: a Redis address that is not a URL is a usage error of
    every command that takes one; a daemon whose Redis cannot be reached does not start."""
    (tmp_path / "sources.toml").write_text('[[sources]]\nname = "a"\nurls = ["http://127.0.0.1:9/"]\n')
    for command in ("daemon", "worker", "store", "status"):
        done = subprocess.run(newsmill_command(command, "--redis", "localhost:6379"),
                              cwd=tmp_path, env=user_env(), capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2, (command, done.stderr)
        assert "'localhost:6379' is not a Redis URL" in done.stderr, done.stderr
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    done = subprocess.run(newsmill_command("daemon", "--redis", closed, "--sources", "sources.toml",
                                           "--db", "n.db"),
                          cwd=tmp_path, env=user_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"cannot reach Redis at {closed}" in done.stderr, done.stderr
    status = subprocess.run(newsmill_command("status", "--db", "n.db", "--redis", closed),
                            cwd=tmp_path, env=user_env(), capture_output=True, text=True,
                            timeout=60)
    assert status.returncode == 0 and "redis: cannot reach Redis" in status.stdout, status.stdout


def test_a_worker_stopped_as_its_crawls_start_exits_and_hands_them_back(site, newsmill,
                                                                          redis_server):
    """SIGTERM just after a worker took its sources (a crawl still opening once hung the
    worker for good): its crawls get the grace, then it stops them, exits 0, and another
    worker crawls what it handed back."""
    feeds = {f"news{i}": news_site(site, f"news{i}", articles=2, delay=4) for i in range(2)}
    sources = sources_toml(**{name: {"urls": [url], "every": "1h"} for name, url in feeds.items()})
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url, "--max-parallel", "2")
    # One second of grace: the 4-second articles cannot finish in it.
    first = Worker(newsmill.tmp, redis_server.url, "-s", "NEWSMILL_DAEMON_KILL_GRACE=1",
                   name="first")
    second = None
    try:
        deadline = time.monotonic() + 60
        while first.log.count("crawl started") < 2:
            assert time.monotonic() < deadline, first.log
            time.sleep(0.01)
        assert first.stop(timeout=30) == 0, first.log
        assert "handed back" in first.log, first.log
        second = Worker(newsmill.tmp, redis_server.url, name="second")
        daemon.wait_for("both sources crawled by the second worker", lambda: len(
            daemon.runs(None, f"status = 'ok' and pid = {second.pid}")) == 2, timeout=120)
    finally:
        exits = [second.stop() if second else 0, stop_daemon(daemon)]
    assert exits == [0, 0], daemon.log
    assert newsmill.count("articles") == 4
