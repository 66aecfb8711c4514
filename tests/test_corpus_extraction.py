"""The whole shared corpus, crawled through a local feed, keeps plain trafilatura's quality."""

import pytest

from benchmarks.extraction_quality import CORPUS, measure


@pytest.mark.skipif(not CORPUS.exists(), reason=f"shared corpus not found at {CORPUS}")
def test_corpus_crawl_stores_every_article_as_well_as_plain_trafilatura(tmp_path):
    result = measure(CORPUS, tmp_path)
    assert result["crawl_exit"] == 0, result["crawl_stderr"]
    assert result["stored"] == result["pages"] == 121
    assert result["newsmill_f1"] >= result["baseline_f1"]
