"""The guided notebooks shipped with the package, and the copy a user works in.

The ``.ipynb`` files in this folder are package data: an installed workbench carries them, and
:func:`copy_notebooks` puts them in a folder of the user's choice (``workbench notebooks DIR``), where
they are edited and run. A copy the user changed is never overwritten: it is reported as kept, and a
fresh copy can be written beside it as ``NAME.new.ipynb``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["NOTEBOOKS_DIR", "NotebookCopy", "shipped_notebooks", "copy_notebooks", "COPIED", "UNCHANGED", "KEPT", "FRESH"]

NOTEBOOKS_DIR = Path(__file__).resolve().parent

COPIED, UNCHANGED, KEPT, FRESH = "copied", "unchanged", "kept", "fresh copy"


@dataclass(frozen=True)
class NotebookCopy:
    """What :func:`copy_notebooks` did with one shipped notebook."""

    name: str
    """The shipped notebook's file name."""
    path: Path
    """The file written, or the existing copy that was left alone."""
    action: str
    """``copied`` (new file), ``unchanged`` (the copy equals the shipped one), ``kept`` (the copy differs
    from the shipped one and was left alone) or ``fresh copy`` (the shipped one written beside the kept
    copy as ``NAME.new.ipynb``)."""

    def line(self) -> str:
        """One line for a person: the action and the file."""
        if self.action == KEPT:
            return f"kept       {self.path} (it differs from the shipped notebook; left as it is)"
        return f"{self.action:<10} {self.path}"


def shipped_notebooks() -> list[Path]:
    """The guided notebooks in the order they are run (``01_...`` to ``04_...``)."""
    return sorted(NOTEBOOKS_DIR.glob("0*.ipynb"))


def copy_notebooks(dest: str | Path, fresh_copies: bool = False) -> list[NotebookCopy]:
    """Copy the shipped notebooks into ``dest`` (created if missing), never overwriting an edited copy.

    Args:
        dest: the folder to copy into.
        fresh_copies: where a copy in ``dest`` differs from the shipped notebook, write the shipped
            one beside it as ``NAME.new.ipynb`` (replacing an earlier ``.new`` file) instead of only
            reporting it.

    Returns:
        One :class:`NotebookCopy` per shipped notebook, in order.
    """
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise WorkbenchError(f"{dest} is a file, not a folder to copy the notebooks into",
                             "name a folder (new or existing) for the notebooks")
    dest.mkdir(parents=True, exist_ok=True)
    done = []
    for source in shipped_notebooks():
        target = dest / source.name
        if not target.exists():
            shutil.copyfile(source, target)
            done.append(NotebookCopy(source.name, target, COPIED))
        elif target.read_bytes() == source.read_bytes():
            done.append(NotebookCopy(source.name, target, UNCHANGED))
        elif fresh_copies:
            fresh = target.with_suffix(".new.ipynb")
            shutil.copyfile(source, fresh)
            done.append(NotebookCopy(source.name, fresh, FRESH))
        else:
            done.append(NotebookCopy(source.name, target, KEPT))
    return done
