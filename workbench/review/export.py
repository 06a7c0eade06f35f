"""Labels out of and into the store, and the files through which they flow back into the loop.

- ``export_store``: ``jsonl`` (items and the full event log: what ``import_store`` merges),
  ``csv`` or ``datasets`` (current labels flat, one row per span or verdict);
- ``export_corrections``: corrected outputs as a training-data JSONL (``{id, text, source}``)
  that ``workbench curate`` and ``workbench train`` read;
- ``drop_decisions``: the corpus documents experts decided to drop, with the reason;
  ``export_drop_list`` writes them as the plain JSONL ``{id, reason}`` that ``CurateConfig.drop_list``
  reads (``workbench curate --labels``);
- ``workbench.review.regression.export_regression_set``: the corrected errors as the regression set
  ``workbench compare`` re-scores.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import atomic_directory, atomic_write_text, dumps, iter_jsonl, write_jsonl

FORMATS = ("jsonl", "csv", "datasets")
EXPORT_FORMAT = 1
FLAT_COLUMNS = ("type", "item_id", "kind", "annotator", "verdict", "output", "model", "checkpoint", "start", "end",
                "category", "severity", "weight", "text", "correction", "note", "seconds", "adjudication", "doc_id",
                "comparison", "uid")


def flat_rows(store) -> list[dict]:
    """Current labels, one row per span and per verdict, with the item's source (model names revealed)."""
    items = {i.id: i for i in store.items()}
    rows = []
    for v in store.verdicts():
        item = items[v.item_id]
        rows.append({"type": "verdict", "item_id": v.item_id, "kind": item.kind, "annotator": v.annotator,
                     "verdict": v.verdict, "model": v.model, "note": v.note, "seconds": v.seconds,
                     "adjudication": v.adjudication, "doc_id": item.source.get("doc_id"),
                     "comparison": item.source.get("comparison"), "uid": v.uid})
    for s in store.labels():
        item = items[s.item_id]
        rows.append({"type": "span", "item_id": s.item_id, "kind": item.kind, "annotator": s.annotator,
                     "output": s.output, "model": s.model, "checkpoint": s.checkpoint, "start": s.start, "end": s.end,
                     "category": s.category, "severity": s.severity, "weight": s.weight, "text": s.text,
                     "correction": s.correction, "note": s.note, "seconds": s.seconds,
                     "doc_id": item.source.get("doc_id"), "comparison": item.source.get("comparison"), "uid": s.uid})
    return [{c: r.get(c) for c in FLAT_COLUMNS} for r in rows]


def export_store(store, path: str | os.PathLike, format: str = "jsonl") -> Path:
    """Write the store to ``path`` in ``format`` (see module docstring); returns the path written."""
    path = Path(path)
    if format not in FORMATS:
        raise WorkbenchError(f"unknown export format '{format}' (field 'format').", f"use one of: {', '.join(FORMATS)}.")
    if format == "jsonl":
        header = {"type": "header", "format": EXPORT_FORMAT, "kind": "workbench-review-export"}
        records = [header] + [{"type": "item", **i.to_dict()} for i in store.items()]
        records += [{"type": "event", **{k: e[k] for k in ("uid", "item_id", "annotator", "action", "payload", "seconds",
                                                           "created")}} for e in store.events()]
        for r in records:
            r.pop("revealed", None)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, "".join(dumps(r, indent=None) + "\n" for r in records))
        return path
    rows = flat_rows(store)
    if format == "csv":
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FLAT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, buffer.getvalue())
        return path
    import datasets

    table = {c: [r[c] for r in rows] for c in FLAT_COLUMNS}
    features = datasets.Features({c: datasets.Value("float64" if c == "seconds" else "int64" if c in
                                                    ("start", "end", "weight") else "bool" if c == "adjudication"
                                                    else "string") for c in FLAT_COLUMNS})
    with atomic_directory(path, overwrite=True) as tmp:
        datasets.Dataset.from_dict(table, features=features).save_to_disk(str(tmp))
    return path


def import_store(store, path: str | os.PathLike) -> dict:
    """Merge a ``jsonl`` export into ``store``: new items and events are added, known ones skipped.

    The whole file is checked before anything is written; a malformed line names the line and field.
    """
    from workbench.review.items import item_from_record
    from workbench.review.store import ACTIONS

    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"import file {path} does not exist.", "check the path.")
    items, events = [], []
    for number, record in enumerate(iter_jsonl(path), 1):
        where = f"{path} line {number}"
        kind = record.get("type")
        if kind == "header":
            continue
        if kind == "item":
            record = {k: v for k, v in record.items() if k != "type"}
            if not record.get("id"):
                raise WorkbenchError(f"{where}: an item without field 'id'.", "import a file written by 'workbench review export'.")
            items.append(item_from_record(record, where=where))
        elif kind == "event":
            for field, types in (("uid", str), ("item_id", str), ("annotator", str), ("action", str), ("payload", dict),
                                 ("created", (int, float))):
                if not isinstance(record.get(field), types) or (types is str and not record[field].strip()):
                    raise WorkbenchError(f"{where}: field '{field}' is missing or malformed.",
                                         "import a file written by 'workbench review export --format jsonl'.")
            if record["action"] not in ACTIONS:
                raise WorkbenchError(f"{where}: field 'action' is '{record['action']}'.", f"use one of: {', '.join(ACTIONS)}.")
            _check_payload(record["action"], record["payload"], where)
            events.append(record)
        else:
            raise WorkbenchError(f"{where}: field 'type' is {kind!r}, not 'item' or 'event'.",
                                 "import a file written by 'workbench review export --format jsonl'.")
    if not items and not events:
        raise WorkbenchError(f"import file {path} holds no items or events.", "export a store with 'workbench review export'.")
    return store._import_records(items, events)


def _check_payload(action: str, payload: dict, where: str) -> None:
    """What the derivation of current labels relies on, per action (a malformed line is refused whole)."""
    from workbench.review.config import SEVERITY_WEIGHTS, VERDICTS

    def bad(field: str, fix: str):
        raise WorkbenchError(f"{where}: field 'payload.{field}' is missing or malformed.", fix)

    if action == "span":
        if not isinstance(payload.get("category"), str):
            bad("category", "give the error category as text.")
        if payload.get("severity") not in SEVERITY_WEIGHTS:
            bad("severity", f"use one of: {', '.join(SEVERITY_WEIGHTS)}.")
        if not isinstance(payload.get("output"), str):
            bad("output", "name the output slot (A, B or output).")
        start, end = payload.get("start"), payload.get("end")
        if (start is None) != (end is None) or (start is not None and not (
                isinstance(start, int) and isinstance(end, int) and 0 <= start < end)):
            bad("start", "give integer offsets 0 <= start < end, or both null.")
    elif action == "verdict" and payload.get("verdict") not in VERDICTS:
        bad("verdict", f"use one of: {', '.join(VERDICTS)}.")
    elif action in ("undo", "redo", "delete") and not isinstance(payload.get("target"), str):
        bad("target", "give the uid of the event it refers to.")


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
        if s.correction is not None:
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
            "severity": max((s.severity for s in spans), key=lambda x: {"minor": 1, "major": 5, "critical": 10}[x]),
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, records)
    return path


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


def open_store(labels: str | os.PathLike | None, workspace=None, must_exist: bool = True):
    """A ``LabelStore`` for a path, a URL, or None / "workspace" (``<workspace>/labels.db``)."""
    from workbench.review.config import default_db
    from workbench.review.store import LabelStore

    if labels is None or str(labels) == "workspace":
        labels = default_db(workspace)
    if must_exist and "://" not in str(labels) and not Path(labels).is_file():
        raise WorkbenchError(f"label store {labels} does not exist.",
                             "pass an existing labels.db (or a database URL); create one with 'workbench review items'.")
    return LabelStore(labels)


def drop_decisions_from(labels: str | os.PathLike | None, workspace=None) -> dict[str, str]:
    """``drop_decisions`` of the store at ``labels`` (see ``open_store``)."""
    with open_store(labels, workspace) as store:
        return drop_decisions(store)


DROP_LIST_NAME = "drop_list.jsonl"


def export_drop_list(store, path: str | os.PathLike) -> Path:
    """Write ``drop_decisions`` as JSONL, one ``{"id": document id, "reason": ...}`` per line, for curation to read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, [{"id": doc_id, "reason": reason} for doc_id, reason in drop_decisions(store).items()])
    return path


def drop_list_for(labels: str | os.PathLike | None, workspace=None, out: str | os.PathLike | None = None) -> Path:
    """Export the drop list of the store at ``labels`` (see ``open_store``) to ``out``, default
    ``<workspace>/exports/drop_list.jsonl`` (a stable path, so a snapshot's manifest rebuilds byte-identical)."""
    if out is None:
        from workbench.workspace import Workspace

        ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
        out = ws.root / "exports" / DROP_LIST_NAME
    with open_store(labels, workspace) as store:
        return export_drop_list(store, out)
