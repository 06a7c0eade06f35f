"""Plan a QLoRA run before launching it: peak memory, whether it fits, wall time and cost.

``estimate(model, config)`` reads the architecture from a transformers config (a local model
folder, a ``config.json``, a dict, or one of the published configurations in ``KNOWN_CONFIGS``),
counts the parameters of every linear layer exactly and adds up, in bytes:

* base weights: NF4 (0.5 byte/param) plus double-quantization constants for the linear layers;
  embeddings, ``lm_head`` and norms stay unquantized and are cast to fp32 by
  ``prepare_model_for_kbit_training`` (as ``workbench.training.trainer`` runs it);
* LoRA parameters and their gradients (fp32) and the optimizer states;
* activations saved for backward, per decoder layer and token, with and without gradient
  checkpointing, plus the logits and the loss (the largest single tensors for big vocabularies);
* framework overhead (CUDA context, allocator fragmentation).

Time comes from the FLOPs actually executed (frozen base: forward 2N, backward 2N for activation
gradients only; LoRA: 6 per parameter; attention; one more forward when checkpointing) divided by
the GPU's dense bf16 peak times a utilisation (MFU): the one this project measured for the same
setup where there is one (``workbench.training.measured``), else the measured utilisation of the
nearest model on that GPU, else the GPU table's assumption; the plan says which
(``throughput_basis``). Cost = hours * price per hour.
The README's "Planning a run" section gives every formula. ``compare_with_measured`` puts a plan beside a run card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from workbench.errors import WorkbenchError
from workbench.models.architectures import (  # noqa: F401 - re-exported: plans read architectures
    KNOWN_CONFIGS,
    LLAMA_FAMILY,
    Architecture,
    architecture_from_config,
    resolve_architecture,
)
from workbench.training.hardware import GIB, GPU, GPUS, gpu_spec  # noqa: F401 - re-exported
from workbench.training.measured import measured_run, nearest_measured


# --------------------------------------------------------------------------------------------
# The plan's settings
# --------------------------------------------------------------------------------------------
@dataclass
class PlanConfig:
    gpu: str = "L4"
    """Accelerator type, a key of GPUS (T4, L4, A10G, RTX 4090, A100-40GB, A100-80GB, H100, H200, cpu)."""
    quant: Literal["nf4", "none"] = "nf4"
    """Base weights: 4-bit NF4 with double quantization, or unquantized in the compute dtype."""
    max_tokens: int = 50_000
    """Training budget in token slots (padding included), as TrainConfig.max_tokens."""
    block_size: int = 256
    """Tokens per training sequence (packed block)."""
    micro_batch_size: int = 4
    """Sequences per forward pass."""
    grad_accum: int = 1
    """Micro-batches per optimizer step (does not change peak memory)."""
    lora_r: int = 16
    """LoRA rank."""
    lora_targets: str = "all-linear"
    """Adapted linear layers: 'all-linear' (every decoder linear, not lm_head) or a comma list (q_proj,v_proj)."""
    lora_dropout: float = 0.05
    """LoRA dropout; above 0 each adapted layer keeps its own dropped-out copy of its input."""
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"
    """Recompute layer activations in backward; 'auto' = on for GPUs, off on the CPU (as the trainer)."""
    chunked_loss: bool = True
    """The trainer's chunked loss (never the whole batch's logits), as TrainConfig.chunked_loss."""
    upcast_unquantized: bool = True
    """NF4: embeddings, lm_head and norms in fp32 (an fp32 residual stream), as TrainConfig.upcast_unquantized."""
    optimizer: Literal["auto", "paged_adamw_8bit", "adamw_torch"] = "auto"
    """'auto' = paged 8-bit AdamW for NF4 on a GPU, fp32 AdamW otherwise (as the trainer)."""
    mfu: float | None = None
    """Assumed utilisation of the peak FLOP/s on the FLOPs executed; None = the GPU's default."""
    price_per_hour: float | None = None
    """USD per GPU hour; None = the GPU's default list price."""
    memory_gib: float | None = None
    """Override the device memory (GiB), e.g. for a GPU shared with other jobs."""
    tflops: float | None = None
    """Override the device's dense peak TFLOP/s."""
    overhead_gib: float | None = None
    """Fixed memory beyond tensors: CUDA context + cuBLAS workspace (GPU), Python + libraries (CPU); None = default."""
    fragmentation: float = 0.10
    """Allocator slack as a share of the tensor memory (the PyTorch caching allocator rarely packs perfectly)."""
    gpus: int = 1
    """GPUs the run uses, one process each (``workbench train --gpus N``); above 1 the weights, gradients and
    optimizer states are sharded over them with FSDP, and the figures are per GPU."""
    cpu_offload: bool = False
    """Sharded, keep the weights, gradients and optimizer states in CPU memory between uses (``sharding:
    fsdp_offload``): each GPU holds only the layers being computed and the activations."""

    def __post_init__(self) -> None:
        gpu_spec(self.gpu)  # raises with the list of names
        if self.quant not in ("nf4", "none"):
            raise WorkbenchError(f"unknown quant '{self.quant}'.", "use 'nf4' or 'none'.")
        for name in ("max_tokens", "block_size", "micro_batch_size", "grad_accum", "lora_r"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise WorkbenchError(f"{name} is {value!r}.", f"set {name} to a positive whole number.")
        if self.block_size < 16:
            raise WorkbenchError(f"block_size {self.block_size} is too small.", "use at least 16 (typically 256-4096).")
        if self.gradient_checkpointing not in ("auto", "on", "off"):
            raise WorkbenchError(f"gradient_checkpointing is '{self.gradient_checkpointing}'.", "use auto, on or off.")
        if self.optimizer not in ("auto", "paged_adamw_8bit", "adamw_torch"):
            raise WorkbenchError(f"unknown optimizer '{self.optimizer}'.", "use auto, paged_adamw_8bit or adamw_torch.")
        if self.mfu is not None and not 0.0 < self.mfu <= 1.0:
            raise WorkbenchError(f"mfu is {self.mfu}.", "give a utilisation in (0, 1], e.g. 0.3.")
        for name in ("price_per_hour", "overhead_gib"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise WorkbenchError(f"{name} is {value}.", f"give a {name} of 0 or more.")
        for name in ("memory_gib", "tflops"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise WorkbenchError(f"{name} is {value}.", f"give a positive {name}.")
        if not 0.0 <= self.fragmentation < 1.0:
            raise WorkbenchError(f"fragmentation is {self.fragmentation}.", "give a share in [0, 1), e.g. 0.1.")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise WorkbenchError(f"lora_dropout is {self.lora_dropout}.", "give a probability in [0, 1).")
        if not isinstance(self.gpus, int) or isinstance(self.gpus, bool) or self.gpus < 1:
            raise WorkbenchError(f"{{field}} is {self.gpus!r}.", "use 1 or more GPUs.", field="gpus")
        if self.cpu_offload and self.on_cpu:
            raise WorkbenchError("{field} is on for a CPU plan.", "plan a GPU, or turn {field} off.", field="cpu_offload")

    @property
    def sharded(self) -> bool:
        """Whether the run shards its state with FSDP (more than one GPU, or CPU offload)."""
        return self.gpus > 1 or self.cpu_offload

    @classmethod
    def from_train_config(cls, train_config: Any, **overrides: Any) -> PlanConfig:
        """The plan of a ``TrainConfig`` (its budget, shapes, LoRA and checkpointing), plus GPU settings."""
        lora = getattr(train_config, "lora", None)
        values = {
            "quant": train_config.quant,
            "max_tokens": train_config.max_tokens,
            "block_size": train_config.block_size,
            "micro_batch_size": train_config.micro_batch_size,
            "grad_accum": train_config.grad_accum,
            "gradient_checkpointing": train_config.gradient_checkpointing,
            # the trainer falls back to the model's own loss when the head trains
            "chunked_loss": bool(getattr(train_config, "chunked_loss", True) and not getattr(train_config, "train_embeddings", False)
                                 and not getattr(train_config, "new_tokens", None)),
            "upcast_unquantized": getattr(train_config, "upcast_unquantized", True),
            "cpu_offload": getattr(train_config, "sharding", "none") == "fsdp_offload",
        }
        if lora is not None:
            values.update(lora_r=lora.r, lora_targets=lora.target_modules, lora_dropout=lora.dropout)
        values.update(overrides)
        return cls(**values)

    @property
    def device(self) -> GPU:
        spec = gpu_spec(self.gpu)
        return replace(
            spec,
            memory_gib=self.memory_gib or spec.memory_gib,
            bf16_tflops=self.tflops or spec.bf16_tflops,
            price_per_hour=spec.price_per_hour if self.price_per_hour is None else self.price_per_hour,
            mfu=self.mfu or spec.mfu,
        )

    @property
    def on_cpu(self) -> bool:
        return gpu_spec(self.gpu).name == "cpu"

    def runtime(self, model_type: str | None = None):
        """The runtime the trainer will use for this plan (``workbench.models.runtime``, one decision)."""
        from workbench.models.runtime import resolve_runtime

        return resolve_runtime("cpu" if self.on_cpu else "cuda", self.quant, self.gradient_checkpointing,
                               self.optimizer, self.chunked_loss, model_type=model_type)

    @property
    def checkpointing(self) -> bool:
        return self.runtime().checkpointing

    @property
    def optimizer_name(self) -> str:
        return self.runtime().optimizer


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------
OPTION_HELP = {
    # the ``workbench plan --help`` line of each PlanConfig field it takes as a flag (workbench/cli/options.py)
    "gpu": "GPU type: T4, L4, A10G, RTX 4090, A100-40GB, A100-80GB, H100, H200, cpu.",
    "price_per_hour": "USD per GPU hour (default: a list price).",
    "mfu": "Assumed utilisation of peak FLOP/s (default per GPU).",
    "gpus": "GPUs the run is sharded over with FSDP; memory figures per GPU (default 1).",
    "cpu_offload": "Sharded: keep weights, gradients and optimizer states in CPU memory (sharding fsdp_offload).",
}


@dataclass
class Plan:
    """Every figure of an estimate. Memory in GiB, time in seconds, cost in USD."""

    model: str
    gpu: str
    config: dict
    params: dict  # exact counts by kind (linear, bias, norms, embeddings, lm_head, total)
    lora_params: int
    # memory (GiB)
    weights_gib: float
    lora_gib: float  # LoRA parameters + gradients
    optimizer_gib: float
    activations_gib: float  # with the chosen checkpointing setting (logits included)
    activations_checkpointed_gib: float
    activations_full_gib: float
    logits_gib: float
    tensors_gib: float  # what torch.cuda.max_memory_allocated should report
    overhead_gib: float
    peak_gib: float  # tensors + fragmentation + overhead: what must fit on the device
    device_memory_gib: float
    fits: bool
    headroom_gib: float
    # compute
    tokens: int
    steps: int
    flops_per_token: float  # model FLOPs (no recomputation)
    flops_per_token_executed: float  # incl. recomputation when checkpointing
    total_flops: float
    peak_tflops: float
    mfu: float
    tokens_per_s: float
    seconds: float
    hours: float
    price_per_hour: float
    cost: float
    checkpointing: bool
    optimizer: str
    notes: list[str] = field(default_factory=list)
    gpus: int = 1
    """GPUs (one process each); above 1 the memory figures are per GPU, with the state sharded over them."""
    gathered_gib: float = 0.0
    """Sharded: the whole weights of the units FSDP gathers at once (two decoder layers, the embeddings and head)."""
    host_memory_gib: float = 0.0
    """With CPU offload: the CPU memory that holds the sharded weights, gradients and optimizer states (all GPUs)."""
    measured: bool = False
    """Whether the throughput is a measured one (this GPU, model and shapes), not an estimate."""
    throughput_basis: str = ""
    """Where the throughput comes from, in words."""

    def to_dict(self) -> dict:
        return asdict(self)


# Bytes per parameter of NF4 with double quantization: 4 bits + one 8-bit absmax per 64 weights
# + one fp32 second-level absmax per 256 blocks (bitsandbytes' defaults for 4-bit).
NF4_BLOCK = 64
NF4_BYTES_PER_PARAM = 0.5 + 1 / NF4_BLOCK + 4 / (NF4_BLOCK * 256)
OPTIMIZER_BYTES = {"paged_adamw_8bit": 2.0, "adamw_torch": 8.0}
DEFAULT_OVERHEAD_GIB = {"gpu": 0.75, "cpu": 0.7}


def _lora_modules(arch: Architecture, targets: str) -> dict[str, tuple[int, int, bool]]:
    shapes = arch.linear_shapes()
    if targets.strip() == "all-linear":
        return shapes
    names = [t.strip() for t in targets.split(",") if t.strip()]
    unknown = [n for n in names if n not in shapes]
    if unknown or not names:
        raise WorkbenchError(
            f"LoRA target(s) {', '.join(unknown) or repr(targets)} are not linear layers of {arch.name}.",
            f"use 'all-linear' or a comma list of {', '.join(shapes)}.",
        )
    return {n: shapes[n] for n in names}


def lora_parameter_count(arch: Architecture, r: int, targets: str = "all-linear") -> int:
    """r * (in + out) per adapted linear layer, over all decoder layers (peft's A and B)."""
    return arch.num_layers * sum(r * (i + o) for i, o, _ in _lora_modules(arch, targets).values())


def activation_bytes_per_token_layer(arch: Architecture, config: PlanConfig) -> dict[str, float]:
    """Bytes autograd keeps per token for one decoder layer, by where they come from.

    ``a`` is the activation dtype's size (bf16 under autocast on GPUs, fp32 on the CPU); ``res`` the
    residual stream's (fp32 with ``upcast_unquantized``, where prepare_model_for_kbit_training upcasts
    embeddings and norms; the compute dtype otherwise). Frozen base linears keep nothing (their input gradient
    needs only the weight); each LoRA adapter keeps its dropout mask (bool on CUDA, float on the
    CPU) and its own copy of its input. Checked against the tensors autograd saves (tests).
    """
    a = 4 if config.on_cpu else 2
    res = _residual_bytes(config)
    h, f, q = arch.hidden_size, arch.intermediate_size, arch.q_dim
    lora = _lora_modules(arch, config.lora_targets)
    mask_bytes = (4 if config.on_cpu else 1) if config.lora_dropout > 0 else 0
    lora_inputs = sum((mask_bytes + a) * i + a * config.lora_r for i, _, _ in lora.values())
    return {
        "norm_inputs": 2 * res * h,  # RMSNorm saves its input (attention and MLP norms)
        "lora_inputs": lora_inputs,
        # sdpa with a mask (packing or padding) gets k/v repeated to all heads: q, k, v, output
        "attention": 4 * a * q,
        # sdpa turns the boolean mask into a float bias per call: block_size values per token
        "attention_mask": a * config.block_size,
        "attention_out_copy": a * q if "o_proj" not in lora else 0,
        "mlp": 3 * a * f,  # SiLU input, SiLU output and up_proj output for the product
    }


def _residual_bytes(config: PlanConfig) -> int:
    """Bytes per element of the residual stream: fp32 on the CPU or with NF4 + upcast, else the compute dtype."""
    return 4 if config.on_cpu or (config.quant == "nf4" and config.upcast_unquantized) else 2


def _logits_bytes_per_token(arch: Architecture, config: PlanConfig) -> float:
    """Peak of the loss per token of a micro-batch.

    Model's own loss: in backward the saved fp32 log-softmax, its incoming and outgoing gradient
    (forward holds less: logits in the compute dtype, their fp32 copy and the log-softmax).
    Chunked loss: the gradient of the hidden states it saves (the chunk itself is in ``_loss_fixed_bytes``).
    """
    if _chunked(arch, config):
        return arch.hidden_size * 4  # saved in fp32
    return arch.vocab_size * 12


def _chunked(arch: Architecture, config: PlanConfig) -> bool:
    """Whether the trainer's chunked loss applies (supported architectures only, as the trainer decides)."""
    return config.runtime(arch.model_type).chunked_loss


def _loss_fixed_bytes(arch: Architecture, config: PlanConfig) -> float:
    """Chunked loss: one chunk's fp32 logits, their compute-dtype product and cast probabilities, and a
    compute-dtype copy of the head when it is stored in fp32 (NF4 + upcast on a GPU)."""
    if not _chunked(arch, config):
        return 0
    from workbench.training.loss import CHUNK_ELEMENTS

    compute = 4 if config.on_cpu else 2
    rows = max(1, CHUNK_ELEMENTS // arch.vocab_size)
    chunk = rows * arch.vocab_size * (4 + 2 * compute)
    head_copy = arch.vocab_size * arch.hidden_size * 2 if (not config.on_cpu and _residual_bytes(config) == 4) else 0
    return chunk + head_copy


def estimate(model: str | Path | dict | Any, config: PlanConfig | Any | None = None, **overrides: Any) -> Plan:
    """Estimate peak memory, fit, wall time and cost of a QLoRA run.

    Args:
        model: a name in KNOWN_CONFIGS, a cached registry name, a model folder or config.json,
            a config dict or a transformers PretrainedConfig.
        config: a PlanConfig, or a TrainConfig (its budget and shapes; GPU settings via overrides).
        overrides: PlanConfig fields, e.g. gpu="A100-80GB", mfu=0.3.
    Returns:
        a Plan; ``plan.fits`` says whether ``plan.peak_gib`` fits the device memory.
    """
    arch = resolve_architecture(model)
    config = _plan_config(config, overrides)
    device = config.device
    counts = arch.parameter_counts()
    notes: list[str] = []
    if arch.model_type not in LLAMA_FAMILY:
        notes.append(f"model_type '{arch.model_type}' is counted as a Llama-style decoder; figures are approximate.")
    if arch.max_position_embeddings and config.block_size > arch.max_position_embeddings:
        raise WorkbenchError(
            f"block_size {config.block_size} is larger than {arch.name}'s context ({arch.max_position_embeddings}).",
            f"set block_size to {arch.max_position_embeddings} or less.",
        )

    # --- weights ------------------------------------------------------------------------
    compute_bytes = 4 if config.on_cpu else 2
    unquantized = counts["bias"] + counts["norms"] + counts["embeddings"] + counts["lm_head"]
    if config.quant == "nf4":
        # with upcast_unquantized, prepare_model_for_kbit_training casts every non-4-bit parameter to fp32
        weights = counts["linear"] * NF4_BYTES_PER_PARAM + unquantized * _residual_bytes(config)
    else:
        weights = counts["total"] * compute_bytes
    lora_params = lora_parameter_count(arch, config.lora_r, config.lora_targets)
    lora_bytes = lora_params * (4 + 4)  # fp32 parameters and gradients (peft autocasts adapters to fp32)
    optimizer_bytes = lora_params * OPTIMIZER_BYTES[config.optimizer_name]

    # --- activations ----------------------------------------------------------------------
    tokens_per_micro = config.micro_batch_size * config.block_size
    per_layer = sum(activation_bytes_per_token_layer(arch, config).values())
    res = _residual_bytes(config)
    a = compute_bytes
    logits = _logits_bytes_per_token(arch, config) * tokens_per_micro + _loss_fixed_bytes(arch, config)
    # the boolean attention mask built from position ids / padding: [micro_batch, 1, block, block], shared
    mask = config.micro_batch_size * config.block_size**2
    # backward working set: gradients of the residual stream and of the widest activation
    working = tokens_per_micro * (2 * res * arch.hidden_size + 2 * a * arch.intermediate_size)
    if config.quant == "nf4":  # one dequantized weight at a time, in the compute dtype
        working += max(i * o for i, o, _ in arch.linear_shapes().values()) * compute_bytes
    full = arch.num_layers * per_layer * tokens_per_micro
    checkpointed = arch.num_layers * res * arch.hidden_size * tokens_per_micro + per_layer * tokens_per_micro
    acts_full = full + logits + mask + working
    acts_ckpt = checkpointed + logits + mask + working
    activations = acts_ckpt if config.checkpointing else acts_full

    gathered, host = 0.0, 0.0
    if config.sharded:
        # FSDP shards every parameter (4-bit weights stored in the compute dtype) with its gradient and AdamW
        # states over the GPUs; the NF4 block constants (quant_state) are no parameters and stay whole on each.
        constants = counts["linear"] * (NF4_BYTES_PER_PARAM - 0.5) if config.quant == "nf4" else 0.0
        state = weights - constants + lora_bytes + optimizer_bytes
        gathered = _gathered_bytes(arch, config, lora_params)
        if config.cpu_offload:
            host = state
            weights, lora_bytes, optimizer_bytes = constants, 0.0, 0.0
        else:
            weights = (weights - constants) / config.gpus + constants
            lora_bytes, optimizer_bytes = lora_bytes / config.gpus, optimizer_bytes / config.gpus
    tensors = weights + lora_bytes + optimizer_bytes + activations + gathered
    overhead = (config.overhead_gib if config.overhead_gib is not None
                else DEFAULT_OVERHEAD_GIB["cpu" if config.on_cpu else "gpu"]) * GIB
    peak = tensors * (1 + config.fragmentation) + overhead
    fits = peak <= device.memory_gib * GIB

    # --- compute --------------------------------------------------------------------------
    per_step = config.micro_batch_size * config.grad_accum * config.gpus  # every GPU's micro-batches
    n_blocks = max(per_step, (config.max_tokens // config.block_size) // per_step * per_step)
    tokens = n_blocks * config.block_size
    steps = n_blocks // per_step
    base_matmul = counts["linear"] + (arch.vocab_size * arch.hidden_size)  # decoder linears + lm_head
    layer_matmul = counts["linear"]
    attn_fwd = 4 * arch.num_layers * arch.q_dim * config.block_size  # QK^T and AV, full s x s as sdpa with a mask computes
    flops_fwd = 2 * base_matmul + 2 * lora_params + attn_fwd
    flops_bwd = 2 * base_matmul + 4 * lora_params + 2 * attn_fwd  # activation grads only for the frozen base
    flops_model = flops_fwd + flops_bwd
    recompute = (2 * layer_matmul + 2 * lora_params + attn_fwd) if config.checkpointing else 0
    flops_executed = flops_model + recompute
    total_flops = flops_executed * tokens
    mfu, measured, basis = _utilisation(arch, config, device, flops_executed)
    sustained = device.bf16_tflops * 1e12 * mfu * config.gpus
    seconds = total_flops / sustained
    hours = seconds / 3600
    if config.on_cpu:
        notes.append("the CPU figures assume a small fp32 VM; calibrate mfu and tflops with compare_with_measured.")
    if device.name == "T4":
        notes.append("T4 has no bf16: training runs in fp16 (same memory, fp16 peak used).")
    notes.append("time covers training steps only; held-out evaluation and model loading come on top.")
    if config.sharded:
        notes.append(f"sharded with FSDP over {config.gpus} GPU(s): memory per GPU; time assumes the GPUs scale "
                     "linearly (gathering weights between GPUs is not counted)"
                     + ("; CPU offload moves the weights over PCIe every step, which is slower still." if config.cpu_offload
                        else "."))
    if not fits:
        notes.append("does not fit: see suggest() for a micro-batch / block size / checkpointing that does.")
        if not config.sharded:
            needed = _fewest_sharded(arch, config)
            if needed is not None:
                notes.append(f"sharded over {needed[0]} GPUs{' with CPU offload' if needed[1] else ''} it fits "
                             f"(workbench plan --gpus {needed[0]}{' --cpu-offload' if needed[1] else ''}).")
    return Plan(
        model=arch.name,
        gpu=device.name,
        config=asdict(config),
        params=counts,
        lora_params=lora_params,
        weights_gib=weights / GIB,
        lora_gib=lora_bytes / GIB,
        optimizer_gib=optimizer_bytes / GIB,
        activations_gib=activations / GIB,
        activations_checkpointed_gib=acts_ckpt / GIB,
        activations_full_gib=acts_full / GIB,
        logits_gib=logits / GIB,
        tensors_gib=tensors / GIB,
        overhead_gib=(peak - tensors) / GIB,
        peak_gib=peak / GIB,
        device_memory_gib=device.memory_gib,
        fits=fits,
        headroom_gib=device.memory_gib - peak / GIB,
        tokens=tokens,
        steps=steps,
        flops_per_token=flops_model,
        flops_per_token_executed=flops_executed,
        total_flops=total_flops,
        peak_tflops=device.bf16_tflops,
        mfu=mfu,
        tokens_per_s=sustained / flops_executed,
        seconds=seconds,
        hours=hours,
        price_per_hour=device.price_per_hour,
        cost=hours * device.price_per_hour,
        checkpointing=config.checkpointing,
        optimizer=config.optimizer_name,
        notes=notes,
        gpus=config.gpus,
        gathered_gib=gathered / GIB,
        host_memory_gib=host / GIB,
        measured=measured,
        throughput_basis=basis,
    )


SHARD_COUNTS = (1, 2, 4, 8)  # the GPU counts a plan looks at when a model does not fit one GPU


def _gathered_bytes(arch: Architecture, config: PlanConfig, lora_params: int) -> float:
    """Bytes FSDP holds whole at once beyond a GPU's shard: the decoder layer being computed and the next
    one (prefetched), and the embeddings with the head, which stay gathered through the forward and backward
    pass. Gathered in the compute dtype (the mixed-precision policy), 4-bit weights packed (0.5 byte each)."""
    compute_bytes = 4 if config.on_cpu else 2
    counts = arch.parameter_counts()
    linear_per_layer = counts["linear"] / arch.num_layers
    layer = linear_per_layer * (0.5 if config.quant == "nf4" else compute_bytes) + lora_params / arch.num_layers * compute_bytes
    head = (counts["embeddings"] + counts["lm_head"]) * compute_bytes
    return 2 * layer + head


def gpus_needed(model: str | Path | dict | Any, config: PlanConfig | Any | None = None,
                **overrides: Any) -> tuple[int, bool] | None:
    """The fewest GPUs of ``SHARD_COUNTS`` the run fits on, and whether it needs CPU offload for that (tried
    only when no count fits without it); None when even 8 GPUs with offload do not hold it."""
    arch = resolve_architecture(model)
    config = _plan_config(config, overrides)
    if estimate(arch, replace(config, gpus=1, cpu_offload=False)).fits:
        return 1, False
    return _fewest_sharded(arch, config)


def _fewest_sharded(arch: Architecture, config: PlanConfig) -> tuple[int, bool] | None:
    """The first sharded setup of ``SHARD_COUNTS`` that fits (no offload before offload), or None."""
    for offload in (False, True):
        for gpus in SHARD_COUNTS:
            if (gpus > 1 or offload) and estimate(arch, replace(config, gpus=gpus, cpu_offload=offload)).fits:
                return gpus, offload
    return None


def shard_plans(model: str | Path | dict | Any, config: PlanConfig | Any | None = None,
                counts: tuple[int, ...] = SHARD_COUNTS, **overrides: Any) -> list[Plan]:
    """The plan on each GPU count of ``counts``, without and with CPU offload (in that order per count)."""
    arch = resolve_architecture(model)
    config = _plan_config(config, overrides)
    return [estimate(arch, replace(config, gpus=n, cpu_offload=offload)) for n in counts for offload in (False, True)]


def format_shard_plans(plans: list[Plan]) -> str:
    """A table of per-GPU peak memory by GPU count, with and without CPU offload."""
    lines = [f"{'GPUs':>4}  {'offload':>7}  {'per GPU (GiB)':>13}  {'host (GiB)':>10}  fits {plans[0].gpu if plans else ''}"]
    for plan in plans:
        lines.append(f"{plan.gpus:>4}  {'yes' if plan.config.get('cpu_offload') else 'no':>7}  {plan.peak_gib:>13.2f}  "
                     f"{plan.host_memory_gib:>10.2f}  {'yes' if plan.fits else 'no'}")
    return "\n".join(lines)


def _utilisation(arch: Architecture, config: PlanConfig, device: GPU, flops_per_token: float) -> tuple[float, bool, str]:
    """The MFU a plan assumes, whether it is measured, and where it comes from (see the module docstring)."""
    if config.mfu is not None:
        return config.mfu, False, f"estimate, not measured: utilisation {config.mfu:.1%} as set"
    if config.on_cpu:
        return device.mfu, False, (f"estimate, not measured: utilisation {device.mfu:.0%} calibrated on a 2-core CPU "
                                   "(BENCHMARKS.md); calibrate yours with compare_with_measured")
    exact = measured_run(device.name, arch.name, config.quant, config.block_size, config.micro_batch_size)
    if exact is not None:
        return exact.tokens_per_s * flops_per_token / (device.bf16_tflops * 1e12), True, f"measured: {exact.source}"
    near = nearest_measured(device.name, arch.n_params, config.quant)
    if near is not None:
        on = near.gpu if near.gpu == device.name else f"{near.gpu}, for lack of {device.name} measurements"
        return near.mfu, False, (f"estimate, not measured: the utilisation measured for {near.model} on {on} "
                                 f"({near.mfu:.1%}; {near.source})")
    return device.mfu, False, f"estimate, not measured: an assumed utilisation of {device.mfu:.0%} on {device.name}"


def _plan_config(config: PlanConfig | Any | None, overrides: dict) -> PlanConfig:
    if config is None:
        return PlanConfig(**overrides)
    if isinstance(config, PlanConfig):
        return replace(config, **overrides) if overrides else config
    if all(hasattr(config, k) for k in ("quant", "max_tokens", "block_size", "micro_batch_size")):
        return PlanConfig.from_train_config(config, **overrides)
    raise WorkbenchError(
        f"cannot plan from a {type(config).__name__}.", "pass a PlanConfig or a TrainConfig (plus gpu=...)."
    )


# --------------------------------------------------------------------------------------------
# Suggestions and reports
# --------------------------------------------------------------------------------------------
@dataclass
class Suggestion:
    """A configuration that fits, the plan for it, and what changed (empty when it already fit)."""

    config: PlanConfig
    plan: Plan
    changes: list[str]


def suggest(model: str | Path | dict | Any, config: PlanConfig | Any | None = None, **overrides: Any) -> Suggestion:
    """The closest configuration that fits the device.

    Tries, in order, until one fits: gradient checkpointing on; smaller micro-batches (grad_accum
    raised to keep the tokens per optimizer step); shorter blocks (down to 128 tokens); then, for
    an unquantized base, NF4. Raises WorkbenchError when nothing fits.
    """
    config = _plan_config(config, overrides)
    arch = resolve_architecture(model)
    plan = estimate(arch, config)
    if plan.fits:
        return Suggestion(config, plan, [])
    tokens_per_step = config.micro_batch_size * config.grad_accum * config.block_size
    for quant in dict.fromkeys([config.quant, "nf4"]):
        for ckpt in dict.fromkeys([config.gradient_checkpointing] + (["on"] if not config.checkpointing else [])):
            block = config.block_size
            while True:
                micro = config.micro_batch_size
                while True:
                    accum = max(1, tokens_per_step // (micro * block))
                    candidate = replace(config, quant=quant, gradient_checkpointing=ckpt, block_size=block,
                                        micro_batch_size=micro, grad_accum=accum)
                    plan = estimate(arch, candidate)
                    if plan.fits:
                        return Suggestion(candidate, plan, _changes(config, candidate))
                    if micro == 1:
                        break
                    micro = max(1, micro // 2)
                if block <= 128:
                    break
                block = max(128, block // 2)
    raise WorkbenchError(
        f"{arch.name} does not fit on {config.device.name} ({config.device.memory_gib:.1f} GiB) even with NF4, "
        "checkpointing, micro-batch 1 and 128-token blocks.",
        "choose a GPU with more memory (gpu=...) or a smaller model.",
    )


def _changes(old: PlanConfig, new: PlanConfig) -> list[str]:
    fields = ("quant", "gradient_checkpointing", "micro_batch_size", "grad_accum", "block_size")
    return [f"{k}: {getattr(old, k)} -> {getattr(new, k)}" for k in fields if getattr(old, k) != getattr(new, k)]


def format_plan(plan: Plan) -> str:
    """A readable table of the plan."""
    cfg = plan.config
    rows = [
        ("model", (f"{plan.model}: {plan.params['total'] / 1e6:,.1f}M parameters "
                   f"({plan.params['linear'] / 1e6:,.1f}M in linear layers)")),
        ("setup", (f"{cfg['quant']} base, LoRA r={cfg['lora_r']} on {cfg['lora_targets']} "
                   f"({plan.lora_params / 1e6:,.2f}M trainable), micro-batch {cfg['micro_batch_size']} x "
                   f"block {cfg['block_size']}, grad_accum {cfg['grad_accum']}, "
                   f"checkpointing {'on' if plan.checkpointing else 'off'}, {plan.optimizer}")),
        ("", ""),
        ("memory (GiB)", ""),
        ("  base weights", f"{plan.weights_gib:8.2f}"),
        ("  LoRA params + grads", f"{plan.lora_gib:8.2f}"),
        *([("  gathered (FSDP)", f"{plan.gathered_gib:8.2f}   (sharded over {plan.gpus} GPU(s); figures per GPU"
            + (f"; {plan.host_memory_gib:.2f} in CPU memory" if plan.host_memory_gib else "") + ")")]
          if plan.config.get("gpus", 1) > 1 or plan.config.get("cpu_offload") else []),
        ("  optimizer states", f"{plan.optimizer_gib:8.2f}"),
        ("  activations", (f"{plan.activations_gib:8.2f}   (checkpointing on: {plan.activations_checkpointed_gib:.2f},"
                           f" off: {plan.activations_full_gib:.2f}; logits+loss {plan.logits_gib:.2f})")),
        ("  overhead", f"{plan.overhead_gib:8.2f}   (context/runtime + {cfg['fragmentation']:.0%} allocator slack)"),
        ("  peak", f"{plan.peak_gib:8.2f}   of {plan.device_memory_gib:.1f} on {plan.gpu}: "
                   + ("fits" if plan.fits else "DOES NOT FIT") + f" ({plan.headroom_gib:+.2f} headroom)"),
        ("", ""),
        ("time and cost", ""),
        ("  tokens", f"{plan.tokens:,} in {plan.steps:,} optimizer steps"),
        ("  FLOPs / token", f"{plan.flops_per_token / 1e9:,.3f} G model, {plan.flops_per_token_executed / 1e9:,.3f} G executed"),
        ("  throughput", f"{plan.tokens_per_s:,.0f} tokens/s at {plan.mfu:.1%} of {plan.peak_tflops:g} TFLOP/s"),
        ("  basis", plan.throughput_basis),
        ("  wall time", _duration(plan.seconds)),
        ("  cost", f"${plan.cost:,.2f} at ${plan.price_per_hour:.2f}/h"),
    ]
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"{k:<{width}}{v}".rstrip() for k, v in rows]
    lines += [f"note: {n}" for n in plan.notes]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def compare_with_measured(plan: Plan, run_card: dict) -> dict:
    """The estimate beside a run's measured figures; ratio = measured / estimated.

    Uses the run card keys tokens_per_s, peak_memory_mb, train_seconds and tokens_seen. Time is
    compared for the tokens the run actually saw. ``implied_mfu`` is the utilisation the measured
    throughput corresponds to; feed it back as ``mfu`` to calibrate later plans on that hardware.
    Peak memory: on a GPU the card holds torch.cuda.max_memory_allocated, compared with the plan's
    tensor memory; on the CPU it holds the process RSS, compared with the full peak.
    """
    result: dict[str, Any] = {"model": plan.model, "gpu": plan.gpu}

    def row(name: str, estimated: float | None, measured: Any) -> None:
        measured = float(measured) if isinstance(measured, (int, float)) and not isinstance(measured, bool) else None
        ratio = measured / estimated if measured is not None and estimated else None
        result[name] = {"estimated": estimated, "measured": measured, "ratio": ratio}

    tokens_seen = run_card.get("tokens_seen")
    row("tokens_per_s", plan.tokens_per_s, run_card.get("tokens_per_s"))
    estimated_peak_mb = (plan.peak_gib if plan.gpu == "cpu" else plan.tensors_gib) * 1024
    row("peak_memory_mb", estimated_peak_mb, run_card.get("peak_memory_mb"))
    seconds = tokens_seen / plan.tokens_per_s if isinstance(tokens_seen, (int, float)) and tokens_seen else plan.seconds
    row("train_seconds", seconds, run_card.get("train_seconds"))
    measured_tps = result["tokens_per_s"]["measured"]
    result["implied_mfu"] = (
        measured_tps * plan.flops_per_token_executed / (plan.peak_tflops * 1e12) if measured_tps else None
    )
    return result


__all__ = [
    "GPU",
    "GPUS",
    "KNOWN_CONFIGS",
    "Architecture",
    "Plan",
    "PlanConfig",
    "Suggestion",
    "architecture_from_config",
    "compare_with_measured",
    "estimate",
    "format_plan",
    "format_shard_plans",
    "gpu_spec",
    "gpus_needed",
    "lora_parameter_count",
    "resolve_architecture",
    "shard_plans",
    "suggest",
]
