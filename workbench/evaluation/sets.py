"""Evaluation sets: reading one (documents of two tokens or more, with warnings about small sets) and
choosing the default domain and general sets of a comparison.

A set is read once per model load, because "too short to score" is counted in the model's tokens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError

MIN_DOCUMENTS = 5  # fewer documents: the bootstrap intervals mean little
MIN_TOKENS = 1000


@dataclass
class EvalSet:
    """One evaluation set as scored: the documents kept, and the notes about what was skipped or is thin."""

    name: str
    path: Path
    ids: list[str]
    texts: list[str]
    warnings: list[str] = field(default_factory=list)


def _sample(name: str) -> Path:
    from workbench.samples import sample_path

    return sample_path(name)


def load_eval_set(path: str | os.PathLike, name: str, tokenizer, text_field: str = "text", text_unit: str = "auto") -> EvalSet:
    """Read an evaluation file; skip documents under two tokens (with a warning); reject empty sets."""
    from workbench.documents.readers import iter_documents

    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{name} evaluation file {path} does not exist.", "check the path.")
    docs = [d for d in iter_documents(path, text_field, text_unit)]
    docs = [d for d in docs if d.text.strip()]
    if not docs:
        raise WorkbenchError(
            f"{name} evaluation file {path} holds no documents.",
            f"give a JSONL file with a non-empty '{text_field}' field per line (or a .txt file).",
        )
    lengths = [len(ids) for ids in tokenizer([d.text for d in docs], add_special_tokens=False)["input_ids"]]
    short = [d.id for d, n in zip(docs, lengths) if n < 2]
    kept = [(d, n) for d, n in zip(docs, lengths) if n >= 2]
    notes = []
    if short:
        notes.append(
            f"{name}: skipped {len(short)} document(s) shorter than two tokens ({', '.join(short[:5])}"
            f"{'...' if len(short) > 5 else ''})."
        )
    if not kept:
        raise WorkbenchError(
            f"{name} evaluation file {path} has no document of two tokens or more.",
            "evaluate on longer documents (perplexity needs tokens to predict).",
        )
    tokens = sum(n for _, n in kept)
    if len(kept) == 1:
        notes.append(
            f"{name}: {path} is one document, so there is no bootstrap interval (it resamples documents); "
            "the numbers are that document's. Split it into several documents for an interval."
        )
    if len(kept) < MIN_DOCUMENTS or tokens < MIN_TOKENS:
        notes.append(
            f"{name}: only {len(kept)} document(s) and {tokens} tokens; intervals and calibration from so little "
            f"text are unreliable (aim for at least {MIN_DOCUMENTS} documents and {MIN_TOKENS} tokens)."
        )
    return EvalSet(name, path, [d.id for d, _ in kept], [d.text for d, _ in kept], notes)


def check_inputs(files: dict[str, str | os.PathLike | None]) -> None:
    """Evaluation files exist and are readable (not empty, binary or damaged): checked before a model loads."""
    from workbench.documents.readers import plan_files

    for name, path in files.items():
        if path and not Path(path).exists():
            raise WorkbenchError(f"{name} evaluation file {path} does not exist.", "check the path.")
        if path:
            plan_files(path)


def default_sets(config, card: dict | None) -> tuple[str, str]:
    """(domain, general) eval files of a comparison: the ones given, else the held-out sets the run
    evaluated on during training (one resolution with the trainer's: its ``domain_eval``, else its
    snapshot's eval split; its ``general_eval``), else the bundled samples."""
    from workbench.documents.texts import resolve_eval_sets

    run_config = (card or {}).get("config") or {}
    run_domain, run_general = resolve_eval_sets(run_config.get("data"), run_config.get("domain_eval"),
                                                run_config.get("general_eval"))
    return config.domain_eval or run_domain, config.general_eval or run_general


def uses_sample(domain_path: str | os.PathLike) -> bool:
    """Whether the domain set is the bundled sample (then the sample probes and glossary go with it)."""
    return Path(domain_path).resolve() == _sample("domain_eval.jsonl").resolve()
