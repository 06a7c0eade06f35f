"""The transformers ``Trainer`` subclass the workbench trains with.

Three changes to the stock Trainer: embeddings and new-token rows get their own, smaller learning
rate (:func:`workbench.training.lora.embedding_param_groups`), the loss skips the full logits
tensor where the model allows (``chunked_loss``), and the named schedule never spends a step at
learning rate 0. Checkpoints are saved only where the disk has room for them, and a disk that
fills up during a save ends the run with one line (the partial checkpoint removed, the earlier
ones intact). The class is built inside a function so importing this module never imports
transformers.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.runs import CHECKPOINT_MANIFEST, checkpoint_folders

CHECKPOINT_MARGIN = 1.25  # the next checkpoint is the size of the last one; a little more for safety


def checkpoint_bytes_needed(checkpoints: Path, trainable_bytes: int) -> int:
    """Free bytes a checkpoint needs: the last checkpoint's size, or before the first one the
    trainable weights three times (adapter, AdamW's two moments), with a margin."""
    folders = [path for _, path in checkpoint_folders(checkpoints.parent)]
    last = sum(p.stat().st_size for p in folders[-1].rglob("*") if p.is_file()) if folders else 3 * trainable_bytes
    return int(last * CHECKPOINT_MARGIN)


def disk_full_error(folder: Path, needed: int, free: int | None) -> WorkbenchError:
    """The one line for a disk too full to save ``folder``."""
    have = f"{_human(free)} free" if free is not None else "the disk filled up while saving"
    return WorkbenchError(
        f"disk full: checkpoint {folder} needs about {_human(needed)} and {have} there.",
        f"free at least {_human(needed)} on that disk (or move the run to a larger one), then resume the run "
        f"{folder.parent.parent}; its earlier checkpoints are intact.",
    )


def free_bytes(folder: Path) -> int:
    """Free bytes on the disk holding ``folder`` (or its nearest existing parent)."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return shutil.disk_usage(existing).free


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC, however the writer reports it (torch.save: 'file write failed'; safetensors: os error 28)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return "No space left on device" in text or "os error 28" in text or "file write failed" in text


def grouped_trainer_class():
    """The ``GroupedLRTrainer`` class (transformers imported here, on first use)."""
    import torch
    from transformers import Trainer

    from workbench.models.heads import fused_head, hidden_states_as_logits
    from workbench.training.lora import embedding_param_groups
    from workbench.training.loss import chunked_causal_lm_loss

    class GroupedLRTrainer(Trainer):
        """Trainer whose optimizer gives embeddings/new-token rows their own, smaller learning rate,
        and whose loss skips the full logits tensor where the model allows (``chunked_loss``)."""

        def __init__(self, *args, embedding_lr_ratio: float = 0.1, chunked_loss: bool = True,
                     lr_multipliers=None, **kwargs):
            self.embedding_lr_ratio = embedding_lr_ratio
            self.lr_multipliers = lr_multipliers  # a staged curriculum's learning rate per step, else None
            self.chunked_loss = chunked_loss
            super().__init__(*args, **kwargs)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # a sharded head's weight is whole only inside its own forward: the model's loss there
            usable = (self.chunked_loss and "labels" in inputs and not return_outputs and self.args.n_gpu <= 1
                      and not self.is_fsdp_enabled
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

        def create_accelerator_and_postprocess(self):
            super().create_accelerator_and_postprocess()
            from workbench.training.fsdp import enable_fsdp_on_cpu

            enable_fsdp_on_cpu(self)  # CPU ranks (gloo) shard as GPUs do

        def _save_checkpoint(self, model, trial):
            folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
            trainable = sum(p.numel() * p.element_size() for p in self.model.parameters() if p.requires_grad)
            needed = checkpoint_bytes_needed(folder.parent, trainable)
            if self.args.should_save:
                free = free_bytes(folder.parent)
                if free < needed:
                    raise disk_full_error(folder, needed, free)
                (folder / CHECKPOINT_MANIFEST).unlink(missing_ok=True)  # one left by an earlier save of this step
            try:
                super()._save_checkpoint(model, trial)
            except (OSError, RuntimeError) as exc:
                if not _disk_full(exc):
                    raise
                if self.args.should_save:
                    shutil.rmtree(folder, ignore_errors=True)  # half a checkpoint: resume uses the one before
                raise disk_full_error(folder, needed, None) from None

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None and self.lr_multipliers is not None:  # the stages' own shapes
                from workbench.training.schedule import multiplier_scheduler

                self.lr_scheduler = multiplier_scheduler(optimizer or self.optimizer, self.lr_multipliers)
                self._created_lr_scheduler = True
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


def grouped_lr_trainer(**kwargs):
    """A ``GroupedLRTrainer`` built with the Trainer's keyword arguments plus ``embedding_lr_ratio``,
    ``chunked_loss`` and ``lr_multipliers`` (a learning-rate multiple per step, replacing the named schedule)."""
    return grouped_trainer_class()(**kwargs)
