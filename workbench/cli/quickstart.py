"""``workbench quickstart``: fetch the default model, train on the sample corpus, compare (``workbench.quickstart``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

import workbench.quickstart
from workbench import appsupport
from workbench.cli.options import WORKSPACE, ConfigOptions, workspace_at
from workbench.config import load_config

quickstart_option = ConfigOptions(workbench.quickstart.QuickstartConfig, workbench.quickstart.OPTION_HELP)


def quickstart(
    workspace: Optional[Path] = WORKSPACE,
    model: Optional[str] = quickstart_option("model"),
    max_tokens: Optional[int] = quickstart_option("max_tokens", "--max-tokens"),
    data: Optional[str] = quickstart_option("data"),
    domain_eval: Optional[str] = quickstart_option("domain_eval", "--domain-eval"),
    general_eval: Optional[str] = quickstart_option("general_eval", "--general-eval"),
    eval_docs: Optional[int] = quickstart_option("eval_docs", "--eval-docs"),
    app_: bool = typer.Option(False, "--app", help="Open the app on the workspace afterwards (as 'workbench app')."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of QuickstartConfig keys."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set learning_rate=5e-4 --set block_size=128."),
) -> None:
    """Fetch the default model, train a QLoRA adapter on the sample corpus, compare perplexities."""
    ws = workspace_at(workspace)
    cfg = load_config(workbench.quickstart.QuickstartConfig, config, set_, model=model, max_tokens=max_tokens, data=data,
                      domain_eval=domain_eval, general_eval=general_eval, eval_docs=eval_docs)
    summary = workbench.quickstart.run_quickstart(cfg, ws)
    typer.echo(workbench.quickstart.format_summary(summary, ws.folder("quickstart")))
    if app_:
        sys.exit(appsupport.run_app(appsupport.AppSettings(workspace=str(ws.root)), echo=typer.echo))
