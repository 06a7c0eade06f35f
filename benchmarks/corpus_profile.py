"""Profile a generated corpus with workbench and with a plain baseline, in one run; print MB/s and the ratio.

Baseline: a per-document Python loop calling the tokenizer on each document and building a datasketch
MinHash (word 5-gram shingles, ``update_batch``) that is inserted into a ``MinHashLSH`` at threshold 0.8.
Ours: ``workbench.corpus.profile.profile_corpus`` (batched fast tokenizer, numpy MinHash + LSH, quality,
PII, language, domain statistics, report) with ``datasets`` workers.

    python benchmarks/corpus_profile.py --mb 100 --model smollm2-135m --num-proc 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

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


def baseline(path: Path, tokenizer, threshold: float = 0.8, num_perm: int = 128) -> dict:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    tokens = nbytes = docs = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = record["text"]
            nbytes += len(text.encode("utf-8"))
            tokens += len(tokenizer(text, add_special_tokens=False)["input_ids"])
            words = text.lower().split()
            shingles = [" ".join(words[i:i + 5]).encode("utf-8") for i in range(max(1, len(words) - 4))]
            m = MinHash(num_perm=num_perm)
            m.update_batch(shingles)
            lsh.insert(record["id"], m)
            docs += 1
    return {"documents": docs, "bytes": nbytes, "tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="Size of the generated corpus in MB.")
    parser.add_argument("--model", default="smollm2-135m", help="Tokenizer (model spec).")
    parser.add_argument("--num-proc", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--path", type=Path, default=None, help="Corpus file (default /tmp/workbench-bench-<MB>mb.jsonl).")
    parser.add_argument("--skip-baseline", action="store_true", help="Only run ours (e.g. to measure peak RSS on 1 GB).")
    args = parser.parse_args()

    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus
    from workbench.models.load import load_tokenizer

    path = args.path or Path(f"/tmp/workbench-bench-{args.mb:g}mb.jsonl")
    if not path.exists():
        t = time.perf_counter()
        generate_corpus(path, args.mb)
        print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
    tokenizer = load_tokenizer(args.model)

    def cpu() -> float:  # user + system seconds of this process and its finished workers
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

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
    if args.skip_baseline:
        return
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    c = cpu()
    t = time.perf_counter()
    base = baseline(path, tokenizer)
    base_s = time.perf_counter() - t
    base_cpu = cpu() - c
    assert base["tokens"] == profile["tokens"], (base["tokens"], profile["tokens"])
    print(f"baseline: {base['bytes'] / 1e6:.1f} MB, {base['documents']:,} documents in {base_s:.1f} s "
          f"= {base['bytes'] / 1e6 / base_s:.2f} MB/s; CPU {base_cpu:.1f} s = {base_cpu / mb:.2f} CPU-s/MB")
    print(f"ratio:    ours is {base_s / ours_s:.2f}x faster (wall clock), uses {base_cpu / ours_cpu:.2f}x less CPU time")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
