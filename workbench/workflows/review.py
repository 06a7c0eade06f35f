"""Review recipes: the workspace's label store, review items from a comparison, and one review submitted.

A review is submitted one way from every face (the app's form, a notebook's widgets, a script):
:func:`submit_review` records the error spans the reviewer marked, then the verdict, after checking
all of them, so a refused span never leaves a verdict without it. Severities and categories come
from the review stage's own settings (``workbench.review.config``), never from a face.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.review.config import DEFAULT_DB, SEVERITY_WEIGHTS, SKIP, ItemsConfig, verdicts_for
from workbench.workspace import Workspace

__all__ = ["ErrorMark", "Submitted", "label_store", "labels_path", "review_items", "review_items_preview", "submit_review",
           "SEVERITIES"]

SEVERITIES = tuple(SEVERITY_WEIGHTS)
"""MQM severities in the order a form shows them (``minor``, ``major``, ``critical``)."""


def _workspace(workspace: Workspace | str | os.PathLike | None) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)


def labels_path(workspace: Workspace | str | os.PathLike | None = None) -> Path:
    """The workspace's own label store file (``WORKSPACE/labels.db``)."""
    return _workspace(workspace).root / DEFAULT_DB


def label_store(workspace: Workspace | str | os.PathLike | None = None, labels: str | os.PathLike | None = None,
                taxonomy: str | os.PathLike | None = None):
    """Open a label store: ``labels`` (a ``labels.db`` path or a database URL), default the workspace's own.

    Args:
        taxonomy: a taxonomy YAML to store as the project's error categories.

    Returns:
        A :class:`workbench.review.store.LabelStore` (use it in a ``with`` block).
    """
    from workbench.review.store import LabelStore

    target = labels if labels and str(labels) != "workspace" else labels_path(workspace)
    store = LabelStore(target)
    if taxonomy:
        store.set_taxonomy(taxonomy)
    return store


def review_items(
    comparison: str | os.PathLike | None = None,
    workspace: Workspace | str | os.PathLike | None = None,
    config: ItemsConfig | None = None,
    jsonl: str | os.PathLike | None = None,
    profile: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    taxonomy: str | os.PathLike | None = None,
) -> dict:
    """Add review items to the label store (existing ones are kept, never duplicated).

    Args:
        comparison: a comparison folder: blind generation pairs, most-regressed documents, missed probes.
        config: how items are made from a comparison (``ItemsConfig``).
        jsonl: a JSONL of ``{prompt, output, model?, checkpoint?, id?}``.
        profile: a corpus profile folder: its flagged documents become keep/drop items.
        labels: the label store (default the workspace's ``labels.db``).

    Returns:
        ``{"added": n, "existing": n, "kinds": {kind: n}, "groups": {group: n}, "store": url}`` (groups as
        in ``workbench.review.items.GROUPS``: generation pairs, repetitive generations, regressed documents...).
    """
    from workbench.review.items import count_groups, items_from_comparison, items_from_jsonl, items_from_profile

    if not (comparison or jsonl or profile):
        raise WorkbenchError("no source of review items given.", "name a comparison, a JSONL file or a corpus profile.")
    config = config or ItemsConfig()
    items = []
    if comparison:
        items += items_from_comparison(comparison, config)
    if jsonl:
        items += items_from_jsonl(jsonl, seed=config.seed)
    if profile:
        items += items_from_profile(profile)
    kinds: dict[str, int] = {}
    for item in items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    with label_store(workspace, labels, taxonomy) as store:
        counts = store.add_items(items)
        url = store.safe_url
    return {**counts, "kinds": kinds, "groups": count_groups(items), "store": url}


def review_items_preview(
    comparison: str | os.PathLike,
    workspace: Workspace | str | os.PathLike | None = None,
    config: ItemsConfig | None = None,
    labels: str | os.PathLike | None = None,
) -> dict:
    """The review items :func:`review_items` would make from a comparison, counted per group, before any is made.

    Args:
        comparison: a comparison folder.
        config: how items are made (``ItemsConfig``).
        labels: the label store whose items are already there (default the workspace's ``labels.db``).

    Returns:
        ``{"counts": {group: n}, "new": {group: n}, "empty": {group: why}, "total": n, "new_total": n}``:
        every group of a comparison (generation pairs, repetitive generations, regressed documents, missed
        probes) with its count, how many of them the store does not hold yet, and why an empty group is empty.
    """
    from workbench.review.items import comparison_preview, item_group

    preview = comparison_preview(comparison, config or ItemsConfig())
    target = labels if labels and str(labels) != "workspace" else labels_path(workspace)
    known: set[str] = set()
    if "://" in str(target) or Path(target).exists():
        with label_store(workspace, labels) as store:
            known = {item.id for item in store.items()}
    new = {group: 0 for group in preview["counts"]}
    for item in preview["items"]:
        if item.id not in known:
            new[item_group(item)] += 1
    return {"counts": preview["counts"], "new": new, "empty": preview["empty"],
            "total": sum(preview["counts"].values()), "new_total": sum(new.values())}


@dataclass
class ErrorMark:
    """One error a reviewer marked in an output (MQM style)."""

    category: str | None
    """An error category of the project's taxonomy."""
    severity: str | None
    """``minor``, ``major`` or ``critical``: required, never assumed."""
    output: str | None = None
    """The output's slot (``A``/``B`` of a pair); None for an item with one output."""
    start: int | None = None
    """Start of the marked characters in that output; None with ``end`` marks the whole output."""
    end: int | None = None
    """End (exclusive) of the marked characters."""
    note: str = ""
    """Free text."""
    correction: str | None = None
    """What the span should say instead (the training signal and the regression set)."""


@dataclass
class Submitted:
    """What :func:`submit_review` wrote: the label uids and the verdict event."""

    item: str
    verdict: str
    labels: list[str] = field(default_factory=list)
    event: str | None = None


def submit_review(store, item, annotator: str, verdict: str | None, errors: list[ErrorMark] | None = None,
                  seconds: float | None = None, note: str = "") -> Submitted:
    """Record one reviewer's errors on an item, then their verdict, or refuse without writing anything.

    Args:
        store: an open label store.
        item: the review item (``store.next_item(...)`` or ``store.item(id)``).
        annotator: who reviews.
        verdict: one of the item's verdicts (``A``/``B``/``tie``, ``no_error``/``errors``,
            ``keep``/``drop``, ``skip``); None with errors given means ``errors``.
        errors: the error spans marked; each needs a category and a severity.
        seconds: time spent on the item.

    Returns:
        What was written (:class:`Submitted`).
    """
    errors = list(errors or [])
    allowed = verdicts_for(item.kind)
    if verdict is None:
        verdict = "errors" if errors and "errors" in allowed else None
    if verdict not in allowed:
        raise WorkbenchError(f"no verdict chosen for item {item.id}" if verdict is None
                             else f"verdict '{verdict}' does not fit a {item.kind} item",
                             f"choose one of: {', '.join(allowed)}.", field="verdict")
    if verdict == SKIP:
        return Submitted(item.id, verdict, event=store.skip(item.id, annotator, seconds=seconds))
    categories = store.taxonomy().categories
    slots = [o["slot"] for o in item.outputs]
    for n, mark in enumerate(errors, 1):
        where = f"error {n}" if len(errors) > 1 else "the error"
        if not mark.category or mark.category not in categories:
            raise WorkbenchError(f"{where} has no category" if not mark.category
                                 else f"{where} has category '{mark.category}', not one of the project's",
                                 f"choose one of: {', '.join(categories)}.", field="category")
        if not mark.severity or str(mark.severity).strip().lower() not in SEVERITY_WEIGHTS:
            raise WorkbenchError(f"{where} has no severity" if not mark.severity
                                 else f"{where} has severity '{mark.severity}'",
                                 f"choose one of: {', '.join(SEVERITIES)}.", field="severity")
        if mark.output is None and len(slots) > 1:
            raise WorkbenchError(f"{where} does not say which output it is in", f"choose one of: {', '.join(slots)}.",
                                 field="output")
        if mark.output is not None and mark.output not in slots:
            raise WorkbenchError(f"{where} is in output '{mark.output}', which item {item.id} does not have",
                                 f"choose one of: {', '.join(slots)}.", field="output")
        if mark.start is not None or mark.end is not None:
            text = item.output(mark.output if mark.output is not None else slots[0])["text"]
            if not (isinstance(mark.start, int) and isinstance(mark.end, int) and 0 <= mark.start < mark.end <= len(text)):
                raise WorkbenchError(f"{where} marks characters {mark.start}..{mark.end}, outside its output "
                                     f"(0..{len(text)})", "select the wrong words again.", field="span")
    written = Submitted(item.id, verdict)
    for mark in errors:
        written.labels.append(store.add_label(
            item.id, annotator, mark.category, mark.severity, start=mark.start, end=mark.end,
            output=mark.output if mark.output is not None else slots[0], note=mark.note or "",
            correction=mark.correction or None, seconds=seconds))
    written.event = store.submit(item.id, annotator, verdict, note=note, seconds=seconds)
    return written
