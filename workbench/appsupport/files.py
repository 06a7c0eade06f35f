"""Which files a browser may read or write: the file roots, the pickers, typed paths and uploads.

- uploads are written only under ``<workspace>/uploads`` with a sanitised name, capped in size and
  restricted to the corpus formats the readers know;
- file pickers list only the workspace and the configured data folders;
- a typed path never escapes those roots (``../``, absolute paths elsewhere, symlinks pointing out).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.io import sha256_file

if TYPE_CHECKING:
    from workbench.appsupport.server import AppSettings

__all__ = ["UPLOADS", "sample_data_dir", "is_within", "resolve_inside", "list_files", "corpus_suffixes",
           "sanitize_filename", "save_upload"]

UPLOADS = "uploads"
MAX_NAME = 120


def sample_data_dir() -> Path:
    """The bundled sample data (wherever the package keeps it)."""
    from workbench.samples import SAMPLE_DATA

    return SAMPLE_DATA.resolve()


def is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def resolve_inside(raw: str | os.PathLike, roots: list[Path], what: str = "path", field: str | None = None) -> Path:
    """Resolve a path a user typed or picked, refusing anything outside ``roots``.

    A relative path is taken relative to the first root (the workspace). ``..`` components are
    refused outright; the resolved path (symlinks followed) must lie under one of the roots, so a
    symlink inside the workspace that points elsewhere is refused as well.

    Args:
        what: how the message names the path.
        field: the config field the path sets (``replay``); the message then names it as each face
            does (``{field}``), instead of ``what``.
    """
    if field:
        what = "{field}"
    text = str(raw).strip()
    if not text:
        raise WorkbenchError(f"the {what} is empty.", "pick a file or folder from the list.", field=field)
    if "\x00" in text:
        raise WorkbenchError(f"the {what} contains a NUL byte.", "pick a file or folder from the list.", field=field)
    candidate = Path(text).expanduser()
    if ".." in candidate.parts:
        raise WorkbenchError(
            f"the {what} '{text}' goes up with '..'.", "pick a file under the workspace or a configured data folder.",
            field=field,
        )
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = candidate.resolve()
    if not any(is_within(resolved, root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise WorkbenchError(
            f"the {what} '{text}' is outside the folders this app may read ({allowed}).",
            "copy the file into the workspace, upload it, or start 'workbench app --data-dir FOLDER'.",
            field=field,
        )
    return resolved


ARTIFACT_MARKERS = ("artifact.json", "job.json", "status.json")
"""Files that make a folder a workbench artifact or job (a profile, snapshot, run or comparison)."""
SNAPSHOT_SPLITS = ("train.jsonl", "eval.jsonl")
"""The one thing of an artifact a picker shows: a snapshot's documents (text to train or compare on)."""


def _picker_files(folder: str, dirs: list[str], files: list[str]) -> list[str]:
    """The files of ``folder`` a picker shows: in an artifact's folder (a job's ``job.json``,
    ``status.json``, ``log.txt``, metrics, checkpoints) only a snapshot's split files, and nothing
    below it."""
    if not any(marker in files for marker in ARTIFACT_MARKERS):
        return files
    dirs[:] = []  # adapter/, checkpoints/, figures/: never corpus files
    return [name for name in files if name in SNAPSHOT_SPLITS and Path(folder).parent.name == "snapshots"]


def list_files(roots: list[Path], suffixes: tuple[str, ...] | None = None, limit: int = 2000) -> list[Path]:
    """Files under ``roots`` a picker may show: hidden and temporary entries skipped, symlinks
    that lead out of the roots skipped, the workspace's own bookkeeping skipped (an artifact's
    ``job.json``, ``status.json``, ``log.txt``...: only a snapshot's ``train.jsonl``/``eval.jsonl``
    are listed of an artifact), at most ``limit`` files, sorted by path."""
    found: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(_picker_files(folder, dirs, files)):
                if name.startswith("."):
                    continue
                path = Path(folder) / name
                if suffixes and not _has_suffix(name, suffixes):
                    continue
                real = path.resolve()
                if not any(is_within(real, r) for r in roots):
                    continue
                found.append(path)
                if len(found) >= limit:
                    return found
    return found


def _has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    return any(lowered.endswith(s) for s in suffixes)


def corpus_suffixes() -> tuple[str, ...]:
    from workbench.documents.readers import KNOWN_SUFFIXES

    return tuple(KNOWN_SUFFIXES)


# --- uploads ----------------------------------------------------------------------------------


def sanitize_filename(name: str) -> str:
    """A safe file name from whatever a browser sent: the last path component only (``/`` and
    ``\\`` both count), letters, digits, ``.``, ``_`` and ``-`` kept, no leading dots."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in str(name)):  # NUL, newline...: no file system name
        raise WorkbenchError(f"the file name {str(name)!r} holds control characters (a NUL byte, a line break).",
                             "rename the file to plain characters, e.g. corpus.jsonl, and upload it again.")
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._ ")
    base = re.sub(r"\.{2,}", ".", base)
    base = re.sub(r"_+(?=\.)", "", base)
    if len(base) > MAX_NAME:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: MAX_NAME - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 12 else base[:MAX_NAME]
    if not base or base.startswith("."):
        raise WorkbenchError(f"the file name '{name}' has no usable characters.", "rename the file, e.g. corpus.jsonl.")
    return base


def save_upload(
    settings: AppSettings,
    filename: str,
    data: bytes,
    suffixes: tuple[str, ...] | None = None,
) -> Path:
    """Write an uploaded file to ``<workspace>/uploads/<sanitised name>`` and return its path.

    Refuses an empty file, a format the corpus readers do not read (``suffixes``, default all they
    know) and a file over ``settings.max_upload_mb``. The same content uploaded twice is stored once;
    a different file with the same name gets ``-2``, ``-3``... so nothing is overwritten.
    """
    suffixes = suffixes or corpus_suffixes()
    safe = sanitize_filename(filename)
    if not _has_suffix(safe, suffixes):
        raise WorkbenchError(
            f"the upload '{safe}' is not a file type this workbench reads.",
            f"upload one of: {', '.join(suffixes)} (optionally .gz).",
        )
    if not data:
        raise WorkbenchError(f"the upload '{safe}' is empty.", "upload a file with documents in it.")
    limit = settings.max_upload_mb * 1024 * 1024
    if len(data) > limit:
        raise WorkbenchError(
            f"the upload '{safe}' is {len(data) / 1e6:.1f} MB, over the {settings.max_upload_mb} MB limit.",
            "split the file, or start 'workbench app --max-upload-mb N' with a larger N.",
        )
    folder = settings.workspace_root / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    target = folder / safe
    stem, suffix = _split_name(safe)
    if folder.is_symlink() or not is_within(folder.resolve(), settings.workspace_root):  # uploads/ a link out
        raise WorkbenchError(f"{folder} is a link or points outside the workspace.", f"remove the link {folder}.")
    # a fresh temporary file of our own (O_CREAT | O_EXCL, a random name): a link or file planted
    # under any name in uploads/ is never opened, and a half-written upload never has the final name
    handle, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        n = 2
        while True:
            try:
                os.link(tmp, target)  # gives the name only while it is free: nothing is ever replaced
                return target
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: the name, checked just before
                if not os.path.lexists(target):
                    os.replace(tmp, target)
                    return target
            if target.is_symlink():  # never written through, never replaced: someone put it there
                raise WorkbenchError(f"{target} is a symbolic link, and an upload never writes through one.",
                                     f"remove the link {target} (its target is untouched), then upload again.")
            if target.is_file() and sha256_file(target) == digest:  # the same file again: stored once
                return target
            target = folder / f"{stem}-{n}{suffix}"
            n += 1
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _split_name(name: str) -> tuple[str, str]:
    for double in (".jsonl.gz", ".json.gz", ".txt.gz", ".csv.gz", ".tsv.gz", ".md.gz", ".ndjson.gz"):
        if name.lower().endswith(double):
            return name[: -len(double)], name[-len(double):]
    stem, dot, suffix = name.rpartition(".")
    return (stem, dot + suffix) if dot and stem else (name, "")
