"""``workbench evaluate`` and ``workbench compare``: thin calls into ``workflows.evaluate`` and ``workflows.compare``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.cli.options import WORKSPACE, ConfigOptions, workspace_at
from workbench.evaluation.config import OPTION_HELP, EvalConfig
from workbench.io import read_json

eval_option = ConfigOptions(EvalConfig, OPTION_HELP)
"""An option setting an EvalConfig field: its help line from OPTION_HELP, its default shown from the field."""

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML file of EvalConfig keys.")
SetOpt = typer.Option(None, "--set", help="Override any EvalConfig key: --set n_bootstrap=2000 --set max_new_tokens=60.")


# options both commands take, declared once
WINDOW_OPT = eval_option("window")
STRIDE_OPT = eval_option("stride")
QUANT_OPT = eval_option("quant")
BATCH_SIZE_OPT = eval_option("batch_size", "--batch-size")
TEMPERATURE_SCALING_OPT = eval_option("temperature_scaling", "--temperature-scaling")
TEXT_FIELD_OPT = eval_option("text_field", "--text-field")
DEQUANTIZE_OPT = eval_option("dequantize_scoring", "--dequantize")
TEXT_UNIT_OPT = eval_option("text_unit", "--text-unit")
OVERWRITE_OPT = typer.Option(False, help="Replace an existing output folder.")


def evaluate(
    model: Optional[str] = eval_option("model"),
    adapter: Optional[str] = eval_option("adapter"),
    data: Optional[str] = eval_option("data"),
    out: Optional[str] = eval_option("out"),
    window: Optional[int] = WINDOW_OPT,
    stride: Optional[int] = STRIDE_OPT,
    quant: Optional[str] = QUANT_OPT,
    batch_size: Optional[int] = BATCH_SIZE_OPT,
    temperature_scaling: Optional[bool] = TEMPERATURE_SCALING_OPT,
    text_field: Optional[str] = TEXT_FIELD_OPT,
    dequantize: Optional[str] = DEQUANTIZE_OPT,
    text_unit: Optional[str] = TEXT_UNIT_OPT,
    config: Optional[Path] = ConfigOpt,
    set_: Optional[list[str]] = SetOpt,
    overwrite: bool = OVERWRITE_OPT,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Perplexity, bits per byte and calibration of one model (optionally with an adapter): evaluation.json + report.html."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    cfg = workflows.eval_config(config, set_, model=model, adapter=adapter, data=data, out=out, window=window, stride=stride,
                       quant=quant, batch_size=batch_size, temperature_scaling=temperature_scaling,
                       text_field=text_field, dequantize_scoring=dequantize, text_unit=text_unit)
    folder = workflows.evaluate(cfg, workspace_at(workspace), overwrite=overwrite)
    typer.echo(f"evaluation written: {folder / 'evaluation.json'}\nreport: {folder / 'report.html'}")


def compare(
    adapted: Optional[str] = eval_option("adapter", "--adapted", help="The adapted run folder (or adapter folder)."),
    base: Optional[str] = eval_option("model", "--base", help="Base model spec (default: the run's model)."),
    against: Optional[str] = eval_option("against"),
    domain_eval: Optional[str] = eval_option("domain_eval", "--domain-eval"),
    general_eval: Optional[str] = eval_option("general_eval", "--general-eval"),
    probes: Optional[str] = eval_option("probes"),
    glossary: Optional[str] = eval_option("glossary"),
    profile: Optional[str] = eval_option("profile"),
    out: Optional[str] = eval_option("out", help="Output folder (default <workspace>/comparisons/compare-RUN)."),
    window: Optional[int] = WINDOW_OPT,
    stride: Optional[int] = STRIDE_OPT,
    quant: Optional[str] = QUANT_OPT,
    batch_size: Optional[int] = BATCH_SIZE_OPT,
    checkpoints: Optional[bool] = eval_option("checkpoints", "--checkpoints"),
    temperature_scaling: Optional[bool] = TEMPERATURE_SCALING_OPT,
    generations: Optional[int] = eval_option("generations"),
    labels: Optional[str] = eval_option("labels", "--labels"),
    eval_docs: Optional[int] = eval_option("eval_docs", "--eval-docs"),
    full: Optional[bool] = typer.Option(
        None, "--full/--quick",
        help="--full: every document of both sets; --quick: a sample sized to about three minutes. "
             "Default: quick on a CPU, full on a GPU."),
    text_field: Optional[str] = TEXT_FIELD_OPT,
    dequantize: Optional[str] = DEQUANTIZE_OPT,
    text_unit: Optional[str] = TEXT_UNIT_OPT,
    config: Optional[Path] = ConfigOpt,
    set_: Optional[list[str]] = SetOpt,
    overwrite: bool = OVERWRITE_OPT,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Base vs adapted (or, with --against, one run against another) on domain and general text: comparison.json,
    figures and report.html. Says first how long it will take on this machine."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    cfg = workflows.eval_config(
        config, set_, model=base, adapter=adapted, against=against, domain_eval=domain_eval, general_eval=general_eval, probes=probes,
        glossary=glossary, profile=profile, out=out, window=window, stride=stride, quant=quant, batch_size=batch_size,
        checkpoints=checkpoints, temperature_scaling=temperature_scaling, generations=generations, text_field=text_field,
        labels=labels, dequantize_scoring=dequantize, text_unit=text_unit, eval_docs=eval_docs,
    )
    ws = workspace_at(workspace) if workspace else None
    cfg, estimate = workflows.plan_comparison(cfg, ws, full=full)
    typer.echo(estimate.sentence())
    if estimate.quick:
        typer.echo("This is a quick check on a sample of the documents; --full scores every document.")
    folder = workflows.compare(cfg, ws, overwrite=overwrite)
    typer.echo(_summary(folder))


def _summary(folder: Path) -> str:
    c = read_json(folder / "comparison.json")
    labels = c.get("labels") or {"base": "base", "adapted": "adapted"}
    lines = [f"{'token perplexity':<22}{labels['base'][:10]:>10}{labels['adapted'][:10]:>10}{'change':>9}   95% CI of change"]
    for name in ("domain", "general"):
        b, a, d = c["base"][name], c["adapted"][name], c["delta"][name]
        lo, hi = d.get("ppl_ratio_ci95") or (None, None)
        # one document has no bootstrap interval (null in comparison.json): say so, print the rest
        interval = (f"[{100 * (lo - 1):+.1f}%, {100 * (hi - 1):+.1f}%] on {d.get('documents', '?')} documents"
                    if lo is not None and hi is not None
                    else f"none ({d.get('documents', '?')} document; needs 2 or more)")
        lines.append(f"{name:<22}{b['token_ppl']:>10.2f}{a['token_ppl']:>10.2f}{d['ppl_change_pct']:>+8.1f}%"
                     f"   {interval}")
    if c.get("regression"):  # labelled errors re-scored (workbench/evaluation/regression.py)
        r = c["regression"]
        lines.append(f"labelled errors still made: base {r.get('base', {}).get('still_wrong', '-')}, "
                     f"adapted {r['adapted']['still_wrong']} of {r['cases']}")
    verdict = c.get("verdict") or {}
    if verdict.get("headline"):
        lines.append(verdict["headline"])
    lines += [f"warning: {w}" for w in c.get("warnings") or []]
    if verdict.get("limits"):
        lines.append(verdict["limits"])
    lines += [f"comparison: {folder / 'comparison.json'}", f"report:     {folder / 'report.html'}"]
    return "\n".join(lines)

