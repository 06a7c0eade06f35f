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
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from workbench.corpus.config import QualityConfig
from workbench.corpus.language import _identifier, identify
from workbench.corpus.pii import PATTERNS, pii_counts
from workbench.corpus.quality import _LETTER, SIGNALS, line_signals
from workbench.corpus.tokens import PretokenCounter
from workbench.documents.dedup import DedupConfig, Permutations, batch_shingles, hash_words, minhash_flat
from workbench.documents.difficulty import SIGNALS as DIFFICULTY_SIGNALS
from workbench.documents.difficulty import document_signals
from workbench.documents.readers import (
    DEFAULT_MAX_DOCUMENT_CHARS,
    FilePlan,
    ReadReport,
    check_text_unit,
    emit_notes,
    iter_file_documents,
    no_documents_error,
    plan_files,
)
from workbench.documents.words import WORD_RE
from workbench.errors import WorkbenchError

CHUNK_BYTES = 64 * 2**20  # text per parallel map call: bounds the rows held before they are merged
# text per map batch: a batch of long documents (up to max_document_chars each) is made smaller, as a
# batch's words, tokens and shingles take tens of times its text
BATCH_BYTES = 8 * 2**20


def default_num_proc() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def corpus_dataset(
    paths, text_field: str = "text", progress: bool = True, text_unit: str = "auto", plan: FilePlan | None = None,
    max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS,
) -> Iterator[tuple[object, FilePlan]]:
    """An Arrow-backed ``datasets.Dataset`` (id, text, source, replaced, nbytes) of the corpus, in a temp cache.

    ``plan`` (default ``plan_files(paths)``) gets what reading each file gave in ``plan.report``; its
    warnings are printed once the corpus is read. A document over ``max_document_chars`` is split into
    parts. A file that cannot be read, or a corpus without any document, is a user error naming the
    file. The cache is deleted when the block ends.
    """
    import datasets
    from tqdm.auto import tqdm

    check_text_unit(text_unit)
    plan = plan if plan is not None else plan_files(paths)
    plan.report = report = ReadReport(text_unit, max_document_chars)
    cache = Path(tempfile.mkdtemp(prefix="workbench-corpus-"))
    features = datasets.Features({
        "id": datasets.Value("string"), "text": datasets.Value("string"), "source": datasets.Value("string"),
        "replaced": datasets.Value("int64"), "nbytes": datasets.Value("int64"),
    })
    # shown after a second: a read that fails at once leaves only its one-line error on the console
    bar = tqdm(total=plan.total_bytes / 1e6, unit="MB", desc="reading", disable=not progress, unit_scale=False, delay=1.0,
               bar_format="{desc}: {n:.1f}/{total:.1f} MB [{elapsed}<{remaining}, {rate_fmt}] {postfix}")

    def generate(files: list[str]):
        docs = 0
        current, done_bytes = None, 0.0
        for doc in iter_file_documents(files, text_field, text_unit, report):
            nbytes = len(doc.text.encode("utf-8"))
            docs += 1
            if doc.source != current:  # file sizes drive the bar (compressed files are counted as stored)
                if current is not None:
                    done_bytes += Path(current).stat().st_size / 1e6
                current = doc.source
            if docs % 1000 == 0:
                bar.n = done_bytes
                bar.set_postfix_str(f"{docs:,} documents", refresh=False)
                bar.update(0)  # redraws once the bar's delay has passed
            yield {"id": doc.id, "text": doc.text, "source": doc.source, "replaced": doc.replaced, "nbytes": nbytes}
        bar.n = bar.total
        bar.set_postfix_str(f"{docs:,} documents", refresh=False)

    was_enabled = datasets.utils.logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        try:
            dataset = datasets.Dataset.from_generator(
                generate, features=features, cache_dir=str(cache), gen_kwargs={"files": [str(f) for f in plan.files]},
                fingerprint=uuid.uuid4().hex,
            )
        except Exception as exc:  # datasets wraps what the generator raises; a user error comes out as itself
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, WorkbenchError):
                cause = cause.__cause__ or cause.__context__
            if cause is not None:
                raise cause.with_traceback(None) from None
            if report.documents == 0:  # datasets refuses an empty generator ("corresponds to no data")
                raise no_documents_error(paths, plan) from None
            raise
        bar.close()
        emit_notes(report.notes(text_field))
        yield dataset, plan
    finally:
        bar.close()
        if was_enabled:
            datasets.enable_progress_bars()
        shutil.rmtree(cache, ignore_errors=True)


def column(dataset, name: str) -> list:
    """A whole column as a Python list, straight from Arrow (``dataset[name]`` formats row by row)."""
    if getattr(dataset, "_indices", None) is None:
        return dataset.data.column(name).to_pylist()
    return list(dataset[name])


def column_array(dataset, name: str, dtype) -> np.ndarray:
    """A whole numeric column as a numpy array, converted chunk by chunk from Arrow (no Python objects)."""
    if getattr(dataset, "_indices", None) is None:
        chunks = dataset.data.column(name).chunks
        if not chunks:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([np.asarray(c.to_numpy(zero_copy_only=False), dtype=dtype) for c in chunks])
    return np.asarray(dataset[name], dtype=dtype)


def texts_at(dataset, rows: np.ndarray, name: str = "text") -> Iterator[str]:
    """The texts of the given increasing rows, in order, read in one sequential pass over the dataset's Arrow
    files with plain reads: unlike indexing the memory-mapped table, the pages read do not stay resident."""
    import pyarrow as pa

    rows = np.asarray(rows, dtype=np.int64)
    files = [f["filename"] for f in getattr(dataset, "cache_files", None) or []]
    streams = bool(files) and getattr(dataset, "_indices", None) is None
    for path in files if streams else []:  # datasets writes its cache files as Arrow IPC streams
        try:
            with pa.OSFile(path) as handle:
                pa.ipc.open_stream(handle)
        except (OSError, pa.ArrowInvalid):
            streams = False
    if not streams:
        for i in rows.tolist():
            yield dataset[i][name]
        return
    offset, k = 0, 0
    for path in files:
        with pa.OSFile(path) as handle:
            for batch in pa.ipc.open_stream(handle):
                end = offset + batch.num_rows
                stop = int(np.searchsorted(rows, end, side="left"))
                if stop > k:
                    texts = batch.column(batch.schema.get_field_index(name))
                    for i in rows[k:stop].tolist():
                        yield texts[i - offset].as_py()
                    k = stop
                offset = end
                del batch
    if offset != len(dataset) or k != len(rows):
        raise ValueError(f"read {offset:,} rows of {len(dataset):,} from the dataset's files")


def value_counts(dataset, name: str) -> Counter:
    """Counter of a column's values, in order of first appearance, counted batch by batch in Arrow."""
    if getattr(dataset, "_indices", None) is not None:
        return Counter(dataset[name])
    import pyarrow.compute as pc

    counts: Counter = Counter()
    for chunk in dataset.data.column(name).chunks:
        for item in pc.value_counts(chunk).to_pylist():
            counts[item["values"]] += item["counts"]
    return counts


@dataclass
class SignalOptions:
    dedup: DedupConfig = field(default_factory=DedupConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    language_chars: int = 500
    language_every: int = 1  # identify the language of every k-th document (1: all)
    pii_types: tuple[str, ...] = tuple(PATTERNS)
    vocabulary: bool = True  # return each batch's word counts (profile), not needed by curate


class TokenCounter:
    """Token counts with the model's tokenizer (exact), and how many tokens each word takes.

    Byte-level BPE tokenizers are counted by :class:`~workbench.corpus.tokens.PretokenCounter` (the same
    counts, about five times faster); others, and documents it cannot count exactly, by the fast
    tokenizer's batched Rust encoder.
    """

    def __init__(self, tokenizer, fast: bool = True):
        self.tokenizer = tokenizer
        self.backend = getattr(tokenizer, "backend_tokenizer", None)
        self.word_tokens: dict[str, int] = {}
        self._blank: dict[int, bool] = {}
        self.pretokens = PretokenCounter.for_backend(self.backend) if fast and self.backend is not None else None
        self.word_codes = _WordCodes()

    def _encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        if self.backend is not None:
            encode = getattr(self.backend, "encode_batch_fast", None) or self.backend.encode_batch
            return [e.ids for e in encode(texts, add_special_tokens=False)]
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"]

    def count(self, texts: list[str]) -> list[int]:
        if self.pretokens is not None:
            return self.pretokens.count(texts, self._encode)
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


class _WordCodes(dict):
    """Cased word -> packed facts used per occurrence: crc32 of the lowercased word << 32 | length << 3 |
    has letter << 2 | is number << 1 | split (length capped at 2**28)."""

    def add(self, words: set[str], tokens: TokenCounter | None) -> None:
        if len(self) > 1_000_000:  # bound the cache on corpora with huge vocabularies
            self.clear()
        missing = sorted(words.difference(self))
        if not missing:
            return
        lettered = [w for w in missing if not w.isdigit()]  # numbers are not vocabulary
        split = {}
        if tokens is not None and lettered:
            split = {w: len(ids) > 1 for w, ids in zip(lettered, tokens.word_ids(lettered))}
        letter = _LETTER.search
        for w in missing:
            self[w] = ((zlib.crc32(w.lower().encode("utf-8")) << 32) | (min(len(w), 2**28 - 1) << 3)
                       | ((letter(w) is not None) << 2) | (w.isdigit() << 1) | int(split.get(w, False)))


class _WordHashes(dict):
    """Lowercased word -> 32-bit crc (the word hash of :func:`~workbench.documents.dedup.shingle_hashes`)."""

    def __missing__(self, word: str) -> int:
        h = self[word] = zlib.crc32(word.encode("utf-8"))
        return h


_CODES: _WordCodes = _WordCodes()  # when no tokenizer is given (no split flags)
_HASHES: _WordHashes = _WordHashes()


def batch_signals(batch: dict, tokens: TokenCounter | None, options: SignalOptions, perms: Permutations,
                  indices: list[int] | None = None) -> dict:
    """Signals of one batch of documents, returned as a single row of per-document lists.

    Word-level facts (length, letters, number, tokenizer split) come from a per-process cache of distinct
    words and are summed per document with numpy; shingles and MinHash signatures are computed for the
    whole batch at once. ``indices`` (corpus positions of the documents) select which documents get a
    language (every ``options.language_every``-th).
    """
    texts = batch["text"]
    n = len(texts)
    cased = [WORD_RE.findall(text) for text in texts]
    lowered = [text.lower() for text in texts]
    # ASCII text: the lowercased words are the words lowercased (one C-level join/lower/split); other text
    # is searched again after lowercasing (lowercasing can change word boundaries outside ASCII)
    ascii_docs = [text.isascii() for text in texts]
    lower = [(" ".join(words).lower().split(" ") if words else []) if plain else WORD_RE.findall(low)
             for words, low, plain in zip(cased, lowered, ascii_docs)]
    n_words = np.fromiter(map(len, cased), dtype=np.int64, count=n)
    doc_of = np.repeat(np.arange(n), n_words)

    # word facts (and the hash of the lowercased word), one cached lookup per word occurrence
    flat = list(chain.from_iterable(cased))
    word_codes = tokens.word_codes if tokens is not None else _CODES
    word_codes.add(set(flat), tokens)
    packed = np.array(list(map(word_codes.__getitem__, flat)), dtype=np.uint64).reshape(-1)
    codes = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)

    def per_doc(values: np.ndarray) -> np.ndarray:
        return np.bincount(doc_of, weights=values, minlength=n)

    lengths = per_doc(codes >> 3)
    letters = per_doc((codes >> 2) & 1)
    numbers = per_doc((codes >> 1) & 1)
    split = per_doc(codes & 1 & ~(codes >> 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_length = np.where(n_words > 0, lengths / np.maximum(n_words, 1), 0.0)
        alpha = np.where(n_words > 0, letters / np.maximum(n_words, 1), 0.0)

    # shingles and signatures of the whole batch
    n_lower = np.fromiter(map(len, lower), dtype=np.int64, count=n)
    flat_lower = list(chain.from_iterable(lower))
    if all(ascii_docs):
        ids = packed >> np.uint64(32)
    else:
        if len(_HASHES) > 2_000_000:
            _HASHES.clear()
        ids = np.array(list(map(_HASHES.__getitem__, flat_lower)), dtype=np.uint64).reshape(-1)
    shingles, per_doc_shingles = batch_shingles(ids, n_lower, options.dedup.shingle_size)
    signatures = minhash_flat(shingles, per_doc_shingles, perms)

    quality: dict[str, list[float]] = {"mean_word_length": mean_length.tolist(), "alpha_share": alpha.tolist()}
    lines = [line_signals(text) for text in texts]
    symbols = [text.count("#") + text.count("...") + text.count("…") for text in texts]
    quality["symbol_ratio"] = [s / w if w else float(s > 0) for s, w in zip(symbols, n_words.tolist())]
    for k, name in enumerate(("duplicate_line_share", "bullet_line_share", "ellipsis_line_share")):
        quality[name] = [values[k] for values in lines]

    pii: dict[str, list[int]] = {kind: [] for kind in options.pii_types}
    if options.pii_types:
        for text, low in zip(texts, lowered):
            for kind, count in pii_counts(text, options.pii_types, lowered=low).items():
                pii[kind].append(count)

    every = max(1, options.language_every)
    positions = indices if indices is not None else range(n)
    langs, lang_scores = [], []
    for text, position in zip(texts, positions):
        if position % every == 0:
            lang, score = identify(text, options.language_chars)
        else:
            lang, score = "", float("nan")  # not in the language sample
        langs.append(lang)
        lang_scores.append(score)

    row = {
        "n": [n],
        "words": [n_words.tolist()],
        "tokens": [tokens.count(texts) if tokens is not None else []],
        "split_words": [split.astype(np.int64).tolist() if tokens is not None else []],
        "split_base": [(n_words - numbers.astype(np.int64)).tolist() if tokens is not None else []],
        "exact": [[hash_words(words) for words in lower]],
        "has_shingles": [(n_lower > 0).tolist()],
        "signatures": [signatures.tobytes()],
        "lang": [langs],
        "lang_score": [lang_scores],
    }
    row.update({f"q_{name}": [quality[name]] for name in SIGNALS})
    difficulty = [document_signals(text, words) for text, words in zip(texts, lower)]
    row.update({f"d_{name}": [[d[name] for d in difficulty]] for name in DIFFICULTY_SIGNALS})
    row.update({f"pii_{kind}": [values] for kind, values in pii.items()})
    if options.vocabulary:
        # first document of the batch each distinct word occurs in: later pairs overwrite, so go backwards
        first = dict(zip(reversed(flat_lower), reversed(np.repeat(np.arange(n), n_lower).tolist())))
        counts = Counter(flat_lower)
        vocab = list(first)
        row["vocab"] = [vocab]
        row["vocab_counts"] = [[counts[w] for w in vocab]]
        row["vocab_first"] = [[first[w] for w in vocab]]
    return row


def _map_batch(texts, indices, tokens, options, perms, offset=0):
    return batch_signals({"text": texts}, tokens, options, perms, [offset + i for i in indices])


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
    ``Dataset.map(num_proc=...)``, so the bar moves and finished rows are merged as they come; a batch
    holds ``batch_size`` documents, fewer where they are long (about ``BATCH_BYTES`` of text).
    """
    import datasets
    from tqdm.auto import tqdm

    options = options or SignalOptions()
    num_proc = num_proc or default_num_proc()
    if num_proc > 1:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # workers are processes; no nested Rust threads
    perms = Permutations.make(options.dedup.num_perm, options.dedup.seed)
    tokens = TokenCounter(tokenizer) if tokenizer is not None else None
    _identifier()  # load the language model once here: forked workers inherit it
    nbytes = column_array(dataset, "nbytes", np.int64) if len(dataset) else np.zeros(0, dtype=np.int64)
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
            mean_bytes = max(1.0, float(nbytes[start:stop].mean()))
            size = max(1, min(batch_size, int(BATCH_BYTES / mean_bytes)))
            procs = max(1, min(num_proc, (stop - start) // size))
            result = chunk.map(
                _map_batch, batched=True, with_indices=True, batch_size=size,
                num_proc=procs if procs > 1 else None, input_columns=["text"],
                remove_columns=chunk.column_names, new_fingerprint=uuid.uuid4().hex,
                fn_kwargs={"tokens": tokens, "options": options, "perms": perms, "offset": start},
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
