"""What the daemon benchmarks share: a local news site, a sources file, a daemon process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sites import Site, article_html, rss_feed  # noqa: E402

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_TIMES=0",
        "-s", "NEWSMILL_DAEMON_HEARTBEAT=2"]


class DaemonBench:
    """A local site with one small feed per source, and a daemon crawling them."""

    def __init__(self, sources: int, every: str, max_parallel: int = 2):
        self.site = Site().start()
        self.tmp = Path(tempfile.mkdtemp(prefix="newsmill-bench-"))
        self.db = self.tmp / "bench.db"
        lines = []
        for n in range(sources):
            items = [(f"Source {n} story {i}", f"/s{n}/story-{i}.html") for i in range(2)]
            for title, path in items:
                self.site.add(path, article_html(title))
            feed = self.site.add(f"/s{n}/rss.xml", rss_feed(self.site, items),
                                 "application/rss+xml")
            lines += ["[[sources]]", f'name = "s{n}"', f'urls = ["{feed}"]', f'every = "{every}"']
        (self.tmp / "sources.toml").write_text("\n".join(lines) + "\n")
        self.log = open(self.tmp / "daemon.log", "w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "newsmill"), "daemon", "--sources",
             str(self.tmp / "sources.toml"), "--db", str(self.db), "--max-parallel",
             str(max_parallel), *FAST],
            cwd=self.tmp, stdout=self.log, stderr=self.log,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})

    def query(self, sql: str) -> list[tuple]:
        if not self.db.exists():
            return []
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []
        finally:
            conn.close()

    def finished_runs(self) -> int:
        rows = self.query("select count(*) from runs where status != 'running'")
        return rows[0][0] if rows else 0

    def wait_for_runs(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.finished_runs() < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"gave up waiting for {count} runs; log in {self.log.name}")
            time.sleep(0.5)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=120)
        self.site.stop()
        self.log.close()
        return code
