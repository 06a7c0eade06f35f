"""EvalConfig: every knob of ``workbench evaluate`` and ``workbench compare``, with checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from workbench.documents.readers import check_text_unit
from workbench.errors import WorkbenchError

PERIODS = ("month", "quarter", "year")
"""How finely dated documents are grouped into periods for drift over time."""


@dataclass
class GuardrailsConfig:
    """What ``compare`` checks beyond fit: paired bias probes, a screen of the generations, drift over time."""

    bias_probes: str | None = None
    """Bias probe file (CSV/JSONL of minimal pairs or templates, or a CrowS-Pairs CSV on disk); 'sample': the
    shipped probe set; default none."""
    screen: str | None = None
    """YAML of screen terms and patterns that extends the shipped screen; 'none' screens nothing."""
    time_field: str | None = None
    """Field of the domain eval records holding a date (JSONL/CSV/Parquet): scores are reported per period."""
    period: str = "month"
    """How dated documents are grouped: month, quarter or year."""
    worst_pairs: int = 5
    """Bias pairs whose stereotype preference rose most, kept for review."""

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise WorkbenchError(f"{{field}} is {self.period!r}.", f"set {{field}} to one of: {', '.join(PERIODS)}.",
                                 field="guardrails.period")
        if self.worst_pairs < 0:
            raise WorkbenchError(f"{{field}} is {self.worst_pairs}.", "set {field} to 0 or more.",
                                 field="guardrails.worst_pairs")


@dataclass
class EvalConfig:
    model: str | None = None
    """Base model spec (registry name, folder, .gguf, Hub id); default for compare: the run's model."""
    adapter: str | None = None
    """Run folder or adapter folder to evaluate on top of the base (compare: the adapted run)."""
    against: str | None = None
    """compare: another run (or adapter folder) of the same base to compare the adapted run with, in place of
    the base model: both scored on the same documents, the difference paired over them."""
    data: str | None = None
    """Evaluation text for ``evaluate`` (JSONL with a text field, or .txt)."""
    domain_eval: str | None = None
    """Held-out domain text; default: the run's snapshot eval split, else the sample domain eval."""
    general_eval: str | None = None
    """Held-out general text (forgetting); default: the sample general text."""
    probes: str | None = None
    """Cloze probes CSV (prompt,expected[,source_id]); default: the sample probes with the sample eval."""
    glossary: str | None = None
    """Glossary CSV (term,...) or ontology (YAML, OBO) whose terms lead the per-term table and whose definitions
    make the cloze probes; default: the run's knowledge.glossary, else the sample glossary with the sample eval."""
    cloze_probes: int = 200
    """compare: cloze probes made from the glossary's definitions (the term masked, ranked among related
    terms), at most this many spread over the glossary (0 disables)."""
    cloze_candidates: int = 8
    """compare: candidates each cloze probe ranks (the term, related and sibling terms, random terms)."""
    profile: str | None = None
    """Corpus profile (profile.json or its folder) whose domain terms follow the glossary in the term tables."""
    eval_docs: int | None = None
    """compare: score at most this many documents of each held-out set, a seeded sample kept in file order
    (a quick check; its intervals describe the sample); default all."""
    text_field: str = "text"
    """Field holding the text in JSONL input."""
    text_unit: Literal["auto", "document", "paragraph", "line", "section"] = "auto"
    """What a document is in .txt/PDF eval sets (as in ``workbench inspect --text-unit``)."""
    out: str | None = None
    """Output folder; default <workspace>/comparisons/<name>."""
    quant: Literal["nf4", "none"] | None = None
    """How the base weights are loaded; default: as the adapter was trained (no adapter: none)."""
    dequantize_scoring: Literal["auto", "on", "off"] = "auto"
    """Score through the NF4 base dequantized once to the compute dtype (the same weight values, plain
    matmuls); 'auto' = on the CPU when the dense copy takes at most a quarter of the free memory,
    'off' = the 4-bit layers."""
    window: int = 1024
    """Sliding-window length L in tokens (at most the model's context)."""
    stride: int | None = None
    """Step S between windows; default L/2. Each scored token sees at least L-S tokens of context."""
    batch_size: int = 8
    """Windows per forward pass."""
    n_bootstrap: int = 1000
    """Bootstrap resamples over documents for the 95% intervals."""
    seed: int = 1234
    """Seed of the bootstrap, the calibration split and sampling."""
    n_bins: int = 15
    """Bins of the calibration error and reliability diagrams."""
    temperature_scaling: bool = False
    """Fit a temperature on half of the documents and report ECE before and after on the other half."""
    checkpoints: bool = False
    """compare: also score every checkpoint of the run (learning curves of domain and general perplexity)."""
    generations: int = 6
    """compare: domain prompts continued by both models, side by side (0 disables)."""
    max_new_tokens: int = 40
    """Tokens generated per prompt (greedy)."""
    heatmap_documents: int = 3
    """Documents of each set rendered as coloured per-token surprisal differences."""
    top_terms: int = 20
    """Terms listed among the largest gains and losses."""
    leakage_ngram: int | None = None
    """Unused: leakage now follows the corpus stage's definition (the snapshot's dedup shingle size and
    leakage_threshold); kept so old configs load, and a value set here is reported as ignored."""
    device: str | None = None
    """Device (default: cuda when available, else cpu)."""
    labels: str | None = None
    """Label store (path or URL) whose corrected errors compare re-scores (default: the workspace's labels.db if any;
    'none': skip). The CLI and background jobs export its regression set to a file and fill ``regression_set``."""
    regression_set: str | None = None
    """Regression-set JSONL (labelled errors: prompt, erroneous and corrected text) that compare re-scores on base
    and adapted; written by 'workbench review export --format regression' (or by hand)."""
    guardrails: GuardrailsConfig = field(default_factory=GuardrailsConfig)
    """compare: bias probes, the screen of generations and drift over time (``guardrails.bias_probes``...)."""

    def __post_init__(self) -> None:
        check_text_unit(self.text_unit)
        if self.leakage_ngram is not None:
            import warnings

            warnings.warn("leakage_ngram is ignored: leakage follows the corpus stage's definition (word-shingle "
                          "Jaccard with the snapshot's dedup settings); drop the setting.", UserWarning, stacklevel=3)
        if self.window < 2:
            raise WorkbenchError(f"window is {self.window}.", "set {field} to 2 tokens or more, e.g. 1024.", field="window")
        if self.stride is None:
            self.stride = max(1, self.window // 2)
        if not 1 <= self.stride <= self.window:
            raise WorkbenchError(
                f"stride {self.stride} is outside 1..window ({self.window}).",
                "set {field} between 1 and the window, e.g. half the window.",
                field="stride",
            )
        if self.batch_size < 1:
            raise WorkbenchError(f"batch_size is {self.batch_size}.", "set {field} to 1 or more.", field="batch_size")
        if self.n_bootstrap < 100:
            raise WorkbenchError(f"n_bootstrap is {self.n_bootstrap}.", "set {field} to 100 resamples or more (1000 is the default).",
                                 field="n_bootstrap")
        if self.n_bins < 2:
            raise WorkbenchError(f"n_bins is {self.n_bins}.", "set {field} to 2 calibration bins or more (15 is the default).",
                                 field="n_bins")
        if self.dequantize_scoring not in ("auto", "on", "off"):
            raise WorkbenchError(f"dequantize_scoring is {self.dequantize_scoring!r}.", "set {field} to auto, on or off.",
                                 field="dequantize_scoring")
        if self.quant not in (None, "nf4", "none"):
            raise WorkbenchError(f"quant is {self.quant!r}.", "set {field} to nf4 or none.", field="quant")
        if self.generations < 0:
            raise WorkbenchError(f"generations is {self.generations}.", "set {field} to 0 or more (0: no generations).",
                                 field="generations")
        if self.cloze_probes < 0:
            raise WorkbenchError(f"cloze_probes is {self.cloze_probes}.", "set {field} to 0 or more (0: no cloze probes).",
                                 field="cloze_probes")
        if self.cloze_candidates < 2:
            raise WorkbenchError(f"cloze_candidates is {self.cloze_candidates}.",
                                 "set {field} to 2 or more (the term and at least one other), e.g. 8.",
                                 field="cloze_candidates")
        if self.eval_docs is not None and self.eval_docs < 2:
            raise WorkbenchError(f"eval_docs is {self.eval_docs}.", "set {field} to 2 documents or more (an interval "
                                 "needs two), or leave it empty for every document.", field="eval_docs")
        if self.max_new_tokens < 1:
            raise WorkbenchError(f"max_new_tokens is {self.max_new_tokens}.", "set {field} to 1 or more.",
                                 field="max_new_tokens")


OPTION_HELP = {
    # the ``--help`` line of each EvalConfig field that ``workbench evaluate`` or ``compare`` takes as a flag
    # (workbench/cli/options.py shows the field's default after it; compare words model, adapter, out its own way)
    "model": "Model spec (default with --adapter: the run's base model).",
    "adapter": "Run folder or adapter folder to apply.",
    "against": "Another run of the same base to compare with instead of the base model (run against run).",
    "data": "Evaluation text (JSONL with a text field, or .txt).",
    "domain_eval": "Domain text (default: the run's snapshot eval split).",
    "general_eval": "General text (default: the sample general text).",
    "probes": "Cloze probes CSV: prompt,expected,source_id.",
    "glossary": "Glossary CSV with a 'term' column, or an ontology (YAML, OBO): its terms lead the term changes, its "
                "definitions make the cloze probes.",
    "cloze_probes": "Cloze probes made from the glossary's definitions (0: none).",
    "profile": "Corpus profile.json (or its folder): its domain terms follow the glossary.",
    "out": "Output folder (default <workspace>/comparisons/eval-...).",
    "window": "Sliding-window length L in tokens.",
    "stride": "Step S between windows (default L/2).",
    "quant": "Base weights: nf4 or none (default: as the adapter was trained; no adapter: none).",
    "batch_size": "Windows per forward pass.",
    "checkpoints": "Also score every checkpoint (learning curves).",
    "temperature_scaling": "Fit a temperature; ECE before/after.",
    "generations": "Domain prompts continued by both models (0: none).",
    "labels": "Label store whose corrected errors are re-scored (default: workspace/labels.db if it exists; "
              "'none' to skip).",
    "text_field": "JSONL field holding the text.",
    "eval_docs": "Score at most N documents of each held-out set (a seeded sample; default all).",
    "dequantize_scoring": "auto|on|off: score an NF4 base through its weights dequantized once (auto: on the CPU "
                          "when the copy fits easily in memory).",
    "text_unit": "What a document is in .txt/PDF eval sets: auto, document, paragraph, line, section.",
}
