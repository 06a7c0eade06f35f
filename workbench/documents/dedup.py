"""Duplicates: normalised exact hashes, vectorised MinHash over word shingles, LSH banding, union-find.

Near-duplicates are found in three steps. (1) Each document's word ``shingle_size``-grams are hashed
to 32-bit values and its MinHash signature is computed for a whole batch of documents at once with
numpy (multiply-shift hash family, ``min.reduceat`` per document). (2) LSH banding proposes candidate
pairs; the band/row split is the most selective one that still proposes a pair at the threshold with
probability 0.97 or more, because (3) every candidate is verified: pairs whose signature estimate is
far below the threshold are dropped, the rest are checked with the exact Jaccard of their shingle
sets. So precision is that of the exact measure, and recall that of the LSH curve.
Clusters are the connected components of verified pairs (union-find); the first document of a
cluster in input order is kept.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.documents.words import lower_words
from workbench.errors import WorkbenchError

LEAKAGE_THRESHOLD = 0.5
"""Estimated Jaccard at or above which a training document leaks a held-out one (curation and comparisons)."""


@dataclass
class DedupConfig:
    """Near-duplicate detection: MinHash over word shingles, LSH banding, verified Jaccard estimate."""

    threshold: float = 0.8
    """Estimated Jaccard similarity at or above which two documents are near-duplicates."""
    num_perm: int = 128
    """MinHash permutations (signature length); more is more precise and slower."""
    shingle_size: int = 5
    """Words per shingle (word n-gram)."""
    seed: int = 1
    """Seed of the hash permutations (signatures are deterministic for a seed)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise WorkbenchError(f"dedup.threshold is {self.threshold}; it must be in (0, 1].", "use e.g. 0.8.")
        if self.num_perm < 16:
            raise WorkbenchError(f"dedup.num_perm is {self.num_perm}; LSH needs at least 16.", "use 64, 128 or 256.")
        if self.shingle_size < 1:
            raise WorkbenchError(f"dedup.shingle_size is {self.shingle_size}; it must be at least 1.", "use 5 (word 5-grams).")

_MIX = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_CHUNK = 4096  # shingles per numpy block: bounds the (shingles x permutations) matrix to ~4 MB


def exact_hash(text: str) -> str:
    """16-hex-digit hash of the text's lowercased words (equal for exact duplicates: whitespace, punctuation
    and case do not matter)."""
    return hash_words(lower_words(text))


def hash_words(lowered: Sequence[str]) -> str:
    """:func:`exact_hash` from already lowercased words."""
    return hashlib.blake2b(" ".join(lowered).encode("utf-8"), digest_size=8).hexdigest()


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def shingle_hashes(words: Sequence[str], shingle_size: int, cache: dict | None = None) -> np.ndarray:
    """32-bit hashes (as uint64) of the word n-grams of one document; fewer words than n give one shingle."""
    if not words:
        return np.zeros(0, dtype=np.uint64)
    if cache is None:
        ids = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    else:
        get = cache.get
        values = []
        for w in words:
            h = get(w)
            if h is None:
                h = cache[w] = zlib.crc32(w.encode("utf-8"))
            values.append(h)
        ids = np.asarray(values, dtype=np.uint64)
    return shingle_hashes_from_ids(ids, shingle_size)


def shingle_hashes_from_ids(ids: np.ndarray, shingle_size: int) -> np.ndarray:
    """:func:`shingle_hashes` from the words' crc32 hashes (uint64)."""
    n = max(1, len(ids) - shingle_size + 1)
    width = min(shingle_size, len(ids))
    with np.errstate(over="ignore"):
        h = np.zeros(n, dtype=np.uint64)
        for k in range(width):  # rolling combination of the n words, then a strong finaliser
            h = (h + ids[k:k + n]) * _MIX
        return _splitmix(h) >> np.uint64(32)


@dataclass(frozen=True)
class Permutations:
    a: np.ndarray  # odd 64-bit multipliers
    b: np.ndarray

    @classmethod
    def make(cls, num_perm: int, seed: int) -> Permutations:
        rng = np.random.default_rng(seed)
        a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        return cls(a, b)


def minhash_signatures(shingles: Sequence[np.ndarray], perms: Permutations) -> np.ndarray:
    """(documents, num_perm) uint32 MinHash signatures; documents without shingles get all 0xFFFFFFFF."""
    lengths = np.array([len(s) for s in shingles], dtype=np.int64)
    values = np.concatenate(list(shingles)) if len(shingles) else np.zeros(0, dtype=np.uint64)
    return minhash_flat(values.astype(np.uint64, copy=False), lengths, perms)


def minhash_flat(values: np.ndarray, lengths: np.ndarray, perms: Permutations) -> np.ndarray:
    """:func:`minhash_signatures` of documents whose shingle hashes are concatenated in ``values``.

    The (shingles x permutations) matrix is built ``_CHUNK`` rows at a time (bounded memory whatever the
    document lengths) and reduced per document with ``minimum.reduceat``; the ``>> 32`` is applied after
    the minimum (it is monotone, so the result is the same) to save a pass over the matrix.
    """
    num_perm = len(perms.a)
    n = len(lengths)
    out = np.full((n, num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    total = int(lengths.sum()) if n else 0
    if total:
        doc_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        nonempty = np.flatnonzero(lengths)
        starts, docs = doc_start[nonempty], nonempty
        buffer = np.empty((min(_CHUNK, total), num_perm), dtype=np.uint64)
        for lo in range(0, total, _CHUNK):
            hi = min(lo + _CHUNK, total)
            # documents overlapping [lo, hi): the one running in from before, then those starting inside
            first = int(np.searchsorted(starts, lo, side="right")) - 1
            last = int(np.searchsorted(starts, hi, side="left"))
            seg_docs = docs[first:last]
            seg_starts = np.maximum(starts[first:last], lo) - lo
            block = buffer[: hi - lo]
            with np.errstate(over="ignore"):
                np.multiply(values[lo:hi, None], perms.a[None, :], out=block)
                np.add(block, perms.b[None, :], out=block)
            mins = np.minimum.reduceat(block, seg_starts, axis=0)
            out[seg_docs] = np.minimum(out[seg_docs], mins)
    return (out >> np.uint64(32)).astype(np.uint32)


def batch_shingles(word_ids: np.ndarray, lengths: np.ndarray, shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shingle_hashes` of many documents at once from their concatenated word hashes.

    Returns the concatenated shingle hashes and the number of shingles of each document.
    """
    counts = np.where(lengths > 0, np.maximum(1, lengths - shingle_size + 1), 0)
    total = len(word_ids)
    if total == 0:
        return np.zeros(0, dtype=np.uint64), counts
    doc_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    m = max(0, total - shingle_size + 1)
    with np.errstate(over="ignore"):
        h = np.zeros(m, dtype=np.uint64)
        for k in range(shingle_size):
            h = (h + word_ids[k:k + m]) * _MIX
        h = _splitmix(h) >> np.uint64(32)
    # a full shingle starts at position p of document d when p + shingle_size <= its end
    long_docs = lengths >= shingle_size
    starts = np.repeat(doc_start[long_docs], counts[long_docs]) + _ranges(counts[long_docs])
    full = h[starts]
    short = np.flatnonzero((lengths > 0) & ~long_docs)
    if len(short) == 0:
        return full, counts
    # documents with fewer words than the shingle size: one shingle of all their words
    pieces, owner = [full], [np.repeat(np.flatnonzero(long_docs), counts[long_docs])]
    for d in short:
        pieces.append(shingle_hashes_from_ids(word_ids[doc_start[d]:doc_start[d] + lengths[d]], shingle_size))
        owner.append(np.array([d]))
    order = np.argsort(np.concatenate(owner), kind="stable")
    return np.concatenate(pieces)[order], counts


def _ranges(counts: np.ndarray) -> np.ndarray:
    """[0..c0-1, 0..c1-1, ...] for non-negative counts."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - offsets


def lsh_params(threshold: float, num_perm: int, recall: float = 0.97) -> tuple[int, int]:
    """(bands, rows): the most selective banding that still proposes a pair at the threshold with ``recall``.

    Candidates are verified afterwards, so a false candidate costs one check while a missed one is lost:
    more rows per band means fewer candidates, and we take as many rows as the recall target allows.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int, max_bucket: int = 64) -> np.ndarray:
    """(pairs, 2) int64 index pairs i < j sharing at least one LSH band; big buckets are joined to their first member."""
    n = len(signatures)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    valid = signatures[:, 0] != np.iinfo(np.uint32).max  # documents without shingles have no signature
    index_all = np.flatnonzero(valid)
    pairs = []
    for band in range(bands):  # one band at a time: only its (n,) key is held, never a uint64 copy of all
        with np.errstate(over="ignore"):
            key = np.zeros(len(index_all), dtype=np.uint64)
            for c in range(band * rows, (band + 1) * rows):
                key = (key ^ signatures[index_all, c].astype(np.uint64)) * _MIX
        order = np.argsort(key, kind="stable")
        key, index = key[order], index_all[order]
        del order
        boundaries = np.flatnonzero(np.diff(key)) + 1
        del key
        starts = np.concatenate([[0], boundaries])
        ends = np.concatenate([boundaries, [len(index)]])
        multi = ends - starts > 1
        band_pairs = []
        for s, e in zip(starts[multi], ends[multi]):
            members = np.sort(index[s:e])
            if e - s <= max_bucket:
                i, j = np.triu_indices(len(members), k=1)
                band_pairs.append(np.stack([members[i], members[j]], axis=1))
            else:
                band_pairs.append(np.stack([np.full(len(members) - 1, members[0]), members[1:]], axis=1))
        if band_pairs:  # one compact array per band (not thousands of small ones), duplicates dropped
            pairs.append(np.unique(np.concatenate(band_pairs).astype(np.int64), axis=0))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def estimated_jaccard(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    if len(pairs) == 0:
        return np.zeros(0)
    return (signatures[pairs[:, 0]] == signatures[pairs[:, 1]]).mean(axis=1)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def verify_pairs(
    pairs: np.ndarray,
    signatures: np.ndarray,
    threshold: float,
    shingle_size: int,
    text_of: Callable[[int], str] | None,
    slack: float = 0.15,
    cache_size: int = 8192,
    texts: Callable[[np.ndarray], Iterable[tuple[int, str]]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose Jaccard reaches ``threshold`` and their similarity (exact when ``text_of`` or ``texts`` is given).

    ``texts`` (given increasing document indices, yields (index, text) in that order) reads the documents in
    one sequential pass, holding each one's shingle set only until its last pair is checked; otherwise
    ``text_of`` is called per document, with a bounded least-recently-used cache of shingle sets.
    """
    if len(pairs) == 0:
        return pairs, np.zeros(0)
    estimate = estimated_jaccard(signatures, pairs)
    if text_of is None and texts is None:
        keep = estimate >= threshold
        return pairs[keep], estimate[keep]
    near = estimate >= threshold - slack  # far below: cannot reach the threshold, skip the exact check
    pairs, estimate = pairs[near], estimate[near]
    if texts is not None:
        sims = streamed_similarities(pairs, shingle_size, texts)
        keep = sims >= threshold
        return pairs[keep], sims[keep]
    cache: OrderedDict[int, np.ndarray] = OrderedDict()  # least recently used shingle sets, bounded

    def shingles(i: int) -> np.ndarray:
        if i in cache:
            cache.move_to_end(i)
            return cache[i]
        value = cache[i] = np.unique(shingle_hashes(lower_words(text_of(i)), shingle_size))
        if len(cache) > cache_size:
            cache.popitem(last=False)
        return value

    sims = np.array([exact_jaccard(shingles(int(i)), shingles(int(j))) for i, j in pairs])
    keep = sims >= threshold
    return pairs[keep], sims[keep]


def streamed_similarities(
    pairs: np.ndarray, shingle_size: int, texts: Callable[[np.ndarray], Iterable[tuple[int, str]]]
) -> np.ndarray:
    """Exact Jaccard of each pair (i < j), reading every document once in index order.

    A pair is checked when its later document is read; a document's shingle set is dropped once the scan
    has passed its last partner, so memory holds only the documents with a partner still ahead.
    """
    sims = np.zeros(len(pairs))
    if len(pairs) == 0:
        return sims
    needed = np.unique(pairs)
    last = needed.copy()  # scan position after which each needed document can be dropped
    np.maximum.at(last, np.searchsorted(needed, pairs[:, 0]), pairs[:, 1])
    expire: dict[int, list[int]] = {}
    for doc, until in zip(needed.tolist(), last.tolist()):
        expire.setdefault(until, []).append(doc)
    order = np.argsort(pairs[:, 1], kind="stable")
    later = pairs[order, 1].tolist()
    earlier = pairs[order, 0].tolist()
    order = order.tolist()
    held: dict[int, np.ndarray] = {}
    k = 0
    for doc, text in texts(needed):
        held[doc] = np.unique(shingle_hashes(lower_words(text), shingle_size)).astype(np.uint32)
        while k < len(order) and later[k] == doc:
            sims[order[k]] = exact_jaccard(held[earlier[k]], held[doc])
            k += 1
        for gone in expire.pop(doc, ()):
            held.pop(gone, None)
    if k != len(order):
        raise ValueError("texts() did not yield every requested document in order")
    return sims


def union_find_labels(n: int, pairs: np.ndarray) -> np.ndarray:
    """Cluster label of each item: the smallest index in its connected component."""
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for i, j in pairs:
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(n)])


@dataclass
class NearDuplicates:
    labels: np.ndarray  # cluster label per document (smallest member index)
    pairs: np.ndarray  # verified pairs
    similarities: np.ndarray

    @property
    def duplicates(self) -> np.ndarray:
        """Documents to drop: members of a cluster other than its first."""
        return np.flatnonzero(self.labels != np.arange(len(self.labels)))

    def clusters(self) -> list[list[int]]:
        """Clusters of two or more documents, biggest first, members in input order."""
        labels = np.asarray(self.labels)
        roots = np.unique(labels[labels != np.arange(len(labels))])  # labels of clusters with 2+ members
        if len(roots) == 0:
            return []
        members = np.flatnonzero(np.isin(labels, roots))
        members = members[np.argsort(labels[members], kind="stable")]  # by cluster, input order within
        bounds = np.flatnonzero(np.diff(labels[members])) + 1
        multi = [g.tolist() for g in np.split(members, bounds)]
        return sorted(multi, key=lambda g: (-len(g), g[0]))


def find_near_duplicates(
    signatures: np.ndarray,
    config: DedupConfig,
    text_of: Callable[[int], str] | None = None,
    candidates: np.ndarray | None = None,
    texts: Callable[[np.ndarray], Iterable[tuple[int, str]]] | None = None,
) -> NearDuplicates:
    """Near-duplicate clusters among documents, given their signatures (and text for exact verification:
    ``text_of`` per document, or ``texts`` for one sequential pass, see :func:`verify_pairs`)."""
    bands, rows = lsh_params(config.threshold, signatures.shape[1])
    pairs = candidate_pairs(signatures, bands, rows) if candidates is None else candidates
    pairs, sims = verify_pairs(pairs, signatures, config.threshold, config.shingle_size, text_of, texts=texts)
    return NearDuplicates(union_find_labels(len(signatures), pairs), pairs, sims)


def find_leakage(
    train_signatures: np.ndarray,
    eval_signatures: np.ndarray,
    threshold: float,
    shingle_size: int,
    train_text: Callable[[int], str] | None = None,
    eval_text: Callable[[int], str] | None = None,
) -> list[tuple[int, int, float]]:
    """(train index, eval index, Jaccard) for every train document that near-duplicates an eval document."""
    n_train = len(train_signatures)
    if n_train == 0 or len(eval_signatures) == 0:
        return []
    both = np.concatenate([train_signatures, eval_signatures])
    bands, rows = lsh_params(threshold, both.shape[1])
    pairs = candidate_pairs(both, bands, rows)
    pairs = pairs[(pairs[:, 0] < n_train) & (pairs[:, 1] >= n_train)]
    text_of = None
    if train_text is not None and eval_text is not None:
        def text_of(i: int) -> str:
            return train_text(i) if i < n_train else eval_text(i - n_train)
    pairs, sims = verify_pairs(pairs, both, threshold, shingle_size, text_of)
    return [(int(i), int(j) - n_train, float(s)) for (i, j), s in zip(pairs, sims)]


def text_signatures(texts: Sequence[str], config: DedupConfig | None = None) -> np.ndarray:
    """MinHash signatures of plain texts with ``config``'s shingles and permutations (as ``curate`` computes them)."""
    config = config or DedupConfig()
    perms = Permutations.make(config.num_perm, config.seed)
    cache: dict = {}
    return minhash_signatures([shingle_hashes(lower_words(t), config.shingle_size, cache) for t in texts], perms)


def leakage_between(
    train_texts: Sequence[str],
    eval_texts: Sequence[str],
    threshold: float,
    config: DedupConfig | None = None,
    train_signatures: np.ndarray | None = None,
) -> list[tuple[int, int, float]]:
    """The corpus stage's leakage definition on plain texts: (train index, eval index, exact Jaccard) of every
    train/eval pair whose word-shingle Jaccard reaches ``threshold`` (MinHash LSH candidates, verified exactly).

    ``curate`` removes such train documents when it builds a snapshot, and ``compare`` warns about the pairs it
    still finds between a run's training text and an eval set, so both stages call the same thing leakage.
    ``train_signatures`` (from :func:`text_signatures` with the same ``config``) saves hashing the training
    text again when several eval sets are checked against it.
    """
    config = config or DedupConfig()
    if train_signatures is None:
        train_signatures = text_signatures(train_texts, config)
    return find_leakage(train_signatures, text_signatures(eval_texts, config), threshold, config.shingle_size,
                        lambda i: train_texts[i], lambda i: eval_texts[i])
