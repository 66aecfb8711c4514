"""`newsmill import-warc`: WARC files written with warcio, imported with the installed command.

The files are shaped as CC-NEWS's are (gzip, a member per record; warcinfo, then request,
response and metadata records per page), with the damage real files carry.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import signal
import subprocess
import time

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.conftest import newsmill_command, run_benchmark, user_env
from tests.sites import article_html, unaccounted_pages

FAST = ["-s", "EXTRACT_WORKERS=1", "-s", "NEWSMILL_PROGRESS=log"]
DATE = "2026-11-30T08:00:00Z"
STORED_DATE = "2026-11-30T08:00:00+00:00"


class Warc:
    """A WARC file built record by record: each record its own gzip member (or not
    compressed), every record's offset kept, bytes changeable before it is written."""

    def __init__(self, compress: bool = True):
        self.compress = compress
        self.writer = WARCWriter(io.BytesIO(), gzip=False)
        self.members: list[bytes] = []
        self.offsets: dict[str, int] = {}  # label -> offset of its record in the file

    def _add(self, record, label: str | None = None, damage=None, cut: int | None = None) -> None:
        out = io.BytesIO()
        WARCWriter(out, gzip=False).write_record(record)
        raw = out.getvalue()
        if damage is not None:
            raw = damage(raw)
        member = gzip.compress(raw) if self.compress else raw
        if cut is not None:
            member = member[:cut]
        if label:
            self.offsets[label] = sum(map(len, self.members))
        self.members.append(member)

    def info(self) -> None:
        self._add(self.writer.create_warcinfo_record("test.warc.gz", {"software": "tests"}))

    def page(self, url: str, body: bytes | str, *, status: str = "200 OK",
             content_type: str = "text/html; charset=utf-8", headers=(), label=None,
             damage=None, cut=None, date: str = DATE, metadata: bool = True) -> None:
        """A fetch as CC-NEWS records it: request, response, metadata."""
        body = body.encode() if isinstance(body, str) else body
        self._add(self.writer.create_warc_record(
            url, "request", warc_headers_dict={"WARC-Date": date},
            http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "example")],
                                          is_http_request=True)))
        http = StatusAndHeaders(status, [("Content-Type", content_type), *headers], protocol="HTTP/1.1")
        self._add(self.writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                 http_headers=http,
                                                 warc_headers_dict={"WARC-Date": date}),
                  label, damage, cut)
        if metadata:
            self._add(self.writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(b"fetchTimeMs: 120\r\n"),
                warc_content_type="application/warc-fields", warc_headers_dict={"WARC-Date": date}))

    def raw_response(self, url: str, message: bytes, label=None) -> None:
        """A response record whose HTTP message is `message`, as the server sent it."""
        record = self.writer.create_warc_record(
            url, "resource", payload=io.BytesIO(message),
            warc_content_type="application/http; msgtype=response",
            warc_headers_dict={"WARC-Date": DATE})
        record.rec_headers.replace_header("WARC-Type", "response")
        record.rec_type = "response"
        self._add(record, label)

    def revisit(self, url: str, label=None) -> None:
        self._add(self.writer.create_revisit_record(
            url, digest="sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", refers_to_uri=url,
            refers_to_date=DATE), label)

    def save(self, path) -> None:
        path.write_bytes(b"".join(self.members))


def content_length(delta: int):
    """Damage: the record's Content-Length off by `delta` (its digests then fail too)."""
    def damage(raw: bytes) -> bytes:
        found = re.search(rb"Content-Length: (\d+)", raw)
        return raw[:found.start(1)] + str(int(found.group(1)) + delta).encode() + raw[found.end(1):]
    return damage


def flipped_byte(raw: bytes) -> bytes:
    """Damage: one byte of the page changed, its length kept (the digests no longer match)."""
    at = raw.index(b"<article>")
    return raw[:at] + b"<articlX>" + raw[at + 9:]


def import_warc(newsmill, *args, timeout=180):
    return newsmill.run("import-warc", *args, "--db", str(newsmill.db_path), *FAST, timeout=timeout)


def section_page() -> str:
    links = "".join(f'<li><a href="/news/{n}.html">Headline number {n}</a></li>' for n in range(12))
    return f"<!DOCTYPE html><html><head><title>News</title></head><body><ul>{links}</ul></body></html>"


def short_page() -> str:
    return ("<!DOCTYPE html><html><head><title>Contact</title></head><body>"
            "<p>Write to us.</p></body></html>")


def test_a_cc_news_file_is_stored_counted_and_imported_again_stores_nothing_twice(newsmill):
    warc = Warc()
    warc.info()
    titles = [f"Harbour story {n}" for n in range(4)]
    for n, title in enumerate(titles[:3]):
        warc.page(f"https://news.example/2026/11/story-{n}.html", article_html(title))
    # The fourth travels gzipped (Content-Encoding): warcio hands over the page itself.
    warc.page("https://news.example/2026/11/story-3.html", gzip.compress(article_html(titles[3]).encode()),
              headers=[("Content-Encoding", "gzip")])
    # The first story again, under a tracking URL of another host: one article, two URLs.
    warc.page("https://mirror.example/copy?id=0", article_html(titles[0]))
    warc.page("https://news.example/", section_page())  # a listing
    warc.page("https://news.example/contact.html", short_page())  # not an article
    warc.page("https://news.example/robots.txt", "User-agent: *\nDisallow:\n", content_type="text/plain")
    warc.page("https://news.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
              content_type="image/png")
    warc.page("https://news.example/gone.html", "<html><body>gone</body></html>", status="404 Not Found")
    warc.page("https://news.example/old", "", status="301 Moved Permanently",
              headers=[("Location", "https://news.example/2026/11/story-1.html")])
    warc.revisit("https://news.example/2026/11/story-2.html")
    path = newsmill.tmp / "CC-NEWS-20261130080000-00001.warc.gz"
    warc.save(path)

    first = import_warc(newsmill, path.name, "--source", "cc-news")
    assert first.returncode == 1, newsmill.explain(first)  # the image and the 404 are errors
    articles = newsmill.rows("select * from articles order by url")
    assert [a["title"] for a in articles] == titles
    for article in articles:
        assert article["source"] == "cc-news"
        assert article["url"].startswith("https://news.example/2026/11/story-")
        assert article["word_count"] > 50 and "This is a report about harbour story" in article["text"]
        assert article["first_seen"] == STORED_DATE  # fetched when the WARC says, not now
    copy = newsmill.rows("select u.kind, a.title from article_urls u join articles a on a.id = u.article_id "
                         "where u.url like 'https://mirror.example/%'")
    assert copy == [{"kind": "duplicate", "title": titles[0]}]
    run = newsmill.rows("select * from runs")[0]
    assert {k: run[k] for k in ("source", "status", "pages", "articles_new", "articles_duplicate",
                                "not_articles", "listings", "errors")} == {
        "source": "cc-news", "status": "partial", "pages": 10, "articles_new": 4,
        "articles_duplicate": 1, "not_articles": 1, "listings": 2, "errors": 2}
    assert unaccounted_pages([run]) == []
    errors = newsmill.rows("select url, kind, message from errors order by url")
    assert [(e["url"], e["kind"]) for e in errors] == [
        ("https://news.example/gone.html", "http"), ("https://news.example/logo.png", "content_type")]
    assert all(e["message"].startswith(f"{path.name} at offset ") for e in errors)
    assert f"newsmill: {path.name}: " in first.stderr and "1 revisit" in first.stderr \
        and "1 redirect" in first.stderr
    assert "import-warc" in first.stdout and "cc-news" in first.stdout  # the summary table

    before = {t: newsmill.count(t) for t in ("articles", "article_urls", "article_versions")}
    again = import_warc(newsmill, path.name, "--source", "cc-news")
    assert again.returncode == 1, newsmill.explain(again)
    assert {t: newsmill.count(t) for t in before} == before
    second = newsmill.rows("select * from runs order by id")[1]
    assert {k: second[k] for k in ("pages", "articles_new", "articles_updated", "articles_unchanged",
                                   "articles_duplicate")} == {
        "pages": 10, "articles_new": 0, "articles_updated": 0, "articles_unchanged": 4,
        "articles_duplicate": 1}


def test_each_bad_record_gets_a_line_naming_file_and_offset_and_the_rest_is_imported(newsmill):
    warc = Warc()
    warc.info()
    good = []

    def article(n):
        title = f"Survivor {n}"
        good.append(title)
        warc.page(f"https://news.example/ok-{n}.html", article_html(title))

    article(0)
    warc.page("https://news.example/cut.html", article_html("Cut short"), label="truncated", cut=200)
    article(1)
    warc.page("https://news.example/long.html", article_html("Length too long"), label="longer",
              damage=content_length(+7))
    article(2)
    warc.page("https://news.example/short.html", article_html("Length too short"), label="shorter",
              damage=content_length(-7))
    article(3)
    warc.page("https://news.example/digest.html", article_html("Wrong digest"), label="digest",
              damage=flipped_byte)
    article(4)
    warc.raw_response("https://news.example/headers.html",
                      b"garbage instead of a status line\r\nno headers\r\n\r\n" + article_html("Broken").encode(),
                      label="headers")
    article(5)
    warc.page("https://news.example/huge.html", article_html("Huge", paragraphs=2000), label="oversized")
    article(6)
    warc.revisit("https://news.example/ok-0.html", label="revisit")
    article(7)
    bad = newsmill.tmp / "damaged.warc.gz"
    warc.save(bad)
    (newsmill.tmp / "notes.txt").write_text("These are my notes, not a WARC file.\n" * 20)
    other = Warc(compress=False)  # an uncompressed file, imported after the broken ones
    other.page("https://news.example/plain.html", article_html("Plain file"))
    other.save(newsmill.tmp / "plain.warc")
    good.append("Plain file")

    result = import_warc(newsmill, bad.name, "notes.txt", "plain.warc", "--source", "mixed",
                         "-s", "DOWNLOAD_MAXSIZE=200000")
    assert result.returncode == 2, newsmill.explain(result)  # a file that is no WARC at all
    assert sorted(r["title"] for r in newsmill.rows("select title from articles")) == sorted(good)
    lines = result.stderr.splitlines()
    for label, kind in (("truncated", "warc"), ("longer", "warc"), ("shorter", "warc"),
                        ("digest", "warc"), ("headers", "bad_http"), ("oversized", "too_large")):
        where = f"{bad.name} at offset {warc.offsets[label]}"
        named = [line for line in lines if where in line]
        assert len(named) == 1 and f"[{kind}]" in named[0], (label, where, result.stderr)
    assert any("digest does not match" in line for line in lines)
    assert "newsmill: notes.txt: cannot be imported: not a WARC file" in result.stderr
    assert not any(f"at offset {warc.offsets['revisit']}:" in line for line in lines)
    assert "1 revisit" in result.stderr
    assert "Traceback" not in result.stderr and "WARNING: Record not followed" not in result.stderr
    run = newsmill.rows("select * from runs")[0]
    assert run["status"] == "partial" and run["articles_new"] == len(good)
    assert run["errors"] == 7 and unaccounted_pages([run]) == []
    kinds = newsmill.rows("select kind, count(*) as n from errors group by kind order by kind")
    assert kinds == [{"kind": "bad_http", "n": 1}, {"kind": "too_large", "n": 1}, {"kind": "warc", "n": 5}]


def test_a_truncated_last_member_is_reported(newsmill):
    warc = Warc()
    warc.page("https://news.example/whole.html", article_html("Whole one"))
    warc.page("https://news.example/last.html", article_html("Last one"), label="last", cut=300,
              metadata=False)
    warc.save(newsmill.tmp / "cut.warc.gz")
    result = import_warc(newsmill, "cut.warc.gz", "--source", "cut")
    assert result.returncode == 1, newsmill.explain(result)
    assert [r["title"] for r in newsmill.rows("select title from articles")] == ["Whole one"]
    assert re.search(r"cut\.warc\.gz at offset \d+: \[warc\] .*truncated gzip member", result.stderr), \
        result.stderr


def test_no_file_that_can_be_read_is_exit_2(newsmill):
    (newsmill.tmp / "empty.warc.gz").write_bytes(b"")
    result = import_warc(newsmill, "empty.warc.gz", "missing.warc.gz", "--source", "none")
    assert result.returncode == 2
    assert "empty.warc.gz: cannot be imported: the file is empty" in result.stderr
    assert "missing.warc.gz: cannot be imported: cannot read it" in result.stderr


def big_warc(path, pages: int) -> list[str]:
    warc = Warc()
    warc.info()
    urls = []
    for n in range(pages):
        urls.append(f"https://news.example/big/{n}.html")
        warc.page(urls[-1], article_html(f"Big story {n}", paragraphs=10))
    warc.save(path)
    return urls


def start_import(newsmill, name: str, source: str) -> subprocess.Popen:
    command = newsmill_command("import-warc", name, "--source", source, "--db",
                               str(newsmill.db_path), *FAST)
    return subprocess.Popen(command, cwd=newsmill.tmp, env=user_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_articles(newsmill, process, count: int, timeout: float = 120) -> int:
    """Wait until the running import has stored `count` articles; how many it has."""
    deadline = time.monotonic() + timeout
    stored = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.3)
        if newsmill.db_path.exists():
            try:
                stored = newsmill.count("articles")
            except Exception:  # the schema is being created
                continue
            if stored >= count:
                break
    return stored


def test_killed_mid_import_then_imported_again_nothing_is_lost_or_doubled(newsmill):
    urls = big_warc(newsmill.tmp / "big.warc.gz", 500)
    process = start_import(newsmill, "big.warc.gz", "big")
    try:
        stored = wait_for_articles(newsmill, process, 50)
        assert process.poll() is None and 50 <= stored < len(urls), "the import ended before the kill"
        os.killpg(process.pid, signal.SIGKILL)  # the command and its extraction workers
    finally:
        process.communicate(timeout=30)
    kept = newsmill.count("articles")
    assert kept < len(urls)

    result = import_warc(newsmill, "big.warc.gz", "--source", "big", timeout=300)
    assert result.returncode == 0, newsmill.explain(result)
    rows = newsmill.rows("select url, count(*) as n from article_urls group by url")
    assert sorted(r["url"] for r in rows) == sorted(urls) and {r["n"] for r in rows} == {1}
    assert newsmill.count("articles") == len(urls)
    first, second = newsmill.rows("select * from runs order by id")
    assert first["status"] == "interrupted"
    assert second["status"] == "ok" and second["pages"] == len(urls)
    assert second["articles_new"] + second["articles_unchanged"] == len(urls)
    assert second["articles_new"] == len(urls) - kept


def test_sigterm_stops_the_import_with_its_run_interrupted(newsmill):
    """Scrapy closes a spider only once its scraper is idle, and checks that only when a
    response's items are done: with the pages of an import in flight it waited for ever."""
    urls = big_warc(newsmill.tmp / "stop.warc.gz", 300)
    process = start_import(newsmill, "stop.warc.gz", "stop")
    try:
        assert wait_for_articles(newsmill, process, 20) >= 20 and process.poll() is None
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 1, err[-3000:]
    assert "the crawl was stopped before it finished" in err and "Traceback" not in err
    run = newsmill.rows("select * from runs")[0]
    assert run["status"] == "interrupted" and 20 <= run["articles_new"] < len(urls)
    assert run["articles_new"] == newsmill.count("articles")


@pytest.mark.parametrize("terminal", [True, False])
def test_a_progress_bar_by_bytes_on_a_terminal_only(newsmill, terminal):
    from tests.test_terminal_output import run_on_a_terminal

    big_warc(newsmill.tmp / "some.warc.gz", 40)
    args = ("import-warc", "some.warc.gz", "--source", "some", "--db", str(newsmill.db_path),
            "-s", "EXTRACT_WORKERS=1", "-s", "NEWSMILL_PROGRESS_INTERVAL=0.2")
    if terminal:
        shown = run_on_a_terminal(newsmill, *args)
        assert "importing" in shown and re.search(r"\d+(\.\d+)?/\d+(\.\d+)? [kM]B", shown), shown
    else:
        result = newsmill.run(*args)
        shown = result.stderr
        assert "importing" not in shown and "\x1b[" not in shown
        assert re.search(r"progress: [\d.]+ of [\d.]+ MB read", shown), shown
    assert "Traceback" not in shown
    assert newsmill.count("articles") == 40


@pytest.mark.corpus  # the benchmark's pages are made of the corpus pages
def test_the_benchmark_imports_its_warc_and_prints_its_ratio(tmp_path):
    stdout, figures = run_benchmark("import_warc.py", "--pages", "12", "--ceiling-pages", "4",
                                    "--keep", str(tmp_path))
    assert "newsmill import-warc: 12 of 12 stored" in stdout
    assert {"import_vs_ceiling", "cpu_import_vs_ceiling", "peak_rss_mb", "warc_mb"} <= figures.keys()


def test_an_older_capture_imported_after_a_newer_one_does_not_replace_its_text(newsmill):
    """CC-NEWS of last month imported into a store crawled since: the stored text is the
    newer, and stays; the other way round, the newer capture is the article's next version."""
    url = "https://news.example/2026/11/bridge.html"
    corrected = article_html("Bridge to open in March", words=(
        "Correction: the bridge over the harbour will open to cyclists in March, not in May, "
        "the council said after its meeting on the works."))
    first = article_html("Bridge to open in March", words=(
        "The bridge over the harbour will open to cyclists in May, the council said after its "
        "meeting on the works and the money left for them."))
    for name, date, page in [("newer.warc.gz", "2026-11-30T08:00:00Z", corrected),
                             ("older.warc.gz", "2026-11-20T08:00:00Z", first)]:
        warc = Warc()
        warc.info()
        warc.page(url, page, date=date)
        warc.save(newsmill.tmp / name)
        result = import_warc(newsmill, name, "--source", "cc-news")
        assert result.returncode == 0, newsmill.explain(result)
    [article] = newsmill.rows("select * from articles")
    assert "Correction:" in article["text"] and article["version"] == 1
    assert article["last_seen"] == "2026-11-30T08:00:00+00:00"
    assert newsmill.count("article_versions") == 0
    runs = newsmill.rows("select articles_new, articles_updated, articles_unchanged from runs "
                         "order by id")
    assert runs == [{"articles_new": 1, "articles_updated": 0, "articles_unchanged": 0},
                    {"articles_new": 0, "articles_updated": 0, "articles_unchanged": 1}]

    # In time order, the later capture is an update of the earlier one.
    newsmill.db_path.unlink()
    for name in ("older.warc.gz", "newer.warc.gz"):
        assert import_warc(newsmill, name, "--source", "cc-news").returncode == 0
    [article] = newsmill.rows("select * from articles")
    assert "Correction:" in article["text"] and article["version"] == 2
    [earlier] = newsmill.rows("select text from article_versions")
    assert "in May" in earlier["text"] and "Correction:" not in earlier["text"]


def test_pages_of_links_are_listings_and_undeclared_pages_are_judged_by_their_text(newsmill):
    """Each page judged as the crawl judges a page found on a section page (in the
    extraction worker, from its one parse): a page of links is a listing, a page that does
    not say what it is is kept or refused by its text, and each ends in one outcome."""
    from tests.test_recognition import ARTICLE, PRODUCT
    from tests.test_section_pages import section_page as page_of_links
    from tests.test_section_pages import short_guide_in_a_big_menu

    warc = Warc()
    warc.info()
    warc.page("https://news.example/2026/11/declared.html", article_html("Declared story"))
    warc.page("https://news.example/2026/11/ferry-terminal.html", ARTICLE)  # og:type website
    warc.page("https://news.example/guides/composting/", short_guide_in_a_big_menu())
    warc.page("https://shop.example/packs/trailhead-40/", PRODUCT)  # og:type product
    warc.page("https://news.example/most-read/", page_of_links(
        [f"/topics/{word}/" for word in "harbour council railway budget winter".split()]))
    path = newsmill.tmp / "judged.warc.gz"
    warc.save(path)

    result = import_warc(newsmill, path.name, "--source", "cc-news")

    assert result.returncode == 0, newsmill.explain(result)
    assert sorted(r["title"] for r in newsmill.rows("select title from articles")) == [
        "A beginner's guide to composting at home", "Declared story",
        "Ferry terminal to close for eighteen months"]
    [run] = newsmill.rows("select * from runs")
    assert {k: run[k] for k in ("pages", "articles_new", "not_articles", "listings", "errors")} \
        == {"pages": 5, "articles_new": 3, "not_articles": 1, "listings": 1, "errors": 0}
    assert unaccounted_pages([run]) == []


@pytest.mark.corpus
def test_the_extraction_worker_judges_every_corpus_page_as_the_crawl_does():
    """import-warc's pages are judged in the extraction worker, on its own tree: on every
    page of both shared corpora its judgement is the spider's on the Scrapy response."""
    import json

    from scrapy.http import HtmlResponse

    from crawler import discovery
    from pipelines.extract_worker import judge_linked_page, parse_page
    from tests.conftest import CORPUS

    web_content = CORPUS.parent / "web-content"
    if not (web_content / "html").is_dir():
        why = f"needs the shared web-content corpus at {web_content}"
        if os.environ.get("NEWSMILL_REQUIRE_CORPUS") == "1":
            pytest.fail(why + ", and NEWSMILL_REQUIRE_CORPUS=1", pytrace=False)
        pytest.skip(why)
    differ, kinds = [], set()
    for corpus in (CORPUS, web_content):
        truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
        for key, entry in truth.items():
            url = entry.get("url") or f"https://unknown.example/{key}"
            body = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
            response = HtmlResponse(url, body=body)
            spider = discovery.judge_page(response, linked=True)
            encoding = discovery.declared_encoding(response)  # as the spider hands it over
            worker = judge_linked_page(parse_page(body, encoding), body, url, encoding)
            judged = (spider.kind, spider.mostly_links, spider.declared)
            kinds.add(judged)
            if (worker.kind, worker.mostly_links, worker.declared) != judged:
                differ.append((corpus.name, key, judged))
    assert differ == []
    # Every outcome occurs: articles, listings, undeclared pages with and without mostly links.
    assert {kind for kind, _, _ in kinds} == {"article", "listing", "undeclared"}
    assert {links for kind, links, _ in kinds if kind == "undeclared"} == {True, False}
