"""The bundled sample data (package data, so ``pip install`` outside the repository still has it).

``sample_path("domain_corpus.jsonl")`` is the default corpus of the quickstart and of training;
``domain_eval.jsonl``, ``general_eval.jsonl``, ``glossary.csv`` and ``probes.csv`` go with it;
``general_replay.jsonl`` is what ``replay: sample`` trains on, kept apart from ``general_eval.jsonl``.
In the repository, ``sample_data/`` is a link to ``workbench/sample_data/``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE_DATA = Path(str(files("workbench").joinpath("sample_data")))
SAMPLE_REPLAY = "general_replay.jsonl"  # the text of 'replay: sample'


def sample_path(name: str) -> Path:
    """A file of the bundled sample data (domain_corpus.jsonl, domain_eval.jsonl, general_eval.jsonl...)."""
    return SAMPLE_DATA / name
