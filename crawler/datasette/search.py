"""Searches of the articles table that match many articles go to `articles_newest_first`.

Datasette answers `/newsmill/articles?_search=WORD` with `id IN (the matches)`, sorted by
published date. SQLite serves that by looking every match up by id before sorting them: for
a word in a fifth of a million articles, 225,000 rows read to show 50 (2.4 s), and as
much again for the count. The view `articles_newest_first` (pipelines/schema.py, v15) has
the same rows and columns, but its `id` cannot be looked up by, so SQLite walks the
published index from the newest and stops at the 50th match (0.07 s). For a rare word the
walk would pass the whole index (0.2 s at a million) where the look-ups take milliseconds,
so only searches with many matches are sent there, counted by the search index itself.

This is an ASGI wrapper (Datasette's `asgi_wrapper` hook) rather than a different search
form because the reader's URL, the search box and every link Datasette writes stay
Datasette's own: only the table the request is answered from changes. A reader who picks a
sort, a page (`_next`) or asks for JSON gets Datasette's own answer, unrouted.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qsl, urlencode

DATABASE = "newsmill"
TABLE = "articles"
VIEW = "articles_newest_first"
TABLE_PATH = f"/{DATABASE}/{TABLE}"
VIEW_PATH = f"/{DATABASE}/{VIEW}"
# Above this many matches the walk of the published index is the quicker read: looking up
# 2,000 rows costs about what walking a million-article index to its 50th match does when
# one article in 400 matches (benchmarks/README.md, "A year of news in one file").
MANY_MATCHES = 2000
# Arguments that mean the reader chose the order or the page: answered as asked.
READER_CHOSE = ("_sort", "_sort_desc", "_next")


def fts_query(args: dict[str, str], searchmode: str | None) -> str:
    """The FTS5 query Datasette makes of `_search` (escaped unless the mode is raw)."""
    from datasette.utils import escape_fts

    raw = args.get("_searchmode", searchmode) == "raw"
    return args["_search"] if raw else escape_fts(args["_search"])


async def count_matches(datasette, args: dict[str, str], limit: int | None = None) -> int | None:
    """How many articles the search matches, from articles_fts alone (up to `limit`);
    None when the query is not one FTS5 accepts (Datasette then shows its own error)."""
    from datasette.database import QueryInterrupted

    db = datasette.get_database(DATABASE)
    meta = datasette.table_metadata(DATABASE, TABLE)
    matches = "select rowid from articles_fts where articles_fts match :q"
    if limit is not None:
        matches += f" limit {int(limit)}"
    try:
        rows = await db.execute(f"select count(*) from ({matches})",
                                {"q": fts_query(args, meta.get("searchmode"))})
    except (sqlite3.DatabaseError, QueryInterrupted):
        return None  # a malformed raw query, or past the time limit: Datasette says so itself
    return rows.first()[0]


async def routed(datasette, scope: dict) -> dict:
    """The scope to answer: the articles table or the view, by the number of matches."""
    asked = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    args = dict(asked)
    if not args.get("_search") or any(arg in args for arg in READER_CHOSE):
        return scope
    if DATABASE not in datasette.databases:
        return scope  # plain `datasette` on another file: not newsmill's store
    if VIEW not in await datasette.get_database(DATABASE).view_names():
        return scope  # a store not yet migrated to v15: Datasette's own search
    found = await count_matches(datasette, args, limit=MANY_MATCHES + 1)
    if found is None:
        return scope
    many = found > MANY_MATCHES
    path = VIEW_PATH if many else TABLE_PATH
    pairs = asked
    if many:
        # The view's count would walk the whole index (0.4 s at a million); the page shows
        # the search index's count instead (plugin.py).
        pairs = [p for p in pairs if p[0] != "_nocount"] + [("_nocount", "1")]
    elif scope["path"] == VIEW_PATH:
        pairs = [p for p in pairs if p[0] != "_nocount"]  # the view's, carried by its form
    if path == scope["path"] and pairs == asked:
        return scope
    return dict(scope, path=path, raw_path=path.encode(),
                query_string=urlencode(pairs).encode("latin-1"))


def search_router(datasette):
    """The ASGI wrapper: routes GET searches of the articles table or the view."""
    def wrap(app):
        async def route(scope, receive, send):
            if (scope.get("type") == "http" and scope.get("method") == "GET"
                    and scope.get("path") in (TABLE_PATH, VIEW_PATH)):
                scope = await routed(datasette, scope)
            await app(scope, receive, send)
        return route
    return wrap
