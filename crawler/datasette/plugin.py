"""newsmill's Datasette plugin: the Atom feed of a store with no article yet is an empty feed.

datasette-atom 0.9 (its latest release) dates the feed by its newest entry, `max()` over
the rows, which raises on a query that returns none: `/newsmill/latest_feed.atom` on a
fresh store answered 500 instead of a feed a reader can subscribe to before the first
crawl. This renderer hands every non-empty result to datasette-atom and writes the empty
feed itself, with feedgen as datasette-atom does. Registered through the `datasette`
entry point (pyproject.toml), so plain `datasette` with newsmill installed has it too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from datasette import hookimpl


@hookimpl(trylast=True)  # after datasette-atom's hook: Datasette keeps the last "atom" renderer
def register_output_renderer(datasette):
    from datasette_atom import can_render_atom, render_atom

    def render(datasette, request, sql, columns, rows, database, table, query_name,
               view_name, data):
        if rows or not can_render_atom(columns):
            return render_atom(datasette, request, sql, columns, rows, database, table,
                               query_name, view_name, data)
        return empty_feed(datasette, request, sql, database, query_name)

    return {"extension": "atom", "render": render, "can_render": can_render_atom}


def empty_feed(datasette, request, sql: str, database: str, query_name: str | None):
    """A valid Atom feed with no entry, titled as datasette-atom titles a canned query's."""
    from datasette.utils.asgi import Response
    from feedgen.feed import FeedGenerator

    queries = (datasette.metadata(database=database) or {}).get("queries") or {}
    title = (queries.get(query_name) or {}).get("title") if query_name else None
    feed = FeedGenerator()
    feed.id(request.url)
    feed.link(href=request.url, rel="self")
    feed.title(title or request.args.get("_feed_title", sql))
    feed.updated(datetime.now(UTC))
    return Response(feed.atom_str(pretty=True), content_type="application/xml; charset=utf-8",
                    status=200)
