"""Read documents from corpus files: JSONL and plain text (one document per file or per blank-line block)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import iter_jsonl


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str


def iter_documents(paths: str | os.PathLike | Iterable[str | os.PathLike], text_field: str = "text") -> Iterator[Document]:
    """Yield documents from files or folders (recursive), in sorted, deterministic order."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in map(Path, paths):
        if not path.exists():
            raise WorkbenchError(f"corpus path {path} does not exist.", "check the path (folders are read recursively).")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            yield from _read_file(file, text_field)


def _read_file(path: Path, text_field: str) -> Iterator[Document]:
    name = path.name.lower()
    if name.endswith((".jsonl", ".json")):
        for i, record in enumerate(iter_jsonl(path)):
            if text_field not in record:
                raise WorkbenchError(
                    f"{path}, record {i + 1} has no '{text_field}' field (it has: {', '.join(record) or 'nothing'}).",
                    "pass --text-field with the name of the text column.",
                )
            yield Document(str(record.get("id", f"{path.stem}-{i}")), str(record[text_field]), str(path))
    elif name.endswith((".txt", ".md", ".text")):
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks = [b.strip() for b in text.split("\n\n\n")] if "\n\n\n" in text else [text.strip()]
        for i, block in enumerate(b for b in blocks if b):
            yield Document(f"{path.stem}-{i}", block, str(path))


def read_texts(paths, text_field: str = "text") -> list[str]:
    return [d.text for d in iter_documents(paths, text_field)]


def resolve_training_data(data: str | os.PathLike) -> tuple[Path, Path | None]:
    """(train file or folder, eval file or None): a snapshot folder gives its train/eval split."""
    path = Path(data)
    if path.is_dir() and (path / "train.jsonl").exists():
        eval_path = path / "eval.jsonl"
        return path / "train.jsonl", eval_path if eval_path.exists() else None
    if not path.exists():
        raise WorkbenchError(f"training data {path} does not exist.", "pass a snapshot folder or a .jsonl/.txt file to --data.")
    return path, None
