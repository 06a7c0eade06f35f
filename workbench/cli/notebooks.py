"""``workbench notebooks``: copy the guided notebooks into a folder of the user's own (``workbench.notebooks``)."""

from __future__ import annotations

from pathlib import Path

import typer


def notebooks(
    dest: Path = typer.Argument(..., help="Folder to copy the guided notebooks into (created if missing)."),
    fresh: bool = typer.Option(False, "--fresh", help="Where your copy differs from the shipped notebook, write "
                               "the shipped one beside it as NAME.new.ipynb."),
) -> None:
    """Copy the guided notebooks into a folder of your own; a copy you edited is never overwritten."""
    from workbench.notebooks import KEPT, copy_notebooks  # here, not at the top: --help needs no notebook files

    done = copy_notebooks(dest, fresh_copies=fresh)
    for item in done:
        typer.echo(item.line())
    kept = [item.name for item in done if item.action == KEPT]
    if kept:
        typer.echo(f"{len(kept)} notebook(s) differ from the shipped ones and were kept: {', '.join(kept)}. "
                   f"'workbench notebooks {dest} --fresh' writes the shipped ones beside them as NAME.new.ipynb.")
    typer.echo(f"Open them with: jupyter lab {dest}  (the notebooks extra)")
