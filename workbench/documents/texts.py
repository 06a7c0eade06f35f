"""What training and evaluation read: a data setting (a snapshot folder, or corpus files) resolved to its
train and eval files, the held-out sets of a run, and the texts in them.

Reading the files themselves is :mod:`workbench.documents.readers`' job; this module only decides which
files a run, an evaluation or a comparison reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from workbench.documents.readers import DEFAULT_MAX_DOCUMENT_CHARS, Document, iter_documents, read_file
from workbench.errors import WorkbenchError
from workbench.samples import sample_path

__all__ = ["read_snapshot", "read_texts", "resolve_eval_sets", "resolve_training_data"]


def read_snapshot(snapshot: str | os.PathLike, split: str = "train") -> list[Document]:
    """Documents of one split ('train' or 'eval') of a snapshot folder built by ``workbench curate``."""
    snapshot = Path(snapshot)
    if split not in ("train", "eval"):
        raise WorkbenchError(f"unknown snapshot split '{split}'.", "use 'train' or 'eval'.")
    if not (snapshot / "manifest.json").exists():
        raise WorkbenchError(f"{snapshot} is not a snapshot (no manifest.json).", "build one with 'workbench curate'.")
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    if not manifest.get("complete"):
        raise WorkbenchError(f"snapshot {snapshot} is incomplete.", "rebuild it with 'workbench curate --overwrite'.")
    return list(read_file(snapshot / f"{split}.jsonl", "text"))


def read_texts(paths, text_field: str = "text", text_unit: str = "auto",
               max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS) -> list[str]:
    """The texts of the documents in files or folders, read as ``inspect`` and ``curate`` read them (records
    whose text is not a string are skipped and said, a document over ``max_document_chars`` is split)."""
    return [d.text for d in iter_documents(paths, text_field, text_unit, max_document_chars=max_document_chars)]


def resolve_training_data(data: str | os.PathLike) -> tuple[Path, Path | None]:
    """(train file or folder, eval file or None): a snapshot folder gives its train/eval split."""
    path = Path(data)
    if path.is_dir() and (path / "train.jsonl").exists():
        eval_path = path / "eval.jsonl"
        return path / "train.jsonl", eval_path if eval_path.exists() else None
    if not path.exists():
        raise WorkbenchError(f"training data {path} does not exist.", "pass a snapshot folder or a .jsonl/.txt file to --data.")
    return path, None


def resolve_eval_sets(data: str | os.PathLike | None, domain_eval: str | None = None,
                      general_eval: str | None = None) -> tuple[str, str]:
    """The held-out (domain, general) files of a run: the ones given, else the snapshot's eval split
    (domain), else the bundled samples. Training's in-training evaluation and ``compare``'s defaults
    both resolve through here, so the curves watched during a run and the final comparison measure
    the same documents."""
    domain = domain_eval
    if not domain and data:
        try:
            snapshot_eval = resolve_training_data(data)[1]
        except WorkbenchError:
            snapshot_eval = None
        domain = str(snapshot_eval) if snapshot_eval else None
    return (domain or str(sample_path("domain_eval.jsonl")),
            general_eval or str(sample_path("general_eval.jsonl")))
