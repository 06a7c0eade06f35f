"""The review modules import each other in one direction: no import circle, imports inside functions included.

The source is read with ``ast`` (nothing is imported), so a lazy import inside a function counts as an arrow.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

REVIEW = Path(__file__).resolve().parents[2] / "workbench" / "review"


def module_of(path: Path) -> str:
    return "workbench.review" if path.name == "__init__.py" else f"workbench.review.{path.stem}"


def review_imports(source: str, modules: set[str]) -> set[str]:
    """The review modules ``source`` imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            target = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in modules), None)
            if target and target != "workbench.review":  # the package itself is imported on the way to any module
                found.add(target)
    return found


def review_graph() -> dict[str, set[str]]:
    paths = sorted(REVIEW.glob("*.py"))
    modules = {module_of(p) for p in paths}
    return {module_of(p): review_imports(p.read_text(encoding="utf-8"), modules) - {module_of(p)} for p in paths}


def test_the_review_modules_have_no_import_circle():
    graph = review_graph()
    assert "workbench.review.items" in graph["workbench.review.store"]  # the scan sees the arrows
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import circle among the review modules: {' -> '.join(exc.args[1])}")
    assert order.index("workbench.review.records") < order.index("workbench.review.store") < order.index(
        "workbench.review.export")


def test_store_and_exchange_never_import_the_modules_built_on_them():
    graph = review_graph()
    assert not graph["workbench.review.store"] & {"workbench.review.export", "workbench.review.regression"}
    assert "workbench.review.store" not in graph["workbench.review.exchange"]
    assert "workbench.review.store" not in graph["workbench.review.records"]


def test_a_lazy_import_counts_as_an_arrow():
    source = "def f():\n    from workbench.review.export import corrections\n"
    assert review_imports(source, {"workbench.review.export", "workbench.review"}) == {"workbench.review.export"}
