"""Which models the app may load: registry models and local folders under the allowed roots that
need no custom code (the app never runs ``trust_remote_code``); Hub ids and paths elsewhere are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.appsupport.files import list_files, resolve_inside
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.appsupport.server import AppSettings

__all__ = ["check_model_spec", "model_choices"]


def check_model_spec(spec: str, settings: AppSettings, field: str = "model") -> str:
    """Accept a model the app may load: a registry name, or a local folder under the allowed
    roots whose config needs no custom code. Hub ids and paths elsewhere are refused.

    Args:
        field: the config field the model sets (its refusals name it).

    Returns:
        The registry name, or the folder's resolved path.
    """
    from workbench.models.registry import REGISTRY

    spec = str(spec or "").strip()
    if spec in REGISTRY:
        return spec
    if not spec:
        raise WorkbenchError("no model chosen.", f"pick a registry model ({', '.join(REGISTRY)}) or a local folder.",
                             field=field)
    local = Path(spec).expanduser()
    if not local.is_absolute() and not (settings.workspace_root / local).exists() and spec.count("/") == 1:
        raise WorkbenchError(
            f"'{spec}' looks like a Hugging Face Hub id; the app loads models only from the registry or local folders.",
            "fetch or download the model with the CLI into the workspace, then pick its folder.",
            field=field,
        )
    folder = resolve_inside(spec, settings.model_roots(), what="model folder")
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise WorkbenchError(
            f"the model '{spec}' is not a registry name or a model folder with config.json.",
            f"pick one of {', '.join(REGISTRY)} or a folder saved with save_pretrained under the workspace.",
            field=field,
        )
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise WorkbenchError(f"{folder / 'config.json'} is not valid JSON.", "re-save the model folder.") from None
    if isinstance(config, dict) and config.get("auto_map"):
        raise WorkbenchError(
            f"the model folder {folder} needs custom code (auto_map in config.json); the app never runs "
            "trust_remote_code.",
            "use a model whose architecture transformers ships, or train it from the CLI after reviewing its code.",
            field=field,
        )
    return str(folder)


def model_choices(settings: AppSettings) -> list[str]:
    """Models a picker offers: registry models already in the cache, then local model folders
    (a ``config.json`` beside weights) under the workspace and the model folders."""
    from workbench.models.fetch import list_cached
    from workbench.models.registry import REGISTRY

    names = [row["name"] for row in list_cached() if row.get("name") in REGISTRY]
    roots = [settings.workspace_root, *(Path(d).expanduser().resolve() for d in settings.model_dirs)]
    for config in list_files(roots, suffixes=("config.json",)):
        if config.name != "config.json" or "checkpoints" in config.parts:
            continue
        folder = config.parent
        if any(folder.glob("*.safetensors")):
            names.append(str(folder))
    return names

