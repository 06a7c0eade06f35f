"""``workbench monitor``: a thin call into ``workflows.monitor`` (an adapted run on a new batch of domain text)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.cli.evaluation import OVERWRITE_OPT, QUANT_OPT, WINDOW_OPT, ConfigOpt, SetOpt, eval_option
from workbench.cli.options import WORKSPACE, workspace_at
from workbench.io import read_json

__all__ = ["monitor"]


def monitor(
    run: Optional[str] = eval_option("adapter", "--run", help="The adapted run folder to monitor."),
    batch: Optional[str] = eval_option("data", "--batch", help="New domain text (JSONL, CSV, Parquet or .txt)."),
    base: Optional[str] = eval_option("model", "--base", help="Base model spec (default: the run's model)."),
    held_out: Optional[str] = eval_option("domain_eval", "--held-out",
                                          help="Held-out text to compare with (default: the run's own held-out split)."),
    time_field: Optional[str] = typer.Option(None, "--time-field",
                                             help="Date field of the batch's records: numbers per period."),
    period: Optional[str] = typer.Option(None, "--period", help="Period of the dates: month, quarter or year."),
    out: Optional[str] = eval_option("out", help="Output folder (default <workspace>/monitors/monitor-RUN-BATCH)."),
    window: Optional[int] = WINDOW_OPT,
    quant: Optional[str] = QUANT_OPT,
    config: Optional[Path] = ConfigOpt,
    set_: Optional[list[str]] = SetOpt,
    overwrite: bool = OVERWRITE_OPT,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Score an adapted run on a new batch against its own held-out split and the base: has the domain moved?"""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    guardrails = [f"guardrails.{k}={v}" for k, v in (("time_field", time_field), ("period", period)) if v is not None]
    cfg = workflows.eval_config(config, list(set_ or []) + guardrails, adapter=run, data=batch, model=base,
                                domain_eval=held_out, out=out, window=window, quant=quant)
    folder = workflows.monitor(cfg, workspace_at(workspace) if workspace else None, overwrite=overwrite)
    result = read_json(folder / "monitor.json")
    lines = [result["verdict"]["sentence"], result["verdict"]["advice"]]
    new = (result["sets"]["batch"].get("new_terms") or [])[:10]
    if new:
        lines.append("new terms: " + ", ".join(f"{t['term']} ({t['count']})" for t in new))
    lines += [f"monitor: {folder / 'monitor.json'}", f"report:  {folder / 'report.html'}"]
    typer.echo("\n".join(lines))
