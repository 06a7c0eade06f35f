"""New domain tokens from a glossary, each initialised as the mean embedding of its definition's tokens
(``definition``) or of the old sub-tokens the term used to split into (``subtokens``).

A new row that starts where the words defining the term sit in embedding space carries some of its
meaning from the first step; the mean of its own pieces ("war", "far", "in") carries their meaning
instead. A term without a definition falls back to its pieces."""

from __future__ import annotations


def select_new_tokens(tokenizer, terms: list[str], min_pieces: int = 3, limit: int = 200) -> list[str]:
    """Terms the tokenizer splits into ``min_pieces`` or more pieces (as a word after a space),
    most fragmented first, at most ``limit``; terms already in the vocabulary are skipped."""
    vocab = tokenizer.get_vocab()
    scored = []
    for term in dict.fromkeys(terms):
        if " " in term or term in vocab:
            continue
        pieces = len(tokenizer(" " + term, add_special_tokens=False)["input_ids"])
        if pieces >= min_pieces:
            scored.append((-pieces, term))
    return [term for _, term in sorted(scored)[:limit]]


def init_token_ids(tokenizer, terms: list[str], definitions: dict[str, str] | None = None,
                   init: str = "definition") -> dict[str, list[int]]:
    """The old token ids whose embedding rows each new term's row is the mean of: its definition's tokens
    (``init="definition"``, when ``definitions`` has one) else the pieces of `` term``. Read before the
    tokenizer grows."""
    if init not in ("definition", "subtokens"):
        raise ValueError(f"init is {init!r}; use 'definition' or 'subtokens'")
    definitions = definitions or {}
    out = {}
    for term in terms:
        text = definitions.get(term, "").strip() if init == "definition" else ""
        out[term] = tokenizer((" " + text) if text else (" " + term), add_special_tokens=False)["input_ids"]
    return out


def add_new_tokens(model, tokenizer, terms: list[str], definitions: dict[str, str] | None = None,
                   init: str = "subtokens") -> list[int]:
    """Add ``terms`` to the tokenizer, grow the embeddings, and initialise each new row as the mean of the
    rows :func:`init_token_ids` names (input embeddings, and an untied output head alike). Returns the new
    token ids."""
    import torch
    from tokenizers import AddedToken

    if not terms:
        return []
    old_pieces = init_token_ids(tokenizer, terms, definitions, init)
    tokenizer.add_tokens([AddedToken(t, single_word=True, normalized=False) for t in terms])
    new_ids = tokenizer.convert_tokens_to_ids(terms)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        tables = [model.get_input_embeddings().weight]
        output = model.get_output_embeddings()
        if output is not None and output.weight.data_ptr() != tables[0].data_ptr():
            tables.append(output.weight)
        for table in tables:
            for term, new_id in zip(terms, new_ids):
                table[new_id] = table[old_pieces[term]].float().mean(0).to(table.dtype)
    return list(new_ids)
