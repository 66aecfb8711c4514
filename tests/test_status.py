"""`newsmill status` for many sources: totals first, a line per source, trouble on top."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from crawler.sources import Source
from crawler.status import source_state
from tests.sites import article_html, rss_feed
from tests.test_terminal_output import closed_port_url

SOURCES = 40


def test_status_of_many_sources_is_totals_then_one_line_each_failing_first(site, newsmill):
    lines = []
    for n in range(SOURCES):
        site.add(f"/s{n}/a.html", article_html(f"Story of source {n}"))
        feed = site.add(f"/s{n}/rss.xml", rss_feed(site, [(f"Story {n}", f"/s{n}/a.html")]),
                        "application/rss+xml")
        lines += ["[[sources]]", f'name = "source-{n:02d}"', f'urls = ["{feed}"]']
    lines += ["[[sources]]", 'name = "zz-broken"', f'urls = ["{closed_port_url("/rss.xml")}"]',
              "[[sources]]", 'name = "quiet"', f'urls = ["{site.url("/s0/rss.xml")}"]',
              "enabled = false"]
    sources = "\n".join(lines) + "\n"
    crawled = newsmill.crawl(sources=sources)
    assert crawled.returncode == 1, newsmill.explain(crawled)  # zz-broken failed
    path = str(newsmill.tmp / "sources.toml")

    text = newsmill.run("status", "--db", str(newsmill.db_path), "--sources", path).stdout

    out = text.splitlines()
    assert out[0].startswith("daemon: never started")
    assert out[2] == f"{SOURCES + 2} sources: 1 failing, 0 late, {SOURCES} not scheduled, " \
                     "0 running, 0 on schedule, 1 paused"
    header, *rows = out[3:]
    assert header.split()[:3] == ["source", "state", "schedule"]
    assert len(rows) == SOURCES + 2  # one line per source, however many
    assert rows[0].split()[:2] == ["zz-broken", "failing"]
    assert all("not scheduled" in row for row in rows[1:SOURCES + 1])
    assert rows[-1].split()[:2] == ["quiet", "paused"]

    block = newsmill.run("status", "--db", str(newsmill.db_path), "--sources", path,
                         "--source", "source-07").stdout
    assert "source-07 (every 1h): not scheduled" in block and "1 new" in block

    report = json.loads(newsmill.run("status", "--db", str(newsmill.db_path), "--sources", path,
                                     "--json").stdout)
    assert report["totals"]["failing"] == 1 and report["totals"]["sources"] == SOURCES + 2
    missing = newsmill.run("status", "--db", str(newsmill.db_path), "--source", "nope")
    assert missing.returncode == 2 and "no source named 'nope'" in missing.stderr


def entry(**kw) -> dict:
    return {"failures": 0, "running": False, "backoff_until": None, "next_run": None,
            "last_run": None, **kw}


def test_a_source_due_and_not_started_within_30_seconds_is_late():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    source = Source(name="s", urls=["https://example.org/"], every="5m")
    daemon = {"started": (now - timedelta(hours=1)).isoformat()}

    def state(started_ago: float, next_in: float | None = None, **kw) -> str:
        last = {"started": (now - timedelta(seconds=started_ago)).isoformat(), "status": "ok"}
        next_run = None if next_in is None else (now + timedelta(seconds=next_in)).isoformat()
        return source_state(entry(last_run=last, next_run=next_run, **kw), source, True, daemon, now)

    assert state(100, next_in=200) == "on schedule"
    assert state(300 + 30 + 20, next_in=250) == "on schedule"  # within the jitter and 30 s
    assert state(300 + 30 + 40, next_in=250) == "late"  # its start waits for a free slot
    assert state(100, next_in=-40) == "late"  # the daemon's own next run has passed
    assert state(900, next_in=60, backoff_until=(now + timedelta(minutes=1)).isoformat()) \
        == "on schedule"
    assert state(900, running=True) == "running"
    assert state(100, failures=2) == "failing"
    assert source_state(entry(), source, False, None, now) == "not scheduled"
