"""``workbench app``: open the Streamlit app on a workspace (``workbench.appsupport``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from workbench import appsupport
from workbench.cli.options import WORKSPACE, ConfigOptions, given, workspace_at

app_option = ConfigOptions(appsupport.AppSettings, appsupport.OPTION_HELP)


def app(
    workspace: Optional[Path] = WORKSPACE,
    port: Optional[int] = app_option("port"),
    host: Optional[str] = app_option("host"),
    data_dir: Optional[list[Path]] = app_option("data_dirs", "--data-dir"),
    model_dir: Optional[list[Path]] = app_option("model_dirs", "--model-dir"),
    max_upload_mb: Optional[int] = app_option("max_upload_mb", "--max-upload-mb"),
    print_command: bool = typer.Option(False, "--print-command", help="Print the streamlit command line and exit."),
) -> None:
    """Open the Streamlit app on a workspace: corpus, training with live curves, comparison, review."""
    settings = appsupport.AppSettings(
        workspace=str(workspace_at(workspace).root), data_dirs=tuple(str(d) for d in data_dir or ()),
        model_dirs=tuple(str(d) for d in model_dir or ()), **given(max_upload_mb=max_upload_mb, host=host, port=port),
    )
    sys.exit(appsupport.run_app(settings, print_only=print_command, echo=typer.echo))
