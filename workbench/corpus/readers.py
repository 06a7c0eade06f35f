"""Read documents from corpus files, streaming: plain text, JSONL, CSV, Parquet, PDF, their gzip'ed forms, folders.

Plain text is one document per file, or several documents separated by two or more blank lines (a
single blank line is a paragraph break inside a document). JSONL, CSV and Parquet give one document per
record, read from the text column (``text`` by default). PDFs give one document per file from the text
layer. ``name.ext.gz`` is read as ``name.ext``. Folders are read recursively in sorted order.

Bytes that are not valid UTF-8 are replaced with U+FFFD and counted per document
(``Document.replaced``); binary files (NUL bytes in the first block) and files in formats we do not read
are skipped and listed by :func:`plan_files`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import parse_jsonl_line

TEXT_SUFFIXES = (".txt", ".md", ".text", ".rst")
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet",)
PDF_SUFFIXES = (".pdf",)
KNOWN_SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES + PDF_SUFFIXES
# Files a snapshot folder holds besides its documents.
SNAPSHOT_META = ("manifest.json", "build.json")
_REPLACEMENT = "\ufffd"
_REPLACEMENT_BYTES = _REPLACEMENT.encode("utf-8")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str
    replaced: int = 0  # bytes that were not valid UTF-8 and became U+FFFD


@dataclass
class FilePlan:
    """The files a set of corpus paths expands to, and those skipped with the reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path", "reason"}

    @property
    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def _format_suffix(path: Path) -> str:
    """The suffix that decides the format: ``a.jsonl.gz`` -> ``.jsonl``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _is_binary(path: Path) -> bool:
    """NUL bytes in the first 8 KB (after gunzip) mean binary; gzip'ed binaries count too."""
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            head = handle.read(8192)
    except (OSError, EOFError):
        return True
    return b"\x00" in head


def plan_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> FilePlan:
    """Expand files and folders (recursive, sorted) into readable files; list what is skipped and why."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    plan = FilePlan()
    for path in map(Path, paths):
        if not path.exists():
            raise WorkbenchError(f"corpus path {path} does not exist.", "check the path (folders are read recursively).")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if (path / "manifest.json").exists() and (path / "train.jsonl").exists():  # a snapshot folder
                files = [f for f in files if f.name not in SNAPSHOT_META]
        else:
            files = [path]
        for file in files:
            suffix = _format_suffix(file)
            if suffix in PARQUET_SUFFIXES or suffix in PDF_SUFFIXES:
                plan.files.append(file)  # binary formats, read by their own library
            elif _is_binary(file):
                plan.skipped.append({"path": str(file), "reason": "binary file (NUL bytes)"})
            elif suffix in KNOWN_SUFFIXES or not suffix:
                plan.files.append(file)
            else:
                plan.skipped.append({"path": str(file), "reason": f"unsupported format '{suffix}'"})
    return plan


def iter_documents(
    paths: str | os.PathLike | Iterable[str | os.PathLike], text_field: str = "text"
) -> Iterator[Document]:
    """Yield documents from files or folders (recursive), in sorted, deterministic order."""
    for file in plan_files(paths).files:
        yield from read_file(file, text_field)


def iter_file_documents(files: Iterable[str | os.PathLike], text_field: str = "text") -> Iterator[Document]:
    """Documents of already-planned files (what the ``datasets`` generators call, one shard of files each)."""
    for file in files:
        yield from read_file(Path(file), text_field)


def _decode(raw: bytes) -> tuple[str, int]:
    """UTF-8 text and the number of replaced bytes (a U+FFFD already in the input is not counted)."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        return text, text.count(_REPLACEMENT) - raw.count(_REPLACEMENT_BYTES)


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def read_file(path: Path, text_field: str = "text") -> Iterator[Document]:
    """Documents of one file, by format (see the module docstring)."""
    suffix = _format_suffix(path)
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(path, text_field)
    elif suffix in CSV_SUFFIXES:
        yield from _read_csv(path, text_field, delimiter="\t" if suffix == ".tsv" else ",")
    elif suffix in PARQUET_SUFFIXES:
        yield from _read_parquet(path, text_field)
    elif suffix in PDF_SUFFIXES:
        yield from _read_pdf(path)
    else:
        yield from _read_text(path)


def _stem(path: Path) -> str:
    name = path.name
    for _ in range(2):
        name = name.rsplit(".", 1)[0] if "." in name else name
        if not name.lower().endswith(KNOWN_SUFFIXES):
            break
    return name


def _read_text(path: Path) -> Iterator[Document]:
    with _open_binary(path) as handle:
        text, replaced = _decode(handle.read())
    blocks = [b.strip() for b in text.split("\n\n\n")] if "\n\n\n" in text else [text.strip()]
    stem = _stem(path)
    for i, block in enumerate(b for b in blocks if b):
        yield Document(f"{stem}-{i}", block, str(path), block.count(_REPLACEMENT) if replaced else 0)


def _read_jsonl(path: Path, text_field: str) -> Iterator[Document]:
    stem = _stem(path)
    with _open_binary(path) as handle:
        index = 0
        for number, raw in enumerate(handle, 1):
            line, replaced = _decode(raw)
            line = line.strip()
            if not line:
                continue
            record = parse_jsonl_line(path, number, line)
            if text_field not in record:
                raise WorkbenchError(
                    f"{path}, record {index + 1} has no '{text_field}' field (it has: {', '.join(record) or 'nothing'}).",
                    "pass --text-field with the name of the text column.",
                )
            yield Document(str(record.get("id", f"{stem}-{index}")), str(record[text_field]), str(path), replaced)
            index += 1


def _read_csv(path: Path, text_field: str, delimiter: str) -> Iterator[Document]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    stem = _stem(path)
    with _open_binary(path) as raw:
        # decode line by line so a bad byte is replaced (and counted) where it is, not fatal
        replaced_total = [0]

        def lines() -> Iterator[str]:
            for chunk in raw:
                text, replaced = _decode(chunk)
                replaced_total[0] += replaced
                yield text

        reader = csv.DictReader(lines(), delimiter=delimiter)
        columns = reader.fieldnames or []
        if text_field not in columns:
            raise WorkbenchError(
                f"{path} has no '{text_field}' column (it has: {', '.join(columns) or 'no header'}).",
                "pass --text-field with the name of the text column.",
            )
        for i, row in enumerate(reader):
            before = replaced_total[0]
            text = row.get(text_field) or ""
            yield Document(str(row.get("id") or f"{stem}-{i}"), text, str(path), replaced_total[0] - before)


def _read_parquet(path: Path, text_field: str) -> Iterator[Document]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise WorkbenchError(f"{path} is not a readable Parquet file ({exc}).", "check or re-export the file.") from None
    columns = parquet.schema_arrow.names
    if text_field not in columns:
        raise WorkbenchError(
            f"{path} has no '{text_field}' column (it has: {', '.join(columns)}).",
            "pass --text-field with the name of the text column.",
        )
    wanted = [text_field] + (["id"] if "id" in columns and text_field != "id" else [])
    stem = _stem(path)
    index = 0
    for batch in parquet.iter_batches(batch_size=1024, columns=wanted):
        texts = batch.column(text_field).to_pylist()
        ids = batch.column("id").to_pylist() if "id" in wanted else [None] * len(texts)
        for text, doc_id in zip(texts, ids):
            yield Document(str(doc_id if doc_id is not None else f"{stem}-{index}"), text or "", str(path))
            index += 1


def _read_pdf(path: Path) -> Iterator[Document]:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with _open_binary(path) as handle:
            reader = PdfReader(io.BytesIO(handle.read()))
            pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for damaged files
        raise WorkbenchError(f"{path} is not a readable PDF ({type(exc).__name__}: {exc}).", "check or re-export the file.") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip()).strip()
    if text:  # a scanned PDF without a text layer gives no document (listed as a file without documents)
        yield Document(_stem(path), text, str(path))


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
    return list(_read_jsonl(snapshot / f"{split}.jsonl", "text"))


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
