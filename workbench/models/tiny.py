"""A tiny random Llama with an offline byte-level BPE tokenizer, for tests and dry runs.

Unit tests never need the default model: this builds in about a second, has the same
architecture family (Llama: RMSNorm, RoPE, SwiGLU, grouped-query attention) and exercises the
same code paths, 4-bit NF4 quantization included.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>"]

# Used when no training text is given and the sample corpus is not beside the package.
_FALLBACK_TEXT = (
    "Clinical pharmacology studies how drugs act in people: absorption, distribution, metabolism "
    "and excretion decide the concentration at the site of action, while the receptor and the dose "
    "decide the effect. Warfarin, heparin, digoxin, lithium and vancomycin need monitoring because "
    "the gap between a useful and a harmful concentration is narrow. The quick brown fox jumps over "
    "the lazy dog; a river runs to the sea; bread rises because yeast makes gas."
)


def _default_texts() -> list[str]:
    from workbench.samples import sample_path

    corpus = sample_path("domain_corpus.jsonl")
    if corpus.exists():
        import json

        with open(corpus, encoding="utf-8") as handle:
            return [json.loads(line)["text"] for line in handle if line.strip()]
    return [_FALLBACK_TEXT] * 4


def build_tiny_tokenizer(out_dir: str | Path, texts: Iterable[str] | None = None, vocab_size: int = 512):
    """Train a byte-level BPE tokenizer (any UTF-8 text encodes; no unknown tokens) and save it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts) if texts is not None else _default_texts(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        pad_token="<|pad|>",
        model_max_length=2048,
    )
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str] | None = None,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    max_position_embeddings: int = 1024,
    seed: int = 0,
) -> Path:
    """Write a tiny random Llama (safetensors) and its tokenizer to ``out_dir``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = build_tiny_tokenizer(out_dir, texts, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir
