"""Per-document signals computed in parallel with ``datasets``: the shared engine of ``inspect`` and ``curate``.

Documents are streamed from the corpus files into an Arrow dataset on disk (``Dataset.from_generator``),
so memory stays bounded whatever the corpus size. Signals are then computed by ``Dataset.map`` with
``num_proc`` workers, one output row per batch of documents (lists of per-document values, the batch's
MinHash signatures as bytes and its word counts), so the engine scales with ``datasets`` rather than a
home-made pool, and the main process only merges small rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.corpus.config import DedupConfig, QualityConfig
from workbench.corpus.dedup import Permutations, hash_words, minhash_signatures, shingle_hashes
from workbench.corpus.language import identify
from workbench.corpus.pii import PATTERNS, pii_counts
from workbench.corpus.quality import SIGNALS, quality_signals
from workbench.corpus.readers import FilePlan, iter_file_documents, plan_files
from workbench.corpus.words import WORD_RE

CHUNK_BYTES = 64 * 2**20  # text per parallel map call: bounds the rows held before they are merged


def default_num_proc() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def corpus_dataset(paths, text_field: str = "text", progress: bool = True) -> Iterator[tuple[object, FilePlan]]:
    """An Arrow-backed ``datasets.Dataset`` (id, text, source, replaced, nbytes) of the corpus, in a temp cache.

    The cache is deleted when the block ends.
    """
    import datasets
    from tqdm.auto import tqdm

    plan = plan_files(paths)
    cache = Path(tempfile.mkdtemp(prefix="workbench-corpus-"))
    features = datasets.Features({
        "id": datasets.Value("string"), "text": datasets.Value("string"), "source": datasets.Value("string"),
        "replaced": datasets.Value("int64"), "nbytes": datasets.Value("int64"),
    })
    bar = tqdm(total=plan.total_bytes / 1e6, unit="MB", desc="reading", disable=not progress, unit_scale=False,
               bar_format="{desc}: {n:.1f}/{total:.1f} MB [{elapsed}<{remaining}, {rate_fmt}] {postfix}")

    def generate(files: list[str]):
        docs = 0
        current, done_bytes = None, 0.0
        for doc in iter_file_documents(files, text_field):
            nbytes = len(doc.text.encode("utf-8"))
            docs += 1
            if doc.source != current:  # file sizes drive the bar (compressed files are counted as stored)
                if current is not None:
                    done_bytes += Path(current).stat().st_size / 1e6
                current = doc.source
            if docs % 1000 == 0:
                bar.n = done_bytes
                bar.set_postfix_str(f"{docs:,} documents", refresh=True)
            yield {"id": doc.id, "text": doc.text, "source": doc.source, "replaced": doc.replaced, "nbytes": nbytes}
        bar.n = bar.total
        bar.set_postfix_str(f"{docs:,} documents", refresh=True)

    was_enabled = datasets.utils.logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        dataset = datasets.Dataset.from_generator(
            generate, features=features, cache_dir=str(cache), gen_kwargs={"files": [str(f) for f in plan.files]},
            fingerprint=uuid.uuid4().hex,
        )
        bar.close()
        yield dataset, plan
    finally:
        bar.close()
        if was_enabled:
            datasets.enable_progress_bars()
        shutil.rmtree(cache, ignore_errors=True)


@dataclass
class SignalOptions:
    dedup: DedupConfig = field(default_factory=DedupConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    language_chars: int = 500
    pii_types: tuple[str, ...] = tuple(PATTERNS)
    vocabulary: bool = True  # return each batch's word counts (profile), not needed by curate


class TokenCounter:
    """Token counts with a fast tokenizer's batched Rust encoder, and how many tokens each word takes."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.backend = getattr(tokenizer, "backend_tokenizer", None)
        self.word_tokens: dict[str, int] = {}
        self._blank: dict[int, bool] = {}

    def _encode(self, texts: list[str]) -> list[list[int]]:
        if self.backend is not None:
            encode = getattr(self.backend, "encode_batch_fast", None) or self.backend.encode_batch
            return [e.ids for e in encode(texts, add_special_tokens=False)]
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"]

    def count(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self._encode(texts)]

    def _is_blank(self, token_id: int) -> bool:
        if token_id not in self._blank:
            self._blank[token_id] = not self.tokenizer.decode([token_id]).strip()
        return self._blank[token_id]

    def word_ids(self, words: list[str]) -> list[list[int]]:
        """Token ids of each word as it appears after a space (a lone leading space token is dropped)."""
        out = []
        for ids in self._encode([" " + w for w in words]):
            if len(ids) > 1 and self._is_blank(ids[0]):
                ids = ids[1:]
            out.append(ids)
        return out

    def split_counts(self, documents: list[list[str]]) -> list[int]:
        """Per document, how many word occurrences take two or more tokens (one batched call for new words)."""
        cache = self.word_tokens
        missing: set[str] = set()
        for words in documents:
            missing.update(words)
        missing.difference_update(cache)
        if missing:
            if len(cache) > 1_000_000:  # bound the cache on corpora with huge vocabularies
                cache.clear()
            missing_list = sorted(missing)
            cache.update(zip(missing_list, map(len, self.word_ids(missing_list))))
        return [sum(1 for w in words if cache[w] > 1) for words in documents]


def batch_signals(batch: dict, tokens: TokenCounter | None, options: SignalOptions, perms: Permutations) -> dict:
    """Signals of one batch of documents, returned as a single row of per-document lists."""
    texts = batch["text"]
    word_cache: dict[str, int] = {}
    n_words, split, split_base, exact, shingles, lowers = [], [], [], [], [], []
    quality: dict[str, list[float]] = {name: [] for name in SIGNALS}
    pii: dict[str, list[int]] = {kind: [] for kind in options.pii_types}
    langs, lang_scores = [], []
    for text in texts:
        cased = WORD_RE.findall(text)
        lower = WORD_RE.findall(text.lower())
        n_words.append(len(cased))
        if tokens is not None:
            lettered = [w for w in cased if not w.isdigit()]  # numbers are not vocabulary
            split.append(lettered)
            split_base.append(len(lettered))
        exact.append(hash_words(lower))
        shingles.append(shingle_hashes(lower, options.dedup.shingle_size, word_cache))
        if options.vocabulary:
            lowers.append(lower)
        for name, value in quality_signals(text, cased).items():
            quality[name].append(value)
        for kind, count in pii_counts(text, options.pii_types).items():
            pii[kind].append(count)
        lang, score = identify(text, options.language_chars)
        langs.append(lang)
        lang_scores.append(score)
    signatures = minhash_signatures(shingles, perms)
    if tokens is not None:
        split = tokens.split_counts(split)
    row = {
        "n": [len(texts)],
        "words": [n_words],
        "tokens": [tokens.count(texts) if tokens is not None else []],
        "split_words": [split],
        "split_base": [split_base],
        "exact": [exact],
        "has_shingles": [[len(s) > 0 for s in shingles]],
        "signatures": [signatures.tobytes()],
        "lang": [langs],
        "lang_score": [lang_scores],
    }
    row.update({f"q_{name}": [values] for name, values in quality.items()})
    row.update({f"pii_{kind}": [values] for kind, values in pii.items()})
    if options.vocabulary:
        counts: Counter = Counter()
        first: dict[str, int] = {}
        for d, lower in enumerate(lowers):
            counts.update(lower)
            new = set(lower).difference(first)
            first.update(dict.fromkeys(new, d))
        vocab = list(counts)
        row["vocab"] = [vocab]
        row["vocab_counts"] = [[counts[w] for w in vocab]]
        row["vocab_first"] = [[first[w] for w in vocab]]
    return row


def _map_batch(batch, tokens, options, perms):
    return batch_signals(batch, tokens, options, perms)


def iter_signal_rows(
    dataset,
    tokenizer=None,
    options: SignalOptions | None = None,
    num_proc: int | None = None,
    batch_size: int = 256,
    progress: bool = True,
    desc: str = "profiling",
) -> Iterator[dict]:
    """Signal rows (one per batch, in document order) over the whole dataset, with a documents + MB/s bar.

    The dataset is processed in contiguous chunks of about ``CHUNK_BYTES`` text, each by
    ``Dataset.map(num_proc=...)``, so the bar moves and finished rows are merged as they come.
    """
    import datasets
    from tqdm.auto import tqdm

    options = options or SignalOptions()
    num_proc = num_proc or default_num_proc()
    if num_proc > 1:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # workers are processes; no nested Rust threads
    perms = Permutations.make(options.dedup.num_perm, options.dedup.seed)
    tokens = TokenCounter(tokenizer) if tokenizer is not None else None
    nbytes = np.asarray(dataset["nbytes"], dtype=np.int64) if len(dataset) else np.zeros(0, dtype=np.int64)
    cumulative = np.cumsum(nbytes)
    bar = tqdm(total=round(float(nbytes.sum()) / 1e6, 1), unit="MB", desc=desc, disable=not progress,
               bar_format="{desc}: {n:.1f}/{total:.1f} MB [{elapsed}<{remaining}, {rate_fmt}] {postfix}")
    was_enabled = datasets.utils.logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        start, done_docs = 0, 0
        while start < len(dataset):
            stop = int(np.searchsorted(cumulative, cumulative[start] - nbytes[start] + CHUNK_BYTES, side="right"))
            stop = min(len(dataset), max(stop, start + batch_size * num_proc))
            chunk = dataset.select(range(start, stop))
            procs = max(1, min(num_proc, (stop - start) // batch_size))
            result = chunk.map(
                _map_batch, batched=True, batch_size=batch_size, num_proc=procs if procs > 1 else None,
                remove_columns=chunk.column_names, new_fingerprint=uuid.uuid4().hex,
                fn_kwargs={"tokens": tokens, "options": options, "perms": perms},
            )
            for row in result:
                yield row
            done_docs += stop - start
            bar.update(round(float(nbytes[start:stop].sum()) / 1e6, 1))
            bar.set_postfix_str(f"{done_docs:,} documents, {done_docs / max(bar.format_dict['elapsed'], 1e-9):,.0f} docs/s")
            start = stop
    finally:
        bar.close()
        if was_enabled:
            datasets.enable_progress_bars()


def signatures_of(row: dict, num_perm: int) -> np.ndarray:
    return np.frombuffer(row["signatures"], dtype=np.uint32).reshape(row["n"], num_perm)
