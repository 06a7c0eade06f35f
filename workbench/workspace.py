"""The workspace: one folder holding every artifact, readable without workbench.

Layout (see README, "Workspace layout")::

    workspace/
      corpora/<name>/       profile.json, report.html
      snapshots/<name>/     manifest.json, train.jsonl, eval.jsonl
      runs/<name>/          run.json, status.json, metrics.jsonl, adapter/, checkpoints/step-N/
      comparisons/<name>/   comparison.json, report.html
      quickstart/           summary.json and the quickstart's run and evaluation

Long jobs keep ``status.json`` current and append to ``metrics.jsonl`` so a notebook or the
app can follow a job started anywhere.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.io import read_json, write_json
from workbench.runcard import now_iso

DEFAULT_WORKSPACE = "workspace"
KINDS = ("corpora", "snapshots", "runs", "comparisons")

State = Literal["running", "finished", "failed", "stopped"]


@dataclass(frozen=True)
class Workspace:
    """Paths of a workspace folder. Cheap to build; creates folders only when asked."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike | None = None) -> Workspace:
        return cls(Path(root or os.environ.get("WORKBENCH_WORKSPACE", DEFAULT_WORKSPACE)).resolve())

    def folder(self, kind: str, name: str | None = None) -> Path:
        if kind not in KINDS and kind != "quickstart":
            raise ValueError(f"unknown artifact kind {kind!r}")
        path = self.root / kind
        return path / name if name else path

    def list(self, kind: str) -> list[Path]:
        """Artifact folders of one kind, newest first (temporary ``.tmp-*`` folders are skipped)."""
        base = self.folder(kind)
        if not base.is_dir():
            return []
        items = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(items, key=lambda p: p.stat().st_mtime, reverse=True)

    def new_name(self, kind: str, prefix: str) -> str:
        """A fresh, readable artifact name: ``prefix``, then ``prefix-2``, ``prefix-3``..."""
        prefix = slugify(prefix)
        base = self.folder(kind)
        if not (base / prefix).exists():
            return prefix
        n = 2
        while (base / f"{prefix}-{n}").exists():
            n += 1
        return f"{prefix}-{n}"


def slugify(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return slug or "artifact"


def write_status(folder: str | os.PathLike, state: State, **info: Any) -> None:
    """Keep ``status.json`` current: state, time, and whatever progress fields the job has."""
    folder = Path(folder)
    path = folder / "status.json"
    previous = read_status(folder) or {}
    status = {**previous, **info, "state": state, "updated": now_iso(), "pid": os.getpid()}
    status.setdefault("started", now_iso())
    write_json(path, status)


def read_status(folder: str | os.PathLike) -> dict | None:
    path = Path(folder) / "status.json"
    return read_json(path) if path.exists() else None


def mark_failed(folder: str | os.PathLike, error: BaseException) -> None:
    write_status(
        folder,
        "failed",
        error=str(error) or type(error).__name__,
        error_type=type(error).__name__,
        traceback=traceback.format_exc(limit=8),
    )
