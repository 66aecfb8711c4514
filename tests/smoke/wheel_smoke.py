"""Smoke test of the built wheel, as a new user installs it (`make smoke`; CI runs it).

Builds newsmill's wheel, installs it with the pinned constraints into a new, empty virtual
environment (not editable, nothing of the repository on the path), and from a temporary
directory runs every command once against a small site served on 127.0.0.1:
`newsmill --version`, `crawl`, `daemon` (started, then SIGTERM: exit 0, runs recorded),
`status --json` and `serve` (answering /newsmill.json, and an article page from the
templates in the wheel). Standard library only, so any Python 3.11+ runs it. Every wait
is bounded; nothing leaves the machine but the installs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARAGRAPH = ("The harbour committee met on {day} to weigh the plan for the northern quay, "
             "which has been closed since the winter storms undermined its foundations. "
             "Engineers told the members that repairs would take most of the year and that "
             "fishing boats would keep using the southern moorings in the meantime. ")


def step(text: str) -> None:
    print(f"smoke: {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_site(folder: Path, port: int) -> str:
    """Two articles and an RSS feed listing them; returns the feed's URL."""
    folder.mkdir()
    base = f"http://127.0.0.1:{port}"
    items = []
    for n, day in enumerate(("Monday", "Tuesday"), 1):
        title = f"Quay repairs, day {n}"
        body = "".join(f"<p>{PARAGRAPH.format(day=day)} ({n}.{i})</p>" for i in range(6))
        (folder / f"story-{n}.html").write_text(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:type" content="article">'
            f'<meta property="article:published_time" content="2026-11-0{n}T08:00:00+00:00">'
            f"</head><body><article><h1>{title}</h1>{body}</article></body></html>")
        items.append(f"<item><title>{title}</title><link>{base}/story-{n}.html</link></item>")
    (folder / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour news</title>'
        f"<link>{base}/</link>{''.join(items)}</channel></rss>")
    return f"{base}/feed.xml"


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if done.returncode != 0:
        sys.exit(f"smoke: FAILED: {' '.join(map(str, cmd))} exited {done.returncode}\n"
                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def wait_for(what: str, condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.3)
    sys.exit(f"smoke: FAILED: no {what} within {seconds:.0f}s")


def finished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from runs where status != 'running'").fetchone()[0]
    except sqlite3.Error:
        return 0


def answers(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except OSError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constraints", default=str(ROOT / "constraints.txt"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    constraints = Path(args.constraints).resolve()  # pip runs from the temporary directory
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="newsmill-smoke-"))
    venv = work / "venv"
    bin_ = venv / "bin"

    step(f"new virtual environment in {venv}")
    run([sys.executable, "-m", "venv", venv])
    run([bin_ / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip>=24"])  # as make setup
    # From a copy of the working tree without what earlier builds left (setuptools would
    # reuse a stale build/lib, hiding a module the packaging leaves out).
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "artifacts",
        "*.db", "*.db-*"))
    step("building the wheel")
    built = run([bin_ / "python", "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", source],
                cwd=work)
    # setuptools' warnings (deprecations, packages it would leave out...) are ours to fix;
    # pip's own "WARNING:" lines about this machine's package indexes are not.
    noise = [line for line in (built.stdout + built.stderr).splitlines()
             if "Warning" in line or "deprecat" in line.lower()]
    if noise:
        sys.exit("smoke: FAILED: building the wheel warns:\n" + "\n".join(noise))
    wheel = next((work / "dist").glob("newsmill-*.whl"))
    step(f"installing {wheel.name} with {constraints}")
    run([bin_ / "python", "-m", "pip", "install", "--quiet", "-c", constraints, wheel], cwd=work)

    home = work / "user"
    home.mkdir()
    # A user's environment: the venv's command on PATH, nothing of the repository on the path.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_}{os.pathsep}{env.get('PATH', '')}"
    newsmill = str(bin_ / "newsmill")
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "EXTRACT_WORKERS=1"]

    port = free_port()
    feed = write_site(home / "site", port)
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", home / "site"], cwd=home, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    processes = [server]
    try:
        wait_for("local site", lambda: urllib.request.urlopen(feed, timeout=5).status == 200
                 if _listening(port) else False, 30)

        version = run([newsmill, "--version"], cwd=home, env=env).stdout
        step(f"newsmill --version: {version.strip()}")
        if "version" not in version:
            sys.exit(f"smoke: FAILED: newsmill --version printed {version!r}")

        crawl = run([newsmill, "crawl", *fast, feed, "--db", home / "crawl.db"], cwd=home, env=env,
                    timeout=180)
        with sqlite3.connect(home / "crawl.db") as conn:
            stored = conn.execute("select count(*) from articles").fetchone()[0]
        step(f"newsmill crawl: {stored} articles stored")
        if stored != 2 or "Traceback" in crawl.stderr:
            sys.exit(f"smoke: FAILED: crawl stored {stored} articles, not 2\n{crawl.stderr[-3000:]}")

        sources = home / "sources.toml"
        sources.write_text(f'[[sources]]\nname = "harbour"\nurls = ["{feed}"]\nevery = "1h"\n')
        daemon_db = home / "daemon.db"
        daemon_log = (home / "daemon.log").open("w")
        daemon = subprocess.Popen([newsmill, "daemon", "--sources", sources, "--db", daemon_db,
                                   *fast], cwd=home, env=env, stdout=daemon_log,
                                  stderr=subprocess.STDOUT)
        processes.append(daemon)
        wait_for("run recorded by the daemon",
                 lambda: finished_runs(daemon_db) or daemon.poll() is not None, 120)
        if daemon.poll() is not None:
            sys.exit(f"smoke: FAILED: the daemon exited {daemon.returncode} by itself\n"
                     f"{(home / 'daemon.log').read_text()[-3000:]}")
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=90)
        step(f"newsmill daemon: a run recorded, exit {status} on SIGTERM")
        if status != 0:
            sys.exit(f"smoke: FAILED: the daemon exited {status}\n{(home / 'daemon.log').read_text()}")

        report = json.loads(run([newsmill, "status", "--json", "--db", daemon_db, "--sources", sources],
                                cwd=home, env=env).stdout)
        names = [s["name"] for s in report["sources"]]
        step(f"newsmill status --json: sources {names}")
        if names != ["harbour"] or report["sources"][0]["last_run"] is None:
            sys.exit(f"smoke: FAILED: status --json reported {report}")

        serve_port = free_port()
        serve = subprocess.Popen([newsmill, "serve", "--db", daemon_db, "--port", str(serve_port)],
                                 cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        processes.append(serve)
        info = wait_for("answer from newsmill serve",
                        lambda: serve.poll() is None and answers(
                            f"http://127.0.0.1:{serve_port}/newsmill.json"), 90)
        tables = [table["name"] for table in info.get("tables", [])]
        step(f"newsmill serve: /newsmill.json lists {len(tables)} tables")
        if "articles" not in tables:
            sys.exit(f"smoke: FAILED: /newsmill.json has no articles table: {info}")
        # The article page is drawn by templates shipped as package data: a wheel without
        # them serves Datasette's plain row page instead.
        first = answers(f"http://127.0.0.1:{serve_port}/newsmill/articles.json?_shape=array&_size=1")
        if not first:
            sys.exit("smoke: FAILED: /newsmill/articles.json lists no article")
        with urllib.request.urlopen(f"http://127.0.0.1:{serve_port}/newsmill/articles/"
                                    f"{first[0]['id']}", timeout=30) as response:
            article_page = response.read().decode("utf-8")
        step("newsmill serve: the article page, from the wheel's templates")
        if '<section class="versions">' not in article_page:
            sys.exit("smoke: FAILED: the article page is not newsmill's (templates missing from "
                     "the wheel?)")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)])
    step(f"every command worked from the installed wheel ({time.monotonic() - started:.0f}s)")
    print("smoke: 5 passed, 0 failed")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    main()
