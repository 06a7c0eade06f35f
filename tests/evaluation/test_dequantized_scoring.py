"""Scoring through a once-dequantized NF4 base: the same perplexity as the 4-bit path, faster."""

import json

import pytest

from workbench.evaluation.perplexity import score_documents
from workbench.models.load import (
    DequantizedBase,
    dequantize_for_scoring,
    dequantized_size_bytes,
    linear4bit_layers,
    load_model,
    should_dequantize,
)


@pytest.fixture(scope="module")
def nf4_lora(tiny_model):
    """The tiny model in NF4 with a LoRA adapter whose B is not zero (so the adapter matters)."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer, _ = load_model(tiny_model, quant="nf4", device="cpu")
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(model, lora)
    model.eval()
    return model, tokenizer


@pytest.fixture(scope="module")
def texts(sample_dir):
    with open(sample_dir / "domain_eval.jsonl", encoding="utf-8") as handle:
        return [json.loads(line)["text"][:600] for line in handle if line.strip()][:4]


def test_dequantized_base_scores_within_a_tenth_of_a_percent(nf4_lora, texts):
    model, tokenizer = nf4_lora
    layers = linear4bit_layers(model)
    assert layers, "the tiny model has NF4 layers"
    before = {id(layer): layer.weight.data.clone() for layer in layers}
    nf4 = score_documents(model, tokenizer, texts, window=64, progress=False)
    with DequantizedBase(model) as dense:
        assert all("forward" in layer.__dict__ for layer in dense.layers)
        fast = score_documents(model, tokenizer, texts, window=64, progress=False)
        with model.disable_adapter():  # the adapter really applies on top of the dense base
            base_only = score_documents(model, tokenizer, texts, window=64, progress=False)
    assert fast.tokens == nf4.tokens
    assert abs(fast.token_ppl / nf4.token_ppl - 1) < 1e-3
    assert abs(base_only.documents[0].nll - fast.documents[0].nll).max() > 1e-2
    # restored: the quantized forward again, and the quantized weights as they were
    assert not any("forward" in layer.__dict__ for layer in layers)
    after = score_documents(model, tokenizer, texts, window=64, progress=False)
    assert after.token_ppl == pytest.approx(nf4.token_ppl, rel=1e-6)
    for layer in layers:
        if layer.weight.data.shape == before[id(layer)].shape:  # AVX512-BF16 hosts repack on eval
            assert layer.weight.data.equal(before[id(layer)]) or getattr(layer.weight.quant_state, "packing_format_for_cpu", False)


def test_auto_dequantizes_on_the_cpu_when_memory_allows(nf4_lora, tiny_model):
    model, _ = nf4_lora
    assert dequantized_size_bytes(model) > 0
    assert should_dequantize(model, "auto") and not should_dequantize(model, "off")
    full, _, _ = load_model(tiny_model, quant="none", device="cpu")
    assert dequantize_for_scoring(full, "on") is None  # nothing quantized: nothing to do
    import workbench.models.load as load

    saved = load.DEQUANTIZE_HEADROOM
    try:
        load.DEQUANTIZE_HEADROOM = 1e9  # as if the dense copy did not fit in memory
        assert not should_dequantize(model, "auto") and should_dequantize(model, "on")
    finally:
        load.DEQUANTIZE_HEADROOM = saved


def test_adapters_folded_into_the_dense_base_score_as_peft_does(nf4_lora, texts):
    """The adapted side through one folded weight per layer gives peft's numbers within float rounding; the
    base side is untouched; a changed adapter is folded again; training mode keeps peft's own forward."""
    import torch

    model, tokenizer = nf4_lora
    with DequantizedBase(model, fold_lora=False):
        reference = score_documents(model, tokenizer, texts, window=64, progress=False)
        with model.disable_adapter():
            reference_base = score_documents(model, tokenizer, texts, window=64, progress=False)
    with DequantizedBase(model) as dense:
        assert dense.wrappers and all("forward" in w.__dict__ for w in dense.wrappers)
        folded = score_documents(model, tokenizer, texts, window=64, progress=False)
        with model.disable_adapter():
            folded_base = score_documents(model, tokenizer, texts, window=64, progress=False)
        for ours, theirs in zip(folded.documents, reference.documents):
            assert ours.nll == pytest.approx(theirs.nll, rel=1e-4, abs=1e-4)
        assert folded.token_ppl == pytest.approx(reference.token_ppl, rel=1e-5)
        for ours, theirs in zip(folded_base.documents, reference_base.documents):
            assert ours.nll.tolist() == theirs.nll.tolist()  # the base side is the same computation
        # an adapter changed in place (as an optimizer step does) is folded again, not served stale
        wrapper = dense.wrappers[0]
        name = wrapper.active_adapters[0]
        x = torch.randn(2, 3, wrapper.base_layer.in_features)
        before = wrapper(x)
        with torch.no_grad():
            wrapper.lora_B[name].weight.add_(0.5)
        changed = wrapper(x)
        assert not torch.allclose(before, changed)
        torch.testing.assert_close(changed, type(wrapper).forward(wrapper, x), rtol=1e-4, atol=1e-5)
        wrapper.train()  # dropout may apply: peft's own forward
        try:
            torch.manual_seed(0)
            assert torch.equal(wrapper(x), (torch.manual_seed(0), type(wrapper).forward(wrapper, x))[1])
        finally:
            wrapper.eval()
            with torch.no_grad():
                wrapper.lora_B[name].weight.sub_(0.5)
    assert not any("forward" in w.__dict__ for w in dense.wrappers + [m for m in model.modules() if hasattr(m, "lora_A")])
