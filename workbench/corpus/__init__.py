"""Corpus: readers, profiling (tokenizer fit, duplicates, quality, PII, domain shift), curation."""
