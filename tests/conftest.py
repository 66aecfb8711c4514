"""Shared fixtures: local sites on 127.0.0.1 and a helper that runs `newsmill` for real.

Commands run as users run them: the installed `newsmill` console script (the one `make setup`
and `pip install` put beside this interpreter), from a directory outside the repository,
with nothing of the repository on the path.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from tests.sites import Site

ROOT = Path(__file__).resolve().parent.parent

# The suite runs more xdist workers than cores: scikit-learn's OpenMP threads (the
# recognition model's training, in its tests) on top of them spun on busy cores, and one
# cross-validation spent 97 s of CPU instead of 18 (338 s of wall clock under load 5).
# One thread each (set before scikit-learn is first imported; the commands the tests
# start inherit it, harmlessly).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_benchmark(script: str, *args: str, timeout: float = 300) -> tuple[str, dict[str, str]]:
    """Run benchmarks/SCRIPT with the interpreter of the tests; its output and the figures of
    its last line (`name value` pairs, what benchmarks/README.md quotes)."""
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1].split()
    return run.stdout, dict(zip(last[::2], last[1::2], strict=True))
# The console script installed beside the interpreter running the tests.
NEWSMILL = Path(sys.executable).parent / "newsmill"
CORPUS = ROOT.parent / "shared" / "corpus" / "article-extraction"


def pytest_runtest_setup(item):
    """A test marked `corpus` needs the shared article corpus beside the repository.

    Without it the test is skipped, saying so in one line; with NEWSMILL_REQUIRE_CORPUS=1
    (CI, which has the corpus) it fails instead, so a lost corpus is never a quiet skip.
    """
    if item.get_closest_marker("corpus") and not (CORPUS / "html").is_dir():
        why = (f"needs the shared article corpus at {CORPUS} (shared/corpus/article-extraction "
               "beside the repository; CI has it)")
        if os.environ.get("NEWSMILL_REQUIRE_CORPUS") == "1":
            pytest.fail(why + ", and NEWSMILL_REQUIRE_CORPUS=1", pytrace=False)
        pytest.skip(why)

# Fast and deterministic against loopback: no politeness delays, one extraction worker
# (each worker costs a second of CPU to start; the pages of a test need no more).
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "EXTRACT_WORKERS=1", "-s", "NEWSMILL_PROGRESS=log", "-s", "RETRY_TIMES=0",
        "-s", "DOWNLOAD_TIMEOUT=10"]


def newsmill_command(*args: str) -> list[str]:
    """The installed `newsmill` command with these arguments."""
    if not NEWSMILL.exists():
        pytest.fail(f"{NEWSMILL} is missing: install newsmill first (make setup, or pip install .)")
    return [str(NEWSMILL), *args]


def user_env() -> dict[str, str]:
    """The environment of a user's shell: the command's directory on PATH, no PYTHONPATH."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    env["PATH"] = f"{NEWSMILL.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def site():
    s = Site().start()
    yield s
    s.stop()


@pytest.fixture
def make_site():
    sites = []

    def make(host: str = "127.0.0.1") -> Site:
        s = Site(host).start()
        sites.append(s)
        return s

    yield make
    for s in sites:
        s.stop()


@pytest.fixture
def start_daemon(newsmill):
    """start(sources_toml, *args): a `newsmill daemon` process (tests/test_daemon.py's
    Daemon), killed with whatever it started should the test end before it stopped."""
    from tests.test_daemon import Daemon

    daemons = []

    def start(sources: str, *args: str) -> Daemon:
        daemon = Daemon(newsmill, sources, *args)
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        daemon.cleanup()


class Newsmill:
    """Runs the real `newsmill` command line in a subprocess, as a user would."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.db_path = tmp_path / "newsmill.db"

    def run(self, *args: str, timeout: float = 180, fast: bool = True) -> subprocess.CompletedProcess:
        if fast and args and args[0] == "crawl":
            args = (args[0], *FAST, *args[1:])  # before the test's own -s, which win
        return subprocess.run(newsmill_command(*args), cwd=self.tmp, env=user_env(),
                              capture_output=True, text=True, timeout=timeout)

    def crawl(self, *args: str, sources: str | None = None, **kw) -> subprocess.CompletedProcess:
        extra = ["--db", str(self.db_path)]
        if sources is not None:
            path = self.tmp / "sources.toml"
            path.write_text(sources)
            extra += ["--sources", str(path)]
        return self.run("crawl", *args, *extra, **kw)

    @property
    def db(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.db_path)

    def rows(self, sql: str, params=()) -> list[dict]:
        db = self.db
        try:
            return [dict(r) for r in db.query(sql, params)]
        finally:
            db.close()

    def explain(self, result) -> str:
        """What to show when a crawl did not go as a test expected."""
        try:
            errors = self.rows("select url, kind, message from errors")
        except Exception:
            errors = []
        return f"exit {result.returncode}\nerrors: {errors}\n{result.stderr[-3000:]}"

    def execute(self, sql: str, params=()) -> None:
        """A write of the test's own (what another program, or time, does to the file)."""
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            with conn:
                conn.execute(sql, params)
        finally:
            conn.close()

    def count(self, table: str, where: str = "1", params=()) -> int:
        return self.rows(f"select count(*) as n from {table} where {where}", params)[0]["n"]


@pytest.fixture
def newsmill(tmp_path) -> Newsmill:
    return Newsmill(tmp_path)
