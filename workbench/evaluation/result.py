"""Evaluation results in memory: what ``evaluate``/``compare`` computed, before (or without) writing it.

A notebook holds a :class:`EvaluationResult`, reads ``result.data`` (the content of
``comparison.json`` / ``evaluation.json``), shows ``result.figures``, and calls ``result.write()``
only if it wants the folder: the same files ``workbench compare`` writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class EvaluationResult:
    """One evaluation or comparison, computed.

    Attributes:
        kind: ``"comparison"`` or ``"evaluation"``.
        out: the folder :meth:`write` uses by default (the workspace's name for it).
        data: what ``comparison.json`` / ``evaluation.json`` holds (without the card).
        config: the resolved ``EvalConfig``.
        documents: per-document rows (``documents.jsonl``).
        figures: plotly figures by name (``figures/*.json``).
        extras: token views and other report parts.
        inputs: input files whose hashes go into the card.
    """

    kind: str
    out: Path
    data: dict
    config: Any
    documents: list[dict] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.kind}.json"

    @property
    def verdict(self) -> dict | None:
        return self.data.get("verdict")

    @property
    def delta(self) -> dict:
        """Adapted minus base per set (comparisons): ``ppl_change_pct``, ``ppl_ratio_ci95``..."""
        return self.data.get("delta") or {}

    def write(self, out: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
        """Persist the result (same files as ``workbench compare``/``evaluate``); returns the folder."""
        from workbench.evaluation.report import write_outputs

        folder = Path(out) if out is not None else self.out
        write_outputs(folder, self.file_name, self.data, self.config, self.documents, self.figures, self.extras,
                      overwrite, inputs=self.inputs)
        return folder
