"""The layers of the architecture hold: every import goes down (or stays in its layer), stages never
import each other, and no modules import each other in a circle.

Layers, bottom to top (see the architecture notes): base, models, workspace, stages, workflows,
jobs, faces. The source is read with ``ast`` (nothing is imported or run), so imports inside
functions, under ``if TYPE_CHECKING``, relative imports and literal ``importlib.import_module``
calls all count: an arrow hidden in a function is still an arrow.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "workbench"

BASE, MODELS, WORKSPACE, STAGE, WORKFLOWS, JOBS, FACES = range(7)
# module prefix -> layer; the longest matching prefix decides. Prefixes of modules that are not
# written yet may stand here: a missing module breaks nothing.
LAYERS = {
    "workbench": BASE,  # the package itself: __version__, seed_everything
    "workbench.errors": BASE,
    "workbench.config": BASE,
    "workbench.io": BASE,
    "workbench.samples": BASE,
    "workbench.sample_data": BASE,
    "workbench.stopping": BASE,
    "workbench.runlock": BASE,
    "workbench.runcard": BASE,
    "workbench.documents": BASE,  # corpus files read into documents: every stage reads through it
    "workbench.intervals": BASE,  # intervals of ratios over sampled units, shared by evaluation and review  # what made an artifact: versions, commit, hardware (models record it too)
    "workbench.models": MODELS,
    "workbench.status": WORKSPACE,
    "workbench.artifacts": WORKSPACE,
    "workbench.workspace": WORKSPACE,
    "workbench.runs": WORKSPACE,
    "workbench.progress": WORKSPACE,  # progress events, written into status.json
    "workbench.corpus": STAGE,
    "workbench.training": STAGE,
    "workbench.evaluation": STAGE,
    "workbench.review": STAGE,
    "workbench.workflows": WORKFLOWS,
    "workbench.figures": WORKFLOWS,  # draws any artifact with its stage's builders
    "workbench.jobs": JOBS,
    "workbench.cli": FACES,
    "workbench.quickstart": FACES,
    "workbench.notebook": FACES,
    "workbench.notebooks": FACES,  # the shipped notebooks and the copy a user works in
    "workbench.appsupport": FACES,
    "workbench.app": FACES,  # the Streamlit pages, shipped inside the package
}
STAGES = ("workbench.corpus", "workbench.training", "workbench.evaluation", "workbench.review")
LAYER_NAMES = ("base", "models", "workspace", "stage", "workflows", "jobs", "faces")

# Imports that break the rules today, as (importing module, imported module). THIS LIST MUST BE
# EMPTY: each entry is work left to do, and a test fails when an entry no longer occurs, so the
# list only shrinks. Nothing else may break the rules.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class ImportSite:
    module: str  # the importing module, dotted
    file: str  # its path from the repository root
    line: int
    imported: str  # the imported module (or, for a name of a module not written yet, the dotted name)
    why: str = ""

    def __str__(self) -> str:
        return f"{self.module} ({self.file}:{self.line}) imports {self.imported}{': ' + self.why if self.why else ''}"


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
    return sorted(found)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str) -> int:
    """The layer of a dotted module name: its longest prefix in :data:`LAYERS`."""
    return LAYERS[max((p for p in LAYERS if _within(name, p)), key=len)]


def stage_of(name: str) -> str | None:
    return next((stage for stage in STAGES if _within(name, stage)), None)


def modules(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def import_sites(root: Path = PACKAGE_ROOT) -> list[ImportSite]:
    """Every import of a workbench module in the package, resolved to the module it reaches: the longest
    prefix of the imported name that is a module of the package (``from workbench.io import read_json``
    -> ``workbench.io``; ``from workbench import runs`` -> ``workbench.runs``). A name that a package
    neither has as a module nor defines is a module not written yet: it keeps its dotted name."""
    known = modules(root)
    defined = {module: _defined_names(path) for module, path in known.items() if path.name == "__init__.py"}
    sites = []
    for module, path in known.items():
        source = path.read_text(encoding="utf-8")
        for line, name in imported_names(source, module, path.name == "__init__.py"):
            if not _within(name, "workbench"):
                continue
            parts = name.split(".")
            n = next(n for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in known)
            target = ".".join(parts[:n])
            if n < len(parts) and target in defined and parts[n] not in defined[target]:
                target = name
            site = ImportSite(module, path.relative_to(root.parent).as_posix(), line, target)
            if target != module and site not in sites:  # one line may import several names of a module
                sites.append(site)
    return sites


def _defined_names(init: Path) -> set[str]:
    """Names a package's ``__init__.py`` defines or declares in ``__all__`` (so ``from workbench import
    seed_everything`` is an import of the package itself)."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                names.update(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant))
    return names


def violations(sites: list[ImportSite]) -> list[ImportSite]:
    """Imports that go up a layer, or from one stage into another."""
    out = []
    for site in sites:
        low, high = layer_of(site.imported), layer_of(site.module)
        importer_stage, imported_stage = stage_of(site.module), stage_of(site.imported)
        if low > high:
            out.append(ImportSite(site.module, site.file, site.line, site.imported,
                                  f"{LAYER_NAMES[high]} imports {LAYER_NAMES[low]}, a layer above it"))
        elif importer_stage and imported_stage and importer_stage != imported_stage:
            out.append(ImportSite(site.module, site.file, site.line, site.imported,
                                  f"the stage {importer_stage} imports the stage {imported_stage}"))
    return out


def import_circles(sites: list[ImportSite], allowed: set[tuple[str, str]] = frozenset()) -> list[list[str]]:
    """The groups of modules that import each other in a circle (strongly connected components of the
    import graph, lazy imports included), without the arrows in ``allowed``."""
    graph = nx.DiGraph()
    graph.add_edges_from((s.module, s.imported) for s in sites if (s.module, s.imported) not in allowed)
    return sorted(sorted(group) for group in nx.strongly_connected_components(graph) if len(group) > 1)


def _report(found) -> str:
    return "\n".join(f"  {site}" for site in found)


# ------------------------------------------------------------------------------------------------
# the package as it is


@pytest.fixture(scope="module")
def sites() -> list[ImportSite]:
    return import_sites()


def test_every_module_of_the_package_has_a_layer_and_the_scan_sees_the_stages():
    found = modules()
    for path in found.values():
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))  # a syntax error fails here, by file
    # only the package itself sits on the bare "workbench" entry: a new module gets its own line
    without = [m for m in found if m != "workbench" and max((p for p in LAYERS if _within(m, p)), key=len) == "workbench"]
    assert without == [], f"add these modules to LAYERS in tests/test_layering.py: {without}"
    # the scan covers the modules that matter (a moved package would otherwise pass silently)
    for module in ("workbench.training.trainer", "workbench.evaluation.compare", "workbench.corpus.curate",
                   "workbench.review.store", "workbench.workspace", "workbench.models.load"):
        assert module in found


def test_imports_go_down_the_layers_and_stages_never_import_each_other(sites):
    found = [site for site in violations(sites) if (site.module, site.imported) not in KNOWN_VIOLATIONS]
    assert not found, (
        "these imports break the layers (base < models < workspace < stages < workflows < jobs < faces; "
        "stages meet only in workflows). Move the code to the layer both can import, or hand the "
        "function in from above:\n" + _report(found)
    )


def test_there_is_no_import_circle(sites):
    circles = import_circles(sites, KNOWN_VIOLATIONS)
    assert not circles, "these modules import each other in a circle (lazy imports count):\n" + "\n".join(
        "  " + " <-> ".join(group) + "\n" + _report(s for s in sites if s.module in group and s.imported in group)
        for group in circles
    )


def test_every_known_violation_still_occurs(sites):
    """A fixed violation leaves the list, so the list only shrinks until it is empty."""
    edges = {(site.module, site.imported) for site in sites}
    assert KNOWN_VIOLATIONS <= edges, f"fixed: remove from KNOWN_VIOLATIONS: {sorted(KNOWN_VIOLATIONS - edges)}"


def test_known_violations_do_not_hide_an_allowed_import(sites):
    """An entry of the list is an import that really breaks a rule (or closes a circle), not a legal one."""
    broken = {(site.module, site.imported) for site in violations(sites)}
    circle_edges = {(s.module, s.imported) for s in sites for group in import_circles(sites)
                    if s.module in group and s.imported in group}
    legal = sorted(KNOWN_VIOLATIONS - broken - circle_edges)
    assert legal == [], f"these imports break no rule: remove them from KNOWN_VIOLATIONS: {legal}"


# ------------------------------------------------------------------------------------------------
# the checker itself, on small packages


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
    ("if TYPE_CHECKING:\n    from workbench.jobs import Job\n", "workbench.workspace", False, [(2, "workbench.jobs.Job")]),
    ("class A:\n    def m(self):\n        import importlib\n        importlib.import_module('workbench.training.x')\n",
     "workbench.evaluation.compare", False, [(3, "importlib"), (4, "workbench.training.x")]),
])
def test_imported_names_sees_every_kind_of_import(source, module, is_package, expected):
    assert imported_names(source, module, is_package) == expected


@pytest.mark.parametrize("name, layer", [
    ("workbench", BASE), ("workbench.io", BASE), ("workbench.models.load", MODELS), ("workbench.status", WORKSPACE),
    ("workbench.documents.readers", BASE), ("workbench.corpus.profile", STAGE), ("workbench.workflows.train", WORKFLOWS), ("workbench.jobs.runner", JOBS),
    ("workbench.cli.commands", FACES), ("workbench.configs", BASE),  # not a prefix match of workbench.config
])
def test_layer_of_takes_the_longest_prefix(name, layer):
    assert layer_of(name) == layer


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "workbench"
    for name, text in {"__init__.py": "def seed_everything():\n    pass\n", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_import_up_a_layer_or_across_stages_is_reported_with_module_line_and_why(tmp_path):
    root = _package(tmp_path, {
        "io.py": "",
        "workspace.py": "from workbench.io import write_json\n\n\ndef folder():\n    from workbench.corpus import plots\n",
        "corpus/__init__.py": "",
        "corpus/plots.py": "from workbench import seed_everything\n",
        "training/__init__.py": "",
        "training/ok.py": "from workbench.training.data import x\nfrom workbench.workspace import folder\n",
        "training/bad.py": "import os\n\n\ndef score():\n    from workbench.evaluation.perplexity import score_documents\n",
        "evaluation/__init__.py": "",
        "evaluation/bad.py": "from ..training import trainer\nfrom workbench.workflows import train\n",
    })
    found = violations(import_sites(root))
    assert [(s.module, s.line, s.imported, s.why) for s in found] == [
        ("workbench.evaluation.bad", 1, "workbench.training.trainer",
         "the stage workbench.evaluation imports the stage workbench.training"),
        ("workbench.evaluation.bad", 2, "workbench.workflows.train", "stage imports workflows, a layer above it"),
        ("workbench.training.bad", 5, "workbench.evaluation.perplexity.score_documents",
         "the stage workbench.training imports the stage workbench.evaluation"),
        ("workbench.workspace", 5, "workbench.corpus.plots", "workspace imports stage, a layer above it"),
    ]
    assert str(found[-1]) == ("workbench.workspace (workbench/workspace.py:5) imports workbench.corpus.plots: "
                              "workspace imports stage, a layer above it")


def test_import_sites_resolve_to_the_module_imported(tmp_path):
    root = _package(tmp_path, {
        "io.py": "",
        "runs.py": "from workbench import io, seed_everything\nfrom workbench.io import read_json\n",
    })
    assert [(s.module, s.line, s.imported) for s in import_sites(root)] == [
        ("workbench.runs", 1, "workbench.io"), ("workbench.runs", 1, "workbench"), ("workbench.runs", 2, "workbench.io"),
    ]


def test_a_circle_is_found_through_a_lazy_import_and_an_allowed_arrow_opens_it(tmp_path):
    root = _package(tmp_path, {
        "io.py": "",
        "artifacts.py": "from workbench.workspace import read_status\n",
        "workspace.py": "from workbench.io import x\n\n\ndef summarize():\n    from workbench.artifacts import read\n",
        "runs.py": "from workbench.io import x\n",
    })
    sites = import_sites(root)
    assert import_circles(sites) == [["workbench.artifacts", "workbench.workspace"]]
    assert import_circles(sites, {("workbench.workspace", "workbench.artifacts")}) == []
