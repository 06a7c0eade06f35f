"""Small file helpers shared by every stage: hashing, JSON(L), atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def finite_json(value: Any) -> Any:
    """NaN and infinities become null (recursively through dicts and lists) so the JSON stays standard."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def dumps(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(obj, indent=indent, ensure_ascii=False, default=_json_default, sort_keys=False)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text to ``path`` via a temporary file and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write_text(path, dumps(obj) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise WorkbenchError(f"{path} does not exist.", "check the path or create it first.") from None
    except json.JSONDecodeError as exc:
        raise WorkbenchError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            "repair or delete the file.",
        ) from None


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON record and flush, so a live reader (app, notebook) sees it at once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(dumps(record, indent=None) + "\n")
        handle.flush()


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{path} does not exist.", "check the path.")
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if line:
                yield parse_jsonl_line(path, number, line)


def read_appended_jsonl(path: str | os.PathLike) -> list[dict]:
    """The records of a file that is written by appending (a run's live metrics): a last line cut
    short by a crash or a full disk (no newline, not valid JSON) is left out; any other bad line
    is an error naming it."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    records = [parse_jsonl_line(path, number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    if tail.strip():
        try:
            records.append(parse_jsonl_line(path, len(lines) + 1, tail.strip()))
        except WorkbenchError:
            pass  # the write that was cut short; the resume redoes that step
    return records


def parse_jsonl_line(path: str | os.PathLike, number: int, line: str) -> dict:
    """One JSON Lines record; a clear error naming the file and line when it is not an object."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise WorkbenchError(
            f"{path}, line {number}: not valid JSON ({exc.msg}).",
            "fix or remove that line; each line must be one JSON object.",
        ) from None
    if not isinstance(record, dict):
        raise WorkbenchError(
            f"{path}, line {number}: expected a JSON object, got {type(record).__name__}.",
            'write one object per line, e.g. {"id": ..., "text": ...}.',
        )
    return record


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> Path:
    """Atomically write records as JSON Lines (deterministic key order as given)."""
    lines = [dumps(record, indent=None) for record in records]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


# files a background job keeps in its artifact folder from the first second (workbench.jobs);
# a folder holding only these is not an artifact yet, and they survive its atomic rename
JOB_FILES = ("status.json", "job.json", "log.txt")


def artifact_entries(folder: str | os.PathLike) -> list[Path]:
    """What a folder holds besides a job's own files (empty: nothing would be overwritten)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [folder] if folder.exists() else []
    # hidden files (a run's .lock, a status file being replaced) are bookkeeping, not artifact content
    return [p for p in folder.iterdir() if p.name not in JOB_FILES and not p.name.startswith(".")]


# files by which workbench knows a folder it made (its manifest, a stage file, a run's status, an export card);
# a folder without one is the user's, and overwriting never replaces it
ARTIFACT_MARKERS = (
    "artifact.json", "profile.json", "manifest.json", "run.json", "status.json", "comparison.json",
    "evaluation.json", "summary.json", "workbench_export.json",
)


def is_artifact(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` was made by workbench: it holds one of its manifests (a JSON object with
    ``kind``, ``card``, ``state`` or ``complete``), not just a file of the same name."""
    folder = Path(folder)
    for name in ARTIFACT_MARKERS:
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and {"kind", "card", "state", "complete"} & data.keys():
                return True
    return False


def _writable(folder: Path) -> str | None:
    """None if a file can be created in the existing ``folder``, else why not."""
    try:
        probe = tempfile.mkdtemp(prefix=".write-check-", dir=folder)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.rmdir(probe)
    return None


def check_output_folder(
    folder: str | os.PathLike, overwrite: bool = False, option: str = "out", exists_fix: str | None = None,
) -> Path:
    """Check an artifact's output folder before any work (loading models, reading corpora).

    An empty or missing folder is fine. An existing one needs ``overwrite``, and then it must be a
    workbench artifact: a folder of the user's own files is never replaced. The folder (or its
    nearest existing parent) must be writable.

    Args:
        folder: where the artifact goes.
        overwrite: the user asked to replace an existing artifact there.
        option: the setting that named the folder (``out``, ``workspace``): the field of the error.
        exists_fix: the fix to print when the folder exists without ``overwrite``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise WorkbenchError(f"{{field}} {folder} is a file, not a folder.", "give {field} a new folder.", field=option)
    if artifact_entries(folder):  # a background job's own files alone (status, job, log) are nothing to replace
        if not overwrite:
            raise WorkbenchError(f"{folder} already exists.",
                                 exists_fix or "choose another output folder, or pass {field} to replace it.",
                                 field="overwrite")
        if not is_artifact(folder):
            raise WorkbenchError(
                f"{folder} holds files workbench did not make (no artifact.json, run card or status), "
                "and overwriting replaces only workbench's own folders.",
                "give {field} a new or empty folder (your files there are untouched).",
                field=option,
            )
    existing = folder if folder.is_dir() else next((p for p in folder.parents if p.exists()), Path("."))
    targets = [existing] + ([folder.parent] if existing == folder and folder.parent.exists() else [])
    for target in targets:
        why = _writable(target) if target.is_dir() else "not a folder"
        if why:
            raise WorkbenchError(
                f"cannot write to {target} ({why}), needed for {{field}} {folder}.",
                "give {field} a folder you can write to, or change that folder's permissions.",
                field=option,
            )
    return folder


def _aside_name(final: Path, label: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = final.with_name(f"{final.name}.{label}-{stamp}")
    n = 2
    while candidate.exists():
        candidate = final.with_name(f"{final.name}.{label}-{stamp}-{n}")
        n += 1
    return candidate


@contextlib.contextmanager
def atomic_directory(final: str | os.PathLike, overwrite: bool = False, option: str = "out") -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place when the block succeeds.

    A crash leaves only a ``.tmp-*`` folder, never a half artifact under the final name. With
    ``overwrite``, an earlier workbench artifact at ``final`` is replaced only once the new one is
    complete (it is never a folder of the user's files: see :func:`check_output_folder`).
    """
    final = Path(final)
    check_output_folder(final, overwrite, option)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        for name in JOB_FILES:  # a log open for writing keeps its descriptor across the rename
            if (final / name).exists() and not (tmp / name).exists():
                os.replace(final / name, tmp / name)
        old = final.with_name(f".old-{final.name}-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def set_aside(folder: str | os.PathLike) -> Path | None:
    """Move an earlier artifact at ``folder`` to ``FOLDER.replaced-STAMP`` beside it, for a job that
    writes its artifact in place (a training run, followed live). Returns where it went, or None.

    The job calls :func:`discard_replaced` once its new artifact is complete; until then (a crash,
    a stop, a failure) the earlier artifact stays there, whole.
    """
    folder = Path(folder)
    entries = artifact_entries(folder)
    if not folder.is_dir() or not entries:
        return None
    aside = _aside_name(folder, "replaced")
    if (folder / "job.json").exists():  # a background job's own files stay where it follows them
        aside.mkdir()
        for entry in entries:
            os.replace(entry, aside / entry.name)
    else:
        os.replace(folder, aside)
    return aside


def discard_replaced(aside: Path | None) -> None:
    """Delete the earlier artifact :func:`set_aside` kept, now that its replacement is complete."""
    if aside is not None and is_artifact(aside):
        shutil.rmtree(aside, ignore_errors=True)


def read_glossary(path: str | os.PathLike) -> list[str]:
    """Terms of a glossary CSV: the ``term`` column (else the first column), blanks skipped.

    One reader for every stage: ``inspect --glossary`` (tokenizer fit), ``train`` (new tokens)
    and ``compare`` (glossary terms first among the per-token changes).
    """
    import csv

    path = check_regular_file(path, "glossary")  # a named pipe would block the read for ever
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise WorkbenchError(f"glossary {path} is empty.", "write a CSV with a header row naming a 'term' column.")
        column = "term" if "term" in reader.fieldnames else reader.fieldnames[0]
        return [row[column].strip() for row in reader if (row.get(column) or "").strip()]


def not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is (reading a FIFO blocks until a writer comes), else None."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def check_regular_file(path: str | os.PathLike, what: str = "corpus file") -> Path:
    """``path`` if it is a regular file (or a link to one), else a one-line user error, before anything is read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise WorkbenchError(f"{what} {path} does not exist.", "check the path.") from None
    except PermissionError:
        raise WorkbenchError(f"{what} {path} cannot be read (permission denied).",
                             "give yourself read access (chmod u+r) or pass another path.") from None
    kind = not_regular(mode)
    if stat.S_ISDIR(mode):
        raise WorkbenchError(f"{what} {path} is a folder, not a regular file (a file was expected here).",
                             "pass a file in it, or pass the folder where folders are read.")
    if kind is not None:  # reading a pipe waits for a writer, a device may never end: refused before opening
        raise WorkbenchError(f"{what} {path} is {kind}, not a regular file.",
                             "save its content to a regular file (e.g. with cat) and pass that file.")
    return path
