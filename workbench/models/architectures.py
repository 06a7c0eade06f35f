"""Model architectures: the shapes memory and FLOPs depend on, known offline.

What the plan and the trainer both need to know about a model, read from a transformers
``config.json`` (a local folder or file, a dict, a cached registry model) or from the published
configurations in ``KNOWN_CONFIGS`` (so a plan never downloads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

# --------------------------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------------------------
# Published config.json values (the fields the plan reads), so plans work offline.
KNOWN_CONFIGS: dict[str, dict[str, Any]] = {
    "SmolLM2-135M": {
        "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
        "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64, "vocab_size": 49152,
        "tie_word_embeddings": True, "max_position_embeddings": 8192, "attention_bias": False,
        "mlp_bias": False, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 100000.0,
    },
    "Qwen2.5-0.5B": {
        "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
        "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
        "tie_word_embeddings": True, "max_position_embeddings": 32768, "hidden_act": "silu",
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    },
    "Llama-3.2-1B": {
        "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
        "tie_word_embeddings": True, "max_position_embeddings": 131072, "attention_bias": False,
        "mlp_bias": False, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    },
    "Llama-3.1-8B": {
        "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 128256,
        "tie_word_embeddings": False, "max_position_embeddings": 131072, "attention_bias": False,
        "mlp_bias": False, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    },
    "Mistral-7B-v0.1": {
        "model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 32000,
        "tie_word_embeddings": False, "max_position_embeddings": 32768, "hidden_act": "silu",
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "sliding_window": 4096,
    },
    "Mistral-7B-v0.3": {  # v0.1 with a 32768-token vocabulary, no sliding window (the mistral-7b-24gb preset)
        "model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 32768,
        "tie_word_embeddings": False, "max_position_embeddings": 32768, "hidden_act": "silu",
        "rms_norm_eps": 1e-5, "rope_theta": 1000000.0, "sliding_window": None,
    },
}
# Other spellings people use for the same models (Hub ids, the registry name).
_ALIASES = {
    "smollm2-135m": "SmolLM2-135M", "huggingfacetb/smollm2-135m": "SmolLM2-135M",
    "huggingfacetb/smollm2-135m-instruct": "SmolLM2-135M", "smollm2-135m-instruct": "SmolLM2-135M",
    "qwen/qwen2.5-0.5b": "Qwen2.5-0.5B", "qwen2.5-0.5b-instruct": "Qwen2.5-0.5B",
    "meta-llama/llama-3.2-1b": "Llama-3.2-1B", "llama-3.2-1b-instruct": "Llama-3.2-1B",
    "meta-llama/llama-3.1-8b": "Llama-3.1-8B", "meta-llama/meta-llama-3.1-8b": "Llama-3.1-8B",
    "llama-3.1-8b-instruct": "Llama-3.1-8B", "mistral-7b": "Mistral-7B-v0.1",
    "mistralai/mistral-7b-v0.1": "Mistral-7B-v0.1", "mistralai/mistral-7b-v0.3": "Mistral-7B-v0.3",
}
# Llama-style decoders (RMSNorm, RoPE, SwiGLU, grouped-query attention) the counts are exact for.
LLAMA_FAMILY = {"llama", "mistral", "qwen2", "qwen3"}


@dataclass(frozen=True)
class Architecture:
    """The shape of a Llama-style decoder, as far as memory and FLOPs depend on it."""

    name: str
    model_type: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    tied_embeddings: bool
    max_position_embeddings: int | None = None
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False  # Qwen3: RMSNorm on queries and keys per head

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int, bool]]:
        """Per decoder layer: name -> (in_features, out_features, has_bias)."""
        h, f = self.hidden_size, self.intermediate_size
        return {
            "q_proj": (h, self.q_dim, self.qkv_bias),
            "k_proj": (h, self.kv_dim, self.qkv_bias),
            "v_proj": (h, self.kv_dim, self.qkv_bias),
            "o_proj": (self.q_dim, h, self.o_bias),
            "gate_proj": (h, f, self.mlp_bias),
            "up_proj": (h, f, self.mlp_bias),
            "down_proj": (f, h, self.mlp_bias),
        }

    def parameter_counts(self) -> dict[str, int]:
        """Exact counts: linear weights (quantized in NF4), their biases, norms, embeddings, head."""
        shapes = self.linear_shapes().values()
        linear = self.num_layers * sum(i * o for i, o, _ in shapes)
        bias = self.num_layers * sum(o for _, o, b in shapes if b)
        norms = self.num_layers * 2 * self.hidden_size + self.hidden_size
        if self.qk_norm:
            norms += self.num_layers * 2 * self.head_dim
        embed = self.vocab_size * self.hidden_size
        head = 0 if self.tied_embeddings else embed
        total = linear + bias + norms + embed + head
        return {"linear": linear, "bias": bias, "norms": norms, "embeddings": embed, "lm_head": head, "total": total}

    @property
    def n_params(self) -> int:
        return self.parameter_counts()["total"]


def _pick(cfg: dict, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    return default


def architecture_from_config(cfg: dict | Any, name: str | None = None) -> Architecture:
    """An ``Architecture`` from a config.json dict or a transformers ``PretrainedConfig``."""
    if not isinstance(cfg, dict):
        cfg = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(vars(cfg))
    if isinstance(cfg.get("text_config"), dict):  # multimodal wrappers: plan the language model
        cfg = {**cfg["text_config"], "model_type": cfg["text_config"].get("model_type", cfg.get("model_type"))}
    hidden = _pick(cfg, "hidden_size", "n_embd", "d_model")
    layers = _pick(cfg, "num_hidden_layers", "n_layer", "num_layers")
    heads = _pick(cfg, "num_attention_heads", "n_head")
    vocab = _pick(cfg, "vocab_size")
    missing = [k for k, v in {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
                              "vocab_size": vocab}.items() if not v]
    if missing:
        raise WorkbenchError(
            f"model config {name or ''} lacks {', '.join(missing)}.".replace("  ", " "),
            "pass a decoder-only causal LM config.json (Llama, Mistral, Qwen2/3...) or one of "
            f"{', '.join(KNOWN_CONFIGS)}.",
        )
    model_type = str(cfg.get("model_type") or "llama")
    head_dim = _pick(cfg, "head_dim") or hidden // heads
    attention_bias = bool(cfg.get("attention_bias", False))
    return Architecture(
        name=name or str(cfg.get("_name_or_path") or cfg.get("name_or_path") or model_type),
        model_type=model_type,
        hidden_size=int(hidden),
        intermediate_size=int(_pick(cfg, "intermediate_size", "n_inner", default=4 * hidden)),
        num_layers=int(layers),
        num_heads=int(heads),
        num_kv_heads=int(_pick(cfg, "num_key_value_heads", default=heads)),
        head_dim=int(head_dim),
        vocab_size=int(vocab),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", True)),
        max_position_embeddings=cfg.get("max_position_embeddings"),
        qkv_bias=model_type == "qwen2" or attention_bias,
        o_bias=attention_bias,
        mlp_bias=bool(cfg.get("mlp_bias", False)),
        qk_norm=model_type == "qwen3",
    )


def resolve_architecture(model: str | Path | dict | Any) -> Architecture:
    """An ``Architecture`` from a known name, registry name, model folder, config.json, dict or config.

    Never downloads: registry models must be in the cache, and Hub ids must be one of
    ``KNOWN_CONFIGS`` (or pass the model's downloaded folder / config.json).
    """
    if isinstance(model, Architecture):
        return model
    if isinstance(model, dict):
        return architecture_from_config(model)
    if not isinstance(model, (str, Path)):
        return architecture_from_config(model)
    spec = str(model)
    known = {k.lower(): k for k in KNOWN_CONFIGS}
    key = known.get(spec.lower()) or _ALIASES.get(spec.lower())
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise WorkbenchError(f"model folder {path} has no config.json.", "point at a folder saved with save_pretrained.")
        return architecture_from_config(_read_config(path / "config.json"), name=path.name)
    if path.is_file() and path.suffix == ".json":
        return architecture_from_config(_read_config(path), name=path.parent.name)
    from workbench.models.registry import REGISTRY

    if spec in REGISTRY:
        from workbench.models.fetch import cached_model_path

        cached = cached_model_path(spec)
        if cached is not None and (Path(cached) / "config.json").exists():
            return architecture_from_config(_read_config(Path(cached) / "config.json"), name=spec)
    if key:
        return architecture_from_config(KNOWN_CONFIGS[key], name=key)
    raise WorkbenchError(
        f"no architecture known for model '{spec}'.",
        f"use one of {', '.join(KNOWN_CONFIGS)}, a cached registry model, or a local folder / config.json "
        "(the plan never downloads; a config.json from the model's Hub page is enough).",
    )


def _read_config(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"could not read model config {path}: {exc}.", "pass a valid config.json.") from None
