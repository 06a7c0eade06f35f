"""TrainConfig: every knob of a continued-pretraining run, with one-line docs and checks."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from workbench.config import apply_overrides, flatten, from_dict, load_yaml
from workbench.documents.difficulty import SIGNALS as DIFFICULTY_SIGNALS
from workbench.documents.readers import check_text_unit
from workbench.errors import WorkbenchError
from workbench.models.registry import DEFAULT_MODEL
from workbench.samples import SAMPLE_DATA, SAMPLE_REPLAY, sample_path


@dataclass
class LoraSettings:
    r: int = 16
    """LoRA rank."""
    alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    dropout: float = 0.05
    """Dropout on the LoRA input."""
    target_modules: str = "all-linear"
    """Which linear layers get adapters; 'all-linear' as QLoRA recommends, or a comma list."""

    def __post_init__(self) -> None:
        # checked here, before any run folder exists (peft would refuse them only after model loading)
        if not isinstance(self.r, int) or self.r < 1:
            raise WorkbenchError(f"{{field}} is {self.r!r}.", "use a LoRA rank of 1 or more, e.g. 16.", field="lora.r")
        if self.alpha <= 0:
            raise WorkbenchError(f"{{field}} is {self.alpha!r}.", "use a positive alpha, e.g. 32 (twice lora.r).",
                                 field="lora.alpha")
        if not 0.0 <= self.dropout < 1.0:
            raise WorkbenchError(f"{{field}} is {self.dropout!r}.", "use a share in [0, 1), e.g. 0.05.", field="lora.dropout")
        if not str(self.target_modules).strip():
            raise WorkbenchError("{field} is empty.", "use 'all-linear' or a comma list such as q_proj,v_proj.",
                                 field="lora.target_modules")


# -- data order and staged curricula (plans built by workbench/training/curriculum.py) ---------------
ORDERS = ("shuffled", "easy_to_hard", "stages")
LR_SHAPES = ("constant", "cosine", "linear")
SHARE_TOLERANCE = 1e-6  # token shares of the stages sum to 1 within this


@dataclass
class Stage:
    """One phase of a staged curriculum."""

    name: str = ""
    """What the stage is called in the run card, the curves and the plan; default ``stage N``."""
    tokens: float = 1.0
    """Share of the run's token budget this stage trains (the shares of all stages sum to 1)."""
    replay_ratio: float = 0.0
    """Share of this stage's blocks drawn from the replay text (0: domain text only)."""
    lr: Literal["constant", "cosine", "linear"] = "cosine"
    """Shape of the learning rate after the warm-up: constant, or a cosine or linear decay."""
    warmup: float = 0.0
    """Share of this stage's steps spent warming up (again) from near 0 to the stage's peak."""
    lr_scale: float = 1.0
    """The stage's peak learning rate as a multiple of the run's learning_rate."""
    min_lr_ratio: float = 0.0
    """Where a decay ends, as a share of the stage's peak."""

    def __post_init__(self) -> None:
        if not 0.0 < self.tokens <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.tokens!r}.", "give each stage a token share in (0, 1], e.g. 0.5.",
                                 field="curriculum.stages.tokens")
        if not 0.0 <= self.replay_ratio < 1.0:
            raise WorkbenchError(f"{{field}} is {self.replay_ratio!r}.", "use a share in [0, 1), e.g. 0.5.",
                                 field="curriculum.stages.replay_ratio")
        if self.lr not in LR_SHAPES:
            raise WorkbenchError(f"{{field}} is {self.lr!r}.", f"use one of: {', '.join(LR_SHAPES)}.",
                                 field="curriculum.stages.lr")
        if not 0.0 <= self.warmup < 1.0:
            raise WorkbenchError(f"{{field}} is {self.warmup!r}.", "use a share in [0, 1), e.g. 0.1.",
                                 field="curriculum.stages.warmup")
        if self.lr_scale <= 0:
            raise WorkbenchError(f"{{field}} is {self.lr_scale!r}.", "use a positive multiple, e.g. 1.0.",
                                 field="curriculum.stages.lr_scale")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.min_lr_ratio!r}.", "use a share in [0, 1], e.g. 0.1.",
                                 field="curriculum.stages.min_lr_ratio")


@dataclass
class CurriculumSettings:
    """The order a run sees its data in."""

    order: Literal["shuffled", "easy_to_hard", "stages"] = "shuffled"
    """'shuffled' (seeded random epochs, the control), 'easy_to_hard' by ``signal``, or 'stages' (``stages``)."""
    signal: Literal["compression", "mtld", "readability"] = "compression"
    """Difficulty signal of 'easy_to_hard': zlib compression ratio, lexical diversity (MTLD) or Flesch reading ease."""
    stages: list[Stage] = field(default_factory=list)
    """The phases of 'stages', in order (YAML: a list of mappings of Stage keys)."""
    continue_from: str | None = None
    """A finished run folder whose adapter this run starts from (same model and LoRA shape), to train it on
    with new stages: each stage's warm-up re-warms the learning rate, its shape decays it again."""

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise WorkbenchError(f"{{field}} is {self.order!r}.", f"use one of: {', '.join(ORDERS)}.",
                                 field="curriculum.order")
        if self.signal not in DIFFICULTY_SIGNALS:
            raise WorkbenchError(f"{{field}} is {self.signal!r}.", f"use one of: {', '.join(DIFFICULTY_SIGNALS)}.",
                                 field="curriculum.signal")
        if isinstance(self.stages, dict) or isinstance(self.stages, str):
            raise WorkbenchError("{field} is not a list of stages.",
                                 "write {field} as a YAML list of mappings (tokens, replay_ratio, lr, warmup...).",
                                 field="curriculum.stages")
        self.stages = [s if isinstance(s, Stage) else from_dict(Stage, s, prefix=f"curriculum.stages[{i}].")
                       for i, s in enumerate(self.stages or [])]
        for i, stage in enumerate(self.stages):
            stage.name = stage.name or f"stage {i + 1}"
        if self.order == "stages":
            if not self.stages:
                raise WorkbenchError("{field} is 'stages' but no stages are given.",
                                     "list the stages under curriculum.stages, or use order 'shuffled'.",
                                     field="curriculum.order")
            total = sum(s.tokens for s in self.stages)
            if abs(total - 1.0) > SHARE_TOLERANCE:
                raise WorkbenchError(
                    f"the token shares of {{field}} sum to {total:g}, not 1.",
                    "give the stages token shares that add up to 1 (e.g. 0.5, 0.3, 0.2).", field="curriculum.stages")
        elif self.stages:
            raise WorkbenchError(f"{{field}} lists stages but curriculum.order is {self.order!r}.",
                                 "set curriculum.order to 'stages', or remove the stages.", field="curriculum.stages")

    @property
    def staged(self) -> bool:
        return self.order == "stages"

    def max_replay_ratio(self) -> float:
        """The largest replay share of any stage (0 when not staged)."""
        return max((s.replay_ratio for s in self.stages), default=0.0) if self.staged else 0.0


def general_to_domain(warmup: float = 0.1) -> list[Stage]:
    """A three-stage plan: general-heavy replay decaying into domain text, then domain text alone, each
    stage re-warming its learning rate and decaying it again (used by the app's default and the benchmark)."""
    return [
        Stage(name="general-heavy", tokens=0.3, replay_ratio=0.5, lr="cosine", warmup=warmup, min_lr_ratio=0.1),
        Stage(name="mostly domain", tokens=0.4, replay_ratio=0.2, lr="cosine", warmup=warmup, min_lr_ratio=0.1),
        Stage(name="domain only", tokens=0.3, replay_ratio=0.0, lr="cosine", warmup=warmup, lr_scale=0.5),
    ]


@dataclass
class SyntheticMix:
    """How much of a run may be synthetic text: the audited ``synthetic.jsonl`` a snapshot carries."""

    max_share: float = 0.2
    """Highest share of training blocks drawn from the snapshot's synthetic documents; they take their
    natural share (their tokens over all training tokens) when it is lower; 0 leaves them out."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_share < 1.0:
            raise WorkbenchError(f"{{field}} is {self.max_share!r}.", "use a share in [0, 1), e.g. 0.2.",
                                 field="synthetic.max_share")


@dataclass
class KnowledgeSettings:
    glossary: str | None = None
    """Glossary CSV (term, definition) or small ontology (SKOS-like CSV/YAML with broader, synonyms, related;
    or OBO) the run learns from (workbench/documents/glossary.py)."""
    text_share: float = 0.0
    """Share of training blocks drawn from text rendered from the glossary's definitions and relations
    ("X is a kind of Y", "X is also called Z"); recorded in the run card and manifest."""
    new_tokens: bool = False
    """Glossary terms the tokenizer splits into 3+ pieces become new tokens (at most new_tokens_max),
    trained at the embedding learning rate (embedding_lr_ratio)."""
    token_init: Literal["definition", "subtokens"] = "definition"
    """How a new token of knowledge.new_tokens starts: the mean embedding of its definition's tokens (a term
    without a definition falls back to its sub-tokens), or the mean of the pieces the term used to split into
    (what new_tokens, a CSV of terms, always does)."""

    def __post_init__(self) -> None:
        if isinstance(self.text_share, bool) or not isinstance(self.text_share, (int, float)) \
                or not 0.0 <= self.text_share < 1.0:
            raise WorkbenchError(f"{{field}} is {self.text_share!r}.", "use a share in [0, 1), e.g. 0.1.",
                                 field="knowledge.text_share")
        if self.token_init not in ("definition", "subtokens"):
            raise WorkbenchError(f"{{field}} is {self.token_init!r}.", "use one of: definition, subtokens.",
                                 field="knowledge.token_init")
        if (self.text_share > 0 or self.new_tokens) and not self.glossary:
            what = "knowledge.text_share" if self.text_share > 0 else "knowledge.new_tokens"
            raise WorkbenchError(f"{what} is set but {{field}} names no glossary to learn from.",
                                 "set {field} to a glossary CSV, an ontology YAML/CSV or an OBO file.",
                                 field="knowledge.glossary")


@dataclass
class TrainConfig:
    model: str = DEFAULT_MODEL
    """Model spec: registry name, local folder, .gguf file or Hub id."""
    data: str = str(SAMPLE_DATA / "domain_corpus.jsonl")
    """Snapshot folder (train.jsonl/eval.jsonl) or a corpus file/folder."""
    text_field: str = "text"
    """Field holding the text in JSONL input."""
    text_unit: Literal["auto", "document", "paragraph", "line", "section"] = "auto"
    """What a document is in .txt/PDF input (as in ``workbench inspect --text-unit``; README "Reading corpora")."""
    out: str | None = None
    """Run folder; default <workspace>/runs/<name>."""
    quant: Literal["nf4", "none"] = "nf4"
    """Base weights: 4-bit NF4 with double quantization (QLoRA) or full precision."""
    max_tokens: int = 50_000
    """Training budget in tokens (token slots seen, padding included)."""
    block_size: int = 256
    """Tokens per packed training block."""
    micro_batch_size: int = 4
    """Blocks per forward pass."""
    grad_accum: int = 1
    """Micro-batches per optimizer step."""
    learning_rate: float | None = None
    """Peak learning rate of the LoRA parameters; default (null): scaled to the model's size
    (1e-3 for a 135M model, about 2e-4 for 7-8B; workbench/training/defaults.py), recorded in the run card."""
    lr_scheduler: str = "cosine"
    """transformers scheduler name (cosine, linear, constant_with_warmup...; ``LR_SCHEDULERS``)."""
    warmup_ratio: float = 0.05
    """Share of steps spent warming up."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_grad_norm: float = 1.0
    """Gradient clipping."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    """LoRA adapter settings."""
    train_embeddings: bool = False
    """Also train embed_tokens/lm_head (full copies in the adapter) at a smaller learning rate."""
    embedding_lr_ratio: float = 0.1
    """Learning rate of trained embeddings and new tokens, as a share of learning_rate."""
    new_tokens: str | None = None
    """Glossary CSV (column 'term'): terms split into 3+ pieces become new tokens, initialised
    as the mean of their old sub-token embeddings and trained (only their rows)."""
    new_tokens_max: int = 200
    """At most this many new tokens (most fragmented first)."""
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    """Knowledge from a glossary or ontology: rendered training text, new tokens, their initialisation."""
    upcast_unquantized: bool = True
    """With NF4, cast embeddings, lm_head and norms to fp32 as peft's prepare_model_for_kbit_training
    does (the QLoRA recipe; measured on GPUs). ``false`` keeps them in the compute dtype: a bf16
    residual stream with less activation memory and fewer cast kernels (estimated by ``workbench
    plan``, not yet measured on a GPU). No effect on the CPU, where everything is fp32."""
    chunked_loss: bool = True
    """Compute the loss a chunk of positions at a time from the frozen lm_head, never holding the whole
    batch's logits (same loss and gradients, far less peak memory); ignored where it does not apply."""
    sharding: Literal["none", "fsdp", "fsdp_offload"] = "none"
    """Split the weights, gradients and optimizer state over the run's processes with FSDP2 (``train
    --gpus N``): 'fsdp', or 'fsdp_offload' to also keep them in CPU memory between uses; with nf4 the
    4-bit weights are stored in the compute dtype so they shard (workbench/training/fsdp.py)."""
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"
    """Recompute activations in backward; 'auto' = on for GPUs, off on the CPU (where memory is plentiful)."""
    replay: str | None = None
    """General text replayed against forgetting; 'sample' = the bundled general replay text (apart
    from the general held-out text). Refused when it near-copies the general held-out set."""
    replay_ratio: float = 0.0
    """Share of training blocks drawn from the replay text."""
    curriculum: CurriculumSettings = field(default_factory=CurriculumSettings)
    """Data order: shuffled (the control), easy_to_hard by a difficulty signal, or stages with their own
    data mix, token share and learning-rate shape (docs: "Curricula and stages")."""
    synthetic: SyntheticMix = field(default_factory=SyntheticMix)
    """Synthetic text mixed from the snapshot (an audited set ``curate`` added), capped in share."""
    domain_eval: str | None = None
    """Held-out domain text; default: the snapshot's eval split, else the sample domain eval."""
    general_eval: str | None = None
    """Held-out general text for forgetting; default: the sample general text."""
    eval_every: float = 0.1
    """Evaluate every this fraction of training (0 disables in-training evaluation)."""
    eval_max_tokens: int | None = None
    """Tokens per held-out set used in training-time evaluation (full sets: workbench compare);
    default: sized from the training budget (``eval_tokens_per_set``), so evaluation stays a small
    share of the run."""
    eval_window: int = 512
    """Sliding window for training-time evaluation."""
    eval_sample: Literal["whole", "start", "middle"] = "whole"
    """What in-training evaluation scores of a held-out set larger than its token budget: 'whole'
    documents spread through the set (scored from their start, as compare scores them), or an equal
    span of many evenly spaced documents from their 'start' or 'middle'. Measured
    (benchmarks/heldout_sample.py): spans scored without their context overstate the change that
    compare then finds; whole documents agree with it."""
    dequantize_scoring: Literal["auto", "on", "off"] = "auto"
    """'on': score in-training evaluations through a copy of the frozen NF4 base dequantized for each
    evaluation (the same weight values; the trained model is never touched). 'auto' = off: measured,
    the copy costs more per evaluation than it saves (BENCHMARKS.md)."""
    keep_checkpoints: str = "last_and_best"
    """Checkpoints kept under checkpoints/: 'last_and_best' (the last, for resume, and the best by
    domain perplexity), 'all', or a number N (the N most recent, and the best)."""
    forgetting_threshold_pct: float = 10.0
    """Warn when general perplexity rises more than this percent over the base."""
    stop_on_forgetting: bool = False
    """Stop training (keeping the best checkpoint) when the forgetting threshold is crossed."""
    seed: int = 42
    """Seed for data order, LoRA init and dropout."""
    name: str | None = None
    """Run name (folder under runs/); default derived from model and time."""
    preset: str | None = None
    """The shipped preset these settings started from (recorded; naming only a model picks its preset)."""

    def __post_init__(self) -> None:
        # every setting is checked here, before a run folder exists or a model loads
        check_text_unit(self.text_unit)
        for name, allowed in _choices(type(self)).items():
            if getattr(self, name) not in allowed:
                raise WorkbenchError(f"{{field}} is {getattr(self, name)!r}.", f"use one of: {', '.join(allowed)}.", field=name)
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise WorkbenchError(f"{{field}} is {self.lr_scheduler!r}, not a learning-rate schedule.",
                                 f"use one of: {', '.join(LR_SCHEDULERS)}.", field="lr_scheduler")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise WorkbenchError(f"{{field}} is {self.seed!r}.", "use a whole number from 0 to 4294967295, e.g. 42.",
                                 field="seed")
        if self.max_tokens <= 0:
            raise WorkbenchError(f"{{field}} is {self.max_tokens}.", "give a positive training budget in tokens.", field="max_tokens")
        if self.block_size < 16:
            raise WorkbenchError(f"{{field}} {self.block_size} is too small.", "use at least 16 (typically 256-4096).",
                                 field="block_size")
        if self.micro_batch_size < 1 or self.grad_accum < 1:
            raise WorkbenchError("{field} must be at least 1.", "set it to 1 or more.",
                                 field="micro_batch_size" if self.micro_batch_size < 1 else "grad_accum")
        if not 0.0 <= self.replay_ratio < 1.0:
            raise WorkbenchError(f"{{field}} is {self.replay_ratio}.", "use a share in [0, 1), e.g. 0.1.", field="replay_ratio")
        if isinstance(self.curriculum, dict):  # as YAML and the app's forms give it
            self.curriculum = from_dict(CurriculumSettings, self.curriculum, prefix="curriculum.")
        if self.curriculum.staged and self.replay_ratio > 0:
            raise WorkbenchError(
                f"{{field}} is {self.replay_ratio} but curriculum.order is 'stages', where each stage has its own replay share.",
                "set {field} to 0 and give each stage its replay_ratio.", field="replay_ratio")
        if (self.replay_ratio > 0 or self.curriculum.max_replay_ratio() > 0) and not self.replay:
            self.replay = "sample"
        if not 0.0 <= self.eval_every <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.eval_every}.", "use a fraction in (0, 1], e.g. 0.1, or 0 to disable.", field="eval_every")
        if not 0.0 < self.embedding_lr_ratio <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.embedding_lr_ratio}.", "use a share in (0, 1], e.g. 0.1.", field="embedding_lr_ratio")
        if self.forgetting_threshold_pct <= 0:
            raise WorkbenchError(f"{{field}} is {self.forgetting_threshold_pct}.", "use a positive percent, e.g. 10.", field="forgetting_threshold_pct")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise WorkbenchError(f"{{field}} is {self.learning_rate}.", "use a positive learning rate, e.g. 2e-4.", field="learning_rate")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise WorkbenchError(f"{{field}} is {self.warmup_ratio}.", "use a share in [0, 1), e.g. 0.05.", field="warmup_ratio")
        if self.eval_max_tokens is not None and self.eval_max_tokens < 16:
            raise WorkbenchError(
                f"{{field}} is {self.eval_max_tokens}.", "use at least 16 tokens, or leave it unset to size it from max_tokens.",
                field="eval_max_tokens")
        self.keep_checkpoints = str(self.keep_checkpoints).strip().lower()
        if self.keep_checkpoints not in ("last_and_best", "all") and not (
            self.keep_checkpoints.isdigit() and int(self.keep_checkpoints) >= 1
        ):
            raise WorkbenchError(
                f"{{field}} is {self.keep_checkpoints!r}.",
                "use last_and_best, all, or the number of most recent checkpoints to keep (1 or more).", field="keep_checkpoints",
            )
        if self.weight_decay < 0:
            raise WorkbenchError(f"{{field}} is {self.weight_decay}.", "use 0 or a positive value, e.g. 0.01.", field="weight_decay")
        if self.max_grad_norm <= 0:
            raise WorkbenchError(f"{{field}} is {self.max_grad_norm}.", "use a positive clipping norm, e.g. 1.0.", field="max_grad_norm")
        if self.eval_window < 2:
            raise WorkbenchError(f"{{field}} is {self.eval_window}.", "use a window of 2 tokens or more, e.g. 512.", field="eval_window")
        if self.new_tokens_max < 0:
            raise WorkbenchError(f"{{field}} is {self.new_tokens_max}.", "use 0 or more, e.g. 200.", field="new_tokens_max")
        if isinstance(self.knowledge, dict):  # TrainConfig(knowledge={...}) as a notebook or a test writes it
            self.knowledge = KnowledgeSettings(**self.knowledge)
        if self.replay_ratio + self.knowledge.text_share >= 1.0:
            raise WorkbenchError(
                f"{{field}} {self.knowledge.text_share} and replay_ratio {self.replay_ratio} leave no share for the "
                "domain text.", "keep knowledge.text_share + replay_ratio below 1, e.g. 0.1 each.",
                field="knowledge.text_share")
        if self.new_tokens and self.knowledge.new_tokens:
            raise WorkbenchError(
                "{field} and knowledge.new_tokens both ask for new tokens.",
                "use one: knowledge.new_tokens (the terms of knowledge.glossary) or {field} (a CSV of terms).",
                field="new_tokens")

    @property
    def tokens_per_step(self) -> int:
        return self.block_size * self.micro_batch_size * self.grad_accum

    # -- what a run of n optimizer steps resolves to (recorded in the run card's "resolved") ---------
    def warmup_steps(self, n_steps: int) -> int:
        """Warm-up steps: ``ceil(warmup_ratio * n_steps)``. The schedule (training/schedule.py) starts
        warm-up at ``lr / (warmup + 1)``, so no optimizer step runs at learning rate 0."""
        return math.ceil(self.warmup_ratio * n_steps)

    def eval_steps(self, n_steps: int) -> int:
        """Optimizer steps between two in-training evaluations."""
        return max(1, round(n_steps * self.eval_every)) if self.eval_every > 0 else n_steps

    def n_evaluations(self, n_steps: int) -> int:
        """In-training evaluations of an n-step run: the base, every ``eval_steps``, and the last step."""
        every = self.eval_steps(n_steps)
        return 1 + n_steps // every + (1 if n_steps % every else 0)

    def eval_tokens_per_set(self, n_steps: int) -> int:
        """Tokens of each held-out set scored per in-training evaluation: ``eval_max_tokens`` when
        given, else all evaluations together score about ``EVAL_TOKEN_SHARE`` of the training budget
        (split over the domain and general sets), within [EVAL_MIN_TOKENS, EVAL_MAX_TOKENS]."""
        if self.eval_max_tokens is not None:
            return self.eval_max_tokens
        per_set = EVAL_TOKEN_SHARE * self.max_tokens / (2 * self.n_evaluations(n_steps))
        return int(min(EVAL_MAX_TOKENS, max(EVAL_MIN_TOKENS, round(per_set))))


@functools.lru_cache(maxsize=None)
def _choices(cls: type) -> dict[str, tuple]:
    """The allowed values of each ``Literal`` field of a config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: typing.get_args(hints[f.name]) for f in dataclasses.fields(cls)
            if typing.get_origin(hints[f.name]) is Literal}


# transformers' schedule names (transformers.trainer_utils.SchedulerType, pinned by a test): listed
# here so a config is checked without importing transformers
LR_SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
)

# In-training evaluation sized from the budget. On the CPU (NF4, Intel Xeon, 2 cores) a scored token
# costs about a third of a trained one (BENCHMARKS.md, "In-training evaluation"), so scoring half as
# many tokens as are trained keeps evaluation near 15% of the wall time; GPU runs hit the ceiling.
EVAL_TOKEN_SHARE = 0.5
EVAL_MIN_TOKENS = 256  # fewer and the perplexity of a sample is mostly noise
EVAL_MAX_TOKENS = 4096  # the old fixed default: enough for a trend; full sets are workbench compare's


def check_train_inputs(config: TrainConfig) -> None:
    """Every file a run reads exists, and a replay text is apart from the general held-out set: checked before
    the run folder is made or a model loaded."""
    from workbench.documents.readers import plan_files
    from workbench.documents.texts import resolve_training_data

    # a snapshot folder or a corpus file, else an error naming --data; then readable, not empty or binary
    plan_files(resolve_training_data(config.data)[0])
    replay = replay_file(config)
    named = {"replay": config.replay if replay and config.replay != "sample" else None,
             "domain_eval": config.domain_eval, "general_eval": config.general_eval, "new_tokens": config.new_tokens,
             "knowledge.glossary": config.knowledge.glossary,
             "curriculum.continue_from": config.curriculum.continue_from}
    for key, value in named.items():
        if value and not Path(value).exists():
            raise WorkbenchError(f"{{field}} file {value} does not exist.", "check the path given for {field}.",
                                 field=key)
    check_replay_apart(config)
    if config.curriculum.continue_from:
        check_continued_adapter(config)


def check_continued_adapter(config: TrainConfig) -> None:
    """A run to continue from is a finished run of the same model whose adapter has this run's LoRA shape
    (rank, alpha, no new tokens): checked before the run folder is made or a model loaded."""
    run = Path(config.curriculum.continue_from)
    adapter = run / "adapter"
    if not (adapter / "adapter_config.json").exists() or not (adapter / "adapter_model.safetensors").exists():
        raise WorkbenchError(f"{{field}} {run} holds no finished adapter (adapter/adapter_config.json and "
                             "adapter_model.safetensors).", "give {field} the folder of a finished run.",
                             field="curriculum.continue_from")
    saved = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    card_path = run / "run.json"
    earlier = (json.loads(card_path.read_text(encoding="utf-8")).get("config") or {}) if card_path.exists() else {}
    model = earlier.get("model")
    if model and str(model).strip().rstrip("/") != str(config.model).strip().rstrip("/"):
        raise WorkbenchError(f"{{field}} {run} adapted {model}, not {config.model}.",
                             f"continue with model {model}, or start from a run of {config.model}.",
                             field="curriculum.continue_from")
    for key, ours, theirs in (("lora.r", config.lora.r, saved.get("r")),
                              ("lora.alpha", config.lora.alpha, saved.get("lora_alpha"))):
        if theirs is not None and theirs != ours:
            raise WorkbenchError(f"{{field}} is {ours} but the adapter of {run} was trained with {theirs}.",
                                 f"set {{field}} to {theirs} to continue that adapter.", field=key)
    if config.new_tokens or config.train_embeddings or earlier.get("new_tokens") or earlier.get("train_embeddings"):
        raise WorkbenchError("{field} continues LoRA adapters only, without new tokens or trained embeddings.",
                             "leave new_tokens and train_embeddings off here and in the run continued from.",
                             field="curriculum.continue_from")


def check_replay_apart(config: TrainConfig) -> None:
    """Refuse a replay text that near-copies the run's general held-out set (what ``curate`` removes and ``compare``
    calls leakage: word-shingle Jaccard at or above the leakage threshold), before the run folder is made or a model
    loaded: forgetting measured on text the run trained on would be understated."""
    from workbench.documents.dedup import LEAKAGE_THRESHOLD, DedupConfig, leakage_between  # numpy: off the CLI's start
    from workbench.documents.readers import ReadReport, iter_documents
    from workbench.documents.texts import resolve_eval_sets

    replay = replay_file(config)
    if replay is None:
        return
    general = resolve_eval_sets(config.data, config.domain_eval, config.general_eval)[1]

    def documents(path):  # reading warnings are the training read's to show
        return list(iter_documents(Path(path), config.text_field, config.text_unit, report=ReadReport(config.text_unit)))

    replayed, held_out = documents(replay), documents(general)
    pairs = leakage_between([d.text for d in replayed], [d.text for d in held_out], LEAKAGE_THRESHOLD, DedupConfig())
    if pairs:
        shown = ", ".join(f"{held_out[e].id} ~ {replayed[t].id}" for t, e, _ in sorted(pairs, key=lambda p: -p[2])[:3])
        raise WorkbenchError(
            f"the replay text {replay} ({{field}}) near-copies {len({e for _, e, _ in pairs})} document(s) of the "
            f"general held-out set {general} ({shown}): forgetting would be measured on text the run trained on.",
            "give {field} another general text ('sample' is apart from the bundled general set), or evaluate on "
            "another general set (general_eval).",
            field="replay",
        )


def replay_file(config: TrainConfig) -> Path | None:
    """The replay text a run trains on: None without replay (ratio 0), the bundled general_replay.jsonl
    for 'sample', else the file given."""
    if max(config.replay_ratio, config.curriculum.max_replay_ratio()) <= 0 or not config.replay:
        return None
    return sample_path(SAMPLE_REPLAY) if config.replay == "sample" else Path(config.replay)


def synthetic_file(config: TrainConfig) -> Path | None:
    """The synthetic documents a run mixes: the ``synthetic.jsonl`` of its snapshot (an audited set ``curate``
    added), None when the data has none or ``synthetic.max_share`` is 0."""
    if config.synthetic.max_share <= 0:
        return None
    path = Path(config.data)
    found = path / "synthetic.jsonl" if path.is_dir() and (path / "train.jsonl").exists() else None
    return found if found is not None and found.is_file() else None


PRESETS = Path(__file__).resolve().parent / "presets"


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def _norm(spec: str) -> str:
    return str(spec).strip().lower().rstrip("/")


def preset_for_model(model: str | None) -> str | None:
    """The shipped preset made for ``model`` (a preset's ``model:`` key, by registry name or Hub id), or None.

    Naming only a model (``train --model smollm2-135m``) starts from this preset (its learning rate,
    block size, micro-batch...), exactly as ``--preset`` would; ``--preset none`` opts out."""
    if not model:
        return None
    wanted = _norm(model)
    wanted_name = _norm(Path(str(model)).name)
    for name in list_presets():
        spec = load_yaml(PRESETS / f"{name}.yaml").get("model")
        if spec and (_norm(spec) == wanted or _norm(spec).split("/")[-1] == wanted_name):
            return name
    return None


NO_PRESET = "none"


OPTION_HELP = {
    # the ``workbench train --help`` line of each TrainConfig field it takes as a flag (workbench/cli/options.py)
    "preset": "A shipped preset (see 'workbench presets'); default: the one made for --model, if any; 'none' for "
              "the plain defaults.",
    "name": "Run name (folder under workspace/runs).",
    "model": "Model spec (registry name, folder, .gguf, Hub id).",
    "data": "Snapshot folder or corpus file.",
    "out": "Run folder (default workspace/runs/NAME).",
    "max_tokens": "Training budget in tokens.",
    "replay": "General text to replay ('sample' for the bundled replay text).",
    "replay_ratio": "Share of blocks from replay text.",
    "quant": "nf4 (QLoRA) or none.",
    "text_unit": "What a document is in .txt/PDF data: auto, document, paragraph, line, section.",
    "sharding": "none, fsdp (split the model over --gpus with FSDP) or fsdp_offload (also keep it in CPU memory).",
}


def preset_keys() -> set[str]:
    """The TrainConfig keys some shipped preset sets: for these a run's default comes from its preset
    (``train --help`` says so next to the field's own default). Read on every start of the CLI, so
    with libyaml's loader where installed (a few ms instead of tens)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {key for path in sorted(PRESETS.glob("*.yaml"))
            for key in yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}}


# Settings a resumed run can take: the budget (larger than what is trained), when and how it
# evaluates and which checkpoints it keeps. Every other setting shaped the checkpoint (the adapter's
# shapes, the optimizer, the data order) and stays as the run started.
RESUMABLE_FIELDS = ("max_tokens", "eval_every", "keep_checkpoints", "forgetting_threshold_pct", "stop_on_forgetting")


def apply_resume_changes(config: TrainConfig, changes: dict, tokens_done: int) -> tuple[TrainConfig, dict]:
    """``config`` with the changes a resumed run can take, and those changes as ``{field: [old, new]}``.

    Args:
        config: the settings the checkpoint was saved with.
        changes: ``{dotted field: value}`` asked for (a value equal to the current one is no change).
        tokens_done: tokens the checkpoint has trained; a new ``max_tokens`` must be larger.

    A change outside :data:`RESUMABLE_FIELDS` is a user error naming every such change.
    """
    from workbench.config import to_dict

    if not changes:
        return config, {}
    changed = apply_overrides(config, changes)  # unknown keys and bad values: the usual errors
    before, after = flatten(to_dict(config)), flatten(to_dict(changed))
    diff = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    refused = [key for key in diff if key not in RESUMABLE_FIELDS]
    if refused:
        # one refused setting is written as {field}, for each face to word
        listed = ", ".join(f"{key if len(refused) > 1 else '{field}'} ({diff[key][0]!r} -> {diff[key][1]!r})"
                           for key in refused)
        raise WorkbenchError(
            f"{listed} cannot change when a run resumes: its checkpoint was trained with the old "
            f"value{'s' if len(refused) > 1 else ''}.",
            "resume without that change (run.json's config back as it was), or start a new run from this one's "
            f"settings with it. On resume only {', '.join(RESUMABLE_FIELDS)} can change.",
            field=refused[0] if len(refused) == 1 else None,
        )
    if "max_tokens" in diff and config.curriculum.staged:
        raise WorkbenchError(
            f"{{field}} cannot change when a staged run resumes: its stage boundaries and learning rates follow the "
            f"budget of {config.max_tokens} tokens it started with.",
            "resume without changing {field}, or train on from this run in a new run with curriculum.continue_from "
            "and stages of its own.", field="max_tokens")
    if "max_tokens" in diff and changed.max_tokens <= tokens_done:
        raise WorkbenchError(
            f"{{field}} {changed.max_tokens} is not more than the {tokens_done} tokens the run has already trained.",
            f"give {{field}} a budget above {tokens_done}, or resume without changing it.",
            field="max_tokens",
        )
    return changed, diff
