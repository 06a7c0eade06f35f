"""Learning curves: domain and general perplexity (with intervals) of the base and of every checkpoint of a run.

``compare --checkpoints`` adds the curve to a comparison (the model already loaded); ``compare_checkpoints``
computes it alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.evaluation.metrics import score, summarize
from workbench.runs import list_checkpoints, run_card_for


def checkpoint_points(model, tokenizer, config, sets: dict, run_dir: Path, base_results: dict,
                      progress: bool, metric: str = "token_ppl") -> list[dict]:
    """Points of the curve: step 0 from ``base_results["base"]``, then each checkpoint's adapter loaded beside
    the active one, scored on ``sets``, and unloaded (the active adapter is restored). ``metric``:
    ``"word_ppl"`` when the adapter grew the tokenizer (base and checkpoints cut the text differently)."""
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise WorkbenchError(
            f"{run_dir} has no checkpoints/checkpoint-N folders with an adapter.",
            "pass a run folder trained with evaluation/checkpoints enabled (eval_every > 0), or turn {field} off.",
            field="checkpoints",
        )

    def point(step, label, results):
        row = {"step": step, "label": label}
        for name in sets:
            row[f"{name}_ppl"] = results[name][metric]
            row[f"{name}_ppl_ci95"] = results[name][f"{metric}_ci95"]
        return row

    points = [point(0, "base", base_results["base"])]
    active = model.active_adapter
    for step, path in checkpoints:
        name = f"step-{step}"
        model.load_adapter(str(path), adapter_name=name)
        model.set_adapter(name)
        results = {s: summarize(score(model, tokenizer, es, config, f"{name}/{s}", progress), config) for s, es in sets.items()}
        points.append(point(step, f"checkpoint-{step}", results))
        model.set_adapter(active)
        model.delete_adapter(name)
    return points


def compare_checkpoints(config, progress: bool = True) -> list[dict]:
    """Domain and general perplexity (with intervals) of the base and of every checkpoint of a run.

    Returns:
        Points ``{step, label, domain_ppl, domain_ppl_ci95, general_ppl, general_ppl_ci95}``,
        step 0 being the base model.
    """
    from workbench.evaluation.adapted import check_base_matches, load_with_adapter, resolve_quant, run_model
    from workbench.evaluation.sets import default_sets, load_eval_set
    from workbench.models.load import resolve_model

    if not config.adapter:
        raise WorkbenchError("no run given.", "set {field} to a run folder with checkpoints/.", field="adapter")
    card = run_card_for(config.adapter)
    if not config.model:
        config = replace(config, model=run_model(config.adapter))
    resolved = resolve_model(config.model)
    check_base_matches(card, resolved, config.adapter)
    checkpoints = list_checkpoints(config.adapter)
    if not checkpoints:
        raise WorkbenchError(f"{config.adapter} has no checkpoints with an adapter.", "pass a run folder with checkpoints/.")
    model, tokenizer = load_with_adapter(resolved, checkpoints[-1][1], quant=resolve_quant(config, card), device=config.device,
                                         dequantize=config.dequantize_scoring)
    domain, general = default_sets(config, card)
    sets = {"domain": load_eval_set(domain, "domain", tokenizer, config.text_field, config.text_unit),
            "general": load_eval_set(general, "general", tokenizer, config.text_field, config.text_unit)}
    with model.disable_adapter():
        base = {name: summarize(score(model, tokenizer, s, config, f"base/{name}", progress), config)
                for name, s in sets.items()}
    return checkpoint_points(model, tokenizer, config, sets, Path(config.adapter), {"base": base}, progress)


_checkpoint_points = checkpoint_points  # the name compare.py used before the split
