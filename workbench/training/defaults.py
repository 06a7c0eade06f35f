"""The learning rate that depends on the model, resolved in one place.

Left to the workbench unless the user sets it (``learning_rate: null``, the default), the LoRA
learning rate is scaled to the model's size, :func:`learning_rate_for`. LoRA on a 7-8B model is
usually trained at 1-2e-4 (the QLoRA paper); a 135M model adapts far faster at about 1e-3
(measured: benchmarks/adaptation_quality.py and BENCHMARKS.md), so the rate grows as the model
shrinks, ``2e-4 * (7e9 / N) ** 0.4``, clipped to [1e-4, 1e-3]. (The other model-dependent default,
the shipped preset made for a model, is found beside the presets:
``workbench.training.config.preset_for_model``.)

The resolved rate is recorded in the run card (``resolved.learning_rate`` and
``resolved.learning_rate_reason``).
"""

from __future__ import annotations

import dataclasses

REFERENCE_PARAMS = 7e9
"""Model size at which LoRA's customary 2e-4 is the resolved rate."""
REFERENCE_LR = 2e-4
LR_EXPONENT = 0.4
LR_BOUNDS = (1e-4, 1e-3)


def learning_rate_for(n_params: float) -> float:
    """The LoRA learning rate for a model of ``n_params`` parameters (see the module docstring)."""
    lr = REFERENCE_LR * (REFERENCE_PARAMS / max(float(n_params), 1.0)) ** LR_EXPONENT
    low, high = LR_BOUNDS
    return float(f"{min(high, max(low, lr)):.2g}")


def model_parameters(model_config) -> int | None:
    """Parameters of the (unquantized) model from its config: exact for Llama-style decoders, else None."""
    from workbench.training.plan import architecture_from_config

    try:
        return architecture_from_config(model_config).n_params
    except Exception:  # noqa: BLE001 - an architecture the plan does not know: fall back to the reference rate
        return None


def resolve_learning_rate(config, model_config) -> tuple:
    """``config`` with its learning rate filled in when it was left to the workbench, and the reason."""
    if config.learning_rate is not None:
        return config, "set by the user or the preset"
    n_params = model_parameters(model_config)
    if n_params is None:
        lr, reason = REFERENCE_LR, f"model size unknown: LoRA's customary {REFERENCE_LR:g}"
    else:
        lr = learning_rate_for(n_params)
        reason = (f"scaled to the model's size ({n_params / 1e6:,.0f}M parameters): "
                  f"{REFERENCE_LR:g} x (7B / N)^{LR_EXPONENT}, clipped to [{LR_BOUNDS[0]:g}, {LR_BOUNDS[1]:g}]")
    return dataclasses.replace(config, learning_rate=lr), reason
