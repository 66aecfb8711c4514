"""When each source is crawled: its trigger, its timeout, its back-off, and the interval of an
every = "auto" source. Plain schedule maths; the daemon (scheduler.py) applies it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.sources import Source, parse_duration
from crawler.times import duration_text, iso, now_utc
from pipelines.database import ArticleStore


@dataclass(frozen=True)
class DaemonSettings:
    """The NEWSMILL_DAEMON_* settings (documented in crawler/settings.py)."""

    heartbeat: float
    jitter: float
    min_timeout: float
    max_timeout: float
    kill_grace: float
    max_backoff: float
    extract_workers: int
    auto_window: float  # every = "auto": how far back the source's rhythm is read
    auto_checks: float  # every = "auto": checks per expected new article
    workers: int
    worker_max_crawls: int
    worker_max_memory: float  # MB
    keep_runs: float  # seconds a run is kept in full; 0: for ever (NEWSMILL_KEEP_RUNS)

    @classmethod
    def from_overrides(cls, overrides: dict) -> DaemonSettings:
        from scrapy.settings import Settings

        settings = Settings()
        settings.setmodule("crawler.settings", priority="project")
        settings.setdict(overrides, priority="cmdline")
        get = settings.getfloat
        return cls(
            heartbeat=get("NEWSMILL_DAEMON_HEARTBEAT"), jitter=get("NEWSMILL_DAEMON_JITTER"),
            min_timeout=get("NEWSMILL_DAEMON_MIN_TIMEOUT"),
            max_timeout=get("NEWSMILL_DAEMON_MAX_TIMEOUT"),
            kill_grace=get("NEWSMILL_DAEMON_KILL_GRACE"),
            max_backoff=get("NEWSMILL_DAEMON_MAX_BACKOFF"),
            extract_workers=settings.getint("NEWSMILL_DAEMON_EXTRACT_WORKERS"),
            auto_window=float(parse_duration(settings.get("NEWSMILL_DAEMON_AUTO_WINDOW"))),
            auto_checks=get("NEWSMILL_DAEMON_AUTO_CHECKS_PER_ARTICLE"),
            workers=settings.getint("NEWSMILL_DAEMON_WORKERS"),
            worker_max_crawls=settings.getint("NEWSMILL_DAEMON_WORKER_MAX_CRAWLS"),
            worker_max_memory=get("NEWSMILL_DAEMON_WORKER_MAX_MEMORY"),
            keep_runs=_keep_runs(settings.get("NEWSMILL_KEEP_RUNS")),
        )


def _keep_runs(value) -> float:
    """NEWSMILL_KEEP_RUNS in seconds: "30d", or 0 (keep every run)."""
    if str(value).strip() in ("0", "", "None", "off"):
        return 0.0
    try:
        return float(parse_duration(str(value).strip()))
    except ValueError as exc:
        raise ValueError(f"NEWSMILL_KEEP_RUNS: {exc} (or 0 to keep every run)") from None


def describe_schedule(source: Source) -> str:
    if source.cron:
        return f"cron {source.cron}" + (f" ({source.timezone})" if source.timezone else "")
    if source.auto:
        return f"auto ({source.every_min}-{source.every_max})"
    return f"every {source.every}"


def auto_interval(published: list[datetime], now: datetime, lowest: float, highest: float,
                  window: float, checks_per_article: float) -> tuple[float, str]:
    """The interval for an every = "auto" source, and why, from when its articles appeared.

    The interval is the mean time between the source's articles, divided by
    `checks_per_article`, within [lowest, highest]: a source that publishes every ten
    minutes is checked every five (two checks per article), one that has published nothing
    in the last `window` seconds at `highest`. The mean is taken over the whole window and
    over its last day and last six hours, and the busiest of the three counts, so a story
    breaking on a quiet source is followed within hours, not days. The rule of Miniflux's
    entry-frequency scheduler (interval = window / articles), measured from publication
    dates rather than from what each check found, so the first check already knows the
    source's rhythm from its feed or sitemap.
    """
    recent = sorted(t for t in published if 0 <= (now - t).total_seconds() <= window)
    if not recent:
        return highest, f"no new article in the last {duration_text(window)}"
    best = None
    for length in sorted({window, min(window, 86400.0), min(window, 21600.0)}, reverse=True):
        inside = [t for t in recent if (now - t).total_seconds() <= length]
        if inside:
            span = max((now - inside[0]).total_seconds(), lowest)
            gap = span / len(inside)
            if best is None or gap < best[0]:
                best = (gap, len(inside), span)
    gap, count, span = best
    interval = min(max(gap / checks_per_article, lowest), highest)
    return interval, f"{count} articles in the last {duration_text(span)}"


def _published_moment(text: str) -> datetime | None:
    """A stored date as an instant: a date is its midnight, a time without offset is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class ScheduledSource:
    """A source with its trigger and the limits the daemon holds it to."""

    source: Source
    trigger: IntervalTrigger | CronTrigger
    period: float  # seconds between two starts
    timeout: float  # seconds a crawl may run
    schedule: str

    @classmethod
    def build(cls, source: Source, settings: DaemonSettings) -> ScheduledSource:
        if source.cron:
            # No timezone: the machine's local time, as crontab reads its lines.
            trigger = CronTrigger.from_crontab(source.cron, timezone=source.timezone)
            first = trigger.get_next_fire_time(None, now_utc())
            second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
            period = (second - first).total_seconds()
        else:  # every = "auto" starts at its shortest interval until it has learnt (adapt)
            period = float(source.interval_seconds or parse_duration(source.every_min))
            trigger = IntervalTrigger(seconds=period)
            if source.auto:
                schedule = f"auto: every {source.every_min} (not crawled yet)"
        trigger.jitter = min(settings.jitter, period / 10) or None
        if source.timeout:
            timeout = float(parse_duration(source.timeout))
        else:  # an "auto" source's from its shortest interval: it may come to run that often
            timeout = min(max(period * 0.9, settings.min_timeout), settings.max_timeout)
        return cls(source, trigger, period, timeout,
                   schedule if source.auto else describe_schedule(source))

    def adapt(self, store: ArticleStore, settings: DaemonSettings, now: datetime) -> bool:
        """every = "auto": set the interval from the source's rhythm (auto_interval);
        True when it changed by more than a tenth."""
        since = iso(now - timedelta(seconds=settings.auto_window))
        published = [m for m in map(_published_moment, store.publication_times(
            self.source.name, since)) if m is not None]
        interval, why = auto_interval(
            published, now, float(parse_duration(self.source.every_min)),
            float(parse_duration(self.source.every_max)), settings.auto_window,
            settings.auto_checks)
        changed = abs(interval - self.period) > self.period / 10
        if changed:
            self.period = interval
        self.schedule = f"auto: every {duration_text(self.period)} ({why})"
        if not changed:
            return False
        self.trigger = IntervalTrigger(seconds=interval)
        self.trigger.jitter = min(settings.jitter, interval / 10) or None
        return True

    def first_run(self, last_started: datetime | None, backoff_until: datetime | None,
                  now: datetime) -> datetime:
        """When to start first: at once if a start was missed (one catch-up, not N).

        A source never crawled starts at once on an interval, at its next time on cron.
        """
        if self.source.cron:  # the trigger adds its jitter itself
            due = self.trigger.get_next_fire_time(
                None, last_started + timedelta(seconds=1) if last_started else now)
        else:
            due = max(last_started + timedelta(seconds=self.period) if last_started else now, now)
            due += timedelta(seconds=random.uniform(0, self.trigger.jitter or 0))
        return max(due, now, backoff_until or now)

    def backoff(self, failures: int, max_backoff: float) -> float:
        """Seconds to wait after `failures` failures in a row: doubling, capped."""
        return min(self.period * 2 ** failures, max(max_backoff, self.period))
