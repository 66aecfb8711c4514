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


def test_every_docs_page_is_in_the_site():
    """A page the README links to but no table of contents lists would be built alone."""
    index = (ROOT / "docs" / "index.md").read_text()
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")} - {"index"}
    assert pages and all(re.search(rf"^{page}$", index, re.M) for page in pages), pages
