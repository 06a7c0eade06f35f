"""Count the sample data: documents and words per file (the numbers in sample_data/README.md).

Run: python sample_data/count.py
Words are whitespace-separated pieces, as ``str.split()`` counts them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def count_jsonl(path: Path) -> dict:
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"documents": len(docs), "words": sum(len(d["text"].split()) for d in docs)}


def count_csv(path: Path) -> dict:
    with open(path, encoding="utf-8", newline="") as handle:
        return {"rows": sum(1 for _ in csv.DictReader(handle))}


def counts() -> dict[str, dict]:
    result = {}
    for path in sorted(HERE.iterdir()):
        if path.suffix == ".jsonl":
            result[path.name] = count_jsonl(path)
        elif path.suffix == ".csv":
            result[path.name] = count_csv(path)
    return result


if __name__ == "__main__":
    for name, row in counts().items():
        print(f"{name:<22} " + ", ".join(f"{v:,} {k}" for k, v in row.items()))
