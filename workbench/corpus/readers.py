"""Read documents from corpus files, streaming: plain text, JSONL, CSV, Parquet, PDF, their gzip'ed forms, folders.

What becomes a document in plain text (and in the text of a PDF) is the *text unit*, named as in the
``datasets`` text loader's ``sample_by``:

- ``document``: the whole file is one document;
- ``paragraph``: every block separated by one or more blank lines is a document;
- ``line``: every non-empty line is a document;
- ``section``: blocks separated by two or more blank lines (one blank line is a paragraph break inside
  a document): the rule of earlier workbench versions;
- ``auto`` (the default): ``section`` (which is ``document`` for a file without such separators),
  except for a file of more than ``LARGE_DOCUMENT_CHARS`` characters (about 100,000 tokens) that this
  would read as fewer than ``FEW_DOCUMENTS`` documents or as a document over ``LARGE_DOCUMENT_CHARS``:
  such a file is read by ``paragraph``. In PDF text, whose blank lines come from the layout, ``auto`` is
  ``document`` (or ``paragraph`` for such a large file).

JSONL, CSV and Parquet give one document per record, read from the text column (``text`` by default);
a record whose text is null, empty or absent is skipped and counted as missing text. ``name.ext.gz`` is
read as ``name.ext``. Folders are read recursively in sorted order.

Bytes that are not valid UTF-8 are replaced with U+FFFD and counted per document
(``Document.replaced``); binary files (NUL bytes in the first block) and files in formats we do not read
are skipped and listed by :func:`plan_files`. What reading each file gave (documents, the unit used,
missing text, replaced bytes, implausibly large documents) is collected in a :class:`ReadReport`, whose
:meth:`~ReadReport.notes` are the one-line warnings shown on the console. A file that cannot be read
(damaged gzip, malformed JSON line, missing text column, damaged PDF, no permission) is a
:class:`~workbench.errors.WorkbenchError` naming the file and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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

TEXT_UNITS = ("auto", "document", "paragraph", "line", "section")
# One document longer than this is implausible (about 100,000 tokens at the ~5 characters per token of
# English text with a byte-level BPE tokenizer): ``auto`` splits such a file by paragraph, and a document
# this long that remains is warned about.
LARGE_DOCUMENT_CHARS = 500_000
# A file of several MB read as one document is warned about whatever its characters.
LARGE_FILE_BYTES = 2_000_000
# Fewer documents than this from files of at least this many paragraphs: a hint that they may be records.
FEW_DOCUMENTS = 10
_PARAGRAPH_BREAK = re.compile(r"\r?\n(?:[ \t\f\v]*\r?\n)+")  # one or more blank lines
_SECTION_BREAK = re.compile(r"\r?\n(?:[ \t\f\v]*\r?\n){2,}")  # two or more blank lines
_FORMATS = "text, JSONL, CSV, Parquet or PDF files (or folders of them)"


def check_text_unit(value: str, key: str = "text_unit") -> str:
    """``value`` if it is a text unit, else a user error naming the allowed values."""
    if value not in TEXT_UNITS:
        raise WorkbenchError(f"{key} is {value!r}; allowed values are {', '.join(TEXT_UNITS)}.",
                             "use --text-unit auto (the default), document, paragraph or line.")
    return value


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str
    replaced: int = 0  # bytes that were not valid UTF-8 and became U+FFFD


@dataclass
class FileRead:
    """What reading one file gave."""

    path: str
    text_unit: str = "record"
    """Unit used: document, section, paragraph or line (text and PDF files), record (JSONL, CSV, Parquet)."""
    documents: int = 0
    missing_text: int = 0
    """Records whose text is null, empty or absent (skipped)."""
    replaced_bytes: int = 0
    largest_chars: int = 0
    """Characters of the longest document."""
    largest_id: str | None = None
    paragraphs: int = 0
    """Blank-line-separated blocks of a text file read by document or section (0 otherwise)."""
    bytes: int = 0
    empty_reason: str | None = None
    """Why the file gave no document (empty, only whitespace, no text layer, no text in any record)."""

    def _add(self, doc: Document) -> Document:
        self.documents += 1
        self.replaced_bytes += doc.replaced
        if len(doc.text) > self.largest_chars:
            self.largest_chars, self.largest_id = len(doc.text), doc.id
        return doc


@dataclass
class ReadReport:
    """Per-file results of a read (filled while documents are yielded) and the warnings they call for."""

    text_unit: str = "auto"
    files: dict[str, FileRead] = field(default_factory=dict)

    def start(self, path: Path, text_unit: str = "record") -> FileRead:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        read = self.files[str(path)] = FileRead(str(path), text_unit, bytes=size)
        return read

    @property
    def documents(self) -> int:
        return sum(f.documents for f in self.files.values())

    @property
    def missing_text(self) -> int:
        return sum(f.missing_text for f in self.files.values())

    @property
    def replaced_bytes(self) -> int:
        return sum(f.replaced_bytes for f in self.files.values())

    def large(self) -> list[FileRead]:
        """Files with an implausibly large document: over LARGE_DOCUMENT_CHARS, or a whole file of several MB."""
        return [f for f in self.files.values() if f.largest_chars > LARGE_DOCUMENT_CHARS
                or (f.text_unit == "document" and f.bytes >= LARGE_FILE_BYTES and f.documents == 1)]

    def large_note(self, read: FileRead, tokens: int | None = None) -> str:
        """The warning for one implausibly large document of ``read`` (``tokens``: its exact count, if known)."""
        size = f"{read.largest_chars:,} characters" + (f", {tokens:,} tokens" if tokens is not None else "")
        if read.text_unit == "record":
            return (f"{read.path}: record {read.largest_id} is one document of {size}, implausibly large; "
                    "split it into several records in the file (--text-unit paragraph applies to text and PDF files only).")
        whole = "the whole file is" if read.documents == 1 else f"document {read.largest_id} is"
        fix = {"paragraph": "pass --text-unit line (one record per line)", "line": "split that line in the file"}.get(
            read.text_unit, "pass --text-unit paragraph (records separated by blank lines) or --text-unit line (one per line)")
        return (f"{read.path}: {whole} one document of {size} (read by {read.text_unit}), implausibly large; "
                f"if it holds several records, {fix}.")

    def notes(self) -> list[str]:
        """One-line warnings: large documents, missing text, replaced bytes, a whole corpus read as one document."""
        notes = [self.large_note(f) for f in self.large()]
        missing = [f for f in self.files.values() if f.missing_text]
        for f in missing[:5]:
            notes.append(f"{f.path}: {f.missing_text:,} record(s) have no text (null, empty or absent); "
                         "they are skipped and counted as missing_text.")
        if len(missing) > 5:
            notes.append(f"{len(missing) - 5} more file(s) have records without text ({self.missing_text:,} in all).")
        replaced = [f for f in self.files.values() if f.replaced_bytes]
        for f in replaced[:5]:
            notes.append(f"{f.path}: {f.replaced_bytes:,} byte(s) are not valid UTF-8 and were replaced with U+FFFD; "
                         f"if it is Latin-1 or Windows-1252 text, convert it first: iconv -f cp1252 -t utf-8 {f.path}")
        if len(replaced) > 5:
            notes.append(f"{len(replaced) - 5} more file(s) have bytes that are not valid UTF-8 "
                         f"({self.replaced_bytes:,} replaced in all).")
        if self.text_unit == "auto" and 0 < self.documents < FEW_DOCUMENTS:
            # a corpus of a handful of documents from files of many paragraphs: likely records read as one
            for f in [f for f in self.files.values() if f.paragraphs >= FEW_DOCUMENTS][:3]:
                notes.append(f"{f.path} was read as {f.documents:,} document(s) (by {f.text_unit}); if its "
                             f"{f.paragraphs:,} blank-line-separated paragraphs are separate records, pass --text-unit paragraph.")
        return notes

    def input_fields(self, path: str | os.PathLike) -> dict:
        """What reading one file gave, for the inputs list of a profile or manifest."""
        read = self.files.get(str(path))
        if read is None:
            return {}
        return {"documents": read.documents, "text_unit": read.text_unit, "missing_text": read.missing_text,
                "replaced_bytes": read.replaced_bytes}


def emit_notes(notes: Iterable[str]) -> None:
    """Print warnings on the console, one line each (through tqdm, so progress bars stay intact)."""
    notes = list(notes)
    if not notes:
        return
    from tqdm import tqdm

    for note in notes:
        tqdm.write(f"warning: {note}", file=sys.stderr)


@dataclass
class FilePlan:
    """The files a set of corpus paths expands to, and those skipped with the reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path", "reason"}
    report: ReadReport = field(default_factory=ReadReport)
    """What reading the files gave (filled while they are read)."""

    @property
    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def _format_suffix(path: Path) -> str:
    """The suffix that decides the format: ``a.jsonl.gz`` -> ``.jsonl``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


@contextmanager
def _reading(path: Path):
    """Turn what a damaged or unreadable file raises into a user error naming the file."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise WorkbenchError(
            f"{path} is a truncated or damaged gzip file ({type(exc).__name__}: {exc}).",
            f"re-download or re-compress it ('gzip -t {path}' checks a file), or remove it from the corpus.",
        ) from None
    except PermissionError:
        raise WorkbenchError(f"{path} cannot be read (permission denied).",
                             "give yourself read access (chmod u+r) or pass another path.") from None
    except IsADirectoryError:
        raise WorkbenchError(f"{path} is a folder where a file was expected.", "pass the folder itself, or a file.") from None


def _is_binary(path: Path) -> bool:
    """NUL bytes in the first 8 KB (after gunzip) mean binary; gzip'ed binaries count too."""
    with _reading(path), _open_binary(path) as handle:
        head = handle.read(8192)
    return b"\x00" in head


def plan_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> FilePlan:
    """Expand files and folders (recursive, sorted) into readable files; list what is skipped and why.

    Raises a user error for a path that does not exist or cannot be read, a damaged gzip file, and when
    nothing readable is left (an empty folder, only binary or unsupported files, only empty files).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(map(Path, paths))
    plan = FilePlan()
    for path in paths:
        if not path.exists():
            raise WorkbenchError(f"corpus path {path} does not exist.", "check the path (folders are read recursively).")
        if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
            raise WorkbenchError(f"corpus path {path} cannot be read (permission denied).",
                                 "give yourself read access (chmod u+r) or pass another path.")
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
    if not plan.files:
        raise _nothing_readable(paths, plan)
    empty = [f for f in plan.files if f.stat().st_size == 0]
    if len(empty) == len(plan.files):  # found without reading anything: before a model loads
        named = str(empty[0]) if len(empty) == 1 else f"every file in {', '.join(map(str, paths))} ({len(empty)} files)"
        raise WorkbenchError(f"{named} is empty (an empty file, 0 bytes): it holds no documents.", f"pass {_FORMATS} that hold text.")
    return plan


def _nothing_readable(paths: list[Path], plan: FilePlan) -> WorkbenchError:
    where = ", ".join(map(str, paths))
    if not plan.skipped:
        return WorkbenchError(f"{where} holds no files (hidden files are not read).",
                              f"put {_FORMATS} there, or pass another path.")
    first = plan.skipped[0]
    if len(plan.skipped) == 1 and first["reason"].startswith("binary"):
        return WorkbenchError(
            f"{first['path']} is not text: it has NUL bytes in its first 8 KB (a binary file, or UTF-16 text).",
            "pass UTF-8 text; convert other documents to text first (UTF-16: iconv -f utf-16 -t utf-8).",
        )
    listed = "; ".join(f"{s['path']}: {s['reason']}" for s in plan.skipped[:3])
    more = f"; and {len(plan.skipped) - 3} more" if len(plan.skipped) > 3 else ""
    return WorkbenchError(f"no readable file in {where} ({listed}{more}).",
                          f"pass {_FORMATS}; convert other documents to UTF-8 text first.")


def no_documents_error(paths, plan: FilePlan) -> WorkbenchError:
    """The error for files that were read but gave no document, naming each file and why."""
    where = ", ".join(map(str, [paths] if isinstance(paths, (str, os.PathLike)) else paths))
    reads = list(plan.report.files.values())
    reasons = [f"{r.path} {r.empty_reason or 'gave no document'}" for r in reads[:3]]
    more = f"; and {len(reads) - 3} more" if len(reads) > 3 else ""
    if len(reads) == 1:
        message = f"{reasons[0]}: no documents to read."
    else:
        message = f"no documents in {where} ({'; '.join(reasons)}{more})."
    return WorkbenchError(message, f"pass {_FORMATS} that hold text.")


def iter_documents(
    paths: str | os.PathLike | Iterable[str | os.PathLike], text_field: str = "text", text_unit: str = "auto",
    report: ReadReport | None = None,
) -> Iterator[Document]:
    """Yield documents from files or folders (recursive), in sorted, deterministic order.

    Without a ``report``, the warnings of the read are printed on the console when the iteration ends.
    """
    check_text_unit(text_unit)
    own = report is None
    report = report if report is not None else ReadReport(text_unit)
    for file in plan_files(paths).files:
        yield from read_file(file, text_field, text_unit, report)
    if own:
        emit_notes(report.notes())


def iter_file_documents(
    files: Iterable[str | os.PathLike], text_field: str = "text", text_unit: str = "auto",
    report: ReadReport | None = None,
) -> Iterator[Document]:
    """Documents of already-planned files (what the ``datasets`` generators call, one shard of files each)."""
    for file in files:
        yield from read_file(Path(file), text_field, text_unit, report)


def _decode(raw: bytes) -> tuple[str, int]:
    """UTF-8 text and the number of replaced bytes (a U+FFFD already in the input is not counted)."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        return text, text.count(_REPLACEMENT) - raw.count(_REPLACEMENT_BYTES)


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def read_file(
    path: Path, text_field: str = "text", text_unit: str = "auto", report: ReadReport | None = None
) -> Iterator[Document]:
    """Documents of one file, by format (see the module docstring); what it gave is added to ``report``."""
    report = report if report is not None else ReadReport(text_unit)
    suffix = _format_suffix(path)
    with _reading(path):
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(path, text_field, report.start(path))
        elif suffix in CSV_SUFFIXES:
            yield from _read_csv(path, text_field, report.start(path), delimiter="\t" if suffix == ".tsv" else ",")
        elif suffix in PARQUET_SUFFIXES:
            yield from _read_parquet(path, text_field, report.start(path))
        elif suffix in PDF_SUFFIXES:
            yield from _read_pdf(path, text_unit, report.start(path, text_unit))
        else:
            yield from _read_text(path, text_unit, report.start(path, text_unit))


def _stem(path: Path) -> str:
    name = path.name
    for _ in range(2):
        name = name.rsplit(".", 1)[0] if "." in name else name
        if not name.lower().endswith(KNOWN_SUFFIXES):
            break
    return name


def split_text(text: str, text_unit: str, sections: bool = True) -> tuple[list[str], str]:
    """The documents of a text under ``text_unit`` and the unit used (``auto`` resolved; see the module docstring).

    ``sections=False`` (PDF text, whose blank lines come from the layout): ``auto`` does not split on two blank lines.
    """
    if text_unit == "document":
        blocks, used = [text], "document"
    elif text_unit == "line":
        blocks, used = text.splitlines(), "line"
    elif text_unit == "paragraph":
        blocks, used = _PARAGRAPH_BREAK.split(text), "paragraph"
    else:  # section, auto
        blocks = _SECTION_BREAK.split(text) if sections or text_unit == "section" else [text]
        used = "section" if text_unit == "section" or len(blocks) > 1 else "document"
        # a large file read as a few (or an implausibly large) documents is a file of records: a stray
        # double blank line among single ones must not make 100 records 2 documents
        if text_unit == "auto" and len(text) > LARGE_DOCUMENT_CHARS and (
                len(blocks) < FEW_DOCUMENTS or max(map(len, blocks)) > LARGE_DOCUMENT_CHARS):
            paragraphs = _PARAGRAPH_BREAK.split(text)
            if len(paragraphs) > 1:
                blocks, used = paragraphs, "paragraph"
    return [b for b in (block.strip() for block in blocks) if b], used


def _text_documents(path: Path, text: str, replaced: int, text_unit: str, read: FileRead, whole_id: bool = False
                    ) -> Iterator[Document]:
    """Documents of a decoded text; ``whole_id`` (PDFs): one document is named by the file's stem alone, and
    ``auto`` does not split on two blank lines."""
    blocks, read.text_unit = split_text(text, text_unit, sections=not whole_id)
    if read.text_unit in ("document", "section") and blocks:
        read.paragraphs = sum(len(_PARAGRAPH_BREAK.findall(block)) + 1 for block in blocks)
    stem = _stem(path)
    for i, block in enumerate(blocks):
        doc_id = stem if whole_id and read.text_unit == "document" else f"{stem}-{i}"
        yield read._add(Document(doc_id, block, str(path), block.count(_REPLACEMENT) if replaced else 0))


def _read_text(path: Path, text_unit: str, read: FileRead) -> Iterator[Document]:
    with _open_binary(path) as handle:
        text, replaced = _decode(handle.read())
    yield from _text_documents(path, text, replaced, text_unit, read)
    if not read.documents:
        read.empty_reason = "is empty (0 bytes)" if read.bytes == 0 else "holds only whitespace"


def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_jsonl(path: Path, text_field: str, read: FileRead) -> Iterator[Document]:
    stem = _stem(path)
    absent = None  # (line number, fields) of the first record without the text field
    with _open_binary(path) as handle:
        index = 0
        for number, raw in enumerate(handle, 1):
            line, replaced = _decode(raw)
            line = line.strip()
            if not line:
                continue
            record = parse_jsonl_line(path, number, line)
            value = record.get(text_field)
            if _missing(value):
                read.missing_text += 1
                if text_field not in record and absent is None:
                    absent = (number, list(record))
            else:
                yield read._add(Document(str(record.get("id", f"{stem}-{index}")), str(value), str(path), replaced))
            index += 1
    if not read.documents:
        if absent is not None:
            number, fields = absent
            raise WorkbenchError(
                f"{path} has no '{text_field}' field in any record (line {number} has: {', '.join(fields) or 'nothing'}).",
                "pass --text-field with the name of the text field.",
            )
        read.empty_reason = (f"has no text in any of its {read.missing_text:,} records ('{text_field}' is null or empty)"
                             if read.missing_text else "is empty (no records)")


def _read_csv(path: Path, text_field: str, read: FileRead, delimiter: str) -> Iterator[Document]:
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
        if not columns:
            read.empty_reason = "is empty (no header)"
            return
        if text_field not in columns:
            raise WorkbenchError(
                f"{path} has no '{text_field}' column (it has: {', '.join(columns)}).",
                "pass --text-field with the name of the text column.",
            )
        for i, row in enumerate(reader):
            before = replaced_total[0]
            text = row.get(text_field)
            if _missing(text):
                read.missing_text += 1
                continue
            yield read._add(Document(str(row.get("id") or f"{stem}-{i}"), text, str(path), replaced_total[0] - before))
    if not read.documents:
        read.empty_reason = (f"has no text in any of its {read.missing_text:,} rows" if read.missing_text
                             else "has a header but no rows")


def _read_parquet(path: Path, text_field: str, read: FileRead) -> Iterator[Document]:
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
            if _missing(text):
                read.missing_text += 1
            else:
                yield read._add(Document(str(doc_id if doc_id is not None else f"{stem}-{index}"), str(text), str(path)))
            index += 1
    if not read.documents:
        read.empty_reason = f"has no text in any of its {read.missing_text:,} rows" if read.missing_text else "has no rows"


def _read_pdf(path: Path, text_unit: str, read: FileRead) -> Iterator[Document]:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if read.bytes == 0:
        raise WorkbenchError(f"{path} is an empty file (0 bytes), not a PDF.", "re-export or re-download it, or remove it.")
    try:
        with _open_binary(path) as handle:
            reader = PdfReader(io.BytesIO(handle.read()))
            pages = [page.extract_text() or "" for page in reader.pages]
    except WorkbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for damaged files
        raise WorkbenchError(f"{path} is not a readable PDF ({type(exc).__name__}: {exc}).", "check or re-export the file.") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip()).strip()
    # a scanned PDF without a text layer gives no document (listed as a file without documents)
    yield from _text_documents(path, text, 0, text_unit, read, whole_id=True)
    if not read.documents:
        read.empty_reason = "has no text layer (a scanned PDF?)"


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
    path = snapshot / f"{split}.jsonl"
    return list(_read_jsonl(path, "text", ReadReport().start(path)))


def read_texts(paths, text_field: str = "text", text_unit: str = "auto") -> list[str]:
    return [d.text for d in iter_documents(paths, text_field, text_unit)]


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
    from workbench.samples import sample_path

    domain = domain_eval
    if not domain and data:
        try:
            snapshot_eval = resolve_training_data(data)[1]
        except WorkbenchError:
            snapshot_eval = None
        domain = str(snapshot_eval) if snapshot_eval else None
    return (domain or str(sample_path("domain_eval.jsonl")),
            general_eval or str(sample_path("general_eval.jsonl")))
