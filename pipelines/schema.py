"""The store's schema: every table, created and changed only by appending a migration.

The schema is a public interface (people query it with SQL and Datasette). `MIGRATIONS[n]`
brings a file from `PRAGMA user_version` n to n + 1; ArticleStore.migrate runs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by StoreConnection when it opens a file (pipelines/store_core.py)
    import sqlite_utils

ARTICLES_FTS_COLUMNS = ("title", "description", "text")  # what articles_fts indexes


def _v1_initial(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "id": int, "url": str, "source": str, "title": str, "author": str,
            "published": str, "modified": str, "sitename": str, "publisher": str,
            "description": str, "section": str, "tags": str, "image": str, "language": str,
            "text": str, "word_count": int, "content_hash": str, "version": int,
            "first_seen": str, "last_seen": str,
        },
        pk="id",
        not_null={"url", "source", "first_seen", "last_seen"},
        defaults={"version": 1, "tags": "[]"},
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["source", "published"])
    db["articles"].create_index(["published"])
    db["articles"].create_index(["content_hash"])
    db["articles"].enable_fts(list(ARTICLES_FTS_COLUMNS), fts_version="FTS5", create_triggers=True)
    db["article_urls"].create(
        {"url": str, "article_id": int, "source": str, "kind": str, "similarity": float,
         "first_seen": str},
        pk="url",
        not_null={"article_id", "kind", "first_seen"},
        defaults={"kind": "canonical"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_urls"].create_index(["article_id"])
    db["article_versions"].create(
        {"id": int, "article_id": int, "version": int, "title": str, "text": str,
         "content_hash": str, "modified": str, "seen_at": str},
        pk="id",
        not_null={"article_id", "version"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_versions"].create_index(["article_id", "version"], unique=True)
    db["runs"].create(
        {"id": int, "source": str, "started": str, "finished": str, "status": str,
         "pages": int, "articles_new": int, "articles_updated": int, "articles_unchanged": int,
         "articles_duplicate": int, "not_articles": int, "errors": int, "bytes": int,
         "pid": int},
        pk="id",
        not_null={"source", "started", "status"},
        defaults={"pages": 0, "articles_new": 0, "articles_updated": 0, "articles_unchanged": 0,
                  "articles_duplicate": 0, "not_articles": 0, "errors": 0, "bytes": 0},
    )
    db["runs"].create_index(["source", "started"])
    db["errors"].create(
        {"id": int, "run_id": int, "source": str, "url": str, "kind": str, "message": str,
         "at": str},
        pk="id",
        not_null={"url", "kind", "at"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["errors"].create_index(["run_id"])
    db["errors"].create_index(["kind"])


def _v2_known_urls_and_near_duplicates(db: sqlite_utils.Database) -> None:
    """What each URL last returned (for conditional re-checks), and the near-duplicate index.

    Existing articles get their content_hash recomputed (it now ignores date lines) and
    their near-duplicate keys, so a store from v1 judges old and new articles alike.
    """
    from pipelines.fingerprints import content_hash, near_duplicate_keys

    db["fetch_state"].create(
        {"url": str, "source": str, "article_id": int, "etag": str, "last_modified": str,
         "lastmod": str, "status": int, "fetched": str, "checked": str},
        pk="url",
        not_null={"checked"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["fetch_state"].create_index(["article_id"])
    # WITHOUT ROWID: the (key, article_id) primary key is the only index the lookup needs.
    db.execute("CREATE TABLE near_duplicate_keys (key INTEGER NOT NULL, article_id INTEGER "
               "NOT NULL REFERENCES articles(id), PRIMARY KEY (key, article_id)) WITHOUT ROWID")
    for article_id, text in db.execute("SELECT id, text FROM articles").fetchall():
        db.execute("UPDATE articles SET content_hash = ? WHERE id = ?",
                   [content_hash(text or ""), article_id])
        db.conn.executemany("INSERT OR IGNORE INTO near_duplicate_keys VALUES (?, ?)",
                       [(key, article_id) for key in near_duplicate_keys(text or "")])


def _v3_run_host(db: sqlite_utils.Database) -> None:
    """runs.host: with runs.pid, tells whether a `running` run's process is still alive."""
    db["runs"].add_column("host", str)


def _v4_daemon(db: sqlite_utils.Database) -> None:
    """What `newsmill daemon` records so `newsmill status` can report it."""
    db["daemon"].create(  # one row per daemon start; the latest one is the current daemon
        {"id": int, "pid": int, "host": str, "started": str, "heartbeat": str, "stopped": str,
         "sources_file": str, "max_parallel": int, "heartbeat_seconds": float},
        pk="id",
        not_null={"pid", "started", "heartbeat"},
    )
    db["daemon_sources"].create(  # the daemon's view of each source's schedule
        {"source": str, "schedule": str, "next_run": str, "failures": int,
         "backoff_until": str, "last_note": str, "updated": str},
        pk="source",
        not_null={"failures"},
        defaults={"failures": 0},
    )


def _v5_search_index_only_for_searched_columns(db: sqlite_utils.Database) -> None:
    """The full-text index is rewritten only when a searched column changes.

    sqlite-utils' enable_fts trigger re-indexes a row on every UPDATE, so marking 2000
    unchanged articles as seen (last_seen) re-indexed all their text: most of a re-crawl's
    time. Same trigger name and body, now `AFTER UPDATE OF` the indexed columns.
    """
    columns = ", ".join(f'"{c}"' for c in ARTICLES_FTS_COLUMNS)
    old = ", ".join(f'old."{c}"' for c in ARTICLES_FTS_COLUMNS)
    new = ", ".join(f'new."{c}"' for c in ARTICLES_FTS_COLUMNS)
    db.execute('DROP TRIGGER IF EXISTS "articles_au"')
    db.execute(
        f'CREATE TRIGGER "articles_au" AFTER UPDATE OF {columns} ON "articles" BEGIN\n'
        f'  INSERT INTO "articles_fts" ("articles_fts", rowid, {columns}) '
        f"VALUES('delete', old.rowid, {old});\n"
        f'  INSERT INTO "articles_fts" (rowid, {columns}) VALUES (new.rowid, {new});\n'
        "END")


def _v6_robots_txt(db: sqlite_utils.Database) -> None:
    """robots_txt: each site's robots.txt as last read, so that a crawl soon after another
    need not ask for it again (NEWSMILL_ROBOTSTXT_CACHE)."""
    db["robots_txt"].create({"url": str, "status": int, "body": bytes, "fetched": str},
                            pk="url", not_null={"status", "fetched"})


def _v7_runs_account_for_every_page(db: sqlite_utils.Database) -> None:
    """runs.listings and runs.aliases: with them a run's outcome columns add up to its
    `pages` (each page ends in exactly one), so a page that is lost shows."""
    db["runs"].add_column("listings", int, not_null_default=0)
    db["runs"].add_column("aliases", int, not_null_default=0)


def _v8_claims_original(db: sqlite_utils.Database) -> None:
    """articles.claims_original: how strongly the stored page declared itself the original
    of its text, so that a copy found later is judged against it (NULL: stored before)."""
    db["articles"].add_column("claims_original", int)


def _v9_conditional_listings(db: sqlite_utils.Database) -> None:
    """listing_state: the validators (ETag, Last-Modified) of each feed, sitemap and start
    page as last read in full, so the next crawl asks with If-None-Match /
    If-Modified-Since; robots_txt keeps its validators too."""
    db["listing_state"].create({"url": str, "source": str, "etag": str, "last_modified": str,
                                "fetched": str}, pk="url")
    db["robots_txt"].add_column("etag", str)
    db["robots_txt"].add_column("last_modified", str)


def _v10_run_task(db: sqlite_utils.Database) -> None:
    """runs.task: the Redis task attempt ("<task>/<delivery>") that ran a crawl on another
    machine (`newsmill worker`), NULL for crawls run here; one run per attempt, however
    often the worker's opening message is delivered."""
    db["runs"].add_column("task", str)
    db.execute("CREATE UNIQUE INDEX idx_runs_task ON runs (task) WHERE task IS NOT NULL")


def _v11_daemon_load(db: sqlite_utils.Database) -> None:
    """What the daemon's concurrency follows, for `newsmill status`: how many crawls it lets
    run at once now (crawl_limit), how many run and wait, how far behind its schedule it is,
    and why crawls wait (pressure: CPU, memory or the network; NULL when none wait)."""
    for column, kind in (("crawl_limit", int), ("crawls_running", int), ("crawls_waiting", int),
                         ("behind_seconds", float), ("pressure", str)):
        db["daemon"].add_column(column, kind)


# The outcome columns of a run: each page it settled ends in exactly one of them.
RUN_OUTCOMES = ("articles_new", "articles_updated", "articles_unchanged", "articles_duplicate",
                "aliases", "not_articles", "listings", "errors")


def _v12_runs_daily(db: sqlite_utils.Database) -> None:
    """runs_daily: old runs that stored nothing and failed nothing, one row per source and
    day (NEWSMILL_KEEP_RUNS), so a year of "nothing new" checks is 365 rows a source, not
    105,000. `runs` plus `runs_daily` add up to every run ever recorded."""
    db["runs_daily"].create(
        {"source": str, "day": str, "runs": int, "pages": int, "bytes": int,
         **{column: int for column in RUN_OUTCOMES}, "first_started": str, "last_started": str},
        pk=("source", "day"), not_null={"runs"}, defaults={"runs": 0})


def _v13_reads_that_stay_fast(db: sqlite_utils.Database) -> None:
    """What keeps Datasette, the dashboard and `newsmill status` fast at a million articles
    and ten million runs (issue 27; figures in benchmarks/README.md).

    - runs(started), errors(at), articles(first_seen): the runs and errors tables and the
      Atom feed show the newest first; without them every view sorted the whole table.
    - errors(source, kind): the errors table's source facet and the dashboard's errors per
      source read this index alone, not every error row.
    - near_duplicate_keys(article_id): Datasette's row page counts the rows of every table
      that points at the article; this one, without it, was a scan of 14 keys an article
      (0.13 s for an article page at 100,000 articles, growing with the store).
    - runs(source) WHERE status = 'running': the few running runs `newsmill status` and
      every crawl's start look for, without reading ten million finished ones.
    - articles_per_day and runs_per_day: counts kept by triggers as rows change, which the
      dashboard's charts and totals read instead of grouping every article and run on each
      view (indexes alone leave a scan of every row; these are a row per day and source).
      runs_per_day mirrors `runs` (a run folded into runs_daily leaves it), so the charts
      read runs_per_day plus runs_daily as they read runs plus runs_daily before.
    """
    db.execute("CREATE INDEX idx_runs_started ON runs (started)")
    db.execute("CREATE INDEX idx_runs_running ON runs (source) WHERE status = 'running'")
    db.execute("CREATE INDEX idx_errors_at ON errors (at)")
    db.execute("CREATE INDEX idx_errors_source_kind ON errors (source, kind)")
    db.execute("CREATE INDEX idx_articles_first_seen ON articles (first_seen)")
    db.execute("CREATE INDEX idx_near_duplicate_keys_article ON near_duplicate_keys (article_id)")
    day = "coalesce(date(coalesce({r}.published, {r}.first_seen)), substr({r}.first_seen, 1, 10))"
    db.execute("CREATE TABLE articles_per_day (day TEXT NOT NULL, source TEXT NOT NULL, "
               "articles INTEGER NOT NULL, PRIMARY KEY (day, source)) WITHOUT ROWID")
    db.execute(f"INSERT INTO articles_per_day SELECT {day.format(r='articles')} AS d, source, "
               "count(*) FROM articles GROUP BY d, source")
    add = ("INSERT INTO articles_per_day VALUES ({d}, new.source, 1) ON CONFLICT (day, source) "
           "DO UPDATE SET articles = articles + 1;").format(d=day.format(r="new"))
    remove = ("UPDATE articles_per_day SET articles = articles - 1 WHERE day = {d} AND "
              "source = old.source; DELETE FROM articles_per_day WHERE day = {d} AND "
              "source = old.source AND articles = 0;").format(d=day.format(r="old"))
    db.execute(f"CREATE TRIGGER articles_per_day_insert AFTER INSERT ON articles BEGIN {add} END")
    db.execute("CREATE TRIGGER articles_per_day_update AFTER UPDATE OF published, first_seen, "
               f"source ON articles BEGIN {remove} {add} END")
    db.execute(f"CREATE TRIGGER articles_per_day_delete AFTER DELETE ON articles BEGIN {remove} END")
    db.execute("CREATE TABLE runs_per_day (day TEXT NOT NULL, source TEXT NOT NULL, "
               "status TEXT NOT NULL, runs INTEGER NOT NULL, "
               "PRIMARY KEY (day, source, status)) WITHOUT ROWID")
    db.execute("INSERT INTO runs_per_day SELECT substr(started, 1, 10) AS d, source, status, "
               "count(*) FROM runs GROUP BY d, source, status")
    add = ("INSERT INTO runs_per_day VALUES (substr(new.started, 1, 10), new.source, new.status, "
           "1) ON CONFLICT (day, source, status) DO UPDATE SET runs = runs + 1;")
    where = "day = substr(old.started, 1, 10) AND source = old.source AND status = old.status"
    remove = (f"UPDATE runs_per_day SET runs = runs - 1 WHERE {where}; "
              f"DELETE FROM runs_per_day WHERE {where} AND runs = 0;")
    db.execute(f"CREATE TRIGGER runs_per_day_insert AFTER INSERT ON runs BEGIN {add} END")
    db.execute("CREATE TRIGGER runs_per_day_update AFTER UPDATE OF started, source, status ON "
               f"runs BEGIN {remove} {add} END")
    db.execute(f"CREATE TRIGGER runs_per_day_delete AFTER DELETE ON runs BEGIN {remove} END")


def _v14_archived_pages(db: sqlite_utils.Database) -> None:
    """archived_pages: where each page fetched in full is in the WARC archive (crawler/
    archive.py): its URL, the article it is a page of (NULL for feeds, sitemaps, section
    pages, robots.txt and pages that were no article), the source, its HTTP status and
    media type (Content-Type without parameters), and its response record: the WARC file, the record's
    offset and length in bytes (of its gzip member), and when it was fetched.

    article_id is kept by triggers: a page is usually archived before its article is stored,
    and an article's URLs can move to another article (an original found after its copy).
    """
    db.execute('CREATE TABLE archived_pages (id INTEGER PRIMARY KEY, url TEXT NOT NULL, '
               'article_id INTEGER REFERENCES articles(id), source TEXT, status INTEGER, '
               'content_type TEXT, file TEXT NOT NULL, "offset" INTEGER NOT NULL, '
               'length INTEGER NOT NULL, fetched TEXT NOT NULL)')
    db.execute("CREATE INDEX idx_archived_pages_url ON archived_pages (url)")
    db.execute("CREATE INDEX idx_archived_pages_article ON archived_pages (article_id)")
    db.execute("CREATE TRIGGER archived_pages_url_insert AFTER INSERT ON article_urls BEGIN "
               "UPDATE archived_pages SET article_id = new.article_id WHERE url = new.url "
               "AND article_id IS NOT new.article_id; END")
    db.execute("CREATE TRIGGER archived_pages_url_update AFTER UPDATE OF article_id ON "
               "article_urls BEGIN UPDATE archived_pages SET article_id = new.article_id "
               "WHERE url = new.url AND article_id IS NOT new.article_id; END")


def _v15_articles_newest_first(db: sqlite_utils.Database) -> None:
    """articles_newest_first: every article, read newest published first through the
    published index. Datasette answers a search of `articles` as `id IN (the matches)`,
    which SQLite always serves by looking each match up by id and then sorting them: for a
    word in a fifth of a million articles that is 225,000 rows read to show 50 (2.4 s).
    In this view `id` is `+id`, which SQLite cannot look up by, so it walks the published
    index from the newest and stops at the 50th match (0.07 s); with `source = ...` it
    walks the (source, published) index. The articles page sends searches with many
    matches here (crawler/datasette/plugin.py); searches with few stay on `articles`,
    where looking a few rows up is quicker than a walk of the index.
    """
    columns = [c.name for c in db["articles"].columns]
    select = ", ".join("+id AS id" if c == "id" else f'"{c}"' for c in columns)
    db.execute(f"CREATE VIEW articles_newest_first AS SELECT {select} FROM articles")


def _v16_version_reasons_and_reextractions(db: sqlite_utils.Database) -> None:
    """article_versions.reason: why a version was replaced by the next, 'fetched' (the page
    fetched again had another text or title: the publisher's edit; every row before this
    migration) or 're-extraction' (`newsmill reextract` read the same archived page again
    with the engine and settings of the day and got another text or fields).

    reextractions: one row per `newsmill reextract` with given settings, so a re-extraction
    killed half-way goes on where it stopped when run again with the same ones: its key (the
    extraction options, --source and --since), the id of the last article done in id order
    below which every one is done, the ids done above it, and when it finished (NULL: not yet).
    """
    db["article_versions"].add_column("reason", str, not_null_default="fetched")
    db["reextractions"].create(
        {"id": int, "key": str, "options": str, "started": str, "finished": str,
         "last_article_id": int, "done_above": str, "run_ids": str},
        pk="id", not_null={"key", "options", "started", "last_article_id"},
        defaults={"last_article_id": 0, "done_above": "[]", "run_ids": "[]"})
    db["reextractions"].create_index(["key"])


def _v17_version_fields(db: sqlite_utils.Database) -> None:
    """article_versions.fields: the version's other fields as they were (author, published,
    site name, publisher, description, section, tags, image, language), a JSON object.

    A re-extraction may change an article's author or tags and not its text: before this,
    the version it made kept the old title and text only, so the history lost what had
    changed. One JSON column rather than nine: NULL tells a version kept before this
    migration (its fields unknown) from one whose fields were all empty.
    """
    db["article_versions"].add_column("fields", str)


# Append only: MIGRATIONS[n] brings a file from user_version n to n + 1.
MIGRATIONS = [_v1_initial, _v2_known_urls_and_near_duplicates, _v3_run_host, _v4_daemon,
              _v5_search_index_only_for_searched_columns, _v6_robots_txt,
              _v7_runs_account_for_every_page, _v8_claims_original, _v9_conditional_listings,
              _v10_run_task, _v11_daemon_load, _v12_runs_daily,
              _v13_reads_that_stay_fast, _v14_archived_pages,
              _v15_articles_newest_first, _v16_version_reasons_and_reextractions,
              _v17_version_fields]
SCHEMA_VERSION = len(MIGRATIONS)
