"""workbench.notebook: the functions the guided notebooks call (no kernel needed)."""

from __future__ import annotations

import pytest

from workbench import notebook as nb
from workbench.errors import WorkbenchError


@pytest.mark.parametrize("value,expected", [("", False), ("0", False), ("false", False), ("1", True), ("yes", True)])
def test_small_mode_reads_the_environment(value, expected):
    assert nb.small_mode({"WORKBENCH_SMALL": value}) is expected
    assert nb.small_mode({}) is False


def test_setup_small_mode_picks_the_tiny_model_and_small_budgets(tiny_home, tmp_path):
    s = nb.setup(tmp_path / "ws", small=True)
    assert s.model == "tiny-llama" and s.small
    assert s.max_tokens == 2048
    assert s.train_overrides["block_size"] == 64
    assert s.corpus[0].endswith("domain_corpus.jsonl") and s.glossary.endswith("glossary.csv")
    assert s.labels_db == s.workspace.root / "labels.db"
    big = nb.setup(tmp_path / "ws", model="tiny-llama", small=False, glossary=None)
    assert big.max_tokens == 16384 and big.train_overrides == {} and big.glossary is None


def test_setup_names_a_missing_corpus(tmp_path):
    with pytest.raises(WorkbenchError, match="nope.txt does not exist.*CORPUS"):
        nb.setup(tmp_path / "ws", corpus=str(tmp_path / "nope.txt"), small=True)


def test_train_settings_without_widgets_give_the_parameters(tmp_path):
    settings = nb.TrainSettings(preset=None, lora_r=8, max_tokens=4096, replay_ratio=0.1)
    assert settings.values() == {"preset": None, "max_tokens": 4096, "lora.r": 8, "replay_ratio": 0.1}
    config = settings.config(model="tiny-llama", data=str(tmp_path / "x.jsonl"))
    assert config.lora.r == 8 and config.max_tokens == 4096
    assert config.replay == "sample" and config.replay_ratio == 0.1  # replay text chosen for a non-zero ratio


def test_train_settings_read_the_widgets_current_values():
    pytest.importorskip("ipywidgets")
    settings = nb.TrainSettings(preset=None, lora_r=16, max_tokens=4096)
    box = settings.widget()
    assert len(box.children) == 4
    settings._widgets["lora_r"].value = 32
    settings._widgets["preset"].value = "smollm2-135m-cpu"
    assert settings.values()["lora.r"] == 32
    assert settings.config(data="x").block_size != 0 and settings.values()["preset"] == "smollm2-135m-cpu"


def test_chosen_paths_name_what_is_wrong(tmp_path):
    pytest.importorskip("ipywidgets")
    good = tmp_path / "a.txt"
    good.write_text("hello")
    box = nb.path_chooser([str(good)])
    assert nb.chosen_paths(box) == [str(good)]
    box.value = f"{good}\n{tmp_path / 'missing.txt'}\n"
    with pytest.raises(WorkbenchError, match="missing.txt does not exist"):
        nb.chosen_paths(box)
    box.value = "  \n"
    with pytest.raises(WorkbenchError, match="no path given"):
        nb.chosen_paths(box)


def test_status_line_reads_like_a_sentence():
    line = nb.status_line({"state": "running", "phase": "training", "step": 3, "total_steps": 10,
                           "tokens_per_s": 1234.5, "eta_s": 125})
    assert line == "running · training · step 3/10 · 1,234 tokens/s · about 2 min 5 s left"
    assert nb.status_line({"state": "failed", "error": "boom"}).endswith("error: boom")
    assert "eta" not in nb.status_line({"state": "finished", "eta_s": 3})


def test_training_data_prefers_the_snapshot(tiny_home, tmp_path):
    s = nb.setup(tmp_path / "ws", small=True)
    assert nb.training_data(s, "mine") == s.corpus[0]
    snap = s.folder("snapshots", "mine")
    snap.mkdir(parents=True)
    (snap / "manifest.json").write_text("{}")
    assert nb.training_data(s, "mine") == str(snap)


def test_review_defaults_fit_the_item():
    from workbench.review.items import make_item

    pair = make_item("pair", "The dose", [{"slot": "A", "text": "is ten milligrams daily"},
                                          {"slot": "B", "text": "is twenty"}])
    d = nb.review_defaults(pair, {"verdict": "keep", "phrase": "", "category": "terminology", "severity": "major"})
    assert d["verdict"] == "A"  # keep is not a verdict of a pair: the first one offered
    first = pair.outputs[0]  # A and B come in a seeded random order (blind review)
    assert d["phrase"] == " ".join(first["text"].split()[:3]) and d["output"] == first["slot"]
    doc = make_item("document", "", [{"slot": "A", "text": "some flagged text"}])
    assert nb.review_defaults(doc, {"verdict": "drop", "phrase": "x"}) == {"verdict": "drop", "phrase": ""}
