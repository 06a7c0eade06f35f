"""Typed settings of the review stage: the error taxonomy, MQM severities, verdicts and the store's defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError

DEFAULT_CATEGORIES = (
    "terminology", "factual error", "hallucination", "outdated", "omission", "fluency", "formatting", "unsafe",
)
SEVERITY_WEIGHTS = {"minor": 1, "major": 5, "critical": 10}
"""MQM weights: a critical error costs ten minor ones."""
PREFERENCES = ("A", "B", "tie")
"""Verdicts of a side-by-side (blind) item."""
ITEM_VERDICTS = ("no_error", "errors")
"""Verdicts of any output: nothing wrong, or the error spans marked are the whole story."""
DOCUMENT_VERDICTS = ("keep", "drop")
"""Verdicts of a corpus document flagged by the profile."""
SKIP = "skip"
VERDICTS = PREFERENCES + ITEM_VERDICTS + DOCUMENT_VERDICTS + (SKIP,)


def verdicts_for(kind: str) -> tuple[str, ...]:
    """The verdicts an item of ``kind`` accepts, in the order a form shows them (skip last)."""
    return {"pair": PREFERENCES + ITEM_VERDICTS, "document": DOCUMENT_VERDICTS}.get(kind, ITEM_VERDICTS) + (SKIP,)


DEFAULT_DB = "labels.db"
DEFAULT_TAXONOMY = Path(__file__).parent / "taxonomy.yaml"
"""The shipped taxonomy file: the default categories with a one-line guideline each."""


@dataclass
class Taxonomy:
    """The error categories annotators choose from (per project, from YAML)."""

    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    """Category names, in the order the app shows them."""
    descriptions: dict[str, str] = field(default_factory=dict)
    """Optional one-line guideline per category."""

    def __post_init__(self) -> None:
        names = [str(c).strip() for c in self.categories]
        if not names or any(not n for n in names):
            raise WorkbenchError("taxonomy 'categories' is empty or holds an empty name.",
                                 "list at least one non-empty category name.")
        if len(set(names)) != len(names):
            raise WorkbenchError("taxonomy 'categories' lists a name twice.", "keep each category once.")
        self.categories = names

    @classmethod
    def load(cls, path: str | os.PathLike) -> Taxonomy:
        """Read a taxonomy YAML: ``categories:`` as a list of names or a mapping name -> description."""
        from workbench.config import load_yaml

        data = load_yaml(path)
        cats = data.get("categories")
        if isinstance(cats, dict):
            return cls(list(cats), {str(k): str(v or "") for k, v in cats.items()})
        if not isinstance(cats, list):
            raise WorkbenchError(f"taxonomy {path} has no 'categories' list.",
                                 "write 'categories:' followed by '- name' lines (or name: description).")
        return cls([str(c) for c in cats])


@dataclass
class ItemsConfig:
    """How review items are built from a comparison folder."""

    seed: int = 1234
    """Seeds the blind A/B order (per item, so adding items never reshuffles earlier ones)."""
    regressed_documents: int = 5
    """How many documents where the adapted model got most worse (highest Δ NLL) become items."""
    probes: bool = True
    """Make items of the probes the adapted model gets wrong (expected completion not its top-1)."""
    generations: bool = True
    """Make blind side-by-side items of the generations."""

    def __post_init__(self) -> None:
        if self.regressed_documents < 0:
            raise WorkbenchError(f"regressed_documents is {self.regressed_documents}; it cannot be negative.",
                                 "use 0 for none.")


ITEMS_OPTION_HELP = {
    # the ``workbench review items --help`` line of each ItemsConfig field it takes as a flag (workbench/cli/options.py)
    "seed": "Seed of the blind A/B order.",
    "regressed_documents": "Documents where the adapted model regressed most (0: none).",
}


def default_db(workspace=None) -> Path:
    """``<workspace>/labels.db``."""
    from workbench.workspace import Workspace

    ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
    return ws.root / DEFAULT_DB
