"""One artifact layout: the manifest fields every workspace folder carries, one writer, one reader.

Every artifact folder (a corpus profile, a snapshot, a run, a comparison or evaluation, the
quickstart) gets ``artifact.json``::

    {"format": 1, "kind": "run", "state": "finished", "complete": true, "created": "...",
     "card": {"config": ..., "seed": ..., "versions": ..., "commit": ..., "hardware": ...,
              "inputs": {name: {"path", "sha256"}}},
     "headline": {...the numbers a person scans first...}}

written by :func:`write_manifest` only. The stage files of earlier releases (``profile.json``,
``manifest.json`` + ``build.json``, ``run.json``, ``summary.json``, ``evaluation.json`` /
``comparison.json``) are still written with all their keys; :func:`read_manifest` reads a folder
with or without ``artifact.json`` (old folders are understood from those files), and overlays
the live state of ``status.json`` (a vanished process reads as failed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.io import read_json, write_json
from workbench.runcard import make_run_card, now_iso
from workbench.status import ACTIVE_STATES, STATES, read_status

FORMAT = 1
MANIFEST = "artifact.json"

# artifact kind -> workspace sub-folder
KIND_FOLDERS = {
    "corpus": "corpora",
    "snapshot": "snapshots",
    "run": "runs",
    "comparison": "comparisons",
    "evaluation": "comparisons",
    "quickstart": "quickstart",
    "monitor": "monitors",
}
# artifact kind -> the stage file earlier releases wrote (still written, still read)
STAGE_FILES = {
    "corpus": "profile.json",
    "snapshot": "manifest.json",
    "run": "run.json",
    "comparison": "comparison.json",
    "evaluation": "evaluation.json",
    "quickstart": "summary.json",
    "monitor": "monitor.json",
}
CARD_KEYS = ("config", "seed", "versions", "commit", "hardware", "inputs")
CARD_EXTRAS = ("created", "model", "knowledge")  # kept when a stage records them (a run's base model and its weights
# hash; the glossary text a run mixed in and its share)


@dataclass
class Manifest:
    """What made an artifact and whether it is complete (the same fields for every kind)."""

    kind: str
    folder: Path
    state: str
    complete: bool
    created: str | None = None
    card: dict = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    error: str | None = None
    format: int | None = None  # None: read from the files of an earlier release
    broken: bool = False
    """``artifact.json`` is unreadable: the folder is listed, marked failed, never taken as complete."""

    @property
    def name(self) -> str:
        return self.folder.name


def make_card(config: Any = None, seed: int | None = None, inputs: dict | None = None, **extra: Any) -> dict:
    """The card of an artifact: resolved config, seed, package versions, commit, hardware, input hashes."""
    return normalize_card(make_run_card("artifact", config, seed=seed, inputs=inputs, **extra))


def normalize_card(card: dict | None) -> dict:
    """A card in the one layout from any earlier shape (``git_commit`` -> ``commit``; list inputs)."""
    card = dict(card or {})
    card.pop("kind", None)
    if "commit" not in card:
        card["commit"] = card.pop("git_commit", None)
    else:
        card.pop("git_commit", None)
    inputs = card.get("inputs")
    if isinstance(inputs, list):  # profile/snapshot: a list of input files
        card["inputs"] = {str(i.get("path")): {"path": i.get("path"), "sha256": i.get("sha256")} for i in inputs}
    for key in CARD_KEYS:
        card.setdefault(key, None)
    return {k: v for k, v in card.items() if k in CARD_KEYS or k in CARD_EXTRAS}


def write_manifest(
    folder: str | os.PathLike,
    kind: str,
    *,
    card: dict | None = None,
    headline: dict | None = None,
    state: str = "finished",
    complete: bool = True,
    created: str | None = None,
) -> Path:
    """Write ``artifact.json`` into ``folder``: the one writer of the manifest fields for every kind."""
    if kind not in KIND_FOLDERS:
        raise ValueError(f"unknown artifact kind {kind!r}; known: {', '.join(KIND_FOLDERS)}")
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; known: {', '.join(STATES)}")
    card = normalize_card(card)
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "state": state,
        "complete": bool(complete),
        "created": created or card.get("created") or now_iso(),
        "card": card,
        "headline": headline or {},
    }
    return write_json(Path(folder) / MANIFEST, manifest)


def detect_kind(folder: Path) -> str | None:
    """The kind of an artifact folder from its files (``artifact.json`` first, then the stage files)."""
    data = _manifest_data(folder)
    if isinstance(data, dict) and data.get("kind") in KIND_FOLDERS:
        return data["kind"]
    for kind, name in STAGE_FILES.items():
        if (folder / name).exists():
            return kind
    job = folder / "job.json"
    if job.exists():
        try:
            return _JOB_KIND_TO_ARTIFACT.get(read_json(job).get("kind"))
        except Exception:  # noqa: BLE001
            return None
    return None


_JOB_KIND_TO_ARTIFACT = {"inspect": "corpus", "curate": "snapshot", "train": "run", "compare": "comparison",
                         "evaluate": "evaluation", "monitor": "monitor"}


def read_manifest(folder: str | os.PathLike, kind: str | None = None) -> Manifest:
    """The manifest fields of an artifact folder, from ``artifact.json`` or an earlier release's files,
    with the live state of ``status.json`` (a ``running`` job whose process is gone reads as failed)."""
    folder = Path(folder)
    kind = kind or detect_kind(folder)
    record = _stage_record(folder, kind)
    data = _manifest_data(folder)
    manifest = None
    if isinstance(data, dict):
        try:
            manifest = Manifest(
                kind=data.get("kind", kind), folder=folder, state=data.get("state", "finished"),
                complete=bool(data.get("complete")), created=data.get("created"),
                card=normalize_card(data.get("card")), headline=dict(data.get("headline") or {}),
                format=data.get("format"),
            )
        except (TypeError, ValueError, AttributeError):  # right JSON, wrong shapes inside
            data = _BROKEN
    if manifest is None:
        manifest = _legacy_manifest(folder, kind, record)
    if data is _BROKEN:  # shown, marked, never taken as complete: its stage files may still tell what it was
        manifest.state, manifest.complete, manifest.broken = "failed", False, True
        manifest.error = f"{folder / MANIFEST} is unreadable (not a workbench manifest); remove or restore it"
        return manifest
    status = read_status(folder)
    if status is None and manifest.state in ACTIVE_STATES:  # status.json gone: nothing is known to work on it
        manifest.state = "failed"
        manifest.error = manifest.error or f"{folder / 'status.json'} is missing: no process is known to work on it"
    if status and status.get("state"):
        # the live state wins, except when the artifact is complete and its job is not active: a
        # vanished process, an unreadable status.json or a replacement that failed or was stopped
        # leave the complete artifact as it was
        if not (manifest.complete and status["state"] in ("failed", "stopped")):
            manifest.state = status["state"]
        if manifest.state in ("failed", "stopped"):
            manifest.error = status.get("error") or manifest.error
        manifest.created = manifest.created or status.get("started")
    if kind == "run":
        manifest.headline = {**manifest.headline, **run_headline(folder, record, status)}
    return manifest


_BROKEN = object()


def _manifest_data(folder: Path) -> dict | None | object:
    """The parsed ``artifact.json``: None when there is none, ``_BROKEN`` when it is not a manifest."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except Exception:  # noqa: BLE001 - torn, binary or not JSON
        return _BROKEN
    if not isinstance(data, dict) or data.get("kind") not in KIND_FOLDERS or data.get("state", "finished") not in STATES:
        return _BROKEN
    return data


def _stage_record(folder: Path, kind: str | None) -> dict:
    name = STAGE_FILES.get(kind or "")
    path = folder / name if name else None
    if path is None or not path.exists():
        return {}
    try:
        data = read_json(path)
    except Exception:  # noqa: BLE001 - a half-written or broken file: no record
        return {}
    return data if isinstance(data, dict) else {}


def _legacy_manifest(folder: Path, kind: str | None, record: dict) -> Manifest:
    """A manifest from the files of an earlier release (no ``artifact.json``)."""
    if kind == "run":
        card = normalize_card({k: record.get(k) for k in ("config", "seed", "versions", "git_commit", "hardware", "inputs")})
        state = record.get("state") or ("running" if record else "queued")
        complete = state == "finished" and (folder / "adapter").exists()
        return Manifest("run", folder, "finished" if complete else state, complete, record.get("created"), card,
                        {}, format=None)
    if kind == "snapshot":
        build = read_json(folder / "build.json") if (folder / "build.json").exists() else {}
        card = normalize_card({**{k: record.get(k) for k in ("config", "versions", "git_commit", "inputs")},
                               "hardware": build.get("hardware"), "seed": None})
    elif kind == "quickstart":
        card = normalize_card(record.get("card"))
    elif kind in ("comparison", "evaluation"):
        card = normalize_card(record.get("card"))
    else:  # corpus profile: the card fields inline
        card = normalize_card({k: record.get(k) for k in ("config", "versions", "git_commit", "inputs")})
    complete = bool(record.get("complete")) or (kind == "quickstart" and bool(record))
    created = record.get("created") or card.get("created")
    if kind == "snapshot" and (folder / "build.json").exists():
        created = read_json(folder / "build.json").get("created")
    return Manifest(kind or "unknown", folder, "finished" if complete else "failed", complete, created, card,
                    headline(kind, record), error=None if complete else "incomplete artifact")


# ------------------------------------------------------------------------------------------
# headlines: the numbers a person scans first, one definition per kind


def headline(kind: str | None, record: dict) -> dict:
    """Headline numbers of a finished artifact from its stage record (profile, snapshot manifest,
    comparison/evaluation result, quickstart summary)."""
    if not record:
        return {}
    if kind == "corpus":
        return {"documents": record.get("documents"), "tokens": record.get("tokens"),
                "readiness": (record.get("readiness") or {}).get("verdict")}
    if kind == "snapshot":
        counts = record.get("counts") or {}
        sizes = record.get("sizes") or {}
        return {"train_documents": counts.get("train"), "eval_documents": counts.get("eval"),
                "train_words": sizes.get("train_words"), "eval_words": sizes.get("eval_words"),
                "train_tokens": sizes.get("train_tokens"), "eval_tokens": sizes.get("eval_tokens"),
                "tokenizer": sizes.get("tokenizer"),
                "input_documents": counts.get("input_documents")}
    if kind == "comparison":
        out = {}
        for name in ("domain", "general"):
            delta = (record.get("delta") or {}).get(name) or {}
            ci = delta.get("ppl_ratio_ci95")
            out[f"{name}_ppl_change_pct"] = delta.get("ppl_change_pct")
            out[f"{name}_ppl_change_ci95"] = [100 * (ci[0] - 1), 100 * (ci[1] - 1)] if ci and None not in ci else None
            out[f"base_{name}_ppl"] = ((record.get("base") or {}).get(name) or {}).get("token_ppl")
            out[f"adapted_{name}_ppl"] = ((record.get("adapted") or {}).get(name) or {}).get("token_ppl")
        return out
    if kind == "evaluation":
        metrics = record.get("metrics") or {}
        return {"token_ppl": metrics.get("token_ppl"), "token_ppl_ci95": metrics.get("token_ppl_ci95"),
                "bits_per_byte": metrics.get("bits_per_byte"), "documents": metrics.get("documents")}
    if kind == "quickstart":
        return {"domain_ppl_change_pct": record.get("domain_ppl_change_pct"),
                "general_ppl_change_pct": record.get("general_ppl_change_pct"),
                "train_tokens": record.get("train_tokens")}
    if kind == "run":
        return run_headline(None, record, None)
    if kind == "monitor":  # an adapted run scored on a new batch of domain text (workbench monitor)
        verdict = record.get("verdict") or {}
        batch = (record.get("sets") or {}).get("batch") or {}
        return {"moved": verdict.get("moved"), "sentence": verdict.get("sentence"),
                "batch_bits_per_byte": (batch.get("adapted") or {}).get("bits_per_byte"),
                "held_out_bits_per_byte": (((record.get("sets") or {}).get("held_out") or {}).get("adapted")
                                           or {}).get("bits_per_byte"),
                "unseen_term_rate": batch.get("unseen_term_rate")}
    return {}


def _eval_rows(path: Path) -> list[dict]:
    """The evaluation rows of a live ``metrics.jsonl``: only lines that mention an eval are parsed
    (a long run has one train row per step), and a line still being written is skipped."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if '"eval"' in line and line.endswith("\n"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("type") == "eval":
                    rows.append(record)
    return rows


def run_headline(folder: Path | None, card: dict, status: dict | None) -> dict:
    """Step/total, tokens seen, tokens/s, ETA, best domain perplexity and general perplexity change of a
    run, live while it trains (``status.json`` and ``metrics.jsonl``) and final from ``run.json``."""
    status = status or {}
    evals = card.get("evaluations")
    if evals is None and folder is not None and (folder / "metrics.jsonl").exists():
        evals = _eval_rows(folder / "metrics.jsonl")
    evals = evals or []
    domain = [e["domain_ppl"] for e in evals if e.get("domain_ppl") is not None]
    general_change = next((e["general_change_pct"] for e in reversed(evals) if e.get("general_change_pct") is not None), None)
    finished = card.get("state") == "finished"
    total = card.get("steps") or status.get("total_steps")
    return {
        "step": (card.get("step") if finished else None) or status.get("step") or card.get("step") or 0,
        "total_steps": total,
        "tokens_seen": (card.get("tokens_seen") if finished else None) or status.get("tokens") or card.get("tokens_seen"),
        "tokens_per_s": (card.get("tokens_per_s") if finished else None) or status.get("tokens_per_s") or card.get("tokens_per_s"),
        "eta_s": None if finished else status.get("eta_s"),
        "best_domain_ppl": card.get("best_domain_ppl") or (min(domain) if domain else None),
        "base_domain_ppl": domain[0] if domain else None,
        "general_ppl_change_pct": general_change,
    }
