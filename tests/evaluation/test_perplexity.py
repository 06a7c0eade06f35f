import json
import math

import numpy as np
import pytest

from workbench.evaluation.perplexity import count_words, score_concatenated, score_documents


def _load(path, quant="none"):
    from workbench.models.load import load_model

    model, tokenizer, _ = load_model(str(path), quant=quant, device="cpu")
    return model, tokenizer


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return _load(tiny_model)


@pytest.fixture(scope="module")
def texts(sample_dir):
    with open(sample_dir / "domain_eval.jsonl", encoding="utf-8") as handle:
        return [json.loads(line)["text"][:400] for line in handle][:4]


def reference_sliding_nll(model, ids, window, stride):
    """Straightforward HF-style loop on one sequence: windows at 0, S, 2S...; sum of NLL of new targets."""
    import torch
    import torch.nn.functional as F

    total, count, prev_end = 0.0, 0, 0
    with torch.no_grad():
        for begin in range(0, len(ids), stride):
            end = min(begin + window, len(ids))
            x = torch.tensor([ids[begin:end]])
            logits = model(input_ids=x).logits[0].double()
            first = max(prev_end, begin + 1)
            targets = x[0, first - begin : end - begin]
            total += F.cross_entropy(logits[first - begin - 1 : end - begin - 1], targets, reduction="sum").item()
            count += len(targets)
            prev_end = end
            if end == len(ids):
                break
    return total, count


@pytest.mark.parametrize("window,stride", [(1024, None), (48, 24), (32, 32), (24, 7)])
def test_document_scores_match_a_plain_reference_loop(tiny, texts, window, stride):
    model, tokenizer = tiny
    texts = [t[:250] for t in texts[:2]]
    score = score_documents(model, tokenizer, texts, window=window, stride=stride, batch_size=3, progress=False)
    for text, doc in zip(texts, score.documents):
        ids = [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]
        assert doc.tokens == len(ids) - 1  # every token of the document scored once
        assert list(doc.token_ids) == ids[1:]
        if stride == window:  # windows must overlap by one token so each target keeps its previous token
            continue
        expected, count = reference_sliding_nll(model, ids, window, stride or window // 2)
        assert count == doc.tokens
        assert doc.nll_sum == pytest.approx(expected, rel=1e-5)


def test_batching_and_padding_do_not_change_scores(tiny, texts):
    model, tokenizer = tiny
    one = score_documents(model, tokenizer, texts, window=48, batch_size=1, progress=False)
    many = score_documents(model, tokenizer, texts, window=48, batch_size=8, progress=False)
    for a, b in zip(one.documents, many.documents):
        np.testing.assert_allclose(a.nll, b.nll, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(a.top1_correct, b.top1_correct)


def test_corpus_metrics_follow_lm_eval_harness_definitions(tiny, texts):
    model, tokenizer = tiny
    score = score_documents(model, tokenizer, texts, window=64, progress=False)
    nll = sum(d.nll.sum() for d in score.documents)
    words = sum(len(__import__("re").split(r"\s+", t)) for t in texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    assert score.word_ppl == pytest.approx(math.exp(nll / words))
    assert score.bits_per_byte == pytest.approx(nll / (n_bytes * math.log(2)))
    assert score.token_ppl == pytest.approx(math.exp(nll / score.tokens))
    assert count_words(" a  b\nc ") == 5  # re.split keeps the empty pieces at the ends, as the harness does
    d = score.documents[0]
    assert np.all((d.top1_prob >= d.target_prob - 1e-9) & (d.sum_p2 <= 1 + 1e-9))
    np.testing.assert_allclose(d.target_prob, np.exp(-d.nll))


def test_temperature_grid_at_one_reproduces_plain_scores(tiny, texts):
    model, tokenizer = tiny
    score = score_documents(model, tokenizer, texts[:2], window=64, temperatures=(0.5, 1.0, 2.0), progress=False)
    d = score.documents[0]
    assert d.nll_by_temperature.shape == (d.tokens, 3)
    np.testing.assert_allclose(d.nll_by_temperature[:, 1], d.nll, rtol=1e-5)
    np.testing.assert_allclose(d.top1_prob_by_temperature[:, 1], d.top1_prob, rtol=1e-5)
    assert np.all(d.top1_prob_by_temperature[:, 2] <= d.top1_prob + 1e-9)  # hotter: less confident


def test_window_longer_than_context_is_a_clear_error(tiny, texts):
    from workbench.errors import WorkbenchError

    model, tokenizer = tiny
    with pytest.raises(WorkbenchError, match="longer than the model's context"):
        score_documents(model, tokenizer, texts, window=100_000, progress=False)


def hf_fixed_length_recipe(model, tokenizer, texts, max_length, stride):
    """Verbatim the Hugging Face "perplexity of fixed-length models" loop (transformers docs)."""
    import torch

    encodings = tokenizer("\n\n".join(texts), return_tensors="pt")
    seq_len = encodings.input_ids.size(1)
    nll_sum, n_tokens, prev_end_loc = 0.0, 0, 0
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + max_length, seq_len)
        trg_len = end_loc - prev_end_loc
        input_ids = encodings.input_ids[:, begin_loc:end_loc]
        target_ids = input_ids.clone()
        target_ids[:, :-trg_len] = -100
        with torch.no_grad():
            outputs = model(input_ids, labels=target_ids)
            neg_log_likelihood = outputs.loss
        num_valid_tokens = (target_ids != -100).sum().item()
        batch_size = target_ids.size(0)
        num_loss_tokens = num_valid_tokens - batch_size
        nll_sum += neg_log_likelihood * num_loss_tokens
        n_tokens += num_loss_tokens
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return torch.exp(nll_sum / n_tokens).item()


def test_concatenated_mode_matches_hf_recipe_on_tiny_model(tiny, texts):
    model, tokenizer = tiny
    ours = score_concatenated(model, tokenizer, texts, window=64, stride=32)
    assert ours.token_ppl == pytest.approx(hf_fixed_length_recipe(model, tokenizer, texts, 64, 32), rel=1e-3)


@pytest.mark.real_model
def test_token_perplexity_equals_hf_recipe_on_default_model(real_model_home, sample_dir):
    from workbench.models.fetch import fetch_model

    folder = fetch_model("smollm2-135m", quiet=True)  # cached after the first time
    model, tokenizer = _load(folder)
    with open(sample_dir / "domain_eval.jsonl", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle][:3]  # about 1,300 tokens
    ours = score_concatenated(model, tokenizer, texts, window=256, stride=128, batch_size=4)
    reference = hf_fixed_length_recipe(model, tokenizer, texts, 256, 128)
    assert ours.tokens > 1000
    assert ours.token_ppl == pytest.approx(reference, rel=1e-3)


def test_scoring_when_the_forward_returns_fp32_hidden_states_for_a_bf16_head(tiny_model, sample_dir):
    """During training accelerate converts the model's outputs to fp32 while the head stays bf16
    (NF4 without the fp32 upcast): the scorer must give the head rows in its own dtype."""
    import torch
    from transformers import AutoModelForCausalLM

    from workbench.documents.texts import read_texts
    from workbench.evaluation.perplexity import score_documents
    from workbench.models.load import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16)
    forward = model.forward

    def fp32_outputs(*args, **kwargs):
        out = forward(*args, **kwargs)
        out.logits = out.logits.float()
        return out

    model.forward = fp32_outputs
    texts = read_texts(sample_dir / "domain_eval.jsonl")[:2]
    score = score_documents(model, load_tokenizer(str(tiny_model)), texts, window=64, stride=32, progress=False)
    assert score.tokens > 0 and 1 < score.token_ppl < 1e4
