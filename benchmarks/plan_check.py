"""The plan beside the run: every benchmark that trains reports the plan's estimate and the measured
figures (``workbench.training.plan.compare_with_measured``), so the plan's accuracy is checked on every
host the benchmarks run on.
"""

from __future__ import annotations

import json
from pathlib import Path


def plan_gpu() -> str:
    """The plan's name of this machine's device: a GPU of the table matched by name, else ``cpu``."""
    import torch

    from workbench.training.plan import GPUS

    if not torch.cuda.is_available():
        return "cpu"
    device = "".join(ch for ch in torch.cuda.get_device_name(0).lower() if ch.isalnum())
    matches = [name for name in GPUS if name != "cpu" and "".join(ch for ch in name.lower() if ch.isalnum()) in device]
    return max(matches, key=len) if matches else "H100"


def plan_vs_run(run_dir: str | Path) -> dict:
    """The plan for a finished run's own settings on this device, beside its run card's measurements.

    Returns:
        ``{"gpu", "basis", "tokens_per_s": {estimated, measured, ratio}, "train_seconds": ...,
        "peak_memory_mb": ..., "implied_mfu"}`` (ratio = measured / estimated).
    """
    from workbench.config import from_dict
    from workbench.training.config import TrainConfig
    from workbench.training.plan import PlanConfig, compare_with_measured, estimate

    card = json.loads((Path(run_dir) / "run.json").read_text())
    config = from_dict(TrainConfig, card["config"])
    gpu = plan_gpu()
    plan = estimate(config.model, PlanConfig.from_train_config(config, gpu=gpu))
    return {**compare_with_measured(plan, card), "basis": plan.throughput_basis, "measured_plan": plan.measured}


def plan_line(check: dict) -> str:
    """One line for a benchmark's output: measured / planned throughput and time."""
    tps, secs = check["tokens_per_s"], check["train_seconds"]
    ratio = f"x{tps['ratio']:.2f}" if tps.get("ratio") else "n/a"
    return (f"plan vs run on {check['gpu']}: {tps['measured'] or 0:,.0f} tokens/s measured vs {tps['estimated']:,.0f} "
            f"planned ({ratio}); {secs['measured'] or 0:,.0f} s vs {secs['estimated']:,.0f} s planned "
            f"[{check['basis']}]")
