"""CLI commands ``workbench evaluate`` and ``workbench compare``: thin calls into evaluation.compare.

``register(app)`` adds them to a Typer app (the main CLI calls it once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

WINDOW_HELP = "Sliding-window length L in tokens."
STRIDE_HELP = "Step S between windows (default L/2)."
QUANT_HELP = "Base weights: nf4 or none (default: as the adapter was trained; no adapter: none)."
DEQUANTIZE_HELP = "auto|on|off: score an NF4 base through its weights dequantized once (auto: on the CPU when the copy fits easily in memory)."
TEXT_UNIT_HELP = "What a document is in .txt/PDF eval sets: auto, document, paragraph, line, section."


ConfigOpt = typer.Option(None, "--config", "-c", help="YAML file of EvalConfig keys.")
SetOpt = typer.Option(None, "--set", help="Override any EvalConfig key: --set n_bootstrap=2000 --set max_new_tokens=60.")


def _eval_config(path: Optional[Path], overrides: Optional[list[str]], **values):
    """EvalConfig from defaults < YAML (--config) < the flags given < --set (built once, so a
    --set window=256 still gets its default stride of half the window)."""
    from workbench.config import from_dict, load_yaml, parse_overrides
    from workbench.evaluation.config import EvalConfig

    data = load_yaml(path) if path else {}
    data.update({k: v for k, v in values.items() if v is not None})
    data.update(parse_overrides(overrides))
    return from_dict(EvalConfig, data)


def _workspace(path: Optional[Path]):
    from workbench.workspace import Workspace

    return Workspace.at(path)

# options both commands take, declared once
WINDOW_OPT = typer.Option(None, help=WINDOW_HELP + " [default: 1024]")
STRIDE_OPT = typer.Option(None, help=STRIDE_HELP)
QUANT_OPT = typer.Option(None, help=QUANT_HELP)
BATCH_SIZE_OPT = typer.Option(None, "--batch-size", help="Windows per forward pass. [default: 8]")
TEMPERATURE_SCALING_OPT = typer.Option(None, "--temperature-scaling", help="Fit a temperature; ECE before/after.")
TEXT_FIELD_OPT = typer.Option(None, "--text-field", help="JSONL field holding the text. [default: text]")
DEQUANTIZE_OPT = typer.Option(None, "--dequantize", help=DEQUANTIZE_HELP + " [default: auto]")
TEXT_UNIT_OPT = typer.Option(None, "--text-unit", help=TEXT_UNIT_HELP + " [default: auto]")
OVERWRITE_OPT = typer.Option(False, help="Replace an existing output folder.")
WORKSPACE_OPT = typer.Option(None, "--workspace", "-w", help="Workspace folder (default ./workspace or $WORKBENCH_WORKSPACE).")


def evaluate_command(
    model: Optional[str] = typer.Option(None, help="Model spec (default with --adapter: the run's base model)."),
    adapter: Optional[str] = typer.Option(None, help="Run folder or adapter folder to apply."),
    data: Optional[str] = typer.Option(None, help="Evaluation text (JSONL with a text field, or .txt)."),
    out: Optional[str] = typer.Option(None, help="Output folder (default <workspace>/comparisons/eval-...)."),
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
    workspace: Optional[Path] = WORKSPACE_OPT,
) -> None:
    """Perplexity, bits per byte and calibration of one model (optionally with an adapter): evaluation.json + report.html."""
    from workbench.evaluation.compare import evaluate

    cfg = _eval_config(config, set_, model=model, adapter=adapter, data=data, out=out, window=window, stride=stride,
                       quant=quant, batch_size=batch_size, temperature_scaling=temperature_scaling,
                       text_field=text_field, dequantize_scoring=dequantize, text_unit=text_unit)
    folder = evaluate(cfg, _workspace(workspace), overwrite=overwrite)
    typer.echo(f"evaluation written: {folder / 'evaluation.json'}\nreport: {folder / 'report.html'}")


def compare_command(
    adapted: Optional[str] = typer.Option(None, help="The adapted run folder (or adapter folder)."),
    base: Optional[str] = typer.Option(None, help="Base model spec (default: the run's model)."),
    domain_eval: Optional[str] = typer.Option(None, "--domain-eval", help="Domain text (default: the run's snapshot eval split)."),
    general_eval: Optional[str] = typer.Option(None, "--general-eval", help="General text (default: the sample general text)."),
    probes: Optional[str] = typer.Option(None, help="Cloze probes CSV: prompt,expected,source_id."),
    glossary: Optional[str] = typer.Option(None, help="Glossary CSV with a 'term' column (listed first among term changes)."),
    profile: Optional[str] = typer.Option(None, help="Corpus profile.json (or its folder): its domain terms follow the glossary."),
    out: Optional[str] = typer.Option(None, help="Output folder (default <workspace>/comparisons/compare-RUN)."),
    window: Optional[int] = WINDOW_OPT,
    stride: Optional[int] = STRIDE_OPT,
    quant: Optional[str] = QUANT_OPT,
    batch_size: Optional[int] = BATCH_SIZE_OPT,
    checkpoints: Optional[bool] = typer.Option(None, "--checkpoints", help="Also score every checkpoint (learning curves)."),
    temperature_scaling: Optional[bool] = TEMPERATURE_SCALING_OPT,
    generations: Optional[int] = typer.Option(None, help="Domain prompts continued by both models (0: none). [default: 6]"),
    labels: Optional[str] = typer.Option(None, "--labels", help="Label store whose corrected errors are re-scored (default: workspace/labels.db if it exists; 'none' to skip)."),
    text_field: Optional[str] = TEXT_FIELD_OPT,
    dequantize: Optional[str] = DEQUANTIZE_OPT,
    text_unit: Optional[str] = TEXT_UNIT_OPT,
    config: Optional[Path] = ConfigOpt,
    set_: Optional[list[str]] = SetOpt,
    overwrite: bool = OVERWRITE_OPT,
    workspace: Optional[Path] = WORKSPACE_OPT,
) -> None:
    """Base vs adapted on domain and general text: comparison.json, figures and report.html."""
    from workbench.evaluation.compare import compare

    cfg = _eval_config(
        config, set_, model=base, adapter=adapted, domain_eval=domain_eval, general_eval=general_eval, probes=probes,
        glossary=glossary, profile=profile, out=out, window=window, stride=stride, quant=quant, batch_size=batch_size,
        checkpoints=checkpoints, temperature_scaling=temperature_scaling, generations=generations, text_field=text_field,
        labels=labels, dequantize_scoring=dequantize, text_unit=text_unit,
    )
    from workbench.review.regression import with_regression_set  # the surface wires review's file to evaluation

    ws = _workspace(workspace)
    folder = compare(with_regression_set(cfg, ws), ws, overwrite=overwrite)
    typer.echo(_summary(folder))


def _summary(folder: Path) -> str:
    from workbench.io import read_json

    c = read_json(folder / "comparison.json")
    lines = [f"{'token perplexity':<22}{'base':>10}{'adapted':>10}{'change':>9}   95% CI of change"]
    for name in ("domain", "general"):
        b, a, d = c["base"][name], c["adapted"][name], c["delta"][name]
        lo, hi = d.get("ppl_ratio_ci95") or (None, None)
        # one document has no bootstrap interval (null in comparison.json): say so, print the rest
        interval = (f"[{100 * (lo - 1):+.1f}%, {100 * (hi - 1):+.1f}%]" if lo is not None and hi is not None
                    else f"none ({d.get('documents', '?')} document; needs 2 or more)")
        lines.append(f"{name:<22}{b['token_ppl']:>10.2f}{a['token_ppl']:>10.2f}{d['ppl_change_pct']:>+8.1f}%"
                     f"   {interval}")
    if c.get("regression"):  # labelled errors re-scored (workbench/evaluation/regression.py)
        r = c["regression"]
        lines.append(f"labelled errors still made: base {r.get('base', {}).get('still_wrong', '-')}, "
                     f"adapted {r['adapted']['still_wrong']} of {r['cases']}")
    lines += [f"warning: {w}" for w in c.get("warnings") or []]
    lines += [f"comparison: {folder / 'comparison.json'}", f"report:     {folder / 'report.html'}"]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``compare`` to ``app``."""
    app.command("evaluate")(evaluate_command)
    app.command("compare")(compare_command)
