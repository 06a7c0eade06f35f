"""Training throughput: workbench's trainer (packed blocks) against Hugging Face's ``run_clm.py`` recipe.

Both run in this process, on exactly the same list of documents, model, quantization, LoRA
settings, micro-batch, block size and number of optimizer steps, with the same torch thread count:

* ours: ``workbench.workflows.train`` with a ``TrainConfig`` (documents packed into full
  blocks, EOS-separated, block-diagonal attention; a document longer than a block continues in
  the next block, so nothing is truncated);
* baseline: the recipe of transformers' ``examples/pytorch/language-modeling/run_clm.py``, which is
  what a practitioner runs for continued pretraining: tokenize, concatenate and chunk with
  ``group_texts`` into blocks of ``--block-size`` (the remainder of each 1,000-document map batch
  is dropped, labels = input ids, ``default_data_collator``), then a plain ``transformers.Trainer``
  with peft QLoRA as the peft/bitsandbytes docs show it (``BitsAndBytesConfig`` NF4 with double
  quantization, ``prepare_model_for_kbit_training``, ``LoraConfig(r=16, alpha=32, dropout=0.05,
  target_modules="all-linear")``, the same as ours' defaults). Its blocks are full too, but attention
  runs across document boundaries (plain causal attention over the concatenation);
* ``--padded-baseline`` adds an extra, explicitly named recipe: one example per document truncated
  at ``--block-size`` and padded per batch by ``DataCollatorForLanguageModeling(mlm=False)`` (the
  peft docs' supervised-style data path; not what one runs for continued pretraining).

``--docs`` picks the document list the recipes get, built from ``--data`` and written to one
temporary JSONL that our ``TrainConfig.data`` points at and the baselines read:

* ``paragraphs`` (default): every document split on blank lines, one document per paragraph
  (a wider, right-skewed mix of short and long documents, as abstracts, notes and sections are);
* ``documents``: the corpus as it is.

Reported for each recipe (median over ``--repeats`` interleaved runs: ours, baseline, baseline,
ours, ...): useful tokens per second over the optimizer steps only (model loading, tokenization and
our held-out evaluations excluded; useful = text tokens trained on, counted the same way for every
recipe: neither padding nor EOS/BOS/special tokens, and never tokens cut off by truncation), over
all steps and over the median step; the share of token slots that were padding; tokens the recipe
drops from the documents (the padded recipe's truncation; ``group_texts``' remainders); peak memory
(CUDA ``max_memory_allocated``; on the CPU the peak of sampled RSS above the RSS before the run);
ours/baseline ratios; and the 1-minute load average around each run. Gradient checkpointing is the
same for all (the trainer's 'auto': on with CUDA, off on the CPU).

    .venv/bin/python benchmarks/train_throughput.py --model tiny-llama --steps 20 --threads 1 --repeats 2
    .venv/bin/python benchmarks/train_throughput.py --model tiny-llama --steps 8 --threads 1 --docs documents --padded-baseline
    .venv/bin/python benchmarks/train_throughput.py --model smollm2-135m --steps 4 --block-size 256 --threads 1 --repeats 2
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
import re
import statistics
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
def prepare_model(name: str, workdir: Path, tokenizer: str | None = None) -> Path:
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
        return _random_model(name, workdir / name, tokenizer)
    sys.exit(f"unknown --model {name}: use tiny-llama, smollm2-135m, a folder or one of {', '.join(KNOWN_CONFIGS)}.")


def _random_model(name: str, out: Path, tokenizer_dir: str | None = None) -> Path:
    """Randomly initialised weights of a real configuration (weights cannot be downloaded here).

    The tokenizer is ``tokenizer_dir`` if given, else the cached smollm2-135m one (49,152 tokens:
    fits every vocabulary here), else the tiny test tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from workbench.models.fetch import cached_model_path
    from workbench.models.tiny import build_tiny_tokenizer

    cfg = dict(KNOWN_CONFIGS[name])
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    tokenizer_source = tokenizer_dir or cached_model_path("smollm2-135m")
    if tokenizer_source is not None:
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


# --- the document list both recipes get -----------------------------------------------------
def build_documents(args, workdir: Path) -> Path:
    """Write the benchmark's documents (``--docs``) to one JSONL file; both recipes read it."""
    from workbench.documents.texts import read_texts

    texts = [t for t in read_texts(Path(args.data), "text") if t.strip()]
    if args.docs == "paragraphs":
        texts = [p.strip() for t in texts for p in re.split(r"\n[ \t]*\n", t) if p.strip()]
    path = workdir / f"benchmark-{args.docs}.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for text in texts:
            out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    return path


def document_lengths(model_dir: Path, path: Path) -> list[int]:
    """Token lengths of the benchmark documents in this model's tokenizer (as the baseline tokenizes)."""
    from transformers import AutoTokenizer

    from workbench.documents.texts import read_texts

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    texts = list(read_texts(path, "text"))
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]


def _special_ids(tokenizer):
    import torch

    return torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)


# --- the two recipes ------------------------------------------------------------------------
def run_ours(model_dir: Path, args, workdir: Path, data_path: Path, tag: str) -> dict:
    import numpy as np

    from workbench.io import read_json, read_jsonl
    from workbench.models.load import load_tokenizer
    from workbench.training.config import TrainConfig
    from workbench.training.data import prepare_data
    from workbench.training.packing import IGNORE_INDEX
    from workbench.workflows import train
    from workbench.workspace import Workspace

    config = TrainConfig(
        model=str(model_dir), data=str(data_path), quant=args.quant, block_size=args.block_size,
        micro_batch_size=args.micro_batch, grad_accum=1, max_tokens=args.steps * args.micro_batch * args.block_size,
        eval_every=0.0, preset="none", eval_max_tokens=64, out=str(workdir / f"ours-{tag}"), seed=args.seed,
        chunked_loss=not args.no_chunked_loss,
    )
    # the same deterministic packing and schedule the trainer builds: count what it trains on
    tokenizer = load_tokenizer(str(model_dir))
    data = prepare_data(config, tokenizer)
    labels = data.blocks.labels[data.schedule]
    inputs = data.blocks.input_ids[data.schedule]
    special = np.isin(inputs, sorted(set(tokenizer.all_special_ids)))
    useful = int(((labels != IGNORE_INDEX) & ~special).sum())  # text tokens: no padding, no EOS separators
    padding = int((labels == IGNORE_INDEX).sum())
    slots = int(labels.size)
    load_before = os.getloadavg()[0]
    with PeakMemory() as mem:
        run = train(config, Workspace.at(workdir / "workspace"), progress=False)
    card = read_json(run / "run.json")
    from plan_check import plan_line, plan_vs_run

    check = plan_vs_run(run)
    print("  " + plan_line(check), flush=True)
    rows = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("type") == "train"]
    cumulative = [0.0] + [float(r["train_seconds"]) for r in rows]
    step_seconds = [b - a for a, b in itertools.pairwise(cumulative)]
    result = _result("ours (packed)" + (", full logits" if args.no_chunked_loss else ""), card["step"], useful, slots,
                     padding, 0, step_seconds, mem.peak_mb, rows[-1]["loss"] if rows else None,
                     (load_before, os.getloadavg()[0]))
    return {**result, "plan_check": check}


def _result(name, steps, useful, slots, padding, dropped, step_seconds, peak_mb, loss, load) -> dict:
    """Throughput over all steps, and over the median step (robust to other jobs on a shared machine)."""
    seconds = sum(step_seconds)
    median = statistics.median(step_seconds)
    return {"name": name, "steps": steps, "useful_tokens": useful, "token_slots": slots, "padding_slots": padding,
            "padding_share": padding / slots if slots else 0.0, "truncated_tokens": dropped,
            "train_seconds": seconds, "step_seconds": [round(x, 3) for x in step_seconds],
            "median_step_seconds": median, "useful_tokens_per_s": useful / seconds,
            "useful_tokens_per_s_median": useful / steps / median, "peak_memory_mb": peak_mb, "loss_last": loss,
            "load_avg_1m": [round(x, 2) for x in load]}


RECIPE_NAMES = {"baseline": "baseline (run_clm group_texts)", "padded": "extra: padded per document"}


def group_texts(examples: dict, block_size: int) -> dict:
    """run_clm.py's ``group_texts``: concatenate a map batch, cut it into full blocks, drop the remainder."""
    concatenated = {k: list(itertools.chain(*examples[k])) for k in examples}
    total = len(concatenated["input_ids"]) // block_size * block_size
    result = {k: [t[i:i + block_size] for i in range(0, total, block_size)] for k, t in concatenated.items()}
    result["labels"] = result["input_ids"].copy()
    return result


def run_baseline(model_dir: Path, args, workdir: Path, data_path: Path, tag: str, recipe: str = "baseline") -> dict:
    """A plain transformers ``Trainer`` with peft QLoRA on ``recipe``'s data path.

    ``baseline``: run_clm.py's tokenize + ``group_texts`` blocks of ``--block-size``;
    ``padded``: one example per document, truncated at ``--block-size``, padded per batch."""
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
        default_data_collator,
    )

    from workbench.documents.texts import read_texts

    cuda = torch.cuda.is_available()
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    texts = [t for t in read_texts(data_path, "text") if t.strip()]
    special = _special_ids(tokenizer)
    raw = Dataset.from_dict({"text": texts})
    if recipe == "baseline":
        tokenized = raw.map(lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"])
        dataset = tokenized.map(group_texts, batched=True, fn_kwargs={"block_size": args.block_size})
        # text tokens that no block holds: the remainders group_texts drops (counted, never trained on)
        dropped = _text_tokens(tokenized["input_ids"], special) - _text_tokens(dataset["input_ids"], special)
        collator = default_data_collator
    else:
        def tokenize(batch):
            out = tokenizer(batch["text"], truncation=True, max_length=args.block_size)
            # untruncated length, only to count what truncation dropped (popped before collation)
            out["full_length"] = [len(ids) for ids in tokenizer(batch["text"])["input_ids"]]
            return out

        dataset = raw.map(tokenize, batched=True, remove_columns=["text"])
        dropped = None  # counted per batch trained on
        collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    kwargs = {"dtype": dtype, "device_map": {"": 0 if cuda else "cpu"}}
    if args.quant == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype,
        )
    checkpointing = cuda  # the trainer's 'auto'
    load_before = os.getloadavg()[0]
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
                output_dir=str(workdir / f"{recipe}-{tag}"), max_steps=args.steps,
                per_device_train_batch_size=args.micro_batch,
                learning_rate=2e-4, lr_scheduler_type="cosine", warmup_steps=1, logging_steps=1, save_strategy="no",
                report_to="none", seed=args.seed, bf16=cuda and dtype == torch.bfloat16,
                fp16=cuda and dtype == torch.float16, use_cpu=not cuda, disable_tqdm=True,
                optim="paged_adamw_8bit" if cuda and args.quant == "nf4" else "adamw_torch",
                gradient_checkpointing=checkpointing,
                gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
                dataloader_num_workers=0,
                remove_unused_columns=False,  # keeps full_length for the counting collator, which drops it
            ),
            train_dataset=dataset,
            data_collator=CountingCollator(collator, timer, special),
            callbacks=[timer],
        )
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # quiet, as ours; prints happen after on_step_end anyway
        # no base-model load in the timed steps, but the load counts towards peak memory as for ours
        trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    steps = trainer.state.global_step
    # the dataloader may collate one batch beyond the last step: count only the batches trained on
    result = _result(RECIPE_NAMES[recipe], steps, sum(timer.useful[:steps]), sum(timer.slots[:steps]),
                     sum(timer.padding[:steps]), sum(timer.dropped[:steps]) if dropped is None else dropped,
                     timer.step_seconds, mem.peak_mb, losses[-1] if losses else None,
                     (load_before, os.getloadavg()[0]))
    del trainer, model
    return result


def run_padded(model_dir: Path, args, workdir: Path, data_path: Path, tag: str) -> dict:
    return run_baseline(model_dir, args, workdir, data_path, tag, recipe="padded")


def _text_tokens(rows, special_ids) -> int:
    """Tokens in ``rows`` (lists of ids) that are not special tokens."""
    import numpy as np

    ids = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
    return int((~np.isin(ids, special_ids.numpy())).sum())


from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Seconds inside optimizer steps (on_step_begin to on_step_end), as workbench's callback times them."""

    def __init__(self):
        self.step_seconds: list[float] = []
        self.useful: list[int] = []  # per collated batch
        self.slots: list[int] = []
        self.padding: list[int] = []
        self.dropped: list[int] = []
        self._t = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._t = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.step_seconds.append(time.time() - self._t)


class CountingCollator:
    """Wraps a collator: counts text tokens, padded slots and truncated tokens per batch, as for ours."""

    def __init__(self, collator, timer: StepTimer, special_ids):
        self.collator, self.timer, self.special_ids = collator, timer, special_ids

    def __call__(self, features):
        import torch

        kept = [len(f["input_ids"]) for f in features]
        full = [f.get("full_length", n) for f, n in zip(features, kept, strict=True)]  # group_texts blocks: none
        batch = self.collator([{k: v for k, v in f.items() if k != "full_length"} for f in features])
        mask = batch["attention_mask"].bool()
        self.timer.useful.append(int((mask & ~torch.isin(batch["input_ids"], self.special_ids)).sum()))
        self.timer.padding.append(int((~mask).sum()))
        self.timer.slots.append(int(mask.numel()))
        self.timer.dropped.append(sum(f - k for f, k in zip(full, kept, strict=True)))
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


def _median_result(runs: list[dict]) -> dict:
    keys = ["useful_tokens_per_s", "useful_tokens_per_s_median", "peak_memory_mb", "train_seconds",
            "median_step_seconds"]
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    first = runs[0]
    for k in ["name", "steps", "useful_tokens", "token_slots", "padding_slots", "padding_share", "truncated_tokens"]:
        out[k] = first[k]  # same seed and data: identical in every repeat
    return out


def _ratios(ours_runs: list[dict], other_runs: list[dict], ours: dict, other: dict) -> dict:
    """ours / other: useful tokens/s (all steps, median step), peak memory, and per repeat."""
    return {"throughput_ratio": ours["useful_tokens_per_s"] / other["useful_tokens_per_s"],
            "throughput_ratio_median": ours["useful_tokens_per_s_median"] / other["useful_tokens_per_s_median"],
            "memory_ratio": ours["peak_memory_mb"] / other["peak_memory_mb"] if other["peak_memory_mb"] > 0 else float("nan"),
            "throughput_ratio_per_repeat": [o["useful_tokens_per_s"] / b["useful_tokens_per_s"]
                                            for o, b in zip(ours_runs, other_runs, strict=True)]}


def _relative(path: str | None) -> str | None:
    """A path as the JSON records it: relative to the repository when inside it, else its file name."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else resolved.name


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny-llama",
                        help=f"tiny-llama, smollm2-135m, a model folder, or a random-weight real config: {', '.join(KNOWN_CONFIGS)}")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps for each recipe")
    parser.add_argument("--block-size", type=int, default=256,
                        help="packed block (ours) = group_texts block (baseline) = truncation length (padded extra)")
    parser.add_argument("--micro-batch", type=int, default=4, help="sequences per step, both recipes")
    parser.add_argument("--quant", choices=["nf4", "none"], default="nf4")
    parser.add_argument("--data", default=str(REPO / "sample_data" / "domain_corpus.jsonl"))
    parser.add_argument("--docs", choices=["paragraphs", "documents"], default="paragraphs",
                        help="benchmark documents: --data split on blank lines (default), or its documents as they are")
    parser.add_argument("--padded-baseline", action="store_true",
                        help="also run the extra padded-per-document recipe (one truncated example per document)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs of each recipe; medians reported")
    parser.add_argument("--order", choices=["ours-first", "baseline-first"], default="ours-first",
                        help="which recipe runs first; repeats alternate (ours, baseline, baseline, ours, ...)")
    parser.add_argument("--tokenizer", help="tokenizer folder for the random-weight configs (default: the cached smollm2-135m one)")
    parser.add_argument("--no-chunked-loss", action="store_true",
                        help="ours with the model's own full-logits loss (TrainConfig.chunked_loss=False): isolates packing")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    import datasets
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    if args.threads:
        torch.set_num_threads(args.threads)
    pair = [("ours", run_ours), ("baseline", run_baseline)] + ([("padded", run_padded)] if args.padded_baseline else [])
    if args.order == "baseline-first":
        pair.reverse()
    runs: dict[str, list[dict]] = {key: [] for key, _ in pair}
    sequence = []
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        workdir = Path(tmp)
        model_dir = prepare_model(args.model, workdir, args.tokenizer)
        data_path = build_documents(args, workdir)
        lengths = document_lengths(model_dir, data_path)
        for repeat in range(args.repeats):
            for key, runner in (pair if repeat % 2 == 0 else pair[::-1]):
                result = runner(model_dir, args, workdir, data_path, f"{repeat}")
                runs[key].append(result)
                sequence.append(key)
                print(f"  run {len(sequence)}: {key:<8} useful tok/s {result['useful_tokens_per_s']:8.1f} "
                      f"(median step {result['useful_tokens_per_s_median']:8.1f}), peak {result['peak_memory_mb']:6.0f} MB, "
                      f"load {result['load_avg_1m'][0]:.2f}->{result['load_avg_1m'][1]:.2f}", flush=True)
                _release_memory()
    medians = {key: _median_result(results) for key, results in runs.items()}
    ours = medians["ours"]
    loads = [x for results in runs.values() for r in results for x in r["load_avg_1m"]]
    sorted_lengths = sorted(lengths)

    def pct(q):
        return sorted_lengths[min(len(sorted_lengths) - 1, int(q * len(sorted_lengths)))]

    print(f"machine: {machine()}")
    print(f"model {args.model}, quant {args.quant}, micro-batch {args.micro_batch}, block {args.block_size}, "
          f"{args.steps} optimizer steps each, {args.repeats} repeat(s), run order {', '.join(sequence)}")
    print(f"documents ({args.docs}): {len(lengths)}, tokens min {sorted_lengths[0]} / p10 {pct(0.1)} / median {pct(0.5)} "
          f"/ p90 {pct(0.9)} / max {sorted_lengths[-1]}; {sum(n > args.block_size for n in lengths)} longer than the block")
    print(f"load average (1 min) around the runs: {min(loads):.2f}-{max(loads):.2f}")
    print(f"medians of {args.repeats} run(s):")
    print(f"{'recipe':<34}{'steps':>6}{'useful tok':>11}{'slots':>8}{'pad':>7}{'trunc':>7}{'steps s':>9}{'median s':>9}"
          f"{'useful tok/s':>13}{'(median)':>10}{'peak MB':>9}")
    for r in medians.values():
        print(f"{r['name']:<34}{r['steps']:>6}{r['useful_tokens']:>11}{r['token_slots']:>8}{r['padding_share']:>7.1%}"
              f"{r['truncated_tokens']:>7}{r['train_seconds']:>9.1f}{r['median_step_seconds']:>9.2f}"
              f"{r['useful_tokens_per_s']:>13.1f}{r['useful_tokens_per_s_median']:>10.1f}{r['peak_memory_mb']:>9.0f}")
    ratios = {key: _ratios(runs["ours"], runs[key], ours, medians[key]) for key in runs if key != "ours"}
    for key, r in ratios.items():
        print(f"ours / {medians[key]['name']}: useful tokens/s x{r['throughput_ratio']:.2f} (all steps), "
              f"x{r['throughput_ratio_median']:.2f} (median step); peak memory x{r['memory_ratio']:.2f}; "
              f"per repeat {', '.join(f'x{x:.2f}' for x in r['throughput_ratio_per_repeat'])}")
    recorded_args = {**vars(args), **{k: _relative(getattr(args, k)) for k in ("data", "json", "tokenizer")}}
    # ours / the run_clm baseline at the top level; the padded extra keeps its ratios beside its medians
    summary = {"machine": machine(), "args": recorded_args, "documents": {"count": len(lengths), "lengths": lengths},
               "run_order": sequence, "runs": runs, "ours": ours, "baseline": medians["baseline"],
               **ratios["baseline"]}
    if "padded" in ratios:
        summary["padded"] = {**medians["padded"], **ratios["padded"]}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
