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
a record whose text is null, empty or absent is skipped and counted as missing text, and one whose text
is not a string (a number, list, object, boolean) is skipped and counted with its line numbers, never
read as its Python form. ``name.ext.gz`` is read as ``name.ext``. Folders are read recursively in sorted
order; only regular files are read (a FIFO, socket or device is refused, or skipped inside a folder).

Memory stays bounded whatever the file: text is read in pieces of at most ``LINE_CHUNK_BYTES``, and a
document over ``max_document_chars`` is split into parts of at most that many characters (at a line
break or space where one is near), counted per file; a JSONL or CSV record is parsed whole, so a line
longer than ``record_bytes_limit(max_document_chars)`` is refused.

Bytes that are not valid UTF-8 are replaced with U+FFFD and counted per document
(``Document.replaced``); binary files (NUL bytes in the first block) and files in formats we do not read
are skipped and listed by :func:`plan_files`. What reading each file gave (documents, the unit used,
missing text, replaced bytes, split and implausibly large documents) is collected in a
:class:`ReadReport`, whose :meth:`~ReadReport.notes` are the one-line warnings shown on the console. A
file that cannot be read (damaged gzip, malformed JSON line, missing text column, damaged PDF, no
permission) is a :class:`~workbench.errors.WorkbenchError` naming the file and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import check_regular_file, not_regular, parse_jsonl_line

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
# The longest document kept whole by default: the implausible size, so that the parts of a split document
# pass curate's default max_words (100,000 words are about 600,000 characters of English).
DEFAULT_MAX_DOCUMENT_CHARS = LARGE_DOCUMENT_CHARS
MIN_MAX_DOCUMENT_CHARS = 1_000
# Bytes of a text file read at once: a longer line arrives in pieces, so no line is ever held whole.
LINE_CHUNK_BYTES = 2**18
_SHOWN_LINES = 5  # line numbers listed in a warning
_BLANK_LINE = re.compile(r"[ \t\f\v]*\r?\n")
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines breaks
_FORMATS = "text, JSONL, CSV, Parquet or PDF files (or folders of them)"


def check_text_unit(value: str, key: str = "text_unit") -> str:
    """``value`` if it is a text unit, else a user error naming the allowed values."""
    if value not in TEXT_UNITS:
        raise WorkbenchError(f"{key} is {value!r}; allowed values are {', '.join(TEXT_UNITS)}.",
                             "use --text-unit auto (the default), document, paragraph or line.")
    return value


def check_max_document_chars(value: int) -> int:
    """``value`` if it is a usable document size limit, else a user error naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_MAX_DOCUMENT_CHARS:
        raise WorkbenchError(f"{{field}} is {value!r}; it must be a whole number of at least {MIN_MAX_DOCUMENT_CHARS:,} "
                             "characters.", f"set {{field}} to e.g. {DEFAULT_MAX_DOCUMENT_CHARS:,} (the default).",
                             field="max_document_chars")
    return value


def record_bytes_limit(max_document_chars: int) -> int:
    """The longest JSONL or CSV line read (records are parsed whole): room for a text of ``max_document_chars``
    characters written with JSON escapes (``\\uXXXX``, 6 bytes a character) and the record's other fields."""
    return 8 * max_document_chars + 2**20


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str
    replaced: int = 0  # bytes that were not valid UTF-8 and became U+FFFD


def _kind(value) -> str:
    """How a JSON reader would name a value's type (what a text field holds instead of a string)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass
class FileRead:
    """What reading one file gave."""

    path: str
    text_unit: str = "record"
    """Unit used: document, section, paragraph or line (text and PDF files), record (JSONL, CSV, Parquet)."""
    documents: int = 0
    missing_text: int = 0
    """Records whose text is null, empty or absent (skipped)."""
    non_string_text: int = 0
    """Records whose text is a number, list, object or boolean (skipped)."""
    non_string_kinds: dict[str, int] = field(default_factory=dict)
    non_string_lines: list[int] = field(default_factory=list)
    """Line (or Parquet row) numbers of the first such records."""
    split_documents: int = 0
    """Documents over the size limit, each split into parts."""
    split_parts: int = 0
    """Parts those documents became (each counted in ``documents``)."""
    split_lines: list[int] = field(default_factory=list)
    """Line (or row) numbers where the first split documents start."""
    split_largest_chars: int = 0
    """Characters of the largest split document."""
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

    def _non_string(self, value, line: int) -> None:
        self.non_string_text += 1
        kind = _kind(value)
        self.non_string_kinds[kind] = self.non_string_kinds.get(kind, 0) + 1
        if len(self.non_string_lines) < _SHOWN_LINES:
            self.non_string_lines.append(line)

    @property
    def _where(self) -> str:
        return "row" if _format_suffix(Path(self.path)) in PARQUET_SUFFIXES else "line"


def _numbers(where: str, numbers: list[int], total: int) -> str:
    listed = ", ".join(f"{n:,}" for n in numbers)
    return f"{where}{'s' if len(numbers) > 1 else ''} {listed}{', ...' if total > len(numbers) else ''}"


@dataclass
class ReadReport:
    """Per-file results of a read (filled while documents are yielded) and the warnings they call for."""

    text_unit: str = "auto"
    max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS
    """Documents over this many characters are split into parts (see the module docstring)."""
    files: dict[str, FileRead] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_max_document_chars(self.max_document_chars)

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
    def non_string_text(self) -> int:
        return sum(f.non_string_text for f in self.files.values())

    @property
    def split_documents(self) -> int:
        return sum(f.split_documents for f in self.files.values())

    @property
    def replaced_bytes(self) -> int:
        return sum(f.replaced_bytes for f in self.files.values())

    def large(self) -> list[FileRead]:
        """Files with an implausibly large document: over LARGE_DOCUMENT_CHARS, or a whole file of several MB
        (files whose documents were split over the size limit are warned about that instead)."""
        return [f for f in self.files.values() if not f.split_documents and (
            f.largest_chars > LARGE_DOCUMENT_CHARS
            or (f.text_unit == "document" and f.bytes >= LARGE_FILE_BYTES and f.documents == 1))]

    def large_note(self, read: FileRead, tokens: int | None = None) -> str:
        """The warning for one implausibly large document of ``read`` (``tokens``: its exact count, if known)."""
        size = f"{read.largest_chars:,} characters" + (f", {tokens:,} tokens" if tokens is not None else "")
        if read.text_unit == "record":
            return (f"{read.path}: record {read.largest_id} is one document of {size}, implausibly large; "
                    "split it into several records in the file (--text-unit paragraph applies to text and PDF files only).")
        whole = "the whole file is" if read.documents == 1 else f"document {read.largest_id} is"
        return (f"{read.path}: {whole} one document of {size} (read by {read.text_unit}), implausibly large; "
                f"if it holds several records, {self._unit_fix(read)}.")

    @staticmethod
    def _unit_fix(read: FileRead) -> str:
        return {"paragraph": "pass --text-unit line (one record per line)", "line": "split that line in the file",
                "record": "split it into several records in the file"}.get(
            read.text_unit, "pass --text-unit paragraph (records separated by blank lines) or --text-unit line (one per line)")

    def split_note(self, read: FileRead) -> str:
        """The warning for the documents of ``read`` that were split over ``max_document_chars``."""
        what = "record" if read.text_unit == "record" else f"document (read by {read.text_unit})"
        many = read.split_documents > 1
        return (f"{read.path}: {read.split_documents:,} {what}{'s' if many else ''} over max_document_chars "
                f"({self.max_document_chars:,} characters; the largest {read.split_largest_chars:,}) "
                f"{'were' if many else 'was'} split into {read.split_parts:,} parts, at "
                f"{_numbers(read._where, read.split_lines, read.split_documents)}; if it holds several records, "
                f"{self._unit_fix(read)}; to keep documents whole, raise max_document_chars.")

    def non_string_note(self, read: FileRead, text_field: str = "text") -> str:
        """The warning for the records of ``read`` whose text is not a string."""
        kinds = ", ".join(f"{n:,} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(read.non_string_kinds.items()))
        return (f"{read.path}: {read.non_string_text:,} record(s) have a '{text_field}' that is not a string ({kinds}; "
                f"{_numbers(read._where, read.non_string_lines, read.non_string_text)}); they are skipped and counted "
                "as non_string_text. Write the text as a string in those records.")

    def notes(self, text_field: str = "text") -> list[str]:
        """One-line warnings: split and large documents, records without text or with text that is not a
        string, replaced bytes, a whole corpus read as one document."""
        notes = [self.split_note(f) for f in self.files.values() if f.split_documents]
        notes += [self.large_note(f) for f in self.large()]
        missing = [f for f in self.files.values() if f.missing_text]
        for f in missing[:5]:
            notes.append(f"{f.path}: {f.missing_text:,} record(s) have no text (null, empty or absent); "
                         "they are skipped and counted as missing_text.")
        if len(missing) > 5:
            notes.append(f"{len(missing) - 5} more file(s) have records without text ({self.missing_text:,} in all).")
        non_string = [f for f in self.files.values() if f.non_string_text]
        notes += [self.non_string_note(f, text_field) for f in non_string[:5]]
        if len(non_string) > 5:
            notes.append(f"{len(non_string) - 5} more file(s) have records whose text is not a string "
                         f"({self.non_string_text:,} in all).")
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
                "non_string_text": read.non_string_text, "non_string_lines": read.non_string_lines,
                "split_documents": read.split_documents, "split_parts": read.split_parts,
                "split_lines": read.split_lines, "replaced_bytes": read.replaced_bytes}


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

    Raises a user error for a path that does not exist, cannot be read or is not a regular file (a named
    pipe, a socket, a device), a damaged gzip file, and when nothing readable is left (an empty folder,
    only binary or unsupported files, only empty files). Inside a folder, what is not a regular file is
    skipped and listed.
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
            files = []
            for entry in sorted(p for p in path.rglob("*") if not p.name.startswith(".") and not p.is_dir()):
                try:
                    kind = not_regular(entry.stat().st_mode)
                except OSError:  # a link to nothing
                    kind = "a broken link"
                if kind is None:
                    files.append(entry)
                else:
                    plan.skipped.append({"path": str(entry), "reason": f"not a regular file ({kind})"})
            if (path / "manifest.json").exists() and (path / "train.jsonl").exists():  # a snapshot folder
                files = [f for f in files if f.name not in SNAPSHOT_META]
        else:
            files = [check_regular_file(path)]
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
    report: ReadReport | None = None, max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS,
) -> Iterator[Document]:
    """Yield documents from files or folders (recursive), in sorted, deterministic order.

    Without a ``report``, the warnings of the read are printed on the console when the iteration ends;
    with one, its ``max_document_chars`` applies.
    """
    check_text_unit(text_unit)
    own = report is None
    report = report if report is not None else ReadReport(text_unit, max_document_chars)
    for file in plan_files(paths).files:
        yield from read_file(file, text_field, text_unit, report)
    if own:
        emit_notes(report.notes(text_field))


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
    """Documents of one file, by format (see the module docstring); what it gave is added to ``report``,
    whose ``max_document_chars`` applies. A path that is not a regular file is refused before it is opened."""
    report = report if report is not None else ReadReport(text_unit)
    path = check_regular_file(path)
    limit = report.max_document_chars
    suffix = _format_suffix(path)
    with _reading(path):
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(path, text_field, report.start(path), limit)
        elif suffix in CSV_SUFFIXES:
            yield from _read_csv(path, text_field, report.start(path), limit, delimiter="\t" if suffix == ".tsv" else ",")
        elif suffix in PARQUET_SUFFIXES:
            yield from _read_parquet(path, text_field, report.start(path), limit)
        elif suffix in PDF_SUFFIXES:
            yield from _read_pdf(path, text_unit, report.start(path, text_unit), limit)
        else:
            yield from _read_text(path, text_unit, report.start(path, text_unit), limit)


def _stem(path: Path) -> str:
    name = path.name
    for _ in range(2):
        name = name.rsplit(".", 1)[0] if "." in name else name
        if not name.lower().endswith(KNOWN_SUFFIXES):
            break
    return name


# ---- text units over a stream of lines -------------------------------------------------------------------

class _Splitter:
    """Cuts a stream of lines into the blocks of one text unit, holding at most one blank line.

    ``feed`` takes a whole line (ending with a newline) or a piece of a longer one, and gives the text of
    the current block and ``None`` where a block ends; blocks come out exactly as splitting the whole text
    gives them: at one or more blank lines, lines of only spaces and tabs (``paragraph``), at two or more
    (``section``), at every line break of ``str.splitlines`` (``line``), or nowhere (``document``). A blank
    line must fit in one piece.
    """

    def __init__(self, unit: str):
        self.unit = unit
        self.breaks = {"paragraph": 1, "section": 2}.get(unit)  # blank lines in a row that end a block
        self.started = False  # a blank line ends a block only after a first line (as the regex's leading \n)
        self.run = 0  # blank lines in a row so far
        self.blank = ""  # the first of them: one blank line inside a section stays in it
        self.line_start = True  # the next piece starts a line (else it is the rest of a long one)

    def feed(self, piece: str) -> tuple[str | None, ...]:
        if self.unit == "document":
            return (piece,)
        if self.unit == "line":
            events: list[str | None] = []
            for part in piece.splitlines(keepends=True):
                body = part.rstrip(_LINE_BREAKS)  # a part holds one line break, at its end
                events.append(body)
                if len(body) < len(part):
                    events.append(None)
            return tuple(events)
        if self.started and self.line_start and piece.endswith("\n") and _BLANK_LINE.fullmatch(piece):
            self.run += 1
            if self.run == 1:
                self.blank = piece
            return ()
        self.started = True
        self.line_start = piece.endswith("\n")
        return (*self._end_run(), piece) if self.run else (piece,)

    def _end_run(self) -> tuple[str | None, ...]:
        if not self.run:
            return ()
        event = None if self.run >= self.breaks else self.blank
        self.run, self.blank = 0, ""
        return (event,)

    def close(self) -> tuple[str | None, ...]:
        if self.breaks is not None and self.run >= self.breaks:
            return None, None  # blank lines at the end leave an empty last block, as the regex split does
        return (*self._end_run(), None)


@dataclass
class _Stats:
    """What the ``auto`` rule needs to know about a text, gathered in one pass."""

    chars: int = 0
    sections: int = 0
    longest_section: int = 0
    paragraphs: int = 0


def _stats(pieces: Iterable[tuple[str, int]], sections: bool) -> _Stats:
    stats = _Stats()
    by_section, by_paragraph = _Splitter("section" if sections else "document"), _Splitter("paragraph")
    length = 0
    for piece, _ in pieces:
        stats.chars += len(piece)
        for event in by_section.feed(piece):
            if event is None:
                stats.sections += 1
                stats.longest_section, length = max(stats.longest_section, length), 0
            else:
                length += len(event)
        stats.paragraphs += sum(event is None for event in by_paragraph.feed(piece))
    for event in by_section.close():
        if event is None:
            stats.sections += 1
            stats.longest_section, length = max(stats.longest_section, length), 0
        else:
            length += len(event)
    stats.paragraphs += sum(event is None for event in by_paragraph.close())
    return stats


def _resolve_unit(text_unit: str, stats: Callable[[], _Stats], sections: bool) -> str:
    """The unit ``auto`` stands for in one text (see the module docstring); ``stats`` is called only when needed."""
    if text_unit != "auto":
        return text_unit
    facts = stats()
    # a large file read as a few (or an implausibly large) documents is a file of records: a stray
    # double blank line among single ones must not make 100 records 2 documents
    if facts.chars > LARGE_DOCUMENT_CHARS and (
            facts.sections < FEW_DOCUMENTS or facts.longest_section > LARGE_DOCUMENT_CHARS) and facts.paragraphs > 1:
        return "paragraph"
    return "section" if sections else "document"


def _text_lines(text: str) -> Iterator[tuple[str, int]]:
    """An in-memory text as the pieces a file gives: lines with their newline."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end], 0
        start = end


def _complete_character(raw: bytes, handle) -> bytes:
    """The bytes that finish a UTF-8 character cut at the end of ``raw``, so that each piece decodes alone."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte & 0xC0 != 0x80:  # the last character starts here
            need = 2 if 0xC0 <= byte < 0xE0 else 3 if 0xE0 <= byte < 0xF0 else 4 if 0xF0 <= byte < 0xF8 else 1
            extra = b""
            for _ in range(need - back):
                following = handle.peek(1)[:1]
                if not following or following[0] & 0xC0 != 0x80:
                    break
                extra += handle.read(1)
            return extra
    return b""


def _file_pieces(path: Path) -> Iterator[tuple[str, int]]:
    """A text file as (decoded piece, replaced bytes): its lines, a line longer than LINE_CHUNK_BYTES in pieces."""
    with _open_binary(path) as handle:
        while raw := handle.readline(LINE_CHUNK_BYTES):
            if not raw.endswith(b"\n"):
                raw += _complete_character(raw, handle)
            yield _decode(raw)


def _cut(text: str, start: int, limit: int) -> int:
    """Where a part of at most ``limit`` characters from ``start`` ends: after the last line break, else the
    last space, in its second half; else at ``limit`` characters."""
    end, low = start + limit, start + limit // 2
    cut = text.rfind("\n", low, end)
    if cut < 0:
        cut = text.rfind(" ", low, end)
    return end if cut < 0 else cut + 1


class _Parts:
    """One block's text, collected piece by piece and handed out in parts of at most ``limit`` characters.

    Yields (text, replaced, part): ``part`` is 0 for a block kept whole, else 1, 2, ... for its parts (the
    last finished part is held back until it is known whether another follows). Texts are stripped; empty
    ones are not given.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self.buffer: list[str] = []
        self.size = 0
        self.chars = 0  # of the whole block
        self.replaced = False
        self.held: str | None = None
        self.parts = 0

    def add(self, text: str, replaced: int = 0) -> Iterator[tuple[str, int, int]]:
        self.buffer.append(text)
        self.size += len(text)
        self.chars += len(text)
        self.replaced = self.replaced or replaced > 0
        if self.size <= self.limit:
            return
        joined, start = "".join(self.buffer), 0
        while len(joined) - start > self.limit:
            cut = _cut(joined, start, self.limit)
            yield from self._part(joined[start:cut])
            start = cut
        self.buffer, self.size = [joined[start:]], len(joined) - start

    def _part(self, text: str) -> Iterator[tuple[str, int, int]]:
        text = text.strip()
        if not text:
            return
        if self.held is not None:
            self.parts += 1
            yield self._give(self.held, self.parts)
        self.held = text

    def _give(self, text: str, part: int) -> tuple[str, int, int]:
        return text, text.count(_REPLACEMENT) if self.replaced else 0, part

    def end(self) -> Iterator[tuple[str, int, int]]:
        """The rest of the block; then the next ``add`` starts a new block."""
        yield from self._part("".join(self.buffer))
        if self.held is not None:
            yield self._give(self.held, self.parts + 1 if self.parts else 0)
        self._reset()


def _part_id(base: str, part: int) -> str:
    return base if part == 0 else f"{base}-part{part}"


def _record_parts(read: FileRead, parts: _Parts, base: str, text: str, source: str, replaced: int, line: int
                  ) -> Iterator[Document]:
    """The documents of one record's text: itself, or its parts when it is over the limit."""
    if len(text) <= parts.limit:
        yield read._add(Document(base, text, source, replaced))
        return
    pieces = [*parts.add(text, replaced), *parts.end()]
    _count_split(read, len(text), len(pieces), line)
    for piece, part_replaced, part in pieces:
        yield read._add(Document(_part_id(base, part), piece, source, part_replaced))


def _count_split(read: FileRead, chars: int, parts: int, line: int) -> None:
    if parts < 2:
        return
    read.split_documents += 1
    read.split_parts += parts
    read.split_largest_chars = max(read.split_largest_chars, chars)
    if len(read.split_lines) < _SHOWN_LINES:
        read.split_lines.append(line)


def _text_documents(path: Path, pieces: Callable[[], Iterable[tuple[str, int]]], text_unit: str, read: FileRead,
                    limit: int, whole_id: bool = False) -> Iterator[Document]:
    """Documents of a text given as a stream of pieces (``pieces()`` starts it again: ``auto`` reads a large text
    twice, once to choose the unit). ``whole_id`` (PDFs): one document is named by the file's stem alone, and
    ``auto`` does not split on two blank lines."""
    # a small file cannot be over LARGE_DOCUMENT_CHARS (a character takes at least a byte): no need to measure it
    small = not whole_id and not path.name.lower().endswith(".gz") and read.bytes <= LARGE_DOCUMENT_CHARS
    unit = _resolve_unit(text_unit, _Stats if small else lambda: _stats(pieces(), not whole_id), sections=not whole_id)
    splitter = _Splitter(unit)
    paragraphs = _Splitter("paragraph") if unit in ("document", "section") else None
    parts, stem, source = _Parts(limit), _stem(path), str(path)
    index = blocks = 0
    line = block_line = 1
    # the block being read: a plain list while it is short; handed to ``parts`` once it is over the limit
    buffer: list[str] = []
    size, replaced_any, spilled, paragraph_text = 0, False, False, False

    def base() -> str:
        return stem if whole_id and unit == "document" else f"{stem}-{index}"

    def events(found: tuple[str | None, ...], replaced: int) -> Iterator[Document]:
        nonlocal index, blocks, block_line, buffer, size, replaced_any, spilled
        for event in found:
            if event is not None:
                if not size and not spilled:
                    block_line = line
                if spilled:
                    for text, part_replaced, part in parts.add(event, replaced):
                        yield read._add(Document(_part_id(base(), part), text, source, part_replaced))
                    continue
                buffer.append(event)
                size += len(event)
                replaced_any = replaced_any or replaced > 0
                if size > limit:  # long: cut into parts from here on
                    spilled = True
                    for text, part_replaced, part in parts.add("".join(buffer), int(replaced_any)):
                        yield read._add(Document(_part_id(base(), part), text, source, part_replaced))
                    buffer = []
                continue
            blocks += 1
            if spilled:
                chars = parts.chars
                found_parts = 0
                for text, part_replaced, part in parts.end():
                    found_parts = part
                    yield read._add(Document(_part_id(base(), part), text, source, part_replaced))
                if found_parts:
                    _count_split(read, chars, found_parts, block_line)
                index += 1
            else:
                text = "".join(buffer).strip() if len(buffer) > 1 else (buffer[0].strip() if buffer else "")
                if text:
                    yield read._add(Document(base(), text, source, text.count(_REPLACEMENT) if replaced_any else 0))
                    index += 1
            buffer, size, replaced_any, spilled = [], 0, False, False

    for piece, replaced in pieces():
        if paragraphs is not None:
            for event in paragraphs.feed(piece):
                if event is None:
                    read.paragraphs += paragraph_text
                    paragraph_text = False
                elif not paragraph_text and event and not event.isspace():
                    paragraph_text = True
        yield from events(splitter.feed(piece), replaced)
        if piece.endswith("\n"):
            line += 1
    if paragraphs is not None:
        for event in paragraphs.close():
            if event is None:
                read.paragraphs += paragraph_text
                paragraph_text = False
    yield from events(splitter.close(), 0)
    read.text_unit = "document" if text_unit == "auto" and unit == "section" and blocks <= 1 else unit


def split_text(text: str, text_unit: str, sections: bool = True) -> tuple[list[str], str]:
    """The documents of a text under ``text_unit`` and the unit used (``auto`` resolved; see the module docstring).

    ``sections=False`` (PDF text, whose blank lines come from the layout): ``auto`` does not split on two blank lines.
    """
    check_text_unit(text_unit)
    unit = _resolve_unit(text_unit, lambda: _stats(_text_lines(text), sections), sections)
    splitter, blocks, current = _Splitter(unit), [], []
    events = [*(e for piece, _ in _text_lines(text) for e in splitter.feed(piece)), *splitter.close()]
    for event in events:
        if event is None:
            blocks.append("".join(current))
            current = []
        else:
            current.append(event)
    used = unit
    if text_unit == "auto" and unit == "section" and len(blocks) <= 1:
        used = "document"
    return [b for b in (block.strip() for block in blocks) if b], used


def _read_text(path: Path, text_unit: str, read: FileRead, limit: int) -> Iterator[Document]:
    yield from _text_documents(path, lambda: _file_pieces(path), text_unit, read, limit)
    if not read.documents:
        read.empty_reason = "is empty (0 bytes)" if read.bytes == 0 else "holds only whitespace"


# ---- records ----------------------------------------------------------------------------------------------

def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _record_lines(handle, path: Path, limit: int) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of a JSONL or CSV file; a line over ``record_bytes_limit(limit)`` is refused unread."""
    cap = record_bytes_limit(limit)
    number = 0
    while raw := handle.readline(cap + 1):
        number += 1
        if len(raw) > cap:
            raise _record_too_long(path, number, cap, limit)
        yield number, raw


def _record_too_long(path: Path, number: int, cap: int, limit: int) -> WorkbenchError:
    return WorkbenchError(
        f"{path} line {number:,} is longer than {cap:,} bytes: a record is read whole, and {{field}} "
        f"({limit:,} characters) allows records up to that size.",
        "split that record into several records (lines) in the file, or raise {field}.",
        field="max_document_chars",
    )


def _no_string_text(path: Path, text_field: str, read: FileRead) -> WorkbenchError:
    kinds = ", ".join(sorted(read.non_string_kinds))
    return WorkbenchError(
        f"{path}: '{text_field}' is not a string in any record ({kinds}; "
        f"{_numbers(read._where, read.non_string_lines, read.non_string_text)}).",
        "write the text of each record as a string, or name the field that holds it with {field}.",
        field="text_field",
    )


def _read_jsonl(path: Path, text_field: str, read: FileRead, limit: int) -> Iterator[Document]:
    stem = _stem(path)
    parts = _Parts(limit)
    absent = None  # (line number, fields) of the first record without the text field
    with _open_binary(path) as handle:
        index = 0
        for number, raw in _record_lines(handle, path, limit):
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
            elif not isinstance(value, str):
                read._non_string(value, number)
            else:
                yield from _record_parts(read, parts, str(record.get("id", f"{stem}-{index}")), value, str(path),
                                         replaced, number)
            index += 1
    if not read.documents:
        if read.non_string_text:
            raise _no_string_text(path, text_field, read)
        if absent is not None:
            number, fields = absent
            raise WorkbenchError(
                f"{path} has no '{text_field}' field in any record (line {number} has: {', '.join(fields) or 'nothing'}).",
                "pass --text-field with the name of the text field.",
            )
        read.empty_reason = (f"has no text in any of its {read.missing_text:,} records ('{text_field}' is null or empty)"
                             if read.missing_text else "is empty (no records)")


def _read_csv(path: Path, text_field: str, read: FileRead, limit: int, delimiter: str) -> Iterator[Document]:
    csv.field_size_limit(record_bytes_limit(limit))
    stem = _stem(path)
    parts = _Parts(limit)
    with _open_binary(path) as raw:
        # decode line by line so a bad byte is replaced (and counted) where it is, not fatal
        replaced_total = [0]

        def lines() -> Iterator[str]:
            for _, chunk in _record_lines(raw, path, limit):
                text, replaced = _decode(chunk)
                replaced_total[0] += replaced
                yield text

        reader = csv.DictReader(lines(), delimiter=delimiter)
        try:
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
                yield from _record_parts(read, parts, str(row.get("id") or f"{stem}-{i}"), text, str(path),
                                         replaced_total[0] - before, reader.line_num)
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise _record_too_long(path, reader.line_num, record_bytes_limit(limit), limit) from None
            raise WorkbenchError(f"{path} line {reader.line_num:,} is not readable CSV ({exc}).",
                                 "fix or remove that line, or re-export the file.") from None
    if not read.documents:
        read.empty_reason = (f"has no text in any of its {read.missing_text:,} rows" if read.missing_text
                             else "has a header but no rows")


def _is_text_type(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
            or getattr(pa.types, "is_string_view", lambda _: False)(kind))


def _read_parquet(path: Path, text_field: str, read: FileRead, limit: int) -> Iterator[Document]:
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
    kind = parquet.schema_arrow.field(text_field).type
    if not _is_text_type(kind):  # one type for the whole column: every record would be skipped
        raise WorkbenchError(
            f"{path}: column '{text_field}' holds {kind} values, not strings ({parquet.metadata.num_rows:,} rows).",
            "write the text column as strings, or name the string column with {field}.",
            field="text_field",
        )
    wanted = [text_field] + (["id"] if "id" in columns and text_field != "id" else [])
    stem = _stem(path)
    parts = _Parts(limit)
    index = 0
    for batch in parquet.iter_batches(batch_size=1024, columns=wanted):
        texts = batch.column(text_field).to_pylist()
        ids = batch.column("id").to_pylist() if "id" in wanted else [None] * len(texts)
        for text, doc_id in zip(texts, ids):
            if _missing(text):
                read.missing_text += 1
            else:
                yield from _record_parts(read, parts, str(doc_id if doc_id is not None else f"{stem}-{index}"), text,
                                         str(path), 0, index + 1)
            index += 1
    if not read.documents:
        read.empty_reason = f"has no text in any of its {read.missing_text:,} rows" if read.missing_text else "has no rows"


def _read_pdf(path: Path, text_unit: str, read: FileRead, limit: int) -> Iterator[Document]:
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
    yield from _text_documents(path, lambda: _text_lines(text), text_unit, read, limit, whole_id=True)
    if not read.documents:
        read.empty_reason = "has no text layer (a scanned PDF?)"
