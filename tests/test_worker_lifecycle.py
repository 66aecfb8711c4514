"""`newsmill worker` for months: it retires at its limits as the daemon's own workers do, and
shows Prometheus what it does. Real redis-server, daemon, workers and sites on 127.0.0.1."""

from __future__ import annotations

import re

from tests.redis_server import free_port
from tests.test_daemon import Daemon, news_site, sources_toml
from tests.test_daemon_load import metric, scrape
from tests.test_distributed import Worker, redis_server, stop_daemon  # noqa: F401 (fixture)


def test_a_worker_retires_after_its_crawls_and_another_takes_the_rest(site, newsmill,
                                                                       redis_server):  # noqa: F811
    names = [f"src{n}" for n in range(6)]
    # Each article answers after 2 s, twice the retiring worker's kill grace: a retirement
    # that cut its crawls short, as SIGTERM does, would show here.
    sources = sources_toml(**{n: {"urls": [news_site(site, n, articles=2, delay=2.0)],
                                  "every": "1h"} for n in names})
    retiring = Worker(newsmill.tmp, redis_server.url, "--crawls", "2", "--max-crawls", "2",
                      "-s", "NEWSMILL_DAEMON_KILL_GRACE=1", name="retiring")
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url)
    steady = None
    try:
        # It takes two crawls, lets them end, and exits 0 by itself.
        assert retiring.process.wait(timeout=90) == 0, retiring.log
        steady = Worker(newsmill.tmp, redis_server.url, "--crawls", "4", name="steady")
        daemon.wait_for("every source's run ok", lambda: {
            r["source"] for r in daemon.runs(None, "status = 'ok'")} == set(names), timeout=120)
    finally:
        exits = (steady.stop() if steady else None), stop_daemon(daemon)
    assert exits == (0, 0), daemon.log
    log = retiring.log
    assert re.search(r"retiring after 2 crawls \(--max-crawls\)", log), log
    assert re.search(r"retired after 2 crawls \(--max-crawls\); its supervisor starts a fresh one",
                     log), log
    assert "handed back" not in log and "cancelled" not in log  # its crawls ended as they would
    # ... and it is off the list of workers (no ghost for `newsmill status`)
    assert not redis_server.client().smembers("newsmill:workers")
    # Nothing lost, nothing doubled: one ok run per source, every article once.
    runs = daemon.runs()
    assert sorted(r["source"] for r in runs) == sorted(names), runs
    assert {r["status"] for r in runs} == {"ok"}
    assert sum(r["pid"] == retiring.pid for r in runs) == 2
    assert newsmill.count("articles") == 12


def test_a_worker_above_its_memory_ceiling_retires_after_its_crawl(site, newsmill,
                                                                    redis_server):  # noqa: F811
    sources = sources_toml(one={"urls": [news_site(site, "one", articles=2, delay=1.0)],
                                "every": "1h"})
    worker = Worker(newsmill.tmp, redis_server.url, "--max-memory", "1")  # always above 1 MB
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url)
    try:
        assert worker.process.wait(timeout=90) == 0, worker.log
        daemon.wait_for("the run ok", lambda: daemon.runs("one", "status = 'ok'"), timeout=60)
    finally:
        assert stop_daemon(daemon) == 0
    assert re.search(r"retiring at \d+ MB of memory \(--max-memory 1\)", worker.log), worker.log
    [run] = daemon.runs("one")
    assert run["status"] == "ok" and run["articles_new"] == 2


def test_a_workers_metrics_and_health_over_http(site, newsmill, redis_server):  # noqa: F811
    port = free_port()
    feed = news_site(site, "news", articles=2)
    sources = sources_toml(news={"urls": [feed], "every": "1h"},
                           gone={"urls": [site.url("/gone/rss.xml")], "every": "1h"})
    worker = Worker(newsmill.tmp, redis_server.url, "--metrics-port", str(port))
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url, "--metrics-port", "0")
    base = f"http://127.0.0.1:{port}"
    try:
        daemon.wait_for("both runs written", lambda: len(
            daemon.runs(None, "status != 'running'")) == 2, timeout=90)
        text = daemon.wait_for("the worker's counters", lambda: (
            t := scrape(f"{base}/metrics")[1]) and metric(t, "newsmill_pages_total") == 4 and t)
        assert metric(text, "newsmill_checks_total", status="ok") == 1
        assert metric(text, "newsmill_checks_total", status="failed") == 1
        assert metric(text, "newsmill_errors_total", kind="http") == 1
        assert metric(text, "newsmill_downloaded_bytes_total") > 0
        assert metric(text, "newsmill_crawl_limit") == 8  # its --crawls
        assert re.search(r'^newsmill_worker_memory_bytes\{worker="\d+"\} [1-9]', text, re.M)
        assert scrape(f"{base}/healthz")[0] == 200
        # The daemon, with --redis, shows the queue instead of its own workers.
        daemon_base = re.search(r"metrics at (http://127\.0\.0\.1:\d+)/metrics", daemon.log)[1]
        queue = daemon.wait_for("the daemon's counters", lambda: (
            t := scrape(f"{daemon_base}/metrics")[1]) and metric(
            t, "newsmill_checks_total", status="ok") == 1 and t)  # it polls the done runs
        assert metric(queue, "newsmill_redis_tasks_waiting") == 0
        assert metric(queue, "newsmill_redis_tasks_pending") == 0
        assert metric(queue, "newsmill_articles_total", change="new") == 2
    finally:
        exits = worker.stop(), stop_daemon(daemon)
    assert exits == (0, 0), worker.log + daemon.log


def test_redis_forgets_a_retired_worker_once_it_has_been_gone_a_while(site, newsmill,
                                                                       redis_server):  # noqa: F811
    """Every worker process is a consumer of the task stream's group, and Redis keeps them
    all until told: a year of retirements would leave hundreds of thousands."""
    sources = sources_toml(one={"urls": [news_site(site, "one", articles=1)], "every": "1h"})
    daemon = Daemon(newsmill, sources, "--redis", redis_server.url,
                    "-s", "NEWSMILL_REDIS_FORGET_AFTER=3")
    retiring = Worker(newsmill.tmp, redis_server.url, "--max-crawls", "1", name="retiring")
    client = redis_server.client()

    def consumers() -> set[str]:
        return {c["name"] for c in client.xinfo_consumers("newsmill:tasks", "workers")}
    try:
        assert retiring.process.wait(timeout=90) == 0, retiring.log
        assert any(name.endswith(f":{retiring.pid}") for name in consumers())
        daemon.wait_for("the retired worker forgotten", lambda: not any(
            name.endswith(f":{retiring.pid}") for name in consumers()), timeout=30)
    finally:
        assert stop_daemon(daemon) == 0, daemon.log
    assert "forgotten by Redis" in daemon.log
    assert [r["status"] for r in daemon.runs()] == ["ok"]  # its crawl, stored
    assert client.xpending("newsmill:tasks", "workers")["pending"] == 0
