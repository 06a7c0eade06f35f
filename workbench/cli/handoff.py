"""``workbench export-config``: a run's settings in another trainer's config format (thin call into the training stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

FORMATS = ("axolotl",)


def export_config(
    run: Path = typer.Argument(..., help="Run folder."),
    format_: str = typer.Option("axolotl", "--format", help=f"Config format: {', '.join(FORMATS)}."),
    out: Optional[Path] = typer.Option(None, help="Output file (default RUN/export/axolotl.yaml)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output file."),
) -> None:
    """Write a run's settings as an Axolotl config (model, quantization, LoRA, packing, data, learning rates)."""
    from workbench.errors import WorkbenchError

    if format_ not in FORMATS:
        raise WorkbenchError(f"unknown config format '{format_}'.", f"use one of: {', '.join(FORMATS)}.")
    from workbench.training.export_axolotl import export_axolotl  # here, not at the top: it loads the training stage

    typer.echo(str(export_axolotl(run, out=out, overwrite=overwrite)))
