"""The base model's per-document scores, kept between comparisons.

A comparison scores the base on the same held-out documents with the same window and tokenizer
every time; only the adapted side changes from run to run. :class:`ScoreCache` keeps each scored set
as one ``.npz`` file named by a key over everything the numbers depend on (:func:`score_key`): the
weights' hash, the quantization and whether it was dequantized, the tokenizer, window, stride,
batch size, precision, device, temperatures and each document's text. Any change gives another key,
so a stale entry is never read; a hit gives back exactly the arrays that were scored.

The folder is handed in by the recipe layer (``workbench.workflows.evaluation.compare`` uses
``WORKSPACE/.cache/base-scores``); without one nothing is cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.evaluation.perplexity import CorpusScore, DocumentScore

FORMAT = 1  # bump when the stored arrays change meaning
_ARRAYS = ("nll", "top1_prob", "top1_correct", "sum_p2", "target_prob", "token_ids")
_OPTIONAL = ("nll_by_temperature", "top1_prob_by_temperature")


def tokenizer_digest(tokenizer) -> str:
    """sha256 of what decides how a text becomes token ids: the vocabulary, the merges or model, the
    special tokens (the tokenizer's full JSON when it has a fast backend)."""
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is not None and hasattr(backend, "to_str"):
        text = backend.to_str()
    else:
        text = json.dumps(sorted(tokenizer.get_vocab().items()))
    special = {"class": type(tokenizer).__name__, "bos": tokenizer.bos_token_id, "eos": tokenizer.eos_token_id,
               "pad": tokenizer.pad_token_id, "size": len(tokenizer)}
    return hashlib.sha256((text + json.dumps(special, sort_keys=True)).encode("utf-8")).hexdigest()


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 over the sha256 of each document's text, in order."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()


def score_key(**parts) -> str:
    """The cache key of a scored set: sha256 of its parts (JSON, sorted keys)."""
    return hashlib.sha256(json.dumps({"format": FORMAT, **parts}, sort_keys=True, default=str).encode()).hexdigest()


class ScoreCache:
    """Scored sets stored as ``<folder>/<key>.npz``."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def get(self, key: str) -> CorpusScore | None:
        """The scores stored under ``key``, or None (never stored, or unreadable: scored again)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return _unpack({name: data[name] for name in data.files})
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, score: CorpusScore) -> Path:
        """Store ``score`` under ``key`` (written to a temporary file and renamed: never half a file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **_pack(score))
        os.replace(tmp, path)
        return path


def _pack(score: CorpusScore) -> dict[str, np.ndarray]:
    docs = score.documents
    arrays = {"lengths": np.array([d.tokens for d in docs], dtype=np.int64),
              "n_bytes": np.array([d.n_bytes for d in docs], dtype=np.int64),
              "n_words": np.array([d.n_words for d in docs], dtype=np.int64),
              "temperatures": np.array(score.temperatures, dtype=np.float64)}
    for name in _ARRAYS:
        arrays[name] = np.concatenate([getattr(d, name) for d in docs]) if docs else np.zeros(0)
    for name in _OPTIONAL:
        if docs and getattr(docs[0], name) is not None:
            arrays[name] = np.concatenate([getattr(d, name) for d in docs])
    return arrays


def _unpack(arrays: dict[str, np.ndarray]) -> CorpusScore:
    bounds = np.concatenate([[0], np.cumsum(arrays["lengths"])]).astype(np.int64)
    result = CorpusScore(temperatures=tuple(float(t) for t in arrays["temperatures"]))
    for i in range(len(arrays["lengths"])):
        lo, hi = bounds[i], bounds[i + 1]
        optional = {name: arrays[name][lo:hi] if name in arrays else None for name in _OPTIONAL}
        result.documents.append(DocumentScore(**{name: arrays[name][lo:hi] for name in _ARRAYS},
                                              n_bytes=int(arrays["n_bytes"][i]), n_words=int(arrays["n_words"][i]),
                                              **optional))
    return result


def model_key_parts(model) -> dict:
    """What a base key takes from the loaded model: its device, dtype and whether an NF4 base is scored
    through a dequantized copy (recorded with a comparison's timing, so an estimate can rebuild the key)."""
    from workbench.models.load import linear4bit_layers

    parameter = next(model.parameters())
    dense = any("forward" in vars(layer) for layer in linear4bit_layers(model))  # scored through a dequantized copy
    return {"device": parameter.device.type, "dtype": str(parameter.dtype), "dequantized": dense}


def base_key(model, tokenizer, texts: Sequence[str], config, weights_sha256: str | None, quant: str, precision: str,
             vocab_limit: int | None = None) -> str | None:
    """The key of the base's scores of ``texts`` (None when the weights' hash is not known: not cached)."""
    return base_key_from(model_key_parts(model), tokenizer, texts, config, weights_sha256, quant, precision, vocab_limit)


def base_key_from(parts: dict, tokenizer, texts: Sequence[str], config, weights_sha256: str | None, quant: str,
                  precision: str, vocab_limit: int | None = None) -> str | None:
    """:func:`base_key` from :func:`model_key_parts` instead of the loaded model."""
    if not weights_sha256:
        return None
    import torch

    from workbench.evaluation.metrics import scoring_temperatures

    return score_key(weights=weights_sha256, quant=quant, dequantized=parts["dequantized"], device=parts["device"],
                     dtype=parts["dtype"], tokenizer=tokenizer_digest(tokenizer), vocab_limit=vocab_limit,
                     window=config.window, stride=config.stride, batch_size=config.batch_size, precision=precision,
                     temperatures=scoring_temperatures(config), texts=texts_digest(texts), torch=torch.__version__)


__all__ = ["ScoreCache", "score_key", "base_key", "base_key_from", "model_key_parts", "tokenizer_digest", "texts_digest"]
