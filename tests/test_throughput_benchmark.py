"""The throughput benchmark runs end to end (a smoke run; the figures are in benchmarks/README.md)."""

import pytest

from tests.conftest import run_benchmark


@pytest.mark.corpus  # the benchmark's site is made of the corpus pages
def test_throughput_benchmark_crawls_the_local_site_and_prints_its_ratios(tmp_path):
    stdout, figures = run_benchmark("throughput.py", "--pages", "30", "--ceiling-pages", "6",
                                    "--latency", "0-5", "--concurrency", "4",
                                    "--keep", str(tmp_path), timeout=240)
    assert {"newsmill_vs_ceiling", "newsmill_vs_peer", "recrawl_time", "recrawl_article_bodies",
            "recrawl_bytes", "peak_rss_mb"} <= figures.keys()
    assert "newsmill: 30 of 30 stored" in stdout
    assert "peer: trafilatura --parallel 4: 30 of 30 extracted" in stdout
