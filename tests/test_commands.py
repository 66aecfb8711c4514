"""The ways a user starts a crawl: `newsmill`, `scrapy crawl articles`, with progress shown."""

import subprocess
import sys

import sqlite_utils

from tests.conftest import ROOT, newsmill_command, user_env
from tests.sites import article_html, rss_feed


def test_scrapy_crawl_articles_works_from_the_repository_root(site, tmp_path):
    site.add("/a.html", article_html("Scrapy way"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "s"\nurls = ["{site.url("/a.html")}"]\n')
    db = tmp_path / "scrapy.db"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "articles", "-s", f"NEWSMILL_SOURCES_FILE={sources}",
         "-s", f"NEWSMILL_DB={db}", "-s", "DOWNLOAD_DELAY=0", "-s", "EXTRACT_WORKERS=1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["title"] for r in sqlite_utils.Database(db).query("select title from articles")] == ["Scrapy way"]


def test_installed_newsmill_command_answers_from_any_directory(tmp_path):
    """The console script, from outside the repository: every command's module is installed
    (`daemon` and `status` import scheduler.py, which the packaging once left out)."""
    version = subprocess.run(newsmill_command("--version"), cwd=tmp_path, env=user_env(),
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "version 0.1.0" in version.stdout, version.stderr
    for command in ("crawl", "daemon", "status", "serve", "worker", "store", "backup"):
        done = subprocess.run(newsmill_command(command, "--help"), cwd=tmp_path, env=user_env(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    status = subprocess.run(newsmill_command("status", "--db", str(tmp_path / "none.db")),
                            cwd=tmp_path, env=user_env(), capture_output=True, text=True, timeout=60)
    assert "no such database" in status.stderr and "unexpected error" not in status.stderr


def test_progress_lines_and_summary_without_a_terminal(site, newsmill):
    paths = [f"/p/{i}.html" for i in range(3)]
    for i, path in enumerate(paths):
        site.add(path, article_html(f"Progress {i}"), delay=0.3)
    feed = site.add("/f.xml", rss_feed(site, [(p, p) for p in paths]), "application/rss+xml")
    result = newsmill.crawl(feed, "-s", "NEWSMILL_PROGRESS_INTERVAL=0.2",
                            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    assert result.returncode == 0, newsmill.explain(result)
    assert "progress: " in result.stderr and "pages/s" in result.stderr
    summary = result.stdout
    assert "adhoc" in summary and "ok" in summary
    header = next(line for line in summary.splitlines() if "status" in line)
    for column in ("source", "status", "pages", "new", "updated", "unchanged", "errors"):
        assert column in header
