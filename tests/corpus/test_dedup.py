import numpy as np
import pytest
from planted import near_duplicate_corpus, sample_docs

from workbench.documents.dedup import (
    DedupConfig,
    Permutations,
    exact_hash,
    exact_jaccard,
    find_leakage,
    find_near_duplicates,
    lsh_params,
    minhash_signatures,
    shingle_hashes,
    union_find_labels,
)
from workbench.documents.words import lower_words


def signatures(texts, config=DedupConfig()):
    shingles = [shingle_hashes(lower_words(t), config.shingle_size) for t in texts]
    return minhash_signatures(shingles, Permutations.make(config.num_perm, config.seed)), shingles


def test_planted_near_duplicates_recall_and_precision():
    docs, planted = near_duplicate_corpus(n_word=20, n_header=20)
    texts = [d["text"] for d in docs]
    sig, _ = signatures(texts)
    near = find_near_duplicates(sig, DedupConfig(threshold=0.8), text_of=lambda i: texts[i])
    labels = near.labels
    found = {(int(i), int(j)) for i, j in near.pairs}
    recall = np.mean([labels[i] == labels[j] for i, j in planted])
    # every pair of documents put in one cluster must be a planted pair
    clustered = {(a, b) for c in near.clusters() for k, a in enumerate(c) for b in c[k + 1:]}
    precision = len(clustered & set(planted)) / max(1, len(clustered))
    assert recall >= 0.9, (recall, found)
    assert precision >= 0.95, clustered - set(planted)
    # the dropped documents are the variants, the originals are kept
    assert set(near.duplicates) <= {j for _, j in planted}


def test_signature_estimate_tracks_exact_jaccard():
    texts = [d["text"] for d in sample_docs()[:2]]
    variant = " ".join(texts[0].split()[:150])  # half of the document: Jaccard about 0.5
    sig, shingles = signatures([texts[0], variant, texts[1]])
    exact = exact_jaccard(np.unique(shingles[0]), np.unique(shingles[1]))
    estimate = float(np.mean(sig[0] == sig[1]))
    assert abs(estimate - exact) < 0.12
    assert float(np.mean(sig[0] == sig[2])) < 0.1  # unrelated documents


def test_signatures_are_deterministic_and_batch_independent():
    texts = [d["text"] for d in sample_docs()[:30]]
    together, _ = signatures(texts)
    one_by_one = np.vstack([signatures([t])[0] for t in texts])
    assert np.array_equal(together, one_by_one)
    assert np.array_equal(together, signatures(texts)[0])


def test_exact_hash_ignores_case_whitespace_and_punctuation():
    assert exact_hash("Warfarin  inhibits VKORC1.") == exact_hash("warfarin inhibits\nvkorc1")
    assert exact_hash("Warfarin inhibits VKORC1") != exact_hash("Heparin inhibits VKORC1")


def test_short_and_empty_documents_are_never_near_duplicates_by_accident():
    texts = ["", "", "one two", "three four five"]
    sig, _ = signatures(texts)
    near = find_near_duplicates(sig, DedupConfig(), text_of=lambda i: texts[i])
    assert len(near.duplicates) == 0


def test_leakage_is_found_between_splits_only_where_planted():
    docs = sample_docs()
    train = [d["text"] for d in docs[:60]]
    evals = [d["text"] for d in docs[60:80]]
    train[7] = " ".join(evals[3].split()[:200])  # a train document copying most of an eval document
    tsig, _ = signatures(train)
    esig, _ = signatures(evals)
    leaks = find_leakage(tsig, esig, 0.5, 5, lambda i: train[i], lambda i: evals[i])
    assert [(t, e) for t, e, _ in leaks] == [(7, 3)]


def test_lsh_params_favour_recall_at_the_threshold():
    bands, rows = lsh_params(0.8, 128)
    assert bands * rows <= 128
    assert 1 - (1 - 0.8**rows) ** bands > 0.95  # a pair exactly at the threshold is almost always a candidate
    assert 1 - (1 - 0.3**rows) ** bands < 0.05


def test_union_find_joins_chains():
    labels = union_find_labels(6, np.array([[4, 5], [1, 4], [2, 3]]))
    assert labels.tolist() == [0, 1, 2, 2, 1, 1]


def test_dedup_config_rejects_bad_threshold():
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="threshold"):
        DedupConfig(threshold=1.5)


def test_streamed_verification_matches_per_document_verification():
    docs, planted = near_duplicate_corpus(n_word=20, n_header=20)
    texts = [d["text"] for d in docs]
    sig, _ = signatures(texts)
    config = DedupConfig(threshold=0.8)
    by_doc = find_near_duplicates(sig, config, text_of=lambda i: texts[i])
    calls = []

    def stream(indices):
        calls.append(indices.tolist())
        return ((i, texts[i]) for i in indices.tolist())

    streamed = find_near_duplicates(sig, config, text_of=None, texts=stream)
    assert len(calls) == 1 and calls[0] == sorted(set(calls[0]))  # one pass, increasing order
    assert np.array_equal(by_doc.pairs, streamed.pairs) and np.array_equal(by_doc.similarities, streamed.similarities)
    assert np.array_equal(by_doc.labels, streamed.labels) and by_doc.clusters() == streamed.clusters()
    assert len(by_doc.duplicates) == len(planted)
