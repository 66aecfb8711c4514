"""What `newsmill status` reports: the daemon, each source's state and last run, and the
Redis queue, as plain data (its --json output); read from the store, never written."""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

from crawler.schedule import describe_schedule
from crawler.sources import Source, SourcesError, load_sources
from crawler.times import now_utc, parse_time
from pipelines.database import ArticleStore, process_is_alive


def run_is_live(run: dict) -> bool:
    """Whether a `running` run's crawl still runs: its process, on this host; a worker on
    another host is Redis's to judge (the writer interrupts its run when another worker
    takes its task over)."""
    if run.get("task") and run["host"] != socket.gethostname():
        return True
    return process_is_alive(run["pid"], run["started"])


def redis_report(url: str, prefix: str = "newsmill:") -> dict:
    """The queue and the workers, as `newsmill status --redis` shows them."""
    from crawler.redis_link import RedisLink, RedisUnavailable

    link = RedisLink(url, prefix, timeout=5.0)
    try:
        link.ping()
        report = {"url": link.where, "reachable": True, "queue": link.queue(), "workers": []}
        for worker in link.workers():
            age = (now_utc() - parse_time(worker["last_seen"])).total_seconds()
            report["workers"].append({**worker, "last_seen_age": round(max(0.0, age), 1)})
        return report
    except RedisUnavailable as exc:
        return {"url": link.where, "reachable": False, "error": str(exc)}
    finally:
        link.client.close()


def status_report(db_path: str, sources_file: str | None = None,
                  fallback_sources: str | None = None, redis_url: str | None = None) -> dict:
    """What `newsmill status` shows, as plain data (its --json output)."""
    store = ArticleStore(db_path)
    try:
        daemon = store.latest_daemon()
        schedules = store.source_schedules()
        last_runs = store.last_runs()
        running = store.running_runs()
    finally:
        store.close()
    report: dict = {"database": str(db_path), "daemon": None, "sources": []}
    alive = False
    if daemon:
        age = (now_utc() - parse_time(daemon["heartbeat"])).total_seconds()
        stale_after = max(3 * (daemon["heartbeat_seconds"] or 5), 15)
        same_host = daemon["host"] == socket.gethostname()
        alive = (not daemon["stopped"] and age <= stale_after
                 and (not same_host or process_is_alive(daemon["pid"], daemon["started"])))
        report["daemon"] = {**{k: daemon[k] for k in ("pid", "host", "started", "heartbeat",
                                                      "stopped", "sources_file",
                                                      "max_parallel", "crawl_limit",
                                                      "crawls_running", "crawls_waiting",
                                                      "behind_seconds", "pressure")},
                            "alive": alive, "heartbeat_age": round(age, 1)}
    sources_file = sources_file or (daemon or {}).get("sources_file")
    if not sources_file and fallback_sources and Path(fallback_sources).exists():
        sources_file = fallback_sources
    sources: list[Source] = []
    if sources_file:
        try:
            sources = load_sources(sources_file)
        except SourcesError as exc:
            report["sources_error"] = str(exc)
    report["sources_file"] = sources_file
    names = [s.name for s in sources] + sorted(set(schedules) - {s.name for s in sources})
    by_name = {s.name: s for s in sources}
    running_by_source: dict[str, list[dict]] = {}
    for run in running:
        running_by_source.setdefault(run["source"], []).append(run)
    now = now_utc()
    for name in names:
        source, schedule = by_name.get(name), schedules.get(name, {})
        last = last_runs.get(name)
        live = [r for r in running_by_source.get(name, ()) if run_is_live(r)]
        report["sources"].append({
            "name": name,
            "schedule": (describe_schedule(source) + ("" if source.enabled else " (paused)"))
            if source and not (source.auto and source.enabled and alive
                               and schedule.get("schedule"))
            else schedule.get("schedule"),
            "enabled": source.enabled if source else None,
            "next_run": schedule.get("next_run") if alive else None,
            "running": bool(live),
            "running_since": live[0]["started"] if live else None,
            "failures": schedule.get("failures", 0),
            "backoff_until": schedule.get("backoff_until"),
            "note": schedule.get("last_note"),
            "last_run": _run_summary(last) if last else None,
        })
        entry = report["sources"][-1]
        entry["state"] = source_state(entry, source, alive, report["daemon"], now)
    report["totals"] = {"sources": len(report["sources"]),
                        **{state: sum(s["state"] == state for s in report["sources"])
                           for state in SOURCE_STATES}}
    if redis_url:
        report["redis"] = redis_report(redis_url)
    return report


# What `newsmill status` says of a source, those needing attention first.
SOURCE_STATES = ("failing", "late", "not scheduled", "running", "on schedule", "paused")
# A start this many seconds past its time, with no run going, is late.
LATE_AFTER = 30.0


def source_state(entry: dict, source: Source | None, daemon_alive: bool, daemon: dict | None,
                 now: datetime) -> str:
    """failing (failures in a row, or the last run failed), late (due and not started),
    running, on schedule, paused (enabled = false), or not scheduled (no daemon alive, or
    a source no longer in the sources file)."""
    last = entry["last_run"]
    if entry["failures"] or (last and last["status"] == "failed"):
        return "failing"
    if entry["running"]:
        return "running"
    if source is None:
        return "not scheduled"
    if not source.enabled:
        return "paused"
    if not daemon_alive:
        return "not scheduled"
    backoff = parse_time(entry["backoff_until"])
    if backoff and backoff > now:
        return "on schedule"
    next_run = parse_time(entry["next_run"])
    if next_run and (now - next_run).total_seconds() > LATE_AFTER:
        return "late"
    if source.interval_seconds:
        # APScheduler moves next_run on as soon as a start is handed to its pool, so a start
        # waiting for a free slot shows only here: one period (plus at most the jitter,
        # NEWSMILL_DAEMON_JITTER's default) after the last start, nothing has started.
        started = parse_time(last["started"]) if last else parse_time(daemon["started"])
        period = source.interval_seconds
        waited = (now - started).total_seconds() - period - min(30.0, period / 10)
        if waited > LATE_AFTER:
            return "late"
    return "on schedule"


def _run_summary(run: dict) -> dict:
    finished = parse_time(run["finished"])
    duration = (finished - parse_time(run["started"])).total_seconds() if finished else None
    keys = ("id", "started", "finished", "status", "pages", "articles_new", "articles_updated",
            "articles_unchanged", "not_articles", "errors")
    return {**{k: run[k] for k in keys}, "duration": duration}
