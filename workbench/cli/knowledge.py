"""``workbench glossary``: what a run and a comparison make of a glossary or ontology (``workflows.glossary_plan``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from workbench.cli.options import WORKSPACE


def glossary(
    path: Path = typer.Argument(..., help="Glossary CSV (term, definition) or ontology (SKOS-like CSV/YAML, OBO)."),
    share: float = typer.Option(0.0, "--share", help="The run's knowledge.text_share, to size the rendered text's part."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="The run's training budget in tokens."),
    render: Optional[Path] = typer.Option(None, "--render", help="Also write the rendered training text to this JSONL file."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Read a glossary or ontology: its terms and relations, the training text rendered from it, its cloze probes.

    Train with it: --glossary FILE --glossary-share 0.1 (and --set knowledge.new_tokens=true for new tokens
    initialised from their definitions); compare scores its cloze probes (--glossary FILE)."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    plan = workflows.glossary_plan(path, text_share=share, max_tokens=max_tokens)
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=1, ensure_ascii=False))
    else:
        typer.echo(plan.summary())
        for text in plan.sample:
            typer.echo("\n" + text)
        for probe in plan.probes:
            typer.echo(f"\ncloze: {probe['prompt']} ___  (candidates: {', '.join(probe['candidates'])})")
    if render:
        n = workflows.render_glossary(path, render)
        typer.echo(f"wrote {n} documents to {render}")
