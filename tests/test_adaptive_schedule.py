"""every = "auto": busy sources are checked often, quiet ones rarely, learnt from their articles."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

from crawler.schedule import auto_interval
from tests.sites import article_html, send
from tests.test_daemon import finished, sources_toml, status_json

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DAY = 86400.0


def interval(minutes_ago: list[float], lowest=300.0, highest=6 * 3600.0) -> float:
    published = [NOW - timedelta(minutes=m) for m in minutes_ago]
    return auto_interval(published, NOW, lowest, highest, 7 * DAY, 2.0)[0]


def test_the_interval_is_half_the_time_between_articles_within_its_bounds():
    assert interval([10 * i for i in range(1, 13)]) == 300.0  # 12 in 2h: every 5 min
    assert interval([60 * i for i in range(1, 25)]) == 1800.0  # hourly: every 30 min
    assert interval([5 * i for i in range(1, 100)]) == 300.0  # busier than the bound allows
    assert interval([60 * 24 * 3]) == 6 * 3600.0  # one article in three days: the longest
    assert interval([]) == 6 * 3600.0  # nothing in the window
    assert interval([60 * 24 * 30]) == 6 * 3600.0  # older than the window counts for nothing
    seconds, why = auto_interval([NOW - timedelta(hours=h) for h in (1, 2, 3, 4)], NOW,
                                 300.0, 6 * 3600.0, 7 * DAY, 2.0)
    assert seconds == 1800.0 and why == "4 articles in the last 4h"


def busy_feed(site) -> str:
    """A feed with a new article, published now, every time it is read."""
    lock, count = threading.Lock(), [0]

    def feed(handler):
        with lock:
            count[0] += 1
            n = count[0]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        site.add(f"/busy/{n}.html", article_html(
            f"Busy story {n}", extra_head=f'<meta property="article:published_time" content="{now}">'))
        items = "".join(f"<item><title>Busy story {i}</title><link>{site.url(f'/busy/{i}.html')}"
                        f"</link></item>" for i in range(max(1, n - 2), n + 1))
        send(handler, 200, (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Busy</title>'
                            f"<link>{site.base}/</link>{items}</channel></rss>").encode(),
             {"Content-Type": "application/rss+xml"})

    return site.add_handler("/busy/rss.xml", feed)


def quiet_feed(site) -> str:
    """Two articles published a year ago, and nothing since."""
    items = ""
    for n in (1, 2):
        site.add(f"/quiet/{n}.html", article_html(f"Quiet story {n}", extra_head=(
            '<meta property="article:published_time" content="2025-12-01T09:00:00+00:00">')))
        items += f"<item><title>Quiet story {n}</title><link>{site.url(f'/quiet/{n}.html')}</link></item>"
    return site.add("/quiet/rss.xml", (f'<?xml version="1.0"?><rss version="2.0"><channel>'
                                       f"<title>Quiet</title><link>{site.base}/</link>{items}"
                                       "</channel></rss>"), "application/rss+xml")


def test_auto_schedules_converge_busy_sources_checked_often_quiet_ones_rarely(
        site, newsmill, start_daemon):
    bounds = {"every": "auto", "every_min": "1s", "every_max": "30s"}
    daemon = start_daemon(sources_toml(busy={"urls": [busy_feed(site)], **bounds},
                                       quiet={"urls": [quiet_feed(site)], **bounds}))
    daemon.wait_for("five runs of the busy source",
                    lambda: len(finished(daemon.runs("busy"))) >= 5, timeout=90)
    report = {s["name"]: s for s in status_json(newsmill, daemon)["sources"]}
    assert daemon.stop() == 0

    assert len(finished(daemon.runs("quiet"))) == 1  # learnt after one run: 30 s from then
    assert report["quiet"]["schedule"] == "auto: every 30s (no new article in the last 7d)"
    assert report["busy"]["schedule"].startswith(("auto: every 1s", "auto: every 2s"))
    assert "articles in the last" in report["busy"]["schedule"]
    assert all(r["articles_new"] >= 1 for r in finished(daemon.runs("busy")))
    assert "quiet: checked every 30s instead of 1s" in daemon.log


def test_auto_bounds_are_checked_when_the_sources_file_is_read(tmp_path):
    import pytest

    from crawler.sources import SourcesError, load_sources

    path = tmp_path / "sources.toml"
    path.write_text('[[sources]]\nname = "s"\nurls = ["https://example.org/"]\n'
                    'every = "auto"\nevery_min = "2h"\nevery_max = "30m"\n')
    with pytest.raises(SourcesError, match=re.escape(
            "source 's': key 'every_min': every_min (7200s) is longer than every_max (1800s)")):
        load_sources(path)
    path.write_text('[[sources]]\nname = "s"\nurls = ["https://example.org/"]\nevery = "often"\n')
    with pytest.raises(SourcesError, match='or "auto"'):
        load_sources(path)
