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
"""The shipped taxonomy file: the default categories, each with its definition and an example."""

DEFAULT_GUIDELINES: dict[str, tuple[str, str]] = {
    "terminology": ("a domain term is wrong, misused or inconsistent",
                    "\"heterozygous\" where the text means homozygous; \"tort\" used for a crime"),
    "factual error": ("a statement contradicts what is known to be true",
                      "\"cystic fibrosis is X-linked\" (it is autosomal recessive)"),
    "hallucination": ("invented content (a drug, a study, a syndrome, a case, a number) with no basis",
                      "\"Aicardi-Souders syndrome\", a condition that does not exist"),
    "outdated": ("was true once; current guidance says otherwise",
                 "a dose or a statute that has since been replaced"),
    "omission": ("something needed for a safe or complete answer is missing",
                 "a dose without the weight or age it is for"),
    "fluency": ("grammar, spelling or awkward wording", "\"the patients has a mutation in gene\""),
    "formatting": ("layout, units, lists or markup are wrong", "\"5 mg/kg\" written as \"5 mgkg\"; a list run into one line"),
    "unsafe": ("could cause harm if followed", "advice to stop an anticoagulant without a doctor"),
}
"""Definition and example of each default category: the guidelines the Review page shows."""


@dataclass
class Taxonomy:
    """The error categories annotators choose from (per project, from YAML), each with its guideline."""

    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    """Category names, in the order the app shows them."""
    descriptions: dict[str, str] = field(default_factory=dict)
    """Definition of each category (one line); a default category without one gets the shipped definition."""
    examples: dict[str, str] = field(default_factory=dict)
    """An example of each category's error; a default category without one gets the shipped example."""

    def __post_init__(self) -> None:
        names = [str(c).strip() for c in self.categories]
        if not names or any(not n for n in names):
            raise WorkbenchError("taxonomy 'categories' is empty or holds an empty name.",
                                 "list at least one non-empty category name.")
        if len(set(names)) != len(names):
            raise WorkbenchError("taxonomy 'categories' lists a name twice.", "keep each category once.")
        self.categories = names
        self.descriptions = {str(k): str(v or "") for k, v in (self.descriptions or {}).items()}
        self.examples = {str(k): str(v or "") for k, v in (self.examples or {}).items()}
        for name in names:
            definition, example = DEFAULT_GUIDELINES.get(name, ("", ""))
            if not self.descriptions.get(name) and definition:
                self.descriptions[name] = definition
            if not self.examples.get(name) and example:
                self.examples[name] = example

    def guidelines(self) -> list[dict]:
        """``[{key, category, definition, example}]`` in the order the app shows them (``key``: the digit
        that picks the category, 1-9, else None); a missing definition or example is an empty string."""
        return [{"key": i if i <= 9 else None, "category": name, "definition": self.descriptions.get(name, ""),
                 "example": self.examples.get(name, "")} for i, name in enumerate(self.categories, 1)]

    @classmethod
    def load(cls, path: str | os.PathLike) -> Taxonomy:
        """Read a taxonomy YAML: ``categories:`` as a list of names, or a mapping name -> definition, or
        name -> ``{definition, example}``."""
        from workbench.config import load_yaml

        data = load_yaml(path)
        cats = data.get("categories")
        if isinstance(cats, dict):
            descriptions, examples = {}, {}
            for name, value in cats.items():
                if isinstance(value, dict):
                    unknown = sorted(set(value) - {"definition", "example"})
                    if unknown:
                        raise WorkbenchError(f"taxonomy {path}: category '{name}' has the key '{unknown[0]}'.",
                                             "give each category a 'definition' and an 'example' (or one line).")
                    descriptions[str(name)] = str(value.get("definition") or "")
                    examples[str(name)] = str(value.get("example") or "")
                else:
                    descriptions[str(name)] = str(value or "")
            return cls(list(cats), descriptions, examples)
        if not isinstance(cats, list):
            raise WorkbenchError(f"taxonomy {path} has no 'categories' list.",
                                 "write 'categories:' followed by '- name' lines (or name: definition).")
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
