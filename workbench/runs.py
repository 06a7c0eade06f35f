"""The run folder's layout, owned in one place: training writes it, evaluation, export, jobs and the
workspace read it, and none of them needs the others' internals.

    runs/<name>/  run.json (the run card), status.json, metrics.jsonl, adapter/,
                  checkpoints/checkpoint-N/ (adapter, optimizer, scheduler, RNG, run.json,
                  checkpoint_manifest.json: the sha256 and size of each file, written last)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import read_json, sha256_file, write_json

RUN_CARD = "run.json"
METRICS = "metrics.jsonl"
ADAPTER = "adapter"
CHECKPOINTS = "checkpoints"
CHECKPOINT_MANIFEST = "checkpoint_manifest.json"
TRAINER_STATE = "trainer_state.json"


def adapter_dir(run_or_dir: str | os.PathLike) -> Path:
    """The adapter folder of a run (``RUN/adapter``) or an adapter folder itself."""
    path = Path(run_or_dir)
    for candidate in (path / ADAPTER, path):
        if (candidate / "adapter_config.json").exists():
            return candidate
    raise WorkbenchError(
        f"{path} holds no LoRA adapter (no adapter_config.json).",
        "pass a run folder (workspace/runs/NAME) or a folder saved by PeftModel.save_pretrained.",
    )


def run_card_for(adapter: str | os.PathLike) -> dict | None:
    """The run.json beside an adapter (run folder, its adapter/, or a checkpoint folder), if any."""
    path = Path(adapter)
    for candidate in (path / RUN_CARD, path.parent / RUN_CARD):
        if candidate.exists():
            return read_json(candidate)
    return None


def read_run_card(run_dir: str | os.PathLike) -> dict:
    """The run card of a run folder; a user error naming the folder when it is not one."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_CARD).exists():
        raise WorkbenchError(f"{run_dir} is not a run folder (no {RUN_CARD}).", "pass the folder of an earlier run.")
    card = read_json(run_dir / RUN_CARD)
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise WorkbenchError(f"{run_dir / RUN_CARD} has no 'config' section.", "pass the folder of a workbench run.")
    return card


def checkpoint_folders(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, folder) of every ``checkpoints/checkpoint-N`` of a run, by step (the one scanner of the layout)."""
    found = []
    for path in (Path(run_dir) / CHECKPOINTS).glob("checkpoint-*"):
        step = path.name.rsplit("-", 1)[-1]
        if step.isdigit() and path.is_dir():
            found.append((int(step), path))
    return sorted(found)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The last resumable checkpoint (one with ``trainer_state.json``), or None."""
    resumable = [path for _, path in checkpoint_folders(run_dir) if (path / "trainer_state.json").exists()]
    return resumable[-1] if resumable else None


def write_checkpoint_manifest(checkpoint: str | os.PathLike) -> Path:
    """Record the sha256 and size of every file of a saved checkpoint, atomically and last: a checkpoint
    with a manifest was saved whole, and :func:`checkpoint_damage` can tell when it was damaged since."""
    checkpoint = Path(checkpoint)
    files = {}
    for path in sorted(p for p in checkpoint.rglob("*") if p.is_file()):
        name = path.relative_to(checkpoint).as_posix()
        # the manifest itself, temporary files, and the RNG states other data-parallel ranks write at their own time
        if name == CHECKPOINT_MANIFEST or path.name.startswith(".") or _other_rank_file(path.name):
            continue
        files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return write_json(checkpoint / CHECKPOINT_MANIFEST, {"files": files})


def _other_rank_file(name: str) -> bool:
    stem = name.removesuffix(".pth")
    return stem.startswith("rng_state_") and stem.removeprefix("rng_state_") not in ("", "0")


def checkpoint_damage(checkpoint: str | os.PathLike) -> str | None:
    """Why a checkpoint cannot be resumed from (a file missing, cut short or changed since it was saved,
    an unreadable trainer state, a save that never finished), or None when it is intact.

    A checkpoint with a manifest is checked file by file against it; one without (saved before
    manifests were written) needs a readable trainer state and its run card, which the save writes last.
    """
    checkpoint = Path(checkpoint)
    manifest_path = checkpoint / CHECKPOINT_MANIFEST
    if manifest_path.exists():
        try:
            files = read_json(manifest_path)["files"]
            items = [(name, int(entry["bytes"]), str(entry["sha256"])) for name, entry in files.items()]
        except (WorkbenchError, KeyError, TypeError, ValueError, AttributeError):
            return f"{CHECKPOINT_MANIFEST} is unreadable"
        for name, size, digest in items:
            path = checkpoint / name
            if not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != size:
                return f"{name} has {path.stat().st_size} bytes, {size} when saved"
            if sha256_file(path) != digest:
                return f"{name} changed since it was saved (sha256 differs)"
    for name in (TRAINER_STATE, RUN_CARD):
        if not (checkpoint / name).is_file():
            return f"{name} is missing (the save did not finish)"
        try:
            if not isinstance(read_json(checkpoint / name), dict):
                raise ValueError(name)
        except (WorkbenchError, ValueError):
            return f"{name} is not valid JSON"
    return None


def intact_checkpoint(run_dir: str | os.PathLike) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest checkpoint to resume from, and the newer ones passed over as (folder, what is wrong)."""
    damaged = []
    for _, path in reversed(checkpoint_folders(run_dir)):
        why = checkpoint_damage(path)
        if why is None:
            return path, damaged
        damaged.append((path, why))
    return None, damaged


def list_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, folder) of each checkpoint holding an adapter, by step."""
    return [(step, path) for step, path in checkpoint_folders(run_dir) if (path / "adapter_config.json").exists()]


def run_folder_of(adapter: str | os.PathLike) -> Path | None:
    """The run folder an adapter belongs to (the run itself, or the run of its ``adapter/``), if any."""
    path = Path(adapter)
    for candidate in (path, path.parent):
        if (candidate / RUN_CARD).exists() and (candidate / METRICS).exists():
            return candidate
    return None


def eval_curve(run_dir: str | os.PathLike) -> list[dict]:
    """The in-training evaluations of a run (the ``eval`` rows of ``metrics.jsonl``), by step.

    A torn last line (a run killed mid-write) is skipped rather than failing a reader.
    """
    import json

    rows = []
    path = Path(run_dir) / METRICS
    if not path.exists():
        return rows
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and row.get("type") == "eval":
                rows.append(row)
    return sorted(rows, key=lambda r: r.get("step", 0))


def weights_sha256(model_path: str | os.PathLike) -> str | None:
    """One digest of a model's weights: the file's sha256 for a single weights file, else the sha256
    of the sorted ``name:sha256`` lines of its files; None when it cannot be known cheaply (several
    weights files and no provisioning manifest). The run card records it; compare checks it."""
    path = Path(model_path)
    manifest = path / "workbench_model.json"
    if manifest.exists():
        hashes = read_json(manifest).get("weights_sha256") or {}
        return _combine(hashes) if hashes else None
    weights = sorted(path.glob("*.safetensors"))
    if len(weights) == 1:
        from workbench.io import sha256_file

        return sha256_file(weights[0])
    return None


def _combine(hashes: dict[str, str]) -> str:
    if len(hashes) == 1:
        return next(iter(hashes.values()))
    return hashlib.sha256("".join(f"{name}:{digest}\n" for name, digest in sorted(hashes.items())).encode()).hexdigest()


__all__ = ["RUN_CARD", "METRICS", "adapter_dir", "run_card_for", "read_run_card", "checkpoint_folders", "latest_checkpoint",
           "write_checkpoint_manifest", "checkpoint_damage", "intact_checkpoint", "CHECKPOINT_MANIFEST",
           "list_checkpoints", "weights_sha256", "run_folder_of", "eval_curve"]
