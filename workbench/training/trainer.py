"""QLoRA continued pretraining on top of the transformers Trainer: the orchestration.

``train(config)`` packs the domain corpus into blocks, interleaves replay text, loads the base
in 4-bit NF4 (or full precision), adds LoRA adapters on all linear layers and trains for a
token budget. Callbacks keep ``metrics.jsonl`` and ``status.json`` live, evaluate domain and
general held-out perplexity every ``eval_every`` of training (a forgetting monitor), and write
a run card into every checkpoint so a run can be resumed or repeated from its folder alone.

This module runs a run: the folder, its lock, stop and failure records, the run card and the
order of the steps. The steps live beside it: data preparation in :mod:`.data`, the adapter in
:mod:`.lora`, the Trainer subclass in :mod:`.hf_trainer`, held-out scoring in :mod:`.heldout`
(with a scorer it receives: ``workbench.workflows.train`` hands it evaluation's perplexity, so
training never reaches the evaluation stage).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path

from workbench import runcard, runs, seed_everything
from workbench.artifacts import run_headline, write_manifest
from workbench.config import flatten, from_dict, to_dict
from workbench.documents.texts import resolve_training_data
from workbench.errors import WorkbenchError
from workbench.io import (
    append_jsonl,
    artifact_entries,
    check_output_folder,
    discard_replaced,
    read_json,
    set_aside,
    write_json,
    write_jsonl,
)
from workbench.runcard import make_run_card, now_iso
from workbench.runlock import folder_lock
from workbench.status import mark_failed, read_status, write_status
from workbench.stopping import Stopped, StopRequest, graceful_stop, signal_name
from workbench.training.config import TrainConfig, apply_resume_changes, check_train_inputs, replay_file, synthetic_file
from workbench.training.curriculum import continued_adapter, curriculum_record, load_continued_adapter, lr_multipliers
from workbench.training.data import ScheduledBlocks, collate_blocks, default_eval_sets, prepare_data, world_size
from workbench.training.fsdp import (
    fsdp_config,
    full_trainable_state,
    is_sharded,
    quant_storage_dtype,
    save_adapter,
    state_hash,
    write_accelerate_config,
)
from workbench.training.heldout import HeldOutEvaluator, Scorer
from workbench.training.hf_trainer import grouped_lr_trainer
from workbench.training.lora import add_lora
from workbench.workspace import Workspace

RUN_CARD = "run.json"
METRICS = "metrics.jsonl"


def run_dir_for(config: TrainConfig, workspace: Workspace) -> Path:
    return workspace.folder_for("runs", config)  # one naming for every surface (CLI, jobs, app)



def train(
    config: TrainConfig | None = None,
    workspace: Workspace | None = None,
    resume: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
    scorer: Scorer | None = None,
    changes: dict | None = None,
    allow_changed_data: bool = False,
) -> Path:
    """Run (or resume) QLoRA continued pretraining. Returns the run folder.

    Args:
        config: the run's settings; ignored when resuming (the run's own config is used).
        resume: a run folder to continue from its newest intact checkpoint (a damaged newer one is
            passed over, with a notice).
        overwrite: replace an existing run folder of the same name.
        on_progress: receives :class:`workbench.progress.ProgressEvent` (steps trained).
        scorer: scores the held-out samples during training (:class:`.heldout.Scorer`); required
            unless in-training evaluation is off (``eval_every: 0``). ``workbench.workflows.train``
            passes evaluation's sliding-window perplexity.
        changes: with ``resume``, settings to change as ``{field: value}`` (dotted for nested keys,
            ``lora.r``): those a resumed run can take (``RESUMABLE_FIELDS``, a larger ``max_tokens``)
            apply and are recorded in run.json; any other change is refused, naming it.
        allow_changed_data: with ``resume``, continue although the training data changed since the
            run started (both hashes are recorded in run.json); else that is refused.
    """
    workspace = workspace or Workspace.at()
    checkpoint, replaced, resumed = None, None, None
    if resume is not None:
        run_dir = Path(resume)
        card = runs.read_run_card(run_dir)  # a user error naming the folder when it is no run
        if finished_run_note(run_dir):
            changed = config_changes(card["config"], {**flatten(card["config"]), **flatten(changes or {})})
            if changed:
                raise WorkbenchError(
                    f"run {run_dir} is finished; {', '.join(sorted(changed))} cannot change it.",
                    "start a new run from its settings with the new values.",
                )
            return run_dir  # nothing to do, and nothing is rewritten
    else:
        config = config or TrainConfig()
        check_train_inputs(config)
        check_processes(config)
        run_dir = run_dir_for(config, workspace)
    # one process per run folder: a second train/resume into it stops here with the owner's pid
    with folder_lock(run_dir, "train"):
        if resume is not None:
            resumed = resume_plan(run_dir, changes, allow_changed_data)
            config, checkpoint = resumed.config, resumed.checkpoint
            _start_resumed(run_dir, resumed)
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
                result = _train(config, run_dir, checkpoint, progress, on_progress, stop, scorer,
                                resumed.card if resumed else None, resumed.notices if resumed else None)
            except KeyboardInterrupt as exc:  # SIGINT/SIGTERM (Stopped) or a plain Ctrl+C elsewhere
                raise _record_stop(run_dir, exc) from None
            except BaseException as exc:
                mark_failed(run_dir, exc)
                raise
        if (read_status(run_dir) or {}).get("state") == "finished":
            discard_replaced(replaced)
        return result


@dataclasses.dataclass
class ResumePlan:
    """What a resume starts from: the checkpoint, the config it goes on with, what its run card adds
    (the changes applied, a change of data allowed) and the notices to show (damaged checkpoints passed over)."""

    checkpoint: Path
    config: TrainConfig
    card: dict
    notices: list[str]


def resume_plan(run_dir: str | os.PathLike, changes: dict | None = None, allow_changed_data: bool = False) -> ResumePlan:
    """Check a resume before any model loads: the newest intact checkpoint (newer damaged ones are
    passed over with a notice), the config it was saved with plus the changes that can apply (those
    asked for and any edit of run.json's config since), and the training data still the same.
    A user error, naming what is wrong, for anything that cannot go on."""
    run_dir = Path(run_dir)
    card = runs.read_run_card(run_dir)
    checkpoint, damaged = runs.intact_checkpoint(run_dir)
    if checkpoint is None:
        if damaged:
            path, why = damaged[0]
            raise WorkbenchError(
                f"run {run_dir} has no intact checkpoint to resume from ({path.name}: {why}).",
                f"start the run again (train into {run_dir} with overwrite).",
            )
        raise WorkbenchError(f"run {run_dir} has no checkpoint to resume from.", "start it again without --resume.")
    notices = [f"checkpoint {path} is damaged ({why}); resuming from {checkpoint.name} instead" for path, why in damaged]
    saved = read_json(checkpoint / RUN_CARD)
    saved_config = from_dict(TrainConfig, saved["config"])
    # an edit of run.json's config since the checkpoint counts as a change asked for
    requested = {**config_changes(saved["config"], card["config"]), **flatten(changes or {})}
    step = int(saved.get("step") or checkpoint.name.rsplit("-", 1)[-1])
    tokens_done = step * int(saved.get("tokens_per_step") or saved_config.tokens_per_step)
    config, applied = apply_resume_changes(saved_config, requested, tokens_done)
    check_train_inputs(config)
    check_processes(config, int(saved.get("processes") or 1), run_dir)
    extra = {"resume_changes": list(saved.get("resume_changes") or []),
             "data_changes": list(saved.get("data_changes") or [])}
    if applied:
        extra["resume_changes"].append({"at_step": step, "changes": applied})
    changed = _changed_inputs(saved.get("inputs") or {}, runcard.hash_inputs(_input_paths(config)))
    if changed and not allow_changed_data:
        what = "; ".join(f"{name} {c['path']}: sha256 {c['sha256_before'][:12]}... at the start, "
                         f"{(c['sha256_after'] or 'none')[:12]}... now" for name, c in changed.items())
        raise WorkbenchError(
            f"the training inputs changed since run {run_dir} started ({what}); resuming would train the "
            "checkpoint on other data.",
            "put the original data back, or continue on the new data with {field} (both hashes are recorded "
            "in run.json).",
            field="allow_changed_data",
        )
    extra["data_changes"] += [{"at_step": step, "input": name, **c} for name, c in changed.items()]
    return ResumePlan(checkpoint, config, {key: value for key, value in extra.items() if value}, notices)


def _start_resumed(run_dir: Path, plan: ResumePlan) -> None:
    """Say which damaged checkpoints were passed over, and keep run.json's config and history current,
    so a later resume (after a kill) starts from the same settings."""
    if int(os.environ.get("RANK", "0")) != 0:
        return
    for notice in plan.notices:
        print(f"warning: {notice}", file=sys.stderr)
    if plan.notices:
        append_jsonl(run_dir / METRICS, {"type": "warning", "step": int(plan.checkpoint.name.rsplit("-", 1)[-1]),
                                         "message": "; ".join(plan.notices), "time": now_iso()})
    card = read_json(run_dir / RUN_CARD)
    write_json(run_dir / RUN_CARD, {**card, "config": to_dict(plan.config), **plan.card})


def synthetic_card(config: TrainConfig, data) -> dict:
    """What the run card records of the synthetic text a run mixed: the share of training tokens it took, the
    cap, and the snapshot's record of its audit (verdict, whether a failed audit was overridden, sources)."""
    manifest_path = Path(config.data) / "manifest.json"
    provenance = (read_json(manifest_path).get("synthetic") or {}) if manifest_path.is_file() else {}
    return {
        "share": round(data.synthetic_share, 6),
        "max_share": config.synthetic.max_share,
        "tokens": data.synthetic_tokens,
        "blocks": data.n_synthetic_blocks,
        **{k: provenance.get(k) for k in ("audit", "passed", "forced", "reasons", "documents", "sources")},
    }


def config_changes(before: dict, after: dict) -> dict:
    """The settings that differ between two config dicts, as ``{dotted field: new value}``."""
    old, new = flatten(before), flatten(after)
    return {key: value for key, value in new.items() if old.get(key) != value}


def _input_paths(config: TrainConfig) -> dict:
    """The input files a run card hashes: every text the run trains on, the bundled replay text, synthetic text and the
    glossary the run renders text or new tokens from and the adapter a continued run starts from included."""
    knowledge = config.knowledge
    used = knowledge.glossary if knowledge.text_share > 0 or knowledge.new_tokens else None
    adapter = continued_adapter(config)
    return {"data": resolve_training_data(config.data)[0], "replay": replay_file(config),
            "synthetic": synthetic_file(config), **({"knowledge": Path(used)} if used else {}),
            **({"continued_adapter": adapter / "adapter_model.safetensors"} if adapter else {})}


KNOWLEDGE_TEXT = "knowledge.jsonl"  # the documents rendered from the glossary, as the run trained on them


def _knowledge_card(config: TrainConfig, data, run_dir: Path, new_tokens: int) -> dict | None:
    """What the run learned from its glossary (recorded in run.json and the manifest), and the rendered
    text written beside it as ``knowledge.jsonl``; None when the run uses no glossary knowledge."""
    from workbench.training.knowledge import knowledge_hash

    knowledge = config.knowledge
    if not (data.n_knowledge_blocks or knowledge.new_tokens or (config.new_tokens and new_tokens)):
        return None
    card = {"glossary": knowledge.glossary if (knowledge.text_share > 0 or knowledge.new_tokens) else None,
            "token_init": (knowledge.token_init if knowledge.new_tokens else "subtokens") if new_tokens else None,
            "new_tokens": new_tokens,
            "text_share": knowledge.text_share}
    if data.n_knowledge_blocks:
        n_slots = int(len(data.schedule))
        slots = int((data.schedule >= data.n_domain_blocks + data.n_replay_blocks + data.n_synthetic_blocks).sum())
        card.update({"documents": len(data.knowledge_texts), "tokens": data.knowledge_tokens,
                     "blocks": data.n_knowledge_blocks, "slots": slots, "slot_share": slots / max(1, n_slots),
                     "text_sha256": knowledge_hash(list(data.knowledge_texts)), "text_file": KNOWLEDGE_TEXT})
        if int(os.environ.get("RANK", "0")) == 0:
            write_jsonl(run_dir / KNOWLEDGE_TEXT,
                        [{"id": f"knowledge-{i}", "text": t, "source": "glossary"} for i, t in enumerate(data.knowledge_texts)])
    return card


def _changed_inputs(recorded: dict, current: dict) -> dict:
    """Inputs whose sha256 differs from the one recorded at the start: {name: path, before, after}."""
    changed = {}
    for name, entry in recorded.items():
        before = (entry or {}).get("sha256")
        after = (current.get(name) or {}).get("sha256")
        if before and before != after:
            changed[name] = {"path": (current.get(name) or entry).get("path"), "sha256_before": before, "sha256_after": after}
    return changed


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
    checkpoint, _ = runs.intact_checkpoint(run_dir)  # the one a resume would start from
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


def _required(scorer: Scorer | None, config: TrainConfig) -> Scorer | None:
    """The held-out scorer, which a run that evaluates while it trains cannot do without."""
    if scorer is None and config.eval_every > 0:
        raise TypeError("training evaluates held-out text every eval_every of the run and needs a scorer: "
                        "call workbench.workflows.train, or pass scorer=workbench.evaluation.perplexity.score_documents")
    return scorer


def _train(
    config: TrainConfig, run_dir: Path, checkpoint: Path | None, progress: bool, on_progress=None,
    stop: StopRequest | None = None, scorer: Scorer | None = None, resume_card: dict | None = None,
    notices: list[str] | None = None,
) -> Path:
    import torch
    from transformers import TrainingArguments

    from workbench.models.load import compute_dtype, default_device, load_model, resolve_model
    from workbench.training.callbacks import WorkbenchCallback
    from workbench.training.defaults import resolve_learning_rate

    started = time.time()
    write_status(run_dir, "running", phase="preparing", started=now_iso(),
                 **({"notice": "; ".join(notices)} if notices else {}))
    seed_everything(config.seed)
    resolved = resolve_model(config.model)
    device = default_device()
    storage = quant_storage_dtype(config.sharding, device) if config.quant == "nf4" else None
    model, tokenizer, _ = load_model(resolved, quant=config.quant, device=device, quant_storage=storage)
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
    base_tokenizer = None
    glossary = config.new_tokens or (config.knowledge.glossary if config.knowledge.new_tokens else None)
    if glossary:
        from workbench.documents.glossary import read_knowledge
        from workbench.training.embeddings import add_new_tokens, select_new_tokens
        from workbench.training.knowledge import definitions_by_term

        concepts = read_knowledge(glossary)
        terms = select_new_tokens(tokenizer, [c.term for c in concepts], limit=config.new_tokens_max)
        base_tokenizer = copy.deepcopy(tokenizer)  # the in-training base evaluation reads with it
        # new_tokens (a CSV of terms) keeps its sub-token mean; knowledge.new_tokens starts as knowledge.token_init says
        init = config.knowledge.token_init if config.knowledge.new_tokens else "subtokens"
        new_token_ids = add_new_tokens(model, tokenizer, terms, definitions_by_term(concepts), init)
    data = prepare_data(config, tokenizer)
    knowledge_card = _knowledge_card(config, data, run_dir, len(new_token_ids))
    n_steps = len(data.schedule) // (config.micro_batch_size * config.grad_accum * world_size())
    eval_steps = config.eval_steps(n_steps)
    eval_tokens = config.eval_tokens_per_set(n_steps)
    evaluator = HeldOutEvaluator(tokenizer, default_eval_sets(config), eval_tokens, config.eval_window,
                                 config.dequantize_scoring, scorer=_required(scorer, config),
                                 base_tokenizer=base_tokenizer if new_token_ids else None, sample=config.eval_sample)
    model = add_lora(model, config, device, new_token_ids)
    if config.curriculum.continue_from and checkpoint is None:  # a resume loads its checkpoint's weights instead
        load_continued_adapter(model, config)
    warmup_steps = config.warmup_steps(n_steps)
    curriculum = curriculum_record(config.curriculum, n_steps, config.tokens_per_step * world_size(),
                                   config.learning_rate)
    dtype = compute_dtype(device)
    from workbench.models.runtime import PRECISION_ENV, apply_threads, resolve_runtime

    # one decision for the trainer and the plan: checkpointing, optimizer, chunked loss, threads, CPU precision
    # (a resumed run keeps the precision it started with, so it goes on exactly as it would have). Training on
    # the CPU stays fp32 unless WORKBENCH_CPU_PRECISION asks for bf16 or auto: the one measurement of bf16
    # training (AMD EPYC with avx512_bf16) was no faster (0.76x, a loaded host; BENCHMARKS.md), and bf16
    # changes the adapter beyond the tolerance the loss tests hold fp32 to. Scoring uses bf16 where it can.
    runtime = resolve_runtime(device, config.quant, config.gradient_checkpointing, "auto", config.chunked_loss,
                              config.train_embeddings, getattr(model.config, "model_type", None),
                              precision=_started_precision(checkpoint) or os.environ.get(PRECISION_ENV) or "fp32")
    apply_threads(runtime.threads)
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
        # on the CPU: bf16 autocast where the CPU has bf16 matmuls (runtime.precision); the weights stay as loaded
        bf16=(device == "cuda" and dtype == torch.bfloat16) or (device == "cpu" and runtime.precision == "bf16"),
        fp16=device == "cuda" and dtype == torch.float16,
        use_cpu=device == "cpu",
        disable_tqdm=True,
        remove_unused_columns=False,
        train_sampling_strategy="sequential",
        dataloader_num_workers=runtime.dataloader_workers,
        gradient_checkpointing=checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
        fsdp=is_sharded(config.sharding) or None,
        fsdp_config=fsdp_config(config.sharding) or None,
    )
    base_card = make_run_card(
        "run",
        config,
        seed=config.seed,
        inputs=_input_paths(config),
        model={"spec": config.model, "path": str(resolved.path), "weights_sha256": runs.weights_sha256(resolved.path)},
        data={
            "domain_tokens": data.domain_tokens,
            "replay_tokens": data.replay_tokens,
            "domain_blocks": data.n_domain_blocks,
            "replay_blocks": data.n_replay_blocks,
            "packing_efficiency": data.blocks.efficiency,
            "train_slots": int(len(data.schedule)),
            "epochs": len(data.schedule) / max(1, data.n_domain_blocks + data.n_replay_blocks + data.n_synthetic_blocks),
            "synthetic_tokens": data.synthetic_tokens,
            "synthetic_blocks": data.n_synthetic_blocks,
            "new_tokens": len(new_token_ids),
            "vocab_size": len(tokenizer),
            **({"knowledge_tokens": data.knowledge_tokens, "knowledge_blocks": data.n_knowledge_blocks}
               if data.n_knowledge_blocks else {}),
        },
        **({"knowledge": knowledge_card} if knowledge_card else {}),
        steps=n_steps,
        eval_steps=eval_steps,
        resolved={**_resolved(config, n_steps, warmup_steps, eval_tokens), "learning_rate": config.learning_rate,
                  "learning_rate_reason": lr_reason},
        tokens_per_step=config.tokens_per_step * world_size(),
        processes=world_size(),
        **({"quant_storage": str(storage).removeprefix("torch.")} if storage is not None else {}),
        runtime=runtime.to_dict(),
        curriculum=curriculum,
        **({"synthetic": synthetic_card(config, data)} if data.n_synthetic_blocks else {}),
        **(resume_card or {}),
    )
    rank_zero = int(os.environ.get("RANK", "0")) == 0
    if checkpoint is None and rank_zero:
        write_json(run_dir / RUN_CARD, {**base_card, "state": "running"})
    if rank_zero:
        write_manifest(run_dir, "run", card=base_card, state="running", complete=False)
        if is_sharded(config.sharding):  # the same run launched by accelerate: accelerate launch --config_file it
            write_accelerate_config(run_dir, world_size(), config.sharding)
    # the segments before this one (a resumed run's wall time counts the whole run)
    previous = read_json(checkpoint / RUN_CARD) if checkpoint and (checkpoint / RUN_CARD).exists() else {}
    callback = WorkbenchCallback(
        run_dir=run_dir,
        card=base_card,
        evaluator=evaluator,
        tokens_per_step=config.tokens_per_step * world_size(),
        eval_steps=eval_steps,
        progress=progress,
        started=started,
        resumed=checkpoint is not None,
        forgetting_threshold_pct=config.forgetting_threshold_pct,
        stop_on_forgetting=config.stop_on_forgetting,
        on_progress=on_progress,
        keep_checkpoints=config.keep_checkpoints,
        stop=stop,
        sharded=is_sharded(config.sharding),
        segments=previous.get("segments") or (
            [{"from_step": 0, "to_step": previous["step"], "wall_seconds": previous["wall_seconds"]}]
            if previous.get("wall_seconds") is not None and previous.get("step") is not None else []
        ),
    )
    trainer = grouped_lr_trainer(
        embedding_lr_ratio=config.embedding_lr_ratio,
        chunked_loss=runtime.chunked_loss,
        lr_multipliers=lr_multipliers(config.curriculum.stages, n_steps) if config.curriculum.staged else None,
        model=model,
        args=args,
        train_dataset=ScheduledBlocks(data.blocks, data.schedule),
        data_collator=collate_blocks,
        callbacks=[callback],
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)  # our callback reports; no raw dict prints
    trainer.remove_callback(ProgressCallback)
    # a resumed run counts on from its checkpoint's step, never from 0
    write_status(run_dir, "running", phase="training", total_steps=n_steps,
                 step=int(checkpoint.name.split("-")[-1]) if checkpoint else 0)
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
    # a sharded adapter is gathered from every rank (a collective: all ranks take part)
    adapter_state = full_trainable_state(model) if world_size() > 1 or is_sharded(config.sharding) else None
    if world_size() > 1:
        _record_rank(run_dir, adapter_state, trainer.state.global_step)
    if is_sharded(config.sharding):
        save_adapter(model, run_dir / "adapter", trainer.is_world_process_zero(), state=adapter_state)
    if trainer.is_world_process_zero():
        if not is_sharded(config.sharding):
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


def _started_precision(checkpoint: Path | None) -> str | None:
    """The CPU precision a resumed run started with (fp32 for a run whose card does not say), None for a new run."""
    if checkpoint is None or not (checkpoint / RUN_CARD).exists():
        return None
    return ((read_json(checkpoint / RUN_CARD).get("runtime") or {}).get("precision")) or "fp32"


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


def _record_rank(run_dir: Path, adapter_state: dict, step: int) -> None:
    """Each data-parallel rank records what it ended with (its whole adapter, gathered from the shards
    when sharded), so users (and tests) can check that all ranks trained one shared adapter."""
    rank = int(os.environ.get("RANK", "0"))
    write_json(run_dir / "ranks" / f"rank-{rank}.json", {
        "rank": rank, "world_size": world_size(), "step": step, "adapter_sha256": state_hash(adapter_state),
        "pid": os.getpid(),
    })


def check_processes(config: TrainConfig, started_with: int | None = None, run_dir: Path | None = None) -> None:
    """A sharded run needs to be started as processes (torchrun, ``--gpus``), and a resumed run needs as many
    processes as it started with (the data order and the shards depend on them): user errors naming the fix."""
    launched = "LOCAL_RANK" in os.environ  # torchrun and accelerate launch set it, even for one process
    if is_sharded(config.sharding) and not launched:
        raise WorkbenchError(
            f"{{field}} is {config.sharding!r} but this is a single process, not a distributed launch.",
            "start the run with a number of GPUs (workbench train --gpus N, or torchrun), or set {field} to none.",
            field="sharding",
        )
    if started_with is not None and started_with != world_size():
        raise WorkbenchError(
            f"run {run_dir} started as {started_with} process(es) and is resumed as {world_size()}.",
            f"resume it with {started_with} GPU(s) (its data order and checkpoint shards depend on that).",
        )


def load_run_config(run_dir: str | os.PathLike) -> TrainConfig:
    return from_dict(TrainConfig, read_json(Path(run_dir) / RUN_CARD)["config"])


__all__ = ["train", "run_dir_for", "finished_run_note", "load_run_config", "RUN_CARD", "METRICS"]
