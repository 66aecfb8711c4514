"""`newsmill daemon` and `newsmill status`, run for real: a daemon process, its crawl
workers, local sites on 127.0.0.1 and a SQLite file, on second-level schedules."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import psutil

from tests.conftest import FAST, newsmill_command, user_env
from tests.sites import article_html, rss_feed

# Fast against loopback; short heartbeats and kill grace so every test stays in seconds.
DAEMON_FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0",
               "-s", "DOWNLOAD_TIMEOUT=20", "-s", "NEWSMILL_DAEMON_HEARTBEAT=1",
               "-s", "NEWSMILL_DAEMON_KILL_GRACE=3", "-s", "NEWSMILL_DAEMON_JITTER=0"]


def news_site(site, name: str, articles: int = 2, delay: float = 0.0) -> str:
    """A feed of `articles` article pages on `site`; returns the feed URL."""
    items = [(f"{name} story {i}", f"/{name}/story-{i}.html") for i in range(articles)]
    for title, path in items:
        site.add(path, article_html(title), delay=delay)
    return site.add(f"/{name}/rss.xml", rss_feed(site, items), "application/rss+xml")


def sources_toml(**sources: dict) -> str:
    """`name={"urls": [...], "every": "1s", ...}` as a sources file."""
    lines = []
    for name, keys in sources.items():
        lines += ["[[sources]]", f'name = "{name}"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


class Daemon:
    """A `newsmill daemon` process on the test's database; its log goes to a file."""

    def __init__(self, newsmill, sources: str, *args: str):
        self.newsmill = newsmill
        self.sources_path = newsmill.tmp / "sources.toml"
        self.sources_path.write_text(sources)
        self.log_path = newsmill.tmp / f"daemon-{time.monotonic_ns()}.log"
        cmd = newsmill_command("daemon", "--sources", str(self.sources_path),
                               "--db", str(newsmill.db_path), *DAEMON_FAST, *args)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(cmd, cwd=newsmill.tmp, stdout=log, stderr=log,
                                            env=user_env())

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def runs(self, source: str | None = None, where: str = "1") -> list[dict]:
        if not self.newsmill.db_path.exists():
            return []
        if source is None:
            return self.newsmill.rows(f"select * from runs where {where} order by id")
        return self.newsmill.rows(f"select * from runs where source = ? and {where} order by id",
                                  [source])

    def wait_for(self, what: str, condition, timeout: float = 60):
        """Poll until `condition()` is truthy; a bound, not a speed requirement."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if result := condition():
                    return result
            except sqlite3.Error:  # the database may not exist yet, or be mid-migration
                result = None
            assert self.process.poll() is None, f"daemon exited early:\n{self.log}"
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; daemon log:\n{self.log}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)

    def cleanup(self) -> None:
        """After a failed test: nothing of this daemon may be left running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        try:
            runs = self.runs(where="status = 'running'")
        except sqlite3.Error:
            runs = []
        for run in runs:
            try:
                os.killpg(run["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError, TypeError):
                pass


def finished(runs: list[dict]) -> list[dict]:
    return [r for r in runs if r["status"] != "running"]


def status_json(newsmill, daemon: Daemon) -> dict:
    result = newsmill.run("status", "--db", str(newsmill.db_path), "--sources",
                          str(daemon.sources_path), "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- schedules ----------------------------------------------------------------------------
def test_sources_run_on_their_schedule_and_a_source_never_overlaps_itself(site, newsmill,
                                                                          start_daemon):
    quick = news_site(site, "quick")
    slow = news_site(site, "slow", delay=2.0)  # each run takes longer than the 1s interval
    daemon = start_daemon(sources_toml(quick={"urls": [quick], "every": "1s"},
                                       slow={"urls": [slow], "every": "1s"}),
                          "--max-parallel", "4")  # room for overlap: only the daemon prevents it

    daemon.wait_for("three finished runs of each source",
                    lambda: all(len(finished(daemon.runs(s))) >= 3 for s in ("quick", "slow")),
                    timeout=90)
    assert daemon.stop() == 0

    for source in ("quick", "slow"):
        runs = daemon.runs(source)
        assert {r["status"] for r in runs} == {"ok"}, runs
        for before, after in pairwise(runs):
            assert after["started"] >= before["finished"], f"{source} runs overlap: {runs}"
    assert "slow: start skipped" in daemon.log
    assert newsmill.count("articles") == 4


def test_no_more_crawls_run_at_once_than_max_parallel(site, newsmill, start_daemon):
    daemon = start_daemon(sources_toml(**{name: {"urls": [news_site(site, name, delay=1.0)],
                                                 "every": "1s"} for name in ("one", "two")}),
                          "--max-parallel", "1")

    daemon.wait_for("two finished runs of each source",
                    lambda: all(len(finished(daemon.runs(s))) >= 2 for s in ("one", "two")))
    assert daemon.stop() == 0

    runs = daemon.runs()
    for a in runs:
        for b in runs:
            if a["id"] < b["id"]:
                assert not (b["started"] < a["finished"] and a["started"] < b["finished"]), \
                    f"runs {a['id']} and {b['id']} ran at the same time"


def test_a_crawl_past_its_timeout_is_stopped_and_the_next_run_still_happens(site, newsmill,
                                                                             start_daemon):
    site.add("/fine.html", article_html("Fine story"))
    site.add("/hangs.html", article_html("Hanging story"), delay=60)
    feed = site.add("/rss.xml", rss_feed(site, [("Fine story", "/fine.html"),
                                                ("Hanging story", "/hangs.html")]),
                    "application/rss+xml")
    daemon = start_daemon(sources_toml(news={"urls": [feed], "every": "1s", "timeout": "2s"}))

    first = daemon.wait_for("the first run to end", lambda: finished(daemon.runs("news")))[0]
    assert first["status"] == "interrupted"
    assert first["articles_new"] == 1  # what it stored before the timeout is kept

    site.routes["/hangs.html"].delay = 0
    later = daemon.wait_for("a later run to succeed",
                            lambda: [r for r in daemon.runs("news") if r["status"] == "ok"])
    assert later[0]["id"] > first["id"]
    assert daemon.stop() == 0
    assert "stopped at its timeout (2s)" in daemon.log
    assert newsmill.count("articles") == 2


def test_a_failing_source_backs_off_and_status_shows_it(site, newsmill, start_daemon):
    gone = site.add("/gone.xml", "gone", status=404)
    daemon = start_daemon(sources_toml(broken={"urls": [gone], "every": "1s"}))

    daemon.wait_for("two failed runs", lambda: len(daemon.runs("broken", "status = 'failed'")) >= 2)
    report = daemon.wait_for("status to show the failures", lambda: [
        s for s in status_json(newsmill, daemon)["sources"] if s["failures"] >= 2])[0]
    assert daemon.stop() == 0

    assert report["backoff_until"] is not None
    runs = daemon.runs("broken")
    gaps = [(datetime.fromisoformat(b["started"]) - datetime.fromisoformat(a["finished"]))
            .total_seconds() for a, b in pairwise(runs)]
    assert gaps and gaps[-1] >= 2  # after two failures in a row the wait doubled, at least


def test_missed_starts_become_one_catch_up_run_judged_from_the_runs_table(site, newsmill,
                                                                          start_daemon):
    sources = sources_toml(stale={"urls": [news_site(site, "stale")], "every": "1h"},
                           fresh={"urls": [news_site(site, "fresh")], "every": "1h"})
    (newsmill.tmp / "sources.toml").write_text(sources)
    assert newsmill.crawl(sources=sources).returncode == 0  # both crawled once, just now
    db = newsmill.db
    with db.conn:  # as if "stale" was last crawled five hours ago: four starts were missed
        db.execute("update runs set started = '2020-01-01T00:00:00+00:00', "
                   "finished = '2020-01-01T00:00:01+00:00' where source = 'stale'")
    db.close()

    daemon = start_daemon(sources)
    daemon.wait_for("the catch-up run", lambda: finished(daemon.runs("stale"))[1:])
    report = daemon.wait_for("both next runs in status", lambda: [
        s for s in status_json(newsmill, daemon)["sources"] if s["next_run"]][1:] and
        status_json(newsmill, daemon))
    assert daemon.stop() == 0

    assert len(daemon.runs("stale")) == 2  # one catch-up, not one per missed hour
    assert len(daemon.runs("fresh")) == 1  # crawled within its interval: waits
    for source in report["sources"]:
        wait = datetime.fromisoformat(source["next_run"]) - datetime.fromisoformat(
            source["last_run"]["started"])
        assert 3500 <= wait.total_seconds() <= 3700, source


# --- signals -----------------------------------------------------------------------------
def test_sigterm_during_a_crawl_exits_0_marks_the_run_and_keeps_every_fetched_article(
        site, newsmill, start_daemon):
    feed = news_site(site, "big", articles=12, delay=1.0)
    daemon = start_daemon(sources_toml(big={"urls": [feed], "every": "1h"}), "--grace", "0",
                          "-s", "NEWSMILL_DAEMON_KILL_GRACE=15", "-s", "CONCURRENT_REQUESTS=2")

    daemon.wait_for("article pages being fetched",
                    lambda: sum(p.startswith("/big/story") for _, p, _ in site.requests) >= 2)
    assert daemon.stop(signal.SIGTERM) == 0

    run = daemon.runs("big")[0]
    assert run["status"] == "interrupted"
    fetched = {site.url(p) for _, p, _ in site.requests if p.startswith("/big/story")}
    stored = {r["url"] for r in newsmill.rows("select url from articles")}
    assert stored == fetched
    assert 0 < len(stored) < 12
    assert run["articles_new"] == len(stored)


def test_sighup_rereads_the_sources_file_and_schedules_a_new_source(site, newsmill,
                                                                     start_daemon):
    first = news_site(site, "first")
    second = news_site(site, "second")
    daemon = start_daemon(sources_toml(first={"urls": [first], "every": "1h"}))
    daemon.wait_for("the first source's run", lambda: finished(daemon.runs("first")))

    daemon.sources_path.write_text(sources_toml(first={"urls": [first], "every": "1h"},
                                                second={"urls": [second], "every": "1h"}))
    daemon.process.send_signal(signal.SIGHUP)

    run = daemon.wait_for("the new source's run", lambda: finished(daemon.runs("second")))[0]
    assert run["status"] == "ok" and run["articles_new"] == 2
    assert len(daemon.runs("first")) == 1  # the unchanged source kept its schedule
    assert daemon.stop() == 0


def test_sighup_with_a_broken_sources_file_keeps_the_old_schedule(site, newsmill, start_daemon):
    feed = news_site(site, "news")
    daemon = start_daemon(sources_toml(news={"urls": [feed], "every": "1s"}))
    daemon.wait_for("a first run", lambda: finished(daemon.runs("news")))

    daemon.sources_path.write_text("[[sources]]\nname = 'news'\nurls = 'not a url'\n")
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("the error in the log", lambda: "keeping the previous schedule" in daemon.log)
    count = len(daemon.runs("news"))
    daemon.wait_for("runs going on", lambda: len(finished(daemon.runs("news"))) > count)

    assert daemon.stop() == 0
    assert "'not a url' is not an http(s) URL" in daemon.log


# --- one daemon per database; crashes -----------------------------------------------------
def test_a_second_daemon_on_the_same_database_is_refused(site, newsmill, start_daemon):
    daemon = start_daemon(sources_toml(news={"urls": [news_site(site, "news")], "every": "1h"}))
    daemon.wait_for("the daemon to be up", lambda: newsmill.count("daemon"))

    second = newsmill.run("daemon", "--sources", str(daemon.sources_path), "--db",
                          str(newsmill.db_path), timeout=60)

    assert second.returncode == 2
    assert "another newsmill daemon" in second.stderr and "already running" in second.stderr
    assert daemon.process.poll() is None
    assert daemon.stop() == 0


def test_a_one_off_crawl_alongside_the_daemon_works(site, newsmill, start_daemon):
    daemon = start_daemon(sources_toml(news={"urls": [news_site(site, "news")], "every": "1s"}))
    daemon.wait_for("a daemon run", lambda: finished(daemon.runs("news")))

    result = newsmill.crawl(news_site(site, "other"))

    assert result.returncode == 0, result.stderr
    assert daemon.stop() == 0
    assert newsmill.count("articles", "source = 'adhoc'") == 2
    assert {r["status"] for r in daemon.runs()} == {"ok"}


def test_a_source_a_one_off_crawl_is_crawling_is_not_started_by_the_daemon(site, newsmill,
                                                                            start_daemon):
    sources = sources_toml(news={"urls": [news_site(site, "news", delay=120)], "every": "1s"})
    path = newsmill.tmp / "sources.toml"
    path.write_text(sources)
    # The articles are held until the daemon has found the one-off running, however long
    # a loaded machine takes to start it (a fixed 6 s was too short under load 10).
    one_off = subprocess.Popen(
        newsmill_command("crawl", "--sources", str(path), "--db", str(newsmill.db_path), *FAST,
                         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "DOWNLOAD_TIMEOUT=150"),
        cwd=newsmill.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=user_env())
    try:
        deadline = time.monotonic() + 60
        while not (newsmill.db_path.exists() and _has_running_run(newsmill)):
            assert time.monotonic() < deadline and one_off.poll() is None, "one-off never ran"
            time.sleep(0.2)
        daemon = start_daemon(sources)
        daemon.wait_for("the skipped start", lambda: "of this source is still running"
                        in daemon.log)
        for route in site.routes.values():
            route.delay = 0
        assert one_off.wait(timeout=60) == 0
    finally:
        if one_off.poll() is None:
            one_off.kill()
    daemon.wait_for("a daemon run after it", lambda: finished(daemon.runs("news"))[1:])
    assert daemon.stop() == 0

    runs = daemon.runs("news")
    for before, after in pairwise(runs):
        assert after["started"] >= before["finished"], f"runs overlap: {runs}"


def _has_running_run(newsmill) -> bool:
    try:
        return newsmill.count("runs", "status = 'running'") > 0
    except sqlite3.Error:  # not created yet
        return False


def test_a_crawl_process_killed_with_sigkill_is_survived(site, newsmill, start_daemon):
    feed = news_site(site, "news", delay=30)
    daemon = start_daemon(sources_toml(news={"urls": [feed], "every": "1s"}))
    victim = daemon.wait_for("a running crawl",
                             lambda: daemon.runs("news", "status = 'running'"))[0]

    os.kill(victim["pid"], signal.SIGKILL)
    for route in site.routes.values():
        route.delay = 0

    run = daemon.wait_for("the killed run to be closed",
                          lambda: finished(daemon.runs("news", f"id = {victim['id']}")))[0]
    assert run["status"] == "interrupted"
    daemon.wait_for("a later run to succeed", lambda: daemon.runs("news", "status = 'ok'"))
    assert daemon.process.poll() is None
    assert not [p for p in psutil.process_iter() if _pgid(p.pid) == victim["pid"]]
    assert daemon.stop() == 0


def test_runs_orphaned_by_a_killed_daemon_are_marked_interrupted_on_the_next_start(
        site, newsmill, start_daemon):
    feed = news_site(site, "news", delay=30)
    sources = sources_toml(news={"urls": [feed], "every": "1h"})
    daemon = start_daemon(sources)
    orphan = daemon.wait_for("a running crawl",
                             lambda: daemon.runs("news", "status = 'running'"))[0]
    daemon.process.kill()  # kill -9 the daemon, then its crawl: nobody closes the run
    daemon.process.wait()
    os.killpg(orphan["pid"], signal.SIGKILL)
    for route in site.routes.values():
        route.delay = 0

    restarted = start_daemon(sources)
    restarted.wait_for("the orphan to be closed",
                       lambda: finished(restarted.runs("news", f"id = {orphan['id']}")))
    restarted.wait_for("a catch-up run", lambda: restarted.runs("news", "status = 'ok'"))
    assert restarted.stop() == 0
    assert restarted.runs("news", f"id = {orphan['id']}")[0]["status"] == "interrupted"


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


# --- newsmill status ---------------------------------------------------------------------
def test_status_reports_schedules_runs_and_whether_the_daemon_is_alive(site, newsmill,
                                                                        start_daemon):
    feed = news_site(site, "news")
    log_file = newsmill.tmp / "logs" / "daemon.log"
    daemon = start_daemon(sources_toml(news={"urls": [feed], "every": "1h"},
                                       paused={"urls": [feed], "every": "15m",
                                               "enabled": False},
                                       nightly={"urls": [feed], "cron": "30 3 * * *",
                                                "timezone": "Europe/Paris"}),
                          "--log-file", str(log_file))
    daemon.wait_for("a finished run", lambda: finished(daemon.runs("news")))
    daemon.wait_for("its next run in status",
                    lambda: status_json(newsmill, daemon)["sources"][0]["next_run"])

    report = status_json(newsmill, daemon)
    text = newsmill.run("status", "--db", str(newsmill.db_path), timeout=60).stdout
    block = newsmill.run("status", "--db", str(newsmill.db_path), "--source", "news",
                         timeout=60).stdout
    assert daemon.stop() == 0
    after = status_json(newsmill, daemon)

    assert report["daemon"]["alive"] is True and report["daemon"]["pid"] == daemon.process.pid
    news, paused, nightly = report["sources"]
    assert news["schedule"] == "every 1h" and paused["schedule"] == "every 15m (paused)"
    assert nightly["schedule"] == "cron 30 3 * * * (Europe/Paris)"
    assert datetime.fromisoformat(nightly["next_run"]).astimezone(
        ZoneInfo("Europe/Paris")).strftime("%H:%M") == "03:30"
    assert nightly["last_run"] is None  # a cron source waits for its time
    assert news["last_run"]["status"] == "ok" and news["last_run"]["articles_new"] == 2
    assert news["running"] is False and news["failures"] == 0
    assert datetime.fromisoformat(news["next_run"]) > datetime.fromisoformat(
        news["last_run"]["started"])
    assert paused["last_run"] is None and paused["next_run"] is None
    assert "daemon: alive" in text and "3 sources: " in text
    [line] = [line for line in text.splitlines() if line.startswith("news ")]
    assert "on schedule" in line and "every 1h" in line
    assert "daemon: alive" in block and "news (every 1h): on schedule" in block
    assert "2 new" in block and "paused" not in block
    assert after["daemon"]["alive"] is False
    assert "news: crawl started" in log_file.read_text()


def test_daemon_with_a_broken_sources_file_exits_2_at_once(newsmill):
    path = newsmill.tmp / "sources.toml"
    path.write_text("[[sources]]\nname = 'x'\nurls = ['https://example.org/']\nevery = 'often'\n")

    result = newsmill.run("daemon", "--sources", str(path), "--db", str(newsmill.db_path),
                          timeout=60)

    assert result.returncode == 2
    assert "source 'x': key 'every'" in result.stderr


def test_a_daemon_asked_for_no_crawl_worker_exits_2_before_it_starts(site, newsmill):
    """NEWSMILL_DAEMON_WORKERS = 0 once meant a process per crawl; that mode is gone, and a
    daemon that could crawl nothing is refused at once, not left to run idle."""
    path = newsmill.tmp / "sources.toml"
    path.write_text(sources_toml(news={"urls": [news_site(site, "news")], "every": "1h"}))

    result = newsmill.run("daemon", "--sources", str(path), "--db", str(newsmill.db_path),
                          "-s", "NEWSMILL_DAEMON_WORKERS=0", timeout=60)

    assert result.returncode == 2, result.stderr
    assert "NEWSMILL_DAEMON_WORKERS = 0" in result.stderr
    assert "at least one crawl worker" in result.stderr
    assert "Traceback" not in result.stderr
    assert newsmill.count("runs") == 0


# --- its log ---------------------------------------------------------------------------------
def test_the_daemon_log_has_one_line_per_failed_url_and_no_traceback(site, newsmill, start_daemon):
    from tests.test_terminal_output import closed_port_url

    refused = closed_port_url("/gone.html")
    daemon = start_daemon(sources_toml(down={"urls": [refused, news_site(site, "news")],
                                             "every": "1h"}), "-s", "RETRY_TIMES=2",
                          "-s", "RETRY_BACKOFF_BASE=0.1")
    daemon.wait_for("a finished run", lambda: finished(daemon.runs("down")))
    assert daemon.stop() == 0
    log = daemon.log
    assert "Traceback" not in log and "Overridden settings" not in log
    failures = [line for line in log.splitlines() if refused in line]
    assert len(failures) == 1 and "[connection]" in failures[0], log
    assert newsmill.count("articles") == 2


# --- long-lived crawl workers -------------------------------------------------------------
def test_a_hung_source_is_stopped_alone_while_the_others_in_its_worker_finish(site, newsmill,
                                                                              start_daemon):
    site.add("/hung/fine.html", article_html("Fine story"))
    site.add("/hung/hangs.html", article_html("Hanging story"), delay=60)
    hung = site.add("/hung/rss.xml", rss_feed(site, [("Fine story", "/hung/fine.html"),
                                                     ("Hanging story", "/hung/hangs.html")]),
                    "application/rss+xml")
    steady = news_site(site, "steady", articles=3, delay=6.0)  # still running when hung stops
    daemon = start_daemon(sources_toml(hung={"urls": [hung], "every": "1h", "timeout": "2s"},
                                       steady={"urls": [steady], "every": "1h"}),
                          "-s", "NEWSMILL_DAEMON_WORKERS=1")

    stopped = daemon.wait_for("the hung run to end", lambda: finished(daemon.runs("hung")))[0]
    running = daemon.runs("steady")[0]
    done = daemon.wait_for("the steady run to end", lambda: finished(daemon.runs("steady")))[0]
    assert daemon.stop() == 0

    assert stopped["status"] == "interrupted" and stopped["articles_new"] == 1
    assert running["status"] == "running"  # the worker went on crawling it...
    assert done["status"] == "ok" and done["articles_new"] == 3
    assert stopped["pid"] == done["pid"]  # ... in the same process, which nobody killed
    assert "stopped at its timeout (2s)" in daemon.log
    assert "killing its worker" not in daemon.log
    assert "hung: " in daemon.log and "download(s) still running" in daemon.log


def test_a_killed_worker_loses_only_its_runs_which_the_next_schedule_crawls_again(
        site, newsmill, start_daemon):
    feeds = {name: news_site(site, name, delay=30) for name in ("left", "right")}
    daemon = start_daemon(sources_toml(**{name: {"urls": [feed], "every": "1s"}
                                          for name, feed in feeds.items()}),
                          "-s", "NEWSMILL_DAEMON_WORKERS=1", "--max-parallel", "4")
    victims = daemon.wait_for("both sources crawling in one worker", lambda: (
        runs := daemon.runs(where="status = 'running'")) and len(runs) == 2 and runs)
    assert victims[0]["pid"] == victims[1]["pid"]

    os.kill(victims[0]["pid"], signal.SIGKILL)
    for route in site.routes.values():
        route.delay = 0
    for name in feeds:
        daemon.wait_for(f"a later run of {name} to succeed",
                        lambda name=name: daemon.runs(name, "status = 'ok'"))
    assert daemon.stop() == 0

    for victim in victims:
        assert daemon.runs(where=f"id = {victim['id']}")[0]["status"] == "interrupted"
    assert not [p for p in psutil.process_iter() if _pgid(p.pid) == victims[0]["pid"]]
    assert newsmill.count("articles") == 4  # each article once, though crawled twice
    assert not newsmill.rows("select url from article_urls group by url having count(*) > 1")


def test_a_worker_is_replaced_after_its_number_of_crawls(site, newsmill, start_daemon):
    daemon = start_daemon(sources_toml(news={"urls": [news_site(site, "news")], "every": "1s"}),
                          "-s", "NEWSMILL_DAEMON_WORKERS=1",
                          "-s", "NEWSMILL_DAEMON_WORKER_MAX_CRAWLS=2")

    runs = daemon.wait_for("five runs", lambda: finished(daemon.runs("news"))[4:] and
                           finished(daemon.runs("news")))
    assert daemon.stop() == 0

    assert {r["status"] for r in runs} == {"ok"}
    pids = [r["pid"] for r in runs[:5]]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert "replaced after 2 crawls" in daemon.log
    assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == "zombie"


def test_a_worker_past_its_memory_ceiling_is_replaced(site, newsmill, start_daemon):
    daemon = start_daemon(sources_toml(news={"urls": [news_site(site, "news")], "every": "1s"}),
                          "-s", "NEWSMILL_DAEMON_WORKERS=1",
                          "-s", "NEWSMILL_DAEMON_WORKER_MAX_MEMORY=1")  # 1 MB: at once

    runs = daemon.wait_for("runs in two workers", lambda: len(
        {r["pid"] for r in finished(daemon.runs("news"))}) >= 2 and finished(daemon.runs("news")))
    assert daemon.stop() == 0

    assert {r["status"] for r in runs} == {"ok"}
    assert "MB of memory" in daemon.log and "replaced at" in daemon.log
