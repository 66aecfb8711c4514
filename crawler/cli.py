"""The `newsmill` command line: a thin face over the crawler, the store and the scheduler.

Exit status: 0 every source ok; 1 some source failed, was partial or interrupted, or
the database could not be written during the crawl; 2 bad usage or configuration, or a
database that cannot be opened or written at all (nothing was started).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from datetime import datetime

import click

from crawler.sources import SourcesError, adhoc_source, load_sources, select_sources

# Scrapy, sqlite-utils and the store are imported by the commands that use them: the
# extraction workers (spawned processes) import this module again as their __main__, and
# `newsmill --help` should not wait for them either.

DEFAULT_SOURCES = "data/sources.toml"
DEFAULT_DB = "data/newsmill.db"
EXIT_OK, EXIT_PARTIAL, EXIT_CONFIG = 0, 1, 2


def fail_config(message: str, status: int = EXIT_CONFIG) -> None:
    click.echo(f"newsmill: {message}", err=True)
    sys.exit(status)


def check_store(db_path: str, settings) -> None:
    """Fail now, with a clear message, if the crawl could not write its database.

    Exit 2 when the file cannot be opened, created or written at all (read-only,
    damaged, a directory...); 1 when it is only busy (locked by another writer).
    """
    from pipelines.database import StoreError, StoreWriteError
    from pipelines.storage import open_store

    try:
        store = open_store(db_path, settings)
    except StoreError as exc:
        fail_config(str(exc))
    try:
        store.check_writable()
    except StoreWriteError as exc:
        fail_config(str(exc), EXIT_PARTIAL if exc.kind in ("locked", "full") else EXIT_CONFIG)
    finally:
        store.close()


def check_redis_url(ctx, param, value: str | None) -> str | None:
    """A Redis URL redis-py can use, or a usage error naming the option."""
    if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
        raise click.BadParameter(f"{value!r} is not a Redis URL: redis://HOST:PORT/DB, "
                                 "rediss:// (TLS) or unix:///path/to/redis.sock")
    return value


def parse_settings(pairs: tuple[str, ...]) -> dict:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="-s")
        settings[name.strip()] = value
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsmill")
def cli():
    """newsmill: collect articles from the web on a schedule, into SQLite.

    Sources (feeds, sitemaps, section pages, articles) are listed in a TOML file;
    articles are extracted with trafilatura and stored in a SQLite database that
    Datasette can open.
    """


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--sources", "sources_file", default=DEFAULT_SOURCES, show_default=True,
              help="Sources file (TOML, or a text file of URLs).")
@click.option("--source", "names", multiple=True, metavar="NAME",
              help="Crawl only this source (repeatable). Default: every enabled source.")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("--max-articles", type=click.IntRange(min=0), default=None,
              help="At most N articles per source in this run (0: no limit).")
@click.option("--kind", type=click.Choice(["feed", "sitemap", "page", "article"]), default=None,
              help="With URLs: what they are (default: recognised from each response).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SETTING=VALUE",
              help="Override a Scrapy or newsmill setting, e.g. -s DOWNLOAD_DELAY=0.")
@click.option("--log-level", default=None,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Log level (default: WARNING with a progress bar, INFO otherwise).")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
def crawl(urls, sources_file, names, db_path, max_articles, kind, overrides, log_level, debug):
    """Crawl sources once, now, into the database.

    With URLs, crawl them as one ad-hoc source named "adhoc"; otherwise crawl the
    sources named with --source, or every enabled source in the sources file.

    \b
    Examples:
      newsmill crawl
      newsmill crawl --source example-news --max-articles 20
      newsmill crawl https://example.org/feed.xml --db /tmp/test.db
    """
    try:
        if urls:
            sources = [adhoc_source(list(urls), **({"kind": kind} if kind else {}))]
        else:
            everything = load_sources(sources_file)
            sources = select_sources(everything, names) if names else \
                [s for s in everything if s.enabled]
            if not sources:
                fail_config(f"{sources_file}: no enabled sources to crawl")
    except SourcesError as exc:
        fail_config(str(exc))
    if max_articles is not None:
        sources = [dataclasses.replace(s, max_articles=max_articles) for s in sources]
    # Scrapy's and the store's imports leave some 65,000 objects that live as long as the
    # process: with Python's default thresholds, ~170 collections that find no garbage, ~15 ms
    # of every crawl's start. The crawl runs with these thresholds (runner.tune_garbage_collector).
    gc.set_threshold(10_000, 10, 10)
    from crawler.runner import crawl_once, crawl_settings

    settings = parse_settings(overrides)
    configured = crawl_settings(sources, db_path, settings, log_level)
    check_engine(configured)
    check_store(db_path, configured)
    outcome = crawl_once(sources, db_path, settings, log_level)
    status = summary_status(db_path, outcome)
    # Everything is written and closed. Python's last garbage collection at exit walks every
    # object a crawl left (~0.25 s, a sixth of re-crawling a 2000-page site); frozen objects
    # are left to the operating system instead.
    gc.freeze()
    sys.exit(status)


@cli.command("import-warc")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--source", "source_name", required=True, metavar="NAME",
              help="The source the articles and the run are recorded under.")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SETTING=VALUE",
              help="Override a setting, e.g. -s EXTRACT_WORKERS=4.")
@click.option("--log-level", default=None,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Log level (default: WARNING with a progress bar, INFO otherwise).")
def import_warc(files, source_name, db_path, overrides, log_level):
    """Store the articles in WARC files, as one run of source NAME.

    The files may come from any crawler (CC-NEWS, Heritrix, wget --warc-file,
    Browsertrix). Each HTTP response in the files goes through the crawl's recognition, extraction,
    de-duplication and store; nothing is fetched. Importing a file again stores nothing
    twice. A damaged record (truncated, wrong length or digest, broken HTTP headers) gets a
    line naming the file and offset, and the rest of the file is imported. Exit status: 0
    all well, 1 some record or page failed, 2 a file could not be read as WARC (the others
    are imported all the same) or nothing could start.

    \b
    Examples:
      newsmill import-warc CC-NEWS-20261201093512-00001.warc.gz --source cc-news
      newsmill import-warc crawl/*.warc.gz --source example-news --db data/newsmill.db
    """
    from crawler.import_warc import import_files, import_settings

    if not source_name.strip():
        fail_config("--source: a source name is needed")
    settings = parse_settings(overrides)
    configured = import_settings(source_name, db_path, settings, log_level)
    check_engine(configured)
    check_store(db_path, configured)
    outcome = import_files(list(files), source_name, db_path, settings, log_level)
    unreadable = False
    for counts in outcome.files:
        if counts.unreadable:
            unreadable = True
            click.echo(f"newsmill: {counts.path}: cannot be imported: {counts.unreadable}", err=True)
            continue
        skipped = ", ".join(f"{n} {what}" for what, n in sorted(counts.skipped.items()))
        click.echo(f"newsmill: {counts.path}: {counts.records} records, {counts.responses} "
                   f"responses read, {counts.bad} bad records, skipped: {skipped or 'none'}",
                   err=True)
    status = summary_status(db_path, outcome, title=f"newsmill import-warc into {db_path}")
    gc.freeze()  # as after a crawl: nothing left for the last collection to free
    sys.exit(EXIT_CONFIG if unreadable else status)


@cli.command()
@click.option("--source", "source_name", default=None, metavar="NAME",
              help="Only the articles of this source.")
@click.option("--since", default=None, metavar="DATE",
              help="Only articles last seen on or after DATE (YYYY-MM-DD, or a time; UTC).")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SETTING=VALUE",
              help="Override a setting, e.g. -s EXTRACT_INCLUDE_TABLES=False.")
@click.option("--log-level", default=None,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Log level (default: WARNING with a progress bar, INFO otherwise).")
def reextract(source_name, since, db_path, overrides, log_level):
    """Extract stored articles again from their archived pages, with no network.

    Each article's newest archived page (see `archived_pages`) is extracted again with
    the engine and settings of now (-s as for `crawl`), on every core. An article whose
    text or fields change gets them as a new version, marked in its history as a
    re-extraction rather than an edit by its publisher, and is judged again for
    duplicates. Killed or stopped, the same command goes on where it stopped. Articles
    with no archived page are counted and named, not fatal. Exit status: 0 all well, 1
    some page could not be read or extracted, 2 nothing could start.

    \b
    Examples:
      newsmill reextract -s EXTRACT_INCLUDE_TABLES=False
      newsmill reextract --source example-news --since 2026-11-01 --db data/newsmill.db
    """
    from pathlib import Path

    from crawler.reextract import chosen_sources, reextract, reextract_settings, summary

    if since is not None:
        try:
            datetime.fromisoformat(since)
        except ValueError:
            fail_config(f"--since: {since!r} is not a date (YYYY-MM-DD) or an ISO time")
    if not Path(db_path).is_file():
        fail_config(f"{db_path}: no such database (--db)")
    from pipelines.database import StoreError

    settings = parse_settings(overrides)
    try:
        sources = chosen_sources(db_path, source_name)
    except StoreError as exc:
        fail_config(str(exc))
    if not sources:
        fail_config(f"{db_path}: no stored article to re-extract")
    configured = reextract_settings(sources, db_path, source_name, since, settings, log_level)
    check_engine(configured)
    check_store(db_path, configured)
    outcome = reextract(db_path, source_name, since, settings, log_level)
    status = summary_status(db_path, outcome, title=f"newsmill reextract in {db_path}")
    for line in summary(db_path, outcome):
        click.echo(f"newsmill: {line}", err=True)
    gc.freeze()  # as after a crawl: nothing left for the last collection to free
    sys.exit(status)


def check_engine(settings) -> None:
    """A mistyped EXTRACT_ENGINE is a configuration error before the crawl, not a crawl
    that stores nothing."""
    from pipelines.extraction import ENGINES

    engine = settings.get("EXTRACT_ENGINE") or "newsmill"
    if engine not in ENGINES:
        fail_config(f"EXTRACT_ENGINE must be one of {', '.join(ENGINES)}, not {engine!r}")


def summary_status(db_path: str, outcome, title: str | None = None) -> int:
    """Print the runs' summary table; the exit status it and the store's failure give."""
    from pipelines.database import StoreError

    try:
        status = print_summary(db_path, outcome.run_ids, title)
    except StoreError as exc:
        click.echo(f"newsmill: cannot show the summary: {exc}", err=True)
        status = EXIT_PARTIAL
    if outcome.store_failure:
        click.echo(f"newsmill: {outcome.store_failure}", err=True)
        status = EXIT_PARTIAL
    return status


def print_summary(db_path: str, run_ids: dict[str, int], title: str | None = None) -> int:
    """A table of this crawl's runs; returns the exit status they add up to.

    An interrupted crawl (SIGTERM, Ctrl-C) also gets a line on stderr saying so.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pipelines.database import ArticleStore

    store = ArticleStore(db_path)
    rows = [store.db["runs"].get(run_id) for run_id in run_ids.values()]
    store.close()
    from rich import box

    # A rule under the header, a space between columns: twelve columns in 100 characters.
    table = Table(title=title or f"newsmill crawl into {db_path}", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, padding=0)
    for column in ("source", "status", "pages", "new", "updated", "unchanged", "duplicate",
                   "aliases", "not articles", "listings", "errors", "time"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right",
                         no_wrap=True)
    for row in rows:
        cells = (row["source"], row["status"], row["pages"], row["articles_new"],
                 row["articles_updated"], row["articles_unchanged"], row["articles_duplicate"],
                 row["aliases"], row["not_articles"], row["listings"], row["errors"],
                 _duration(row))
        # Text cells are never read as markup: whatever a value holds prints as it is.
        table.add_row(*(Text(str(c)) for c in cells))
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160  # a log file or a pipe: room for every column, no truncation
    console.print(table)
    if any(r["status"] == "interrupted" for r in rows):
        stored = sum(r["articles_new"] + r["articles_updated"] for r in rows)
        click.echo(f"newsmill: the crawl was stopped before it finished (a signal, or Ctrl-C): "
                   f"{stored} new or updated articles were stored; run it again to go on", err=True)
    if not rows:
        return EXIT_PARTIAL
    return EXIT_OK if all(r["status"] == "ok" for r in rows) else EXIT_PARTIAL


def _duration(row) -> str:
    if not row.get("finished"):
        return "-"
    seconds = (datetime.fromisoformat(row["finished"]) - datetime.fromisoformat(row["started"]))
    return f"{seconds.total_seconds():.0f}s"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@cli.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback exposes the store to the network.")
@click.option("--open", "open_browser", is_flag=True, help="Open the home page in a browser.")
def serve(db_path, port, host, open_browser):
    """Browse and search the store in Datasette, read-only.

    Opens the database as /newsmill with newsmill's metadata: described tables,
    article search, facets, canned queries (latest articles, failed runs, errors,
    duplicates, article history, quiet sources), a dashboard at /-/dashboards and an
    Atom feed of the latest articles. Safe to run while a crawl or the daemon writes.

    \b
    Examples:
      newsmill serve
      newsmill serve --db /tmp/test.db --port 8080 --open
    """
    from crawler.serve import ServeError
    from crawler.serve import serve as run_datasette

    if not is_loopback(host):
        click.echo(f"newsmill: warning: serving on {host}:{port} with no authentication; "
                   "anyone who can reach it can read the whole store", err=True)
    try:
        run_datasette(db_path, host, port, open_browser)
    except ServeError as exc:
        fail_config(str(exc))


@cli.command()
@click.option("--sources", "sources_file", default=DEFAULT_SOURCES, show_default=True,
              help="Sources file (TOML); each source's every/cron, timeout and enabled apply.")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("--max-parallel", type=click.IntRange(min=1), default=None, metavar="N",
              help="At most N crawls at once. Default: as many as are due, while the CPU and "
                   "memory carry them (up to 256); with --redis, 256 queued at once.")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="On SIGTERM/SIGINT, seconds running crawls get to finish before being stopped.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SETTING=VALUE",
              help="Override a setting, for the daemon (NEWSMILL_DAEMON_*) and every crawl.")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also log to this file, rotated at 10 MB (5 kept).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--redis", "redis_url", envvar="NEWSMILL_REDIS_URL", default=None,
              metavar="URL", callback=check_redis_url, help="Queue due sources on this Redis for `newsmill worker`s "
              "(redis://host:6379/0; also $NEWSMILL_REDIS_URL) instead of crawling here.")
@click.option("--no-store", is_flag=True,
              help="With --redis: leave writing the workers' results to `newsmill store`.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="Serve Prometheus metrics at /metrics and a health check at /healthz.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="The address --metrics-port listens on (0.0.0.0: every interface).")
def daemon(sources_file, db_path, max_parallel, grace, overrides, log_file, log_level,
           redis_url, no_store, metrics_port, metrics_host):
    """Crawl every enabled source on its own schedule, until stopped.

    Crawls run in long-lived crawl worker processes, many at once, each its own run;
    one that runs past its source's timeout is stopped alone and its run marked
    interrupted. SIGTERM or SIGINT: start nothing new, give
    running crawls --grace seconds, stop them, exit 0. SIGHUP: re-read the sources file
    (on an error the old schedule stays). One daemon per database.

    \b
    Examples:
      newsmill daemon --sources data/sources.toml --db data/newsmill.db
      newsmill daemon --metrics-port 9464 --log-file /var/log/newsmill/daemon.log
      newsmill daemon --redis redis://10.0.0.5:6379/0 --max-parallel 100
    """
    from crawler.logs import configure_logging
    from pipelines.database import ArticleStore, StoreError
    from scheduler import Daemon, DaemonError

    try:
        if not any(s.enabled for s in load_sources(sources_file)):
            click.echo(f"newsmill: {sources_file}: every source is disabled; the daemon will "
                       "wait for a SIGHUP", err=True)
        ArticleStore(db_path).close()
    except (SourcesError, StoreError) as exc:
        fail_config(str(exc))
    check_engine(parse_settings(overrides))  # not a daemon whose every crawl would fail
    configure_logging(log_level, log_file)
    try:
        code = Daemon(sources_file, db_path, max_parallel, grace, parse_settings(overrides),
                      redis_url=redis_url, write=not no_store, metrics_port=metrics_port,
                      metrics_host=metrics_host).run()
    except DaemonError as exc:
        fail_config(str(exc))
    sys.exit(code)


REDIS_HELP = "The daemon's Redis (redis://host:6379/0; also $NEWSMILL_REDIS_URL)."


@cli.command()
@click.option("--redis", "redis_url", envvar="NEWSMILL_REDIS_URL", required=True, metavar="URL",
              callback=check_redis_url, help=REDIS_HELP)
@click.option("--crawls", type=click.IntRange(min=1), default=8, show_default=True,
              help="At most N crawls at once in this worker.")
@click.option("--extract-workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extraction processes, shared by the crawls (0: one per core).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SETTING=VALUE",
              help="Override a setting for this worker's crawls (the daemon's -s come with "
                   "each task and win).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--max-crawls", type=click.IntRange(min=0), default=None, metavar="N",
              help="Retire after taking N crawls: finish them, exit 0 (for the supervisor to "
                   "start a fresh worker). Default NEWSMILL_DAEMON_WORKER_MAX_CRAWLS (1000); 0: "
                   "never.")
@click.option("--max-memory", type=click.FloatRange(min=0), default=None, metavar="MB",
              help="Retire the same way above MB of resident memory (with its extraction "
                   "workers). Default NEWSMILL_DAEMON_WORKER_MAX_MEMORY (1024); 0: no ceiling.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="Serve Prometheus metrics at /metrics and a health check at /healthz.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="The address --metrics-port listens on (0.0.0.0: every interface).")
def worker(redis_url, crawls, extract_workers, overrides, log_level, max_crawls, max_memory,
           metrics_port, metrics_host):
    """Crawl sources the daemon queues on Redis, on this machine, until stopped.

    Takes due sources from `newsmill daemon --redis`'s queue, crawls and extracts them,
    and sends articles, errors and run records back through Redis to the one writer.
    Start any number, on any machine that reaches Redis and the web. SIGTERM or SIGINT:
    take nothing new, give running crawls NEWSMILL_DAEMON_KILL_GRACE seconds, hand the
    rest back to the queue for another worker. Like the daemon's own crawl workers, it
    retires after --max-crawls crawls or above --max-memory: it takes nothing new, lets
    its crawls end, exits 0, and its supervisor (systemd: Restart=always) starts a new one.

    \b
    Examples:
      newsmill worker --redis redis://10.0.0.5:6379/0
      newsmill worker --redis redis://10.0.0.5:6379/0 --crawls 16 --extract-workers 4
    """
    from crawler.remote_worker import run_worker
    from crawler.schedule import DaemonSettings

    settings = parse_settings(overrides)
    check_engine(settings)
    limits = DaemonSettings.from_overrides(settings)
    sys.exit(run_worker(
        redis_url, crawls, extract_workers, settings, log_level.upper(),
        limits.worker_max_crawls if max_crawls is None else max_crawls,
        limits.worker_max_memory if max_memory is None else max_memory,
        (metrics_host, metrics_port) if metrics_port is not None else None))


@cli.command()
@click.option("--redis", "redis_url", envvar="NEWSMILL_REDIS_URL", required=True, metavar="URL",
              callback=check_redis_url, help=REDIS_HELP)
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SETTING=VALUE",
              help="Override a setting (NEWSMILL_DB_BUSY_TIMEOUT, ...).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def store(redis_url, db_path, overrides, log_level):
    """Write what the workers send through Redis into the database, until stopped.

    The daemon does this itself unless started with --no-store. One writer at a time:
    a second one stands by until the first is gone. What the workers send waits in Redis
    while no writer runs, or while the database cannot be written (disk full), and is
    written, in order, once it can be.

    \b
    Example:
      newsmill store --redis redis://10.0.0.5:6379/0 --db data/newsmill.db
    """
    from crawler.logs import configure_logging
    from crawler.remote_writer import run_store
    from pipelines.database import ArticleStore, StoreError

    try:
        ArticleStore(db_path).close()
    except StoreError as exc:
        fail_config(str(exc))
    configure_logging(log_level)
    sys.exit(run_store(redis_url, db_path, parse_settings(overrides)))


@cli.command()
@click.option("--sources", "sources_file", default=None,
              help="Sources file for the schedules (default: the daemon's, else "
                   f"{DEFAULT_SOURCES}).")
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("--source", "source_name", default=None, metavar="NAME",
              help="Show everything about this one source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts and monitoring).")
@click.option("--redis", "redis_url", envvar="NEWSMILL_REDIS_URL", default=None, metavar="URL",
              callback=check_redis_url,
              help="Also show the queue and the workers of this Redis (also $NEWSMILL_REDIS_URL).")
def status(sources_file, db_path, source_name, as_json, redis_url):
    """Show whether the daemon is alive, totals, and one line per source, those needing
    attention (failing, late) first.

    Works while the daemon runs (it reads the heartbeat and runs the daemon records).

    \b
    Examples:
      newsmill status
      newsmill status --source example-news
      newsmill status --db data/newsmill.db --json
      newsmill status --redis redis://10.0.0.5:6379/0
    """
    from pathlib import Path

    from crawler.status import status_report
    from pipelines.database import StoreError

    if not Path(db_path).exists():
        fail_config(f"{db_path}: no such database (crawl or start the daemon first)")
    try:
        report = status_report(db_path, sources_file, fallback_sources=DEFAULT_SOURCES,
                               redis_url=redis_url)
    except StoreError as exc:
        fail_config(str(exc))
    if source_name is not None:
        found = [s for s in report["sources"] if s["name"] == source_name]
        if not found:
            fail_config(f"no source named {source_name!r} in {report['sources_file'] or db_path}")
        report["sources"] = found
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif source_name is not None:
        print_daemon(report)
        print_source(found[0])
    else:
        print_status(report)
    if "redis" in report and not as_json:
        print_redis(report["redis"])


@cli.command()
@click.argument("dest", type=click.Path(path_type=str))
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database.")
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
def backup(dest, db_path, force):
    """Copy the store to DEST, consistently, while the daemon and crawls write.

    The copy is one snapshot of the store (SQLite's VACUUM INTO: compact, one file, no
    -wal) that never holds a writer up. It is written to DEST.tmp, checked with PRAGMA
    integrity_check and renamed to DEST; an existing DEST is left alone unless --force.
    DEST a directory: the copy is DEST/newsmill-YYYYMMDDTHHMMSSZ.db (UTC). To restore,
    stop the daemon, copy the backup over the store and delete the store's -wal and -shm
    files; or point --db at the backup.

    \b
    Examples:
      newsmill backup /var/backups/newsmill/
      newsmill backup --db data/newsmill.db /tmp/newsmill-copy.db --force
    """
    from pipelines.backup import BackupError, backup_store

    try:
        done = backup_store(db_path, dest, force)
    except BackupError as exc:
        fail_config(str(exc), EXIT_CONFIG if exc.before_copy else EXIT_PARTIAL)
    click.echo(f"newsmill: backed up {db_path} to {done.path}: {done.size / 1e6:.1f} MB, "
               f"{done.articles} articles, {done.runs} runs, schema version "
               f"{done.schema_version}, in {done.seconds:.1f} s")


def print_redis(redis: dict) -> None:
    """The queue and a line per worker (host, pid, sources in hand, last seen)."""
    if not redis["reachable"]:
        click.echo(f"\nredis: {redis['error']}")
        return
    queue = redis["queue"]
    click.echo(f"\nredis: {redis['url']}: {queue['waiting']} sources queued, {queue['taken']} "
               f"taken by workers, {queue.get('results_unstored', 0)} results not yet stored")
    workers = redis["workers"]
    click.echo(f"workers: {len(workers)}")
    for w in workers:
        state = " (stopping)" if w.get("stopping") else \
            f" (retiring {w['retiring']})" if w.get("retiring") else ""
        hand = ", ".join(w["sources"]) or "-"
        click.echo(f"  {w['host']}  pid {w['pid']}{state}  last seen {w['last_seen_age']:.0f}s "
                   f"ago  {w['done']} crawls done  in hand ({len(w['sources'])}/{w['crawls']}): "
                   f"{hand}")


def print_daemon(report: dict) -> None:
    from crawler.status import LATE_AFTER

    daemon = report["daemon"]
    if daemon is None:
        click.echo(f"daemon: never started on {report['database']}")
    elif daemon["alive"]:
        click.echo(f"daemon: alive (pid {daemon['pid']} on {daemon['host']}, since "
                   f"{daemon['started']}, heartbeat {daemon['heartbeat_age']:.0f}s ago)")
        if daemon["crawl_limit"] is not None:
            ceiling = f"at most {daemon['max_parallel']}" if daemon["max_parallel"] else \
                "following the load"
            click.echo(f"crawls: {daemon['crawls_running']} running, {daemon['crawls_waiting']} "
                       f"waiting; {daemon['crawl_limit']} allowed at once now ({ceiling})")
        if daemon["crawls_waiting"] and (daemon["behind_seconds"] or 0) >= LATE_AFTER:
            from crawler.times import duration_text

            click.echo(f"behind schedule by {duration_text(daemon['behind_seconds'])} ("
                       f"{daemon['pressure'] or 'crawls are waiting for a free slot'})")
    else:
        stopped = f", stopped {daemon['stopped']}" if daemon["stopped"] else ""
        click.echo(f"daemon: not running (last heartbeat {daemon['heartbeat']}{stopped})")
    click.echo(f"sources: {report.get('sources_error') or report['sources_file'] or 'none'}")


def print_status(report: dict) -> None:
    """Totals, then a table with a line per source (grep-able), those needing attention first.

    Plain columns, not a rich Table: rich measured and laid out 1,000 sources in 0.5 s,
    most of `newsmill status`'s time with that many."""
    from crawler.status import SOURCE_STATES

    print_daemon(report)
    totals = report["totals"]
    click.echo(f"{totals['sources']} sources: " + ", ".join(
        f"{totals[state]} {state}" for state in SOURCE_STATES if totals[state]
        or state in ("on schedule", "late", "failing", "running")))
    if not report["sources"]:
        return
    order = {state: n for n, state in enumerate(SOURCE_STATES)}
    rows = sorted(report["sources"], key=lambda s: order[s["state"]])
    header = ("source", "state", "schedule", "last run", "result", "new", "errors", "next run",
              "note")
    now = datetime.now().astimezone()
    lines = []
    for source in rows:
        last = source["last_run"]
        note = source["note"] or ""
        if source["failures"]:
            note = f"{source['failures']} failures in a row" + (
                f", backing off until {source['backoff_until']}" if source["backoff_until"]
                else "") + (f"; {note}" if note else "")
        lines.append(tuple(str(c) for c in (
            source["name"], source["state"], source["schedule"] or "-",
            _ago(last["started"], now) if last else "never",
            last["status"] if last else "-", last["articles_new"] if last else "-",
            last["errors"] if last else "-",
            "now" if source["running"] else _until(source["next_run"], now), note)))
    widths = [max(len(row[n]) for row in (header, *lines)) for n in range(len(header))]

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if name in ("new", "errors") else c.ljust(w)
                         for name, c, w in zip(header, cells, widths)).rstrip()

    click.echo(click.style(line(header), bold=True))
    click.echo("\n".join(line(cells) for cells in lines))


def print_source(source: dict) -> None:
    """Everything about one source, a few lines."""
    click.echo(f"\n{source['name']} ({source['schedule'] or 'not in the sources file'}): "
               f"{source['state']}")
    last = source["last_run"]
    if last:
        took = "" if last["duration"] is None else f" in {last['duration']:.0f}s"
        click.echo(f"  last run:  #{last['id']} {last['started']} {last['status']}{took}: "
                   f"{last['pages']} pages, {last['articles_new']} new, "
                   f"{last['articles_updated']} updated, {last['articles_unchanged']} "
                   f"unchanged, {last['errors']} errors")
    else:
        click.echo("  last run:  never")
    click.echo(f"  next run:  {source['next_run'] or '-'}")
    running = f"since {source['running_since']}" if source["running"] else "no"
    click.echo(f"  running:   {running}")
    failures = f"  failures:  {source['failures'] or 0} in a row"
    if source["backoff_until"]:
        failures += f", backing off until {source['backoff_until']}"
    if source["note"]:
        failures += f" ({source['note']})"
    click.echo(failures)


def _ago(moment: str, now: datetime) -> str:
    from crawler.times import duration_text

    return f"{duration_text(max(0.0, (now - datetime.fromisoformat(moment)).total_seconds()))} ago"


def _until(moment: str | None, now: datetime) -> str:
    if not moment:
        return "-"
    seconds = (datetime.fromisoformat(moment) - now).total_seconds()
    from crawler.times import duration_text

    return "due" if seconds <= 0 else f"in {duration_text(seconds)}"


def main() -> None:
    """The `newsmill` command: errors for people, tracebacks only with `crawl --debug`."""
    from pipelines.profiling import profiled

    try:
        with profiled(sys.argv[1] if len(sys.argv) > 1 else "newsmill"):
            cli(prog_name="newsmill")
    except Exception as exc:
        if "--debug" in sys.argv:
            raise
        click.echo(f"newsmill: unexpected error: {type(exc).__name__}: {exc} "
                   "(run again with --debug for the traceback)", err=True)
        sys.exit(EXIT_PARTIAL)


if __name__ == "__main__":
    main()
