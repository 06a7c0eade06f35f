"""A label store in and out of files: what ``LabelStore.export`` and ``LabelStore.import_file`` do.

- ``export_store``: ``jsonl`` (items and the full event log: what ``import_store`` merges), ``csv`` or
  ``datasets`` (current labels flat, one row per span or verdict). A ``datasets`` folder carries a
  ``workbench_export.json`` card, so exporting into the same folder again replaces it.
- ``import_store``: merge a ``jsonl`` export; every item and event is checked with the rules the store's
  API applies (``workbench.review.records``) and the whole file is written in one transaction, or nothing.

The functions take a store and use its public methods; the store calls them (this module never
imports the store).
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import (
    artifact_entries,
    atomic_directory,
    atomic_write_text,
    dumps,
    is_artifact,
    parse_jsonl_line,
    write_json,
)
from workbench.review.items import item_from_record

FORMATS = ("jsonl", "csv", "datasets")
EXPORT_FORMAT = 1
EXPORT_KIND = "workbench-review-export"
CARD_NAME = "workbench_export.json"  # one of the files by which workbench.io knows a folder it made
FLAT_COLUMNS = ("type", "item_id", "kind", "annotator", "verdict", "output", "model", "checkpoint", "start", "end",
                "category", "severity", "weight", "text", "correction", "note", "seconds", "adjudication", "doc_id",
                "comparison", "uid")


def output_file(path: str | os.PathLike) -> Path:
    """``path`` as the target of an exported file: refused when it is a folder or lies under a file."""
    path = Path(path)
    if path.is_dir():
        raise WorkbenchError(f"export target {path} is a folder.",
                             "give a file name such as labels.jsonl (the folder is untouched); only the datasets "
                             "format writes a folder.")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise WorkbenchError(f"export target {path} lies under {parent}, which is a file.", "give a path in a folder.")
    return path


def output_folder(path: str | os.PathLike) -> Path:
    """``path`` as the target of a ``datasets`` export: new, empty, or an earlier export (which is replaced)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WorkbenchError(f"export target {path} is a file; the datasets format writes a folder.",
                             "give a new folder name (the file is untouched).")
    if artifact_entries(path) and not is_artifact(path):
        raise WorkbenchError(f"export folder {path} holds files that are not a workbench export.",
                             "give a new or empty folder (the files there are untouched).")
    output_file(path / CARD_NAME)  # a parent that is a file
    return path


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
    if format not in FORMATS:
        raise WorkbenchError(f"unknown export format '{format}' (field '{{field}}').", f"use one of: {', '.join(FORMATS)}.",
                             field="format")
    if format == "datasets":
        return _export_datasets(store, output_folder(path))
    path = output_file(path)
    if format == "jsonl":
        header = {"type": "header", "format": EXPORT_FORMAT, "kind": EXPORT_KIND}
        records = [header] + [{"type": "item", **i.to_dict()} for i in store.items()]
        records += [{"type": "event", **{k: e[k] for k in ("uid", "item_id", "annotator", "action", "payload", "seconds",
                                                           "created")}} for e in store.events()]
        for r in records:
            r.pop("revealed", None)
        atomic_write_text(path, "".join(dumps(r, indent=None) + "\n" for r in records))
        return path
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FLAT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat_rows(store))
    atomic_write_text(path, buffer.getvalue())
    return path


def _export_datasets(store, path: Path) -> Path:
    import datasets

    rows = flat_rows(store)
    table = {c: [r[c] for r in rows] for c in FLAT_COLUMNS}
    features = datasets.Features({c: datasets.Value("float64" if c == "seconds" else "int64" if c in
                                                    ("start", "end", "weight") else "bool" if c == "adjudication"
                                                    else "string") for c in FLAT_COLUMNS})
    with atomic_directory(path, overwrite=True) as tmp:
        datasets.Dataset.from_dict(table, features=features).save_to_disk(str(tmp))
        write_json(tmp / CARD_NAME, {"kind": EXPORT_KIND, "format": "datasets", "rows": len(rows),
                                     "source": store.safe_url, "created": time.time()})
    return path


def import_store(store, path: str | os.PathLike) -> dict:
    """Merge a ``jsonl`` export into ``store``: new items and events are added, known ones skipped.

    The file is read whole first (a line that is not JSON, a record of an unknown type, an item id or an
    event uid given twice), then the store checks every record as its API would and writes them in one
    transaction: a bad line writes nothing, and the error names the line and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"import file {path} does not exist or is not a file.", "check the path.")
    items, events = [], []
    item_lines: dict[str, int] = {}
    event_lines: dict[str, int] = {}
    with open(path, encoding="utf-8-sig", errors="replace") as handle:  # a BOM from an editor is no record
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = parse_jsonl_line(path, number, line.strip())
            where = f"{path} line {number}"
            kind = record.get("type")
            if kind == "header":
                continue
            if kind == "item":
                record = {k: v for k, v in record.items() if k not in ("type", "revealed")}
                if not record.get("id"):
                    raise WorkbenchError(f"{where}: an item without an id (field '{{field}}').",
                                         "import a file written by 'workbench review export'.", field="id")
                item = item_from_record(record, where=where)
                if item.id in item_lines:
                    raise WorkbenchError(f"{where}: item id '{item.id}' is already on line {item_lines[item.id]} "
                                         "(field '{field}').", "keep one record per item id.", field="id")
                item_lines[item.id] = number
                items.append((where, item))
            elif kind == "event":
                uid = record.get("uid")
                if isinstance(uid, str) and uid in event_lines:
                    raise WorkbenchError(f"{where}: event uid '{uid}' is already on line {event_lines[uid]} "
                                         "(field '{field}').", "keep one record per event uid.", field="uid")
                if isinstance(uid, str):
                    event_lines[uid] = number
                events.append((where, {k: v for k, v in record.items() if k != "type"}))
            else:
                raise WorkbenchError(f"{where}: record type {kind!r} is not 'item' or 'event' (field '{{field}}').",
                                     "import a jsonl file written by 'workbench review export'.", field="type")
    if not items and not events:
        raise WorkbenchError(f"import file {path} holds no items or events.", "export a store with 'workbench review export'.")
    return store._import_records(items, events)
