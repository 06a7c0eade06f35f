"""CPU speed of the laptop loop against the CPU's own peak, in one run.

    .venv/bin/python benchmarks/cpu_speed.py                      # smollm2-135m, the sample sets
    .venv/bin/python benchmarks/cpu_speed.py --train-tokens 4096 --docs 12

1. GEMM microbenchmark at the model's shapes (each decoder linear and the head, ``--rows`` token
   rows at a time), fp32 and bf16: FLOPs over time, summed over the shapes as the model mixes them.
   That is the achievable peak the rest is measured against.
2. Scoring (``score_documents``, window ``--window``, the sample domain set): scored tokens/s and
   forward positions/s, fp32 then bf16 autocast; share of the peak of the same precision, with the
   model's forward FLOPs per position from ``workbench.training.plan`` (half its forward+backward).
3. Training (``workbench.workflows.train``, the sample corpus, ``--train-tokens``): tokens/s from
   metrics.jsonl, fp32 then bf16 (``WORKBENCH_CPU_PRECISION``); share of the peak with the plan's
   executed FLOPs per token.
4. The run's adapter on the NF4 base dequantized for scoring: base side and adapted side in one loaded
   model, with the adapter folded into the dense weights and without (peft's LoRA forward on top).
5. Two comparisons of the bf16 run against the same sets (``workbench.workflows.compare``): the
   second reads the base's scores back; the speedup of the second.

Threads: what ``workbench.models.runtime.apply_threads`` picks (set ``WORKBENCH_THREADS`` to
override). Prints ``uptime`` before and after (the host may be shared) and one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_model() -> dict:
    info = {}
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
            info[key.strip()] = value.strip()
        if key.strip() == "Flags":
            flags = value.split()
            info["simd"] = [f for f in flags if f.startswith(("avx512", "amx", "avx2", "fma"))]
    return info


def gemm_peak(shapes: list[tuple[int, int]], rows: int, dtype, seconds: float = 1.0) -> float:
    """FLOP/s of ``rows x in @ in x out`` over ``shapes`` (each timed about ``seconds``), summed as the model does."""
    from collections import Counter

    import torch

    total_flops, total_time = 0.0, 0.0
    for (n_in, n_out), count in Counter(shapes).items():  # each distinct shape timed once, weighted by its count
        a = torch.randn(rows, n_in, dtype=dtype)
        w = torch.randn(n_out, n_in, dtype=dtype)
        torch.nn.functional.linear(a, w)  # warm-up
        repeats, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            torch.nn.functional.linear(a, w)
            repeats += 1
        per_call = (time.perf_counter() - start) / repeats
        total_flops += count * 2 * rows * n_in * n_out
        total_time += count * per_call
    return total_flops / total_time


def model_shapes(config) -> list[tuple[int, int]]:
    """(in, out) of one decoder layer's linears, the layer's count times, and the head once."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    h, kv = config.hidden_size, config.num_key_value_heads * head_dim
    layer = [(h, config.num_attention_heads * head_dim), (h, kv), (h, kv), (config.num_attention_heads * head_dim, h),
             (h, config.intermediate_size), (h, config.intermediate_size), (config.intermediate_size, h)]
    return layer * config.num_hidden_layers + [(h, config.vocab_size)]


def read_texts(path: Path, n: int) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()][:n]


def scoring(model, tokenizer, texts, window, precision) -> dict:
    from workbench.evaluation.perplexity import _windows, score_documents

    start = time.perf_counter()
    scored = score_documents(model, tokenizer, texts, window=window, batch_size=4, progress=False, precision=precision)
    seconds = time.perf_counter() - start
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    positions = sum(end - begin for seq in ids for begin, end, _ in _windows(len(seq) + 1, window, window // 2))
    return {"tokens": scored.tokens, "seconds": seconds, "tokens_per_s": scored.tokens / seconds,
            "positions_per_s": positions / seconds, "token_ppl": scored.token_ppl}


def training(model_spec, data, tokens, block, workspace, precision) -> dict:
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    os.environ["WORKBENCH_CPU_PRECISION"] = precision
    try:
        config = TrainConfig(model=model_spec, data=str(data), max_tokens=tokens, block_size=block, micro_batch_size=1,
                             grad_accum=1, eval_every=0, out=str(workspace / "runs" / f"speed-{precision}"))
        start = time.perf_counter()
        run = train(config, Workspace.at(workspace), progress=False, overwrite=True)
        wall = time.perf_counter() - start
    finally:
        os.environ.pop("WORKBENCH_CPU_PRECISION", None)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = [r for r in records if r.get("type") == "train"][-1]
    card = json.loads((run / "run.json").read_text())
    return {"run": str(run), "tokens": last["tokens"], "tokens_per_s": last["tokens_per_s"], "wall_seconds": wall,
            "runtime": card.get("runtime"), "flops_per_token_executed": (card.get("plan") or {}).get("flops_per_token_executed"),
            "final_loss": last.get("loss")}


def comparisons(run: str, domain: Path, general: Path, workspace: Path, window: int) -> dict:
    from workbench import workflows
    from workbench.evaluation.config import EvalConfig

    times, cards = [], []
    for i in range(2):
        config = EvalConfig(adapter=run, domain_eval=str(domain), general_eval=str(general), window=window,
                            generations=0, n_bootstrap=200, labels="none", out=str(workspace / "comparisons" / f"speed-{i}"))
        start = time.perf_counter()
        folder = workflows.compare(config, workspace, progress=False, overwrite=True)
        times.append(time.perf_counter() - start)
        cards.append(json.loads((folder / "comparison.json").read_text())["card"]["runtime"])
    return {"first_seconds": times[0], "second_seconds": times[1], "speedup": times[0] / times[1],
            "base_scores": [c["base_scores"] for c in cards]}


def adapted_scoring(model_spec, run: str, texts, window: int) -> dict:
    """Seconds to score ``texts`` with the base side and the adapted side of one loaded NF4 model and its
    adapter, the adapter folded into the dense base and not (peft's LoRA forward on top of it), in one run."""
    from workbench.evaluation.adapted import load_with_adapter
    from workbench.evaluation.perplexity import score_documents
    from workbench.models.load import DequantizedBase

    model, tokenizer = load_with_adapter(model_spec, run, quant="nf4", device="cpu", dequantize="off")
    out = {}
    for fold in (False, True):
        with DequantizedBase(model, fold_lora=fold):
            score_documents(model, tokenizer, texts[:1], window=window, progress=False)  # warm-up (and the fold)
            start = time.perf_counter()
            with model.disable_adapter():
                base = score_documents(model, tokenizer, texts, window=window, progress=False)
            middle = time.perf_counter()
            adapted = score_documents(model, tokenizer, texts, window=window, progress=False)
            end = time.perf_counter()
        out["folded" if fold else "peft"] = {"base_seconds": middle - start, "adapted_seconds": end - middle,
                                             "adapted_over_base": (end - middle) / (middle - start),
                                             "adapted_ppl": adapted.token_ppl, "base_ppl": base.token_ppl}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--docs", type=int, default=6, help="documents of each sample set scored")
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--rows", type=int, default=512, help="token rows of the GEMM microbenchmark")
    parser.add_argument("--train-tokens", type=int, default=2048)
    parser.add_argument("--block", type=int, default=256)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: scoring,training,adapted,compare")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    import torch

    from workbench.models.fetch import fetch_model
    from workbench.models.load import load_model, resolve_model
    from workbench.models.runtime import apply_threads, cpu_has_bf16
    from workbench.training.plan import PlanConfig, estimate

    result = {"uptime_before": uptime(), "cpu": cpu_model(), "bf16_flags": cpu_has_bf16(), "threads": apply_threads(),
              "torch": torch.__version__, "model": args.model}
    print(json.dumps(result), flush=True)
    folder = fetch_model(args.model, quiet=True)
    model, tokenizer, _ = load_model(resolve_model(args.model), quant="none", device="cpu")
    model.eval()
    shapes = model_shapes(model.config)
    result["peak_gflops"] = {"fp32": gemm_peak(shapes, args.rows, torch.float32) / 1e9}
    if cpu_has_bf16():
        result["peak_gflops"]["bf16"] = gemm_peak(shapes, args.rows, torch.bfloat16) / 1e9
    print(json.dumps({"peak_gflops": result["peak_gflops"]}), flush=True)
    plan = estimate(folder, PlanConfig(gpu="cpu", block_size=args.window, quant="none"))
    forward_flops = plan.flops_per_token / 2  # forward of the frozen base: about half of forward + backward
    result["forward_flops_per_position"] = forward_flops

    domain_texts = read_texts(REPO / "sample_data" / "domain_eval.jsonl", args.docs)
    if "scoring" not in skip:
        result["scoring"] = {}
        for precision in ("fp32", "bf16") if cpu_has_bf16() else ("fp32",):
            r = scoring(model, tokenizer, domain_texts, args.window, precision)
            r["share_of_peak"] = r["positions_per_s"] * forward_flops / (result["peak_gflops"][precision] * 1e9)
            result["scoring"][precision] = r
            print(json.dumps({"scoring": {precision: r}}), flush=True)
    del model
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "workspace"
        if "training" not in skip:
            result["training"] = {}
            for precision in ("fp32", "bf16") if cpu_has_bf16() else ("fp32",):
                r = training(args.model, REPO / "sample_data" / "domain_corpus.jsonl", args.train_tokens, args.block,
                             workspace, precision)
                if r["flops_per_token_executed"]:
                    r["share_of_peak"] = r["tokens_per_s"] * r["flops_per_token_executed"] / (
                        result["peak_gflops"][precision] * 1e9)
                result["training"][precision] = r
                print(json.dumps({"training": {precision: r}}), flush=True)
        if "adapted" not in skip and "training" not in skip:
            run = result["training"]["bf16" if cpu_has_bf16() else "fp32"]["run"]
            result["adapted_scoring"] = adapted_scoring(args.model, run, domain_texts, args.window)
            print(json.dumps({"adapted_scoring": result["adapted_scoring"]}), flush=True)
        if "compare" not in skip and "training" not in skip:
            sets = Path(tmp) / "sets"
            sets.mkdir()
            for name in ("domain_eval", "general_eval"):
                with open(sets / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                    for i, text in enumerate(read_texts(REPO / "sample_data" / f"{name}.jsonl", args.docs)):
                        handle.write(json.dumps({"id": f"{name}-{i}", "text": text}) + "\n")
            run = result["training"]["bf16" if cpu_has_bf16() else "fp32"]["run"]
            result["compare"] = comparisons(run, sets / "domain_eval.jsonl", sets / "general_eval.jsonl", workspace,
                                            args.window)
            print(json.dumps({"compare": result["compare"]}), flush=True)
    result["uptime_after"] = uptime()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
