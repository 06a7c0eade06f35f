"""The app's config forms (``workbench.appsupport.forms``): fields and labels from the config
dataclasses, and each form's config resolved through the workflows as the CLI resolves it."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from workbench.appsupport import (
    CURATE_FORM_SKIP,
    TRAIN_FORM_SKIP,
    TRAIN_LABELS,
    compare_config_from_form,
    compare_words,
    config_diff,
    config_fields,
    curate_config_from_form,
    curate_words,
    field_label,
    form_overrides,
    train_config_from_form,
    train_form,
    train_words,
)
from workbench.config import apply_overrides
from workbench.corpus.config import CurateConfig
from workbench.errors import WorkbenchError
from workbench.training.config import PRESETS, TrainConfig


def test_config_diff_lists_only_keys_that_differ():
    rows = config_diff({
        "a": {"learning_rate": 1e-4, "lora": {"r": 8}, "seed": 1, "name": "a"},
        "b": {"learning_rate": 2e-4, "lora": {"r": 8}, "seed": 1, "name": "b", "replay": "sample"},
    })
    assert rows == [
        {"key": "learning_rate", "a": 1e-4, "b": 2e-4},
        {"key": "replay", "a": None, "b": "sample"},
    ]


def test_config_fields_cover_train_config_with_docs_choices_and_nested_keys():
    config = TrainConfig(model="tiny-llama")
    specs = {s.key: s for s in config_fields(config, skip=("out",))}
    assert "out" not in specs
    assert specs["lora.r"].kind == "int" and specs["lora.r"].default == 16
    assert specs["quant"].kind == "choice" and specs["quant"].choices == ("nf4", "none")
    assert specs["learning_rate"].doc.startswith("Peak learning rate of the LoRA parameters")
    assert specs["replay"].kind == "optional-str" and specs["replay"].default == ""
    assert specs["stop_on_forgetting"].kind == "bool"
    # learning_rate defaults to null (scaled to the model): an empty box keeps that, a number overrides it
    assert specs["learning_rate"].kind == "optional-str" and specs["learning_rate"].default == ""
    overrides = form_overrides(list(specs.values()), {"lora.r": 8, "replay": "  ", "learning_rate": "", "name": "x"})
    assert overrides == {"lora.r": 8, "name": "x"}
    assert apply_overrides(config, overrides).lora.r == 8
    overrides = form_overrides(list(specs.values()), {"learning_rate": " 2e-4 "})
    assert apply_overrides(config, overrides).learning_rate == 2e-4


def test_config_fields_of_curation_turn_lists_into_comma_text_and_back():
    config = CurateConfig(paths=["a.jsonl"])
    specs = config_fields(config, skip=("paths",))
    by_key = {s.key: s for s in specs}
    assert by_key["languages"].kind == "list" and by_key["languages"].default == "en"
    assert "drop_documents" not in by_key  # mappings come from the library, not a text box
    assert form_overrides(specs, {"languages": "en"}) == {}
    overrides = form_overrides(specs, {"languages": "en, de", "dedup.threshold": 0.9})
    assert overrides == {"languages": ["en", "de"], "dedup.threshold": 0.9}
    assert apply_overrides(config, overrides).languages == ["en", "de"]
    assert form_overrides(specs, {"languages": " "}) == {"languages": None}  # optional list: keep every language


def qwen_folder(settings) -> str:
    """A local model folder named as the Qwen2.5-0.5B checkpoint (the form never loads it)."""
    folder = settings.workspace_root / "models" / "Qwen2.5-0.5B"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    return str(folder)


def preset_file(name: str) -> dict:
    return yaml.safe_load((PRESETS / f"{name}.yaml").read_text(encoding="utf-8"))


def test_train_form_starts_from_the_models_own_preset(settings):
    folder = qwen_folder(settings)
    qwen = preset_file("qwen2.5-0.5b")
    config, specs = train_form(settings, folder)
    assert config.preset == "qwen2.5-0.5b" and config.model == folder
    assert (config.learning_rate, config.block_size, config.max_tokens, config.lora.r) == (
        qwen["learning_rate"], qwen["block_size"], qwen["max_tokens"], qwen["lora"]["r"])
    shown = {s.key: s.default for s in specs}
    assert shown["block_size"] == 2048 and shown["learning_rate"] == "0.0002" and shown["lora.r"] == 32
    assert not {"model", "preset", "out"} & set(shown)  # chosen first, or named by the library
    plain, _ = train_form(settings, folder, "none")
    assert plain.preset == "none" and plain.block_size == 256 and plain.learning_rate is None
    cpu = preset_file("smollm2-135m-cpu")
    default, _ = train_form(settings, "smollm2-135m")
    assert default.preset == "smollm2-135m-cpu" and default.learning_rate == cpu["learning_rate"]


def test_train_form_refuses_a_preset_made_for_another_model(settings):
    with pytest.raises(WorkbenchError, match="made for Qwen/Qwen2.5-0.5B, not for tiny-llama") as refused:
        train_form(settings, "tiny-llama", "qwen2.5-0.5b")
    assert refused.value.field == "preset"
    with pytest.raises(WorkbenchError) as refused:
        train_config_from_form(settings, "tiny-llama", "qwen2.5-0.5b", {})
    assert refused.value.field == "preset"


def test_train_config_from_form_applies_only_what_the_user_changed(settings, tmp_path):
    folder = qwen_folder(settings)
    (tmp_path / "data" / "law.jsonl").write_text('{"text": "x"}\n')
    config, specs = train_form(settings, folder)
    values = {s.key: s.default for s in specs}  # the form as shown...
    values.update({"data": str(tmp_path / "data" / "law.jsonl"), "max_tokens": 4096, "lora.r": 8,
                   "learning_rate": " 1e-4 ", "name": "my run/1"})  # ...and what the user changed
    # a name the one name rule would change is refused, its slug offered, never changed silently
    with pytest.raises(WorkbenchError, match="use 'my-run-1'") as refused:
        train_config_from_form(settings, folder, None, values)
    assert refused.value.field == "name"
    form = train_config_from_form(settings, folder, None, {**values, "name": "my-run-1"})
    qwen = preset_file("qwen2.5-0.5b")
    assert form.preset == "qwen2.5-0.5b" and form.block_size == qwen["block_size"] == 2048
    assert form.micro_batch_size == qwen["micro_batch_size"] and form.grad_accum == qwen["grad_accum"]
    assert (form.max_tokens, form.lora.r, form.learning_rate, form.name) == (4096, 8, 1e-4, "my-run-1")
    assert form.data == str(tmp_path / "data" / "law.jsonl") and form.out is None


def test_train_config_from_form_keeps_inputs_under_roots(settings, tmp_path):
    (tmp_path / "data" / "law.jsonl").write_text('{"text": "x"}\n')
    config = train_config_from_form(settings, "tiny-llama", None, {"data": str(tmp_path / "data" / "law.jsonl")})
    assert config.data == str(tmp_path / "data" / "law.jsonl") and config.preset == "none"
    default = train_config_from_form(settings, "smollm2-135m", "smollm2-135m-cpu", {})
    assert default.data.endswith("domain_corpus.jsonl")  # the bundled sample is readable
    with pytest.raises(WorkbenchError, match="outside the folders") as refused:
        train_config_from_form(settings, "tiny-llama", None, {"data": "/etc/passwd"})
    assert refused.value.field == "data"
    with pytest.raises(WorkbenchError, match="'..'") as refused:
        train_config_from_form(settings, "tiny-llama", None, {"general_eval": "../../x.txt"})
    assert refused.value.field == "general_eval"
    with pytest.raises(WorkbenchError, match="does not take") as refused:
        train_config_from_form(settings, "tiny-llama", None, {"out": "/tmp/elsewhere"})
    assert refused.value.field == "out"
    with pytest.raises(WorkbenchError, match="Hub id") as refused:
        train_config_from_form(settings, "evil/model", None, {})
    assert refused.value.field == "model"


def test_form_labels_come_from_the_field_docs_and_word_library_errors():
    words = train_words()
    assert words["max_tokens"] == "Training budget (tokens)"  # the page's own word for a field it shows first
    assert words["lora.r"] == "LoRA rank" and words["learning_rate"] == "Peak learning rate of the LoRA parameters"
    assert words["stop_on_forgetting"] == "Stop training when the forgetting threshold is crossed"
    assert words["upcast_unquantized"] == "Upcast unquantized"  # no short clause in its doc: the key in words
    specs = config_fields(TrainConfig(), skip=TRAIN_FORM_SKIP, labels=TRAIN_LABELS)
    assert {s.key: s.label for s in specs} == {k: v for k, v in words.items() if k not in TRAIN_FORM_SKIP}
    error = WorkbenchError("{field} is 0.", "give a positive {field}.", field="max_tokens")
    assert error.one_line(words) == "Training budget (tokens) is 0. Fix: give a positive Training budget (tokens)."
    assert curate_words()["min_words"] == "Drop documents with fewer words"
    assert compare_words()["window"] == "Window (tokens)"


def test_field_label_is_the_first_clause_of_the_doc():
    assert field_label("max_tokens", "Training budget in tokens (token slots seen, padding included).") == (
        "Training budget in tokens")
    assert field_label("quant", "Base weights: 4-bit NF4 with double quantization (QLoRA) or full precision.") == (
        "Base weights")
    assert field_label("checkpoints", "compare: also score every checkpoint of the run.") == (
        "Also score every checkpoint of the run")
    assert field_label("x", "") == "X"
    assert field_label("drop_list", 'JSONL of documents to drop, one ``{"id": ..., "reason": ...}`` per line.') == "Drop list"
    assert field_label("dedup.threshold", "Estimated Jaccard similarity at or above which two documents are "
                       "near-duplicates, a long clause with no short first part to it.") == "Dedup threshold"


@pytest.mark.parametrize("cls", ["workbench.corpus.config:CurateConfig", "workbench.corpus.config:CorpusConfig",
                                 "workbench.training.config:TrainConfig", "workbench.evaluation.config:EvalConfig"])
def test_no_form_field_is_labelled_with_its_raw_key(cls):
    """Every field of every form reads as words: no dotted or snake_case key as a label, and the help is
    the field's docstring (``quality.max_ellipsis_line_share`` is "Highest share of lines ending with an
    ellipsis")."""
    import importlib

    from workbench.config import field_texts

    module, name = cls.split(":")
    config_cls = getattr(importlib.import_module(module), name)
    texts = field_texts(config_cls)
    raw = {key: t.label for key, t in texts.items() if re.fullmatch(r"[a-z0-9_.]+", t.label) or t.label == key}
    assert not raw
    config = config_cls(paths=["corpus"]) if "paths" in texts else config_cls()
    assert {s.key: s.label for s in config_fields(config)} == {k: t.label for k, t in texts.items()
                                                                  if k in {s.key for s in config_fields(config)}}
    if "quality.max_ellipsis_line_share" in texts:
        assert texts["quality.max_ellipsis_line_share"].label == "Highest share of lines ending with an ellipsis"
        assert texts["quality.max_ellipsis_line_share"].help.startswith("Highest share of lines ending with an ellipsis")


def test_curate_config_from_form(settings, tmp_path):
    corpus = tmp_path / "data" / "law.jsonl"
    corpus.write_text('{"text": "x"}\n')
    specs = config_fields(CurateConfig(paths=[str(corpus)]), skip=CURATE_FORM_SKIP)
    values = {s.key: s.default for s in specs} | {"min_words": 30}
    config = curate_config_from_form(settings, [str(corpus)], "tiny-llama", values)
    assert config.paths == [str(corpus)] and config.min_words == 30 and config.model == "tiny-llama"
    assert config.drop_list is None and config.drop_documents is None  # reviewers' drops: the job's labels
    with pytest.raises(WorkbenchError, match="outside the folders") as refused:
        curate_config_from_form(settings, ["/etc/passwd"], "tiny-llama", {})
    assert refused.value.field == "paths"


def test_compare_config_from_form_goes_through_eval_config(settings, sample_dir):
    run = settings.workspace_root / "runs" / "tiny"
    run.mkdir(parents=True)
    domain, general = str(sample_dir / "domain_eval.jsonl"), str(sample_dir / "general_eval.jsonl")
    config = compare_config_from_form(settings, str(run), "", domain, general, generations=0, window=64)
    assert config.model is None and config.adapter == str(run)  # the run's own base model
    assert config.window == 64 and config.stride == 32 and config.generations == 0  # stride: half the window
    with pytest.raises(WorkbenchError, match="outside the folders") as refused:
        compare_config_from_form(settings, "/etc", "", domain, general)
    assert refused.value.field == "adapter"
