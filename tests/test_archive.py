"""The WARC archive: every page a crawl fetches in full, as records replay tools can read.

Crawls run the installed `newsmill` against local sites; the files are read back with
warcio, record by record, and checked with `warcio check` (payload and block digests).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.conftest import FAST, newsmill_command, user_env
from tests.sites import article_html, rss_feed

WARCIO = Path(sys.executable).parent / "warcio"
NAME = re.compile(r"^newsmill-\d{14}-[^-]+-\d+-\d{5}\.warc\.gz$")


def warc_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.warc.gz")) if folder.is_dir() else []


def records(path: Path) -> list[dict]:
    """Every record of a file, in order: its WARC headers, HTTP headers and raw payload."""
    out = []
    with open(path, "rb") as stream:
        iterator = ArchiveIterator(stream, check_digests=True)
        for record in iterator:
            payload = record.raw_stream.read()
            out.append({"type": record.rec_type, "headers": dict(record.rec_headers.headers),
                        "http": record.http_headers, "payload": payload,
                        "digest_ok": record.digest_checker.passed,
                        "offset": iterator.get_record_offset()})
    return out


def warcio_check(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([str(WARCIO), "check", "-v", *map(str, paths)], capture_output=True,
                          text=True, timeout=120)


def news_site(site, prefix: str = "") -> dict[str, str]:
    """A site of every kind of page: robots.txt, a feed, a sitemap, a section page, articles
    (one sent gzip-encoded), all with ETags so that a second crawl gets 304s. Returns
    {path: kind}."""
    kinds = {"/robots.txt": "robots"}
    site.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain", etag=True)
    feed_items, sitemap_paths, section_paths = [], [], []
    for i in range(6):
        path = f"{prefix}/news/story-{i}.html"
        site.add(path, article_html(f"{prefix} Story {i}"), etag=True)
        kinds[path] = "article"
        (feed_items.append((f"Story {i}", path)) if i < 2 else
         sitemap_paths.append(path) if i < 4 else section_paths.append(path))
    # Sent compressed: the archive keeps the bytes as sent, with their Content-Encoding.
    zipped = f"{prefix}/news/zipped.html"
    site.add(zipped, article_html(f"{prefix} Zipped story"), gzipped=True, etag=True,
             headers={"Content-Encoding": "gzip"})
    feed_items.append(("Zipped", zipped))
    kinds[zipped] = "article"
    site.add(f"{prefix}/feed.xml", rss_feed(site, feed_items), "application/rss+xml", etag=True)
    kinds[f"{prefix}/feed.xml"] = "feed"
    urls = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in sitemap_paths)
    site.add(f"{prefix}/sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
             f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>', "application/xml",
             etag=True)
    kinds[f"{prefix}/sitemap.xml"] = "sitemap"
    links = "".join(f'<li><a href="{p}">A story headline number {n}</a></li>'
                    for n, p in enumerate(section_paths))
    site.add(f"{prefix}/section/", f"<html><body><h1>Section</h1><ul>{links}</ul></body></html>",
             etag=True)
    kinds[f"{prefix}/section/"] = "page"
    return kinds


def sources_toml(site, name: str = "news", prefix: str = "", extra: str = "") -> str:
    urls = ", ".join(f'"{site.url(prefix + p)}"' for p in ("/feed.xml", "/sitemap.xml", "/section/"))
    return f'[[sources]]\nname = "{name}"\nurls = [{urls}]\n{extra}\n'


def test_a_crawl_is_archived_record_by_record_indexed_and_not_again_when_unchanged(site, newsmill):
    kinds = news_site(site)
    sources = sources_toml(site)
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles") == 7

    files = warc_files(newsmill.tmp / "archive")  # beside the database
    assert len(files) == 1 and NAME.match(files[0].name), files
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout

    recs = records(files[0])
    assert recs[0]["type"] == "warcinfo"
    assert all(r["digest_ok"] is not False for r in recs)
    responses = {r["headers"]["WARC-Target-URI"]: r for r in recs if r["type"] == "response"}
    requests = {r["headers"]["WARC-Concurrent-To"]: r for r in recs if r["type"] == "request"}
    # Every page fetched in full is there, once, as sent, with its request.
    assert sorted(responses) == sorted(site.url(p) for p in kinds)
    assert len(recs) == 1 + 2 * len(kinds)
    for url, response in responses.items():
        path = url.removeprefix(site.base)
        sent = site.routes[path].body
        headers = response["headers"]
        for name in ("WARC-Record-ID", "WARC-Date", "WARC-Payload-Digest", "WARC-Block-Digest"):
            assert headers.get(name), (url, name)
        assert headers["WARC-IP-Address"] == "127.0.0.1"
        assert response["http"].get_statuscode() == "200"
        assert response["payload"] == sent, url
        request = requests[headers["WARC-Record-ID"]]
        assert request["headers"]["WARC-Target-URI"] == url
        assert (request["http"].protocol, request["http"].statusline) == ("GET", f"{path} HTTP/1.1")
        assert request["http"].get_header("User-Agent").startswith("newsmill")
    zipped = responses[site.url("/news/zipped.html")]
    assert zipped["http"].get_header("Content-Encoding") == "gzip"
    assert b"Zipped story" in gzip.decompress(zipped["payload"])

    # The table: each row's offset and length open that page's response record.
    rows = newsmill.rows("select * from archived_pages order by id")
    assert sorted(r["url"] for r in rows) == sorted(responses)
    for row in rows:
        assert row["file"] == f"archive/{files[0].name}"
        served = site.routes[row["url"].removeprefix(site.base)].headers["Content-Type"]
        assert row["content_type"] == served.split(";")[0] and row["status"] == 200
        with open(newsmill.tmp / row["file"], "rb") as f:
            f.seek(row["offset"])
            member = f.read(row["length"])
        (record,) = list(ArchiveIterator(io.BytesIO(member)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
    articles = {a["url"]: a["id"] for a in newsmill.rows("select id, url from articles")}
    for row in rows:  # an article's page names it; the others name none
        assert row["article_id"] == articles.get(row["url"]), row

    # Again, nothing changed: 304s and skipped known pages write nothing.
    before = [f.stat().st_size for f in files]
    site.requests.clear()
    site.served.clear()
    result = newsmill.crawl(sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    assert site.requests, "the second crawl asked for nothing"
    assert not site.bodies_served(), site.served
    assert warc_files(newsmill.tmp / "archive") == files
    assert [f.stat().st_size for f in files] == before
    assert newsmill.count("archived_pages") == len(rows)

    # Listings read in full again: they are archived again; their articles, asked for
    # with their ETags, answer 304 and add nothing.
    site.served.clear()
    result = newsmill.crawl("-s", "NEWSMILL_CONDITIONAL_LISTINGS=False", sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    assert sorted(site.bodies_served()) == ["/feed.xml", "/section/", "/sitemap.xml"]
    assert {p for p, status, _ in site.served if status == 304} >= {"/news/story-0.html",
                                                                   "/news/zipped.html"}
    again = newsmill.rows("select url from archived_pages where id > ?", [rows[-1]["id"]])
    assert sorted(r["url"] for r in again) == sorted(
        site.url(p) for p in ("/feed.xml", "/section/", "/sitemap.xml"))


def test_a_source_whose_archive_key_is_not_true_or_false_is_refused(site, newsmill):
    news_site(site)
    result = newsmill.crawl(sources=sources_toml(site, extra='archive = "no"'))
    assert result.returncode == 2
    assert "key 'archive': must be true or false" in result.stderr
    assert not (newsmill.tmp / "archive").exists()


def test_archive_false_per_source_or_in_defaults_writes_nothing(make_site, newsmill):
    kept, off = make_site(), make_site("127.0.0.2")
    news_site(kept)
    news_site(off, "/off")
    folder = newsmill.tmp / "warcs"
    sources = ("[defaults]\narchive = false\n\n" + sources_toml(kept, "kept", extra="archive = true")
               + sources_toml(off, "off", "/off"))
    result = newsmill.crawl("-s", f"ARCHIVE_DIR={folder}",
                            "-s", "NEWSMILL_ALLOW_PRIVATE_ADDRESSES=True", sources=sources)
    assert result.returncode == 0, newsmill.explain(result)
    assert newsmill.count("articles", "source = 'off'") == 7
    assert not (newsmill.tmp / "archive").exists()
    recs = [r for path in warc_files(folder) for r in records(path)]
    archived = {r["headers"]["WARC-Target-URI"] for r in recs if r["type"] == "response"}
    assert archived and all(url.startswith(kept.base) for url in archived), archived
    assert newsmill.count("archived_pages", "url like ?", [off.base + "%"]) == 0
    assert newsmill.count("archived_pages") == len(archived)

    # Off in [defaults] alone: no folder, no file, no row.
    other = newsmill.tmp / "none"
    result = newsmill.crawl("-s", f"ARCHIVE_DIR={other}", "-s", "NEWSMILL_RECHECK_KNOWN_URLS=False",
                            "-s", "NEWSMILL_CONDITIONAL_LISTINGS=False",
                            sources="[defaults]\narchive = false\n\n" + sources_toml(off, "off", "/off"))
    assert result.returncode == 0, newsmill.explain(result)
    assert not other.exists()


def test_a_crawl_killed_mid_way_leaves_every_file_readable_to_its_last_record(site, newsmill):
    # Large pages, served slowly: the crawl is writing records when it is killed.
    items = []
    for i in range(80):
        path = f"/big/story-{i}.html"
        site.add(path, article_html(f"Big story {i}", paragraphs=400), delay=0.05)
        items.append((f"Big {i}", path))
    feed = site.add("/feed.xml", rss_feed(site, items), "application/rss+xml")
    folder = newsmill.tmp / "archive"
    crawl = subprocess.Popen(
        newsmill_command("crawl", *FAST, "-s", "ARCHIVE_MAX_FILE_SIZE=300000", "--db",
                         str(newsmill.db_path), feed),
        cwd=newsmill.tmp, env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(warc_files(folder)) < 3:
            time.sleep(0.02)
        assert crawl.poll() is None, "the crawl ended before it could be killed"
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.wait(timeout=30)
    finally:
        if crawl.poll() is None:
            os.killpg(crawl.pid, signal.SIGKILL)
    files = warc_files(folder)
    assert len(files) >= 3  # rotated by size
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    responses = 0
    for path in files:
        recs = records(path)
        assert recs[0]["type"] == "warcinfo"
        kinds = [r["type"] for r in recs[1:]]
        assert kinds == ["response", "request"] * (len(kinds) // 2), path  # whole pairs only
        responses += len(kinds) // 2
    assert 1 <= responses < 81


def test_the_daemons_crawl_worker_archives_its_crawls_into_one_file_and_indexes_them(
        site, newsmill, start_daemon):
    from tests.test_daemon import finished

    news_site(site)
    daemon = start_daemon(sources_toml(site, extra='every = "1s"'))
    daemon.wait_for("two finished runs", lambda: len(finished(daemon.runs())) >= 2, timeout=120)
    # A new article in the feed: a later run fetches it, into the same worker's file.
    site.add("/news/late.html", article_html("Late story"), etag=True)
    site.add("/feed.xml", rss_feed(site, [("Late", "/news/late.html")]), "application/rss+xml",
             etag=True)
    daemon.wait_for("the late article, archived and indexed", lambda: newsmill.count(
        "archived_pages", "url = ? and article_id is not null", [site.url("/news/late.html")]),
        timeout=120)
    assert daemon.stop() == 0, daemon.log
    runs = finished(daemon.runs())
    files = warc_files(newsmill.tmp / "archive")
    assert 1 <= len(files) < len(runs), (files, len(runs))  # not a file per crawl
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    rows = newsmill.rows("select * from archived_pages")
    responses = sum(1 for path in files for r in records(path) if r["type"] == "response")
    assert len(rows) == responses
    for row in rows:
        with open(newsmill.tmp / row["file"], "rb") as f:
            f.seek(row["offset"])
            (record,) = list(ArchiveIterator(io.BytesIO(f.read(row["length"]))))
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
    assert {r["url"] for r in rows if r["article_id"]} == {
        a["url"] for a in newsmill.rows("select url from articles")}


def test_a_newsmill_worker_archives_on_its_own_machine_and_the_store_indexes_none_of_it(
        site, newsmill, tmp_path):
    from tests.redis_server import redis_server_or_skip
    from tests.test_daemon import Daemon
    from tests.test_distributed import Worker, stop_daemon

    (tmp_path / "redis").mkdir()
    redis = redis_server_or_skip(tmp_path / "redis")
    news_site(site)
    machine = tmp_path / "worker-machine"  # the worker's working directory
    machine.mkdir()
    daemon = Daemon(newsmill, sources_toml(site, extra='every = "1h"'), "--redis", redis.url)
    worker = Worker(machine, redis.url)
    try:
        daemon.wait_for("the run", lambda: daemon.runs(where="status = 'ok'"), timeout=120)
    finally:
        exits = worker.stop(), stop_daemon(daemon)
        redis.stop()
    assert exits == (0, 0), worker.log + daemon.log
    assert newsmill.count("articles") == 7
    files = warc_files(machine / "data" / "archive")  # the worker's default ARCHIVE_DIR
    assert len(files) == 1, worker.log
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    archived = {r["headers"]["WARC-Target-URI"] for r in records(files[0]) if r["type"] == "response"}
    assert site.url("/news/zipped.html") in archived and len(archived) == 11
    assert not (newsmill.tmp / "archive").exists()
    assert newsmill.count("archived_pages") == 0  # a path on another machine names nothing here


def test_a_redirect_is_archived_with_the_page_it_leads_to_and_both_name_the_article(
        site, newsmill):
    site.add("/news/new.html", article_html("Moved story"))
    site.add("/old.html", b"", status=301, headers={"Location": site.url("/news/new.html")})
    feed = site.add("/feed.xml", rss_feed(site, [("Moved", "/old.html")]), "application/rss+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 0, newsmill.explain(result)
    (article,) = newsmill.rows("select id, url from articles")
    assert article["url"] == site.url("/news/new.html")
    rows = {r["url"]: r for r in newsmill.rows("select * from archived_pages")}
    assert rows[site.url("/old.html")]["status"] == 301
    assert rows[site.url("/news/new.html")]["status"] == 200
    assert rows[site.url("/old.html")]["article_id"] == article["id"]
    assert rows[site.url("/news/new.html")]["article_id"] == article["id"]
    assert rows[feed]["article_id"] is None
    (path,) = warc_files(newsmill.tmp / "archive")
    moved = next(r for r in records(path) if r["type"] == "response"
                 and r["headers"]["WARC-Target-URI"] == site.url("/old.html"))
    assert moved["http"].get_statuscode() == "301"
    assert moved["http"].get_header("Location") == site.url("/news/new.html")
