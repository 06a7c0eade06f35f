"""``workbench review``: items, queue, stats, agreement, export, import (thin calls into the review stage's store)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.cli.options import WORKSPACE, ConfigOptions, given, workspace_at
from workbench.io import dumps
from workbench.review.config import ITEMS_OPTION_HELP, ItemsConfig
from workbench.review.items import GROUPS

DbOpt = typer.Option(None, "--db", help="Label store: a SQLite file or a database URL (default WORKSPACE/labels.db).")
items_option = ConfigOptions(ItemsConfig, ITEMS_OPTION_HELP)
"""An option setting an ItemsConfig field: help from ITEMS_OPTION_HELP, the default shown from the field."""


def _store(db: Optional[str], workspace: Optional[Path], must_exist: bool = True):
    from workbench.review.export import open_store  # here, not at the top: --help needs no label store

    return open_store(db, workspace, must_exist=must_exist)


def _comparison_folder(value: str, workspace: Optional[Path]) -> Path:
    path = Path(value)
    if path.is_dir():
        return path
    return workspace_at(workspace).folder("comparisons", value)


def items(
    comparison: Optional[str] = typer.Argument(None, help="Comparison folder (or its name under WORKSPACE/comparisons)."),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help="Also: a JSONL of {prompt, output, model?, checkpoint?, id?}."),
    profile: Optional[Path] = typer.Option(None, "--profile", help="Also: a corpus profile folder; its flagged documents become keep/drop items."),
    seed: Optional[int] = items_option("seed"),
    regressed: Optional[int] = items_option("regressed_documents", "--regressed"),
    taxonomy: Optional[Path] = typer.Option(None, "--taxonomy", help="Taxonomy YAML to store as the project's categories."),
    db: Optional[str] = DbOpt,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Add review items to the label store (existing ones are kept, never duplicated)."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    result = workflows.review_items(
        _comparison_folder(comparison, workspace) if comparison else None, workspace,
        ItemsConfig(**given(seed=seed, regressed_documents=regressed)), jsonl=jsonl, profile=profile,
        labels=db, taxonomy=taxonomy)
    groups = ", ".join(f"{GROUPS.get(group, group)} {n}" for group, n in result["groups"].items()) or "none"
    typer.echo(f"{result['added']} item(s) added, {result['existing']} already there ({groups})")
    typer.echo(f"store: {result['store']}")


def queue(
    annotator: Optional[str] = typer.Option(None, "--annotator", "-a", help="Show this annotator's next item."),
    assign: Optional[str] = typer.Option(None, "--assign", help="Comma-separated annotators to assign items to."),
    overlap: int = typer.Option(1, help="Annotators per item (with --assign, or for the open queue)."),
    db: Optional[str] = DbOpt,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Progress per annotator; with --annotator, their next item (blind); with --assign, distribute the items."""
    with _store(db, workspace) as store:
        if assign:
            counts = store.assign([a.strip() for a in assign.split(",") if a.strip()], overlap=overlap)
            typer.echo("assigned: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        elif overlap != 1:
            store.set_overlap(overlap)
        progress = store.progress()
        typer.echo(f"{progress['items']} items, {progress['done_items']} with a verdict")
        for name, p in progress["annotators"].items():
            typer.echo(f"  {name:<20} done {p['done']:>5}  remaining {p['remaining']:>5}  labels {p['labels']:>5}  "
                       f"skipped {p['skipped']:>4}  {p['seconds']:.0f} s")
        if annotator:
            item = store.next_item(annotator)
            if item is None:
                typer.echo(f"{annotator}: queue empty")
                return
            typer.echo(f"next for {annotator}: {item.id} ({item.kind})")
            if item.prompt:
                typer.echo(f"prompt: {item.prompt}")
            for out in item.outputs:
                typer.echo(f"[{out['slot']}] {out['text']}")


def stats(
    figures: Optional[Path] = typer.Option(None, "--figures", help="Write the figures as plotly JSON into this folder."),
    db: Optional[str] = DbOpt,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Error rate and MQM penalty per 100 words (95% interval over outputs) per model, checkpoint and category."""
    from workbench.review import plots  # here, not at the top: --help needs no figures

    with _store(db, workspace) as store:
        stats = store.stats()
    o = stats["overall"]
    typer.echo(f"{o['outputs']} judged output(s), error rate {_pct(o['error_rate'])}, MQM penalty {o['penalty']} "
               f"({_num(o['penalty_per_100_words'])} per 100 words)")
    for title, key in (("model", "by_model"), ("checkpoint", "by_checkpoint")):
        for name, g in stats[key].items():
            ci = g.get("penalty_per_100_words_ci95")
            interval = f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else ""
            typer.echo(f"  {title} {name:<30} outputs {g['outputs']:>4}  error rate {_pct(g['error_rate']):>6}  "
                       f"penalty per 100 words {_num(g['penalty_per_100_words'])}{interval}  "
                       f"(penalty {g['penalty']} over {g['words']} words; per output {_num(g['penalty_per_output'])})")
    for name, g in stats["by_category"].items():
        typer.echo(f"  category {name:<20} errors {g['errors']:>4}  penalty {g['penalty']:>4}  "
                   f"error rate {_pct(g['error_rate'])}")
    if figures:
        figures.mkdir(parents=True, exist_ok=True)
        for name, fig in (("penalty_by_category", plots.penalty_by_category(stats)),
                          ("error_rate_by_model", plots.error_rate_by_model(stats))):
            (figures / f"{name}.json").write_text(fig.to_json(), encoding="utf-8")
        typer.echo(f"figures: {figures}")


def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def _num(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def agreement(
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    db: Optional[str] = DbOpt,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Krippendorff's alpha per dimension, Cohen's kappa per pair, disagreements, gold accuracy."""
    with _store(db, workspace) as store:
        report = store.agreement()
        accuracy = store.accuracy()
    if as_json:
        typer.echo(dumps({**report, "gold_accuracy": accuracy}))
        return
    typer.echo(f"{report['items_with_overlap']} item(s) labelled by two or more of {len(report['annotators'])} annotator(s)")
    for dim, alpha in report["alpha"].items():
        typer.echo(f"  Krippendorff alpha ({dim}): {_num(alpha)}, {report['alpha_reading'][dim]}")
    for row in report["kappa"]["verdict"]:
        typer.echo(f"  kappa {row['a']} / {row['b']}: {_num(row['kappa'])} on {row['items']} item(s), "
                   f"observed agreement {_pct(row['observed_agreement'])}, {row['reading']}")
    for name, acc in accuracy.items():
        typer.echo(f"  gold accuracy {name}: {acc['correct']}/{acc['gold_items']}")
    unresolved = [k for k, v in report["adjudicated"].items() if v["how"] == "unresolved"]
    typer.echo(f"{len(report['disagreements'])} disagreement(s); {len(unresolved)} item(s) need an adjudicator")


def export(
    out: Path = typer.Argument(..., help="Output file (jsonl, csv, corrections, regression, drops) or folder "
                                          "(datasets: an earlier datasets export there is replaced)."),
    format: str = typer.Option("jsonl", "--format", "-f",
                               help="jsonl (items + event log, importable), csv, datasets, corrections (training JSONL), "
                                    "regression (regression set for compare), drops (drop list for curate)."),
    db: Optional[str] = DbOpt,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Export labels; 'corrections' writes corrected outputs as training data for curate/train, 'regression' the
    labelled errors compare re-scores (--set regression_set=FILE), 'drops' the documents curate drops (drop_list)."""
    # here, not at the top: the review stage's writers, which --help does not need
    from workbench.review.export import export_corrections, export_drop_list
    from workbench.review.regression import export_regression_set

    writers = {"corrections": export_corrections, "regression": export_regression_set, "drops": export_drop_list}
    with _store(db, workspace) as store:
        path = writers[format](store, out) if format in writers else store.export(out, format)
    typer.echo(f"written: {path}")


def import_labels(
    path: Path = typer.Argument(..., help="A JSONL written by 'workbench review export'."),
    db: Optional[str] = DbOpt,
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Merge an export into the store: new items and events are added, known ones skipped; a file with a bad
    line writes nothing and the error names the line and field."""
    with _store(db, workspace, must_exist=False) as store:
        counts = store.import_file(path)
    typer.echo(f"items: {counts['items_added']} added, {counts['items_existing']} already there; "
               f"events: {counts['events_added']} added, {counts['events_existing']} already there")

