"""The files through which labels flow back into the loop.

- ``export_corrections``: corrected outputs as a training-data JSONL (``{id, text, source}``)
  that ``workbench curate`` and ``workbench train`` read;
- ``drop_decisions``: the corpus documents experts decided to drop, with the reason;
  ``export_drop_list`` writes them as the plain JSONL ``{id, reason}`` that ``CurateConfig.drop_list``
  reads (``workbench curate --labels``);
- ``workbench.review.regression.export_regression_set``: the corrected errors as the regression set
  ``workbench compare`` re-scores.

The store's own exchange formats (``jsonl`` to merge into another store, ``csv``, ``datasets``) are
``LabelStore.export`` and ``LabelStore.import_file`` (``workbench.review.exchange``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import write_jsonl
from workbench.review.config import SEVERITY_WEIGHTS, default_db
from workbench.review.exchange import output_file
from workbench.review.store import LabelStore


def corrected_output(text: str, start: int | None, end: int | None, correction: str) -> str:
    """The output with ``[start, end)`` replaced by the correction (the whole output when there is no span)."""
    if start is None:
        return correction
    return text[:start] + correction + text[end:]


def corrections(store) -> list[dict]:
    """Every labelled error with a correction: ``{uid, item_id, prompt, erroneous, corrected, ...}``.

    Several corrected spans of one output by one annotator are applied together (right to left).
    """
    items = {i.id: i for i in store.items()}
    grouped: dict[tuple, list] = {}
    for s in store.labels():
        if s.correction is None:
            continue
        if not isinstance(s.correction, str):  # the store refuses these now; an older log may still hold one
            warnings.warn(f"label event {s.uid} (item {s.item_id}, {s.annotator}) has a correction that is not text "
                          f"({s.correction!r}); it is left out of the corrections and the regression set.",
                          stacklevel=2)
            continue
        grouped.setdefault((s.item_id, s.annotator, s.output), []).append(s)
    rows = []
    for (item_id, annotator, slot), spans in grouped.items():
        item = items[item_id]
        text = item.output(slot)["text"]
        fixed = text
        whole = [s for s in spans if s.start is None]
        if whole:
            fixed = whole[-1].correction
        else:
            last = None
            for s in sorted(spans, key=lambda s: -s.start):
                if last is not None and s.end > last:
                    continue  # overlapping corrections: keep the later-positioned one
                fixed = corrected_output(fixed, s.start, s.end, s.correction)
                last = s.start
        rows.append({
            "uid": spans[0].uid, "item_id": item_id, "annotator": annotator, "output": slot, "prompt": item.prompt,
            "erroneous": text, "corrected": fixed, "categories": sorted({s.category for s in spans}),
            "severity": max((s.severity for s in spans), key=SEVERITY_WEIGHTS.__getitem__),
            "model": spans[0].model, "checkpoint": spans[0].checkpoint, "doc_id": item.source.get("doc_id"),
        })
    return rows


def export_corrections(store, path: str | os.PathLike) -> Path:
    """Corrected outputs as training data: JSONL ``{id, text, source}`` (prompt and corrected output joined)."""
    rows = corrections(store)
    if not rows:
        raise WorkbenchError("no labelled error in the store has a corrected text.",
                             "add corrections to error labels (the 'correction' field) first.")
    records = []
    for r in rows:
        text = f"{r['prompt']} {r['corrected']}".strip() if r["prompt"] else r["corrected"]
        records.append({"id": f"correction-{r['uid'][:12]}", "text": text,
                        "source": f"review:{r['item_id']}:{r['annotator']}"})
    return write_jsonl(output_file(path), records)


def drop_decisions(store) -> dict[str, str]:
    """``{document id: reason}`` of corpus documents whose verdict is drop (adjudication first, then majority).

    The reason names the flags from the profile and the annotators' notes.
    """
    items = {i.id: i for i in store.items(kind="document")}
    votes: dict[str, list] = {}
    for v in store.verdicts():
        if v.item_id in items and v.verdict in ("keep", "drop"):
            votes.setdefault(v.item_id, []).append(v)
    out = {}
    for item_id, vs in votes.items():
        adjudicated = [v for v in vs if v.adjudication]
        if adjudicated:
            decision = adjudicated[-1].verdict
        else:
            drops = sum(v.verdict == "drop" for v in vs)
            decision = "drop" if drops > len(vs) - drops else "keep"
        if decision != "drop":
            continue
        item = items[item_id]
        doc_id = item.source.get("doc_id")
        if not doc_id:
            continue
        flags = ", ".join(item.meta.get("flags") or []) or "flagged"
        notes = "; ".join(v.note for v in vs if v.verdict == "drop" and v.note)
        who = ", ".join(sorted({v.annotator for v in vs if v.verdict == "drop"}))
        out[str(doc_id)] = f"expert review ({who}): {flags}" + (f"; {notes}" if notes else "")
    return out


def open_store(labels: str | os.PathLike | None, workspace=None, must_exist: bool = True) -> LabelStore:
    """A ``LabelStore`` for a path, a URL, or None / "workspace" (``<workspace>/labels.db``)."""
    if labels is None or str(labels) == "workspace":
        labels = default_db(workspace)
    if must_exist and "://" not in str(labels) and not Path(labels).is_file():
        raise WorkbenchError(f"label store {labels} does not exist.",
                             "pass an existing labels.db (or a database URL); create one with 'workbench review items'.")
    return LabelStore(labels)


DROP_LIST_NAME = "drop_list.jsonl"


def export_drop_list(store, path: str | os.PathLike) -> Path:
    """Write ``drop_decisions`` as JSONL, one ``{"id": document id, "reason": ...}`` per line, for curation to read."""
    path = output_file(path)
    return write_jsonl(path, [{"id": doc_id, "reason": reason} for doc_id, reason in drop_decisions(store).items()])


def drop_list_for(labels: str | os.PathLike | None, workspace=None, out: str | os.PathLike | None = None) -> Path:
    """Export the drop list of the store at ``labels`` (see ``open_store``) to ``out``, default
    ``<workspace>/exports/drop_list.jsonl`` (a stable path, so a snapshot's manifest rebuilds byte-identical)."""
    if out is None:
        from workbench.workspace import Workspace

        ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
        out = ws.root / "exports" / DROP_LIST_NAME
    with open_store(labels, workspace) as store:
        return export_drop_list(store, out)
