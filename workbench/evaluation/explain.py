"""One plain-language sentence per metric, for people who are experts in their field, not in ML.

The report shows them beside each number and the figure builders use them as hover text, so the
HTML report, the app and the notebooks explain a number with the same words.
"""

from __future__ import annotations

METRICS: dict[str, str] = {
    "token_ppl": "Perplexity: roughly how many equally likely next word-pieces the model hesitates between; "
                 "lower means the text looks more familiar to the model.",
    "token_ppl_ci95": "The range the perplexity would likely fall in with another sample of documents like these "
                      "(95% bootstrap interval).",
    "word_ppl": "Perplexity per whole word instead of per word-piece, so models with different tokenizers can be "
                "compared; lower is better.",
    "bits_per_byte": "How many bits the model needs to encode each character of the text (bits per byte); lower "
                     "means better prediction, and it does not depend on the tokenizer.",
    "nll_per_token": "Average surprise per word-piece in nats (the log of perplexity); a change of -0.05 means about "
                     "5% lower perplexity.",
    "ece": "Expected calibration error: how far the model's confidence is from how often it is right, on average "
           "(0 = its confidence can be taken at face value).",
    "ece_equal_mass": "The same calibration error, measured with bins holding equal numbers of predictions "
                      "(more stable when most predictions are of one confidence).",
    "mce": "Maximum calibration error: the worst gap between confidence and accuracy in any confidence range.",
    "rms_ce": "Root-mean-square calibration error: like the expected calibration error but weighing large gaps more.",
    "brier": "Brier score: a combined measure of accuracy and confidence over the whole vocabulary "
             "(0 is perfect, lower is better).",
    "brier_top_label": "Brier score of the single most likely next word-piece only (0 is perfect, lower is better).",
    "tokens": "How many word-pieces (tokens) the numbers are based on; more tokens, more trustworthy numbers.",
    "documents": "How many documents the numbers are based on; intervals are computed by resampling documents.",
    "delta_nll": "Change in average surprise (adapted minus base, nats per word-piece); negative means the adapted "
                 "model predicts the text better.",
    "ppl_change_pct": "Change in perplexity in percent (adapted against base); negative is an improvement.",
    "ci95": "The 95% interval of the change: if it does not include 0, the change is unlikely to be chance.",
    "significant": "Whether the 95% interval of the change excludes zero (the change is unlikely to be chance).",
    "documents_improved": "Documents the adapted model predicts better than the base model.",
    "documents_worse": "Documents the adapted model predicts worse than the base model.",
    "forgetting": "Forgetting: how much worse the adapted model became on general, non-domain text; a small "
                  "cost is normal, a large one means the model lost general ability.",
    "forgetting_threshold_pct": "The largest increase of general-text perplexity (in percent) the run accepts "
                                "before calling it forgetting.",
    "calibration": "Calibration: whether the model's confidence matches how often it is right.",
    "term_delta": "Change in surprise on this term per occurrence (nats, adapted minus base); negative means the "
                  "adapted model expects the term more.",
    "term_interval": "The 95% interval of the term's change over its occurrences; with few occurrences no interval "
                     "is given and the change may be chance.",
    "token_delta": "Change in surprise on this word-piece (nats, adapted minus base): blue means the adapted model "
                   "found it more expected, red less.",
    "repetition": "Share of repeated three-word sequences in a generated continuation; a high share means the model "
                  "got stuck repeating itself.",
    "leakage": "Evaluation documents that are near-copies of training documents (word-sequence overlap, Jaccard); "
               "scores on them overstate what adaptation bought.",
    "probe": "A fill-in-the-blank question from the domain: how likely each model finds the expected answer.",
    "temperature_scaling": "A single correction factor for the model's confidence, fitted on half the documents and "
                           "checked on the other half.",
}


def explain(key: str) -> str:
    """The sentence for ``key`` (a metric name as it appears in ``comparison.json``); '' when there is none."""
    return METRICS.get(key, "")


def hover(key: str) -> str:
    """:func:`explain` wrapped for plotly hover text (about 60 characters per line)."""
    words, lines, line = explain(key).split(), [], ""
    for word in words:
        if line and len(line) + len(word) > 60:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "<br>".join(lines)


__all__ = ["METRICS", "explain", "hover"]
