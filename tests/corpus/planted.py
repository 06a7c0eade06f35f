"""Planted test data: near-duplicates, exact duplicates, PII and leakage inserted at known places."""

from __future__ import annotations

import json
import random
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
FILLER = ("river", "garden", "window", "market", "yellow", "engine", "silver", "harbour", "violin", "meadow", "lantern",
          "pencil", "thunder", "blanket", "orchard", "compass")


def sample_docs() -> list[dict]:
    with open(SAMPLE / "domain_corpus.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def change_words(text: str, share: float, rng: random.Random) -> str:
    """Replace about ``share`` of the words (at distinct random positions) with unrelated words."""
    words = text.split()
    for i in rng.sample(range(len(words)), max(1, round(share * len(words)))):
        words[i] = rng.choice(FILLER)
    return " ".join(words)


def add_header_footer(text: str, n: int) -> str:
    return (f"Hospital pharmacy bulletin number {n}, ward edition, circulated on Tuesday morning\n{text}\n"
            f"Printed copy {n} of the formulary committee notes, not for external distribution")


def near_duplicate_corpus(n_word: int = 20, n_header: int = 20, seed: int = 0) -> tuple[list[dict], list[tuple[int, int]]]:
    """The sample corpus plus variants: 2% of words changed, or a different header and footer on both copies.

    Returns the documents and the planted (original index, variant index) pairs.
    """
    rng = random.Random(seed)
    docs = [dict(d) for d in sample_docs()]
    pairs = []
    for k, i in enumerate(range(n_word)):
        docs.append({"id": f"word-variant-{k}", "text": change_words(docs[i]["text"], 0.02, rng)})
        pairs.append((i, len(docs) - 1))
    for k, i in enumerate(range(n_word, n_word + n_header)):
        original = docs[i]["text"]
        docs[i] = {**docs[i], "text": add_header_footer(original, 100 + k)}
        docs.append({"id": f"header-variant-{k}", "text": add_header_footer(original, 200 + k)})
        pairs.append((i, len(docs) - 1))
    return docs, pairs


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for d in docs:
            handle.write(json.dumps(d) + "\n")
    return path
