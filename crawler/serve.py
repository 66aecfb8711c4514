"""Datasette on the store: newsmill's metadata, canned queries, dashboard and Atom feed.

Everything a reader sees (titles, descriptions, facets, queries, charts) is configuration
in `crawler/datasette/metadata.yml`, and templates in `crawler/datasette/templates/` (the
articles table and the article page); this module only opens the store under the name
`newsmill` whatever its file is called, and runs Datasette read-only.
"""

from __future__ import annotations

import asyncio
import sqlite3
from importlib import resources
from pathlib import Path

DATABASE_NAME = "newsmill"
METADATA_FILE = "metadata.yml"
TEMPLATES_DIR = "templates"

# Datasette settings that are not metadata (Datasette 0.65 keeps them apart); the plain
# `datasette` command gets the same with `--setting NAME VALUE` (see the README).
SETTINGS = {
    "truncate_cells_html": 300,  # article text is long: show its start in table views
    "sql_time_limit_ms": 3000,   # ad-hoc SQL on a large store needs more than 1s
    # A facet a reader asks for (?_facet=...) gets this long; the default facets
    # (metadata.yml) are only those an index answers fast at a million articles.
    "facet_time_limit_ms": 500,
    # Datasette's facet suggestions run a query per column on every table page, each up to
    # facet_suggest_time_limit_ms: most of the first page's time on a large store, for
    # suggestions no one needs twice. The facet links on each column stay.
    "suggest_facets": False,
    # The dashboard's day charts: a year of days, 11 series (the top 10 sources and others).
    "max_returned_rows": 5000,
    "allow_download": False,     # the file is the daemon's; copy it, do not download it live
}


class ServeError(RuntimeError):
    """The store cannot be served; the message says what to do."""


def metadata_path() -> Path:
    """The metadata file shipped in the package (also the one to pass to plain datasette)."""
    return Path(str(resources.files("crawler.datasette").joinpath(METADATA_FILE)))


def templates_path() -> Path:
    """newsmill's Datasette templates (plain datasette takes them with --template-dir).

    Passed as Datasette's template_dir because Datasette 0.65 looks for a plugin's own
    templates folder only in a plugin that is a package, and newsmill's is a module.
    """
    return Path(str(resources.files("crawler.datasette").joinpath(TEMPLATES_DIR)))


def load_metadata() -> dict:
    from datasette.utils import parse_metadata

    return parse_metadata(metadata_path().read_text(encoding="utf-8"))


def check_store(db_path: Path) -> None:
    """Fail with a clear message unless db_path is a newsmill store; never writes to it."""
    if not db_path.is_file():
        raise ServeError(f"{db_path}: no such database; run `newsmill crawl --db {db_path}` "
                         "first")
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ServeError(f"{db_path}: cannot open the database: {exc}") from exc
    if "articles" not in tables or "runs" not in tables:
        raise ServeError(f"{db_path}: not a newsmill database (no articles or runs table)")


def build_datasette(db_path: str | Path):
    """A Datasette with the store mounted as `newsmill` and newsmill's metadata.

    Datasette names a file after its stem; the store may be called anything, so it is
    added by name instead. A mutable Database is read through `mode=ro` connections and
    sees the daemon's new rows as they are committed (WAL); `immutable` would not.
    """
    from datasette.app import Datasette
    from datasette.database import Database

    db_path = Path(db_path)
    check_store(db_path)
    # memory=False and no files: Datasette still adds an empty `_memory` database; drop it.
    datasette = Datasette(metadata=load_metadata(), settings=SETTINGS,
                          template_dir=str(templates_path()))
    if "_memory" in datasette.databases:
        datasette.remove_database("_memory")
    datasette.add_database(Database(datasette, path=str(db_path), is_mutable=True),
                           name=DATABASE_NAME)
    return datasette


def serve(db_path: str | Path, host: str, port: int, open_browser: bool = False) -> None:
    """Run Datasette on the store until interrupted (what `newsmill serve` does)."""
    import uvicorn

    datasette = build_datasette(db_path)
    asyncio.run(datasette.invoke_startup())
    if open_browser:
        import webbrowser

        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        webbrowser.open(f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/")
    uvicorn.run(datasette.app(), host=host, port=port, log_level="info", lifespan="on")
