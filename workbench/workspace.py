"""The workspace: one folder holding every artifact, readable without workbench.

Layout (see README, "Workspace layout")::

    workspace/
      corpora/<name>/       profile.json, report.html
      snapshots/<name>/     manifest.json, train.jsonl, eval.jsonl
      runs/<name>/          run.json, status.json, metrics.jsonl, adapter/, checkpoints/step-N/
      comparisons/<name>/   comparison.json, report.html
      monitors/<name>/      monitor.json, report.html (an adapted run scored on a new batch)
      quickstart/           summary.json and the quickstart's run and evaluation

Long jobs keep ``status.json`` current (:mod:`workbench.status`) and append to ``metrics.jsonl``, so
a notebook or the app can follow a job started anywhere. Every folder carries the manifest fields
of :mod:`workbench.artifacts`; :class:`Artifact` and the typed listings read them.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from workbench.artifacts import STAGE_FILES, read_manifest
from workbench.errors import WorkbenchError
from workbench.io import read_json
from workbench.models.registry import DEFAULT_MODEL
from workbench.runs import checkpoint_folders
from workbench.status import read_status

DEFAULT_WORKSPACE = "workspace"
KINDS = ("corpora", "snapshots", "runs", "comparisons", "monitors")
MAX_NAME = 100
"""The longest artifact name (a folder name every file system takes, with room for ``.tmp-`` prefixes)."""
_SINGULAR = {"corpora": "corpus", "snapshots": "snapshot", "runs": "run", "comparisons": "comparison",
             "quickstart": "quickstart", "monitors": "monitor"}


@dataclass(frozen=True)
class Workspace:
    """Paths of a workspace folder. Cheap to build; creates folders only when asked."""

    root: Path

    def __post_init__(self) -> None:
        # Workspace("path") and Workspace(Path) both work: the root is always an absolute Path
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @classmethod
    def at(cls, root: str | os.PathLike | None = None) -> Workspace:
        return cls(Path(root or os.environ.get("WORKBENCH_WORKSPACE", DEFAULT_WORKSPACE)).resolve())

    def folder(self, kind: str, name: str | None = None) -> Path:
        """``<root>/<kind>`` or, with ``name``, the artifact's folder; a name outside the name rule
        (``a/b``, ``../x``, ``my run``, over :data:`MAX_NAME`) is refused (:func:`check_name`), except
        the name of a folder that is already there (one made by an earlier release), which is read."""
        if kind not in KINDS and kind != "quickstart":
            raise ValueError(f"unknown artifact kind {kind!r}")
        path = self.root / kind
        if not name:
            return path
        if _plain_component(name) and (path / name).is_dir():
            return path / name
        return path / check_name(kind, name)

    def list(self, kind: str) -> list[Path]:
        """Artifact folders of one kind, newest first (temporary ``.tmp-*`` folders are skipped)."""
        base = self.folder(kind)
        if not base.is_dir():
            return []
        items = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(items, key=lambda p: p.stat().st_mtime, reverse=True)

    # -- typed listings ----------------------------------------------------------------
    def corpora(self) -> list[CorpusSummary]:
        """Corpus profiles, newest first."""
        return [_summary_or_mark(p, "corpus") for p in self.list("corpora")]

    def snapshots(self) -> list[SnapshotSummary]:
        """Curated snapshots, newest first."""
        return [_summary_or_mark(p, "snapshot") for p in self.list("snapshots")]

    def runs(self) -> list[RunSummary]:
        """Training runs (running, stopped, failed or finished), newest first."""
        return [_summary_or_mark(p, "run") for p in self.list("runs")]

    def comparisons(self) -> list[ComparisonSummary]:
        """Comparisons and single-model evaluations, newest first."""
        return [_summary_or_mark(p) for p in self.list("comparisons")]

    def monitors(self) -> list[MonitorSummary]:
        """Monitors (an adapted run scored on a new batch of domain text), newest first."""
        return [_summary_or_mark(p, "monitor") for p in self.list("monitors")]

    # -- handles ---------------------------------------------------------------------------
    def corpus(self, name: str) -> Artifact:
        return self._handle("corpora", name)

    def snapshot(self, name: str) -> Artifact:
        return self._handle("snapshots", name)

    def run(self, name: str) -> Artifact:
        return self._handle("runs", name)

    def comparison(self, name: str) -> Artifact:
        return self._handle("comparisons", name)

    def _handle(self, kind: str, name: str) -> Artifact:
        try:
            folder = self.folder(kind, name) if name else None
        except WorkbenchError:  # no artifact can have a name outside the rule
            folder = None
        if folder is None or not folder.is_dir():
            names = [p.name for p in self.list(kind)]
            singular = _SINGULAR[kind]
            raise WorkbenchError(
                f"no {singular} named '{name}' in {self.root / kind}.",
                f"use one of: {', '.join(sorted(names))}." if names else f"there is no {singular} yet in {self.root}.",
            )
        return Artifact(folder)

    # -- naming (every surface names artifacts the same way) --------------------------------
    def folder_for(self, kind: str, config: Any) -> Path:
        """The folder a workflow writes for ``config`` (``config.out`` when set): corpora and snapshots
        are named after the first input, runs after ``config.name`` (else model and time), comparisons
        ``compare-RUN`` / ``eval-MODEL-DATA`` (numbered when taken)."""
        out = getattr(config, "out", None)
        if out:
            return Path(out)
        if kind in ("corpora", "snapshots"):
            return self.folder(kind, name_from_paths(getattr(config, "paths", None) or []))
        if kind == "runs":
            if getattr(config, "name", None):  # the user's own name: refused, not changed, when it is no slug
                return self.folder("runs", check_name("runs", config.name, field="name"))
            stamp = time.strftime("%Y%m%d-%H%M%S")
            return self.folder("runs", f"{slugify(Path(str(config.model)).name)[:MAX_NAME - len(stamp) - 1]}-{stamp}")
        if kind == "comparisons":
            if getattr(config, "data", None):  # a single-model evaluation
                prefix = f"eval-{Path(str(config.model or DEFAULT_MODEL)).name}-{Path(config.data).stem}"
            else:
                prefix = f"compare-{Path(str(config.adapter)).resolve().name}"
            return self.folder("comparisons", self.new_name("comparisons", prefix))
        if kind == "monitors":  # an adapted run on a new batch: monitor-RUN-BATCH
            prefix = f"monitor-{Path(str(config.adapter)).resolve().name}-{Path(str(config.data)).stem}"
            return self.folder("monitors", self.new_name("monitors", prefix))
        raise ValueError(f"unknown artifact kind {kind!r}")

    def new_name(self, kind: str, prefix: str) -> str:
        """A fresh, readable artifact name: ``prefix``, then ``prefix-2``, ``prefix-3``..."""
        prefix = slugify(prefix)[:MAX_NAME - 4].rstrip("-.")  # room for a number
        base = self.folder(kind)
        if not (base / prefix).exists():
            return prefix
        n = 2
        while (base / f"{prefix}-{n}").exists():
            n += 1
        return f"{prefix}-{n}"


def name_from_paths(paths: list) -> str:
    """An artifact name from its first input: ``corpus/law.jsonl.gz`` -> ``law``."""
    if not paths:
        return "corpus"
    first = Path(str(paths[0]))
    return slugify(first.name.split(".")[0] or "corpus")[:MAX_NAME].rstrip("-.") or "corpus"


def slugify(text: str) -> str:
    """The name rule's form of ``text``: letters, digits, ``.``, ``_`` and ``-`` (runs of anything else
    become one ``-``), no leading or trailing ``.`` or ``-``; ``artifact`` when nothing is left."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return slug or "artifact"


def _plain_component(name: str) -> bool:
    """One folder name that stays where it is put: no separator, not ``.``/``..``, not hidden, no NUL."""
    text = str(name)
    return (bool(text) and len(text) <= 255 and not text.startswith(".") and "\x00" not in text
            and "/" not in text and "\\" not in text)


def check_name(kind: str, name: str, field: str | None = None) -> str:
    """``name`` when it is a valid artifact name for ``kind`` (runs, snapshots...), else a
    :class:`WorkbenchError` offering the slug: the one name rule of every face and artifact kind.

    A valid name is its own :func:`slugify` (so no ``/``, no ``..``, no leading dot, nothing a shell or
    a URL would mangle) and at most :data:`MAX_NAME` characters long.

    Args:
        field: the config field the name came from (``name``), so each face words the setting.
    """
    what = "{field}" if field else f"the {_SINGULAR.get(kind, 'artifact')} name"
    text = str(name)
    slug = slugify(text)[:MAX_NAME].rstrip("-.") or "artifact"
    shown = text if len(text) <= 60 else f"{text[:40]}...{text[-12:]}"
    if len(text) > MAX_NAME:
        raise WorkbenchError(f"{what} {shown!r} is {len(text)} characters long, over {MAX_NAME}.",
                             f"use a shorter name, e.g. '{slug}'.", field=field)
    if slug != text:
        raise WorkbenchError(
            f"{what} {shown!r} is not a plain folder name for a {_SINGULAR.get(kind, 'artifact')} in the workspace.",
            f"use '{slug}' (letters, digits, '.', '_' and '-'; no '/', no leading '.').", field=field)
    return text


# ------------------------------------------------------------------------------------------
# typed summaries and handles


@dataclass
class ArtifactSummary:
    """One line of a workspace listing: what it is, its state, when it was made."""

    name: str
    kind: str
    state: str
    created: str | None
    folder: Path
    complete: bool
    error: str | None = None


@dataclass
class CorpusSummary(ArtifactSummary):
    documents: int | None = None
    tokens: int | None = None
    readiness: str | None = None


@dataclass
class SnapshotSummary(ArtifactSummary):
    train_documents: int | None = None
    eval_documents: int | None = None
    train_words: int | None = None
    eval_words: int | None = None
    train_tokens: int | None = None
    """Tokens need a tokenizer: counted when the snapshot was built with one (``CurateConfig.model``),
    else None and the sizes are in words (:attr:`size_unit`)."""
    eval_tokens: int | None = None
    tokenizer: str | None = None
    """The model whose tokenizer counted the tokens (None: no tokens were counted)."""

    @property
    def size_unit(self) -> str:
        """'tokens' when the snapshot was counted in a tokenizer, else 'words'."""
        return "tokens" if self.train_tokens is not None else "words"

    def size_text(self) -> str:
        """The sizes of train and eval in the best unit known, saying which: ``train 9,120 / eval 1,044
        tokens (smollm2-135m)``, or ``... words`` for a snapshot curated without a tokenizer."""
        if self.train_tokens is not None:
            return (f"train {self.train_tokens:,} / eval {self.eval_tokens or 0:,} tokens"
                    + (f" ({self.tokenizer})" if self.tokenizer else ""))
        if self.train_words is None:
            return "size unknown"
        return f"train {self.train_words:,} / eval {self.eval_words or 0:,} words"


@dataclass
class RunSummary(ArtifactSummary):
    step: int | None = None
    total_steps: int | None = None
    tokens_seen: int | None = None
    tokens_per_s: float | None = None
    eta_s: float | None = None
    best_domain_ppl: float | None = None
    general_ppl_change_pct: float | None = None


@dataclass
class ComparisonSummary(ArtifactSummary):
    domain_ppl_change_pct: float | None = None
    domain_ppl_change_ci95: list[float] | None = None
    general_ppl_change_pct: float | None = None
    general_ppl_change_ci95: list[float] | None = None
    token_ppl: float | None = None
    """Single-model evaluations (kind ``evaluation``): the model's perplexity."""
    token_ppl_ci95: list[float] | None = None


@dataclass
class MonitorSummary(ArtifactSummary):
    moved: bool | None = None
    """Whether the new batch is worse than the run's held-out split by more than the intervals."""
    sentence: str | None = None
    batch_bits_per_byte: float | None = None
    held_out_bits_per_byte: float | None = None
    unseen_term_rate: float | None = None


_SUMMARY_TYPES = {"corpus": CorpusSummary, "snapshot": SnapshotSummary, "run": RunSummary,
                  "comparison": ComparisonSummary, "evaluation": ComparisonSummary, "monitor": MonitorSummary}


def summarize(folder: str | os.PathLike, kind: str | None = None) -> ArtifactSummary:
    """The typed summary of one artifact folder (any kind, any release)."""
    m = read_manifest(folder, kind)
    cls = _SUMMARY_TYPES.get(m.kind, ArtifactSummary)
    names = {f.name for f in fields(cls)}
    extra = {k: v for k, v in m.headline.items() if k in names}
    return cls(name=m.name, kind=m.kind, state=m.state, created=m.created, folder=m.folder,
               complete=m.complete, error=m.error, **extra)


def _summary_or_mark(folder: Path, kind: str | None = None) -> ArtifactSummary:
    """:func:`summarize`, or, for a folder whose files cannot be read at all, a summary marking it
    ``failed`` with the reason: one broken artifact never hides the others of a listing."""
    try:
        return summarize(folder, kind)
    except Exception as exc:  # noqa: BLE001 - any unreadable file of one folder; the listing goes on
        return _SUMMARY_TYPES.get(kind or "", ArtifactSummary)(
            name=folder.name, kind=kind or "unknown", state="failed", created=None, folder=folder, complete=False,
            error=f"{folder} is unreadable ({type(exc).__name__}: {exc}); remove or restore its files")


class Artifact:
    """A handle on one artifact folder: its card, live status, new metrics, checkpoints and record.

    Its figures are drawn by the stages' builders: :func:`workbench.figures.figures_of`."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.skipped_metrics: list[str] = []
        """Lines of ``metrics.jsonl`` read so far that were no JSON object (left out of the rows)."""

    def __repr__(self) -> str:
        return f"Artifact({str(self.folder)!r})"

    @property
    def name(self) -> str:
        return self.folder.name

    def manifest(self):
        """Every manifest field (:class:`workbench.artifacts.Manifest`)."""
        return read_manifest(self.folder)

    def summary(self) -> ArtifactSummary:
        return summarize(self.folder)

    def card(self) -> dict:
        """What made it: config, seed, versions, commit, hardware, input hashes."""
        return self.manifest().card

    def status(self) -> dict:
        """The live status (``read_status``); without a readable ``status.json`` the folder's own files
        decide (:func:`workbench.artifacts.read_manifest`): a complete artifact reads finished, a broken or
        unfinished one failed, with the reason as its ``error``."""
        status = read_status(self.folder)
        if status is not None and not status.get("unreadable"):
            return status
        m = self.manifest()
        return {**(status or {}), "state": m.state, "error": m.error}

    def metrics(self, since: int = 0) -> tuple[list[dict], int]:
        """New rows of ``metrics.jsonl`` after byte offset ``since`` and the offset to pass next time.

        Only complete lines are returned: a line being written is left for the next call. A line that
        is no JSON object is left out and kept (its first 80 characters) in :attr:`skipped_metrics`. When the
        file was rewritten since ``since`` (a resumed run trims it to its checkpoint), the answer is
        ``([], 0)``: drop the rows you hold and read again from 0.
        """
        path = self.folder / "metrics.jsonl"
        if not path.exists():
            return [], since
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if since:  # every offset handed out ends a line; anything else means the file was rewritten
                handle.seek(min(since, size) - 1)
                if since > size or handle.read(1) != b"\n":
                    return [], 0
            handle.seek(since)
            chunk = handle.read(size - since)
        end = chunk.rfind(b"\n") + 1
        rows = []
        for line in chunk[:end].decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            else:  # a foreign or torn line: the rows around it still count
                self.skipped_metrics.append(line[:80])
        return rows, since + end

    def checkpoints(self) -> list[dict]:
        """Checkpoints of a run by step: ``{step, folder, adapter, resumable}``."""
        return [{"step": step, "folder": path, "adapter": (path / "adapter_config.json").exists(),
                 "resumable": (path / "trainer_state.json").exists()} for step, path in checkpoint_folders(self.folder)]

    def record(self) -> dict:
        """The stage's own record as a dict (``profile.json``, a snapshot's ``manifest.json``, ``run.json``,
        ``comparison.json``...); ``{}`` while it is not written (a job still running, a failed build)."""
        name = STAGE_FILES.get(self.manifest().kind)
        path = self.folder / name if name else None
        if path is None or not path.exists():
            return {}
        try:
            data = read_json(path)
        except Exception:  # noqa: BLE001 - torn or foreign: no record, as while it is not written
            return {}
        return data if isinstance(data, dict) else {}

    def rows(self, name: str) -> list[dict]:
        """The rows of one of its JSONL files (a comparison's ``documents.jsonl``...); ``[]`` when it has none."""
        from workbench.io import read_jsonl

        path = self.folder / name
        return read_jsonl(path) if path.is_file() else []
