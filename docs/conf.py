"""Sphinx configuration of newsmill's documentation (`make docs`; warnings are errors)."""

project = "newsmill"
author = "the newsmill developers"
copyright = "newsmill developers"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# Headings up to ### get anchors, so pages link to each other's sections (page.md#section).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
# Built offline: no intersphinx, no remote images.
html_theme = "furo"
html_title = "newsmill"
html_static_path: list[str] = []
