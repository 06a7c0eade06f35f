"""The walking skeleton: default model -> token count -> QLoRA run -> base vs adapted perplexity.

``workbench quickstart`` runs it end to end on the bundled sample data and writes
``<workspace>/quickstart/summary.json``. It never waits for input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import check_output_folder, read_json, write_json
from workbench.models.registry import DEFAULT_MODEL
from workbench.runcard import make_run_card
from workbench.samples import sample_path
from workbench.workspace import Workspace

# CPU: fits the 15-minute promise on a 2-core machine (see BENCHMARKS.md). GPU: about four
# passes over the sample corpus, capped; more would only overfit 40k words.
CPU_TOKENS = 16_384
GPU_EPOCHS = 4
GPU_MAX_TOKENS = 1_000_000
BLOCKS_PER_STEP = 8  # 8 x 256 = 2,048 tokens per optimizer step on every device
# CPU: micro-batches of CPU_MICRO_BATCH blocks accumulated to BLOCKS_PER_STEP. The activations of
# 8 x 256 tokens without checkpointing peaked at 8.5 GB of RSS; this keeps the quickstart under
# 4 GB at about the same speed (BENCHMARKS.md, "Quickstart memory").
CPU_MICRO_BATCH = 2
CPU_GRADIENT_CHECKPOINTING = "off"


@dataclass
class QuickstartConfig:
    model: str = DEFAULT_MODEL
    """Model spec (registry name, folder, .gguf, Hub id)."""
    data: str = str(sample_path("domain_corpus.jsonl"))
    """Domain training corpus."""
    domain_eval: str = str(sample_path("domain_eval.jsonl"))
    """Held-out domain text."""
    general_eval: str = str(sample_path("general_eval.jsonl"))
    """Held-out general text (forgetting)."""
    max_tokens: int | None = None
    """Training budget; default 16,384 on the CPU, four passes over the corpus on a GPU."""
    block_size: int = 256
    """Tokens per packed block."""
    micro_batch_size: int | None = None
    """Blocks per forward pass; default 8 on a GPU, CPU_MICRO_BATCH on the CPU."""
    grad_accum: int | None = None
    """Micro-batches per optimizer step; default: as many as make 8 blocks (2,048 tokens) per step."""
    gradient_checkpointing: str | None = None
    """on/off/auto; default: auto on a GPU (on), CPU_GRADIENT_CHECKPOINTING on the CPU."""
    learning_rate: float = 1e-3
    """LoRA learning rate (high: a short run must move)."""
    eval_window: int = 512
    """Sliding window for the final perplexities."""
    quant: str = "nf4"
    """Base weights: nf4 (QLoRA) or none."""
    seed: int = 42
    """Seed."""
    eval_docs: int | None = None
    """Use only the first N documents of each evaluation set (quick checks; default all)."""


OPTION_HELP = {
    # the ``workbench quickstart --help`` line of each QuickstartConfig field it takes as a flag (workbench/cli/options.py)
    "model": "Model spec.",
    "max_tokens": f"Training budget in tokens (default: {CPU_TOKENS:,} on the CPU, {GPU_EPOCHS} corpus passes on a GPU).",
    "data": "Domain corpus.",
    "domain_eval": "Held-out domain text.",
    "general_eval": "Held-out general text.",
    "eval_docs": "Evaluate on the first N documents of each set only.",
}


def run_quickstart(config: QuickstartConfig | None = None, workspace: Workspace | None = None, progress: bool = True) -> dict:
    """Run the skeleton and return the summary (also written to ``quickstart/summary.json``)."""
    from workbench.documents.texts import read_texts
    from workbench.evaluation.adapted import load_with_adapter
    from workbench.evaluation.perplexity import score_documents
    from workbench.models.load import default_device, load_tokenizer, resolve_model
    from workbench.training.data import tokenize_texts
    from workbench.workflows import train, train_config

    config = config or QuickstartConfig()
    workspace = workspace or Workspace.at()
    folder = workspace.folder("quickstart")
    started = time.time()
    device = default_device()
    say = print if progress else (lambda *a, **k: None)
    # the quickstart replaces its own earlier run, never a folder of the user's files; checked before any work
    check_output_folder(folder / "run", overwrite=True, option="workspace")

    say(f"[1/4] model: resolving '{config.model}' (first time: download and convert, about a minute)")
    resolved = resolve_model(config.model)
    tokenizer = load_tokenizer(resolved)

    for what, field in (("corpus", "data"), ("domain evaluation text", "domain_eval"), ("general evaluation text", "general_eval")):
        path = getattr(config, field)
        if not Path(path).exists():
            raise WorkbenchError(f"{what} {path} does not exist.",
                                 "check the path given to {field}, or leave it out to use the sample data.", field=field)
    say(f"[2/4] corpus: counting {Path(config.data).name} in the model's tokens")
    texts = read_texts(config.data)
    if not any(t.strip() for t in texts):
        raise WorkbenchError(f"corpus {config.data} is empty.", "give {field} a JSONL file with a 'text' field per line.",
                             field="data")
    token_count = sum(len(ids) for ids in tokenize_texts(tokenizer, texts))
    words = sum(len(t.split()) for t in texts)
    say(f"      {len(texts)} documents, {words:,} words, {token_count:,} tokens ({token_count / max(words, 1):.2f} tokens/word)")

    if config.max_tokens:
        budget = config.max_tokens
    elif device == "cuda":
        budget = min(GPU_EPOCHS * token_count, GPU_MAX_TOKENS)
    else:
        budget = CPU_TOKENS
    micro = config.micro_batch_size or (CPU_MICRO_BATCH if device == "cpu" else BLOCKS_PER_STEP)
    accum = config.grad_accum or max(1, BLOCKS_PER_STEP // micro)
    checkpointing = config.gradient_checkpointing or (CPU_GRADIENT_CHECKPOINTING if device == "cpu" else "auto")
    # through the recipe layer, as `workbench train` would: the model's preset under these settings
    settings = train_config(
        model=config.model,
        data=config.data,
        out=str(folder / "run"),
        quant=config.quant,
        max_tokens=budget,
        block_size=config.block_size,
        micro_batch_size=micro,
        grad_accum=accum,
        gradient_checkpointing=checkpointing,
        learning_rate=config.learning_rate,
        domain_eval=config.domain_eval,
        general_eval=config.general_eval,
        eval_every=0.25,  # in-training samples sized from the budget (TrainConfig.eval_tokens_per_set)
        eval_window=config.eval_window,
        seed=config.seed,
        name="quickstart",
    )
    say(f"[3/4] training: QLoRA ({config.quant}, LoRA on all linear layers) for {budget:,} tokens on {device}")
    t0 = time.time()
    run_dir = train(settings, workspace, overwrite=True, progress=progress)
    train_seconds = time.time() - t0

    say("[4/4] evaluating: base vs adapted perplexity on held-out domain and general text")
    t1 = time.time()
    model, tokenizer = load_with_adapter(resolved, run_dir, quant=config.quant, device=device)
    sets = {"domain": read_texts(config.domain_eval)[: config.eval_docs], "general": read_texts(config.general_eval)[: config.eval_docs]}
    scores: dict[str, dict[str, dict]] = {"base": {}, "adapted": {}}
    for name, eval_texts in sets.items():
        with model.disable_adapter():
            base = score_documents(model, tokenizer, eval_texts, window=config.eval_window, desc=f"base/{name}", progress=progress)
        adapted = score_documents(model, tokenizer, eval_texts, window=config.eval_window, desc=f"adapted/{name}", progress=progress)
        for label, score in (("base", base), ("adapted", adapted)):
            scores[label][name] = {"token_ppl": score.token_ppl, "bits_per_byte": score.bits_per_byte, "tokens": score.tokens}

    eval_seconds = time.time() - t1
    summary = {
        "model": config.model,
        "device": device,
        "base": {"domain_ppl": scores["base"]["domain"]["token_ppl"], "general_ppl": scores["base"]["general"]["token_ppl"]},
        "adapted": {"domain_ppl": scores["adapted"]["domain"]["token_ppl"], "general_ppl": scores["adapted"]["general"]["token_ppl"]},
        "details": scores,
        "corpus": {"documents": len(texts), "words": words, "tokens": token_count},
        "train_tokens": read_json(run_dir / "run.json")["tokens_seen"],
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "seconds": round(time.time() - started, 1),
        "run": str(run_dir),
    }
    scored = sum(scores[side][name]["tokens"] for side in scores for name in scores[side])
    summary["train_tokens_per_s"] = round(summary["train_tokens"] / train_seconds, 1) if train_seconds else None
    summary["eval_tokens_per_s"] = round(scored / eval_seconds, 1) if eval_seconds else None
    summary["domain_ppl_change_pct"] = 100 * (summary["adapted"]["domain_ppl"] / summary["base"]["domain_ppl"] - 1)
    summary["general_ppl_change_pct"] = 100 * (summary["adapted"]["general_ppl"] / summary["base"]["general_ppl"] - 1)
    summary.update(peak_memory_mb(device))
    summary["card"] = make_run_card(
        "quickstart", config, seed=config.seed,
        inputs={"data": config.data, "domain_eval": config.domain_eval, "general_eval": config.general_eval},
    )
    write_json(folder / "summary.json", summary)
    from workbench.artifacts import headline, write_manifest

    write_manifest(folder, "quickstart", card=summary["card"], headline=headline("quickstart", summary))
    return summary


def peak_memory_mb(device: str) -> dict[str, float]:
    """Peak resident memory of this process so far (``peak_rss_mb``, what ``/usr/bin/time -v``
    reports as maximum resident set size), and on a GPU the peak allocated by torch."""
    import sys

    try:
        import resource

        # Linux reports KiB, macOS bytes
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    except ImportError:  # Windows: the peak working set
        import psutil

        info = psutil.Process().memory_info()
        peak = getattr(info, "peak_wset", info.rss) / 2**20
    out = {"peak_rss_mb": round(peak, 1)}
    if device == "cuda":
        import torch

        out["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def wall_time_line(summary: dict) -> str:
    """``wall time 4m 12s: training 3m 05s (88 tokens/s), scoring 52s (1,230 tokens/s), the rest 15s``."""
    line = f"wall time {_duration(summary['seconds'])}"
    if summary.get("train_seconds") is None:  # a summary written before these keys existed
        return line
    parts = [f"training {_duration(summary['train_seconds'])}"
             + (f" ({summary['train_tokens_per_s']:,.0f} tokens/s)" if summary.get("train_tokens_per_s") else "")]
    if summary.get("eval_seconds") is not None:
        parts.append(f"scoring {_duration(summary['eval_seconds'])}"
                     + (f" ({summary['eval_tokens_per_s']:,.0f} tokens/s)" if summary.get("eval_tokens_per_s") else ""))
        rest = summary["seconds"] - summary["train_seconds"] - summary["eval_seconds"]
        parts.append(f"model and corpus {_duration(max(rest, 0))}")
    return f"{line}: " + ", ".join(parts)


def format_summary(summary: dict, folder: Path) -> str:
    b, a = summary["base"], summary["adapted"]
    lines = [
        "",
        f"{'perplexity (lower is better)':<30}{'base':>10}{'adapted':>10}{'change':>10}",
        f"{'domain (held-out)':<30}{b['domain_ppl']:>10.2f}{a['domain_ppl']:>10.2f}{summary['domain_ppl_change_pct']:>+9.1f}%",
        f"{'general (forgetting)':<30}{b['general_ppl']:>10.2f}{a['general_ppl']:>10.2f}{summary['general_ppl_change_pct']:>+9.1f}%",
        "",
        f"trained on {summary['train_tokens']:,} tokens on {summary['device']}",
        wall_time_line(summary),
        f"peak memory: {summary['peak_rss_mb']:,.0f} MB resident"
        + (f", {summary['gpu_peak_mb']:,.0f} MB on the GPU" if summary.get("gpu_peak_mb") is not None else ""),
        "",
        "where to look next:",
        f"  summary        {folder / 'summary.json'}",
        f"  run card       {Path(summary['run']) / 'run.json'}",
        f"  live metrics   {Path(summary['run']) / 'metrics.jsonl'}",
        f"  adapter        {Path(summary['run']) / 'adapter'}  (PeftModel.from_pretrained loads it)",
        "  next steps     workbench inspect sample_data/domain_corpus.jsonl   |   workbench train --help",
    ]
    return "\n".join(lines)
