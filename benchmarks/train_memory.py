"""Peak RSS and CPU seconds per optimizer step of a short smollm2-135m training run with given shapes.

    /usr/bin/time -v python benchmarks/train_memory.py MICRO_BATCH GRAD_ACCUM on|off MAX_TOKENS
    /usr/bin/time -v python benchmarks/train_memory.py 2 4 off 4096   # the CPU quickstart's shapes, 2 steps

Runs ``workbench.workflows.train`` on the sample corpus (block 256, evaluation samples of 16
tokens so evaluation does not count) and prints one JSON line: CPU and wall seconds of each
optimizer step (CPU time is steadier than wall time on a shared machine) and the process's peak RSS.
"""

import json
import resource
import sys
import time

from transformers import Trainer, TrainerCallback

from workbench.training.config import TrainConfig
from workbench.workflows import train
from workbench.workspace import Workspace


def main() -> None:
    mb, accum, ckpt, tokens = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    tag = f"mb{mb}x{accum}-{ckpt}-{tokens}"
    steps = []

    class Step(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.cpu, self.wall = time.process_time(), time.time()

        def on_step_end(self, *a, **k):
            steps.append((round(time.process_time() - self.cpu, 2), round(time.time() - self.wall, 2)))

    init = Trainer.__init__

    def patched(self, *a, **k):  # the trainer builds its Trainer inside train(): add the step timer
        k["callbacks"] = list(k.get("callbacks") or []) + [Step()]
        init(self, *a, **k)

    Trainer.__init__ = patched
    config = TrainConfig(max_tokens=tokens, block_size=256, micro_batch_size=mb, grad_accum=accum, gradient_checkpointing=ckpt,
                         learning_rate=1e-3, eval_every=0.0, preset="none", eval_max_tokens=16, out=f"/tmp/train_memory/{tag}")
    t0 = time.time()
    train(config, Workspace.at("/tmp/train_memory/ws"), overwrite=True, progress=False)
    print(json.dumps({"tag": tag, "step_cpu_wall_s": steps, "wall": round(time.time() - t0, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
