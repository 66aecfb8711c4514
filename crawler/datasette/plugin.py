"""newsmill's Datasette plugin: the article page, the articles table's columns, an empty feed.

The article page (`/newsmill/articles/ID`, templates/row-newsmill-articles.html) gets its
article, URLs, copies and versions with word diffs from `crawler.datasette.article`; the
articles table (templates/table-newsmill-articles.html) gets the columns it shows by
default and links each title to its article page.

The Atom feed of a store with no article yet is an empty feed: datasette-atom 0.9 (its
latest release) dates the feed by its newest entry, `max()` over the rows, which raises
on a query that returns none: `/newsmill/latest_feed.atom` on a fresh store answered 500
instead of a feed a reader can subscribe to before the first crawl. This renderer hands
every non-empty result to datasette-atom and writes the empty feed itself, with feedgen as
datasette-atom does. Registered through the `datasette` entry point (pyproject.toml), so
plain `datasette` with newsmill installed has it too.

Searches that match many articles are answered from the view `articles_newest_first`, with
the same columns and templates (crawler/datasette/search.py says why).
"""

from __future__ import annotations

from datetime import UTC, datetime

from datasette import hookimpl
from markupsafe import Markup, escape

from crawler.datasette import search
from crawler.datasette.article import article_page, table_columns

ARTICLE_TEMPLATE = "row-newsmill-articles.html"
ARTICLES_TABLE_TEMPLATES = ("table-newsmill-articles.html",
                            f"table-newsmill-{search.VIEW}.html")


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    """The article page's content; the articles table's default columns, and in the view
    that answers searches with many matches, their count from the search index."""
    if template in ARTICLES_TABLE_TEMPLATES:
        chosen = any(request.args.getlist(arg) for arg in ("_col", "_nocol"))

        async def table_vars():
            names = await datasette.get_database(database).table_columns(table)
            found = {"article_columns": table_columns(names, chosen)}
            if table == search.VIEW and request.args.get("_search"):
                args = {key: request.args.get(key) for key in request.args}
                count = await search.count_matches(datasette, args)
                if count is not None:
                    found["filtered_table_rows_count"] = count
            return found

        return table_vars
    if template == ARTICLE_TEMPLATE:
        from datasette.utils import urlsafe_components

        async def page_vars():
            pk = urlsafe_components(request.url_vars["pks"])
            return {"page": await article_page(datasette.get_database(database), pk[0])}

        return page_vars
    return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """An article's title links to its article page (in the articles table)."""
    if table not in ("articles", search.VIEW) or column != "title" or "id" not in row.keys():
        return None
    href = datasette.urls.row(database, "articles", str(row["id"]))
    return Markup(f'<a class="article-link" href="{escape(href)}">'
                  f"{escape(value if value is not None else '(no title)')}</a>")


@hookimpl
def asgi_wrapper(datasette):
    """Searches with many matches are answered from the view (search.py)."""
    return search.search_router(datasette)


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
