"""Resolve a model spec to a local folder and load it (4-bit NF4 via bitsandbytes, or full).

A spec is, in this order: a registry name (``smollm2-135m``), a local model folder, a ``.gguf``
file, or a Hugging Face Hub id (``org/name``). Local names resolve first; a Hub id is tried
only after a short reachability check, so an offline machine fails in seconds, not minutes.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workbench.errors import WorkbenchError
from workbench.models.registry import DEFAULT_MODEL, REGISTRY

Quant = Literal["nf4", "none"]
HUB_HOST = "huggingface.co"


@dataclass(frozen=True)
class ResolvedModel:
    spec: str  # what the user wrote
    path: Path  # local folder with config.json + safetensors + tokenizer
    kind: Literal["registry", "folder", "gguf", "hub"]


def resolve_model(spec: str | os.PathLike | None, fetch: bool = True) -> ResolvedModel:
    """Turn a model spec into a local safetensors folder, provisioning it when needed."""
    from workbench.models.fetch import cached_model_path, fetch_model, workbench_home

    spec = str(spec or DEFAULT_MODEL)
    if spec in REGISTRY:
        path = cached_model_path(spec) or (fetch_model(spec) if fetch else None)
        if path is None:
            raise WorkbenchError(f"model '{spec}' is not in the cache.", f"run 'workbench models fetch {spec}'.")
        return ResolvedModel(spec, path, "registry")
    local = Path(spec).expanduser()
    if local.is_dir():
        if not (local / "config.json").exists():
            raise WorkbenchError(
                f"model folder {local} has no config.json.",
                "set {field} to a folder saved with save_pretrained (config.json + *.safetensors + tokenizer).",
                field="model",
            )
        return ResolvedModel(spec, local.resolve(), "folder")
    if local.suffix == ".gguf":
        if not local.is_file():
            raise WorkbenchError(f"GGUF file {local} does not exist.", "check the path.")
        from workbench.io import sha256_file
        from workbench.models.fetch import _install, convert_gguf

        digest = sha256_file(local)
        target = workbench_home() / "models" / f"gguf-{local.stem}-{digest[:12]}"
        if not (target / "workbench_model.json").exists():
            _install(target, lambda out: convert_gguf(local, out), {
                "name": target.name, "source": "gguf", "gguf_file": str(local), "gguf_sha256": digest,
            })
        return ResolvedModel(spec, target, "gguf")
    if _looks_like_hub_id(spec):
        return ResolvedModel(spec, _resolve_hub(spec), "hub")
    raise WorkbenchError(
        f"unknown model '{spec}': not a registry name, a local folder, a .gguf file or a Hub id.",
        f"use one of {', '.join(REGISTRY)}, a folder with config.json, or a .gguf path.",
    )


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "/", "~"))


def _hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _resolve_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "tokenizer*", "*.model", "*.txt", "*.jinja"]
    try:  # already in the local Hugging Face cache: no network needed
        return Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True))
    except Exception:  # noqa: BLE001 - any miss falls through to the network
        pass
    if not _hub_reachable():
        raise WorkbenchError(
            f"'{repo_id}' looks like a Hugging Face Hub id, but the Hub cannot be reached from this machine.",
            f"download the model elsewhere and set {{field}} to its local folder, or use the default "
            f"'{DEFAULT_MODEL}' (provisioned offline with 'workbench models fetch').",
            field="model",
        )
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as exc:  # noqa: BLE001
        raise WorkbenchError(
            f"could not download '{repo_id}' from the Hugging Face Hub ({type(exc).__name__}: {exc}).",
            "check the id and your access token, or set {field} to a local folder.",
            field="model",
        ) from None


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def compute_dtype(device: str | None = None):
    """bf16 on GPUs that support it, fp16 on older GPUs, fp32 on the CPU."""
    import torch

    device = device or default_device()
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def quantization_config(quant: Quant, device: str | None = None, quant_storage=None):
    """NF4 with double quantization (QLoRA), compute dtype per device; None for ``quant='none'``.
    ``quant_storage``: the dtype the 4-bit values are packed into (a floating dtype lets FSDP shard them)."""
    if quant == "none":
        return None
    if quant != "nf4":
        raise WorkbenchError(f"unknown quantization '{quant}'.", "set {field} to nf4 or none.", field="quant")
    from workbench.models.quant import import_bitsandbytes

    import_bitsandbytes()
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(device),
        # keep the output head in full precision: it is small and its rounding shows in perplexity
        llm_int8_skip_modules=["lm_head"],
        **({"bnb_4bit_quant_storage": quant_storage} if quant_storage is not None else {}),
    )


def load_tokenizer(spec: str | os.PathLike | ResolvedModel, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    resolved = spec if isinstance(spec, ResolvedModel) else resolve_model(spec)
    tokenizer = AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=trust_remote_code)
    if tokenizer.eos_token_id is None:
        raise WorkbenchError(
            f"the tokenizer of {resolved.spec} has no end-of-sequence token.",
            "set eos_token in its tokenizer_config.json; packing needs it to separate documents.",
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    spec: str | os.PathLike | ResolvedModel,
    quant: Quant = "nf4",
    device: str | None = None,
    trust_remote_code: bool = False,
    attn_implementation: str | None = "sdpa",
    quant_storage=None,
):
    """Load a causal LM from a spec; weights from safetensors only (``quant_storage``: see
    :func:`quantization_config`).

    Returns:
        (model, tokenizer, resolved) with the model in eval mode on ``device``.
    """
    import torch
    from transformers import AutoModelForCausalLM

    resolved = spec if isinstance(spec, ResolvedModel) else resolve_model(spec)
    device = device or default_device()
    tokenizer = load_tokenizer(resolved, trust_remote_code)
    kwargs = {
        "dtype": compute_dtype(device) if quant == "none" and device != "cpu" else torch.float32,
        "use_safetensors": True,
        "trust_remote_code": trust_remote_code,
    }
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    qconfig = quantization_config(quant, device, quant_storage)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
        kwargs["dtype"] = compute_dtype(device)
        # one whole copy per process: under torchrun/accelerate each rank loads onto its own GPU
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0")) if device.startswith("cuda") else "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(resolved.path, **kwargs)
    except OSError as exc:
        raise WorkbenchError(
            f"could not load model weights from {resolved.path}: {exc}.",
            "the folder needs *.safetensors weights (pickle .bin files are not loaded for safety).",
        ) from None
    if qconfig is None:
        model.to(device)
    else:
        from workbench.models.quant import keep_4bit_weights_unpacked

        # the same 4-bit arithmetic on every CPU, in evaluation and in training (see quant.py)
        keep_4bit_weights_unpacked(model)
    model.eval()
    return model, tokenizer, resolved


# -- scoring through a dequantized base --------------------------------------------------------
# On the CPU a bitsandbytes Linear4bit dequantizes its weight at every forward (and, left to itself on
# AVX512-BF16 hosts, repacks it for a bf16 kernel that scored at about a third of full precision;
# models/quant.py now keeps weights unpacked). For scoring, the frozen base can instead compute with
# its NF4 weights dequantized once to the compute dtype: the same weight values, plain matmuls. LoRA
# layers wrap the base layer and still apply on top.

DEQUANTIZE_HEADROOM = 4.0  # 'auto': the dense copy may take at most a quarter of the available memory


def linear4bit_layers(model) -> list:
    """The bitsandbytes Linear4bit modules of ``model`` (LoRA-wrapped ones included)."""
    import sys

    bnb = sys.modules.get("bitsandbytes")
    if bnb is None:  # never imported: nothing can be quantized
        return []
    return [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]


def dequantized_weight(layer):
    """The weight of a Linear4bit as a dense tensor of its compute dtype (fp32 on the CPU)."""
    import copy

    import bitsandbytes.functional as bnbf

    data, state = layer.weight.data, layer.weight.quant_state
    if getattr(state, "packing_format_for_cpu", False):
        # repacked for the AVX512-BF16 kernel by an earlier eval-mode forward: undo it on a copy
        data, state = bnbf._convert_weight_packed_for_cpu_inverse(data.clone(), copy.deepcopy(state))
    weight = bnbf.dequantize_4bit(data, state)
    dtype = layer.compute_dtype or state.dtype
    return weight.to(dtype).reshape(layer.out_features, layer.in_features)


def dequantized_size_bytes(model) -> int:
    """Bytes a dense copy of every Linear4bit weight would take in its compute dtype."""
    total = 0
    for layer in linear4bit_layers(model):
        dtype = layer.compute_dtype or layer.weight.quant_state.dtype
        total += layer.out_features * layer.in_features * dtype.itemsize
    return total


def should_dequantize(model, setting: str = "auto") -> bool:
    """Whether to score through a dequantized base: 'on', 'off', or 'auto' = on the CPU when
    ``DEQUANTIZE_HEADROOM`` times the dense copy fits in the memory available now."""
    if setting == "off":
        return False
    layers = linear4bit_layers(model)
    if not layers:
        return False
    if setting == "on":
        return True
    if layers[0].weight.device.type != "cpu":  # GPU kernels dequantize fast; GPU memory is dearer
        return False
    import psutil

    return DEQUANTIZE_HEADROOM * dequantized_size_bytes(model) < psutil.virtual_memory().available


class DequantizedBase:
    """Makes every Linear4bit of a model compute with a dense, dequantized copy of its weight.

    The quantized parameters are left as they are (so training, saving and ``restore()`` see the
    same model); only the layers' ``forward`` is replaced on the instance. Used for good by
    evaluate/compare, and around each in-training evaluation (``with DequantizedBase(model):``).
    With ``fold_lora`` (the default) each peft LoRA layer around such a base computes, in eval mode,
    with its adapter folded into one dense weight (``W + scaling * B @ A``; one more dense copy per
    layer, within ``DEQUANTIZE_HEADROOM``), so the adapted side costs what the base does.
    """

    def __init__(self, model, fold_lora: bool = True):
        import functools

        import torch

        self.layers = linear4bit_layers(model)
        self.wrappers = []
        dense = {}
        for layer in self.layers:
            weight = dequantized_weight(layer)
            bias = None if layer.bias is None else layer.bias.detach().to(weight.dtype)
            dense[id(layer)] = (weight, bias)
            layer.forward = functools.partial(_dense_forward, weight=weight, bias=bias, linear=torch.nn.functional.linear)
        if fold_lora:
            # a LoRA layer around a dequantized base computes with W + scaling * B @ A folded into one dense
            # weight: the adapted forward costs what the base's does (the fold is made on first use per set
            # of active adapters, and again when their weights change)
            for wrapper in model.modules():
                base = getattr(wrapper, "base_layer", None)
                if base is not None and id(base) in dense and hasattr(wrapper, "lora_A"):
                    weight, bias = dense[id(base)]
                    wrapper.forward = functools.partial(_folded_forward, wrapper=wrapper, weight=weight, bias=bias,
                                                        folds={})
                    self.wrappers.append(wrapper)

    def restore(self) -> None:
        """Back to the quantized forward; the dense copies are freed."""
        for layer in [*self.layers, *self.wrappers]:
            layer.__dict__.pop("forward", None)
        self.layers, self.wrappers = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.restore()


def _dense_forward(x, weight, bias, linear):
    return linear(x.to(weight.dtype), weight, bias).to(x.dtype)


def _folded_forward(x, *args, wrapper, weight, bias, folds, **kwargs):
    """The forward of a peft LoRA layer around a dequantized base, with the active adapters folded in.

    Falls back to peft's own forward wherever folding would change the result: in training mode
    (dropout), with mixed adapter batches, a merged adapter, or a LoRA variant (DoRA and others)."""
    import torch

    active = [name for name in wrapper.active_adapters if name in wrapper.lora_A]
    if (wrapper.training or wrapper.merged or kwargs.get("adapter_names") is not None or args
            or any(name in getattr(wrapper, "lora_variant", {}) for name in active)):
        return type(wrapper).forward(wrapper, x, *args, **kwargs)
    if wrapper.disable_adapters or not active:
        return wrapper.base_layer(x)
    # the key changes when an adapter's weights are changed in place (an optimizer step bumps _version)
    key = tuple((name, wrapper.lora_A[name].weight._version, wrapper.lora_B[name].weight._version,
                 wrapper.lora_A[name].weight.data_ptr(), wrapper.lora_B[name].weight.data_ptr()) for name in active)
    folded = folds.get(key)
    if folded is None:
        with torch.no_grad():
            folded = weight.clone()
            for name in active:
                a, b = wrapper.lora_A[name].weight, wrapper.lora_B[name].weight
                folded += (b.to(torch.float32) @ a.to(torch.float32) * wrapper.scaling[name]).to(folded.dtype)
        folds.clear()  # one folded copy per layer at a time
        folds[key] = folded
    return torch.nn.functional.linear(x.to(folded.dtype), folded, bias).to(x.dtype)


def dequantize_for_scoring(model, setting: str = "auto") -> DequantizedBase | None:
    """Dequantize the frozen NF4 base of ``model`` once for scoring when ``should_dequantize``;
    returns the handle (``.restore()`` undoes it) or None when the model is left as it is."""
    return DequantizedBase(model) if should_dequantize(model, setting) else None
