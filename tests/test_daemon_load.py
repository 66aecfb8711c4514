"""The daemon under load, as an operator meets it: many sources on the default settings,
a schedule it cannot keep, and what it shows Prometheus (/metrics, /healthz) meanwhile."""

from __future__ import annotations

import re
import sqlite3
import time
import urllib.error
import urllib.request
from datetime import datetime
from itertools import pairwise

import psutil
import pytest

from tests.sites import article_html, rss_feed
from tests.test_daemon import finished, news_site, sources_toml, status_json


def starts(runs: list[dict]) -> list[datetime]:
    return [datetime.fromisoformat(r["started"]) for r in runs]


def test_many_sources_on_the_default_settings_keep_their_schedule(site, newsmill, start_daemon):
    # 40 feeds every 8 s, each answer a second late (a slow network): five checks a second,
    # each a second or more long. The old fixed default (2 crawls at once) managed two a
    # second and fell further behind every round; no option is given here.
    names = [f"feed{n:02d}" for n in range(40)]
    feeds = {}
    for name in names:
        path = f"/{name}/story.html"
        site.add(path, article_html(f"{name} story"), etag=True)
        feeds[name] = site.add(f"/{name}/rss.xml", rss_feed(site, [(f"{name} story", path)]),
                               "application/rss+xml", etag=True, delay=1.0)
    daemon = start_daemon(sources_toml(**{n: {"urls": [feeds[n]], "every": "8s"}
                                          for n in names}))
    daemon.wait_for("a first run of every source",
                    lambda: len({r["source"] for r in finished(daemon.runs())}) == len(names),
                    timeout=120)
    window_start = time.time()
    time.sleep(26)
    report = status_json(newsmill, daemon)
    assert daemon.stop() == 0

    late_gaps = []
    for name in names:
        ran = [s.timestamp() for s in starts(daemon.runs(name))]
        in_window = [s for s in ran if s >= window_start - 8]
        # 8 s apart on schedule; half an interval more is late
        late_gaps += [b - a for a, b in pairwise(in_window) if b - a > 12]
        assert len([s for s in ran if s >= window_start]) >= 2, f"{name} fell behind: {ran}"
    assert len(late_gaps) <= len(names) // 20, f"checks more than 4 s late: {late_gaps}"
    assert {r["status"] for r in daemon.runs()} <= {"ok", "interrupted"}
    assert report["daemon"]["crawl_limit"] > 2  # it followed the work past the old default
    assert newsmill.count("articles") == len(names)


def test_a_daemon_that_cannot_keep_up_says_why_and_is_late_evenly(site, newsmill, start_daemon):
    # Ten sources due every second, each crawl 4 s long, one at a time: a round takes 40 s.
    names = [f"slow{n}" for n in range(10)]
    daemon = start_daemon(sources_toml(**{n: {"urls": [news_site(site, n, 1, delay=4.0)],
                                              "every": "1s"} for n in names}),
                          "--max-parallel", "1")
    daemon.wait_for("a first run", lambda: finished(daemon.runs()), timeout=60)
    daemon.wait_for("the daemon to say it is behind",
                    lambda: (status_json(newsmill, daemon)["daemon"]["behind_seconds"] or 0) >= 30,
                    timeout=120)
    result = newsmill.run("status", "--db", str(newsmill.db_path), "--sources",
                          str(daemon.sources_path), timeout=60)
    daemon.wait_for("every source crawled", lambda: all(finished(daemon.runs(n)) for n in names),
                    timeout=90)
    assert daemon.stop() == 0

    assert result.returncode == 0, result.stderr
    assert re.search(r"behind schedule by \d+s \(--max-parallel 1: every slot in use\)",
                     result.stdout), result.stdout
    assert "1 allowed at once now (at most 1)" in result.stdout
    # Every source a little late, none never checked: first come, first served.
    counts = [len(finished(daemon.runs(n))) for n in names]
    assert min(counts) >= 1 and max(counts) - min(counts) <= 1, counts


def scrape(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None when it is absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + want + '}') if want else ''} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_metrics_and_healthz_over_http_move_with_the_crawls(site, newsmill, start_daemon):
    feed = news_site(site, "news", articles=2)
    broken = site.url("/missing/rss.xml")  # 404
    daemon = start_daemon(sources_toml(news={"urls": [feed], "every": "1h"},
                                       broken={"urls": [broken], "every": "1h"}),
                          "--metrics-port", "0")
    where = daemon.wait_for("the metrics address in the log", lambda: re.search(
        r"metrics at (http://127\.0\.0\.1:\d+)/metrics", daemon.log))
    base = where.group(1)
    daemon.wait_for("both first runs", lambda: len(finished(daemon.runs())) == 2, timeout=60)

    text = daemon.wait_for("the runs counted", lambda: (
        t := scrape(f"{base}/metrics")[1]) and metric(t, "newsmill_checks_total", status="ok")
        and metric(t, "newsmill_articles_total", change="new") == 2 and t)
    assert metric(text, "newsmill_pages_total") >= 3  # the feed and its two articles
    assert metric(text, "newsmill_downloaded_bytes_total") > 0
    assert metric(text, "newsmill_errors_total", kind="http") == 1  # the broken source's 404
    assert metric(text, "newsmill_source_last_success_age_seconds", source="news") < 60
    assert metric(text, "newsmill_source_interval_seconds", source="news") == 3600
    assert metric(text, "newsmill_crawls_waiting") == 0
    assert metric(text, "newsmill_schedule_behind_seconds") == 0
    assert metric(text, "newsmill_crawl_limit") >= 1
    assert re.search(r'^newsmill_worker_memory_bytes\{worker="\d+"\} [1-9]', text, re.M), text
    assert metric(text, "newsmill_start_lateness_seconds_count") == 2
    assert metric(text, "process_resident_memory_bytes") > 0
    # Listening on loopback only, as asked by default.
    listening = [c.laddr for c in psutil.Process(daemon.process.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(a.ip == "127.0.0.1" for a in listening), listening

    assert scrape(f"{base}/healthz")[0] == 200
    # A database another program keeps locked stops the daemon's loop at its heartbeat
    # write: /healthz says so (the loop is stuck after 10 s), then recovers.
    locker = sqlite3.connect(newsmill.db_path, timeout=30)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        _, body = daemon.wait_for("/healthz to answer 503", lambda: (
            answer := scrape(f"{base}/healthz"))[0] == 503 and answer, timeout=25)
        assert "stuck" in body
    finally:
        locker.rollback()
        locker.close()
    daemon.wait_for("/healthz to answer 200 again",
                    lambda: scrape(f"{base}/healthz")[0] == 200, timeout=30)
    assert daemon.stop() == 0
    with pytest.raises(OSError):  # the server went with the daemon
        urllib.request.urlopen(f"{base}/healthz", timeout=5)


def test_a_metrics_port_already_taken_exits_2_naming_it(newsmill, site, start_daemon):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        daemon = start_daemon(sources_toml(news={"urls": [news_site(site, "news")],
                                                 "every": "1h"}), "--metrics-port", str(port))
        assert daemon.process.wait(timeout=60) == 2
    finally:
        taken.close()
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in daemon.log
