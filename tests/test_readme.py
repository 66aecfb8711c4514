"""The README stays a short front page whose every link and picture is there."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"


def readme_local_links() -> list[str]:
    """The README's links and images that point into the repository, without their #anchors."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    return [t for t in targets if "://" not in t]


def test_readme_is_short_and_every_local_link_and_image_exists():
    assert len(README.read_text().splitlines()) <= 250
    local = readme_local_links()
    assert {"docs/images/article.png", "docs/images/dashboard.png", "docs/index.md"} <= set(local)
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, missing


def test_readme_links_to_every_docs_page():
    """The README's table of the documentation leaves out no page."""
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    unlinked = pages - set(readme_local_links())
    assert not unlinked, unlinked


def test_readme_images_are_small():
    """The screenshots ride in every clone: each under 300 KB."""
    images = [t for t in readme_local_links() if t.endswith(".png")]
    big = {t: (ROOT / t).stat().st_size for t in images if (ROOT / t).stat().st_size >= 300_000}
    assert images and not big, big

