"""Review: one item at a time, blind A/B, an error marked by selecting its words with the mouse (or by
typing them), keyboard shortcuts, progress, guidelines, the team's queue, agreement and export.

What the form shows is read as one review (``appsupport.review_from_form``) and submitted through
``workflows.submit_review``: the errors marked, then the verdict, or nothing at all with one message
naming what is missing."""

import time

import streamlit as st
from common import user_errors, workspace

from workbench import appsupport, workflows
from workbench.app.components.highlight import highlight
from workbench.errors import WorkbenchError
from workbench.review.config import DOCUMENT_VERDICTS, PREFERENCES, SEVERITY_WEIGHTS

st.title("Review")
ws = workspace()
DB = workflows.labels_path(ws)
WORDS = appsupport.REVIEW_LABELS
SHORTCUTS = "select words with the mouse: the error's span · digits: category · Enter: save · E: keep this error " \
            "and mark another · S: skip · F: flag · U: undo"


@st.cache_resource(show_spinner=False)
def store_at(path: str):
    return workflows.label_store(labels=path)


if not DB.exists():
    st.info("No review items yet: make them from a comparison on the Compare page "
            "(or `workbench review items COMPARISON`).")
    st.stop()

store = store_at(str(DB))
taxonomy = store.taxonomy()
categories = taxonomy.categories[:9]  # digits 1-9

# the annotator's name lives in the address bar (a reload or a bookmark keeps it) and in the session
# (moving to another page and back keeps it)
state = st.session_state
remembered = st.query_params.get("annotator") or state.get("annotator_name", "")
if "review_annotator" not in state:
    state["review_annotator"] = remembered
annotator = st.text_input("Your name", key="review_annotator",
                          placeholder="who is labelling (kept in the address bar)").strip()
state["annotator_name"] = annotator
if annotator:
    st.query_params["annotator"] = annotator
else:
    st.query_params.pop("annotator", None)

with st.expander("Guidelines and shortcuts", icon=":material/menu_book:"):
    st.markdown(f"**Keyboard**: {SHORTCUTS}")
    for line in taxonomy.guidelines():
        key = f"`{line['key']}` " if line["key"] else ""
        definition = line["definition"] or "*no definition in this project's taxonomy: add one to its YAML*"
        example = f"  \n*Example:* {line['example']}" if line["example"] else ""
        st.markdown(f"{key}**{line['category']}**: {definition}{example}")
    st.markdown(f"**{WORDS['severity']}** (MQM weights, always chosen, never assumed): "
                + ", ".join(f"{k} = {SEVERITY_WEIGHTS[k]}" for k in workflows.SEVERITIES))

with st.expander("Team: overlap and assignment", icon=":material/group:"):
    st.caption("Overlap: how many annotators label each item (2 or more for agreement). Assigning gives each "
               "item to that many of the annotators listed; without assignments anyone takes the next open item.")
    t1, t2 = st.columns([1, 3])
    overlap = t1.number_input("Annotators per item (overlap)", min_value=1, step=1, value=store.overlap(),
                              key="review_overlap")
    team = t2.text_input("Annotators (comma-separated)", key="review_team", placeholder="ana, ben")
    b1, b2 = st.columns(2)
    if b1.button("Set overlap", key="review_set_overlap"):
        with user_errors(WORDS):
            store.set_overlap(int(overlap))
            st.success(f"Each item now goes to {int(overlap)} annotator(s).", icon=":material/done:")
    if b2.button("Assign the items", key="review_assign"):
        with user_errors(WORDS):
            counts = store.assign([n.strip() for n in team.split(",") if n.strip()], overlap=int(overlap))
            st.success("Assigned: " + ", ".join(f"{name} {n} item(s)" for name, n in counts.items()),
                       icon=":material/done:")

if not annotator:
    st.warning("Type your name to start.")
    st.stop()

queue = store.queue_status(annotator)
if queue["done"] + queue["remaining"]:
    total = queue["done"] + queue["remaining"]
    st.progress(queue["done"] / total, text=f"{queue['done']} of {total} items done")

notice = state.pop("review_notice", None)
if notice:
    st.toast(notice, icon=":material/done:")
    st.success(notice, icon=":material/done:")

last = state.get("review_last")
if last:
    with user_errors(WORDS):
        shown = store.item(last, annotator)
        if shown.kind == "pair" and shown.revealed:
            st.caption("Previous item: " + ", ".join(f"{o['slot']} was **{o.get('model')}**" for o in shown.outputs))


def keys(item) -> dict:
    """The form's widget keys for this item; a new generation (after a save or E) starts an empty form."""
    gen = state.get("review_gen", 0)
    return {name: f"{name}_{item.id}_{gen}" for name in ("highlight", "phrase", "note", "correction", "slot")}


def form_of(item) -> dict:
    k = keys(item)
    selection = state.get(k["highlight"])
    output = state.get(k["slot"]) if len(item.outputs) > 1 else item.outputs[0]["slot"]
    if selection and selection != state.get(f"seen_{k['highlight']}"):
        output = selection.get("output")  # selected and saved in one go: the radio has not followed yet
    return {"selection": selection, "phrase": state.get(k["phrase"], ""), "output": output,
            "category": state.get("review_category"), "severity": state.get("review_severity"),
            "note": state.get(k["note"], ""), "correction": state.get(k["correction"], "")}


def act(action, *args) -> None:
    """Run one action from a button callback; a refusal is kept for this run's message."""
    try:
        action(*args)
    except WorkbenchError as exc:
        state["review_error"] = exc.one_line(WORDS)


def clear_form() -> None:
    """Empty every input of the error (new widget keys, so nothing the browser holds comes back)."""
    state["review_gen"] = state.get("review_gen", 0) + 1
    state["review_category"] = None
    state["review_severity"] = None


def pick_category(name: str) -> None:
    state["review_category"] = name


def add_error(item) -> None:
    """Keep the error the form shows with the item's others (all are written with the verdict)."""
    mark = appsupport.error_from_form(item, form_of(item), categories)
    if mark is None:
        raise WorkbenchError("no error marked yet.", "select the wrong words (or type them), then choose a category "
                             "and a severity.", field="span")
    state.setdefault(f"marks_{item.id}", []).append(mark)
    clear_form()
    state["review_notice"] = f"Error kept ({mark.category}, {mark.severity}): it is written when you save."


def verdict_of(item) -> str | None:
    if item.kind == "pair":
        return state.get(f"pref_{item.id}")
    if item.kind == "document":
        return state.get(f"keep_{item.id}")
    return None


def seconds() -> float:
    return round(time.time() - state.get("review_started", time.time()), 1)


def submit(item) -> None:
    verdict, errors = appsupport.review_from_form(item, form_of(item), verdict_of(item), categories,
                                                  state.get(f"marks_{item.id}", []))
    workflows.submit_review(store, item, annotator, verdict, errors=errors, seconds=seconds())
    state.pop(f"marks_{item.id}", None)
    clear_form()
    state["review_last"] = item.id
    state["review_notice"] = f"Saved: {verdict}" + (f" with {len(errors)} error(s)" if errors else "") + "."


def skip(item) -> None:
    workflows.submit_review(store, item, annotator, "skip", seconds=seconds())
    state.pop(f"marks_{item.id}", None)
    clear_form()
    state["review_notice"] = f"Skipped item {item.id[:12]}: it stays in the store, without your verdict."


def flag(item) -> None:
    store.flag(item.id, annotator)
    state["review_notice"] = f"Flagged item {item.id[:12]} for attention."


def undo() -> None:
    store.undo(annotator)
    state["review_notice"] = "Took back your last action."


def guarded(fn, *args):
    def run():
        act(fn, *args)
    return run


item = store.next_item(annotator)
if item is None:
    st.info(queue["message"], icon=":material/inbox:")
else:
    if state.get("review_item") != item.id:
        state["review_item"] = item.id
        state["review_started"] = time.time()
        state["review_category"] = None
    k = keys(item)
    why = (item.meta or {}).get("why")
    st.markdown(f"**Item** `{item.id[:12]}` · {item.kind}" + (f" · {why}" if why else ""))
    if item.prompt:
        st.markdown("**Context**")
        st.text(item.prompt)
    slots = [o["slot"] for o in item.outputs]
    marks = state.get(f"marks_{item.id}", [])
    previous = state.get(f"seen_{k['highlight']}")
    selection = highlight([{**o, "label": f"Output {o['slot']}" if len(slots) > 1 else "Output"} for o in item.outputs],
                          key=k["highlight"], selected=state.get(k["highlight"]),
                          kept=[{"output": m.output, "start": m.start, "end": m.end} for m in marks
                                if m.start is not None])
    if selection and selection != previous:
        state[f"seen_{k['highlight']}"] = selection
        if len(slots) > 1:
            state[k["slot"]] = selection.get("output")  # the output follows from where the words were selected
    if selection:
        st.markdown(f"Marked in output **{selection.get('output')}**: “{selection.get('text', '')}” "
                    f"(characters {selection.get('start')}–{selection.get('end')})")
    for label in store.labels(item_id=item.id, annotator=annotator):
        span = label.text if label.start is not None else "(whole output)"
        st.markdown(f":red-badge[{label.category}] {label.severity} · {label.output}: “{span}”")
    for mark in marks:
        text = item.output(mark.output)["text"] if mark.output else item.outputs[0]["text"]
        span = text[mark.start:mark.end] if mark.start is not None else "(whole output)"
        st.markdown(f":orange-badge[{mark.category}] {mark.severity} · {mark.output}: “{span}” (written on save)")

    p1, p2 = st.columns([1, 3]) if len(slots) > 1 else (None, st.container())
    if p1 is not None:
        p1.radio(WORDS["output"], slots, horizontal=True, key=k["slot"], index=None)
    p2.text_input("…or type the wrong words (keyboard)", key=k["phrase"],
                  help="The words as they appear in the output; empty with a category marks the whole output.")
    st.markdown(f"**{WORDS['category']}** " + (f":orange-badge[{state['review_category']}]"
                                               if state.get("review_category") else "(press a digit)"))
    cat_cols = st.columns(4)
    for i, name in enumerate(categories, 1):
        cat_cols[(i - 1) % 4].button(name, key=f"cat_{i}", shortcut=str(i), on_click=pick_category, args=(name,),
                                     type="primary" if state.get("review_category") == name else "secondary",
                                     width="stretch", help=taxonomy.descriptions.get(name) or None)
    c1, c2, c3 = st.columns(3)
    c1.segmented_control(WORDS["severity"] + " (required)", workflows.SEVERITIES, default=None, key="review_severity")
    c2.text_input("Note", key=k["note"])
    c3.text_input("Corrected text", key=k["correction"])
    if item.kind == "pair":
        st.radio("Which is better?", PREFERENCES, horizontal=True, key=f"pref_{item.id}", index=None)
    elif item.kind == "document":
        st.radio("Keep this document in the corpus?", DOCUMENT_VERDICTS, horizontal=True, key=f"keep_{item.id}",
                 index=None)
    b = st.columns(5)
    b[0].button("Save", type="primary", shortcut="Enter", key="review_submit", on_click=guarded(submit, item))
    b[1].button("Keep error, mark another", shortcut="E", key="review_add", on_click=guarded(add_error, item))
    b[2].button("Skip", shortcut="S", key="review_skip", on_click=guarded(skip, item))
    b[3].button("Flag", shortcut="F", key="review_flag", on_click=guarded(flag, item))
    st.caption(SHORTCUTS)
st.button("Undo", shortcut="U", key="review_undo", on_click=guarded(undo))
if state.get("review_error"):
    st.error(state.pop("review_error"), icon=":material/error:")

st.header("Agreement")
with user_errors(WORDS):
    report = store.agreement()
    alpha = report.get("alpha") or {}
    cols = st.columns(max(1, len(alpha)))
    for col, (dim, value) in zip(cols, alpha.items()):
        col.metric(f"Krippendorff's α, {dim}", "n/a" if value is None else f"{value:.2f}")
        col.caption((report.get("alpha_reading") or {}).get(dim, ""))
    st.caption("α ≥ 0.8: reliable; 0.667 to 0.8: tentative conclusions only; below 0.667: unreliable "
               f"(Krippendorff). {report.get('items_with_overlap', 0)} item(s) seen by two or more annotators: "
               + (", ".join(report.get("annotators") or []) or "none yet") + ".")
    pairs = [{"annotators": f"{r['a']} · {r['b']}", "dimension": dim, "Cohen's κ": r["kappa"],
              "reading": r.get("reading", ""), "observed agreement": r["observed_agreement"], "shared items": r["items"]}
             for dim, rows in (report.get("kappa") or {}).items() for r in rows]
    if pairs:
        st.dataframe(pairs, hide_index=True, key="review_kappa_table",
                     column_config={"Cohen's κ": st.column_config.NumberColumn(format="%.2f"),
                                    "observed agreement": st.column_config.NumberColumn(format="percent")})
        st.caption("Cohen's κ (Landis and Koch): above 0.8 almost perfect, 0.6 substantial, 0.4 moderate, "
                   "0.2 fair, above 0 slight.")
    if report.get("items_with_overlap"):
        from workbench.review.plots import confusion_heatmap, kappa_bars

        c1, c2 = st.columns(2)
        c1.plotly_chart(kappa_bars(report, "verdict"), key="review_kappa")
        c2.plotly_chart(confusion_heatmap(report["confusion"]["category"]), key="review_confusion")
    if report.get("disagreement_rows"):
        st.markdown("**Disagreements** (what each annotator said)")
        st.dataframe(report["disagreement_rows"], hide_index=True, key="review_disagreements")

st.header("Export")
fmt = st.selectbox("Format", ["jsonl", "csv"], key="review_export_format")
if st.button("Prepare export", key="review_export"):
    with user_errors(WORDS):
        out = store.export(ws.root / "exports" / f"labels.{fmt}", fmt)
        st.download_button(f"Download labels.{fmt}", out.read_bytes(), file_name=f"labels.{fmt}",
                           key="review_download")
