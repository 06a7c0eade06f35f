"""Trainer callbacks: live metrics, progress with tokens/s and ETA, held-out evaluation, run cards,
checkpoint retention."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback

from workbench.errors import WorkbenchError
from workbench.io import append_jsonl, read_appended_jsonl, write_json
from workbench.runcard import now_iso
from workbench.runs import write_checkpoint_manifest
from workbench.status import write_status
from workbench.training.curriculum import stage_at
from workbench.training.hf_trainer import CHECKPOINT_MARGIN, disk_full_error


def memory_mb() -> dict[str, float]:
    import torch

    if torch.cuda.is_available():
        return {
            "gpu_mem_mb": round(torch.cuda.memory_allocated() / 2**20, 1),
            "gpu_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
        }
    import psutil

    return {"rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1)}


def evaluations_left(step: int, max_steps: int, eval_steps: int) -> int:
    """In-training evaluations still to run after ``step``: every ``eval_steps`` and at the last step."""
    if step >= max_steps:
        return 0
    return max_steps // eval_steps - step // eval_steps + (1 if max_steps % eval_steps else 0)


def change_interval(base: dict, record: dict, name: str) -> list[float] | None:
    """The 95% interval of an in-training change over the base (percent), paired over the sample's documents.

    The same interval the final comparison uses (``workbench.intervals.ratio_t_interval``), so a
    curve point says what it rests on: a change measured on a handful of documents gets a wide one.
    None when either evaluation kept no per-document scores or the samples differ.
    """
    import math

    from workbench.intervals import ratio_t_interval

    before, after = base.get(f"{name}_doc_nll"), record.get(f"{name}_doc_nll")
    units = record.get(f"{name}_doc_units")
    if not before or not after or not units or len(before) != len(after) or base is record:
        return None
    if base.get(f"{name}_doc_units") != units:
        return None
    _, (low, high) = ratio_t_interval([a - b for a, b in zip(after, before)], units)
    if not math.isfinite(low):
        return None
    return [round(100 * (math.exp(low) - 1), 2), round(100 * (math.exp(high) - 1), 2)]


def eta_seconds(step: int, max_steps: int, eval_steps: int, train_seconds: float, eval_seconds: list[float]) -> float | None:
    """Seconds left: the remaining steps at the measured seconds per step, plus the remaining
    evaluations at the mean measured time of the evaluations so far. None before the first step."""
    if step <= 0 or train_seconds <= 0:
        return None
    train_left = (max_steps - step) * train_seconds / step
    per_eval = sum(eval_seconds) / len(eval_seconds) if eval_seconds else 0.0
    return train_left + evaluations_left(step, max_steps, eval_steps) * per_eval


def checkpoints_to_keep(steps: list[int], keep: str, best_step: int | None) -> set[int]:
    """Which checkpoint steps stay under ``keep`` ('all', 'last_and_best' or a number N of the
    most recent): the most recent ones (resume starts from the last) and the best."""
    if keep == "all":
        return set(steps)
    recent = 1 if keep == "last_and_best" else int(keep)
    kept = set(sorted(steps)[-recent:])
    if best_step in steps:
        kept.add(best_step)
    return kept


def prune_checkpoints(folder: Path, keep: str, best_step: int | None, current_step: int) -> list[Path]:
    """Delete the checkpoints ``checkpoints_to_keep`` leaves out; returns what was removed. Folders
    of later steps (left by a run that was killed and resumed from an earlier one) are not touched."""
    found = {}
    for path in Path(folder).glob("checkpoint-*"):
        suffix = path.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and int(suffix) <= current_step:
            found[int(suffix)] = path
    kept = checkpoints_to_keep(sorted(found), keep, best_step)
    removed = [found[s] for s in sorted(found) if s not in kept]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


class WorkbenchCallback(TrainerCallback):
    """Writes metrics.jsonl and status.json as training goes, evaluates held-out perplexity
    every ``eval_steps`` and asks the Trainer to checkpoint right after, then writes a run card
    into that checkpoint."""

    def __init__(
        self,
        run_dir: Path,
        card: dict,
        evaluator: Callable | None,
        tokens_per_step: int,
        eval_steps: int,
        progress: bool = True,
        started: float | None = None,
        resumed: bool = False,
        forgetting_threshold_pct: float = 10.0,
        stop_on_forgetting: bool = False,
        on_progress=None,
        keep_checkpoints: str = "last_and_best",
        stop=None,
        segments: list[dict] | None = None,
        sharded: bool = False,
    ):
        self.on_progress = on_progress
        # a sharded model's forward needs every rank: all evaluate, rank 0 alone writes
        self.sharded = sharded
        self.writes = True
        self.keep_checkpoints = keep_checkpoints
        self.stop = stop  # a workbench.stopping.StopRequest: checkpoint and stop at the end of the step
        self.previous_segments = list(segments or [])  # wall time of earlier segments of a resumed run
        self.start_step = 0
        self.forgetting_threshold_pct = forgetting_threshold_pct
        self.stop_on_forgetting = stop_on_forgetting
        self.stopped_for_forgetting = False
        self.run_dir = Path(run_dir)
        self.metrics_path = self.run_dir / "metrics.jsonl"
        self.card = card
        self.evaluator = evaluator
        self.tokens_per_step = tokens_per_step
        self.eval_steps = eval_steps
        self.progress = progress
        self.started = started or time.time()
        self.resumed = resumed
        self.bar = None
        self.train_seconds = 0.0
        self._step_started: float | None = None
        self.evals: list[dict] = []
        self.last_train: dict = {}

    # -- helpers -----------------------------------------------------------------------
    def _is_main(self, state) -> bool:
        return state.is_world_process_zero

    def _evaluates(self, state) -> bool:
        return self.evaluator is not None and (self.sharded or self._is_main(state))

    def _record(self, record: dict) -> None:
        if not self.writes:
            return
        size = self.metrics_path.stat().st_size if self.metrics_path.exists() else 0
        try:
            append_jsonl(self.metrics_path, {**record, "time": now_iso()})
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            with contextlib.suppress(OSError):  # no half line left for the resume to trip on
                os.truncate(self.metrics_path, size)
            raise WorkbenchError(
                f"disk full: could not write {self.metrics_path} (the run's live metrics).",
                f"free space on that disk (or move the run to a larger one), then resume the run {self.run_dir}; "
                "its checkpoints and the metrics written so far are intact.",
            ) from None

    def _evaluate(self, model, state, base: bool = False) -> dict:
        started = time.time()
        if self.evaluator is None:
            result = {}
        elif base and getattr(self.evaluator, "unit", "token") == "word":  # the run grew the tokenizer
            result = self.evaluator(model, base=True)
        else:
            result = self.evaluator(model)
        record = {
            "type": "eval",
            "step": state.global_step,
            "tokens": state.global_step * self.tokens_per_step,
            "eval_seconds": round(time.time() - started, 2),
            **result,
        }
        if self.evals and "domain_ppl" in result:
            best = min(e["domain_ppl"] for e in self.evals if "domain_ppl" in e)
            record["best"] = result["domain_ppl"] < best
        elif "domain_ppl" in result:
            record["best"] = True
        base = self.evals[0] if self.evals else record
        if "general_ppl" in result and "general_ppl" in base:
            record["general_change_pct"] = round(100 * (result["general_ppl"] / base["general_ppl"] - 1), 2)
        if "domain_ppl" in result and "domain_ppl" in base:
            record["domain_change_pct"] = round(100 * (result["domain_ppl"] / base["domain_ppl"] - 1), 2)
        for name in ("domain", "general"):
            ci = change_interval(base, record, name)
            if ci is not None:
                record[f"{name}_change_ci95_pct"] = ci
        forgetting = record.get("general_change_pct", 0.0) > self.forgetting_threshold_pct
        record["forgetting"] = forgetting
        self.evals.append(record)
        self._record(record)
        if forgetting and self.writes:
            message = (
                f"forgetting guard: general perplexity is {record['general_change_pct']:+.1f}% over the base "
                f"(threshold {self.forgetting_threshold_pct:.0f}%) at step {record['step']}; "
                "consider more replay (--replay-ratio), a lower learning rate or fewer tokens"
            )
            import warnings

            warnings.warn(message, stacklevel=2)
            self._record({"type": "warning", "step": record["step"], "message": message})
        return record

    # -- Trainer hooks -------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.start_step = state.global_step
        self.writes = self._is_main(state)
        if self.resumed and self.metrics_path.exists():
            previous = read_appended_jsonl(self.metrics_path)
            # drop records written after the checkpoint we resume from: they will be redone
            kept = [r for r in previous if r.get("step", 0) <= state.global_step]
            from workbench.io import write_jsonl

            if self.writes:
                write_jsonl(self.metrics_path, kept)
            self.evals = [r for r in kept if r.get("type") == "eval"]
            self.train_seconds = max((r.get("train_seconds", 0.0) for r in kept), default=0.0)
        if self._is_main(state):
            if self.progress:
                from tqdm.auto import tqdm

                # tqdm's own remaining time extrapolates the step rate; ours adds the evaluations left
                self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="training", unit="step",
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
            if not self.evals and self.evaluator is not None:
                write_status(self.run_dir, "running", phase="evaluating base")
        if self.sharded and self.evaluator is not None:
            from workbench.training.fsdp import allocate_unsharded

            allocate_unsharded(model)
        if not self.evals and self._evaluates(state):
            self._evaluate(model, state, base=state.global_step == 0)

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_started = time.time()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self._step_started is not None:
            self.train_seconds += time.time() - self._step_started
        step = state.global_step
        if self._stop_requested(args) and step < state.max_steps:
            # SIGINT/SIGTERM: checkpoint this step, then leave the loop; train() records "stopped"
            control.should_save = True
            control.should_training_stop = True
            if self._is_main(state):
                write_status(self.run_dir, "stopping", phase="saving a checkpoint", step=step)
        if step % self.eval_steps == 0 or step == state.max_steps:
            control.should_save = True
            if self._evaluates(state):
                if self._is_main(state):
                    write_status(self.run_dir, "running", phase="evaluating", step=step)
                record = self._evaluate(model, state)
                if record.get("forgetting") and self.stop_on_forgetting:
                    self.stopped_for_forgetting = True
                    control.should_training_stop = True
        if self._is_main(state):
            tokens = step * self.tokens_per_step
            tps = tokens / self.train_seconds if self.train_seconds else 0.0
            eval_seconds = [e["eval_seconds"] for e in self.evals if e.get("eval_seconds") is not None]
            remaining = eta_seconds(step, state.max_steps, self.eval_steps, self.train_seconds, eval_seconds)
            evals_left = evaluations_left(step, state.max_steps, self.eval_steps) if self.evaluator is not None else 0
            write_status(
                self.run_dir, "running", phase="training", step=step, total_steps=state.max_steps,
                tokens=tokens, tokens_per_s=round(tps, 1), eta_s=round(remaining) if remaining is not None else None,
                evaluations_left=evals_left,
            )
            if self.on_progress is not None:
                from workbench.progress import emit

                loss = self.last_train.get("loss")
                emit(self.on_progress, "training", step, state.max_steps, "step",
                     f"{tps:.0f} tok/s" + (f", loss {loss:.3f}" if loss is not None else ""))
            if self.bar is not None:
                from tqdm import tqdm

                self.bar.update(step - self.bar.n)
                post = {"eta": tqdm.format_interval(remaining) if remaining is not None else "?", "tok/s": f"{tps:.0f}"}
                if self.last_train.get("loss") is not None:
                    post["loss"] = f"{self.last_train['loss']:.3f}"
                if self.evals:
                    post["dom_ppl"] = f"{self.evals[-1].get('domain_ppl', float('nan')):.2f}"
                self.bar.set_postfix(post)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not self._is_main(state) or not logs or "loss" not in logs:
            return
        tokens = state.global_step * self.tokens_per_step
        record = {
            "type": "train",
            "step": state.global_step,
            "tokens": tokens,
            "loss": logs.get("loss"),
            "lr": logs.get("learning_rate"),
            "grad_norm": logs.get("grad_norm"),
            "train_seconds": round(self.train_seconds, 3),
            "tokens_per_s": round(tokens / self.train_seconds, 2) if self.train_seconds else None,
            **memory_mb(),
        }
        stages = (self.card.get("curriculum") or {}).get("stages")
        if stages:  # the live curves mark where each stage begins
            record["stage"] = stage_at(stages, state.global_step)
        self.last_train = record
        self._record(record)

    def on_save(self, args, state, control, **kwargs):
        if not self._is_main(state):
            return
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if ckpt.exists():
            try:
                write_json(ckpt / "run.json", self.final_card(seconds=time.time() - self.started, step=state.global_step))
                write_checkpoint_manifest(ckpt)  # last: a checkpoint without it was cut short
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                needed = int(sum(p.stat().st_size for p in ckpt.rglob("*") if p.is_file()) * CHECKPOINT_MARGIN)
                shutil.rmtree(ckpt, ignore_errors=True)  # half a checkpoint: resume uses the one before
                raise disk_full_error(ckpt, needed, None) from None
        prune_checkpoints(Path(args.output_dir), self.keep_checkpoints, self.best_step(), state.global_step)

    def best_step(self) -> int | None:
        """The trained step (> 0) with the lowest domain perplexity so far (the earliest on a tie)."""
        trained = [e for e in self.evals if e.get("step", 0) > 0 and "domain_ppl" in e]
        return min(trained, key=lambda e: (e["domain_ppl"], e["step"]))["step"] if trained else None

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()

    def _stop_requested(self, args) -> bool:
        """Whether a stop was asked, agreed by all data-parallel ranks (each gets the signal at its own time)."""
        requested = bool(self.stop is not None and self.stop.requested)
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            import torch

            flag = torch.tensor([int(requested)], device=args.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            requested = bool(flag.item())
            if requested and self.stop is not None and self.stop.signum is None:
                self.stop.signum = 15  # another rank got SIGTERM (torchrun forwards it to all)
        return requested

    # -- the card ------------------------------------------------------------------------
    def final_card(self, seconds: float, step: int | None = None) -> dict:
        """The run card. ``seconds``: wall time of this process's segment; a resumed run adds the
        segments before it, so ``wall_seconds`` counts the whole run."""
        train_records = [r for r in read_appended_jsonl(self.metrics_path) if r.get("type") == "train"] if self.metrics_path.exists() else []
        last = train_records[-1] if train_records else {}
        best = min((e for e in self.evals if "domain_ppl" in e), key=lambda e: e["domain_ppl"], default=None)
        peak = max((r.get("gpu_peak_mb") or r.get("rss_mb") or 0 for r in train_records), default=None)
        end_step = step if step is not None else last.get("step")
        segments = [*self.previous_segments,
                    {"from_step": self.start_step, "to_step": end_step, "wall_seconds": round(seconds, 1)}]
        return {
            **self.card,
            "state": "checkpoint" if step is not None else "finished",
            "step": end_step,
            "tokens_seen": last.get("tokens"),
            "wall_seconds": round(sum(s["wall_seconds"] for s in segments), 1),
            "segments": segments,
            "train_seconds": last.get("train_seconds"),
            "tokens_per_s": last.get("tokens_per_s"),
            "peak_memory_mb": peak,
            "evaluations": self.evals,
            "best_checkpoint": f"checkpoint-{best['step']}" if best and best["step"] > 0 else None,
            "best_domain_ppl": best["domain_ppl"] if best else None,
            "stopped_for_forgetting": self.stopped_for_forgetting,
        }
