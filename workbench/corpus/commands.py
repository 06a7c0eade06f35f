"""CLI commands of the corpus stage: ``workbench inspect`` and ``workbench curate`` (thin calls into the library)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="Workspace folder (default ./workspace or $WORKBENCH_WORKSPACE).")
TEXT_UNIT_HELP = ("What a document is in .txt/.md/PDF files: auto (default: split on two blank lines, by paragraph "
                  "when a document would exceed 500,000 characters), document (whole file), paragraph, line, section.")


def _name_for(paths: list[Path]) -> str:
    from workbench.workspace import name_from_paths  # folder naming lives in the library

    return name_from_paths(paths)


def inspect(
    paths: list[Path] = typer.Argument(..., help="Corpus files or folders (text, JSONL, CSV, Parquet, PDF, .gz)."),
    model: str = typer.Option("smollm2-135m", help="Model whose tokenizer is measured (registry name, folder, Hub id)."),
    reference: Optional[list[Path]] = typer.Option(None, help="General reference corpus (default: bundled general sample)."),
    glossary: Optional[Path] = typer.Option(None, help="CSV of domain terms (column 'term') to show tokenized."),
    text_field: str = typer.Option("text", "--text-field", help="Text column of JSONL, CSV and Parquet files."),
    text_unit: Optional[str] = typer.Option(None, "--text-unit", help=TEXT_UNIT_HELP),
    out: Optional[Path] = typer.Option(None, help="Profile folder (default workspace/corpora/NAME)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of CorpusConfig keys."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set dedup.threshold=0.7."),
    num_proc: Optional[int] = typer.Option(None, "--num-proc", help="Worker processes (default: CPU count, max 8)."),
    overwrite: bool = typer.Option(False, help="Replace an existing profile folder."),
    workspace: Optional[Path] = WorkspaceOpt,
) -> None:
    """Profile a corpus: size, tokenizer fit, duplicates, quality, PII, languages, domain terms, readiness."""
    from workbench.config import load_config
    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus
    from workbench.workspace import Workspace

    cfg = load_config(
        CorpusConfig, config, set_, paths=[str(p) for p in paths], model=model,
        reference=[str(r) for r in reference] if reference else None,
        glossary=str(glossary) if glossary else None, text_field=text_field, text_unit=text_unit,
    )
    target = out or Workspace.at(workspace).folder("corpora", _name_for(paths))
    profile = profile_corpus(cfg, target, num_proc=num_proc, overwrite=overwrite)
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
    eval_path: Optional[list[Path]] = typer.Option(None, "--eval", help="Fixed eval set (default: hash split of the corpus)."),
    eval_fraction: Optional[float] = typer.Option(None, "--eval-fraction", help="Share of documents for eval (hash split)."),
    text_field: Optional[str] = typer.Option(None, "--text-field", help="Text column of JSONL, CSV and Parquet files."),
    text_unit: Optional[str] = typer.Option(None, "--text-unit", help=TEXT_UNIT_HELP),
    min_words: Optional[int] = typer.Option(None, "--min-words", help="Drop documents with fewer words."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of CurateConfig keys."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set dedup.threshold=0.7 --set languages=null."),
    num_proc: Optional[int] = typer.Option(None, "--num-proc", help="Worker processes (does not change the result)."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Label store (labels.db or URL; 'workspace' for WORKSPACE/labels.db): drop the documents experts marked drop."),
    overwrite: bool = typer.Option(False, help="Replace an existing snapshot folder."),
    workspace: Optional[Path] = WorkspaceOpt,
) -> None:
    """Deduplicate, filter, redact PII and split a corpus into a versioned snapshot that training reads."""
    from workbench.config import load_config
    from workbench.corpus.config import CurateConfig
    from workbench.corpus.curate import curate_corpus
    from workbench.workspace import Workspace

    cfg = load_config(
        CurateConfig, config, set_, paths=[str(p) for p in paths],
        eval_paths=[str(p) for p in eval_path] if eval_path else None, eval_fraction=eval_fraction,
        text_field=text_field, text_unit=text_unit, min_words=min_words, drop_list=_expert_drops(labels, workspace),
    )
    target = out or Workspace.at(workspace).folder("snapshots", _name_for(paths))
    manifest = curate_corpus(cfg, target, num_proc=num_proc, overwrite=overwrite)
    counts = manifest["counts"]
    removed = ", ".join(f"{k} {v}" for k, v in counts["removed"].items() if v) or "nothing"
    missing = f"; {counts['missing_text']:,} records without text skipped" if counts.get("missing_text") else ""
    typer.echo(f"{counts['input_documents']:,} documents -> train {counts['train']:,}, eval {counts['eval']:,} "
               f"(removed: {removed}{missing})")
    typer.echo(f"snapshot: {target}  (content hash {manifest['content_hash'][:16]})")


def _expert_drops(labels: Optional[str], workspace: Optional[Path]) -> str | None:
    """The drop list (JSONL of document id and reason) of the documents marked drop in a label store, exported
    by review for curation to read (review, issue 12)."""
    if not labels:
        return None
    from workbench.review.export import drop_list_for

    return str(drop_list_for(labels, workspace))


def register(app: typer.Typer) -> None:
    """Add ``inspect`` and ``curate`` to the ``workbench`` command."""
    app.command("inspect")(inspect)
    app.command("curate")(curate)
