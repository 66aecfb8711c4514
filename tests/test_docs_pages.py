"""What the docs pages say about the test suite stays what the suite does."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

DEVELOPMENT = ROOT / "docs" / "development.md"


def is_corpus_mark(node: ast.expr) -> bool:
    """`pytest.mark.corpus`, the marker conftest.py skips (or fails) without the corpus."""
    return ast.unparse(node) == "pytest.mark.corpus"


def corpus_tests() -> set[str]:
    """Every test marked `corpus`, as `tests/file.py::test_name`."""
    found = set()
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        module_marked = any(
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
            and any(is_corpus_mark(n) for n in ast.walk(node.value))
            for node in tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                if module_marked or any(is_corpus_mark(d) for d in node.decorator_list):
                    found.add(f"{path.relative_to(ROOT).as_posix()}::{node.name}")
    return found


def test_development_page_lists_exactly_the_tests_that_need_the_corpus():
    text = DEVELOPMENT.read_text()
    section = text[text.index("**The shared article corpus.**"):text.index("**Chromium and redis-server**")]
    listed = set(re.findall(r"`(tests/[\w/]+\.py::\w+)`", section))
    marked = corpus_tests()
    assert marked, "no test is marked corpus: has the marker been renamed?"
    assert listed == marked, {"marked, not listed": marked - listed, "listed, not marked": listed - marked}
