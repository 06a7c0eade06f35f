"""Load a base model with an optional LoRA adapter (a run folder or an adapter folder), and decide from
the run's card which base and which quantization go with the adapter."""

from __future__ import annotations

import contextlib
import os

from workbench.errors import WorkbenchError
from workbench.runs import (
    adapter_dir,  # noqa: F401 - the run layout lives in workbench.runs
    run_card_for,
    weights_sha256,
)

# the files peft.PeftModel.from_pretrained reads an adapter's weights from
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def run_model(adapter: str) -> str:
    """The base model spec a run was trained on: from its ``run.json``, else, for an adapter trained elsewhere
    (Axolotl, a peft script), the base its ``adapter_config.json`` names."""
    card = run_card_for(adapter)
    spec = ((card or {}).get("config") or {}).get("model")
    if not spec and card is None:
        spec = _peft_base(adapter)
    if not spec:
        raise WorkbenchError(
            f"{adapter} has no run.json (or adapter_config.json base) saying which base model it was trained on.",
            "set {field} to the base model.",
            field="model",
        )
    return spec


def _peft_base(adapter: str) -> str | None:
    """``base_model_name_or_path`` of an adapter folder's ``adapter_config.json``, if it names one."""
    from workbench.io import read_json

    try:
        return read_json(adapter_dir(adapter) / "adapter_config.json").get("base_model_name_or_path") or None
    except (WorkbenchError, AttributeError):
        return None


def check_base_matches(card: dict | None, resolved, adapter: str) -> None:
    """Refuse a base whose weights differ from those the adapter was trained on (when both are known)."""
    if not card:
        return
    trained = (card.get("model") or {}).get("weights_sha256")
    if not trained or "{" in str(trained):
        return
    actual = weights_sha256(resolved.path)
    if actual and actual != trained:
        raise WorkbenchError(
            f"adapter {adapter} was trained on '{card['model'].get('spec')}' (weights sha256 {trained[:12]}), "
            f"but the base '{resolved.spec}' has different weights (sha256 {actual[:12]}).",
            f"set {{field}} to {card['model'].get('spec')} (the model the run was trained on).",
            field="model",
        )


def resolve_quant(config, card: dict | None) -> str:
    """``config.quant``, else as the adapter was trained (nf4 when the card does not say), else none without one."""
    if config.quant:
        return config.quant
    if config.adapter is None:
        return "none"
    return ((card or {}).get("config") or {}).get("quant", "nf4")


@contextlib.contextmanager
def base_side(model, tokenizer, base_tokenizer=None):
    """Within the block ``model`` is the base: its adapter disabled (when it has one) and, when the adapter
    grew the tokenizer (``base_tokenizer`` given and not ``tokenizer``), its predictions limited to the base
    tokenizer's vocabulary."""
    from workbench.models.heads import vocabulary_limit

    reference = getattr(model, REFERENCE_ATTRIBUTE, None)
    if reference is not None:  # run against run: the other run's adapter stands where the base would
        active = model.active_adapter
        model.set_adapter(reference)
        try:
            yield
        finally:
            model.set_adapter(active)
        return
    disable = getattr(model, "disable_adapter", None)
    grown = base_tokenizer is not None and base_tokenizer is not tokenizer
    with disable() if disable else contextlib.nullcontext(), vocabulary_limit(model, len(base_tokenizer) if grown else None):
        yield


REFERENCE_ATTRIBUTE = "workbench_reference_adapter"
REFERENCE_NAME = "against"


def load_reference(model, against: str | os.PathLike, tokenizer) -> None:
    """Load a second run's adapter beside the first, as the side a comparison measures against.

    From then on :func:`base_side` switches to it instead of disabling the adapter, so every part of a
    comparison (scores, probes, generations, the regression set) reads the other run where it read the base.
    Both adapters must share the base's tokenizer: a run that grew the tokenizer is refused.
    """
    path = adapter_dir(against)
    if (path / "tokenizer_config.json").exists():
        from transformers import AutoTokenizer

        if len(AutoTokenizer.from_pretrained(path)) != len(tokenizer):
            raise WorkbenchError(f"run {against} grew the tokenizer, so its tokens differ from the other run's.",
                                 "compare each run with the base instead.", field="against")
    try:
        model.load_adapter(str(path), adapter_name=REFERENCE_NAME)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise WorkbenchError(f"adapter {path} does not fit the base model ({str(exc).splitlines()[0][:200]}).",
                             "compare runs trained on the same base model.", field="against") from None
    setattr(model, REFERENCE_ATTRIBUTE, REFERENCE_NAME)


def base_tokenizer_for(model_spec, tokenizer):
    """The base model's own tokenizer when ``tokenizer`` (an adapter's) grew it with domain tokens, else
    ``tokenizer`` itself (``result is tokenizer`` tells the two cases apart)."""
    from pathlib import Path

    from workbench.models.load import load_tokenizer, resolve_model

    resolved = model_spec if hasattr(model_spec, "path") else resolve_model(model_spec)
    if Path(getattr(tokenizer, "name_or_path", "") or ".").resolve() == Path(resolved.path).resolve():
        return tokenizer  # the base's own, as load_with_adapter keeps it unless the adapter grew it: no second read
    base = load_tokenizer(resolved)
    return tokenizer if len(base) == len(tokenizer) else base


def checked_adapter_dir(adapter: str | os.PathLike):
    """The absolute adapter folder of a run or adapter folder, with its weights file present. Absolute,
    because peft takes a relative path it cannot find for a Hugging Face Hub id."""
    path = adapter_dir(adapter).resolve()
    if not any((path / name).is_file() for name in ADAPTER_WEIGHTS):
        raise WorkbenchError(
            f"adapter {path} has no weights file ({' or '.join(ADAPTER_WEIGHTS)}): it was deleted or never written.",
            "restore the file, or pass a checkpoint of the run (checkpoints/checkpoint-N) or another run's adapter.",
        )
    return path


def load_with_adapter(
    model_spec, adapter: str | os.PathLike | None, quant: str = "nf4", device: str | None = None, dequantize: str = "auto",
):
    """(model, tokenizer): the base, wrapped with the adapter when one is given.

    With an adapter, ``with model.disable_adapter():`` gives the base model from the same
    loaded weights, so base and adapted are compared on identical quantized weights.
    ``dequantize`` ('auto', 'on', 'off'): an NF4 base computes with its weights dequantized once
    (``workbench.models.load.dequantize_for_scoring``; 'auto' = on the CPU when memory allows).
    """
    from workbench.models.load import dequantize_for_scoring, load_model

    if adapter is not None:  # checked before the base loads
        path = checked_adapter_dir(adapter)
    model, tokenizer, _ = load_model(model_spec, quant=quant, device=device)
    if adapter is None:
        dequantize_for_scoring(model, dequantize)
        return model, tokenizer
    from peft import PeftModel

    if (path / "tokenizer_config.json").exists():
        # a run that added domain tokens saved its grown tokenizer beside the adapter: use it,
        # and grow the base's embeddings to match before the adapter's token rows load
        from transformers import AutoTokenizer

        adapter_tokenizer = AutoTokenizer.from_pretrained(path)
        if len(adapter_tokenizer) != len(tokenizer):
            if adapter_tokenizer.pad_token_id is None:
                adapter_tokenizer.pad_token = adapter_tokenizer.eos_token
            model.resize_token_embeddings(len(adapter_tokenizer), mean_resizing=False)
            tokenizer = adapter_tokenizer
    try:
        model = PeftModel.from_pretrained(model, str(path))
    except (RuntimeError, ValueError, KeyError) as exc:
        raise WorkbenchError(
            f"adapter {path} does not fit model '{model_spec}' ({str(exc).splitlines()[0][:200]}).",
            "pass the base model the adapter was trained on (see base_model_name_or_path in adapter_config.json "
            "or the run's run.json).",
        ) from None
    dequantize_for_scoring(model, dequantize)  # the LoRA layers wrap the base layers and still apply
    model.eval()
    return model, tokenizer
