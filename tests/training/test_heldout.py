"""In-training evaluation scores with the scorer it receives; workbench.workflows.train hands it evaluation's."""

from dataclasses import dataclass

from workbench.io import read_jsonl
from workbench.training.config import TrainConfig
from workbench.training.heldout import HeldOutEvaluator


class WordTokenizer:
    """Whitespace tokens: enough for capping the held-out sets."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(range(len(text.split())))}

    def decode(self, ids):
        return " ".join("w" for _ in ids)


@dataclass
class FakeScore:
    token_ppl: float
    tokens: int


def test_the_evaluator_scores_each_set_with_the_scorer_it_was_given():
    calls = []

    def scorer(model, tokenizer, texts, *, window, progress):
        calls.append((model, tokenizer, list(texts), window, progress))
        return FakeScore(token_ppl=float(len(texts)) + 1.5, tokens=10 * len(texts))

    tokenizer, model = WordTokenizer(), object()
    sets = {"domain": ["a b c", "d e"], "general": ["f"], "empty": []}
    evaluator = HeldOutEvaluator(tokenizer, sets, max_tokens=100, window=32, dequantize="off", scorer=scorer)
    result = evaluator(model)
    assert result == {"domain_ppl": 3.5, "domain_eval_tokens": 20, "general_ppl": 2.5, "general_eval_tokens": 10,
                      "dequantized": False}
    assert calls == [(model, tokenizer, ["a b c", "d e"], 32, False), (model, tokenizer, ["f"], 32, False)]


def test_workflows_train_hands_training_evaluations_perplexity(monkeypatch, tmp_path):
    import workbench.training.trainer as trainer
    from workbench.evaluation.perplexity import score_documents
    from workbench.workflows import train, train_config
    from workbench.workspace import Workspace

    seen = []
    monkeypatch.setattr(trainer, "train", lambda config, workspace, **kw: seen.append((config, workspace, kw)) or "run")
    config, ws = train_config(), Workspace(tmp_path)
    assert train(config, ws, overwrite=True) == "run"
    train(None, ws, resume="runs/a", progress=False)
    assert seen == [
        (config, ws, dict(resume=None, overwrite=True, progress=True, on_progress=None, scorer=score_documents,
                          changes=None, allow_changed_data=False)),
        (None, ws, dict(resume="runs/a", overwrite=False, progress=False, on_progress=None, scorer=score_documents,
                        changes=None, allow_changed_data=False)),
    ]


def test_training_without_a_scorer_refuses_before_it_loads_anything(tmp_path):
    """Training never picks evaluation's scorer itself: a run that evaluates must be handed one."""
    import pytest

    from workbench.training.trainer import _required

    with pytest.raises(TypeError, match="workbench.workflows.train"):
        _required(None, TrainConfig(eval_every=0.1))
    assert _required(None, TrainConfig(eval_every=0.0)) is None


def test_a_run_evaluates_with_the_scorer_passed_to_train(tiny_model, tmp_path, workspace):
    """The scorer given to train() is the one behind the eval rows of metrics.jsonl (2 steps, CPU)."""
    from workbench.evaluation.perplexity import score_documents
    from workbench.training.trainer import train

    scored = []

    def recording_scorer(model, tokenizer, texts, *, window, progress):
        score = score_documents(model, tokenizer, texts, window=window, progress=progress)
        scored.append(score.token_ppl)
        return score

    config = TrainConfig(model=str(tiny_model), max_tokens=512, block_size=64, micro_batch_size=4, eval_every=0.5,
                         eval_max_tokens=64, out=str(tmp_path / "run"))
    run = train(config, workspace, progress=False, scorer=recording_scorer)
    evals = [m for m in read_jsonl(run / "metrics.jsonl") if m["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 1, 2]
    # domain then general at every evaluation, in the order the scorer was called
    assert [v for e in evals for v in (e["domain_ppl"], e["general_ppl"])] == scored
