"""Which in-training held-out sample agrees with the final comparison (issue 14)?

The curve users watch during training scores a small, fixed sample of each held-out set; the final
comparison scores every document whole. This trains one adapter (the workbench defaults, or takes
``--adapter``), then scores the base and the adapter on the whole sets (the comparison's number) and
on samples of several sizes drawn by each strategy, and prints each sample's change next to the
whole set's:

* ``first``: the first documents up to the budget (the sample before issue 14);
* ``middle``: evenly spaced documents, each a short span from its middle (``min_piece`` 64);
* ``start``: the same documents and shares, each span from the document's start;
* ``whole``: evenly spaced documents kept whole until the budget is spent (the last one cut).

Same scorer, window and stride as the comparison. No training is timed here.

    .venv/bin/python benchmarks/heldout_sample.py --budget 16384 --out benchmarks/results/heldout-sample-smollm2-16k.json
    .venv/bin/python benchmarks/heldout_sample.py --model tiny-llama --budget 2048   # a quick check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

STRATEGIES = ("first", "middle", "start", "whole")


def sample(strategy: str, tokenizer, texts: list[str], max_tokens: int) -> list[str]:
    from benchmarks.curve_vs_final import first_documents
    from workbench.training.data import cap_texts

    if strategy == "first":
        return first_documents(tokenizer, texts, max_tokens)
    if strategy in ("middle", "start"):
        return cap_texts(tokenizer, texts, max_tokens, min_piece=64, position=strategy)
    if strategy == "whole":
        return cap_texts(tokenizer, texts, max_tokens, position="whole")
    raise SystemExit(f"unknown strategy {strategy}; use {', '.join(STRATEGIES)}")


def change_pct(model, tokenizer, texts: list[str], window: int) -> tuple[float, int]:
    """Token perplexity change of the adapter over the base on ``texts`` (percent), and the tokens scored."""
    from workbench.evaluation.perplexity import score_documents

    with model.disable_adapter():
        base = score_documents(model, tokenizer, texts, window=window, progress=False)
    adapted = score_documents(model, tokenizer, texts, window=window, progress=False)
    return 100 * (adapted.token_ppl / base.token_ppl - 1), base.tokens


def main(argv: list[str] | None = None) -> dict:
    from benchmarks.adaptation_quality import _machine, _texts, corpus_arguments, train_workbench
    from workbench.evaluation.adapted import load_with_adapter
    from workbench.models.fetch import fetch_model
    from workbench.models.registry import REGISTRY

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(parser)
    parser.add_argument("--budget", type=int, default=16384, help="training tokens of the adapter")
    parser.add_argument("--adapter", default=None, help="score this run/adapter instead of training one")
    parser.add_argument("--sizes", default="256,512,1024,2048,4096", help="sample sizes (tokens per set)")
    parser.add_argument("--window", type=int, default=512, help="scoring window (compare's and eval_window's default)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.model in REGISTRY:
        fetch_model(args.model, quiet=True)
    sets = {"domain": _texts(Path(args.domain_eval)), "general": _texts(Path(args.general_eval))}
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="heldout-sample-") as tmp:
        adapter = args.adapter or train_workbench(args.model, Path(args.data), args.budget, Path(tmp),
                                                  preset=None, seed=args.seed)["adapter"]
        model, tokenizer = load_with_adapter(args.model, adapter, quant="nf4")
        rows, whole = [], {}
        for name, texts in sets.items():
            whole[name], tokens = change_pct(model, tokenizer, texts, args.window)
            rows.append({"set": name, "strategy": "all documents", "size": tokens, "change_pct": whole[name]})
            for size in sizes:
                for strategy in STRATEGIES:
                    pieces = sample(strategy, tokenizer, texts, size)
                    change, scored = change_pct(model, tokenizer, pieces, args.window)
                    rows.append({"set": name, "strategy": strategy, "size": size, "pieces": len(pieces),
                                 "tokens": scored, "change_pct": change, "gap_points": change - whole[name]})
                    print(json.dumps(rows[-1]), flush=True)
    result = {"machine": _machine(), "args": vars(args), "whole": whole, "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    _table(rows, sizes)
    return result


def _table(rows: list[dict], sizes: list[int]) -> None:
    for name in dict.fromkeys(r["set"] for r in rows):
        whole = next(r for r in rows if r["set"] == name and r["strategy"] == "all documents")
        print(f"\n{name}: all documents {whole['change_pct']:+.1f}% ({whole['size']:,} tokens); "
              "sample change (gap to all documents, points)")
        print(f"{'tokens/set':>10} " + " ".join(f"{s:>16}" for s in STRATEGIES))
        for size in sizes:
            cells = []
            for strategy in STRATEGIES:
                r = next(r for r in rows if r["set"] == name and r["strategy"] == strategy and r["size"] == size)
                cells.append(f"{r['change_pct']:+6.1f}% ({r['gap_points']:+5.1f})")
            print(f"{size:>10} " + " ".join(f"{c:>16}" for c in cells))
    for strategy in STRATEGIES:
        gaps = [r["gap_points"] for r in rows if r["strategy"] == strategy]
        print(f"{strategy:>8}: mean |gap| {sum(map(abs, gaps)) / len(gaps):.1f} points, "
              f"root mean square {math.sqrt(sum(g * g for g in gaps) / len(gaps)):.1f}")


if __name__ == "__main__":
    main()
