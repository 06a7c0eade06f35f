"""Where a QLoRA training step spends its time: torch.profiler over a few steps of our trainer.

    python benchmarks/profile_train_step.py --model Llama-3.2-1B --block-size 1024 --micro-batch 4   # GPU

Prints the operators with the most self device time and self CPU time, and the share of the step's
wall time the device was busy (low = the step is bound by Python/launch overhead, not the GPU).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-llama")
    parser.add_argument("--tokenizer")
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=6, help="profiled steps (after 3 warm-up steps)")
    parser.add_argument("--quant", default="nf4")
    parser.add_argument("--rows", type=int, default=18)
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile, schedule
    from train_throughput import prepare_model
    from transformers import TrainerCallback

    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    cuda = torch.cuda.is_available()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    prof = profile(activities=activities, schedule=schedule(wait=0, warmup=3, active=args.steps, repeat=1))

    class Step(TrainerCallback):
        def on_step_end(self, *a, **k):
            if cuda:
                torch.cuda.synchronize()
            prof.step()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = prepare_model(args.model, Path(tmp), args.tokenizer)
        config = TrainConfig(model=str(model_dir), quant=args.quant, block_size=args.block_size,
                             micro_batch_size=args.micro_batch, eval_every=0.0, preset="none",
                             max_tokens=(args.steps + 3) * args.block_size * args.micro_batch, out=str(Path(tmp) / "run"))
        from transformers import Trainer

        init = Trainer.__init__

        def patched(self, *a, **k):
            k["callbacks"] = list(k.get("callbacks") or []) + [Step()]
            init(self, *a, **k)

        Trainer.__init__ = patched  # the trainer builds its Trainer inside train(): add the step callback
        try:
            prof.start()
            train(config, Workspace.at(Path(tmp) / "ws"), progress=False)
            prof.stop()
        finally:
            Trainer.__init__ = init
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=args.rows, max_name_column_width=60))
    if cuda:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10, max_name_column_width=60))
        events = prof.key_averages()
        device_us = sum(e.self_device_time_total for e in events)
        cpu_us = max(e.cpu_time_total for e in events)
        print(f"device busy (sum of self device time) {device_us / 1e3:.0f} ms over {args.steps} steps; "
              f"longest CPU op total {cpu_us / 1e3:.0f} ms")


if __name__ == "__main__":
    main()
