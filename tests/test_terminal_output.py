"""What `newsmill crawl` prints: one line per failed URL, no traceback, no start-up listing."""

from __future__ import annotations

import socket

from tests.sites import article_html

# Retries as a user gets them (robots.txt and the page each tried three times), kept short.
RETRIES = ["-s", "RETRY_TIMES=2", "-s", "RETRY_BACKOFF_BASE=0.1", "-s", "DOWNLOAD_TIMEOUT=2"]


def closed_port_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused, at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def unreachable_urls(site) -> dict[str, str]:
    """Five URLs that fail, and the error kind each should be reported with."""
    site.add_handler("/silent.html", lambda h: site.stopping.wait(30))
    site.add_handler("/silent-too.html", lambda h: site.stopping.wait(30))
    urls = {closed_port_url(f"/refused-{n}.html"): "connection" for n in range(3)}
    urls[site.url("/silent.html")] = "timeout"
    urls[site.url("/silent-too.html")] = "timeout"
    return urls


def before_table(result) -> list[str]:
    """The lines a person sees before the summary table (the table goes to stdout)."""
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_unreachable_urls_get_one_line_each_and_no_traceback(site, newsmill):
    site.add("/fine.html", article_html("Reachable"))
    urls = unreachable_urls(site)
    result = newsmill.crawl(*RETRIES, site.url("/fine.html"), *urls)
    assert result.returncode == 1, newsmill.explain(result)
    output = result.stderr + result.stdout
    assert "Traceback" not in output
    assert "Overridden settings" not in output and "Enabled downloader middlewares" not in output
    lines = before_table(result)
    assert len(lines) <= 20, "\n".join(lines)
    for url, kind in urls.items():
        mentions = [line for line in lines if url in line]
        assert len(mentions) == 1, (url, lines)
        assert f"[{kind}]" in mentions[0]
    assert "source" in result.stdout and "errors" in result.stdout  # then the summary table
    # The errors table keeps every failure, as before.
    assert sorted((r["url"], r["kind"]) for r in newsmill.rows("select url, kind from errors")) \
        == sorted(urls.items())


def test_tracebacks_and_the_start_up_listing_are_there_at_debug(site, newsmill):
    url = closed_port_url("/refused.html")
    result = newsmill.crawl(*RETRIES, "--log-level", "DEBUG", url)
    assert result.returncode == 1
    assert "Traceback" in result.stderr  # Scrapy's robots.txt middleware's, for the refusal
    assert "Overridden settings" in result.stderr
    info = newsmill.crawl(*RETRIES, "--log-level", "INFO", url)
    assert "Overridden settings" in info.stderr and "Traceback" not in info.stderr


def run_on_a_terminal(newsmill, *args: str, columns: int = 100) -> str:
    """`newsmill` with a pseudo-terminal as stdout and stderr, as in a shell: what it shows."""
    import os
    import pty
    import re
    import subprocess

    from tests.conftest import newsmill_command, user_env

    leader, follower = pty.openpty()
    env = {**user_env(), "COLUMNS": str(columns), "TERM": "xterm"}
    process = subprocess.Popen(newsmill_command(*args), cwd=newsmill.tmp, env=env,
                               stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))


def test_on_a_terminal_a_failed_url_prints_above_the_bar_and_the_table_fits(site, newsmill):
    urls = unreachable_urls(site)
    shown = run_on_a_terminal(newsmill, "crawl", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0",
                              "-s", "DOWNLOAD_TIMEOUT=2", *urls, "--db", str(newsmill.db_path))
    assert "Traceback" not in shown and "Overridden settings" not in shown
    joined = " ".join(shown.split())  # a log line wider than the terminal is wrapped
    assert joined.count("failed [") == len(urls), shown
    for url, kind in urls.items():
        assert joined.count(f"[{kind}] {url}:") == 1, (url, shown)
    header = next(line for line in shown.splitlines() if line.startswith("source"))
    assert header.split() == ["source", "status", "pages", "new", "updated", "unchanged",
                              "duplicate", "aliases", "not", "articles", "listings", "errors",
                              "time"]  # every column whole in 100 characters
