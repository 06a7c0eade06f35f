"""Scoring with bf16 autocast on a CPU that has bf16 matmuls: perplexity within 0.5% of fp32."""

from __future__ import annotations

import json

import pytest

from workbench.models.runtime import cpu_has_bf16

needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="the CPU has no bf16 matmul instructions (avx512_bf16/amx_bf16)")


def _texts(sample_dir, name, n, chars=None):
    with open(sample_dir / name, encoding="utf-8") as handle:
        return [json.loads(line)["text"][:chars] for line in handle if line.strip()][:n]


def _fp32_and_bf16(model_folder, texts, window):
    import torch
    from transformers import AutoModelForCausalLM

    from workbench.evaluation.perplexity import score_documents
    from workbench.models.load import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(model_folder, dtype=torch.float32)
    tokenizer = load_tokenizer(model_folder)
    kwargs = dict(window=window, batch_size=4, progress=False)
    return (score_documents(model, tokenizer, texts, precision="fp32", **kwargs),
            score_documents(model, tokenizer, texts, precision="bf16", **kwargs))


@needs_bf16
def test_bf16_scoring_of_the_tiny_model_is_within_half_a_percent(tiny_model, sample_dir):
    texts = _texts(sample_dir, "domain_eval.jsonl", 4, 600)
    fp32, bf16 = _fp32_and_bf16(tiny_model, texts, 64)
    assert fp32.tokens == bf16.tokens > 200
    assert fp32.nll_sum != bf16.nll_sum  # the matmuls really ran in bf16
    assert bf16.token_ppl == pytest.approx(fp32.token_ppl, rel=5e-3)
    for a, b in zip(fp32.documents, bf16.documents):
        assert (a.token_ids == b.token_ids).all()


@needs_bf16
@pytest.mark.real_model
@pytest.mark.parametrize("name", ["domain_eval.jsonl", "general_eval.jsonl"])
def test_bf16_scoring_of_the_default_model_is_within_half_a_percent(real_model_home, sample_dir, name):
    from workbench.models.fetch import fetch_model

    folder = fetch_model("smollm2-135m", quiet=True)
    fp32, bf16 = _fp32_and_bf16(folder, _texts(sample_dir, name, 6), 512)
    assert fp32.tokens > 1000
    assert bf16.token_ppl == pytest.approx(fp32.token_ppl, rel=5e-3)
