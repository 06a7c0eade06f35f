"""``workbench inspect`` and ``workbench curate``: thin calls into ``workflows.inspect`` and ``workflows.curate``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.cli.options import WORKSPACE, ConfigOptions
from workbench.config import load_config
from workbench.corpus.config import CORPUS_OPTION_HELP, CURATE_OPTION_HELP, CorpusConfig, CurateConfig
from workbench.io import read_json

inspect_option = ConfigOptions(CorpusConfig, CORPUS_OPTION_HELP)
"""An option setting a CorpusConfig field: help from CORPUS_OPTION_HELP, the default shown from the field."""
curate_option = ConfigOptions(CurateConfig, CURATE_OPTION_HELP)
"""An option setting a CurateConfig field: help from CURATE_OPTION_HELP, the default shown from the field."""


def inspect(
    paths: list[Path] = typer.Argument(..., help="Corpus files or folders (text, JSONL, CSV, Parquet, PDF, .gz)."),
    model: Optional[str] = inspect_option("model"),
    reference: Optional[list[Path]] = inspect_option("reference"),
    glossary: Optional[Path] = inspect_option("glossary"),
    text_field: Optional[str] = inspect_option("text_field", "--text-field"),
    text_unit: Optional[str] = inspect_option("text_unit", "--text-unit"),
    out: Optional[Path] = typer.Option(None, help="Profile folder (default workspace/corpora/NAME)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of CorpusConfig keys."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set dedup.threshold=0.7."),
    num_proc: Optional[int] = typer.Option(None, "--num-proc", help="Worker processes (default: CPU count, max 8)."),
    overwrite: bool = typer.Option(False, help="Replace an existing profile folder."),
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Profile a corpus: size, tokenizer fit, duplicates, quality, PII, languages, domain terms, readiness."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    cfg = load_config(
        CorpusConfig, config, set_, paths=[str(p) for p in paths], model=model,
        reference=[str(r) for r in reference] if reference else None,
        glossary=str(glossary) if glossary else None, text_field=text_field, text_unit=text_unit,
    )
    target = workflows.inspect(cfg, workspace, out=out, num_proc=num_proc, overwrite=overwrite)
    profile = read_json(target / "profile.json")
    ready = profile["readiness"]
    missing = f" ({profile['missing_text']:,} records without text skipped)" if profile.get("missing_text") else ""
    typer.echo(
        f"{profile['documents']:,} documents{missing}, {profile['tokens']:,} tokens, {profile['tokens_per_word']} tokens/word, "
        f"duplicates {profile['exact_duplicate_rate']:.1%} exact + {profile['near_duplicate_rate']:.1%} near; "
        f"readiness: {ready['verdict']}"
    )
    typer.echo(f"profile: {Path(target) / 'profile.json'}")
    typer.echo(f"report:  {Path(target) / 'report.html'}")


def curate(
    paths: list[Path] = typer.Argument(..., help="Corpus files or folders (text, JSONL, CSV, Parquet, PDF, .gz)."),
    out: Optional[Path] = typer.Option(None, help="Snapshot folder (default workspace/snapshots/NAME)."),
    eval_path: Optional[list[Path]] = curate_option("eval_paths", "--eval"),
    eval_fraction: Optional[float] = curate_option("eval_fraction", "--eval-fraction"),
    text_field: Optional[str] = curate_option("text_field", "--text-field"),
    text_unit: Optional[str] = curate_option("text_unit", "--text-unit"),
    min_words: Optional[int] = curate_option("min_words", "--min-words"),
    synthetic: Optional[Path] = curate_option("synthetic", "--synthetic"),
    synthetic_force: Optional[bool] = curate_option("synthetic_force", "--force", is_flag=True),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of CurateConfig keys."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set dedup.threshold=0.7 --set languages=null."),
    num_proc: Optional[int] = typer.Option(None, "--num-proc", help="Worker processes (does not change the result)."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Label store (labels.db or URL; 'workspace' for WORKSPACE/labels.db): drop the documents experts marked drop."),
    overwrite: bool = typer.Option(False, help="Replace an existing snapshot folder."),
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Deduplicate, filter, redact PII and split a corpus into a versioned snapshot that training reads."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    cfg = load_config(
        CurateConfig, config, set_, paths=[str(p) for p in paths],
        eval_paths=[str(p) for p in eval_path] if eval_path else None, eval_fraction=eval_fraction,
        text_field=text_field, text_unit=text_unit, min_words=min_words,
        synthetic=str(synthetic) if synthetic else None, synthetic_force=synthetic_force,
    )
    target = workflows.curate(cfg, workspace, labels=labels, out=out, num_proc=num_proc, overwrite=overwrite)
    manifest = read_json(target / "manifest.json")
    counts = manifest["counts"]
    removed = ", ".join(f"{k} {v}" for k, v in counts["removed"].items() if v) or "nothing"
    missing = f"; {counts['missing_text']:,} records without text skipped" if counts.get("missing_text") else ""
    typer.echo(f"{counts['input_documents']:,} documents -> train {counts['train']:,}, eval {counts['eval']:,} "
               f"(removed: {removed}{missing})")
    if manifest.get("synthetic"):
        mixed = manifest["synthetic"]
        typer.echo(f"synthetic: {mixed['documents']:,} audited documents in synthetic.jsonl"
                   + (" (failed its audit; added with --force)" if mixed["forced"] else ""))
    typer.echo(f"snapshot: {target}  (content hash {manifest['content_hash'][:16]})")

