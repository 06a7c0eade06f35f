"""Corpus: profiling (tokenizer fit, duplicates, quality, PII, domain shift), curation.

The public modules are listed in ``__all__``; the others (quality, pii, language, words, tokens,
signals, flags, report) are the profile's parts. Nothing is imported here, so ``import
workbench.corpus`` stays light. Files are read by ``workbench.documents``.
"""

__all__ = ["config", "curate", "domain", "plots", "profile", "representation", "synthetic"]
