"""Language identification with py3langid (its model ships inside the package: works offline)."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str, chars: int = 500) -> tuple[str, float]:
    """(ISO 639-1 code, probability) from the first ``chars`` characters; ('und', 0.0) for text without letters."""
    sample = text[:chars]
    if not any(c.isalpha() for c in sample):
        return "und", 0.0
    lang, prob = _identifier().classify(sample)
    return lang, float(prob)
