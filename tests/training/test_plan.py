"""workbench plan: parameter counts, memory fit, time and cost, suggestions, run-card comparison."""

import itertools
import math

import pytest

from workbench.errors import WorkbenchError
from workbench.training.config import TrainConfig
from workbench.training.plan import (
    GPUS,
    KNOWN_CONFIGS,
    PlanConfig,
    activation_bytes_per_token_layer,
    compare_with_measured,
    estimate,
    format_plan,
    resolve_architecture,
    suggest,
)


def _meta_param_count(config) -> int:
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.real_model
def test_smollm2_parameter_count_matches_the_real_model(real_model_home):
    from transformers import AutoConfig

    from workbench.models.fetch import fetch_model

    folder = fetch_model("smollm2-135m", quiet=True)
    arch = resolve_architecture(folder)
    real = _meta_param_count(AutoConfig.from_pretrained(folder))
    assert abs(arch.n_params - real) / real < 0.01
    # the offline copy of the published config counts the same
    assert resolve_architecture("SmolLM2-135M").n_params == arch.n_params


@pytest.mark.parametrize("name", list(KNOWN_CONFIGS))
def test_known_configs_count_exactly_what_transformers_builds(name):
    from transformers import AutoConfig

    cfg = dict(KNOWN_CONFIGS[name])
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    assert resolve_architecture(name).n_params == _meta_param_count(config)


def test_published_sizes():
    sizes = {name: resolve_architecture(name).n_params for name in KNOWN_CONFIGS}
    assert sizes["Llama-3.1-8B"] == 8_030_261_248
    assert sizes["Llama-3.2-1B"] == 1_235_814_400
    assert sizes["Qwen2.5-0.5B"] == 494_032_768


def test_8b_fits_24gb_in_nf4_with_checkpointing_but_not_unquantized():
    base = {"gpu": "L4", "micro_batch_size": 1, "block_size": 2048, "gradient_checkpointing": "on"}
    nf4 = estimate("Llama-3.1-8B", **base)
    assert nf4.fits and nf4.headroom_gib > 5
    assert 5 < nf4.weights_gib < 8  # 4-bit linears + fp32 embeddings and lm_head
    full = estimate("Llama-3.1-8B", **base, quant="none", chunked_loss=False)
    assert not full.fits and full.weights_gib > 14.5
    # the chunked loss drops the 128k-vocabulary logits (2.9 GiB at 2,048 tokens)
    chunked = estimate("Llama-3.1-8B", **base, quant="none")
    assert full.logits_gib > 2.5 and chunked.logits_gib < 0.2 and chunked.peak_gib < full.peak_gib - 2.5
    # at the trainer's default micro-batch of 4 and with the full logits, no 24 GB card holds an unquantized 8B
    for gpu in ("L4", "A10G", "RTX 4090"):
        assert not estimate("Llama-3.1-8B", **{**base, "gpu": gpu, "micro_batch_size": 4}, quant="none",
                            chunked_loss=False).fits


def test_memory_rises_with_micro_batch_and_block_size():
    peaks = [estimate("Llama-3.2-1B", micro_batch_size=m, block_size=b).peak_gib
             for m, b in [(1, 512), (2, 512), (4, 512), (4, 1024), (4, 2048)]]
    assert all(x < y for x, y in itertools.pairwise(peaks))


def test_checkpointing_lowers_activation_memory():
    on = estimate("Llama-3.2-1B", block_size=2048, gradient_checkpointing="on")
    off = estimate("Llama-3.2-1B", block_size=2048, gradient_checkpointing="off")
    # the decoder layers' share shrinks to a fraction; the logits (128k vocabulary) stay
    assert on.activations_gib - on.logits_gib < (off.activations_gib - off.logits_gib) / 3
    assert on.logits_gib == off.logits_gib
    assert on.peak_gib < off.peak_gib
    # but recomputation costs one more forward through the decoder layers
    assert on.flops_per_token_executed > off.flops_per_token_executed == off.flops_per_token
    assert on.seconds > off.seconds


def test_frozen_base_flops_are_4n_not_6n():
    plan = estimate("Llama-3.1-8B", block_size=128, gradient_checkpointing="off")
    arch = resolve_architecture("Llama-3.1-8B")
    matmul = arch.parameter_counts()["linear"] + arch.vocab_size * arch.hidden_size
    assert plan.flops_per_token == pytest.approx(4 * matmul, rel=0.03)  # short blocks: attention is small
    assert plan.flops_per_token < 0.7 * 6 * matmul


def test_cost_is_hours_times_price():
    plan = estimate("Llama-3.1-8B", gpu="A100-80GB", max_tokens=10_000_000, price_per_hour=2.5)
    assert plan.cost == pytest.approx(plan.hours * 2.5)
    assert plan.hours == pytest.approx(plan.total_flops / (312e12 * plan.mfu) / 3600)
    default = estimate("Llama-3.1-8B", gpu="H100", max_tokens=10_000_000)
    assert default.cost == pytest.approx(default.hours * GPUS["H100"].price_per_hour)
    # twice the utilisation, half the time
    assert estimate("Llama-3.1-8B", gpu="H100", max_tokens=10_000_000, mfu=0.5).hours == pytest.approx(
        default.hours * default.mfu / 0.5)


def test_suggest_returns_a_config_that_fits():
    config = PlanConfig(gpu="T4", micro_batch_size=8, block_size=4096, gradient_checkpointing="off")
    assert not estimate("Llama-3.1-8B", config).fits
    suggestion = suggest("Llama-3.1-8B", config)
    assert suggestion.changes and suggestion.plan.fits
    again = estimate("Llama-3.1-8B", suggestion.config)
    assert again.fits and again.peak_gib == pytest.approx(suggestion.plan.peak_gib)
    # tokens per optimizer step are kept where possible
    c = suggestion.config
    assert c.micro_batch_size * c.grad_accum * c.block_size == 8 * 4096
    assert suggest("SmolLM2-135M", gpu="H100").changes == []
    with pytest.raises(WorkbenchError, match="more memory"):
        suggest("Llama-3.1-8B", gpu="T4", memory_gib=2.0)


def test_train_config_is_planned_as_the_trainer_runs_it():
    tc = TrainConfig(max_tokens=100_000, block_size=512, micro_batch_size=2, grad_accum=4)
    plan = estimate("SmolLM2-135M", tc, gpu="cpu")
    assert plan.config["block_size"] == 512 and plan.config["lora_r"] == tc.lora.r
    assert not plan.checkpointing and plan.optimizer == "adamw_torch"  # 'auto' on the CPU
    assert plan.tokens == 192 * 512 and plan.steps == 24  # 195 blocks cut to whole steps of 8, as prepare_data
    gpu = estimate("SmolLM2-135M", tc, gpu="A10G")
    assert gpu.checkpointing and gpu.optimizer == "paged_adamw_8bit"


def test_activation_formula_matches_what_autograd_saves(tiny_model):
    """The per-layer formula against the bytes autograd really keeps (tiny model, NF4, CPU)."""
    import torch

    from workbench.models.load import load_model
    from workbench.training.lora import add_lora

    micro, block = 2, 64
    model, _, _ = load_model(str(tiny_model), quant="nf4", device="cpu")
    model.config.use_cache = False
    model = add_lora(model, TrainConfig(model=str(tiny_model), block_size=block), "cpu")
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (micro, block))
    positions = torch.arange(block).repeat(micro, 1)
    positions[:, block // 2:] -= block // 2  # two packed documents per row
    storages: dict[int, int] = {}

    def keep(t):
        s = t.untyped_storage()
        storages[s.data_ptr()] = max(storages.get(s.data_ptr(), 0), s.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        model(input_ids=ids, position_ids=positions, labels=ids)
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    weights |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    saved = sum(n for ptr, n in storages.items() if ptr not in weights)
    arch = resolve_architecture(tiny_model)
    tokens = micro * block
    log_softmax = tokens * arch.vocab_size * 4
    config = PlanConfig(gpu="cpu", block_size=block, micro_batch_size=micro)
    layers = arch.num_layers * tokens * sum(activation_bytes_per_token_layer(arch, config).values())
    assert saved - log_softmax == pytest.approx(layers, rel=0.1)


def test_compare_with_measured_reports_ratios():
    plan = estimate("SmolLM2-135M", gpu="cpu", max_tokens=4096, block_size=256, micro_batch_size=4)
    card = {"tokens_per_s": plan.tokens_per_s / 2, "peak_memory_mb": plan.peak_gib * 1024 * 1.5,
            "train_seconds": 2 * 4096 / plan.tokens_per_s, "tokens_seen": 4096}
    result = compare_with_measured(plan, card)
    assert result["tokens_per_s"]["ratio"] == pytest.approx(0.5)
    assert result["peak_memory_mb"]["ratio"] == pytest.approx(1.5)
    assert result["train_seconds"]["ratio"] == pytest.approx(2.0)
    assert result["implied_mfu"] == pytest.approx(plan.mfu / 2)
    missing = compare_with_measured(plan, {})
    assert missing["tokens_per_s"]["ratio"] is None


def test_format_plan_and_to_dict():
    plan = estimate("Mistral-7B", gpu="T4", block_size=4096, micro_batch_size=4)
    text = format_plan(plan)
    assert "Mistral-7B-v0.1" in text and "DOES NOT FIT" in text and "$" in text
    d = plan.to_dict()
    assert d["fits"] is False and math.isclose(d["peak_gib"], plan.peak_gib)
    import json

    json.dumps(d)  # a run folder can store it


@pytest.mark.parametrize("kwargs, match", [
    ({"gpu": "V100-ish"}, "unknown GPU"),
    ({"micro_batch_size": 0}, "micro_batch_size"),
    ({"block_size": 8}, "too small"),
    ({"mfu": 1.5}, "mfu"),
    ({"price_per_hour": -1.0}, "price_per_hour"),
    ({"quant": "int3"}, "quant"),
    ({"lora_targets": "q_proj,wq"}, "not linear layers"),
    ({"block_size": 16384}, "context"),
])
def test_bad_inputs_give_workbench_errors(kwargs, match):
    with pytest.raises(WorkbenchError, match=match) as err:
        estimate("SmolLM2-135M", **kwargs)
    assert err.value.fix


def test_unknown_model_names_the_fix(tmp_path):
    with pytest.raises(WorkbenchError, match="no architecture known"):
        estimate("someone/secret-model")
    (tmp_path / "m").mkdir()
    with pytest.raises(WorkbenchError, match="no config.json"):
        estimate(tmp_path / "m")
    with pytest.raises(WorkbenchError, match="lacks"):
        estimate({"model_type": "llama", "hidden_size": 64})


def test_plan_matches_the_peak_memory_measured_on_an_h100():
    """benchmarks/results holds our trainer's runs on an H100 (full 4 x 1024 blocks, NF4 with the fp32
    upcast, chunked loss): the plan's tensor memory must stay within 15% of each measured peak."""
    import json
    from pathlib import Path

    results = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "results").glob("train-*.json"))
    assert results, "benchmarks/results/train-*.json missing"
    for path in results:
        run = json.loads(path.read_text())
        args = run["args"]
        plan = estimate(args["model"], gpu="H100", block_size=args["block_size"], micro_batch_size=args["micro_batch"],
                        upcast_unquantized=True, chunked_loss=True)
        measured_gib = run["ours"]["peak_memory_mb"] / 1024
        assert abs(plan.tensors_gib - measured_gib) / measured_gib < 0.15, (path.name, plan.tensors_gib, measured_gib)


def test_keeping_unquantized_weights_in_bf16_lowers_the_estimate():
    up = estimate("Llama-3.2-1B", gpu="H100", block_size=1024, micro_batch_size=4, upcast_unquantized=True)
    bf16 = estimate("Llama-3.2-1B", gpu="H100", block_size=1024, micro_batch_size=4, upcast_unquantized=False)
    assert bf16.weights_gib < up.weights_gib and bf16.activations_gib < up.activations_gib
    cpu = [estimate("Llama-3.2-1B", gpu="cpu", block_size=256, upcast_unquantized=u).peak_gib for u in (True, False)]
    assert cpu[0] == cpu[1]  # everything is fp32 on the CPU


def test_plan_counts_the_chunked_loss_only_where_the_trainer_uses_it():
    from workbench.training.config import TrainConfig
    from workbench.training.plan import KNOWN_CONFIGS, PlanConfig

    shapes = {"gpu": "L4", "micro_batch_size": 4, "block_size": 1024}
    llama = estimate("Llama-3.1-8B", **shapes)
    gemma_like = estimate({**KNOWN_CONFIGS["Llama-3.1-8B"], "model_type": "gemma"}, **shapes)
    assert gemma_like.logits_gib > llama.logits_gib + 3  # soft-capped logits: the model's own loss
    assert not PlanConfig.from_train_config(TrainConfig(train_embeddings=True), gpu="L4").chunked_loss
    assert not PlanConfig.from_train_config(TrainConfig(new_tokens="glossary.csv"), gpu="L4").chunked_loss
    assert PlanConfig.from_train_config(TrainConfig(), gpu="L4").chunked_loss


def test_every_shipped_preset_plans():
    """`workbench plan --preset NAME` works for every preset (the plan knows each preset's model)."""
    from workbench.cli import main
    from workbench.training.config import list_presets
    from workbench.workflows import train_config

    for name in list_presets():
        config = train_config(preset=name)
        plan = estimate(config.model, PlanConfig.from_train_config(config, gpu="L4"))
        assert plan.peak_gib > 0 and plan.steps > 0, name
    main(["plan", "--preset", "mistral-7b-24gb", "--gpu", "RTX 4090"])
