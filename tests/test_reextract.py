"""`newsmill reextract`: stored articles extracted again from the crawl's WARC archive.

A real crawl of a local site with the archive on, the site then stopped: whatever
`reextract` does after that, it does from the archive alone. Commands run as the installed
`newsmill`, from a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from pipelines.fingerprints import near_duplicate_keys
from tests.conftest import FAST, newsmill_command, run_benchmark, user_env
from tests.sites import article_html, unaccounted_pages

# A table of figures in the article's body: its text is part of the article unless
# EXTRACT_INCLUDE_TABLES is off, an extraction option a re-extraction can change.
TABLE = ("<table><tr><td>Harbour tolls collected in the first quarter of the year</td>"
         "<td>fourteen thousand crowns</td></tr><tr><td>Ferries repaired at the yard since "
         "spring</td><td>three of the five</td></tr></table>")


def table_article(title: str) -> str:
    return article_html(title).replace("</article>", f"{TABLE}\n</article>")


def crawl_site(site, newsmill, pages: dict[str, str]) -> None:
    """Crawl the pages (path: html) as one source, `news`, with the archive on (the default);
    then stop the site: nothing after this can fetch anything."""
    for path, page in pages.items():
        site.add(path, *page) if isinstance(page, tuple) else site.add(path, page)  # (bytes, type)
    links = "".join(f'<li><a href="{p}">A story headline {n}</a></li>' for n, p in enumerate(pages))
    site.add("/section/", f"<html><body><h1>Section</h1><ul>{links}</ul></body></html>")
    result = newsmill.crawl(sources=f'[[sources]]\nname = "news"\nurls = ["{site.url("/section/")}"]\n')
    assert result.returncode == 0, newsmill.explain(result)
    site.stop()


def reextract(newsmill, *args, timeout=180) -> subprocess.CompletedProcess:
    return newsmill.run("reextract", "--db", str(newsmill.db_path), *FAST, *args, timeout=timeout)


def keys_of(newsmill, article_id: int) -> list[int]:
    return [r["key"] for r in newsmill.rows(
        "select key from near_duplicate_keys where article_id = ? order by key", [article_id])]


def test_an_option_that_changes_the_text_makes_a_version_marked_re_extraction(site, newsmill):
    crawl_site(site, newsmill, {"/news/tolls.html": table_article("Harbour tolls rise"),
                                "/news/plain.html": article_html("Plain story stays")})
    before = {r["url"].rsplit("/", 1)[-1]: r for r in newsmill.rows("select * from articles")}
    assert "fourteen thousand crowns" in before["tolls.html"]["text"]
    keys_before = {name: keys_of(newsmill, row["id"]) for name, row in before.items()}

    result = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False")
    assert result.returncode == 0, newsmill.explain(result)
    assert "re-extracted 2 articles: 1 changed" in result.stderr, result.stderr
    assert "1 unchanged" in result.stderr and "0 missing from the archive" in result.stderr

    after = {r["url"].rsplit("/", 1)[-1]: r for r in newsmill.rows("select * from articles")}
    tolls = after["tolls.html"]
    assert "fourteen thousand crowns" not in tolls["text"]
    assert "This is a report about harbour tolls rise" in tolls["text"]
    assert tolls["version"] == 2 and tolls["id"] == before["tolls.html"]["id"]
    # Nothing was fetched: the article was not seen again, and no URL was added.
    assert tolls["last_seen"] == before["tolls.html"]["last_seen"]
    assert newsmill.count("article_urls") == 2
    assert after["plain.html"] == before["plain.html"]
    versions = newsmill.rows("select * from article_versions")
    assert len(versions) == 1
    assert versions[0]["reason"] == "re-extraction" and versions[0]["version"] == 1
    assert versions[0]["text"] == before["tolls.html"]["text"]
    # The search index follows the text.
    assert newsmill.count("articles_fts", "articles_fts match ?", ['"fourteen thousand"']) == 0
    # The near-duplicate keys follow the text too; the unchanged article keeps its own (its
    # keys are not worked out again: only a changed text is judged again).
    assert keys_of(newsmill, tolls["id"]) == sorted(set(near_duplicate_keys(tolls["text"])))
    assert keys_of(newsmill, tolls["id"]) != keys_before["tolls.html"]
    assert keys_of(newsmill, after["plain.html"]["id"]) == keys_before["plain.html"] != []
    run = newsmill.rows("select * from runs order by id desc")[0]
    assert run["status"] == "ok" and run["pages"] == 2
    assert run["articles_updated"] == 1 and run["articles_unchanged"] == 1
    assert unaccounted_pages([run]) == []

    # With the same settings again: a new re-extraction, which finds nothing to change.
    again = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False")
    assert again.returncode == 0, newsmill.explain(again)
    assert "re-extracted 2 articles: 0 changed" in again.stderr and "2 unchanged" in again.stderr
    assert newsmill.count("article_versions") == 1


def test_a_crawl_s_new_version_is_still_marked_fetched(site, newsmill):
    site.add("/news/edited.html", article_html("Edited story"))
    sources = f'[[sources]]\nname = "news"\nurls = ["{site.url("/news/edited.html")}"]\nkind = "article"\n'
    assert newsmill.crawl(sources=sources).returncode == 0
    site.add("/news/edited.html", article_html(
        "Edited story", paragraphs=8, extra_head='<meta name="author" content="Corin Editor">'))
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    versions = newsmill.rows("select reason, fields from article_versions")
    assert [r["reason"] for r in versions] == ["fetched"]
    # The version keeps its fields as they were: no author then, one now.
    assert json.loads(versions[0]["fields"])["author"] is None
    assert newsmill.rows("select author from articles")[0]["author"] == "Corin Editor"


def test_the_article_page_tells_a_re_extraction_from_a_publisher_s_edit(site, newsmill):
    from tests.test_serve import start_server

    site.add("/news/tolls.html", table_article("Harbour tolls rise"))
    sources = f'[[sources]]\nname = "news"\nurls = ["{site.url("/news/tolls.html")}"]\nkind = "article"\n'
    assert newsmill.crawl(sources=sources).returncode == 0
    # The publisher edits the page (version 2, fetched); then a re-extraction (version 3).
    site.add("/news/tolls.html", table_article("Harbour tolls rise").replace(
        "Paragraph 2 adds", "Paragraph 2, corrected, adds"))
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    site.stop()
    result = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False")
    assert result.returncode == 0, newsmill.explain(result)
    assert [(r["version"], r["reason"]) for r in newsmill.rows(
        "select version, reason from article_versions order by version")] == \
        [(1, "fetched"), (2, "re-extraction")]

    server = start_server(newsmill.db_path, newsmill.tmp)
    try:
        article_id = newsmill.rows("select id from articles")[0]["id"]
        status, page = server.get(f"/newsmill/articles/{article_id}")
        history = server.rows("article_history", article_id=article_id)
    finally:
        server.stop()
    assert status == 200, page[:2000]
    versions = page.split('<section class="versions">')[1].split("</section>")[0]
    three = versions.split('id="version-3"')[1].split('id="version-2"')[0]
    two = versions.split('id="version-2"')[1].split('id="version-1"')[0]
    assert "Re-extracted" in three and "not an edit by the publisher" in three
    assert re.search(r"<del>[^<]*fourteen thousand crowns", three), three
    assert "Fetched" in two and "an edit by the publisher" in two and "Re-extracted" not in two
    assert [(r["version"], r["made_by"]) for r in history] == \
        [(3, "re-extraction"), (2, "fetched"), (1, "first seen")]


def test_a_re_extraction_that_changes_only_fields_keeps_the_old_ones_in_the_history(site,
                                                                                     newsmill):
    from tests.test_serve import start_server

    head = ('<meta name="author" content="Annabel Writer">'
            '<meta name="description" content="Tolls at the harbour rise for the first time '
            'in a decade.">')
    site.add("/news/tolls.html", article_html("Harbour tolls rise", extra_head=head))
    sources = f'[[sources]]\nname = "news"\nurls = ["{site.url("/news/tolls.html")}"]\nkind = "article"\n'
    # Crawled with tight bounds on the author and the description: both stored cut.
    result = newsmill.crawl("-s", "EXTRACT_MAX_AUTHOR_CHARS=8",
                            "-s", "EXTRACT_MAX_DESCRIPTION_CHARS=20", sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    site.stop()
    before = newsmill.rows("select * from articles")[0]
    assert before["author"] != "Annabel Writer" and before["author"].startswith("Annabel")

    result = reextract(newsmill)  # the default bounds: the same text, whole fields
    assert result.returncode == 0, newsmill.explain(result)
    assert "1 changed" in result.stderr, result.stderr
    after = newsmill.rows("select * from articles")[0]
    assert after["author"] == "Annabel Writer" and after["text"] == before["text"]
    assert after["description"].endswith("in a decade.")
    version = newsmill.rows("select * from article_versions")[0]
    assert version["reason"] == "re-extraction" and version["text"] == before["text"]
    kept = json.loads(version["fields"])
    assert kept["author"] == before["author"] and kept["description"] == before["description"]
    assert kept["published"] == before["published"] and kept["tags"] == json.loads(before["tags"])

    server = start_server(newsmill.db_path, newsmill.tmp)
    try:
        status, page = server.get(f"/newsmill/articles/{after['id']}")
    finally:
        server.stop()
    assert status == 200, page[:2000]
    two = page.split('id="version-2"')[1].split('id="version-1"')[0]
    assert "Text unchanged from version 1" in two
    author = two.split('class="field-author"')[1].split("</tr>")[0]
    assert f"<del>{before['author']}</del>" in author and "<ins>Annabel Writer</ins>" in author
    assert 'class="field-description"' in two and 'class="field-published"' not in two


def test_an_article_whose_archived_page_is_missing_is_counted_and_named(site, newsmill):
    crawl_site(site, newsmill, {f"/news/story-{n}.html": table_article(f"Story number {n}")
                                for n in range(3)})
    gone = newsmill.rows("select a.id, a.url, p.file from articles a join archived_pages p "
                         "on p.article_id = a.id order by a.id")
    # One article's page record is gone from the index; another's WARC file is elsewhere.
    newsmill.execute("delete from archived_pages where article_id = ?", [gone[0]["id"]])
    newsmill.execute("update archived_pages set file = 'moved/elsewhere.warc.gz' where article_id = ?",
                     [gone[1]["id"]])
    result = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False")
    assert result.returncode == 1, newsmill.explain(result)  # a page that could not be read
    assert "re-extracted 3 articles: 1 changed" in result.stderr, result.stderr
    assert "1 missing from the archive, 1 errors" in result.stderr
    assert f"missing from the archive: {gone[0]['url']}: article {gone[0]['id']}: no page" in result.stderr
    assert re.search(rf"error: {re.escape(gone[1]['url'])}: \[archive\] .*article {gone[1]['id']}: its archived "
                     r"page cannot be read: cannot read it", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert newsmill.count("article_versions") == 1
    run = newsmill.rows("select * from runs order by id desc")[0]
    assert run["status"] == "partial" and run["pages"] == 3 and run["errors"] == 2
    assert unaccounted_pages([run]) == []


def start_reextract(newsmill, *args) -> subprocess.Popen:
    command = newsmill_command("reextract", "--db", str(newsmill.db_path), *FAST, *args)
    return subprocess.Popen(command, cwd=newsmill.tmp, env=user_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_mid_reextract_then_run_again_does_nothing_twice(site, newsmill):
    pages = {f"/news/item-{n}.html": table_article(f"Item story {n}") for n in range(150)}
    crawl_site(site, newsmill, pages)
    assert newsmill.count("articles") == 150
    option = ("-s", "EXTRACT_INCLUDE_TABLES=False", "-s", "NEWSMILL_STORE_BATCH=10")
    process = start_reextract(newsmill, *option)
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and process.poll() is None and done < 20:
            time.sleep(0.2)
            done = newsmill.count("article_versions")
        assert process.poll() is None and 20 <= done < 150, "the re-extraction ended before the kill"
        os.killpg(process.pid, signal.SIGKILL)  # the command and its extraction workers
    finally:
        process.communicate(timeout=30)
    first = newsmill.count("article_versions")
    assert first < 150

    result = reextract(newsmill, *option, timeout=300)
    assert result.returncode == 0, newsmill.explain(result)
    assert "it went on with a re-extraction stopped before" in result.stderr
    # Every article re-extracted once: one version each, none twice; the second run did
    # only what the first had not (and stored), and found none of those done again.
    rows = newsmill.rows("select article_id, count(*) as n from article_versions group by article_id")
    assert len(rows) == 150 and {r["n"] for r in rows} == {1}
    assert newsmill.count("articles", "version = 2") == 150
    second = newsmill.rows("select * from runs order by id desc")[0]
    assert second["articles_updated"] == 150 - first and second["articles_unchanged"] == 0
    assert second["pages"] == 150 - first
    assert newsmill.count("reextractions") == 1
    assert newsmill.rows("select finished from reextractions")[0]["finished"]


def test_two_articles_whose_new_texts_are_the_same_become_one(site, newsmill):
    from tests.sites import distinct_words

    def with_table(seed: str) -> str:
        cells = "".join(f"<tr><td>{distinct_words(f'{seed}/{n}', 12)}</td></tr>" for n in range(12))
        return article_html("Shared story").replace("</article>", f"<table>{cells}</table>\n</article>")

    crawl_site(site, newsmill, {"/news/first.html": with_table("first"),
                                "/news/second.html": with_table("second")})
    assert newsmill.count("articles") == 2  # the tables' words tell them apart
    first, second = newsmill.rows("select id, url from articles order by id")

    crawled = newsmill.tmp / "crawled.db"
    with sqlite3.connect(newsmill.db_path) as source, sqlite3.connect(crawled) as copy:
        source.backup(copy)

    # By default both stay articles: a merge removes stored rows, asked for once the new
    # texts are known good.
    kept = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False")
    assert kept.returncode == 0, newsmill.explain(kept)
    assert re.search(rf"article {second['id']}'s new text is a duplicate of article "
                     rf"{first['id']}'s.*both kept", kept.stderr), kept.stderr
    assert newsmill.count("articles") == 2 and newsmill.count("article_versions") == 2

    with sqlite3.connect(crawled) as source, sqlite3.connect(newsmill.db_path) as store:
        source.backup(store)  # the store as the crawl left it

    result = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False",
                       "-s", "REEXTRACT_MERGE_COPIES=True")
    assert result.returncode == 0, newsmill.explain(result)
    assert "2 changed (1 of them now one article with another)" in result.stderr, result.stderr
    # Neither page tells which came first: the article stored first stays the article.
    assert [r["id"] for r in newsmill.rows("select id from articles")] == [first["id"]]
    urls = {r["url"]: r for r in newsmill.rows("select * from article_urls")}
    assert urls[second["url"]]["article_id"] == first["id"]
    assert urls[second["url"]]["kind"] == "duplicate"
    assert newsmill.count("archived_pages", "url = ? and article_id = ?",
                          [second["url"], first["id"]]) == 1
    assert newsmill.count("near_duplicate_keys", "article_id = ?", [second["id"]]) == 0
    run = newsmill.rows("select * from runs order by id desc")[0]
    assert run["articles_updated"] == 1 and run["articles_duplicate"] == 1
    assert unaccounted_pages([run]) == []


def test_a_progress_bar_by_articles_on_a_terminal_only(site, newsmill):
    from tests.test_terminal_output import run_on_a_terminal

    crawl_site(site, newsmill, {f"/news/bar-{n}.html": table_article(f"Bar story {n}")
                                for n in range(30)})
    args = ("reextract", "--db", str(newsmill.db_path), "-s", "EXTRACT_WORKERS=1",
            "-s", "NEWSMILL_PROGRESS_INTERVAL=0.2")
    shown = run_on_a_terminal(newsmill, *args)
    assert "re-extracting" in shown and re.search(r"\d+/30", shown), shown
    assert "Traceback" not in shown
    result = newsmill.run(*args, "-s", "EXTRACT_ENGINE=trafilatura")
    assert result.returncode == 0, newsmill.explain(result)
    assert "re-extracting" not in result.stderr and "\x1b[" not in result.stderr
    assert re.search(r"progress: \d+ of 30 articles read", result.stderr), result.stderr


@pytest.mark.corpus  # the benchmark's pages are made of the corpus pages
def test_the_benchmark_reextracts_its_crawl_and_prints_its_ratios(tmp_path):
    stdout, figures = run_benchmark("reextract.py", "--pages", "12", "--ceiling-pages", "4",
                                    "--keep", str(tmp_path))
    assert "newsmill reextract, same settings: {'pages': 12, 'updated': 0, 'unchanged': 12" in stdout
    assert {"reextract_vs_ceiling", "cpu_reextract_vs_ceiling", "changing_vs_ceiling"} <= figures.keys()
    assert int(figures["changed"]) > 0


RUSSIAN = ("Городской совет утвердил план ремонта старого паромного терминала, и работы "
           "продлятся восемнадцать месяцев, сообщили в администрации порта.")
FRENCH = ("Le conseil municipal a approuvé la rénovation du vieux terminal des ferries : les "
          "travaux dureront dix-huit mois, a précisé la capitainerie du port à Genève.")


def test_pages_in_other_charsets_are_re_extracted_as_the_crawl_read_them(site, newsmill):
    """A page in windows-1251 named only by its Content-Type header, one in ISO-8859-1
    named only by its <meta charset>: re-extracted from the archive, each is decoded as
    the crawl decoded it (unchanged, not turned to mojibake), and a change of options
    re-extracts its text with its letters intact."""
    russian = article_html("Паромный терминал", words=RUSSIAN).replace(
        '<meta charset="utf-8">', "").replace("</article>", f"{TABLE}\n</article>")
    french = article_html("Le terminal des ferries", words=FRENCH, lang="fr").replace(
        '<meta charset="utf-8">', '<meta charset="iso-8859-1">')
    crawl_site(site, newsmill, {
        "/news/terminal-ru.html": (russian.encode("cp1251"), "text/html; charset=windows-1251"),
        "/news/terminal-fr.html": (french.encode("latin-1"), "text/html")})
    before = {r["url"].rsplit("/", 1)[-1]: r for r in newsmill.rows("select * from articles")}
    assert RUSSIAN in before["terminal-ru.html"]["text"]
    assert FRENCH in before["terminal-fr.html"]["text"]

    same = reextract(newsmill)
    assert same.returncode == 0, newsmill.explain(same)
    assert "re-extracted 2 articles: 0 changed" in same.stderr, same.stderr
    assert newsmill.count("article_versions") == 0

    changed = reextract(newsmill, "-s", "EXTRACT_INCLUDE_TABLES=False")
    assert changed.returncode == 0, newsmill.explain(changed)
    assert "re-extracted 2 articles: 1 changed" in changed.stderr, changed.stderr
    after = {r["url"].rsplit("/", 1)[-1]: r for r in newsmill.rows("select * from articles")}
    assert RUSSIAN in after["terminal-ru.html"]["text"]
    assert "Harbour tolls" not in after["terminal-ru.html"]["text"]
    assert after["terminal-ru.html"]["title"] == "Паромный терминал"
    assert after["terminal-fr.html"] == before["terminal-fr.html"]
