"""What makes the corpus a domain: divergence from general text, over-represented terms, vocabulary growth, readiness."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from workbench.documents.words import STOPWORDS

# Below this many (unique) tokens continued pretraining rarely moves domain perplexity measurably.
FLOOR_TOKENS = 500_000
# Around this many tokens the domain vocabulary is close to saturated (new words become rare).
SATURATION_TOKENS = 50_000_000




def _aligned(a: Mapping[str, int], b: Mapping[str, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    vocab = sorted(set(a) | set(b))  # sorted: tie order must not follow per-run string hashing
    return vocab, np.array([a.get(w, 0) for w in vocab], float), np.array([b.get(w, 0) for w in vocab], float)


def jensen_shannon(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """Jensen-Shannon divergence (bits, 0..1) between the unigram distributions of two word counts."""
    _, x, y = _aligned(a, b)
    if x.sum() == 0 or y.sum() == 0:
        return float("nan")
    p, q = x / x.sum(), y / y.sum()
    m = (p + q) / 2

    def kl(u: np.ndarray) -> float:
        nz = u > 0
        return float(np.sum(u[nz] * np.log2(u[nz] / m[nz])))

    return 0.5 * kl(p) + 0.5 * kl(q)


PRIOR_SHARE = 0.1  # prior mass as a share of the smaller corpus: pseudo-counts a tenth of the expected counts
LOWER_Z = 1.645  # terms rank by the lower end of the one-sided 95% interval of their log-odds ratio


def log_odds_terms(
    domain: Mapping[str, int], reference: Mapping[str, int], top: int = 40, min_count: int = 3
) -> list[dict]:
    """Words most over-represented in the domain: log-odds ratio with an informative Dirichlet prior.

    Monroe, Colaresi & Quinn (2008), "Fightin' Words": the prior follows the combined word frequencies, so
    rare words are shrunk towards no difference. Two choices make it hold when the domain corpus is much
    larger than the reference: the prior's total mass is ``PRIOR_SHARE`` of the smaller corpus (the raw
    combined counts as the prior drowned a small reference: a word seen 6,732 times in the domain and never
    in the reference got the domain's own rate on the reference side, z near 1), and terms are ranked by the
    lower end of the one-sided 95% interval of the log-odds ratio (``log_odds_lower``): a large difference
    that is also certain ranks first, so frequent domain-only terms lead and a general word that is only
    somewhat more frequent (but counted very often, hence a large z) follows. ``z`` is still reported.
    English function words (``STOPWORDS``) are not listed.
    """
    vocab, y_i, y_j = _aligned(domain, reference)
    if not vocab:
        return []
    n_i, n_j = y_i.sum(), y_j.sum()
    total = n_i + n_j
    alpha0 = PRIOR_SHARE * float(min(n_i, n_j) or total)
    alpha = alpha0 * (y_i + y_j) / total
    delta = np.log((y_i + alpha) / (n_i + alpha0 - y_i - alpha)) - np.log((y_j + alpha) / (n_j + alpha0 - y_j - alpha))
    sd = np.sqrt(1.0 / (y_i + alpha) + 1.0 / (y_j + alpha))
    z = delta / sd
    lower = delta - LOWER_Z * sd
    eligible = np.array([c >= min_count and len(w) > 1 and w not in STOPWORDS and any(ch.isalpha() for ch in w)
                         for w, c in zip(vocab, y_i)])
    order = [k for k in np.argsort(-lower, kind="stable") if eligible[k] and delta[k] > 0][:top]
    return [
        {"term": vocab[k], "count": int(y_i[k]), "reference_count": int(y_j[k]),
         "log_odds": round(float(delta[k]), 4), "log_odds_lower": round(float(lower[k]), 4), "z": round(float(z[k]), 3)}
        for k in order
    ]


def heaps_fit(words: np.ndarray, vocabulary: np.ndarray) -> dict:
    """Fit Heaps' law V = K * n^beta (log-log least squares) to cumulative words n and distinct words V."""
    words, vocabulary = np.asarray(words, float), np.asarray(vocabulary, float)
    keep = (words >= max(100.0, words.max() * 0.01 if len(words) else 0)) & (vocabulary > 0)
    if keep.sum() < 3:
        keep = (words > 0) & (vocabulary > 0)
    if keep.sum() < 2:
        return {"K": None, "beta": None}
    beta, log_k = np.polyfit(np.log(words[keep]), np.log(vocabulary[keep]), 1)
    return {"K": float(np.exp(log_k)), "beta": float(beta)}


def heaps_points(words: np.ndarray, vocabulary: np.ndarray, n: int = 60) -> list[list[int]]:
    """About ``n`` log-spaced (words, distinct words) points of the curve, for the report."""
    if len(words) == 0:
        return []
    idx = np.unique(np.geomspace(1, len(words), num=min(n, len(words))).astype(int) - 1)
    return [[int(words[i]), int(vocabulary[i])] for i in idx]


def readiness(
    tokens: int,
    tokens_per_word: float,
    words: int,
    vocabulary: int,
    heaps: dict,
    duplicate_rate: float,
    quality_failing_share: float,
    glossary_mean_tokens: float | None = None,
) -> dict:
    """A verdict on whether the corpus is worth continued pretraining, with plain-language recommendations."""
    unique_tokens = int(round(tokens * (1.0 - duplicate_rate)))
    result: dict = {
        "tokens": tokens, "unique_tokens": unique_tokens, "floor_tokens": FLOOR_TOKENS,
        "saturation_tokens": SATURATION_TOKENS, "share_of_floor": round(unique_tokens / FLOOR_TOKENS, 4),
        "share_of_saturation": round(unique_tokens / SATURATION_TOKENS, 6), "vocabulary": vocabulary,
    }
    k, beta = heaps.get("K"), heaps.get("beta")
    if k and beta and tokens_per_word > 0 and words > 0:
        words_at_saturation = SATURATION_TOKENS / tokens_per_word
        result["vocabulary_at_floor"] = int(k * (FLOOR_TOKENS / tokens_per_word) ** beta)
        result["vocabulary_at_saturation"] = int(k * words_at_saturation**beta)
        # new distinct words per 1,000 running words, now and at the saturation mark (derivative of Heaps)
        result["new_words_per_1000_now"] = round(1000 * k * beta * words ** (beta - 1), 2)
        result["new_words_per_1000_at_saturation"] = round(1000 * k * beta * words_at_saturation ** (beta - 1), 2)
    recs: list[str] = []
    if unique_tokens < FLOOR_TOKENS:
        verdict = "too_small"
        missing = FLOOR_TOKENS - unique_tokens
        recs.append(
            f"The corpus has {unique_tokens:,} unique tokens, {unique_tokens / FLOOR_TOKENS:.0%} of the "
            f"{FLOOR_TOKENS:,}-token floor below which continued pretraining rarely gives measurable gains. "
            f"Collect about {missing:,} more tokens of domain text (roughly {int(missing / max(tokens_per_word, 1e-9)):,} words)."
        )
        recs.append(
            "With this little text, consider retrieval (put these documents in a search index and give the "
            "relevant passages to the model) instead of pretraining."
        )
    elif unique_tokens < SATURATION_TOKENS:
        verdict = "ready"
        line = (f"The corpus has {unique_tokens:,} unique tokens: above the {FLOOR_TOKENS:,}-token floor, so "
                f"continued pretraining can give measurable gains.")
        if "vocabulary_at_saturation" in result:
            line += (f" Its vocabulary is still growing ({result['new_words_per_1000_now']} new words per 1,000 words);"
                     f" the Heaps curve projects {result['vocabulary_at_saturation']:,} distinct words at "
                     f"{SATURATION_TOKENS:,} tokens against {vocabulary:,} now, so more text still adds domain vocabulary.")
        recs.append(line)
    else:
        verdict = "saturated"
        recs.append(f"The corpus has {unique_tokens:,} unique tokens, past the {SATURATION_TOKENS:,}-token mark where "
                    "the domain vocabulary saturates; more of the same text adds little, so curate for quality.")
    if duplicate_rate > 0.05:
        recs.append(f"{duplicate_rate:.0%} of documents are exact or near duplicates: deduplicate with "
                    "'workbench curate' before training, or the model memorises the repeats.")
    if quality_failing_share > 0.2:
        recs.append(f"{quality_failing_share:.0%} of documents fail a quality rule: look at the examples and let "
                    "'workbench curate' drop them.")
    if glossary_mean_tokens is not None and glossary_mean_tokens >= 3:
        recs.append(f"The tokenizer splits glossary terms into {glossary_mean_tokens:.1f} tokens on average: the "
                    "model must learn these terms piece by piece, so it needs more examples of each.")
    result["verdict"] = verdict
    result["recommendations"] = recs
    return result


def word_counts(texts) -> Counter:
    """Lowercased word counts of an iterable of texts (for a reference corpus)."""
    from workbench.documents.words import lower_words

    counts: Counter = Counter()
    for text in texts:
        counts.update(lower_words(text))
    return counts
