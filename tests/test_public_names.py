"""Each package declares its public names in ``__all__`` (its public modules, and the few names its
``__init__.py`` hands on); every declared name resolves, declaring them imports nothing heavy, and
code outside a package imports only what it declares."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from test_layering import PACKAGE_ROOT, imported_names, module_name

REPO = PACKAGE_ROOT.parent
# the package and each package directly under it (nested ones, such as review/migrations, are parts)
PACKAGES = ["workbench"] + sorted(f"workbench.{p.parent.name}" for p in PACKAGE_ROOT.glob("*/__init__.py"))
HEAVY = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "datasets", "sqlalchemy", "streamlit",
         "plotly", "pandas")


def declared(package: str) -> list[str]:
    return list(importlib.import_module(package).__all__)


def test_the_packages_are_found():
    assert {"workbench.corpus", "workbench.training", "workbench.evaluation", "workbench.review", "workbench.models",
            "workbench.jobs"} <= set(PACKAGES)


def resolves(package: str, name: str) -> bool:
    """``from package import name`` works: a name the package hands on, or one of its modules."""
    if hasattr(importlib.import_module(package), name):
        return True
    try:
        importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError:
        return False
    return True


@pytest.mark.parametrize("package", PACKAGES)
def test_every_declared_name_resolves(package):
    module = importlib.import_module(package)
    assert module.__doc__ and module.__doc__.strip(), f"{package}/__init__.py has no docstring"
    names = declared(package)
    assert names and len(names) == len(set(names)), f"{package}.__all__ is empty or names something twice"
    missing = [name for name in names if not resolves(package, name)]
    assert missing == [], f"{package}.__all__ names what it does not have: {missing}"


def test_resolves_tells_a_module_or_a_handed_on_name_from_a_missing_one():
    assert resolves("workbench.models", "REGISTRY") and resolves("workbench.training", "plan")
    assert not resolves("workbench.training", "no_such_module")


def test_declaring_the_public_names_imports_nothing_heavy():
    """``import workbench.training`` (and every other package) pulls no torch, transformers, plotly..."""
    code = f"import sys\nimport {', '.join(PACKAGES)}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == []


def _callers():
    """(importing module, line, imported dotted name) for every workbench import in the library, the app
    and the benchmarks."""
    for folder in ("workbench", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            module = module_name(path, REPO / folder) if folder != "workbench" else module_name(path)
            for line, name in imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
                yield module, f"{path.relative_to(REPO).as_posix()}:{line}", name


def outside_imports_of_undeclared_names(callers, packages: dict[str, list[str]]) -> list[str]:
    """Where code outside a package imports a name the package does not declare (its CLI command modules
    aside, which only the CLI imports)."""
    found = []
    for module, where, name in callers:
        for package, names in packages.items():
            if package == "workbench" or not name.startswith(package + ".") or module.startswith(package + "."):
                continue
            if module == package:
                continue
            first = name[len(package) + 1:].split(".")[0]
            if first not in names:
                found.append(f"{where}: {module} imports {package}.{first}, which {package}.__all__ does not declare")
    return found


def test_code_outside_a_package_imports_only_its_declared_names():
    found = outside_imports_of_undeclared_names(_callers(), {p: declared(p) for p in PACKAGES})
    assert found == [], ("import the package's public names, or declare the name in its __init__.py "
                         "__all__ if it is public:\n" + "\n".join(found))


def test_an_undeclared_import_is_reported_from_any_caller():
    packages = {"workbench.corpus": ["config", "readers"]}
    callers = [
        ("workbench.training.data", "workbench/training/data.py:3", "workbench.documents.readers.read_texts"),
        ("workbench.evaluation.tokendiff", "workbench/evaluation/tokendiff.py:9", "workbench.corpus.domain.STOPWORDS"),
        ("workbench.corpus.curate", "workbench/corpus/curate.py:5", "workbench.corpus.quality.rule_failures"),
        ("workbench.cli.corpus", "workbench/cli/corpus.py:7", "workbench.corpus.commands.inspect"),
        ("benchmarks.corpus_profile", "benchmarks/corpus_profile.py:4", "workbench.corpus.commands.inspect"),
    ]
    assert outside_imports_of_undeclared_names(callers, packages) == [
        "workbench/evaluation/tokendiff.py:9: workbench.evaluation.tokendiff imports workbench.corpus.domain, "
        "which workbench.corpus.__all__ does not declare",
        "workbench/cli/corpus.py:7: workbench.cli.corpus imports workbench.corpus.commands, "
        "which workbench.corpus.__all__ does not declare",
        "benchmarks/corpus_profile.py:4: benchmarks.corpus_profile imports workbench.corpus.commands, "
        "which workbench.corpus.__all__ does not declare",
    ]
