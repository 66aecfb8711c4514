"""Every trap at once, in one source: the crawl ends by itself, keeps the good, names the bad."""

from benchmarks.hostile_scenario import run


def test_hostile_scenario(tmp_path):
    result = run(tmp_path)
    assert result["exit"] == 1, result["stderr"]  # partial: the traps are errors
    assert result["integrity"] == "ok"
    assert set(result["good"]) <= result["stored"]  # every good article, whatever the traps did
    for url, kind in result["bad"].items():
        assert result["errors"].get(url) == kind, url
    assert result["forbidden_requests"] == 0  # the private address was never touched
    assert result["peak_rss_mb"] < 500
    assert "Traceback" not in result["stderr"]
