"""The notebooks' review helpers read a form as the Review page does (nothing filled in is dropped) and
show agreement with its reading and the disagreements as a table of texts."""

from __future__ import annotations

import pytest

from workbench import notebook as nb
from workbench import workflows
from workbench.errors import WorkbenchError


@pytest.fixture
def store(tmp_path):
    with workflows.label_store(tmp_path / "ws") as store:
        yield store


def _single(store):
    from workbench.review.items import make_item

    item = make_item("output", "Dose?", [{"text": "Take five grams every hour."}])
    store.add_items([item])
    return store.item(item.id)


def test_a_category_and_severity_without_a_phrase_mark_the_whole_output(store):
    item = _single(store)
    form = nb.ReviewForm(store, item, "ana", defaults={"verdict": "errors", "category": "unsafe", "severity": "critical"})
    written = form.submit()
    [label] = store.labels(item.id)
    assert len(written.labels) == 1 and (label.category, label.severity, label.start, label.end) == (
        "unsafe", "critical", None, None)
    assert label.text == "Take five grams every hour."


def test_a_correction_without_category_is_refused_not_dropped(store):
    item = _single(store)
    form = nb.ReviewForm(store, item, "ana", defaults={"verdict": "errors", "correction": "Take 500 mg twice daily."})
    with pytest.raises(WorkbenchError, match="not saved: the error has no category and no severity"):
        form.submit()
    assert store.verdicts(item.id) == []


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """An in-process IPython shell (what a notebook's kernel runs): what the helpers display is captured."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    from IPython.core.interactiveshell import InteractiveShell

    yield InteractiveShell.instance()
    InteractiveShell.clear_instance()


def test_agreement_summary_reads_the_numbers_and_tables_the_disagreements(store, shell):
    from IPython.utils.capture import capture_output

    from workbench.review.items import make_item

    items = [make_item("output", f"Prompt {i}", [{"text": f"output {i}"}]) for i in range(3)]
    store.add_items(items)
    for item, (ana, bob) in zip(items, [("errors", "errors"), ("no_error", "no_error"), ("errors", "no_error")]):
        store.submit(item.id, "ana", ana)
        store.submit(item.id, "bob", bob)
    report = store.agreement()
    with capture_output() as shown:
        assert nb.agreement_summary(report) is None  # shown, not returned: the last line of a cell shows it once
    [text] = [output.data["text/markdown"] for output in shown.outputs]
    alpha = report["alpha"]["verdict"]
    assert f"| verdict | {alpha:.2f} | {report['alpha_reading']['verdict']} |" in text
    assert "Alpha >= 0.8 is reliable" in text
    assert "| item | text | dimension | ana | bob |" in text
    assert f"| {items[2].id[:12]} | Prompt 2 | verdict | errors | no_error |" in text
    assert "{" not in text  # no Python dicts
