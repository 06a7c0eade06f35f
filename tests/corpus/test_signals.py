"""The batched signal engine gives what the per-document functions give."""

import numpy as np
from planted import sample_docs

from workbench.corpus.pii import PATTERNS, pii_counts
from workbench.corpus.quality import SIGNALS, quality_signals
from workbench.corpus.signals import SignalOptions, TokenCounter, batch_signals
from workbench.documents.dedup import DedupConfig, Permutations, exact_hash, minhash_signatures, shingle_hashes
from workbench.documents.words import lower_words, words

ODD = [
    "", "   ", "one", "two words", "Ünïcødé ΟΔΟΣ.Β İstanbul \x1c\x1d tab\tnl\r\n it's we'll 123456 x",
    "special <|endoftext|> token inside", "emoji 😀 and 中文 text", "a\u2028b\u00a0c\u3000d e\u0301f",
    "Call (555) 123-4567 or mail jane.roe@example.org, see https://example.org/x.", "# hash ... dots…\n- bullet\n- bullet",
]


def test_pretoken_counts_equal_the_tokenizer(tiny_tokenizer):
    tokens = TokenCounter(tiny_tokenizer)
    assert tokens.pretokens is not None  # byte-level BPE: the fast path is used
    texts = [d["text"] for d in sample_docs()[:40]] + ODD
    expected = [len(ids) for ids in tiny_tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert tokens.count(texts) == expected
    assert TokenCounter(tiny_tokenizer, fast=False).count(texts) == expected


def test_batch_signals_match_per_document_functions(tiny_tokenizer):
    texts = [d["text"] for d in sample_docs()[:30]] + ODD
    config = DedupConfig()
    perms = Permutations.make(config.num_perm, config.seed)
    row = batch_signals({"text": texts}, TokenCounter(tiny_tokenizer), SignalOptions(), perms)
    n = len(texts)
    sig = np.frombuffer(row["signatures"][0], dtype=np.uint32).reshape(n, config.num_perm)
    expected = minhash_signatures([shingle_hashes(lower_words(t), config.shingle_size) for t in texts], perms)
    assert np.array_equal(sig, expected)
    assert row["exact"][0] == [exact_hash(t) for t in texts]
    assert row["words"][0] == [len(words(t)) for t in texts]
    for name in SIGNALS:
        assert np.allclose(row[f"q_{name}"][0], [quality_signals(t, words(t))[name] for t in texts]), name
    for kind in PATTERNS:
        assert row[f"pii_{kind}"][0] == [pii_counts(t)[kind] for t in texts], kind
    vocab = dict(zip(row["vocab"][0], row["vocab_counts"][0]))
    assert vocab == dict(__import__("collections").Counter(w for t in texts for w in lower_words(t)))
