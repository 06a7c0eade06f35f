"""Documents from files: the corpus formats every stage reads (text, JSONL, CSV, Parquet, PDF, gzip).

``readers`` turns files into documents (text units, size limits, skipped records counted);
``texts`` says what training and evaluation read (a snapshot's split, a corpus file, the
held-out sets); ``dedup`` finds near-duplicates (curation's dedup and a comparison's leakage check
use one definition); ``words`` says what a word is; ``difficulty`` how hard a text is to learn from. Below the stages: the corpus stage, training and evaluation all read through it,
so a file reads the same wherever it is used.
"""

__all__ = ["dedup", "difficulty", "glossary", "readers", "texts", "words"]
