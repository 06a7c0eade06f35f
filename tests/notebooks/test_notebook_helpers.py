"""workbench.notebook: the functions the guided notebooks call (no kernel needed)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import os
import time
from pathlib import Path

import pytest
import yaml

from workbench import notebook as nb
from workbench import workflows
from workbench.errors import WorkbenchError

REPO = Path(__file__).resolve().parents[2]
PRESETS = REPO / "workbench" / "training" / "presets"


def parameters_cell(path: Path) -> list[str]:
    """The names a notebook's parameters cell assigns (read with ast, independently of workbench)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


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


def test_setup_names_a_missing_corpus_as_the_parameter(tmp_path):
    with pytest.raises(WorkbenchError, match="nope.txt does not exist") as error:
        nb.setup(tmp_path / "ws", corpus=str(tmp_path / "nope.txt"), small=True)
    assert error.value.field == "paths"
    assert nb.error_line(error.value, ["CORPUS"]).endswith("Fix: set CORPUS in the parameters cell to your files or folders.")


# ------------------------------------------------------------------------------- training settings
def test_train_settings_start_at_the_models_own_preset():
    made_for = {p.stem: yaml.safe_load(p.read_text())["model"] for p in PRESETS.glob("*.yaml")}
    own = [name for name, model in made_for.items() if model == "smollm2-135m"]
    assert own == ["smollm2-135m-cpu"]
    assert nb.TrainSettings("smollm2-135m").values()["preset"] == "smollm2-135m-cpu"
    assert nb.TrainSettings("tiny-llama").values()["preset"] == "none"  # no preset is made for it
    assert nb.TrainSettings("smollm2-135m", preset="none").values()["preset"] == "none"
    with pytest.raises(WorkbenchError, match="unknown preset 'nope'") as error:
        nb.TrainSettings("smollm2-135m", preset="nope")
    assert error.value.field == "preset"


def test_train_settings_config_is_the_models_preset_under_the_chosen_settings(tmp_path):
    data = str(tmp_path / "x.jsonl")
    settings = nb.TrainSettings("smollm2-135m", lora_r=8, max_tokens=4096, replay_ratio=0.1)
    config = settings.config(data=data, name="mine")
    preset = yaml.safe_load((PRESETS / "smollm2-135m-cpu.yaml").read_text())
    assert config.preset == "smollm2-135m-cpu" and config.model == "smollm2-135m"
    assert (config.block_size, config.micro_batch_size, config.grad_accum, config.learning_rate) == (
        preset["block_size"], preset["micro_batch_size"], preset["grad_accum"], preset["learning_rate"])
    assert config.lora.r == 8 and config.max_tokens == 4096 and config.name == "mine"
    assert config.replay == "sample" and config.replay_ratio == 0.1  # replay text chosen for a non-zero ratio
    # the same choices through the recipe layer give the same settings, field for field
    same = workflows.train_config("smollm2-135m", None, {"lora.r": 8}, data=data, name="mine", max_tokens=4096,
                                  replay_ratio=0.1, replay="sample")
    assert dataclasses.asdict(config) == dataclasses.asdict(same)
    plain = nb.TrainSettings("smollm2-135m", preset="none").config(data=data)
    defaults = type(plain)()
    assert plain.preset == "none" and plain.learning_rate == defaults.learning_rate != preset["learning_rate"]
    assert plain.grad_accum == defaults.grad_accum != preset["grad_accum"]


def test_a_preset_made_for_another_model_stops_naming_both(tmp_path):
    settings = nb.TrainSettings("smollm2-135m", preset="llama-3.1-8b-24gb")
    with pytest.raises(WorkbenchError) as error:
        settings.config(data=str(tmp_path / "x.jsonl"))
    made_for = yaml.safe_load((PRESETS / "llama-3.1-8b-24gb.yaml").read_text())["model"]
    line = nb.error_line(error.value, parameters_cell(REPO / "workbench" / "notebooks" / "02_continued_pretraining.ipynb"))
    assert "'llama-3.1-8b-24gb'" in line and made_for in line and "smollm2-135m" in line
    assert "'smollm2-135m-cpu'" in line and line.startswith("PRESET 'llama-3.1-8b-24gb'")  # the parameter's own name
    assert "\n" not in line


def test_train_settings_read_the_widgets_current_values(tmp_path):
    pytest.importorskip("ipywidgets")
    settings = nb.TrainSettings("tiny-llama", lora_r=16, max_tokens=4096)
    box = settings.widget()
    assert len(box.children) == 4
    dropdown = settings._widgets["preset"]
    assert dropdown.value == "none" and dropdown.options[0] == "none"
    assert set(dropdown.options[1:]) == {p.stem for p in PRESETS.glob("*.yaml")}
    settings._widgets["lora_r"].value = 32
    assert settings.config(data="x").lora.r == 32
    dropdown.value = "smollm2-135m-cpu"  # made for another model than the one being trained
    with pytest.raises(WorkbenchError, match="made for smollm2-135m, not for tiny-llama"):
        settings.config(data="x")
    assert settings.config(model="smollm2-135m", data="x").block_size == 256  # its own model: applied


# ------------------------------------------------------------------------------- names of artifacts
def _artifacts(ws, kind: str, names: list[str]) -> None:
    """Folders of ``kind`` made oldest first (the workspace lists them newest first by time)."""
    for n, name in enumerate(names):
        folder = ws.folder(kind, name)
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
        stamp = time.time() - 100 + n
        os.utime(folder, (stamp, stamp))


def test_pick_run_takes_the_named_run_and_never_another(tiny_home, tmp_path):
    s = nb.setup(tmp_path / "ws", small=True)
    with pytest.raises(WorkbenchError, match="no run in .*runs yet.*notebook 2"):
        nb.pick_run(s, None)
    _artifacts(s.workspace, "runs", ["alpha", "beta"])
    assert nb.pick_run(s, "alpha").name == "alpha"
    assert nb.pick_run(s, None).name == "beta" and nb.pick_run(s, "").name == "beta"  # empty: the newest
    with pytest.raises(WorkbenchError) as error:
        nb.pick_run(s, "alpah")
    assert error.value.field == "name"
    line = nb.error_line(error.value, ["WORKSPACE", "MODEL", "NAME"])
    assert line.startswith("no run named 'alpah' in ")
    assert line.endswith("Fix: set NAME in the parameters cell to one of: beta, alpha (None: the newest).")


def test_pick_comparison_names_the_comparison_parameter(tiny_home, tmp_path):
    s = nb.setup(tmp_path / "ws", small=True)
    with pytest.raises(WorkbenchError, match="no comparison in .*notebook 3"):
        nb.pick_comparison(s)
    _artifacts(s.workspace, "comparisons", ["compare-a", "compare-b"])
    assert nb.pick_comparison(s).name == "compare-b"
    assert nb.pick_comparison(s, "compare-a").name == "compare-a"
    with pytest.raises(WorkbenchError) as error:
        nb.pick_comparison(s, "compare-c")
    assert "set COMPARISON in the parameters cell to one of: compare-b, compare-a" in nb.error_line(
        error.value, parameters_cell(REPO / "workbench" / "notebooks" / "04_review_errors.ipynb"))


def test_training_data_is_the_named_snapshot_never_the_sample_corpus(tiny_home, tmp_path):
    s = nb.setup(tmp_path / "ws", small=True)
    with pytest.raises(WorkbenchError) as error:
        nb.training_data(s, "mine")
    assert "no snapshot named 'mine'" in str(error.value) and "notebook 1" in str(error.value)
    _artifacts(s.workspace, "snapshots", ["mine", "other"])
    assert nb.training_data(s, "mine") == str(s.folder("snapshots", "mine"))
    assert nb.training_data(s, None) == str(s.folder("snapshots", "other"))
    with pytest.raises(WorkbenchError, match="one of: other, mine"):
        nb.training_data(s, "mien")


# ---------------------------------------------------------------------------------- error wording
def test_parameter_words_fit_the_settings_of_every_notebook():
    from workbench.config import to_dict
    from workbench.corpus.config import CorpusConfig, CurateConfig
    from workbench.evaluation.config import EvalConfig
    from workbench.review.store import LabelStore
    from workbench.training.config import TrainConfig

    def flat(data: dict, prefix: str = "") -> set[str]:
        keys = set()
        for key, value in data.items():
            keys |= flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}"}
        return keys

    settings = set()
    for config in (TrainConfig(), EvalConfig(), CorpusConfig(paths=["x"]), CurateConfig(paths=["x"])):
        settings |= flat(to_dict(config))
    for function in (nb.setup, nb.plan_for, nb.follow, nb.DocumentDecisions, nb.ReviewForm, nb.label_queue,
                     nb.pick_comparison, nb.plan_comparison, LabelStore.assign):
        settings |= set(inspect.signature(function).parameters)
    settings.add(inspect.signature(nb.pick_comparison).parameters["field"].default)  # the name it is given by
    notebooks = sorted((REPO / "workbench" / "notebooks").glob("0*.ipynb"))
    for path in notebooks:
        names = parameters_cell(path)
        words = nb.parameter_words(names)
        assert sorted(words.values()) == sorted(names), path.name
        assert set(words) <= settings, f"{path.name}: {set(words) - settings} are no setting; add them to PARAMETER_FIELDS"
    train = nb.parameter_words(parameters_cell(notebooks[1]))
    assert {"max_tokens": "MAX_TOKENS", "lora.r": "LORA_R", "preset": "PRESET", "name": "NAME"}.items() <= train.items()
    assert nb.parameter_words(parameters_cell(notebooks[0]))["paths"] == "CORPUS"


def test_error_line_words_the_field_as_the_parameter():
    exc = WorkbenchError("{field} is 0.", "give a positive {field}.", field="max_tokens")
    assert nb.error_line(exc, ["MAX_TOKENS", "NAME"]) == "MAX_TOKENS is 0. Fix: give a positive MAX_TOKENS."
    assert nb.error_line(exc, ["NAME"]) == "max_tokens is 0. Fix: give a positive max_tokens."  # no such parameter
    assert nb.error_line(exc, {"MAX_TOKENS": 0, "nb": nb, "In": []}) == "MAX_TOKENS is 0. Fix: give a positive MAX_TOKENS."
    unnamed = WorkbenchError("lora.r is 0.", "use a positive rank.", field="lora.r")
    assert nb.error_line(unnamed, ["LORA_R"]) == "lora.r is 0. Fix: use a positive rank. (LORA_R in the parameters cell)"
    assert nb.error_line(WorkbenchError("disk full.", "free space."), ["NAME"]) == "disk full. Fix: free space."


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """An in-process IPython shell (what a notebook's kernel runs), with its own profile folder."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_a_notebook_shows_a_library_error_as_one_line(tiny_home, tmp_path, shell, capsys):
    s = nb.setup(tmp_path / "ws", small=True)
    _artifacts(s.workspace, "runs", ["my-corpus"])
    assert nb.show_errors_in_one_line(shell)
    shell.user_ns.update(nb=nb, S=s, WORKSPACE=str(tmp_path / "ws"), NAME="my-corpsu")
    result = shell.run_cell("run = nb.pick_run(S, NAME)")
    assert isinstance(result.error_in_exec, WorkbenchError)  # the cell fails: "run all" stops here
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines == [f"error: no run named 'my-corpsu' in {s.workspace.root / 'runs'}. "
                     "Fix: set NAME in the parameters cell to one of: my-corpus (None: the newest)."]
    result = shell.run_cell("1 / 0")  # any other error keeps its traceback
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "Traceback" in capsys.readouterr().out


def test_show_errors_in_one_line_outside_a_notebook_does_nothing():
    assert nb.show_errors_in_one_line() is False


# ------------------------------------------------------------------------------------------ review
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


@pytest.fixture
def store(tmp_path):
    with workflows.label_store(tmp_path / "ws") as store:
        yield store


def _pair(store):
    from workbench.review.items import make_item

    item = make_item("pair", "The usual adult dose", [
        {"text": "is 500 mg of paracetamol twice daily", "model": "base"},
        {"text": "is five grams every hour", "model": "adapted"}])
    store.add_items([item])
    return store.item(item.id)


def test_review_form_submits_through_the_recipe(store):
    item = _pair(store)
    slot = next(o["slot"] for o in item.outputs if o["text"].startswith("is five"))
    form = nb.ReviewForm(store, item, "ana", defaults={
        "verdict": "A", "output": slot, "phrase": "five  grams", "category": "factual error", "severity": "critical",
        "correction": "is 500 mg"})
    written = form.submit()
    assert isinstance(written, workflows.Submitted) and written.verdict == "A" and len(written.labels) == 1
    [label] = store.labels(item.id)
    text = item.output(slot)["text"]
    assert (label.start, label.end) == (text.index("five"), text.index("grams") + len("grams"))
    assert (label.category, label.severity, label.output, label.correction) == (
        "factual error", "critical", slot, "is 500 mg")
    assert [(v.annotator, v.verdict) for v in store.verdicts(item.id)] == [("ana", "A")]


def test_review_form_refuses_a_span_without_a_severity_and_writes_nothing(store):
    item = _pair(store)
    form = nb.ReviewForm(store, item, "ben", defaults={"verdict": "B", "output": item.outputs[0]["slot"],
                                                       "phrase": item.outputs[0]["text"].split()[1],
                                                       "category": "terminology"})
    with pytest.raises(WorkbenchError, match="no severity") as error:
        form.submit()
    assert error.value.field == "severity" and "minor, major, critical" in str(error.value)
    assert store.labels(item.id) == [] and store.verdicts(item.id) == []


def test_review_form_offers_the_review_stages_severities(store):
    pytest.importorskip("ipywidgets")
    from workbench.review.config import SEVERITY_WEIGHTS

    form = nb.ReviewForm(store, _pair(store), "ana", defaults={"severity": "major", "category": "no such"})
    widgets = form._build()
    assert list(widgets["severity"].options) == list(SEVERITY_WEIGHTS) and widgets["severity"].value == "major"
    assert widgets["category"].value is None  # not one of the project's categories: the reviewer chooses
    assert list(widgets["category"].options) == store.taxonomy().categories


def test_document_decisions_reach_curation_through_the_label_store(tmp_path):
    from workbench.corpus.config import CurateConfig
    from workbench.io import read_jsonl
    from workbench.review.items import make_item

    ws = tmp_path / "ws"
    docs = [make_item("document", "", [{"text": f"document {n} text"}], {"corpus": "c", "doc_id": f"d{n}"},
                      meta={"flags": ["quality"]}) for n in range(4)]
    with workflows.label_store(ws) as store:
        store.add_items(docs)
        items = store.items(kind="document")
        assert set(nb.DocumentDecisions(store, items, "notebook").values().values()) == {"keep"}  # nothing dropped unasked
        decisions = nb.DocumentDecisions(store, items, "notebook", drop_first=1, show=3)
        assert decisions.values() == {items[0].id: "drop", items[1].id: "keep", items[2].id: "keep"}
        assert decisions.submit() == {"keep": 2, "drop": 1}
        assert sorted(v.verdict for v in store.verdicts()) == ["drop", "keep", "keep"]  # the fourth was not shown
    config = workflows.with_drop_list(CurateConfig(paths=["x"]), workflows.labels_path(ws), ws)
    dropped = [row["id"] for row in read_jsonl(config.drop_list)]
    assert dropped == [items[0].source["doc_id"]]


def test_compare_config_goes_through_the_recipe(tiny_home, tmp_path):
    small = nb.setup(tmp_path / "ws", small=True)
    _artifacts(small.workspace, "runs", ["r"])
    run = nb.pick_run(small, "r")
    config = nb.compare_config(small, run, generations=5)
    assert config.adapter == str(run.folder)
    assert (config.generations, config.max_new_tokens, config.n_bootstrap, config.window, config.eval_docs) == (
        5, 16, 200, 1024, 6)  # the quick check measures as the full comparison does, on small mode's 6 documents
    assert config == workflows.eval_config(adapter=str(run.folder),
                                           **{**workflows.QUICK_CHECK, "generations": 5, "eval_docs": 6})
    full = nb.compare_config(dataclasses.replace(small, small=False, eval_docs=None), run, window=512)
    assert full == workflows.eval_config(adapter=str(run.folder), window=512)
    assert (full.generations, full.n_bootstrap, full.window, full.stride, full.eval_docs) == (6, 1000, 512, 256, None)
    # the parameters' cap on held-out documents reaches the comparison
    capped = nb.setup(tmp_path / "ws", small=False, eval_docs=12, model="tiny-llama")
    assert nb.compare_config(capped, run).eval_docs == 12


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


# ------------------------------------------------------------------ notebooks that behave


def test_setup_expands_the_home_folder_in_every_path(tiny_home, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "opinions.jsonl").write_text('{"text": "x"}\n')
    s = nb.setup("~/ws", corpus="~/data/opinions.jsonl", reference="~/data/opinions.jsonl", small=True)
    assert s.workspace.root == tmp_path / "ws"
    assert s.corpus == [str(tmp_path / "data" / "opinions.jsonl")] and s.reference == s.corpus[0]


def test_a_live_figure_is_one_output_redrawn_in_place(shell, monkeypatch):
    """Each update replaces the figure of the one display (``update_display_data`` with the same id);
    it never adds a figure under the placeholder."""
    import plotly.graph_objects as go
    import plotly.io as pio

    published = []
    monkeypatch.setattr(shell.display_pub, "publish",
                        lambda data, metadata=None, *args, transient=None, update=False, **kw:
                        published.append((dict(data), (transient or {}).get("display_id"), update)))
    monkeypatch.setattr(pio.renderers, "default", pio.renderers.default)
    assert nb.use_export_safe_figures().startswith("plotly_mimetype+notebook_connected")
    live = nb.LiveFigure()
    for n in (1, 2, 3):
        live.update(go.Figure(go.Scatter(x=list(range(n)), y=list(range(n))), layout={"title": f"step {n}"}))
    [first, *updates] = published
    display_id = first[1]
    assert display_id and not first[2] and "curves appear" in first[0]["text/html"]
    assert [(i, u) for _, i, u in updates] == [(display_id, True)] * 3  # replaced in place, three times, nothing else
    last = updates[-1][0]
    assert "application/vnd.plotly.v1+json" in last and "cdn.plot.ly" in last["text/html"]  # survives an HTML export
    assert last["application/vnd.plotly.v1+json"]["layout"]["title"]["text"] == "step 3"


def test_follow_returns_halfway_through_the_runs_steps(tmp_path):
    """``until_share=0.5`` stops a follow at half the run's steps, however many steps the run has."""
    from workbench.jobs import Job
    from workbench.status import write_status

    write_status(tmp_path, "running", phase="training", step=4, total_steps=16)
    job = Job(tmp_path, "train")
    assert nb.follow(job, every=0.01, until_share=0.5, timeout=0.2, curves=False)["step"] == 4
    write_status(tmp_path, "running", phase="training", step=8, total_steps=16)
    assert nb.follow(job, every=0.01, until_share=0.5, timeout=30, curves=False)["step"] == 8  # returned, no timeout


def test_the_comparison_to_review_is_the_one_of_run_name(tiny_home, tmp_path):
    from workbench.io import write_json

    s = nb.setup(tmp_path / "ws", small=True)
    for n, (name, run) in enumerate((("compare-my-corpus", "my-corpus"), ("compare-other", "other"))):
        folder = s.workspace.folder("comparisons", name)
        folder.mkdir(parents=True)
        write_json(folder / "artifact.json", {"kind": "comparison", "state": "finished", "complete": True,
                                              "card": {"config": {"adapter": str(s.workspace.folder("runs", run))}}})
        stamp = time.time() - 100 + n
        os.utime(folder, (stamp, stamp))
    assert nb.comparison_of(s, "my-corpus").name == "compare-my-corpus"  # not the newest, which is another run's
    assert nb.comparison_of(s, "my-corpus", "compare-other").name == "compare-other"
    assert nb.comparison_of(s, None).name == "compare-other"
    with pytest.raises(WorkbenchError) as refused:
        nb.comparison_of(s, "my-corpsu")
    assert refused.value.field == "comparison" and "one of: compare-other, compare-my-corpus" in str(refused.value)


def test_follow_of_a_failed_job_fails_the_cell_with_its_error_in_one_line(tmp_path):
    from workbench.jobs import Job
    from workbench.status import write_status

    write_status(tmp_path, "failed", error="CUDA out of memory at micro_batch_size=8", error_type="WorkbenchError")
    with pytest.raises(WorkbenchError) as failed:
        nb.follow(Job(tmp_path, "train"), every=0.01, curves=False)
    assert failed.value.one_line().startswith(f"the train job {tmp_path.name} failed: CUDA out of memory at "
                                              "micro_batch_size=8")
    write_status(tmp_path, "stopped", error="stopped by the user")
    assert nb.follow(Job(tmp_path, "train"), every=0.01, curves=False)["state"] == "stopped"


def test_make_lab_opens_the_notebooks_on_the_same_workspace_as_the_cli_and_app():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    lab = next(line for line in makefile.splitlines() if line.startswith("\t") and "jupyter lab" in line)
    assert "WORKBENCH_WORKSPACE=$(CURDIR)/workspace" in lab
    from workbench.workspace import DEFAULT_WORKSPACE

    assert DEFAULT_WORKSPACE == "workspace"  # the CLI's and the app's ./workspace from the clone's root
def _comparison_folder(tmp_path, state: str, error: str | None = None, record: dict | None = None):
    from workbench.status import write_status
    from workbench.workspace import Artifact

    folder = tmp_path / "ws" / "comparisons" / "compare-r"
    folder.mkdir(parents=True)
    if record is not None:
        (folder / "comparison.json").write_text(json.dumps(record))
    write_status(folder, state, **({"error": error} if error else {}))
    return Artifact(folder)


@pytest.mark.parametrize("state, error, said", [
    ("failed", "CUDA out of memory", "the comparison compare-r failed: CUDA out of memory."),
    ("stopped", "stopped by the user", "the comparison compare-r was stopped before it finished (stopped by the user)."),
])
def test_a_failed_or_stopped_comparison_shows_its_error_not_empty_tables(tmp_path, state, error, said):
    comparison = _comparison_folder(tmp_path, state, error)
    for show in (nb.verdict, nb.documents_table, nb.generations_table, nb.token_view):
        with pytest.raises(WorkbenchError) as caught:
            show(comparison)
        assert caught.value.message == said and "run the comparison cell again" in caught.value.fix


def test_the_notebook_verdict_shows_the_warnings_and_what_perplexity_cannot_say(tmp_path, monkeypatch):
    from workbench.evaluation.verdict import LIMITS, build_verdict

    delta = {"ppl_change_pct": -12.0, "ppl_ratio_ci95": [0.85, 0.91], "significant": True, "documents": 3,
             "tokens": 2_100, "enough_documents": True}
    metrics = {"ece": 0.05, "documents": 3, "tokens": 2_100}
    warning = "domain: only 3 document(s) and 2100 tokens; intervals and calibration from so little text are unreliable."
    verdict = build_verdict({"base": {"domain": metrics}, "adapted": {"domain": metrics}}, {"domain": delta},
                            warnings=[warning])
    comparison = _comparison_folder(tmp_path, "finished", record={"verdict": verdict, "warnings": [warning]})
    shown = []
    monkeypatch.setattr(nb, "_markdown", shown.append)  # what the cell would display
    nb.verdict(comparison)
    (text,) = shown
    assert "on 3 documents, 2,100 tokens" in text and f"⚠ {warning}" in text and LIMITS in text


def test_the_documents_table_names_documents_by_title_with_the_change_first(tmp_path):
    from workbench.evaluation.tables import COLUMNS

    comparison = _comparison_folder(tmp_path, "finished", record={"verdict": {}})
    rows = [{"set": "domain", "id": f"medquad_ghr-{i}", "title": f"Condition {i}", "tokens": 100,
             "delta_nll": 0.1 * (i - 3), "base_token_ppl": 10.0, "adapted_token_ppl": 10.0} for i in range(7)]
    (comparison.folder / "documents.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = nb.documents_table(comparison, n=2)
    assert list(table.columns) == list(COLUMNS) and table.columns[0] == "change %"
    assert list(table["document"]) == ["Condition 6", "Condition 5", "Condition 1", "Condition 0"]
    assert list(nb.documents_table(comparison, n=None, query="condition 4")["id"]) == ["medquad_ghr-4"]
