"""Stages do not import each other: training never imports evaluation, evaluation never imports training.

Training receives its held-out scorer (``workbench.training.heldout.Scorer``) from the composition
module ``workbench.pipeline``; this test keeps it that way. It reads the source with ``ast`` (no
module is imported or run), so it sees imports inside functions too, and relative imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "workbench"

# (importing package, package it must not import)
FORBIDDEN = [
    ("workbench.training", "workbench.evaluation"),
    ("workbench.evaluation", "workbench.training"),
]


@dataclass(frozen=True)
class ImportSite:
    module: str  # the importing module, dotted
    path: Path
    line: int
    imported: str  # the absolute dotted name imported


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute dotted name) for every import in ``source``, wherever it is (module level,
    function, class, ``if TYPE_CHECKING``), relative imports resolved against ``module``.
    ``from a import b`` yields ``a.b`` (b may be a submodule), and a constant-string
    ``importlib.import_module(...)`` / ``__import__(...)`` counts as an import too."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(root: Path = PACKAGE_ROOT) -> list[ImportSite]:
    out = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        for owner, forbidden in FORBIDDEN:
            if not _within(module, owner):
                continue
            for line, name in imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
                if _within(name, forbidden):
                    out.append(ImportSite(module, path, line, name))
    return out


def test_every_module_parses_and_both_stages_are_scanned():
    modules = {module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}
    for path in modules.values():
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))  # a syntax error fails here, by file
    # the scan covers the modules that matter (a moved package would otherwise pass silently)
    assert "workbench.training.trainer" in modules and "workbench.training.heldout" in modules
    assert "workbench.evaluation.perplexity" in modules and "workbench.evaluation.compare" in modules


def test_training_and_evaluation_do_not_import_each_other():
    found = violations()
    message = "\n".join(
        f"{site.module} ({site.path.relative_to(PACKAGE_ROOT.parent)}:{site.line}) imports {site.imported}"
        for site in found
    )
    assert not found, (
        "stages must not import each other; wire what one needs from the other in workbench.pipeline:\n" + message
    )


@pytest.mark.parametrize("source, module, is_package, expected", [
    ("def f():\n    from workbench.evaluation.perplexity import score_documents\n", "workbench.training.trainer", False,
     [(2, "workbench.evaluation.perplexity.score_documents")]),
    ("import workbench.evaluation.perplexity as p\n", "workbench.training.trainer", False,
     [(1, "workbench.evaluation.perplexity")]),
    ("from workbench import evaluation\n", "workbench.training.trainer", False, [(1, "workbench.evaluation")]),
    ("from ..evaluation import perplexity\n", "workbench.training.trainer", False,
     [(1, "workbench.evaluation.perplexity")]),
    ("from .data import cap_texts\n", "workbench.training.heldout", False, [(1, "workbench.training.data.cap_texts")]),
    ("from . import trainer\n", "workbench.training", True, [(1, "workbench.training.trainer")]),
    ("class A:\n    def m(self):\n        import importlib\n        importlib.import_module('workbench.training.x')\n",
     "workbench.evaluation.compare", False, [(3, "importlib"), (4, "workbench.training.x")]),
])
def test_imported_names_sees_every_kind_of_import(source, module, is_package, expected):
    assert imported_names(source, module, is_package) == expected


def test_a_forbidden_import_is_reported_with_module_line_and_name(tmp_path):
    package = tmp_path / "workbench"
    (package / "training").mkdir(parents=True)
    (package / "evaluation").mkdir()
    (package / "training" / "ok.py").write_text("from workbench.training.data import x\n")
    (package / "training" / "bad.py").write_text(
        "import os\n\n\ndef score():\n    from workbench.evaluation.perplexity import score_documents\n"
    )
    (package / "evaluation" / "bad.py").write_text("from ..training import trainer\n")
    found = violations(package)
    assert [(s.module, s.line, s.imported) for s in found] == [
        ("workbench.evaluation.bad", 1, "workbench.training.trainer"),
        ("workbench.training.bad", 5, "workbench.evaluation.perplexity.score_documents"),
    ]
