"""New domain tokens from a glossary, initialised as the mean of their old sub-token embeddings."""

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


def add_new_tokens(model, tokenizer, terms: list[str]) -> list[int]:
    """Add ``terms`` to the tokenizer, grow the embeddings, and initialise each new row as the
    mean of the rows of the sub-tokens the term used to split into. Returns the new token ids."""
    import torch
    from tokenizers import AddedToken

    if not terms:
        return []
    old_pieces = {term: tokenizer(" " + term, add_special_tokens=False)["input_ids"] for term in terms}
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
