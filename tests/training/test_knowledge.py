"""Knowledge from a glossary in training: the rendered text, its share of the schedule, definition-initialised
new tokens, and what the run card and manifest record."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.documents.glossary import Concept, read_knowledge
from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl
from workbench.training.config import TrainConfig
from workbench.training.knowledge import render_knowledge
from workbench.training.mixing import block_schedule


def test_rendered_text_states_definitions_and_relations():
    concepts = [Concept("anticoagulant", "A drug that slows clotting"),
                Concept("warfarin", "An oral vitamin K antagonist.", broader=("anticoagulant",), synonyms=("coumadin",),
                        related=("INR",)),
                Concept("INR")]  # neither definition nor relation: nothing to render
    assert render_knowledge(concepts) == [
        "anticoagulant: A drug that slows clotting.\nExamples of anticoagulant include warfarin.",
        "warfarin: An oral vitamin K antagonist.\nwarfarin is a kind of anticoagulant.\n"
        "warfarin is also called coumadin.\ncoumadin is another name for warfarin.\nwarfarin is related to INR.",
    ]


def _two_source_schedule(n_domain, n_slots, seed, n_replay=0, replay_ratio=0.0):
    """The domain+replay rule as it stood before knowledge blocks, written out again."""
    rng = np.random.default_rng(seed)
    slots = np.arange(n_slots)
    is_replay = (np.floor((slots + 1) * replay_ratio) > np.floor(slots * replay_ratio)) if n_replay and replay_ratio \
        else np.zeros(n_slots, bool)

    def cycled(n, count):
        if count <= 0:
            return np.zeros(0, np.int64)
        return np.concatenate([rng.permutation(n) for _ in range(-(-count // n))])[:count]

    out = np.empty(n_slots, np.int64)
    out[~is_replay] = cycled(n_domain, int((~is_replay).sum()))
    out[is_replay] = cycled(n_replay, int(is_replay.sum())) + n_domain if is_replay.any() else []
    return out


@pytest.mark.parametrize("n_replay, replay_ratio", [(0, 0.0), (7, 0.2)])
def test_without_knowledge_the_schedule_is_the_two_source_one(n_replay, replay_ratio):
    expected = _two_source_schedule(13, 101, 5, n_replay, replay_ratio)
    assert np.array_equal(block_schedule(13, 101, 5, n_replay, replay_ratio), expected)
    assert np.array_equal(block_schedule(13, 101, 5, n_replay, replay_ratio, n_knowledge=4, knowledge_ratio=0.0), expected)


def test_knowledge_blocks_take_their_share_of_all_slots_apart_from_replay():
    n_domain, n_replay, n_knowledge, slots = 20, 6, 3, 200
    schedule = block_schedule(n_domain, slots, 1, n_replay, 0.1, n_knowledge, 0.25)
    replay = (schedule >= n_domain) & (schedule < n_domain + n_replay)
    knowledge = schedule >= n_domain + n_replay
    assert replay.sum() == 20 and knowledge.sum() == 50  # 10% and 25% of 200 slots
    assert schedule.max() < n_domain + n_replay + n_knowledge
    assert set(schedule[knowledge] - n_domain - n_replay) == {0, 1, 2}  # every rendered block is seen
    gaps = np.diff(np.flatnonzero(knowledge))
    assert gaps.max() <= 6  # spread through the run, not bunched at one end
    # the replay slots are where they were without knowledge
    assert np.array_equal(replay, (_two_source_schedule(n_domain, slots, 1, n_replay, 0.1) >= n_domain))


def test_knowledge_settings_are_checked_before_anything_runs():
    from workbench.training.config import KnowledgeSettings

    with pytest.raises(WorkbenchError) as info:
        KnowledgeSettings(text_share=0.2)
    assert info.value.field == "knowledge.glossary"
    with pytest.raises(WorkbenchError) as info:
        KnowledgeSettings(glossary="g.csv", text_share=1.0)
    assert info.value.field == "knowledge.text_share"
    with pytest.raises(WorkbenchError) as info:
        TrainConfig(replay_ratio=0.5, knowledge=KnowledgeSettings(glossary="g.csv", text_share=0.5))
    assert info.value.field == "knowledge.text_share"
    with pytest.raises(WorkbenchError) as info:
        TrainConfig(new_tokens="g.csv", knowledge=KnowledgeSettings(glossary="g.csv", new_tokens=True))
    assert info.value.field == "new_tokens"
    with pytest.raises(WorkbenchError) as info:
        KnowledgeSettings(glossary="g.csv", token_init="random")
    assert info.value.field == "knowledge.token_init"


def test_a_new_token_starts_at_the_mean_embedding_of_its_definition(tiny_model, sample_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.training.embeddings import add_new_tokens, select_new_tokens

    concepts = read_knowledge(sample_dir / "ontology.yaml")
    definitions = {c.term: c.definition for c in concepts}
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    terms = select_new_tokens(tokenizer, [c.term for c in concepts], limit=5)
    assert terms
    table = model.get_input_embeddings().weight.detach().clone()
    # independently: the definition as the tokenizer cuts it (after a space), before the vocabulary grows
    expected = {t: table[tokenizer(" " + definitions[t], add_special_tokens=False)["input_ids"]].mean(0) for t in terms}
    pieces = {t: table[tokenizer(" " + t, add_special_tokens=False)["input_ids"]].mean(0) for t in terms}
    ids = add_new_tokens(model, tokenizer, terms, definitions, init="definition")
    grown = model.get_input_embeddings().weight.detach()
    for term, new_id in zip(terms, ids):
        assert torch.allclose(grown[new_id], expected[term], atol=1e-6)
        assert not torch.allclose(grown[new_id], pieces[term], atol=1e-3)  # not the old sub-token mean
    assert not torch.allclose(grown[ids[0]], table.mean(0), atol=1e-3)  # nor the mean of all embeddings
    assert torch.equal(grown[: table.shape[0]], table)  # old rows untouched


def test_subtoken_initialisation_stays_an_option(tiny_model, sample_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.training.embeddings import add_new_tokens

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    table = model.get_input_embeddings().weight.detach().clone()
    expected = table[tokenizer(" rivaroxaban", add_special_tokens=False)["input_ids"]].mean(0)
    fallback = table[tokenizer(" idarucizumab", add_special_tokens=False)["input_ids"]].mean(0)
    (new_id,) = add_new_tokens(model, tokenizer, ["rivaroxaban"], {"rivaroxaban": "A factor Xa inhibitor."},
                               init="subtokens")
    assert torch.allclose(model.get_input_embeddings().weight[new_id], expected, atol=1e-6)
    # no definition: the term's own pieces, whatever init asks for
    (other,) = add_new_tokens(model, tokenizer, ["idarucizumab"], {}, init="definition")
    assert torch.allclose(model.get_input_embeddings().weight[other], fallback, atol=1e-6)


def test_a_run_mixes_rendered_glossary_text_and_records_it(tiny_model, tmp_path, workspace, sample_dir):
    from workbench.artifacts import read_manifest
    from workbench.io import sha256_file
    from workbench.workflows import train

    ontology = sample_dir / "ontology.yaml"
    config = TrainConfig(model=str(tiny_model), max_tokens=2048, block_size=64, micro_batch_size=4, eval_every=0.0,
                         learning_rate=5e-3, out=str(tmp_path / "know"),
                         knowledge={"glossary": str(ontology), "text_share": 0.25, "new_tokens": True})
    run = train(config, workspace, progress=False)
    card = read_json(run / "run.json")
    knowledge = card["knowledge"]
    rendered = render_knowledge(read_knowledge(ontology))
    assert [r["text"] for r in read_jsonl(run / "knowledge.jsonl")] == rendered
    assert knowledge["documents"] == len(rendered) == 20 and knowledge["text_share"] == 0.25
    assert knowledge["slots"] == 8 and knowledge["slot_share"] == 0.25  # 32 slots of 64 tokens, a quarter
    assert knowledge["token_init"] == "definition" and knowledge["new_tokens"] == card["data"]["new_tokens"] > 0
    assert card["data"]["knowledge_blocks"] == knowledge["blocks"] > 0
    assert card["inputs"]["knowledge"]["sha256"] == sha256_file(ontology)
    manifest = read_manifest(run)
    assert manifest.card["knowledge"] == knowledge and manifest.card["config"]["knowledge"]["text_share"] == 0.25
    assert manifest.card["inputs"]["knowledge"]["sha256"] == sha256_file(ontology)
