"""Token counts of documents, exactly as the model's tokenizer gives them, as fast as we can get them.

Most of the time of a byte-level BPE tokenizer (GPT-2 / Llama-3 / SmolLM style) goes into splitting the
text into pre-tokens with its regex, not into BPE: the BPE of each distinct pre-token is cached. So
for such tokenizers (``ByteLevel`` pre-tokenizer with the GPT-2 regex, no normalizer, BPE model) we
split documents with the same regex (the ``regex`` package) and sum a per-pre-token token count that
the tokenizer itself computes once per distinct pre-token (``model.tokenize``). That is exact, not an
approximation, provided both regex engines classify every character of the document the same way
(letter, number, whitespace, other): at start-up the characters U+0000..U+2FFF are probed through the
tokenizer's own pre-tokenizer, and a document holding any character outside the verified set (or an
added/special token's text) is counted with the tokenizer's batched Rust encoder instead. Any other
kind of tokenizer always uses the batched Rust encoder.
"""

from __future__ import annotations

import functools
import json
import re

GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_PROBED = 0x3000  # characters U+0000..U+2FFF are checked; others send their document to the Rust encoder
_CACHE_LIMIT = 2_000_000


@functools.lru_cache(maxsize=1)
def _byte_chars() -> list[str]:
    """GPT-2's reversible byte -> printable character table (what ByteLevel maps bytes to)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, map(chr, cs)))
    return [table[b] for b in range(256)]


def _class_ranges(chars: list[int]) -> str:
    """A regex character-class body for a sorted list of code points."""
    parts, i = [], 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and chars[j + 1] == chars[j] + 1:
            j += 1
        lo, hi = chars[i], chars[j]
        parts.append(re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}")
        i = j + 1
    return "".join(parts)


class _PieceLengths(dict):
    """Pre-token -> its number of tokens, computed by the tokenizer on first use."""

    def __init__(self, backend):
        super().__init__()
        self.backend = backend

    def __missing__(self, piece: str) -> int:
        n = sum(len(self.backend.model.tokenize(p)) for p, _ in self.backend.pre_tokenizer.pre_tokenize_str(piece))
        self[piece] = n
        return n

    def __reduce__(self):  # pickled into worker processes with the backend, without the cache
        return (_PieceLengths, (self.backend,))


class PretokenCounter:
    """Exact token counts for byte-level BPE tokenizers via a cached per-pre-token count (see module doc)."""

    def __init__(self, backend, pattern, unsafe: re.Pattern, added: list[str]):
        self.backend = backend
        self.pattern = pattern
        self.unsafe = unsafe
        self.added = added
        self.lengths = _PieceLengths(backend)

    @classmethod
    def for_backend(cls, backend) -> PretokenCounter | None:
        """The counter for this Rust tokenizer, or None when its pipeline is not the one we reproduce."""
        try:
            import regex
        except ImportError:  # pragma: no cover - regex comes with transformers
            return None
        try:
            spec = json.loads(backend.to_str())
        except Exception:  # noqa: BLE001 - not a serialisable Rust tokenizer
            return None
        pre = spec.get("pre_tokenizer") or {}
        if (spec.get("normalizer") is not None or (spec.get("model") or {}).get("type") != "BPE"
                or pre.get("type") != "ByteLevel" or pre.get("add_prefix_space") or not pre.get("use_regex", True)):
            return None
        pattern = regex.compile(GPT2_SPLIT)
        safe = _verified_chars(backend, pattern)
        if not set(range(128)).issubset(safe):  # ASCII documents skip the character check
            return None
        unsafe = re.compile(f"[^{_class_ranges(safe)}]")
        added = [t["content"] for t in spec.get("added_tokens") or [] if t.get("content")]
        return cls(backend, pattern, unsafe, added)

    def _fast(self, text: str) -> bool:
        if not text.isascii() and self.unsafe.search(text) is not None:  # every ASCII character is verified
            return False
        return not any(a in text for a in self.added)

    def count(self, texts: list[str], encode) -> list[int]:
        """Token count of each text; documents we cannot count exactly go to ``encode`` (batched)."""
        if len(self.lengths) > _CACHE_LIMIT:
            self.lengths = _PieceLengths(self.backend)
        get = self.lengths.__getitem__
        findall = self.pattern.findall
        out: list[int] = []
        slow: list[int] = []
        for i, text in enumerate(texts):
            if self._fast(text):
                out.append(sum(map(get, findall(text))))
            else:
                out.append(0)
                slow.append(i)
        if slow:
            for i, ids in zip(slow, encode([texts[i] for i in slow])):
                out[i] = len(ids)
        return out


def _probe(chars: list[int]) -> str:
    # each character in a letter, a number, a leading-space and a repeated context: a character the
    # two engines classify differently (letter / number / whitespace / other) splits differently here
    return "".join(f"x{c}x1{c}1{c}{c}x\n" for c in map(chr, chars))


def _agree(backend, pattern, chars: list[int]) -> bool:
    table = _byte_chars()
    text = _probe(chars)
    ours = ["".join(table[b] for b in piece.encode("utf-8")) for piece in pattern.findall(text)]
    theirs = [piece for piece, _ in backend.pre_tokenizer.pre_tokenize_str(text)]
    return ours == theirs


def _verified_chars(backend, pattern) -> list[int]:
    """Code points below ``_PROBED`` whose pre-tokenization matches the tokenizer's (cached per tokenizer)."""
    key = backend.to_str()
    if key not in _VERIFIED:
        safe: list[int] = []
        todo = [[c for c in range(lo, min(lo + 1024, _PROBED)) if not 0xD800 <= c <= 0xDFFF]
                for lo in range(0, _PROBED, 1024)]
        while todo:
            block = todo.pop()
            if not block:
                continue
            if _agree(backend, pattern, block):
                safe.extend(block)
            elif len(block) > 1:
                todo += [block[: len(block) // 2], block[len(block) // 2:]]
        _VERIFIED.clear()
        _VERIFIED[key] = sorted(safe)
    return _VERIFIED[key]


_VERIFIED: dict[str, list[int]] = {}
