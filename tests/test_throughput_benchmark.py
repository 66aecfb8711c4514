"""The throughput benchmark runs end to end (a smoke run; the figures are in benchmarks/README.md)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.corpus  # the benchmark's site is made of the corpus pages
def test_throughput_benchmark_crawls_the_local_site_and_prints_its_ratios(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--pages", "30",
         "--ceiling-pages", "6", "--latency", "0-5", "--concurrency", "4", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1].split()
    figures = dict(zip(last[::2], last[1::2], strict=True))
    assert {"newsmill_vs_ceiling", "newsmill_vs_peer", "recrawl_time", "recrawl_article_bodies",
            "recrawl_bytes", "peak_rss_mb"} <= figures.keys()
    assert "newsmill: 30 of 30 stored" in run.stdout
    assert "peer: trafilatura --parallel 4: 30 of 30 extracted" in run.stdout
