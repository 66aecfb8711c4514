"""newsmill's modules import one another without a circle: each layer only uses those below it.

A circle (pipelines/lookups.py and crawler/remote_lookups.py once imported each other) means
neither module can be understood, tested or replaced alone. Imports inside functions count
too: they only defer the circle to run time.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter

from tests.conftest import ROOT


def project_modules() -> dict[str, ast.Module]:
    files = [*ROOT.glob("crawler/**/*.py"), *ROOT.glob("pipelines/**/*.py"), ROOT / "scheduler.py"]
    modules = {}
    for path in files:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = ast.parse(path.read_text(), str(path))
    return modules


def imports_of(tree: ast.Module, modules: dict) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def test_no_module_imports_one_that_imports_it_back():
    modules = project_modules()
    assert {"scheduler", "crawler.cli", "pipelines.lookups", "crawler.remote_lookups"} <= set(modules)
    graph = {name: imports_of(tree, modules) - {name} for name, tree in modules.items()}
    assert "pipelines.lookups" in graph["crawler.remote_lookups"]  # the walk sees imports
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(exc.args[1])}") from None


def test_the_item_pipelines_import_nothing_of_the_scrapy_project_or_the_daemon():
    """pipelines/ (items, URLs, extraction, de-duplication, the store) is the lower layer:
    crawler/ and scheduler.py use it, never the other way round."""
    modules = project_modules()
    upward = {name: sorted(t for t in imports_of(tree, modules)
                           if t.startswith("crawler") or t == "scheduler")
              for name, tree in modules.items() if name.startswith("pipelines")}
    assert len(upward) > 10 and not any(upward.values()), upward


def test_the_command_line_takes_only_the_daemon_from_scheduler():
    """Status, durations and logging live below both; scheduler.py is the daemon alone."""
    tree = project_modules()["crawler.cli"]
    taken = {alias.name for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and node.module == "scheduler"
             for alias in node.names}
    assert taken == {"Daemon", "DaemonError"}
