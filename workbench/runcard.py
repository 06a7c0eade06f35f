"""Run cards: what made an artifact (resolved config, seed, versions, commit, hardware, input hashes)."""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from workbench.config import to_dict
from workbench.io import sha256_file

TRACKED_PACKAGES = (
    "workbench", "torch", "transformers", "peft", "bitsandbytes", "accelerate", "datasets",
    "tokenizers", "safetensors", "numpy", "pandas", "plotly",
)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.lru_cache(maxsize=None)
def git_commit(path: str | None = None) -> str | None:
    """The commit of the git checkout holding ``path`` (default: the workbench source), '+dirty' if modified."""
    where = path or str(Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(
            ["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import psutil

        info["ram_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_count"] = torch.cuda.device_count()
            info["gpu_memory_gb"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
            info["cuda"] = torch.version.cuda
        else:
            info["gpu"] = None
    except ImportError:  # pragma: no cover
        pass
    return info


def hash_inputs(paths: dict[str, str | os.PathLike | None]) -> dict[str, dict[str, str] | None]:
    """sha256 of each named input file (folders: of each file inside, sorted)."""
    result: dict[str, dict[str, str] | None] = {}
    for name, p in paths.items():
        if p is None:
            result[name] = None
            continue
        path = Path(p)
        if path.is_file():
            result[name] = {"path": str(path), "sha256": sha256_file(path)}
        elif path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and not f.name.startswith("."))
            import hashlib

            digest = hashlib.sha256()
            for f in files:
                digest.update(str(f.relative_to(path)).encode())
                digest.update(sha256_file(f).encode())
            result[name] = {"path": str(path), "sha256": digest.hexdigest(), "files": len(files)}
        else:
            result[name] = {"path": str(path), "sha256": None}
    return result


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def make_run_card(
    kind: str,
    config: Any,
    seed: int | None = None,
    inputs: dict[str, str | os.PathLike | None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The card saved with every artifact: enough to repeat it from its folder alone."""
    card = {
        "kind": kind,
        "created": now_iso(),
        "config": to_dict(config),
        "seed": seed,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "hardware": hardware(),
        "inputs": hash_inputs(inputs or {}),
    }
    card.update(extra)
    return card
