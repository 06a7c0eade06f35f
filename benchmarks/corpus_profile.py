"""Profile a generated corpus with workbench and with a practitioner's baseline on equal cores; print MB/s and the ratio.

Both sides get the same number of worker processes (``--num-proc``, default: this host's CPU count)
and the same tokenizer object, with ``TOKENIZERS_PARALLELISM=false`` for both.

Baseline: what a practitioner writes with ``datasets`` and ``datasketch``: ``load_dataset("json")``,
then ``Dataset.map(batched=True, num_proc=N)`` calling the tokenizer on each batch and building a
datasketch ``MinHash`` per document (word 5-gram shingles, ``update_batch``); the main process then
inserts every signature (``LeanMinHash``) into one ``MinHashLSH`` at threshold 0.8.
Ours: ``workbench.corpus.profile.profile_corpus`` (batched fast tokenizer, numpy MinHash + LSH, quality,
PII, language, domain statistics, report) with ``num_proc=N`` ``datasets`` workers.

    python benchmarks/corpus_profile.py --mb 100 --num-proc 2
    python benchmarks/corpus_profile.py --mb 20 --num-proc 1 --json benchmarks/results/corpus-profile-20mb-1proc.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def generate_corpus(path: Path, megabytes: float, seed: int = 0, near_share: float = 0.1) -> Path:
    """JSONL of ~2 KB documents: sample-corpus sentences mixed with Zipf-distributed pseudo-words, and near-duplicates."""
    rng = np.random.default_rng(seed)
    sentences = []
    with open(REPO / "sample_data" / "domain_corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            sentences += [s.strip() + "." for s in json.loads(line)["text"].split(". ") if len(s.split()) > 4]
    syllables = ["ka", "lo", "mi", "tre", "zan", "phos", "ol", "ine", "ase", "ryl", "bu", "ne", "cor", "tid", "vax", "em"]
    vocab = ["".join(rng.choice(syllables, size=rng.integers(2, 5))) for _ in range(50_000)]
    target = int(megabytes * 1e6)
    written, n = 0, 0
    previous: list[str] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            if previous and rng.random() < near_share:  # a near-duplicate of a recent document: 2% of words changed
                words = list(previous[rng.integers(len(previous))].split())
                for i in rng.choice(len(words), size=max(1, len(words) // 50), replace=False):
                    words[i] = vocab[rng.integers(len(vocab))]
                text = " ".join(words)
            else:
                parts = [sentences[i] for i in rng.integers(len(sentences), size=6)]
                ranks = np.minimum(rng.zipf(1.3, size=120), len(vocab)) - 1
                parts.insert(3, " ".join(vocab[r] for r in ranks) + ".")
                text = " ".join(parts)
                previous = (previous + [text])[-200:]
            line = json.dumps({"id": f"doc-{n}", "text": text}) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return path


def baseline(path: Path, tokenizer, num_proc: int, threshold: float = 0.8, num_perm: int = 128) -> dict:
    """Tokens and datasketch MinHash signatures in ``num_proc`` ``datasets`` workers, then one MinHashLSH."""
    import datasets
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    def signatures(batch):
        tokens, hashes, nbytes = [], [], []
        for ids, text in zip(tokenizer(batch["text"], add_special_tokens=False)["input_ids"], batch["text"], strict=True):
            words = text.lower().split()
            shingles = [" ".join(words[i:i + 5]).encode("utf-8") for i in range(max(1, len(words) - 4))]
            m = MinHash(num_perm=num_perm)
            m.update_batch(shingles)
            tokens.append(len(ids))
            hashes.append(m.hashvalues)
            nbytes.append(len(text.encode("utf-8")))
        return {"tokens": tokens, "hashvalues": hashes, "nbytes": nbytes}

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="corpus-baseline-") as cache:
        dataset = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=cache)
        dataset = dataset.map(signatures, batched=True, num_proc=num_proc if num_proc > 1 else None,
                              remove_columns=dataset.column_names)
        table = dataset.data
        hashes = table.column("hashvalues").combine_chunks().flatten().to_numpy().reshape(len(dataset), num_perm)
        scheme = MinHash(num_perm=num_perm).scheme  # the workers' MinHash defaults (seed 1)
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        for i, hashvalues in enumerate(hashes):
            lsh.insert(f"doc-{i}", LeanMinHash(seed=1, hashvalues=hashvalues, scheme=scheme))
        return {"documents": len(dataset), "bytes": int(pc.sum(table.column("nbytes")).as_py()),
                "tokens": int(pc.sum(table.column("tokens")).as_py())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="Size of the generated corpus in MB.")
    parser.add_argument("--model", default="smollm2-135m", help="Tokenizer (model spec).")
    parser.add_argument("--num-proc", type=int, default=os.cpu_count() or 1,
                        help="Worker processes for ours and the baseline alike (default: this host's CPU count).")
    parser.add_argument("--path", type=Path, default=None,
                        help="Corpus file (default: workbench-bench-<MB>mb.jsonl in the temporary folder).")
    parser.add_argument("--skip-baseline", action="store_true", help="Only run ours (e.g. to measure peak RSS on 1 GB).")
    parser.add_argument("--json", help="Also write the results to this JSON file.")
    args = parser.parse_args(argv)

    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus
    from workbench.models.load import load_tokenizer

    path = args.path or Path(tempfile.gettempdir()) / f"workbench-bench-{args.mb:g}mb.jsonl"
    if not path.exists():
        t = time.perf_counter()
        generate_corpus(path, args.mb)
        print(f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
    tokenizer = load_tokenizer(args.model)
    cores = f"{args.num_proc} process(es) each (ours and the baseline), on a host with {os.cpu_count()} logical CPUs"
    print(f"cores: {cores}", flush=True)

    def cpu() -> float:  # user + system seconds of this process and its finished workers
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    load = {"before": os.getloadavg()[0]}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    c = cpu()
    t = time.perf_counter()
    profile = profile_corpus(CorpusConfig(paths=[str(path)], model=args.model), out=None, num_proc=args.num_proc,
                             progress=False, tokenizer=tokenizer)
    ours_s = time.perf_counter() - t
    ours_cpu = cpu() - c
    mb = profile["bytes"] / 1e6
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"ours:     {mb:.1f} MB, {profile['documents']:,} documents, {profile['tokens']:,} tokens in {ours_s:.1f} s "
          f"= {mb / ours_s:.2f} MB/s (num_proc={args.num_proc}; near-duplicate rate {profile['near_duplicate_rate']:.3f}); "
          f"CPU {ours_cpu:.1f} s = {ours_cpu / mb:.2f} CPU-s/MB")
    print(f"peak RSS: main process {peak_self:.0f} MB, largest worker {peak_children:.0f} MB", flush=True)
    result = {"corpus": {"file": path.name, "megabytes": mb, "documents": profile["documents"], "tokens": profile["tokens"]},
              "model": args.model, "num_proc": args.num_proc, "logical_cpus": os.cpu_count(), "cores": cores,
              "ours": {"seconds": ours_s, "cpu_seconds": ours_cpu, "mb_per_s": mb / ours_s,
                       "peak_rss_main_mb": peak_self, "peak_rss_worker_mb": peak_children}}
    if not args.skip_baseline:
        load["between"] = os.getloadavg()[0]
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        c = cpu()
        t = time.perf_counter()
        base = baseline(path, tokenizer, args.num_proc)
        base_s = time.perf_counter() - t
        base_cpu = cpu() - c
        assert base["tokens"] == profile["tokens"], (base["tokens"], profile["tokens"])
        print(f"baseline: {base['bytes'] / 1e6:.1f} MB, {base['documents']:,} documents in {base_s:.1f} s "
              f"= {base['bytes'] / 1e6 / base_s:.2f} MB/s (num_proc={args.num_proc}); "
              f"CPU {base_cpu:.1f} s = {base_cpu / mb:.2f} CPU-s/MB")
        print(f"ratio on {cores}: ours/baseline MB/s x{base_s / ours_s:.2f} (wall clock); "
              f"baseline/ours CPU seconds x{base_cpu / ours_cpu:.2f}")
        result["baseline"] = {"seconds": base_s, "cpu_seconds": base_cpu, "mb_per_s": base["bytes"] / 1e6 / base_s}
        result["wall_ratio"] = base_s / ours_s
        result["cpu_ratio"] = base_cpu / ours_cpu
    load["after"] = os.getloadavg()[0]
    result["load_avg_1m"] = load
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
