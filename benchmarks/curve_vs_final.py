"""The curve a user watches during training against the final comparison, for one run (issue 14).

Trains the workbench defaults once with in-training evaluation on (every 10% of the budget, on the
fixed held-out samples the trainer draws), then compares the final adapter with the base over the
whole held-out sets, and prints the two side by side, with a baseline: the sample the trainer used to
take before issue 14 (the *first* documents up to the same number of tokens), scored with the same
final adapter. The figure (``curve_vs_final``, the one the comparison report shows for a run) is
written as HTML.

    .venv/bin/python benchmarks/curve_vs_final.py --budget 16384 \\
        --out benchmarks/results/curve-vs-final-smollm2-16k.json --html /tmp/curve-vs-final.html
    .venv/bin/python benchmarks/curve_vs_final.py --model tiny-llama --budget 2048   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def first_documents(tokenizer, texts: list[str], max_tokens: int) -> list[str]:
    """The old in-training sample: documents in file order until ``max_tokens`` (the last one cut)."""
    out, used = [], 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if used + len(ids) >= max_tokens:
            rest = max_tokens - used
            if rest >= 16:
                out.append(tokenizer.decode(ids[:rest]))
            break
        out.append(text)
        used += len(ids)
    return out


def _compare(model: str, adapter: str, domain: Path, general: Path, window: int) -> dict:
    from workbench.evaluation.compare import run_compare
    from workbench.evaluation.config import EvalConfig

    config = EvalConfig(model=model, adapter=adapter, domain_eval=str(domain), general_eval=str(general),
                        probes=None, glossary=None, generations=0, window=window, quant="nf4")
    result = run_compare(config, progress=False)
    return result.data["verdict"], result


def _row(label: str, tokens: dict, verdict: dict) -> dict:
    return {"measure": label, "domain_tokens": tokens.get("domain"), "general_tokens": tokens.get("general"),
            "domain_change_pct": verdict["domain"]["change_pct"], "domain_ci95_pct": verdict["domain"].get("ci95_pct"),
            "general_change_pct": verdict["general"]["change_pct"],
            "general_ci95_pct": verdict["general"].get("ci95_pct")}


def main(argv: list[str] | None = None) -> dict:
    from benchmarks.adaptation_quality import corpus_arguments
    from workbench.io import read_jsonl, write_jsonl
    from workbench.models.fetch import fetch_model
    from workbench.models.registry import REGISTRY
    from workbench.runs import eval_curve
    from workbench.training.trainer import train
    from workbench.workflows import train_config
    from workbench.workspace import Workspace

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(parser)
    parser.add_argument("--budget", type=int, default=16384)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--html", default=None, help="HTML file for the figure")
    args = parser.parse_args(argv)
    if args.model in REGISTRY:
        fetch_model(args.model, quiet=True)

    with tempfile.TemporaryDirectory(prefix="curve-") as tmp:
        tmp = Path(tmp)
        config = train_config(model=args.model, data=args.data, max_tokens=args.budget,
                                   domain_eval=args.domain_eval, general_eval=args.general_eval,
                                   out=str(tmp / "run"), seed=args.seed)
        started = time.perf_counter()
        run = train(config, Workspace(tmp / "ws"), progress=False)
        seconds = time.perf_counter() - started
        curve = eval_curve(run)
        last = curve[-1]
        window = config.eval_window
        final, result = _compare(args.model, str(run), Path(args.domain_eval), Path(args.general_eval), window)

        # the old sample: the first documents, as many tokens as the trainer's sample
        from transformers import AutoTokenizer

        from workbench.models.load import resolve_model

        tokenizer = AutoTokenizer.from_pretrained(resolve_model(args.model).path)
        sizes = {name: last.get(f"{name}_eval_tokens") for name in ("domain", "general")}
        firsts = {}
        for name, path in (("domain", args.domain_eval), ("general", args.general_eval)):
            texts = [row["text"] for row in read_jsonl(path)]
            firsts[name] = tmp / f"first-{name}.jsonl"
            write_jsonl(firsts[name], [{"text": t} for t in first_documents(tokenizer, texts, sizes[name])])
        first, _ = _compare(args.model, str(run), firsts["domain"], firsts["general"], window)

        rows = [
            {"measure": f"in training, last evaluation (step {last['step']}, eval_sample={config.eval_sample})",
             "domain_tokens": sizes["domain"], "general_tokens": sizes["general"],
             "domain_change_pct": last["domain_change_pct"], "domain_ci95_pct": None,
             "general_change_pct": last["general_change_pct"], "general_ci95_pct": None},
            _row("first documents, same size (the sample before issue 14)", sizes, first),
            _row("final comparison, whole held-out sets", {}, final),
        ]
        from workbench.evaluation.plots import curve_vs_final

        fig = curve_vs_final(curve, final)
        if args.html:
            fig.write_html(args.html, include_plotlyjs="cdn")
        report = {"machine": _machine(), "args": vars(args), "train_seconds": seconds, "eval_sample": config.eval_sample,
                  "learning_rate": json.loads((run / "run.json").read_text())["config"]["learning_rate"],
                  "curve": [{k: r.get(k) for k in ("step", "tokens", "domain_ppl", "general_ppl", "domain_change_pct",
                                                   "general_change_pct", "domain_eval_tokens", "general_eval_tokens")}
                            for r in curve],
                  "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    _print(report)
    return report


def _machine() -> str:
    from benchmarks.train_throughput import machine

    return machine()


def _ci(ci) -> str:
    return "" if not ci else f"[{ci[0]:+.1f}, {ci[1]:+.1f}]"


def _print(report: dict) -> None:
    print(f"\n{'step':>5} {'tokens':>7} {'domain change':>14} {'general change':>15}")
    for r in report["curve"]:
        print(f"{r['step']:>5} {r['tokens']:>7} {r['domain_change_pct']:>+13.1f}% {r['general_change_pct']:>+14.1f}%")
    print(f"\n{'measure':60} {'domain':>8} {'95% CI':>16} {'general':>8} {'95% CI':>16}")
    for r in report["rows"]:
        print(f"{r['measure']:60} {r['domain_change_pct']:>+7.1f}% {_ci(r['domain_ci95_pct']):>16} "
              f"{r['general_change_pct']:>+7.1f}% {_ci(r['general_ci95_pct']):>16}")


if __name__ == "__main__":
    main()
