"""The extraction workers: fresh processes every crawl starts, so what they load counts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

# The `newsmill` script in miniature: it imports crawler.cli, and a spawned worker imports
# the parent's main script again before it runs anything.
SCRIPT = textwrap.dedent("""
    from crawler.cli import main

    if __name__ == "__main__":
        from types import SimpleNamespace

        from pipelines.extraction import ExtractionPipeline

        pool = ExtractionPipeline(SimpleNamespace(stats=None), 1, {})._new_pool()
        print(" ".join(pool.submit(eval, "sorted(__import__('sys').modules)").result()))
        pool.shutdown()
""")


def test_workers_load_trafilatura_and_not_scrapy(tmp_path):
    """Scrapy, Twisted and sqlite-utils in a worker cost every crawl ~0.45 s of CPU and
    ~25 MB per worker for nothing: the worker only extracts."""
    script = tmp_path / "newsmill_like.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    assert {"trafilatura", "pipelines"} <= loaded
    assert not loaded & {"scrapy", "twisted", "sqlite_utils"}, sorted(loaded)
