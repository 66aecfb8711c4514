"""The extraction workers: fresh processes every crawl starts, so what they load counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, user_env

# The `newsmill` script in miniature: it imports crawler.cli, and a spawned worker imports
# the parent's main script again before it runs anything.
SCRIPT = textwrap.dedent("""
    from crawler.cli import main

    async def run():
        from pipelines.extract_pool import ExtractionPool
        from pipelines.extract_worker import extract_article

        page = "<html><body><article>" + "<p>Words enough to make an article here.</p>" * 9
        pool = ExtractionPool(1)
        found = await pool.submit(extract_article, page + "</article></body></html>",
                                  "https://example.org/a.html", {}, {})
        assert found.get("near_duplicate_keys"), found
        print(" ".join(await pool.submit(eval, "sorted(__import__('sys').modules)")))
        pool.close()

    if __name__ == "__main__":
        import asyncio

        asyncio.run(run())
""")


def run_script(path, text: str) -> subprocess.CompletedProcess:
    """Run `text` as a main script (workers are spawned from it, as from `newsmill`), from its
    own directory with the installed package, as the `newsmill` script runs."""
    path.write_text(text)
    done = subprocess.run([sys.executable, str(path)], cwd=path.parent, env=user_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_workers_load_trafilatura_and_not_scrapy(tmp_path):
    """Scrapy, Twisted and sqlite-utils in a worker cost every crawl ~0.45 s of CPU and
    ~25 MB per worker for nothing, SciPy (through datasketch) 0.36 s more, tldextract and
    its suffix list 0.1 s: the worker only extracts, and computes its MinHash with numpy."""
    done = run_script(tmp_path / "newsmill_like.py", SCRIPT)
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    assert {"trafilatura", "pipelines"} <= loaded
    assert not loaded & {"scrapy", "twisted", "sqlite_utils", "datasketch", "scipy", "tldextract",
                         "requests"}, sorted(loaded)


SAME_OUTPUT = textwrap.dedent("""
    import json
    from benchmarks.article_site import load_corpus
    from pipelines.extract_worker import extract_article, prepare_worker

    pages = [page.encode() for page in load_corpus()]
    def run():
        return [extract_article(page, f"https://example.org/{n}.html", {}, {}, "utf-8")
                for n, page in enumerate(pages)]
    before = run()
    prepare_worker()
    print(json.dumps({"same": run() == before, "articles": sum("text" in a for a in before)}))
""")


@pytest.mark.corpus
def test_workers_plain_html_elements_change_no_extracted_field():
    """prepare_worker swaps lxml.html's element classes for speed: every field of every
    corpus page comes out the same (in a process of its own: it changes lxml's parsers)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SAME_OUTPUT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["articles"] >= 110
    assert result["same"]


@pytest.mark.corpus
def test_both_modes_from_one_pruning_give_bare_extractions_text_on_every_corpus_page():
    """The newsmill engine's two trafilatura runs start from one pruned copy of the page
    (pipelines/trafilatura_modes.py, trafilatura's steps written out): each mode's text is
    bare_extraction's own, on every corpus page, and the pruned copy is left as it was
    for the second run."""
    from lxml import etree
    from trafilatura import bare_extraction

    from benchmarks.article_site import load_corpus
    from pipelines.extract_worker import parse_page
    from pipelines.trafilatura_modes import mode_text, prune_page

    compared = 0
    for n, page in enumerate(load_corpus()):
        url = f"https://example.org/{n}.html"
        tree = parse_page(page.encode(), "utf-8")
        pruned = prune_page(tree, include_comments=False)
        if pruned is None:
            continue  # a forum thread: bare_extraction itself
        before = etree.tostring(pruned)
        for focus in ("recall", "balanced"):
            document = bare_extraction(tree, url=url, favor_recall=focus == "recall",
                                       include_comments=False, include_tables=True)
            theirs = (document.text or "") if document is not None else ""
            assert mode_text(pruned, url, focus) == theirs, (n, focus)
            assert etree.tostring(pruned) == before, (n, focus)
        compared += 1
    assert compared >= 110
    assert prune_page(tree, include_comments=True) is None  # comments: bare_extraction


@pytest.mark.corpus
def test_category_and_tag_links_are_trafilaturas_on_every_corpus_page():
    """linked_categories skips trafilatura's category and tag searches (EXSLT, ~1-2 ms
    each) where no href could pass their test: the same lists as extract_catstags."""
    from trafilatura.metadata import extract_catstags

    from benchmarks.article_site import load_corpus
    from pipelines.extract_worker import _all_hrefs, linked_categories, parse_page

    skipped = found = 0
    for n, page in enumerate(load_corpus()):
        tree = parse_page(page.encode(), "utf-8")
        for kind in ("category", "tag"):
            theirs = extract_catstags(kind, tree)
            assert linked_categories(kind, tree, _all_hrefs(tree)) == theirs, (n, kind)
            found += bool(theirs)
            skipped += "/" + kind.rstrip("y") not in _all_hrefs(tree)
    assert found >= 20 and skipped >= 100, (found, skipped)


def test_an_undated_page_gets_htmldates_day_only_where_nothing_else_dates_it(monkeypatch):
    """htmldate runs after the fields are chosen, only where they found no day: a page
    whose URL has its day keeps it, and htmldate is not run; one dated nowhere but in its
    footer gets htmldate's day."""
    from pipelines import extract_worker

    searched = []
    found_day = extract_worker._htmldate_day
    monkeypatch.setattr(extract_worker, "_htmldate_day",
                        lambda tree, url: searched.append(url) or found_day(tree, url))
    body = "".join(f"<p>Paragraph {n} of a story about the harbour ferry and its new engine, "
                   f"which the operator says will run until the end of the decade.</p>"
                   for n in range(6))
    page = (f"<html><head><title>Ferry back</title></head><body><article><h1>Ferry back</h1>"
            f"{body}</article><footer><p>Last changed 2021-03-03</p></footer></body></html>")
    dated = "https://example.org/2024/05/06/ferry-back.html"
    assert extract_worker.extract_article(page, dated, {}, {})["published"] == "2024-05-06"
    assert searched == []
    undated = "https://example.org/news/ferry-back.html"
    assert extract_worker.extract_article(page, undated, {}, {})["published"] == "2021-03-03"
    assert searched == [undated]


def test_a_copyright_year_or_a_year_alone_is_no_publication_day():
    """htmldate gives 1 January of a copyright line's year ("© 2024") or of a year in the
    text when it finds no date: such a page is stored without a day, not as published on
    New Year's Day. A page that writes 1 January keeps it."""
    from pipelines.extract_worker import extract_article

    body = "".join(f"<p>Paragraph {n} of a guide to the harbour ferries, which have run since "
                   f"2019 and which the operator says will run until the end of the decade.</p>"
                   for n in range(6))

    def page(footer: str) -> str:
        return (f"<html><head><title>Ferry guide</title></head><body><article><h1>Ferry guide</h1>"
                f"{body}</article><footer><p>{footer}</p></footer></body></html>")

    url = "https://example.org/guides/ferries.html"
    assert extract_article(page("© 2024 Example Ferries Ltd. All rights reserved."), url, {}, {})["published"] is None
    assert extract_article(page("Example Ferries Ltd."), url, {}, {})["published"] is None  # "2019" alone
    for shown in ("Last changed 2024-01-01", "Last changed January 1, 2024", "Mis à jour le 1er janvier 2024"):
        assert extract_article(page(shown + ". © 2024 Example"), url, {}, {})["published"] == "2024-01-01", shown
    assert extract_article(page("Last changed 2024-03-03. © 2024 Example"), url, {}, {})["published"] == "2024-03-03"


def test_workers_start_with_a_first_crawl_and_not_for_an_unchanged_recrawl(site, newsmill):
    """A first crawl extracts nearly every page: its workers start (and warm up) while
    robots.txt and the feed download. A re-crawl that finds nothing changed starts none."""
    from tests.sites import article_html, rss_feed

    site.add("/news/one.html", article_html("First story"), etag=True)
    feed = site.add("/rss.xml", rss_feed(site, [("First story", "/news/one.html")]),
                    "application/rss+xml")
    sources = f'[[sources]]\nname = "news"\nurls = ["{feed}"]\n'
    started = "extraction workers started with the spider"

    first = newsmill.crawl("--log-level", "DEBUG", sources=sources)  # the line is DEBUG's
    again = newsmill.crawl("--log-level", "DEBUG", sources=sources)

    assert first.returncode == 0 and again.returncode == 0, newsmill.explain(again)
    assert started in first.stderr
    assert started not in again.stderr
    runs = [(r["articles_new"], r["articles_unchanged"]) for r in
            newsmill.rows("select * from runs order by id")]
    assert runs == [(1, 0), (0, 1)]


def test_warm_up_page_is_extracted_as_an_article():
    """warm_up's made-up page goes through every step of extraction as an article does
    (one that extracted nothing would leave the first real page to pay the set-up)."""
    from pipelines.extract_worker import _WARM_UP_PAGE, extract_article

    found = extract_article(_WARM_UP_PAGE, "https://example.org/news/ferry.html", {}, {})
    assert found.get("title") == "Harbour ferry returns after repairs"
    assert found.get("author") == "Ann Writer"
    assert found.get("word_count", 0) > 200


EXIT_SCRIPT = textwrap.dedent("""
    import atexit
    import logging
    import os
    import sys

    # Registered in every process that imports this script, a worker before it starts:
    # Python's teardown would run it at the worker's exit.
    atexit.register(lambda: print(f"teardown in {os.getpid()}", file=sys.stderr, flush=True))

    def speak():
        print("printed, not yet flushed", end="")
        logging.getLogger("worker").warning("logged by the worker")
        return os.getpid()

    async def run():
        from pipelines.extract_pool import ExtractionPool

        pool = ExtractionPool(1)
        pid = await pool.submit(speak)
        process = pool.workers[0].process
        pool.close()
        print()
        print("worker exit code", process.exitcode, "alive", process.is_alive())
        print("worker pid", pid)

    if __name__ == "__main__":
        import asyncio

        asyncio.run(run())
""")


def test_workers_exit_cleanly_with_their_output_flushed(tmp_path):
    """Workers skip the interpreter's teardown at exit (it cost each ~0.15 s when the crawl
    closed its pool): what they printed or logged must still come out, and they must end."""
    done = run_script(tmp_path / "worker_exit.py", EXIT_SCRIPT)
    assert "printed, not yet flushed" in done.stdout
    assert "logged by the worker" in done.stderr
    assert "worker exit code 0 alive False" in done.stdout
    worker = done.stdout.split("worker pid ")[1].split()[0]
    assert f"teardown in {worker}" not in done.stderr  # the teardown was skipped
    assert f"teardown in {worker}" not in done.stdout


POOL_SCRIPT = textwrap.dedent("""
    import asyncio
    import json
    import os

    async def run():
        from pipelines.extract_pool import ExtractionPool, WorkerDied

        pool = ExtractionPool(2, recycle_tasks=4)
        pids = await asyncio.gather(*(pool.submit(eval, "__import__('os').getpid()") for _ in range(12)))
        futures = [pool.submit(os._exit, 3)] + [pool.submit(pow, n, 2) for n in range(6)]
        outcome = await asyncio.gather(*futures, return_exceptions=True)
        try:
            await pool.submit(int, "not a number")
        except ValueError as exc:
            error = str(exc)
        processes = [w.process for w in pool.workers] + pool.ended
        pool.close()
        print(json.dumps({"pids": len(set(pids)), "replaced": pool.replaced,
                          "died": type(outcome[0]).__name__, "squares": outcome[1:], "error": error,
                          "alive": sum(p.is_alive() for p in processes)}))

    if __name__ == "__main__":
        asyncio.run(run())
""")


def test_pool_replaces_workers_and_survives_one_that_dies(tmp_path):
    """Workers are retired after `recycle_tasks` tasks and replaced; a worker that dies fails
    only the task it was running (the ones queued behind it go to another worker); a task's
    exception comes back as itself; closing the pool leaves no process behind."""
    result = json.loads(run_script(tmp_path / "pool.py", POOL_SCRIPT).stdout)
    assert result["pids"] >= 3 and result["replaced"] >= 2  # 12 tasks, 4 per worker
    assert result["died"] == "WorkerDied"
    assert result["squares"] == [n * n for n in range(6)]
    assert result["error"] == "invalid literal for int() with base 10: 'not a number'"
    assert result["alive"] == 0


TIMEOUT_SCRIPT = textwrap.dedent("""
    import asyncio
    import json
    import time

    async def run():
        from pipelines.extract_pool import ExtractionPool, TaskTimedOut

        pool = ExtractionPool(1, task_timeout=5.0)
        first = await pool.submit(eval, "__import__('os').getpid()")
        stuck = pool.submit(time.sleep, 600)  # a page that would hold the worker for ten minutes
        behind = [pool.submit(pow, n, 2) for n in range(3)]
        started = time.monotonic()
        outcome = await asyncio.gather(stuck, *behind, return_exceptions=True)
        waited = time.monotonic() - started
        second = await pool.submit(eval, "__import__('os').getpid()")
        processes = [w.process for w in pool.workers] + pool.ended
        pool.close()
        print(json.dumps({"stuck": type(outcome[0]).__name__, "message": str(outcome[0]),
                          "squares": outcome[1:], "waited": waited, "replaced": first != second,
                          "alive": sum(p.is_alive() for p in processes)}))

    if __name__ == "__main__":
        asyncio.run(run())
""")


def test_a_task_past_the_time_limit_kills_its_worker_and_only_fails_itself(tmp_path):
    """A page that holds its worker (a hostile page, a bug) fails with TaskTimedOut once the
    limit passes, its worker is killed and replaced, and the pages queued behind it are
    extracted by the next worker."""
    result = json.loads(run_script(tmp_path / "timeout.py", TIMEOUT_SCRIPT).stdout)
    assert result["stuck"] == "TaskTimedOut"
    assert "ran past 5 s" in result["message"]
    assert result["squares"] == [0, 1, 4]
    assert result["waited"] < 300  # not the ten minutes the task asked for
    assert result["replaced"]
    assert result["alive"] == 0
