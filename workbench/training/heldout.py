"""Held-out perplexity while training: the forgetting monitor behind the live curves.

Training does not score text itself and does not import the evaluation stage (stages do not
import each other; ``tests/test_layering.py`` checks it). It receives a :class:`Scorer`, a
function with the shape of :func:`workbench.evaluation.perplexity.score_documents`, and
:func:`workbench.workflows.train` hands it evaluation's, so the in-training curves and the final
comparison measure the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from workbench.training.data import cap_texts


class DocumentsScore(Protocol):
    """What in-training evaluation reads from a scorer's result."""

    @property
    def token_ppl(self) -> float:
        """exp(mean negative log-likelihood per scored token)."""
        ...

    @property
    def tokens(self) -> int:
        """Tokens scored."""
        ...

    @property
    def word_ppl(self) -> float:
        """exp(negative log-likelihood per word): comparable across tokenizers."""
        ...

    @property
    def documents(self) -> Sequence:
        """Per document: ``nll_sum``, ``tokens`` and ``n_words`` (the change's interval is paired over them)."""
        ...


class Scorer(Protocol):
    """Scores ``texts`` with ``model`` in sliding windows of ``window`` tokens (no gradients)."""

    def __call__(self, model, tokenizer, texts: Sequence[str], *, window: int, progress: bool) -> DocumentsScore: ...


class HeldOutEvaluator:
    """Domain and general perplexity on fixed, capped samples of the held-out sets.

    Args:
        sets: held-out texts by name ("domain", "general"); each is capped to ``max_tokens`` once.
        window: scoring window in tokens.
        dequantize: "on" scores through a dense copy of an NF4 base; "auto" and "off" do not.
        scorer: what scores each set (see :class:`Scorer`).
        sample: which text of a set larger than ``max_tokens`` is scored (``cap_texts``'s ``position``).
        base_tokenizer: the model's own tokenizer when the run added domain tokens to ``tokenizer``.
            Then every perplexity is per word (``ppl_unit: "word"`` in the result), and the base
            evaluation (``base=True``, before the first step) reads with ``base_tokenizer`` over the
            base vocabulary only: the change users watch is against the real base, as in ``compare``,
            not against the model with its new rows freshly initialised.
    """

    def __init__(self, tokenizer, sets: dict[str, list[str]], max_tokens: int, window: int, dequantize: str = "auto", *,
                 scorer: Scorer, base_tokenizer=None, sample: str = "whole"):
        self.tokenizer, self.window, self.dequantize, self.scorer = tokenizer, window, dequantize, scorer
        self.base_tokenizer = base_tokenizer
        self.unit = "token" if base_tokenizer is None else "word"
        self.sets = {name: cap_texts(tokenizer, texts, max_tokens, position=sample) for name, texts in sets.items()
                     if texts}

    def __call__(self, model, base: bool = False) -> dict[str, float]:
        from workbench.models.heads import vocabulary_limit
        from workbench.models.load import dequantize_for_scoring

        base_side = base and self.base_tokenizer is not None
        tokenizer = self.base_tokenizer if base_side else self.tokenizer

        # 'on': the frozen NF4 base dequantized for this evaluation only (forward swapped on the
        # instance, parameters untouched, restored before training goes on). 'auto' is off here: with
        # 4-bit layers kept unpacked the dense copy saves ~3% of a forward's CPU time, less than
        # making it costs per evaluation (BENCHMARKS.md, "Scoring through a dequantized base")
        dense = dequantize_for_scoring(model, "off" if self.dequantize == "auto" else self.dequantize)
        try:
            result = {}
            for name, texts in self.sets.items():
                with vocabulary_limit(model, len(tokenizer) if base_side else None):
                    score = self.scorer(model, tokenizer, texts, window=self.window, progress=False)
                result[f"{name}_ppl"] = score.word_ppl if self.unit == "word" else score.token_ppl
                result[f"{name}_eval_tokens"] = score.tokens
                documents = getattr(score, "documents", None)
                if documents:  # what the point rests on, and per document what its interval is paired over
                    result[f"{name}_eval_documents"] = len(documents)
                    result[f"{name}_doc_nll"] = [round(float(d.nll_sum), 6) for d in documents]
                    result[f"{name}_doc_units"] = [int(d.n_words if self.unit == "word" else d.tokens)
                                                   for d in documents]
            if self.unit == "word":
                result["ppl_unit"] = "word"
        finally:
            if dense is not None:
                dense.restore()
        result["dequantized"] = dense is not None
        return result
