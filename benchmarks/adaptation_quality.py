"""Adaptation quality: how much each recipe lowers held-out domain perplexity at the same token budget.

Every recipe trains the same model on the same corpus for the same number of training tokens, and is
scored by the same scorer on the same held-out documents (``workbench.evaluation.compare.run_compare``:
token perplexity over the whole held-out domain and general sets, sliding window, paired bootstrap
interval of the change over the base):

* ``plain-2e-4-constant`` / ``plain-3e-4-linear``: the recipe a user copies from the docs: run_clm-style
  ``group_texts`` (documents concatenated and cut into blocks, no separators), transformers ``Trainer``,
  bitsandbytes NF4 with double quantization, ``prepare_model_for_kbit_training``, peft LoRA r=16,
  alpha=32, dropout 0.05 on all linear layers, at the learning rates the QLoRA/peft docs use;
* ``unsloth-cpt``: the continued-pretraining recipe Unsloth documents, in plain transformers + peft:
  rank 128, alpha 32, rsLoRA, embeddings and output head trained (``modules_to_save``) at a 5x smaller
  learning rate (5e-5 adapters, 1e-5 embeddings), linear schedule, weight decay 0.01;
* ``workbench``: ``workbench train`` with its defaults for the model (``workflows.train_config(model=...)``:
  the model's preset and the size-scaled learning rate);
* ``workbench-2e-4``: the old defaults (no preset, learning rate 2e-4), for the before/after;
* ``workbench+replay``, ``workbench+new-tokens``, ``workbench+embeddings``: the defaults plus one option;
* ``workbench+synthetic``: the defaults on a snapshot of the same corpus (``--domain-eval`` as its held-out
  split) that mixes the bundled template-made synthetic cases (``synthetic_cases.jsonl``) after they passed
  ``workflows.audit_synthetic`` against it (distance measured with ``--model``), at their natural share of the
  training tokens capped at ``synthetic.max_share`` (0.2): the same budget, so fewer real tokens.
* ``workbench+glossary``: the defaults plus knowledge from the sample glossary (``knowledge:``): text rendered
  from its definitions at a 10% share of the blocks, and its fragmented terms as new tokens initialised from
  the mean embedding of their definitions; ``workbench+glossary-text``: the rendered text alone;
* ``workbench+easy-to-hard``: the defaults with the documents ordered from the easiest to the hardest by
  their zlib compression ratio (``curriculum.order: easy_to_hard``);
* ``workbench+stages``: the defaults with three stages (``training.config.general_to_domain``): general-heavy
  replay (50%) decaying into domain text (20% replay), then domain text alone, each stage re-warming and
  decaying its learning rate again. Same token budget: the replayed tokens are part of it.

Every recipe is also scored on cloze probes made from the sample glossary's definitions
(``workbench.evaluation.cloze``: the term masked in its definition, ranked among sibling and random terms),
and each recipe is paired with ``workbench`` over the same probes. The probes come from the definitions the
glossary recipes train on: they measure whether that knowledge got in, not whether it generalises.

Besides the token perplexity change, every recipe gets the change in bits per byte over the base scored
with its *own* tokenizer (paired bootstrap over documents). Bits per byte do not depend on how the text is cut
into tokens, so this is the number that compares ``workbench+new-tokens`` (a grown tokenizer) with the rest.

In-training evaluation is switched off for the workbench recipes (it does not change the weights; the
plain recipes have none), so wall times compare training alone.

    .venv/bin/python benchmarks/adaptation_quality.py --budgets 16384 --out benchmarks/results/adaptation-16k.json
    .venv/bin/python benchmarks/adaptation_quality.py --model tiny-llama --budgets 2048 --recipes workbench,plain-2e-4-constant
"""

from __future__ import annotations

import argparse
import gc
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

RECIPES = ["plain-2e-4-constant", "plain-3e-4-linear", "unsloth-cpt", "workbench", "workbench-2e-4",
           "workbench+replay", "workbench+new-tokens", "workbench+embeddings", "workbench+synthetic",
           "workbench+glossary", "workbench+glossary-text", "workbench+easy-to-hard", "workbench+stages"]
GLOSSARY_SHARE = 0.1  # share of training blocks rendered from the glossary in the glossary recipes


def corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --data, --domain-eval, --general-eval (the sample data by default): every issue-14 benchmark's."""
    from workbench.samples import sample_path

    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--data", default=str(sample_path("domain_corpus.jsonl")), help="training corpus (JSONL)")
    parser.add_argument("--domain-eval", default=str(sample_path("domain_eval.jsonl")))
    parser.add_argument("--general-eval", default=str(sample_path("general_eval.jsonl")))


def _texts(path: Path) -> list[str]:
    from workbench.io import read_jsonl

    return [row["text"] for row in read_jsonl(path)]


def train_plain(model_dir: Path, texts: list[str], budget: int, out: Path, *, lr: float, schedule: str,
                block: int, micro: int, seed: int, unsloth: bool = False) -> dict:
    """The docs recipe (or Unsloth's CPT settings) with transformers Trainer + peft + bitsandbytes NF4."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        BitsAndBytesConfig,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = [i for t in texts for i in tokenizer(t)["input_ids"]]  # run_clm's group_texts: concatenated as tokenized
    blocks = [ids[k:k + block] for k in range(0, len(ids) - block + 1, block)]
    dataset = Dataset.from_dict({"input_ids": blocks, "labels": blocks})
    steps = max(1, budget // (block * micro))
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(model_dir, quantization_config=quant)
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=torch.cuda.is_available())
    if unsloth:
        lora = LoraConfig(r=128, lora_alpha=32, lora_dropout=0.0, use_rslora=True, target_modules="all-linear",
                          modules_to_save=["embed_tokens", "lm_head"], task_type="CAUSAL_LM")
    else:
        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    args = TrainingArguments(
        output_dir=str(out / "trainer"), max_steps=steps, per_device_train_batch_size=micro, learning_rate=lr,
        lr_scheduler_type=schedule, warmup_steps=min(10, steps // 10) if unsloth else 0,
        weight_decay=0.01 if unsloth else 0.0, logging_steps=1, save_strategy="no", report_to="none", seed=seed,
        use_cpu=not torch.cuda.is_available(), disable_tqdm=True, bf16=torch.cuda.is_available(),
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=default_data_collator)
    if unsloth:  # Unsloth's embedding_learning_rate: embeddings and head at a 5x smaller rate
        embed = [p for n, p in model.named_parameters() if p.requires_grad and "modules_to_save" in n]
        rest = [p for n, p in model.named_parameters() if p.requires_grad and "modules_to_save" not in n]
        trainer.optimizer = torch.optim.AdamW([{"params": rest, "lr": lr}, {"params": embed, "lr": lr / 5}],
                                              lr=lr, weight_decay=0.01)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    model.save_pretrained(out / "adapter")
    tokenizer.save_pretrained(out / "adapter")
    return {"steps": steps, "train_tokens": steps * block * micro, "seconds": seconds,
            "tokens_per_s": steps * block * micro / seconds, "adapter": str(out / "adapter")}


def train_workbench(model: str, data: Path, budget: int, out: Path, *, preset: str | None, seed: int,
                    **values) -> dict:
    from plan_check import plan_line, plan_vs_run

    from workbench.workflows import train, train_config
    from workbench.workspace import Workspace

    config = train_config(model=model, preset=preset, data=str(data), max_tokens=budget, eval_every=0.0,
                               out=str(out / "run"), seed=seed, **values)
    started = time.perf_counter()
    run = train(config, Workspace(out / "ws"), progress=False)
    seconds = time.perf_counter() - started
    card = json.loads((run / "run.json").read_text())
    check = plan_vs_run(run)
    print(plan_line(check), flush=True)
    return {"steps": card["steps"], "train_tokens": card["tokens_seen"], "seconds": seconds,
            "tokens_per_s": card["tokens_per_s"], "adapter": str(run), "learning_rate": card["config"]["learning_rate"],
            "preset": card["config"].get("preset"), "plan_check": check}


def _doc_sums(rows: list[dict], label: str) -> dict[tuple[str, str], tuple[float, int]]:
    """(set, id) -> (NLL summed over the document in nats, its bytes, its tokens) from ``documents.jsonl`` rows.

    A comparison of a run that grew the tokenizer holds NLL per word (``nll_per: word``) and each side's own
    token count (``{label}_tokens``); the sum is then per word times words."""
    def one(r):
        if r.get("nll_per") == "word":
            return r[f"{label}_nll"] * r["words"], r["bytes"], r.get(f"{label}_tokens", r["tokens"])
        return r[f"{label}_nll"] * r["tokens"], r["bytes"], r["tokens"]

    return {(r["set"], str(r["id"])): one(r) for r in rows}


_BASE_CACHE: dict[tuple, dict] = {}


def base_own_tokenizer(model: str, domain: Path, general: Path, window: int) -> dict:
    """The base model scored with its *own* tokenizer (per document NLL sums), once per model and sets.

    Bits per byte do not depend on the tokenizer, so a recipe that grows the tokenizer (new glossary
    tokens) is compared with this base; inside ``run_compare`` its base is scored with the grown
    tokenizer, whose new rows the base never learned."""
    from workbench.evaluation.compare import run_evaluate
    from workbench.evaluation.config import EvalConfig

    key = (model, str(domain), str(general), window)
    if key not in _BASE_CACHE:
        sums = {}
        for name, path in (("domain", domain), ("general", general)):
            config = EvalConfig(model=model, data=str(path), window=window, quant="nf4", glossary=None, probes=None)
            rows = run_evaluate(config, progress=False).documents
            sums.update({(name, i): v for (_, i), v in _doc_sums(rows, "model").items()})
        _BASE_CACHE[key] = sums
    return _BASE_CACHE[key]


def bpb_change(base: dict, adapted: dict, name: str, seed: int = 1234) -> tuple[float, list[float]]:
    """Change of bits per byte over set ``name`` (percent, adapted over base), with a paired bootstrap
    interval over documents; ``base``/``adapted`` map (set, id) -> (nll sum, bytes)."""
    from workbench.evaluation.stats import ratio_interval

    keys = sorted(k for k in adapted if k[0] == name)
    missing = [k for k in keys if k not in base]
    if missing:
        raise RuntimeError(f"base has no score for {len(missing)} {name} documents (e.g. {missing[0]})")
    a = [adapted[k][0] for k in keys]
    b = [base[k][0] for k in keys]
    ci = ratio_interval(a, b, n_resamples=1000, seed=seed)
    return 100 * (sum(a) / sum(b) - 1), [100 * (x - 1) for x in ci]


def score(model: str, adapter: str, domain: Path, general: Path, window: int, glossary: str | None = None,
          cloze_probes: int = 200) -> dict:
    from workbench.evaluation.compare import run_compare
    from workbench.evaluation.config import EvalConfig

    config = EvalConfig(model=model, adapter=adapter, domain_eval=str(domain), general_eval=str(general),
                        probes=None, glossary=glossary, generations=0, window=window, quant="nf4",
                        cloze_probes=cloze_probes if glossary else 0)
    result = run_compare(config, progress=False)
    verdict = result.data["verdict"]
    row = {"domain_change_pct": verdict["domain"]["change_pct"], "domain_ci95_pct": verdict["domain"]["ci95_pct"],
           "general_change_pct": verdict["general"]["change_pct"], "general_ci95_pct": verdict["general"]["ci95_pct"]}
    cloze = result.data.get("cloze")
    if cloze:  # against the base, and per probe for the pairing with the defaults in _table
        row["cloze"] = {k: cloze["summary"][k] for k in ("probes", "better", "worse", "mean_logprob_change", "ci95",
                                                          "base_top1", "adapted_top1")}
        row["cloze_rows"] = [[r["term"], r["adapted_logprob"], r["adapted_rank"]] for r in cloze["rows"]]
    # bits per byte against the base under its own tokenizer: comparable across tokenizers
    base = base_own_tokenizer(model, domain, general, window)
    adapted = _doc_sums(result.documents, "adapted")
    # a grown tokenizer cuts the same text into other tokens: then only bits per byte compare
    row["tokenizer_grown"] = any(adapted[k][2] != base[k][2] for k in adapted if k in base)
    # per document, for the run-against-run comparisons of _table: [set, id, nll sum, bytes, tokens]
    row["documents"] = [[k[0], k[1], *v] for k, v in sorted(adapted.items())]
    for name in ("domain", "general"):
        change, ci = bpb_change(base, adapted, name)
        row[f"{name}_bpb_change_pct"], row[f"{name}_bpb_ci95_pct"] = change, ci
        row[f"{name}_bpb"] = {"base": result.data["base"][name]["bits_per_byte"],
                              "adapted": result.data["adapted"][name]["bits_per_byte"]}
    return row


def synthetic_snapshot(args, out: Path) -> tuple[Path, dict]:
    """The corpus as a snapshot (``--domain-eval`` its held-out split) with the audited synthetic cases mixed in.

    The real training text must be the corpus itself (curate removed nothing), so the recipe differs from
    ``workbench`` by the synthetic share alone."""
    from workbench.corpus.config import CurateConfig, SyntheticAuditConfig
    from workbench.io import read_json, read_jsonl
    from workbench.samples import sample_path
    from workbench.workflows import audit_synthetic, curate

    base = {"paths": [args.data], "eval_paths": [args.domain_eval]}
    real = curate(CurateConfig(**base), out=out / "real", progress=False)
    audit_folder = audit_synthetic(SyntheticAuditConfig(paths=[str(sample_path("synthetic_cases.jsonl"))], real=str(real),
                                                        model=args.model, source="templates", out=str(out / "audit")))
    audit = read_json(audit_folder / "audit.json")
    print(f"synthetic audit: passed={audit['verdict']['passed']} "
          + ", ".join(f"{f['check']} {f['value']}" for f in audit["findings"]), flush=True)
    mixed = curate(CurateConfig(**base, synthetic=str(audit_folder)), out=out / "mixed", progress=False)
    if [r["text"] for r in read_jsonl(mixed / "train.jsonl")] != _texts(Path(args.data)):
        raise SystemExit("curate changed the real training text; the recipe would not differ by the synthetic text alone")
    return mixed, audit


def run_recipe(name: str, args, model_dir: Path, budget: int, work: Path) -> dict:
    from workbench.samples import sample_path

    data, texts = Path(args.data), _texts(Path(args.data))
    out = work / f"{name}-{budget}"
    common = {"block": args.block_size, "micro": args.micro_batch, "seed": args.seed}
    if name == "plain-2e-4-constant":
        result = train_plain(model_dir, texts, budget, out, lr=2e-4, schedule="constant", **common)
    elif name == "plain-3e-4-linear":
        result = train_plain(model_dir, texts, budget, out, lr=3e-4, schedule="linear", **common)
    elif name == "unsloth-cpt":
        result = train_plain(model_dir, texts, budget, out, lr=5e-5, schedule="linear", unsloth=True, **common)
    elif name == "workbench":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed)
    elif name == "workbench-2e-4":
        result = train_workbench(args.model, data, budget, out, preset="none", seed=args.seed, learning_rate=2e-4)
    elif name == "workbench+replay":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed, replay="sample",
                                 replay_ratio=0.1)
    elif name == "workbench+new-tokens":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed,
                                 new_tokens=str(sample_path("glossary.csv")))
    elif name == "workbench+embeddings":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed, train_embeddings=True)
    elif name == "workbench+synthetic":
        snapshot, audit = synthetic_snapshot(args, out)
        result = train_workbench(args.model, snapshot, budget, out, preset=None, seed=args.seed)
        card = json.loads((Path(result["adapter"]) / "run.json").read_text())
        result["synthetic"] = {**card["synthetic"], "audit_findings": {f["check"]: f["value"] for f in audit["findings"]},
                               "distance": audit["distance"]}
    elif name == "workbench+glossary":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed,
                                 knowledge={"glossary": args.glossary, "text_share": GLOSSARY_SHARE, "new_tokens": True,
                                            "token_init": "definition"})
    elif name == "workbench+glossary-text":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed,
                                 knowledge={"glossary": args.glossary, "text_share": GLOSSARY_SHARE})
    elif name == "workbench+easy-to-hard":
        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed,
                                 **{"curriculum.order": "easy_to_hard", "curriculum.signal": "compression"})
    elif name == "workbench+stages":
        from workbench.config import to_dict
        from workbench.training.config import general_to_domain

        result = train_workbench(args.model, data, budget, out, preset=None, seed=args.seed, replay="sample",
                                 **{"curriculum.order": "stages",
                                    "curriculum.stages": [to_dict(s) for s in general_to_domain()]})
    else:
        raise SystemExit(f"unknown recipe {name}; use {', '.join(RECIPES)}")
    gc.collect()
    result.update(score(args.model, result["adapter"], Path(args.domain_eval), Path(args.general_eval), args.window,
                        args.glossary, args.cloze_probes))
    gc.collect()
    return {"recipe": name, "budget": budget, **result}


def sample_glossary() -> Path:
    from workbench.samples import sample_path

    return sample_path("glossary.csv")


def main(argv: list[str] | None = None) -> list[dict]:
    from workbench.models.load import resolve_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(parser)
    parser.add_argument("--budgets", default="16384,65536", help="comma-separated token budgets")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--block-size", type=int, default=256, help="block of the plain recipes")
    parser.add_argument("--micro-batch", type=int, default=4,
                        help="micro-batch of the plain recipes (4 x 256 tokens a step: the recorded runs)")
    parser.add_argument("--window", type=int, default=512, help="scoring window")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--glossary", default=str(sample_glossary()),
                        help="glossary the glossary recipes learn from and every recipe's cloze probes come from")
    parser.add_argument("--cloze-probes", type=int, default=200, help="cloze probes per recipe (0: none)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from workbench.models.fetch import fetch_model
    from workbench.models.registry import REGISTRY

    if args.model in REGISTRY:
        fetch_model(args.model, quiet=True)
    model_dir = Path(resolve_model(args.model).path)
    results = []
    with tempfile.TemporaryDirectory(prefix="adaptation-") as tmp:
        for budget in [int(b) for b in args.budgets.split(",")]:
            for name in args.recipes.split(","):
                row = run_recipe(name.strip(), args, model_dir, budget, Path(tmp))
                results.append(row)
                print(json.dumps({k: v for k, v in row.items() if k not in ("adapter", "documents", "cloze_rows")}), flush=True)
                if args.out:
                    Path(args.out).write_text(json.dumps({"machine": _machine(), "args": vars(args), "results": results},
                                                         indent=1))
    _table(results)  # adds each recipe's run-against-run comparison with the workbench defaults
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": _machine(), "args": vars(args), "results": results}, indent=1))
    return results


def _machine() -> str:
    from benchmarks.train_throughput import machine  # one description of the host for every benchmark

    return machine()


def _ci(ci) -> str:
    return "n/a" if not ci else f"[{ci[0]:+.1f}, {ci[1]:+.1f}]"


def _table(results: list[dict]) -> None:
    print(f"\n{'recipe':24} {'budget':>7} {'domain ppl':>10} {'95% CI':>16} {'domain bpb':>10} {'95% CI':>16} "
          f"{'general':>8} {'general bpb':>11} {'tok/s':>7} {'train s':>8}")
    for r in results:
        bpb = f"{r['domain_bpb_change_pct']:>+9.1f}%" if "domain_bpb_change_pct" in r else f"{'n/a':>10}"
        gbpb = f"{r['general_bpb_change_pct']:>+10.1f}%" if "general_bpb_change_pct" in r else f"{'n/a':>11}"
        ppl = "grown tok." if r.get("tokenizer_grown") else f"{r['domain_change_pct']:>+9.1f}%"
        print(f"{r['recipe']:24} {r['budget']:>7} {ppl:>10} {_ci(r['domain_ci95_pct']):>16} {bpb} "
              f"{_ci(r.get('domain_bpb_ci95_pct')):>16} {r['general_change_pct']:>+7.1f}% {gbpb} "
              f"{r['tokens_per_s']:>7.0f} {r['seconds']:>8.0f}")
    print("ppl: token perplexity change over the base (same tokenizer); bpb: bits-per-byte change over the base "
          "scored with its own tokenizer (the only comparable number when a recipe grows the tokenizer)")
    by_budget: dict[int, list[dict]] = {}
    for r in results:
        by_budget.setdefault(r["budget"], []).append(r)
    print("\nrun against run (paired over the same held-out documents; a 'beats' claim needs the interval to "
          "exclude zero):")
    for budget, rows in by_budget.items():
        ours = next((r for r in rows if r["recipe"] == "workbench"), None)
        for other in rows:
            if ours is None or other is ours or "documents" not in other:
                continue
            for name in ("domain", "general"):
                pair = run_against_run(ours, other, name)
                ours.setdefault("against", {}).setdefault(other["recipe"], {})[name] = pair
                claim = ("workbench better" if pair["significant"] and pair["change_pct"] < 0 else
                         f"{other['recipe']} better" if pair["significant"] else "no clear difference")
                print(f"budget {budget} {name:7}: workbench vs {other['recipe']:22} {pair['measure']} "
                      f"{pair['change_pct']:+.1f}% {_ci(pair['ci95_pct']):>16} on {pair['documents']} documents: {claim}")
            if "cloze_rows" in ours and "cloze_rows" in other:
                pair = cloze_against(ours, other)
                ours.setdefault("against", {}).setdefault(other["recipe"], {})["cloze"] = pair
                print(f"budget {budget} cloze  : {other['recipe']} knows {pair['better']} of {pair['probes']} terms "
                      f"better than workbench, {pair['worse']} worse; mean log p change {pair['mean']:+.3f} nats "
                      f"[{pair['ci95'][0]:+.3f}, {pair['ci95'][1]:+.3f}]; named first {pair['ours_top1']} -> "
                      f"{pair['other_top1']}: {'significant' if pair['significant'] else 'may be chance'}")


def cloze_against(ours: dict, other: dict) -> dict:
    """Another recipe against the defaults on the same cloze probes: per probe, the change of the true term's
    log-probability among its candidates (other minus ours), its mean with the t-interval over probes."""
    from workbench.evaluation.cloze import TIE
    from workbench.intervals import ratio_t_interval

    a = {r[0]: r for r in ours["cloze_rows"]}
    b = {r[0]: r for r in other["cloze_rows"]}
    terms = [t for t in a if t in b]
    diff = [b[t][1] - a[t][1] for t in terms]
    mean, ci = ratio_t_interval(diff, [1.0] * len(diff))
    return {"probes": len(terms), "better": sum(d > TIE for d in diff), "worse": sum(d < -TIE for d in diff),
            "mean": mean, "ci95": ci, "significant": len(diff) >= 5 and (ci[0] > 0 or ci[1] < 0),
            "ours_top1": sum(a[t][2] == 1 for t in terms), "other_top1": sum(b[t][2] == 1 for t in terms)}


def run_against_run(ours: dict, other: dict, name: str) -> dict:
    """Our recipe against another on set ``name``, paired over documents: the change of NLL per token when both
    cut the text the same way, else of bits per byte (the t-interval of ``workbench.evaluation.stats``)."""
    import math

    from workbench.evaluation.stats import paired_delta

    a = {(d[0], d[1]): d[2:] for d in ours["documents"] if d[0] == name}
    b = {(d[0], d[1]): d[2:] for d in other["documents"] if d[0] == name}
    keys = sorted(a.keys() & b.keys())
    same_tokens = all(a[k][2] == b[k][2] for k in keys)
    units = [a[k][2] if same_tokens else a[k][1] for k in keys]
    delta = paired_delta([b[k][0] for k in keys], [a[k][0] for k in keys], units)
    ci = delta["ci95"]
    return {"measure": "perplexity" if same_tokens else "bits/byte",
            "change_pct": 100 * (math.exp(delta["nll_per_token"]) - 1) if same_tokens
            else 100 * delta["nll_per_token"] / (sum(b[k][0] for k in keys) / sum(units)),
            "ci95_pct": [100 * (math.exp(x) - 1) for x in ci] if same_tokens
            else [100 * x / (sum(b[k][0] for k in keys) / sum(units)) for x in ci],
            "significant": delta["significant"], "documents": delta["documents"]}


if __name__ == "__main__":
    main()
