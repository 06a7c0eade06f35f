"""Training throughput: workbench's trainer (packed blocks) against the plain peft/bitsandbytes recipe.

Both run in this process, on the same corpus, model, LoRA settings, micro-batch and number of
optimizer steps:

* ours: ``workbench.training.trainer.train`` with a ``TrainConfig`` (documents packed into full
  blocks, EOS-separated, block-diagonal attention);
* baseline: transformers ``Trainer`` + peft QLoRA as the docs show it (``BitsAndBytesConfig`` NF4
  with double quantization, ``prepare_model_for_kbit_training``, ``LoraConfig(target_modules=
  "all-linear")``), one example per document truncated at ``--block-size``, padded per batch by
  ``DataCollatorForLanguageModeling(mlm=False)``.

Reported for each: useful (non-padding) tokens per second over the optimizer steps only (model
loading and our held-out evaluations excluded), over all steps and over the median step (robust to
other jobs on a shared machine), peak memory (CUDA ``max_memory_allocated``; on the
CPU the peak of sampled RSS above the RSS before the run), and ours/baseline. Gradient
checkpointing is the same for both (the trainer's 'auto': on with CUDA, off on the CPU).

    .venv/bin/python benchmarks/train_throughput.py --model tiny-llama --steps 8
    .venv/bin/python benchmarks/train_throughput.py --model smollm2-135m --steps 6 --block-size 512
    python benchmarks/train_throughput.py --model Llama-3.2-1B --steps 30 --block-size 1024   # GPU
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from workbench.training.plan import KNOWN_CONFIGS


# --- memory ---------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory of a block: CUDA max_memory_allocated, or sampled process RSS above the start."""

    def __init__(self, interval: float = 0.02):
        import torch

        self.cuda = torch.cuda.is_available()
        self.interval = interval
        self.peak_mb = 0.0

    def __enter__(self):
        import torch

        _release_memory()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
            return self
        import psutil

        self.process = psutil.Process()
        self.start = self.process.memory_info().rss
        self.max_rss = self.start
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.stop.is_set():
            self.max_rss = max(self.max_rss, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            self.peak_mb = (torch.cuda.max_memory_allocated() - self.start) / 2**20
        else:
            self.stop.set()
            self.thread.join()
            self.peak_mb = (self.max_rss - self.start) / 2**20
        return False


def _release_memory():
    """Free what the previous run left, and give it back to the OS so RSS deltas are comparable."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass


# --- models ---------------------------------------------------------------------------------
def prepare_model(name: str, workdir: Path) -> Path:
    """A local model folder: the registry models, a folder, or a real configuration with random weights."""
    from workbench.models.fetch import cached_model_path

    if Path(name).is_dir():
        return Path(name)
    if name == "tiny-llama":
        from workbench.models.tiny import build_tiny_model

        return build_tiny_model(workdir / "tiny-llama")
    if name == "smollm2-135m":
        path = cached_model_path(name)
        if path is None:
            sys.exit("smollm2-135m is not cached: run 'workbench models fetch smollm2-135m' first.")
        return path
    if name in KNOWN_CONFIGS:
        return _random_model(name, workdir / name)
    sys.exit(f"unknown --model {name}: use tiny-llama, smollm2-135m, a folder or one of {', '.join(KNOWN_CONFIGS)}.")


def _random_model(name: str, out: Path) -> Path:
    """Randomly initialised weights of a real configuration (weights cannot be downloaded here)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from workbench.models.fetch import cached_model_path
    from workbench.models.tiny import build_tiny_tokenizer

    cfg = dict(KNOWN_CONFIGS[name])
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    tokenizer_source = cached_model_path("smollm2-135m")
    if tokenizer_source is not None:  # 49,152 tokens: fits every vocabulary here
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
        tokenizer.save_pretrained(out)
    else:
        tokenizer = build_tiny_tokenizer(out)
    config.eos_token_id = config.bos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    torch.manual_seed(0)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(out, safe_serialization=True)
    del model
    _release_memory()
    return out


# --- the two recipes ------------------------------------------------------------------------
def run_ours(model_dir: Path, args, workdir: Path) -> dict:
    from workbench.io import read_json, read_jsonl
    from workbench.models.load import load_tokenizer
    from workbench.training.config import TrainConfig
    from workbench.training.trainer import prepare_data, train
    from workbench.workspace import Workspace

    config = TrainConfig(
        model=str(model_dir), data=args.data, quant=args.quant, block_size=args.block_size,
        micro_batch_size=args.micro_batch, grad_accum=1, max_tokens=args.steps * args.micro_batch * args.block_size,
        eval_every=0.0, eval_max_tokens=64, out=str(workdir / "ours"), seed=args.seed,
    )
    # the same deterministic packing and schedule the trainer builds: count the real tokens it trains on
    data = prepare_data(config, load_tokenizer(str(model_dir)))
    useful = int((data.blocks.labels[data.schedule] != -100).sum())
    slots = int(data.schedule.size * args.block_size)
    with PeakMemory() as mem:
        run = train(config, Workspace.at(workdir / "workspace"), progress=False)
    card = read_json(run / "run.json")
    rows = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("type") == "train"]
    cumulative = [0.0] + [float(r["train_seconds"]) for r in rows]
    step_seconds = [b - a for a, b in itertools.pairwise(cumulative)]
    return _result("ours (packed)", card["step"], useful, slots, step_seconds, mem.peak_mb,
                   rows[-1]["loss"] if rows else None)


def _result(name, steps, useful, slots, step_seconds, peak_mb, loss) -> dict:
    """Throughput over all steps, and over the median step (robust to other jobs on a shared machine)."""
    import statistics

    seconds = sum(step_seconds)
    median = statistics.median(step_seconds)
    return {"name": name, "steps": steps, "useful_tokens": useful, "token_slots": slots, "train_seconds": seconds,
            "step_seconds": [round(x, 3) for x in step_seconds], "median_step_seconds": median,
            "useful_tokens_per_s": useful / seconds, "useful_tokens_per_s_median": useful / steps / median,
            "peak_memory_mb": peak_mb, "loss_last": loss}


def run_baseline(model_dir: Path, args, workdir: Path) -> dict:
    """The recipe from the peft / bitsandbytes QLoRA docs, unpacked, padded per batch."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        BitsAndBytesConfig,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    from workbench.corpus.readers import read_texts

    cuda = torch.cuda.is_available()
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    texts = [t for t in read_texts(Path(args.data), "text") if t.strip()]
    dataset = Dataset.from_dict({"text": texts}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.block_size),
        batched=True, remove_columns=["text"],
    )
    kwargs = {"dtype": dtype, "device_map": {"": 0 if cuda else "cpu"}}
    if args.quant == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype,
        )
    checkpointing = cuda  # the trainer's 'auto'
    with PeakMemory() as mem:
        model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
        model.config.use_cache = False
        if args.quant == "nf4":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                                 task_type="CAUSAL_LM", bias="none"))
        timer = StepTimer()
        trainer = Trainer(
            model=model,
            args=TrainingArguments(
                output_dir=str(workdir / "baseline"), max_steps=args.steps, per_device_train_batch_size=args.micro_batch,
                learning_rate=2e-4, lr_scheduler_type="cosine", warmup_steps=1, logging_steps=1, save_strategy="no",
                report_to="none", seed=args.seed, bf16=cuda and dtype == torch.bfloat16,
                fp16=cuda and dtype == torch.float16, use_cpu=not cuda, disable_tqdm=True,
                optim="paged_adamw_8bit" if cuda and args.quant == "nf4" else "adamw_torch",
                gradient_checkpointing=checkpointing,
                gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
                dataloader_num_workers=0,
            ),
            train_dataset=dataset,
            data_collator=CountingCollator(DataCollatorForLanguageModeling(tokenizer, mlm=False), timer),
            callbacks=[timer],
        )
        # no base-model load in the timed steps, but the load counts towards peak memory as for ours
        trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    steps = trainer.state.global_step
    # the dataloader may collate one batch beyond the last step: count only the batches trained on
    result = _result("baseline (docs recipe, padded)", steps, sum(timer.useful[:steps]), sum(timer.slots[:steps]),
                     timer.step_seconds, mem.peak_mb, losses[-1] if losses else None)
    del trainer, model
    return result


from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Seconds inside optimizer steps (on_step_begin to on_step_end), as workbench's callback times them."""

    def __init__(self):
        self.step_seconds: list[float] = []
        self.useful: list[int] = []  # per collated batch
        self.slots: list[int] = []
        self._t = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._t = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.step_seconds.append(time.time() - self._t)


class CountingCollator:
    """Wraps the collator to count real (attention_mask == 1) tokens and padded slots per batch."""

    def __init__(self, collator, timer: StepTimer):
        self.collator, self.timer = collator, timer

    def __call__(self, features):
        batch = self.collator(features)
        self.timer.useful.append(int(batch["attention_mask"].sum()))
        self.timer.slots.append(int(batch["attention_mask"].numel()))
        return batch


# --- main -----------------------------------------------------------------------------------
def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical CPUs, torch threads {torch.get_num_threads()}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny-llama",
                        help=f"tiny-llama, smollm2-135m, a model folder, or a random-weight real config: {', '.join(KNOWN_CONFIGS)}")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps for each recipe")
    parser.add_argument("--block-size", type=int, default=256, help="packed block (ours) = truncation length (baseline)")
    parser.add_argument("--micro-batch", type=int, default=4, help="sequences per step, both recipes")
    parser.add_argument("--quant", choices=["nf4", "none"], default="nf4")
    parser.add_argument("--data", default=str(REPO / "sample_data" / "domain_corpus.jsonl"))
    parser.add_argument("--order", choices=["ours-first", "baseline-first"], default="ours-first")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        workdir = Path(tmp)
        model_dir = prepare_model(args.model, workdir)
        runners = [run_ours, run_baseline] if args.order == "ours-first" else [run_baseline, run_ours]
        results = {}
        for runner in runners:
            results[runner.__name__] = runner(model_dir, args, workdir)
            _release_memory()
    ours, base = results["run_ours"], results["run_baseline"]
    print(f"machine: {machine()}")
    print(f"model {args.model}, quant {args.quant}, micro-batch {args.micro_batch}, block {args.block_size}, "
          f"{args.steps} optimizer steps each, order {args.order}")
    print(f"{'recipe':<32}{'steps':>6}{'useful tok':>11}{'slots':>9}{'fill':>7}{'steps s':>9}{'median s':>9}"
          f"{'useful tok/s':>13}{'(median)':>10}{'peak MB':>9}{'last loss':>10}")
    for r in (ours, base):
        print(f"{r['name']:<32}{r['steps']:>6}{r['useful_tokens']:>11}{r['token_slots']:>9}"
              f"{r['useful_tokens'] / r['token_slots']:>7.1%}{r['train_seconds']:>9.1f}{r['median_step_seconds']:>9.2f}"
              f"{r['useful_tokens_per_s']:>13.1f}{r['useful_tokens_per_s_median']:>10.1f}"
              f"{r['peak_memory_mb']:>9.0f}{(r['loss_last'] or float('nan')):>10.3f}")
    ratio = ours["useful_tokens_per_s"] / base["useful_tokens_per_s"]
    ratio_median = ours["useful_tokens_per_s_median"] / base["useful_tokens_per_s_median"]
    mem_ratio = ours["peak_memory_mb"] / base["peak_memory_mb"] if base["peak_memory_mb"] > 0 else float("nan")
    print(f"ours / baseline: useful tokens/s x{ratio:.2f} (all steps), x{ratio_median:.2f} (median step); "
          f"peak memory x{mem_ratio:.2f}")
    summary = {"machine": machine(), "args": vars(args), "ours": ours, "baseline": base,
               "throughput_ratio": ratio, "throughput_ratio_median": ratio_median, "memory_ratio": mem_ratio}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
