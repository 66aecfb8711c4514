"""What operators watch: Prometheus metrics at /metrics and a health check at /healthz.

`newsmill daemon --metrics-port` and `newsmill worker --metrics-port` serve them with the
official prometheus_client library. Counters move as crawls end; the gauges (how far behind
the schedule is, each source's last success, memory) are read when Prometheus scrapes, from
a `live()` callable of the daemon or worker, so nothing is kept up to date between scrapes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

logger = logging.getLogger("newsmill.metrics")

# How long after it was due a crawl started (seconds): the buckets the alert rules read.
LATENESS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600)


class MetricsError(RuntimeError):
    """The metrics server cannot start (the port is taken, say); meant for people."""


class CrawlMetrics:
    """The counters of what crawls did, and the live gauges of whoever crawls.

    `live()` returns a dict read at each scrape; any of its keys may be missing:
    running, waiting, limit, behind (seconds), workers ({name: RSS bytes}),
    sources ({name: (last success as a Unix time or None, interval in seconds)}),
    redis ({"waiting": n, "taken": n, "results_unstored": n}).
    """

    def __init__(self, live: Callable[[], dict], role: str):
        self.live = live
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # this process's CPU, memory, open files
        r = self.registry
        self.checks = Counter("newsmill_checks", f"Crawls of a source the {role} saw end, by "
                              "the status of their run", ["status"], registry=r)
        self.pages = Counter("newsmill_pages", "Pages fetched by those crawls", registry=r)
        self.articles = Counter("newsmill_articles", "Articles those crawls found, by what "
                                "they were to the store", ["change"], registry=r)
        self.errors = Counter("newsmill_errors", "Requests that failed, by kind (the errors "
                              "table's kind)", ["kind"], registry=r)
        self.bytes = Counter("newsmill_downloaded_bytes", "Bytes of the responses those crawls "
                             "received", registry=r)
        self.lateness = Histogram("newsmill_start_lateness_seconds", "How long after it was due "
                                  "each crawl started", buckets=LATENESS_BUCKETS, registry=r)
        r.register(self)

    def crawl_ended(self, run: dict, errors: dict[str, int]) -> None:
        """Count one finished run (a `runs` row) and its errors by kind."""
        self.checks.labels(run["status"]).inc()
        self.pages.inc(run.get("pages") or 0)
        for change in ("new", "updated", "unchanged", "duplicate"):
            if f"articles_{change}" in run:  # a worker's runs: the writer judges articles
                self.articles.labels(change).inc(run[f"articles_{change}"] or 0)
        for kind, count in errors.items():
            self.errors.labels(kind).inc(count)
        self.bytes.inc(run.get("bytes") or 0)

    def collect(self):
        """The live gauges (prometheus_client calls this at each scrape)."""
        try:
            state = self.live()
        except Exception:  # a scrape must not fail for the counters' sake
            logger.exception("cannot read the live metrics")
            return
        simple = {
            "running": ("newsmill_crawls_running", "Crawls running now"),
            "waiting": ("newsmill_crawls_waiting", "Crawls due and waiting for a slot"),
            "limit": ("newsmill_crawl_limit", "Crawls allowed at once now (it follows the work)"),
            "behind": ("newsmill_schedule_behind_seconds", "How long the oldest waiting crawl "
                       "has been due (0: on schedule)"),
        }
        for key, (name, text) in simple.items():
            if key in state:
                yield GaugeMetricFamily(name, text, value=state[key])
        if "workers" in state:
            memory = GaugeMetricFamily("newsmill_worker_memory_bytes", "Resident memory of each "
                                       "crawl worker with its extraction workers", labels=["worker"])
            for worker, rss in state["workers"].items():
                memory.add_metric([str(worker)], rss)
            yield memory
        if "sources" in state:
            now = time.time()
            age = GaugeMetricFamily("newsmill_source_last_success_age_seconds", "Seconds since "
                                    "the source's last run that ended ok", labels=["source"])
            interval = GaugeMetricFamily("newsmill_source_interval_seconds", "Seconds between "
                                         "two checks of the source", labels=["source"])
            for name, (last, seconds) in state["sources"].items():
                if last is not None:
                    age.add_metric([name], max(0.0, now - last))
                interval.add_metric([name], seconds)
            yield age
            yield interval
        if "redis" in state:
            redis = state["redis"]
            for key, name, text in (
                    ("waiting", "newsmill_redis_tasks_waiting", "Tasks on Redis no worker took yet"),
                    ("taken", "newsmill_redis_tasks_pending", "Tasks a worker took and has not "
                     "finished"),
                    ("results_unstored", "newsmill_redis_results_unstored", "Results on Redis "
                     "not yet written to the store")):
                if key in redis:
                    yield GaugeMetricFamily(name, text, value=redis[key])

    def describe(self):
        return []  # collected at scrape time only (prometheus_client's custom collector API)


class Heartbeat:
    """The loop that must keep coming round: /healthz answers 503 once it has not for
    `stuck_after` seconds (a database locked for long, a deadlock, a hung reactor)."""

    def __init__(self, stuck_after: float, what: str):
        self.stuck_after = stuck_after
        self.what = what
        self.last = time.monotonic()
        self.alive: Callable[[], bool] = lambda: True  # anything else that must be running

    def beat(self) -> None:
        self.last = time.monotonic()

    def health(self) -> tuple[bool, str]:
        quiet = time.monotonic() - self.last
        if quiet > self.stuck_after:
            return False, f"stuck: the {self.what} has not come round for {quiet:.0f}s\n"
        if not self.alive():
            return False, f"stuck: the {self.what}'s scheduler is not running\n"
        return True, f"ok: the {self.what} came round {quiet:.1f}s ago\n"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every 15 s are not news for the log
        pass


class MetricsServer:
    """/metrics (Prometheus text format), /healthz, on `host:port`, in a thread of its own."""

    def __init__(self, metrics: CrawlMetrics, heartbeat: Heartbeat, host: str, port: int):
        metrics_app = make_wsgi_app(metrics.registry)

        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                return metrics_app(environ, start_response)
            if path == "/healthz":
                ok, text = heartbeat.health()
                start_response("200 OK" if ok else "503 Service Unavailable",
                               [("Content-Type", "text/plain; charset=utf-8")])
                return [text.encode()]
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"newsmill: /metrics (Prometheus) and /healthz\n"]

        try:
            # prometheus_client's own start_http_server serves the metrics on every path;
            # its server class is used here with an app that also answers /healthz.
            self.server = make_server(host, port, app, ThreadingWSGIServer,
                                      handler_class=_QuietHandler)
        except OSError as exc:
            raise MetricsError(f"--metrics-port {port}: cannot listen on {host}:{port}: "
                               f"{exc.strerror or exc}") from None
        self.host, self.port = host, self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="newsmill-metrics",
                                       daemon=True)
        self.thread.start()
        logger.info("metrics at http://%s:%d/metrics, health at /healthz", self.host, self.port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
