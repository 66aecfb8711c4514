"""The README stays a short front page whose every link and picture is there."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = ROOT / "README.md"


def test_readme_is_short_and_every_local_link_and_image_exists():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert {"docs/images/article.png", "docs/images/dashboard.png", "docs/index.md",
            "docs/cli.md", "docs/daemon.md", "docs/datasette.md"} <= set(local)
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, missing
