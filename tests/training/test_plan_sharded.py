"""`workbench plan` for sharded runs: per-GPU memory on N GPUs, with and without CPU offload, pinned against a
hand computation of the sharded parameter, gradient and optimizer memory for every shipped preset."""

import pytest

from workbench.errors import WorkbenchError
from workbench.training.plan import GIB, KNOWN_CONFIGS, PlanConfig, estimate, gpus_needed, resolve_architecture

NF4_PACKED = 0.5  # bytes per 4-bit weight: sharded with the weights
NF4_CONSTANTS = 1 / 64 + 4 / (64 * 256)  # absmax per 64 weights + fp32 second-level per 256 blocks: whole on every GPU


def _hand(model, config: PlanConfig, gpus: int, offload: bool) -> dict:
    """The sharded figures from the architecture's parameter counts, written out independently of plan.py."""
    arch = resolve_architecture(model)
    c = arch.parameter_counts()
    lora = arch.num_layers * sum(config.lora_r * (i + o) for i, o, _ in arch.linear_shapes().values()) \
        if config.lora_targets == "all-linear" else None
    unquantized = c["bias"] + c["norms"] + c["embeddings"] + c["lm_head"]
    on_gpu_nf4 = config.quant == "nf4"
    residual = 4 if (on_gpu_nf4 and config.upcast_unquantized) else 2
    packed = c["linear"] * NF4_PACKED if on_gpu_nf4 else 0
    constants = c["linear"] * NF4_CONSTANTS if on_gpu_nf4 else 0
    weights = (packed + unquantized * residual) if on_gpu_nf4 else c["total"] * 2
    optimizer = lora * (2.0 if config.optimizer_name == "paged_adamw_8bit" else 8.0)
    state = weights + lora * 8 + optimizer  # every parameter, its gradient and its AdamW moments shard
    if offload:
        return {"weights": constants, "lora": 0.0, "optimizer": 0.0, "host": state}
    return {"weights": packed / gpus + unquantized * residual / gpus + constants if on_gpu_nf4 else weights / gpus,
            "lora": lora * 8 / gpus, "optimizer": optimizer / gpus, "host": 0.0}


@pytest.mark.parametrize("gpus", [1, 2, 4, 8])
def test_every_shipped_preset_shards_as_computed_by_hand(gpus):
    from workbench.training.config import list_presets
    from workbench.workflows import train_config

    for name in list_presets():
        config = train_config(preset=name)
        plan_config = PlanConfig.from_train_config(config, gpu="A100-80GB", gpus=gpus)
        if plan_config.lora_targets != "all-linear":
            continue
        for offload in (False, True):
            cfg = PlanConfig.from_train_config(config, gpu="A100-80GB", gpus=gpus, cpu_offload=offload)
            plan = estimate(config.model, cfg)
            hand = _hand(config.model, cfg, gpus, offload)
            sharded = cfg.gpus > 1 or offload
            if not sharded:  # one GPU, no offload: the unsharded plan, nothing gathered
                assert plan.gathered_gib == 0 and plan.host_memory_gib == 0
                continue
            assert plan.weights_gib == pytest.approx(hand["weights"] / GIB, rel=1e-9), (name, gpus, offload)
            assert plan.lora_gib == pytest.approx(hand["lora"] / GIB, rel=1e-9, abs=1e-12), (name, gpus, offload)
            assert plan.optimizer_gib == pytest.approx(hand["optimizer"] / GIB, rel=1e-9, abs=1e-12), (name, gpus, offload)
            assert plan.host_memory_gib == pytest.approx(hand["host"] / GIB, rel=1e-9, abs=1e-12), (name, gpus, offload)
            assert plan.gpus == gpus and plan.gathered_gib > 0
            # the tensors add up: nothing else changes with the GPU count but the shards
            assert plan.tensors_gib == pytest.approx(plan.weights_gib + plan.lora_gib + plan.optimizer_gib
                                                     + plan.activations_gib + plan.gathered_gib)


def test_more_gpus_lower_the_per_gpu_peak_and_offload_lowers_it_further():
    peaks = [estimate("Llama-3.1-8B", gpu="L4", gpus=n).peak_gib for n in (2, 4, 8)]
    assert peaks[0] > peaks[1] > peaks[2]
    offloaded = estimate("Llama-3.1-8B", gpu="L4", gpus=2, cpu_offload=True)
    assert offloaded.peak_gib < peaks[2] and offloaded.host_memory_gib > 5
    # the steps of a budget: every GPU trains its micro-batches in each optimizer step
    one, four = estimate("Llama-3.1-8B", gpu="L4", max_tokens=1_048_576), estimate("Llama-3.1-8B", gpu="L4", gpus=4,
                                                                                 max_tokens=1_048_576)
    assert four.steps == one.steps // 4 and four.seconds == pytest.approx(one.seconds / 4, rel=0.01)


def test_a_70b_model_on_24gb_cards_says_it_needs_sharding():
    llama70 = {**KNOWN_CONFIGS["Llama-3.1-8B"], "hidden_size": 8192, "intermediate_size": 28672,
               "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8}
    config = PlanConfig(gpu="RTX 4090", block_size=1024, micro_batch_size=1, gradient_checkpointing="on")
    single = estimate(llama70, config)
    assert not single.fits
    needed = gpus_needed(llama70, config)
    assert needed is not None and needed[0] > 1
    assert estimate(llama70, config, gpus=needed[0], cpu_offload=needed[1]).fits
    assert any(f"sharded over {needed[0]} GPUs" in note for note in single.notes)


def test_gpu_count_and_offload_are_checked():
    with pytest.raises(WorkbenchError) as err:
        PlanConfig(gpus=0)
    assert err.value.field == "gpus"
    with pytest.raises(WorkbenchError) as err:
        PlanConfig(gpu="cpu", cpu_offload=True)
    assert err.value.field == "cpu_offload"


def test_plan_command_prints_the_per_gpu_table(capsys):
    from workbench.cli import main

    main(["plan", "--model", "Llama-3.1-8B", "--gpu", "RTX 4090", "--gpus", "2"])
    out = capsys.readouterr().out
    assert "gathered (FSDP)" in out and "per GPU (GiB)" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit() and len(line.split()) == 5]
    assert [(int(r[0]), r[1]) for r in rows] == [(n, o) for n in (1, 2, 4, 8) for o in ("no", "yes")]
