"""QLoRA continued pretraining on top of the transformers Trainer.

``train(config)`` packs the domain corpus into blocks, interleaves replay text, loads the base
in 4-bit NF4 (or full precision), adds LoRA adapters on all linear layers and trains for a
token budget. Callbacks keep ``metrics.jsonl`` and ``status.json`` live, evaluate domain and
general held-out perplexity every ``eval_every`` of training (a forgetting monitor), and write
a run card into every checkpoint so a run can be resumed or repeated from its folder alone.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench import runs, seed_everything
from workbench.artifacts import run_headline, write_manifest
from workbench.config import from_dict, to_dict
from workbench.corpus.readers import read_texts, resolve_training_data
from workbench.errors import WorkbenchError
from workbench.io import artifact_entries, check_output_folder, discard_replaced, read_json, set_aside, write_json
from workbench.runcard import make_run_card, now_iso
from workbench.runlock import folder_lock
from workbench.signals import Stopped, StopRequest, graceful_stop, signal_name
from workbench.training.config import TrainConfig, check_train_inputs, sample_path
from workbench.training.mixing import block_schedule
from workbench.training.packing import PackedBlocks, concat_blocks, pack_documents
from workbench.workspace import Workspace, mark_failed, read_status, write_status

RUN_CARD = "run.json"
METRICS = "metrics.jsonl"


@dataclass
class PreparedData:
    blocks: PackedBlocks  # domain blocks first, then replay blocks
    n_domain_blocks: int
    n_replay_blocks: int
    schedule: np.ndarray  # block index for every training slot
    domain_tokens: int
    replay_tokens: int


def tokenize_texts(tokenizer, texts: list[str], batch_size: int = 1000) -> list[list[int]]:
    """Batched fast-tokenizer call, without special tokens (EOS is added by packing)."""
    out: list[list[int]] = []
    for start in range(0, len(texts), batch_size):
        out.extend(tokenizer(texts[start : start + batch_size], add_special_tokens=False)["input_ids"])
    return out


def _read(path: str, what: str, text_field: str, text_unit: str = "auto") -> list[str]:
    p = sample_path("general_eval.jsonl") if path == "sample" else Path(path)
    if not p.exists():
        raise WorkbenchError(f"{what} file {p} does not exist.", f"check the path given for {what}.")
    texts = [t for t in read_texts(p, text_field, text_unit) if t.strip()]
    if not texts:
        raise WorkbenchError(f"{what} {p} holds no text.", f"give {what} a file with at least one non-empty document.")
    return texts


def prepare_data(config: TrainConfig, tokenizer) -> PreparedData:
    train_path, _ = resolve_training_data(config.data)
    texts = [t for t in read_texts(train_path, config.text_field, config.text_unit) if t.strip()]
    if not texts:
        raise WorkbenchError(f"training data {train_path} holds no documents.", "check the file or snapshot; it is empty.")
    domain = pack_documents(tokenize_texts(tokenizer, texts), config.block_size, tokenizer.eos_token_id, tokenizer.pad_token_id)
    parts = [domain]
    replay = None
    if config.replay_ratio > 0:
        replay_texts = _read(config.replay, "replay text (--replay)", config.text_field, config.text_unit)
        replay = pack_documents(
            tokenize_texts(tokenizer, replay_texts), config.block_size, tokenizer.eos_token_id, tokenizer.pad_token_id
        )
        parts.append(replay)
    per_step = config.micro_batch_size * config.grad_accum * _world_size()
    n_slots = max(per_step, (config.max_tokens // config.block_size) // per_step * per_step)
    schedule = block_schedule(
        domain.n_blocks, n_slots, config.seed, replay.n_blocks if replay else 0, config.replay_ratio
    )
    return PreparedData(
        blocks=concat_blocks(parts),
        n_domain_blocks=domain.n_blocks,
        n_replay_blocks=replay.n_blocks if replay else 0,
        schedule=schedule,
        domain_tokens=domain.real_tokens,
        replay_tokens=replay.real_tokens if replay else 0,
    )


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


class ScheduledBlocks:
    """A torch-style map dataset: item i is the block scheduled for training slot i."""

    def __init__(self, blocks: PackedBlocks, schedule: np.ndarray):
        self.blocks, self.schedule = blocks, schedule

    def __len__(self) -> int:
        return int(self.schedule.size)

    def __getitem__(self, i: int) -> dict:
        import torch

        b = int(self.schedule[i])
        return {
            "input_ids": torch.from_numpy(self.blocks.input_ids[b]),
            "position_ids": torch.from_numpy(self.blocks.position_ids[b]),
            "labels": torch.from_numpy(self.blocks.labels[b]),
        }


def collate_blocks(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


class HeldOutEvaluator:
    """Domain and general perplexity on fixed, capped samples of the held-out sets."""

    def __init__(self, tokenizer, sets: dict[str, list[str]], max_tokens: int, window: int, dequantize: str = "auto"):
        self.tokenizer, self.window, self.dequantize = tokenizer, window, dequantize
        self.sets = {name: _cap_texts(tokenizer, texts, max_tokens) for name, texts in sets.items() if texts}

    def __call__(self, model) -> dict[str, float]:
        from workbench.evaluation.perplexity import score_documents
        from workbench.models.load import dequantize_for_scoring

        # 'on': the frozen NF4 base dequantized for this evaluation only (forward swapped on the
        # instance, parameters untouched, restored before training goes on). 'auto' is off here: with
        # 4-bit layers kept unpacked the dense copy saves ~3% of a forward's CPU time, less than
        # making it costs per evaluation (BENCHMARKS.md, "Scoring through a dequantized base")
        dense = dequantize_for_scoring(model, "off" if self.dequantize == "auto" else self.dequantize)
        try:
            result = {}
            for name, texts in self.sets.items():
                score = score_documents(model, self.tokenizer, texts, window=self.window, progress=False)
                result[f"{name}_ppl"] = score.token_ppl
                result[f"{name}_eval_tokens"] = score.tokens
        finally:
            if dense is not None:
                dense.restore()
        result["dequantized"] = dense is not None
        return result


def _cap_texts(tokenizer, texts: list[str], max_tokens: int, min_piece: int = 64) -> list[str]:
    """A fixed sample of about ``max_tokens`` tokens that represents the whole held-out set.

    Taking the first documents made the curves users watch describe a few documents only (and
    disagree with the final comparison). Instead the budget is spread over documents evenly spaced
    through the set (at most ``max_tokens // min_piece`` of them): shorter documents are kept whole,
    the others share the rest equally, each contributing a contiguous span from its middle.
    """
    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    if sum(map(len, encoded)) <= max_tokens:
        return list(texts)
    n_docs = max(1, min(len(texts), max_tokens // min_piece))
    if n_docs == 1:
        chosen = [len(texts) // 2]
    else:
        chosen = sorted({round(i * (len(texts) - 1) / (n_docs - 1)) for i in range(n_docs)})
    budget, alloc = max_tokens, {}
    remaining = sorted(chosen, key=lambda i: len(encoded[i]))
    while remaining:  # water-filling: whole short documents first, equal shares of the rest
        share = budget // len(remaining)
        if len(encoded[remaining[0]]) <= share:
            i = remaining.pop(0)
            alloc[i] = len(encoded[i])
            budget -= alloc[i]
        else:
            alloc.update({i: share for i in remaining})
            break
    pieces = []
    for i in chosen:
        ids, k = encoded[i], alloc[i]
        if k == len(ids):
            pieces.append(texts[i])
        elif k >= 16:
            start = (len(ids) - k) // 2
            pieces.append(tokenizer.decode(ids[start:start + k]))
    return pieces


def default_eval_sets(config: TrainConfig) -> dict[str, list[str]]:
    from workbench.corpus.readers import resolve_eval_sets

    domain, general = resolve_eval_sets(config.data, config.domain_eval, config.general_eval)
    return {
        "domain": _read(domain, "domain evaluation text", config.text_field, config.text_unit),
        "general": _read(general, "general evaluation text", config.text_field, config.text_unit),
    }


def run_dir_for(config: TrainConfig, workspace: Workspace) -> Path:
    return workspace.folder_for("runs", config)  # one naming for every surface (CLI, jobs, app)


latest_checkpoint = runs.latest_checkpoint  # the run layout lives in workbench.runs


def train(
    config: TrainConfig | None = None,
    workspace: Workspace | None = None,
    resume: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
) -> Path:
    """Run (or resume) QLoRA continued pretraining. Returns the run folder.

    Args:
        config: the run's settings; ignored when resuming (the run's own config is used).
        resume: a run folder to continue from its last checkpoint.
        overwrite: replace an existing run folder of the same name.
        on_progress: receives :class:`workbench.progress.ProgressEvent` (steps trained).
    """
    workspace = workspace or Workspace.at()
    checkpoint, replaced = None, None
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / RUN_CARD).exists():
            raise WorkbenchError(f"{run_dir} is not a run folder (no {RUN_CARD}).", "pass the folder of an earlier run.")
        if finished_run_note(run_dir):
            return run_dir  # nothing to do, and nothing is rewritten
    else:
        config = config or TrainConfig()
        check_train_inputs(config)
        run_dir = run_dir_for(config, workspace)
    # one process per run folder: a second train/resume into it stops here with the owner's pid
    with folder_lock(run_dir, "train"):
        if resume is not None:
            config = from_dict(TrainConfig, read_json(run_dir / RUN_CARD)["config"])
            checkpoint = latest_checkpoint(run_dir)
            if checkpoint is None:
                raise WorkbenchError(f"run {run_dir} has no checkpoint to resume from.", "start it again without --resume.")
        else:
            if run_dir.exists() and artifact_entries(run_dir) and not overwrite:  # a job's status/log alone is no run yet
                raise WorkbenchError(
                    f"run folder {run_dir} already exists.",
                    f"resume it with --resume {run_dir}, choose another --out/--name, or pass --overwrite.",
                )
            check_output_folder(run_dir, overwrite)  # never a folder of the user's files; writable
            # the earlier run is kept beside the new one until the new one finishes
            replaced = set_aside(run_dir) if overwrite else None
            run_dir.mkdir(parents=True, exist_ok=True)
        with graceful_stop() as stop:
            try:
                result = _train(config, run_dir, checkpoint, progress, on_progress, stop)
            except KeyboardInterrupt as exc:  # SIGINT/SIGTERM (Stopped) or a plain Ctrl+C elsewhere
                raise _record_stop(run_dir, exc) from None
            except BaseException as exc:
                mark_failed(run_dir, exc)
                raise
        if (read_status(run_dir) or {}).get("state") == "finished":
            discard_replaced(replaced)
        return result


def finished_run_note(run_dir: str | os.PathLike) -> str | None:
    """The line to show when ``run_dir`` is a finished run (``--resume`` then changes nothing), else None."""
    run_dir = Path(run_dir)
    try:
        card = read_json(run_dir / RUN_CARD)
    except Exception:  # noqa: BLE001 - no card or a broken one: not finished
        return None
    if card.get("state") != "finished" or not (run_dir / "adapter").is_dir():
        return None
    return (f"run {run_dir} is already finished (step {card.get('step')} of {card.get('steps')}); nothing to resume, "
            f"nothing changed. Its adapter: {run_dir / 'adapter'}")


def _record_stop(run_dir: Path, exc: KeyboardInterrupt) -> Stopped:
    """Mark the run stopped (status.json, run.json, artifact.json) and return the exception to raise:
    one line saying where it stopped and how to resume."""
    signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
    checkpoint = latest_checkpoint(run_dir)
    step = int(checkpoint.name.split("-")[-1]) if checkpoint else None
    if step is not None:
        message = f"stopped at step {step}; resume with: workbench train --resume {run_dir}"
    else:
        message = f"stopped before the first checkpoint; nothing to resume: start it again (workbench train --out {run_dir} --overwrite)"
    if int(os.environ.get("RANK", "0")) == 0:
        if (run_dir / RUN_CARD).exists():
            card = read_json(run_dir / RUN_CARD)
            if checkpoint is not None and (checkpoint / RUN_CARD).exists():
                card = read_json(checkpoint / RUN_CARD)  # the stop checkpoint's card: step, evaluations, wall time
            card = {**card, "state": "stopped", "resume_step": step}
            write_json(run_dir / RUN_CARD, card)
            write_manifest(run_dir, "run", card=card, state="stopped", complete=False, created=card.get("created"))
        write_status(run_dir, "stopped", phase="stopped", step=step, signal=signal_name(signum), message=message)
    return Stopped(signum, message)


def _train(
    config: TrainConfig, run_dir: Path, checkpoint: Path | None, progress: bool, on_progress=None,
    stop: StopRequest | None = None,
) -> Path:
    import torch
    from transformers import TrainingArguments

    from workbench.models.load import compute_dtype, default_device, load_model, resolve_model
    from workbench.training.callbacks import WorkbenchCallback
    from workbench.training.defaults import resolve_learning_rate

    started = time.time()
    write_status(run_dir, "running", phase="preparing", started=now_iso())
    seed_everything(config.seed)
    resolved = resolve_model(config.model)
    device = default_device()
    model, tokenizer, _ = load_model(resolved, quant=config.quant, device=device)
    config, lr_reason = resolve_learning_rate(config, model.config)  # null: scaled to the model's size
    max_ctx = getattr(model.config, "max_position_embeddings", None)
    if max_ctx and config.block_size > max_ctx:
        raise WorkbenchError(
            f"block_size {config.block_size} is larger than the model's context ({max_ctx} tokens).",
            f"set block_size to {max_ctx} or less.",
        )
    # With a KV cache present, transformers ignores restarting position ids: no cache in training,
    # so packed documents get a block-diagonal mask and never attend to each other.
    model.config.use_cache = False
    new_token_ids: list[int] = []
    if config.new_tokens:
        from workbench.io import read_glossary
        from workbench.training.embeddings import add_new_tokens, select_new_tokens

        terms = select_new_tokens(tokenizer, read_glossary(config.new_tokens), limit=config.new_tokens_max)
        new_token_ids = add_new_tokens(model, tokenizer, terms)
    data = prepare_data(config, tokenizer)
    n_steps = len(data.schedule) // (config.micro_batch_size * config.grad_accum * _world_size())
    eval_steps = config.eval_steps(n_steps)
    eval_tokens = config.eval_tokens_per_set(n_steps)
    evaluator = HeldOutEvaluator(tokenizer, default_eval_sets(config), eval_tokens, config.eval_window, config.dequantize_scoring)
    model = _add_lora(model, config, device, new_token_ids)
    warmup_steps = config.warmup_steps(n_steps)
    dtype = compute_dtype(device)
    from workbench.models.runtime import resolve_runtime

    # one decision for the trainer and the plan: checkpointing, optimizer, chunked loss
    runtime = resolve_runtime(device, config.quant, config.gradient_checkpointing, "auto", config.chunked_loss,
                              config.train_embeddings, getattr(model.config, "model_type", None))
    checkpointing = runtime.checkpointing
    args = TrainingArguments(
        output_dir=str(run_dir / "checkpoints"),
        max_steps=n_steps,
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=warmup_steps,  # the schedule starts warm-up above 0 (training/schedule.py)
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        logging_steps=1,
        save_strategy="steps",
        save_steps=eval_steps,
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        optim=runtime.optimizer,
        bf16=device == "cuda" and dtype == torch.bfloat16,
        fp16=device == "cuda" and dtype == torch.float16,
        use_cpu=device == "cpu",
        disable_tqdm=True,
        remove_unused_columns=False,
        train_sampling_strategy="sequential",
        dataloader_num_workers=0,
        gradient_checkpointing=checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
    )
    base_card = make_run_card(
        "run",
        config,
        seed=config.seed,
        inputs={"data": resolve_training_data(config.data)[0], "replay": None if not config.replay or config.replay == "sample" else config.replay},
        model={"spec": config.model, "path": str(resolved.path), "weights_sha256": _weights_hash(resolved.path)},
        data={
            "domain_tokens": data.domain_tokens,
            "replay_tokens": data.replay_tokens,
            "domain_blocks": data.n_domain_blocks,
            "replay_blocks": data.n_replay_blocks,
            "packing_efficiency": data.blocks.efficiency,
            "train_slots": int(len(data.schedule)),
            "epochs": len(data.schedule) / max(1, data.n_domain_blocks + data.n_replay_blocks),
            "new_tokens": len(new_token_ids),
            "vocab_size": len(tokenizer),
        },
        steps=n_steps,
        eval_steps=eval_steps,
        resolved={**_resolved(config, n_steps, warmup_steps, eval_tokens), "learning_rate": config.learning_rate,
                  "learning_rate_reason": lr_reason},
        tokens_per_step=config.tokens_per_step * _world_size(),
        runtime=runtime.to_dict(),
    )
    rank_zero = int(os.environ.get("RANK", "0")) == 0
    if checkpoint is None and rank_zero:
        write_json(run_dir / RUN_CARD, {**base_card, "state": "running"})
    if rank_zero:
        write_manifest(run_dir, "run", card=base_card, state="running", complete=False)
    # the segments before this one (a resumed run's wall time counts the whole run)
    previous = read_json(checkpoint / RUN_CARD) if checkpoint and (checkpoint / RUN_CARD).exists() else {}
    callback = WorkbenchCallback(
        run_dir=run_dir,
        card=base_card,
        evaluator=evaluator,
        tokens_per_step=config.tokens_per_step * _world_size(),
        eval_steps=eval_steps,
        progress=progress,
        started=started,
        resumed=checkpoint is not None,
        forgetting_threshold_pct=config.forgetting_threshold_pct,
        stop_on_forgetting=config.stop_on_forgetting,
        on_progress=on_progress,
        keep_checkpoints=config.keep_checkpoints,
        stop=stop,
        segments=previous.get("segments") or (
            [{"from_step": 0, "to_step": previous["step"], "wall_seconds": previous["wall_seconds"]}]
            if previous.get("wall_seconds") is not None and previous.get("step") is not None else []
        ),
    )
    trainer = _GroupedLRTrainer(
        embedding_lr_ratio=config.embedding_lr_ratio,
        chunked_loss=runtime.chunked_loss,
        model=model,
        args=args,
        train_dataset=ScheduledBlocks(data.blocks, data.schedule),
        data_collator=collate_blocks,
        callbacks=[callback],
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)  # our callback reports; no raw dict prints
    trainer.remove_callback(ProgressCallback)
    write_status(run_dir, "running", phase="training", total_steps=n_steps)
    if stop is not None:
        stop.deferred = True  # from here a first SIGINT/SIGTERM ends the step, checkpoints, then stops
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except torch.OutOfMemoryError:
        smaller = max(1, config.micro_batch_size // 2)
        raise WorkbenchError(
            f"out of GPU memory at micro_batch_size={config.micro_batch_size}, block_size={config.block_size}.",
            f"retry with --set micro_batch_size={smaller} --set grad_accum={config.grad_accum * 2} (same effective "
            f"batch), or --set block_size={config.block_size // 2}, or --set gradient_checkpointing=on; "
            f"checkpoints already saved are kept (resume with --resume {run_dir}).",
        ) from None
    if stop is not None and stop.requested and trainer.state.global_step < n_steps:
        raise stop.stopped()  # train() records it: status, run card, the resume line
    if _world_size() > 1:
        _record_rank(run_dir, model, trainer.state.global_step)
    if trainer.is_world_process_zero():
        # new-token rows live in the adapter as trainable tokens: no full embedding copy needed
        model.save_pretrained(run_dir / "adapter", save_embedding_layers=False)
        tokenizer.save_pretrained(run_dir / "adapter")
        final = callback.final_card(seconds=time.time() - started)
        plan = _plan_for(config, resolved.path, device)
        if plan is not None:
            from workbench.training.plan import compare_with_measured

            # the estimate beside what the run measured, so users see how good plans are here
            final["plan"] = plan.to_dict()
            final["plan_vs_measured"] = compare_with_measured(plan, final)
        write_json(run_dir / RUN_CARD, final)
        write_manifest(run_dir, "run", card=final, headline=run_headline(run_dir, final, None), created=base_card["created"])
        write_status(run_dir, "finished", phase="done", step=n_steps, total_steps=n_steps)
    return run_dir


def _grouped_trainer_class():
    import torch
    from transformers import Trainer

    from workbench.training.loss import chunked_causal_lm_loss, fused_head, hidden_states_as_logits

    class GroupedLRTrainer(Trainer):
        """Trainer whose optimizer gives embeddings/new-token rows their own, smaller learning rate,
        and whose loss skips the full logits tensor where the model allows (``chunked_loss``)."""

        def __init__(self, *args, embedding_lr_ratio: float = 0.1, chunked_loss: bool = True, **kwargs):
            self.embedding_lr_ratio = embedding_lr_ratio
            self.chunked_loss = chunked_loss
            super().__init__(*args, **kwargs)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            usable = (self.chunked_loss and "labels" in inputs and not return_outputs and self.args.n_gpu <= 1
                      and self.compute_loss_func is None and self.label_smoother is None)
            head = fused_head(model) if usable else None
            if head is None:  # nn.DataParallel (several GPUs, one process) and custom losses: the model's own
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs = dict(inputs)
            labels = inputs.pop("labels")
            with hidden_states_as_logits(model):
                hidden = model(**inputs).logits
            dtype = torch.bfloat16 if self.args.bf16 else torch.float16 if self.args.fp16 else None
            loss = chunked_causal_lm_loss(hidden, head.weight, labels, num_items_in_batch, compute_dtype=dtype)
            if self.args.average_tokens_across_devices and self.model_accepts_loss_kwargs and num_items_in_batch is not None:
                tp_size = self.get_tp_size() if hasattr(self, "get_tp_size") else 1
                loss = loss * (self.accelerator.num_processes // tp_size)  # as Trainer.compute_loss scales the model's
            return loss

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None:  # the named schedule, with no step at learning rate 0
                from workbench.training.schedule import warmup_scheduler

                self.lr_scheduler = warmup_scheduler(
                    self.args.lr_scheduler_type, optimizer or self.optimizer, self.args.get_warmup_steps(num_training_steps),
                    num_training_steps, self.args.lr_scheduler_kwargs,
                )
                self._created_lr_scheduler = True
            return self.lr_scheduler

        def create_optimizer(self, model=None):
            if self.optimizer is None:
                model = model or self.model
                cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, model)
                kwargs.pop("lr", None)
                groups = embedding_param_groups(model, self.args.learning_rate, self.embedding_lr_ratio, self.args.weight_decay)
                self.optimizer = cls(groups, lr=self.args.learning_rate, **kwargs)
            return self.optimizer

    return GroupedLRTrainer


def _GroupedLRTrainer(**kwargs):
    return _grouped_trainer_class()(**kwargs)


def _resolved(config: TrainConfig, n_steps: int, warmup_steps: int, eval_tokens: int) -> dict:
    """What the config resolved to for this run (recorded in the run card)."""
    from workbench.training.schedule import first_step_lr

    return {
        "warmup_steps": warmup_steps,
        "first_step_lr": first_step_lr(config.learning_rate, warmup_steps),
        "evaluations": config.n_evaluations(n_steps),
        "eval_tokens_per_set": eval_tokens,
        "eval_tokens_sized_from_budget": config.eval_max_tokens is None,
        "keep_checkpoints": config.keep_checkpoints,
    }


def _plan_for(config: TrainConfig, model_path: Path, device: str):
    """The pre-launch estimate for this run on this hardware, or None for an unknown GPU."""
    import torch

    from workbench.training.plan import GPUS, PlanConfig, estimate

    if device == "cpu":
        gpu = "cpu"
    else:
        name = torch.cuda.get_device_name(0).lower().replace(" ", "")
        gpu = next((g for g in GPUS if g != "cpu" and g.lower().replace(" ", "").replace("-", "") in name.replace("-", "")), None)
        if gpu is None:
            return None
    try:
        return estimate(model_path, PlanConfig.from_train_config(config, gpu=gpu))
    except WorkbenchError:
        return None


def trainable_state_hash(model) -> str:
    """sha256 over the trainable (adapter) parameters, in name order: equal across DDP ranks."""
    import hashlib

    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        if param.requires_grad:
            digest.update(name.encode())
            digest.update(param.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def _record_rank(run_dir: Path, model, step: int) -> None:
    """Each data-parallel rank records what it ended with, so users (and tests) can check that
    all ranks trained one shared adapter."""
    rank = int(os.environ.get("RANK", "0"))
    write_json(run_dir / "ranks" / f"rank-{rank}.json", {
        "rank": rank, "world_size": _world_size(), "step": step, "adapter_sha256": trainable_state_hash(model),
        "pid": os.getpid(),
    })


def _weights_hash(path: Path) -> str | None:
    return runs.weights_sha256(path)


def _add_lora(model, config: TrainConfig, device: str, new_token_ids: list[int] | None = None):
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if config.quant == "nf4" and config.upcast_unquantized:
        # casts embeddings, lm_head and norms to fp32; checkpointing is set by TrainingArguments
        # (non-reentrant, so no input grads are needed; get_peft_model freezes the base)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    targets = config.lora.target_modules
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=targets if targets == "all-linear" else [t.strip() for t in targets.split(",")],
        task_type="CAUSAL_LM",
        bias="none",
    )
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    if config.train_embeddings:
        # full trainable copies; the adapter grows by the size of these matrices
        lora.modules_to_save = ["embed_tokens"] if tied else ["embed_tokens", "lm_head"]
    elif new_token_ids:
        # only the new rows train (and are saved): a small adapter even with a big vocabulary
        lora.trainable_token_indices = {"embed_tokens": list(new_token_ids)}
        if not tied:
            lora.trainable_token_indices["lm_head"] = list(new_token_ids)
    model = get_peft_model(model, lora)
    for param in model.parameters():  # trained copies (modules_to_save) of a bf16 base: train in fp32
        if param.requires_grad and param.is_floating_point() and param.dtype != torch.float32:
            param.data = param.data.float()
    return model


EMBEDDING_PARAM_MARKERS = ("embed_tokens", "lm_head", "trainable_tokens")


def embedding_param_groups(model, learning_rate: float, ratio: float, weight_decay: float) -> list[dict]:
    """LoRA parameters at ``learning_rate``; embedding/lm_head copies and new-token rows at
    ``learning_rate * ratio`` (embeddings move far with a LoRA-sized rate)."""
    lora, embed = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (embed if any(m in name for m in EMBEDDING_PARAM_MARKERS) else lora).append(param)
    groups = [{"params": lora, "lr": learning_rate, "weight_decay": weight_decay}]
    if embed:
        groups.append({"params": embed, "lr": learning_rate * ratio, "weight_decay": 0.0})
    return groups


def load_run_config(run_dir: str | os.PathLike) -> TrainConfig:
    return from_dict(TrainConfig, read_json(Path(run_dir) / RUN_CARD)["config"])


__all__ = ["train", "prepare_data", "TrainConfig", "load_run_config", "to_dict"]
