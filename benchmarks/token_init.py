"""How new glossary tokens start: held-out bits per byte before any training, by initialisation.

Grows the model's vocabulary with the glossary terms the tokenizer splits into 3+ pieces (as
``knowledge.new_tokens`` does) and scores held-out domain and general text with the grown tokenizer,
for each initialisation of the new rows (``workbench.training.embeddings``): ``subtokens`` (the mean of
the pieces the term used to split into) and ``definition`` (the mean of its definition's tokens), against
the base with its own tokenizer. Bits per byte do not depend on how the text is cut into tokens, so the
three compare; a new row that starts well costs nothing before training.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/token_init.py --model smollm2-135m --docs 8 --out benchmarks/results/token-init-smollm2.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def bits_per_byte(model, tokenizer, texts: list[str], max_tokens: int) -> tuple[float, int]:
    """Bits per byte of the first ``max_tokens`` tokens of each text (BOS first), and the bytes scored."""
    import torch

    nll, n_bytes = 0.0, 0
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
        batch = torch.tensor([[prefix, *ids]])
        with torch.no_grad():
            logp = torch.log_softmax(model(batch).logits[0, :-1].float(), -1)
        nll += -float(logp.gather(-1, batch[0, 1:, None]).sum())
        n_bytes += len(tokenizer.decode(ids).encode("utf-8"))
    return nll / math.log(2) / n_bytes, n_bytes


def main(argv: list[str] | None = None) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.documents.glossary import read_knowledge
    from workbench.io import read_jsonl
    from workbench.models.load import resolve_model
    from workbench.samples import sample_path
    from workbench.training.embeddings import add_new_tokens, select_new_tokens
    from workbench.training.knowledge import definitions_by_term

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--glossary", default=str(sample_path("glossary.csv")))
    parser.add_argument("--docs", type=int, default=8, help="held-out documents per set")
    parser.add_argument("--max-tokens", type=int, default=512, help="tokens scored per document (base tokenizer)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    path = resolve_model(args.model).path
    concepts = read_knowledge(args.glossary)
    sets = {name: [r["text"] for r in read_jsonl(sample_path(f"{name}_eval.jsonl"))][: args.docs]
            for name in ("domain", "general")}
    rows = {}
    for init in ("base", "subtokens", "definition"):
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()
        added = 0
        if init != "base":
            terms = select_new_tokens(tokenizer, [c.term for c in concepts], limit=200)
            added = len(add_new_tokens(model, tokenizer, terms, definitions_by_term(concepts), init))
        rows[init] = {"new_tokens": added, **{f"{name}_bpb": bits_per_byte(model, tokenizer, texts, args.max_tokens)[0]
                                               for name, texts in sets.items()}}
        print(init, json.dumps(rows[init]), flush=True)
    for init in ("subtokens", "definition"):
        for name in ("domain", "general"):
            rows[init][f"{name}_change_pct"] = 100 * (rows[init][f"{name}_bpb"] / rows["base"][f"{name}_bpb"] - 1)
    result = {"model": args.model, "docs": args.docs, "max_tokens": args.max_tokens,
              "tied_embeddings": bool(getattr(model.config, "tie_word_embeddings", False)), "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
