"""The Review page in AppTest on a workspace holding only a label store: an error marked by a mouse
selection is stored on the output it was selected in, with its offsets; what the form shows is saved or
refused with one message naming everything missing; the form clears; flag and skip confirm; the
guidelines define each category with an example; the team's overlap and assignment are set on the page
and an empty queue says why; agreement comes with its reading and the disagreements as a table of texts.

The mouse selection itself happens in the browser (tests/app/test_browser.py); here the component's
value is given as the browser would return it."""

from __future__ import annotations

import pytest
from app_helpers import HOME_SCRIPT, errors_of, no_exceptions

PAIR_A = "Warfarin is a vitamin K antagonist given orally."
PAIR_B = "Warfarin is a heparin given by injection every day."


@pytest.fixture
def labels(app_settings):
    """The workspace's label store with one blind pair item and two single outputs."""
    from workbench.review.items import make_item
    from workbench.review.store import LabelStore

    path = app_settings.workspace_root / "labels.db"
    with LabelStore(path) as store:
        store.add_items([make_item("pair", "What is warfarin?", [{"text": PAIR_A, "model": "base"},
                                                                 {"text": PAIR_B, "model": "adapted"}],
                                   {"comparison": "c", "doc_id": "d0"})])
        store.add_items([{"prompt": f"Question {i}", "output": f"The dose is {i} mg daily for adults."}
                         for i in range(2)])
    return path


def review_at(annotator="ana"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HOME_SCRIPT), default_timeout=60)
    at.run()
    at.switch_page("pages/review.py")
    at.query_params["annotator"] = annotator
    at.run()
    return at


def current_item(labels, annotator="ana"):
    from workbench.review.store import LabelStore

    with LabelStore(labels) as store:
        return store.next_item(annotator)


def select(at, item, output: str, words: str, gen: int = 0) -> dict:
    """Give the highlight component the value the browser sends after selecting ``words`` in ``output``."""
    text = item.output(output)["text"]
    start = text.index(words)
    value = {"output": output, "start": start, "end": start + len(words), "text": words}
    at.session_state[f"highlight_{item.id}_{gen}"] = value
    return value


def test_a_selection_in_output_b_is_stored_on_b_with_its_offsets(app_settings, labels):
    from workbench.review.store import LabelStore

    at = review_at()
    item = current_item(labels)
    assert item.kind == "pair"
    b_slot = next(o["slot"] for o in item.outputs if o["text"] == PAIR_B)
    at.radio(key=f"slot_{item.id}_0").set_value("A" if b_slot == "B" else "B")  # left at the other output
    at.run()
    select(at, item, b_slot, "a heparin")
    at.run()
    no_exceptions(at)
    assert at.radio(key=f"slot_{item.id}_0").value == b_slot  # the output follows the selection
    assert any(f"Marked in output **{b_slot}**" in m.value for m in at.markdown)
    at.button(key="cat_2").click().run()
    at.segmented_control(key="review_severity").set_value("critical").run()
    at.text_input(key=f"correction_{item.id}_0").set_value("a vitamin K antagonist").run()
    at.radio(key=f"pref_{item.id}").set_value("A" if b_slot == "B" else "B").run()
    at.button(key="review_submit").click().run()
    no_exceptions(at)
    assert not errors_of(at)
    with LabelStore(labels) as store:
        [label] = store.labels(annotator="ana")
        [verdict] = store.verdicts(annotator="ana")
        category = store.taxonomy().categories[1]
    start = PAIR_B.index("a heparin")
    assert (label.output, label.start, label.end, label.text) == (b_slot, start, start + len("a heparin"), "a heparin")
    assert (label.category, label.severity, label.correction) == (category, "critical", "a vitamin K antagonist")
    assert verdict.verdict in ("A", "B") and verdict.model == "base"
    assert [t.value for t in at.toast] and "Saved" in at.toast[0].value


def test_a_review_missing_severity_category_and_verdict_is_refused_in_one_message(app_settings, labels):
    from workbench.review.store import LabelStore

    at = review_at()
    item = current_item(labels)
    select(at, item, "B", item.output("B")["text"].split()[0])
    at.run()
    at.button(key="review_submit").click().run()
    no_exceptions(at)
    [error] = errors_of(at)
    assert error.startswith("not saved: the error in output B has no category and no severity, and no verdict is chosen. "
                            "Fix: choose a category (terminology, factual error, ")
    assert error.endswith("a severity (minor, major, critical) and a verdict (A, B, tie).")
    at.button(key="cat_1").click().run()
    at.button(key="review_submit").click().run()
    assert errors_of(at)[0].startswith("not saved: the error in output B has no severity, and no verdict is chosen.")
    with LabelStore(labels) as store:
        assert store.labels(annotator="ana") == [] and store.verdicts(annotator="ana") == []


def test_keeping_an_error_clears_the_whole_form(app_settings, labels):
    at = review_at()
    item = current_item(labels)
    select(at, item, "A", item.output("A")["text"].split()[0])
    at.run()
    at.text_input(key=f"note_{item.id}_0").set_value("wrong class").run()
    at.text_input(key=f"correction_{item.id}_0").set_value("anticoagulant").run()
    at.button(key="cat_1").click().run()
    at.segmented_control(key="review_severity").set_value("major").run()
    at.button(key="review_add").click().run()
    no_exceptions(at)
    assert not errors_of(at)
    form = [w for w in at.text_input if w.key.endswith(f"{item.id}_1")]
    assert sorted(w.key.split("_")[0] for w in form) == ["correction", "note", "phrase"]
    assert all(w.value == "" for w in form)
    assert at.radio(key=f"slot_{item.id}_1").value is None
    assert at.segmented_control(key="review_severity").value is None
    assert "(press a digit)" in " ".join(m.value for m in at.markdown)
    assert not any("Marked in output" in m.value for m in at.markdown)  # the highlight is gone too
    assert any("(written on save)" in m.value for m in at.markdown)


def test_a_single_output_with_a_phrase_and_no_severity_is_refused_and_nothing_written(app_settings, labels):
    from workbench.review.store import LabelStore

    with LabelStore(labels) as store:  # the pair done: a single output comes next
        pair = store.next_item("ana")
        store.submit(pair.id, "ana", "tie")
    at = review_at()
    item = current_item(labels)
    assert item.kind == "output"
    at.text_input(key=f"phrase_{item.id}_0").set_value("mg daily").run()
    at.text_input(key=f"note_{item.id}_0").set_value("per kg?").run()
    at.button(key="review_submit").click().run()
    assert errors_of(at) == ["not saved: the error has no category and no severity. Fix: choose a category "
                             "(terminology, factual error, hallucination, outdated, omission, fluency, formatting, "
                             "unsafe) and a severity (minor, major, critical)."]
    with LabelStore(labels) as store:
        assert store.verdicts(annotator="ana")[0].item_id == pair.id and len(store.verdicts(annotator="ana")) == 1


def test_flag_and_skip_confirm_on_the_page(app_settings, labels):
    from workbench.review.store import LabelStore

    at = review_at()
    item = current_item(labels)
    at.button(key="review_flag").click().run()
    assert [t.value for t in at.toast] == [f"Flagged item {item.id[:12]} for attention."]
    at.button(key="review_skip").click().run()
    assert at.toast[0].value.startswith(f"Skipped item {item.id[:12]}")
    assert any(s.value.startswith("Skipped item") for s in at.success)
    with LabelStore(labels) as store:
        assert [f["item_id"] for f in store.flags()] == [item.id]
        assert [v.verdict for v in store.verdicts(annotator="ana")] == ["skip"]


def test_the_guidelines_define_each_category_with_an_example(app_settings, labels):
    from workbench.review.config import DEFAULT_GUIDELINES

    at = review_at()
    text = "\n".join(m.value for m in at.expander[0].markdown)
    for i, (name, (definition, example)) in enumerate(DEFAULT_GUIDELINES.items(), 1):
        assert f"`{i}` **{name}**: {definition}  \n*Example:* {example}" in text


def test_the_team_controls_set_overlap_and_assignment_and_the_empty_queue_says_why(app_settings, labels):
    from workbench.review.store import LabelStore

    with LabelStore(labels) as store:
        for item in store.items():
            store.submit(item.id, "ana", "skip")
    at = review_at("ben")  # overlap 1 and ana has done everything
    assert [i.value for i in at.info] == ["Every item you have not labelled already has 1 annotator(s)' verdicts "
                                          "(overlap 1): raise the overlap for a second opinion."]
    at.number_input(key="review_overlap").set_value(2).run()
    at.button(key="review_set_overlap").click().run()
    no_exceptions(at)
    with LabelStore(labels) as store:
        assert store.overlap() == 2
    at = review_at("ben")
    assert not at.info and "0 of 3 items done" in at.get("progress")[0].proto.text

    at.text_input(key="review_team").set_value("ana, cy").run()
    at.number_input(key="review_overlap").set_value(1).run()
    at.button(key="review_assign").click().run()
    no_exceptions(at)
    with LabelStore(labels) as store:
        assert sum(store.assign(["ana", "cy"], overlap=1).values()) == 3  # every item went to one of them
    at = review_at("dee")
    assert at.info[0].value.startswith("No items are assigned to you: the items are assigned to ana, cy")
    at = review_at("ana")
    assert at.info[0].value.startswith("All your items are done")


def test_agreement_reads_alpha_and_kappa_and_lists_disagreements_as_texts(app_settings, labels):
    from workbench.review.store import LabelStore

    with LabelStore(labels) as store:
        items = store.items()
        pair = next(i for i in items if i.kind == "pair")
        singles = [i for i in items if i.kind == "output"]
        for name, verdicts in (("ana", ["A", "no_error", "errors"]), ("ben", ["B", "no_error", "errors"])):
            for item, verdict in zip([pair, *singles], verdicts):
                store.submit(item.id, name, verdict)
    at = review_at("ana")
    no_exceptions(at)
    [table] = [d for d in at.dataframe if "dimension" in d.value.columns and "text" in d.value.columns]
    rows = table.value.to_dict("records")
    assert rows == [{"item": pair.id[:12], "text": "What is warfarin?", "dimension": "verdict", "ana": "A", "ben": "B"}]
    captions = " ".join(c.value for c in at.caption)
    assert "unreliable" in captions or "reliable" in captions or "not defined" in captions
    [kappa] = [d for d in at.dataframe if "Cohen's κ" in d.value.columns]
    assert set(kappa.value["reading"]) <= {"almost perfect", "substantial", "moderate", "fair", "slight",
                                           "poor (no better than chance)", "not defined (one answer only)"}


def test_selected_and_saved_in_one_go_the_error_goes_to_the_selected_output(app_settings, labels):
    """Enter pressed right after the selection (one rerun carries both): the output radio has not followed
    the selection yet, and the selection decides."""
    from workbench.review.store import LabelStore

    at = review_at()
    item = current_item(labels)
    at.radio(key=f"slot_{item.id}_0").set_value("A").run()
    at.button(key="cat_1").click().run()
    at.segmented_control(key="review_severity").set_value("minor").run()
    at.radio(key=f"pref_{item.id}").set_value("tie").run()
    value = select(at, item, "B", item.output("B")["text"].split()[-1])
    at.button(key="review_submit").click().run()
    no_exceptions(at)
    assert not errors_of(at)
    with LabelStore(labels) as store:
        [label] = store.labels(annotator="ana")
    assert (label.output, label.start, label.end) == ("B", value["start"], value["end"])
