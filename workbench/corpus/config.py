"""Configs of the corpus stage: what ``inspect`` profiles and how ``curate`` cleans and splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from workbench.documents.dedup import LEAKAGE_THRESHOLD, DedupConfig
from workbench.documents.readers import DEFAULT_MAX_DOCUMENT_CHARS, check_max_document_chars, check_text_unit
from workbench.errors import WorkbenchError
from workbench.models.registry import DEFAULT_MODEL

PII_TYPES = ("email", "phone", "id_number", "url")


@dataclass
class QualityConfig:
    """Gopher/C4-style document rules; a document failing any one is flagged (and dropped by curate)."""

    min_mean_word_length: float = 3.0
    """Lowest mean word length in characters (Gopher: 3)."""
    max_mean_word_length: float = 10.0
    """Highest mean word length in characters (Gopher: 10)."""
    max_symbol_ratio: float = 0.1
    """Highest ratio of '#' and ellipsis symbols to words (Gopher: 0.1)."""
    min_alpha_share: float = 0.8
    """Lowest share of words containing a letter (Gopher: 0.8)."""
    max_duplicate_line_share: float = 0.3
    """Highest share of lines that repeat an earlier line of the same document (Gopher: 0.3)."""
    max_bullet_line_share: float = 0.9
    """Highest share of lines starting with a bullet (Gopher: 0.9)."""
    max_ellipsis_line_share: float = 0.3
    """Highest share of lines ending with an ellipsis (Gopher: 0.3)."""

    def __post_init__(self) -> None:
        if self.min_mean_word_length > self.max_mean_word_length:
            raise WorkbenchError(
                f"quality.min_mean_word_length ({self.min_mean_word_length}) is above quality.max_mean_word_length "
                f"({self.max_mean_word_length}).",
                "lower the minimum or raise the maximum.",
            )
        for name in ("max_symbol_ratio", "min_alpha_share", "max_duplicate_line_share", "max_bullet_line_share",
                     "max_ellipsis_line_share"):
            value = getattr(self, name)
            if value < 0 or (name != "max_symbol_ratio" and value > 1):
                raise WorkbenchError(f"{{field}} is {value}; it is a share between 0 and 1.", "set {field} in [0, 1].",
                                     field=f"quality.{name}")


@dataclass
class CorpusConfig:
    """What ``workbench inspect`` profiles: the corpus against a model's tokenizer and a general reference."""

    paths: list[str] = field(default_factory=list)
    """Corpus files or folders (text, JSONL, CSV, Parquet, PDF, .gz of those)."""
    model: str = DEFAULT_MODEL
    """Model whose tokenizer is measured (registry name, folder, .gguf, Hub id)."""
    text_field: str = "text"
    """Text column of JSONL, CSV and Parquet files."""
    text_unit: Literal["auto", "document", "paragraph", "line", "section"] = "auto"
    """What a document is in text and PDF files: document (whole file), paragraph (blank-line-separated),
    line, section (two blank lines), or auto (section, by paragraph when a document would exceed 500,000 characters)."""
    max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS
    """Longest document in characters; a longer one is split into parts of at most this many (counted and warned)."""
    reference: list[str] | None = None
    """General-domain reference corpus; None uses the bundled general sample text."""
    glossary: str | None = None
    """CSV of domain terms (column 'term') whose tokenization is listed."""
    dedup: DedupConfig = field(default_factory=DedupConfig)
    """Near-duplicate detection settings."""
    quality: QualityConfig = field(default_factory=QualityConfig)
    """Quality rule thresholds (the profile reports how many documents fail each)."""
    language_chars: int = 500
    """Characters of each document given to language identification."""
    language_sample: int | None = 2000
    """Identify the language of at most about this many documents (every k-th, evenly spread); None: all."""
    top_terms: int = 40
    """Over-represented domain terms to list."""
    min_term_count: int = 3
    """Minimum count of a word in the corpus to be listed as a domain term."""
    example_clusters: int = 5
    """Duplicate clusters shown as examples."""
    max_flagged: int = 200
    """Flagged documents (quality, PII, language, duplicates) listed in the profile for review, worst first."""
    batch_size: int = 256
    """Documents per batch in the ``datasets`` map."""

    def __post_init__(self) -> None:
        if isinstance(self.paths, str):
            self.paths = [self.paths]
        if isinstance(self.reference, str):
            self.reference = [self.reference]
        check_text_unit(self.text_unit)
        check_max_document_chars(self.max_document_chars)
        if self.batch_size < 1:
            raise WorkbenchError(f"{{field}} is {self.batch_size}; it must be at least 1.", "use e.g. 256.", field="batch_size")
        if self.max_flagged < 0:
            raise WorkbenchError(f"{{field}} is {self.max_flagged}; it cannot be negative.",
                                 "use e.g. 200, or 0 to list no flagged documents.", field="max_flagged")
        if self.language_chars < 20:
            raise WorkbenchError(f"{{field}} is {self.language_chars}; too little text to identify a language.",
                                 "use 200 or more.", field="language_chars")
        if self.language_sample is not None and self.language_sample < 1:
            raise WorkbenchError(f"{{field}} is {self.language_sample}; it must be at least 1.",
                                 "use e.g. 2000, or null to identify every document.", field="language_sample")


@dataclass
class CurateConfig:
    """How ``workbench curate`` turns corpus files into a snapshot (every field is recorded in the manifest)."""

    paths: list[str] = field(default_factory=list)
    """Corpus files or folders (text, JSONL, CSV, Parquet, PDF, .gz of those)."""
    text_field: str = "text"
    """Text column of JSONL, CSV and Parquet files."""
    text_unit: Literal["auto", "document", "paragraph", "line", "section"] = "auto"
    """What a document is in text and PDF files: document (whole file), paragraph (blank-line-separated),
    line, section (two blank lines), or auto (section, by paragraph when a document would exceed 500,000 characters)."""
    max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS
    """Longest document in characters; a longer one is split into parts of at most this many (counted and warned)."""
    exact_dedup: bool = True
    """Drop documents whose normalised text repeats an earlier one."""
    near_dedup: bool = True
    """Keep one document per near-duplicate cluster."""
    dedup: DedupConfig = field(default_factory=DedupConfig)
    """Near-duplicate detection settings."""
    quality_filter: bool = True
    """Drop documents failing a quality rule."""
    quality: QualityConfig = field(default_factory=QualityConfig)
    """Quality rule thresholds."""
    min_words: int = 20
    """Drop documents with fewer words."""
    max_words: int = 100_000
    """Drop documents with more words."""
    languages: list[str] | None = field(default_factory=lambda: ["en"])
    """Keep only these ISO 639-1 languages; None keeps every language."""
    min_language_score: float = 0.5
    """Lowest language-identification probability to count as that language."""
    language_chars: int = 500
    """Characters of each document given to language identification."""
    redact_pii: bool = True
    """Replace PII with typed placeholders such as [EMAIL]."""
    pii_types: list[str] = field(default_factory=lambda: list(PII_TYPES))
    """PII kinds to redact: email, phone, id_number, url."""
    eval_fraction: float = 0.1
    """Share of documents sent to eval.jsonl, chosen by content hash (ignored when eval_paths is given)."""
    eval_paths: list[str] | None = None
    """Use these files as the eval split instead of a hash split (cleaned the same way)."""
    leakage_threshold: float = LEAKAGE_THRESHOLD
    """Estimated Jaccard at or above which a train document leaks an eval document and is removed."""
    min_documents: int = 1
    """Fail if fewer documents survive curation."""
    drop_documents: dict[str, str] | None = None
    """Document ids experts decided to drop in review, each with the reason (the manifest records the drop list's
    entries here too)."""
    drop_list: str | None = None
    """JSONL of documents to drop, one ``{"id": ..., "reason": ...}`` per line (``workbench review export --format
    drops`` writes it; ``curate --labels`` exports and passes one)."""
    model: str | None = None
    """Model whose tokenizer counts the snapshot's train and eval tokens (only the tokenizer is loaded);
    None: sizes in words only."""
    synthetic: str | None = None
    """An audited synthetic set (the folder ``workbench synthetic audit`` writes) added to the snapshot as
    ``synthetic.jsonl``, each document flagged ``synthetic: true``; refused when it failed its audit."""
    synthetic_force: bool = False
    """Add the synthetic set even though it failed its audit (the override is recorded in the manifest)."""

    def __post_init__(self) -> None:
        if isinstance(self.paths, str):
            self.paths = [self.paths]
        if isinstance(self.eval_paths, str):
            self.eval_paths = [self.eval_paths]
        if isinstance(self.languages, str):
            self.languages = [self.languages]
        check_text_unit(self.text_unit)
        check_max_document_chars(self.max_document_chars)
        if self.min_words > self.max_words:
            raise WorkbenchError(f"min_words ({self.min_words}) is above max_words ({self.max_words}).",
                                 "lower min_words or raise max_words.")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise WorkbenchError(f"{{field}} is {self.eval_fraction}; it must be in [0, 1).", "use e.g. 0.1.", field="eval_fraction")
        if self.eval_paths and self.eval_fraction not in (0.0, 0.1):
            raise WorkbenchError("both eval_paths and a custom eval_fraction are set; the eval split comes from one of them.",
                                 "drop eval_fraction, or drop eval_paths for a hash split.")
        if not 0.0 < self.leakage_threshold <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.leakage_threshold}; it must be in (0, 1].", "use e.g. 0.5.", field="leakage_threshold")
        if self.languages is not None and not self.languages:
            raise WorkbenchError("languages is an empty list, which would drop every document.",
                                 "list languages to keep (e.g. en), or set languages to null to keep all.")
        unknown = sorted(set(self.pii_types) - set(PII_TYPES))
        if unknown:
            raise WorkbenchError(f"unknown PII type '{unknown[0]}' in {{field}}.", f"use some of: {', '.join(PII_TYPES)}.",
                                 field="pii_types")
        if not 0.0 <= self.min_language_score <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.min_language_score}; it is a probability.", "use e.g. 0.5.", field="min_language_score")
        if self.min_words < 0:
            raise WorkbenchError(f"{{field}} is {self.min_words}; it cannot be negative.", "use 0 to keep short documents.", field="min_words")


@dataclass
class SyntheticAuditConfig:
    """How ``workbench synthetic audit`` checks synthetic text against held-out real text before it may be mixed.

    Each threshold is one reason the gate can give; every measured value is recorded next to it.
    """

    paths: list[str] = field(default_factory=list)
    """Synthetic text: files or folders (text, JSONL, CSV, Parquet), made elsewhere or generated from prompts."""
    real: str = ""
    """The real text to audit against: a snapshot folder (its train split and its held-out eval split)."""
    model: str = DEFAULT_MODEL
    """Base model whose hidden states give the representation space of the distance (and the tokenizer)."""
    text_field: str = "text"
    """Text column of JSONL, CSV and Parquet files."""
    text_unit: Literal["auto", "document", "paragraph", "line", "section"] = "auto"
    """What a document is in text files (as in ``inspect``)."""
    source: str | None = None
    """Where the text came from (a generator, a template engine, a model), recorded per document;
    default: the file it was read from."""
    profile: str | None = None
    """A corpus profile (``workbench inspect``) whose domain terms the synthetic text should cover; default:
    the terms over-represented in the real train split against the bundled general text."""
    max_documents: int = 256
    """Documents of each set embedded for the distance (evenly spread through the set)."""
    max_tokens_per_document: int = 256
    """Tokens of each document given to the model for its mean hidden state."""
    max_distance_ratio: float = 2.0
    """Highest Fréchet distance of synthetic vs held-out text, as a multiple of the distance of a real
    training sample of the same size vs the same held-out text."""
    max_leaked_share: float = 0.0
    """Highest share of synthetic documents that near-duplicate a real training or held-out document."""
    leakage_threshold: float = LEAKAGE_THRESHOLD
    """Word-shingle Jaccard at or above which a synthetic document near-duplicates a real one (as in curate)."""
    ngram: int = 8
    """Word n-gram length of the novelty measure."""
    min_novelty: float = 0.5
    """Lowest share of the synthetic word n-grams found in no real document (lower: copied text)."""
    min_domain_share: float = 0.5
    """Lowest share of synthetic documents that use at least one of the domain terms."""
    domain_terms: int = 40
    """Domain terms checked for coverage."""
    max_flagged_share: float = 0.1
    """Highest share of synthetic documents failing a length, quality or repetition rule."""
    min_words: int = 20
    """A synthetic document with fewer words is flagged (as curate's min_words)."""
    max_repetition: float = 0.3
    """Highest share of a document's word 3-grams that repeat an earlier one before it is flagged as degenerate."""
    quality: QualityConfig = field(default_factory=QualityConfig)
    """Quality rule thresholds (as in curate)."""
    review_sample: int = 20
    """Synthetic documents offered as review items (evenly spread through the set)."""
    seed: int = 0
    """Seed of the real training sample the reference distance uses."""
    out: str | None = None
    """Audit folder; default <workspace>/synthetic/<first input's name>."""

    def __post_init__(self) -> None:
        if isinstance(self.paths, str):
            self.paths = [self.paths]
        check_text_unit(self.text_unit)
        for name in ("max_leaked_share", "min_novelty", "min_domain_share", "max_flagged_share", "max_repetition"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise WorkbenchError(f"{{field}} is {value}; it is a share between 0 and 1.", "set {field} in [0, 1].",
                                     field=name)
        if self.max_distance_ratio <= 0:
            raise WorkbenchError(f"{{field}} is {self.max_distance_ratio}; it must be positive.", "use e.g. 2.0.",
                                 field="max_distance_ratio")
        if not 0.0 < self.leakage_threshold <= 1.0:
            raise WorkbenchError(f"{{field}} is {self.leakage_threshold}; it must be in (0, 1].", "use e.g. 0.5.",
                                 field="leakage_threshold")
        for name, low in (("max_documents", 2), ("max_tokens_per_document", 1), ("ngram", 1), ("domain_terms", 1)):
            if getattr(self, name) < low:
                raise WorkbenchError(f"{{field}} is {getattr(self, name)}; it must be at least {low}.",
                                     "raise {field}.", field=name)
        if self.review_sample < 0 or self.min_words < 0:
            name = "review_sample" if self.review_sample < 0 else "min_words"
            raise WorkbenchError(f"{{field}} is {getattr(self, name)}; it cannot be negative.", "use 0 or more.",
                                 field=name)


TEXT_UNIT_HELP = ("What a document is in .txt/.md/PDF files: auto (default: split on two blank lines, by paragraph "
                  "when a document would exceed 500,000 characters), document (whole file), paragraph, line, section.")

CORPUS_OPTION_HELP = {
    # the ``workbench inspect --help`` line of each CorpusConfig field it takes as a flag (workbench/cli/options.py)
    "model": "Model whose tokenizer is measured (registry name, folder, Hub id).",
    "reference": "General reference corpus (default: bundled general sample).",
    "glossary": "CSV of domain terms (column 'term') to show tokenized.",
    "text_field": "Text column of JSONL, CSV and Parquet files.",
    "text_unit": TEXT_UNIT_HELP,
}

CURATE_OPTION_HELP = {
    # the ``workbench curate --help`` line of each CurateConfig field it takes as a flag (workbench/cli/options.py)
    "eval_paths": "Fixed eval set (default: hash split of the corpus).",
    "eval_fraction": "Share of documents for eval (hash split).",
    "text_field": "Text column of JSONL, CSV and Parquet files.",
    "text_unit": TEXT_UNIT_HELP,
    "min_words": "Drop documents with fewer words.",
    "synthetic": "An audited synthetic set (from 'workbench synthetic audit') to add, flagged per document.",
    "synthetic_force": "Add the synthetic set although it failed its audit (recorded in the manifest).",
}

SYNTHETIC_OPTION_HELP = {
    # the ``workbench synthetic audit --help`` line of each SyntheticAuditConfig field it takes as a flag
    "real": "Snapshot folder of the real text (its train and held-out eval splits).",
    "model": "Base model whose hidden states measure the distance (registry name, folder, Hub id).",
    "profile": "Corpus profile whose domain terms the text should use (default: terms of the real train split).",
    "source": "Where the text came from, recorded per document (default: its file).",
    "text_field": "Text column of JSONL, CSV and Parquet files.",
    "out": "Audit folder (default workspace/synthetic/NAME).",
}
