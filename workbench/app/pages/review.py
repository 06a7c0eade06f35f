"""Review: one item at a time, blind A/B, error spans as character offsets, keyboard shortcuts,
progress, guidelines, agreement and export. A review is submitted through ``workflows.submit_review``
(the errors marked, then the verdict, or nothing at all when the library refuses it)."""

import time

import streamlit as st
from common import user_errors, workspace

from workbench import appsupport, workflows
from workbench.errors import WorkbenchError
from workbench.review.config import DOCUMENT_VERDICTS, PREFERENCES, SEVERITY_WEIGHTS

st.title("Review")
ws = workspace()
DB = workflows.labels_path(ws)
WORDS = appsupport.REVIEW_LABELS
SHORTCUTS = "digits: category · Enter: submit · E: add error · S: skip · F: flag · U: undo"


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
    for i, name in enumerate(categories, 1):
        st.markdown(f"`{i}` **{name}**: {taxonomy.descriptions.get(name, '')}")
    st.markdown(f"{WORDS['severity']} (MQM weights): "
                + ", ".join(f"{k} = {SEVERITY_WEIGHTS[k]}" for k in workflows.SEVERITIES))

if not annotator:
    st.warning("Type your name to start.")
    st.stop()

progress = store.progress()
mine = progress["annotators"].get(annotator, {"done": 0, "remaining": progress["items"]})
total = mine["done"] + mine["remaining"]
st.progress(mine["done"] / total if total else 1.0, text=f"{mine['done']} of {total} items done")

last = state.get("review_last")
if last:
    with user_errors(WORDS):
        shown = store.item(last, annotator)
        if shown.kind == "pair" and shown.revealed:
            st.caption("Previous item: " + ", ".join(f"{o['slot']} was **{o.get('model')}**" for o in shown.outputs))


def act(action, *args, **kwargs) -> None:
    """Run one store action from a button callback; user errors are kept for the next run."""
    try:
        action(*args, **kwargs)
    except WorkbenchError as exc:
        state["review_error"] = exc.one_line(WORDS)


def pick_category(name: str) -> None:
    state["review_category"] = name


def _span(item, slot: str) -> tuple:
    text = item.output(slot)["text"]
    phrase = state.get(f"phrase_{item.id}", "")
    words = state.get(f"words_{item.id}_{slot}", [])
    if phrase.strip():
        return appsupport.find_phrase(text, phrase)
    if words:
        return appsupport.span_from_words(text, [int(w.split(":", 1)[0]) for w in words])
    return None, None  # the whole output


def _marked(item) -> workflows.ErrorMark | None:
    """The error being marked on the form (a category, a severity or a span chosen), or None."""
    slot = state.get(f"slot_{item.id}") if len(item.outputs) > 1 else item.outputs[0]["slot"]
    spans = state.get(f"phrase_{item.id}", "").strip() or any(state.get(f"words_{item.id}_{o['slot']}")
                                                               for o in item.outputs)
    if not (state.get("review_category") or state.get("review_severity") or spans):
        return None
    start, end = _span(item, slot) if slot else (None, None)
    return workflows.ErrorMark(category=state.get("review_category"), severity=state.get("review_severity"),
                               output=slot, start=start, end=end, note=state.get(f"note_{item.id}", ""),
                               correction=state.get(f"correction_{item.id}") or None)


def _clear_mark(item) -> None:
    """Empty the error inputs (set, not dropped: the browser would send a dropped widget's old value back)."""
    for key in (f"phrase_{item.id}", f"note_{item.id}", f"correction_{item.id}"):
        state[key] = ""
    for out in item.outputs:
        state[f"words_{item.id}_{out['slot']}"] = []
    state["review_severity"] = None
    state["review_category"] = None


def add_error(item) -> None:
    """Keep the error on the form with the item's others; all are written with the verdict."""
    mark = _marked(item)
    if mark is None:
        raise WorkbenchError("no error marked yet.", "press a category's digit and choose its severity first.",
                             field="category")
    state.setdefault(f"marks_{item.id}", []).append(mark)
    _clear_mark(item)


def submit(item) -> None:
    marks = list(state.get(f"marks_{item.id}", []))
    current = _marked(item)
    if current is not None:
        marks.append(current)
    if item.kind == "pair":
        verdict = state.get(f"pref_{item.id}")
    elif item.kind == "document":
        verdict = state.get(f"keep_{item.id}")
    else:
        verdict = "errors" if marks else "no_error"
    workflows.submit_review(store, item, annotator, verdict, errors=marks,
                            seconds=time.time() - state.get("review_started", time.time()))
    state.pop(f"marks_{item.id}", None)
    _clear_mark(item)
    state["review_last"] = item.id


def skip(item) -> None:
    workflows.submit_review(store, item, annotator, "skip", seconds=time.time() - state.get("review_started", time.time()))
    state.pop(f"marks_{item.id}", None)
    _clear_mark(item)


def guarded(fn, *args):
    def run():
        act(fn, *args)
    return run


item = store.next_item(annotator)
if item is None:
    st.success("Your queue is empty: every item has your verdict.", icon=":material/done_all:")
else:
    if state.get("review_item") != item.id:
        state["review_item"] = item.id
        state["review_started"] = time.time()
        state["review_category"] = None
    st.markdown(f"**Item** `{item.id[:12]}` · {item.kind}")
    if item.prompt:
        st.markdown("**Context**")
        st.text(item.prompt)
    slots = [o["slot"] for o in item.outputs]
    cols = st.columns(len(slots))
    for col, out in zip(cols, item.outputs):
        with col:
            st.markdown(f"**Output {out['slot']}**" if len(slots) > 1 else "**Output**")
            st.text(out["text"])
            words = appsupport.word_spans(out["text"])
            st.multiselect("Pick the wrong words", [f"{i}: {w}" for i, (_, _, w) in enumerate(words)],
                           key=f"words_{item.id}_{out['slot']}", placeholder="pick words")
    for label in store.labels(item_id=item.id, annotator=annotator):
        span = label.text if label.start is not None else "(whole output)"
        st.markdown(f":red-badge[{label.category}] {label.severity} · {label.output}: “{span}”")
    for mark in state.get(f"marks_{item.id}", []):
        text = item.output(mark.output)["text"] if mark.output else item.outputs[0]["text"]
        span = text[mark.start:mark.end] if mark.start is not None else "(whole output)"
        st.markdown(f":orange-badge[{mark.category or 'no category'}] {mark.severity or 'no severity'} · "
                    f"{mark.output or ''}: “{span}” (written on submit)")

    if len(slots) > 1:
        st.radio(WORDS["output"], slots, horizontal=True, key=f"slot_{item.id}", index=None)
    st.text_input("…or type the wrong phrase", key=f"phrase_{item.id}")
    st.markdown(f"**{WORDS['category']}** " + (f":orange-badge[{state['review_category']}]" if state.get("review_category")
                                   else "(press a digit)"))
    cat_cols = st.columns(4)
    for i, name in enumerate(categories, 1):
        cat_cols[(i - 1) % 4].button(name, key=f"cat_{i}", shortcut=str(i), on_click=pick_category, args=(name,),
                                     type="primary" if state.get("review_category") == name else "secondary",
                                     width="stretch")
    c1, c2, c3 = st.columns(3)
    c1.segmented_control(WORDS["severity"], workflows.SEVERITIES, default=None, key="review_severity")
    c2.text_input("Note", key=f"note_{item.id}")
    c3.text_input("Corrected text", key=f"correction_{item.id}")
    if item.kind == "pair":
        st.radio("Which is better?", PREFERENCES, horizontal=True, key=f"pref_{item.id}", index=None)
    elif item.kind == "document":
        st.radio("Keep this document in the corpus?", DOCUMENT_VERDICTS, horizontal=True, key=f"keep_{item.id}",
                 index=None)
    b = st.columns(5)
    b[0].button("Submit", type="primary", shortcut="Enter", key="review_submit", on_click=guarded(submit, item))
    b[1].button("Add error", shortcut="E", key="review_add", on_click=guarded(add_error, item))
    b[2].button("Skip", shortcut="S", key="review_skip", on_click=guarded(skip, item))
    b[3].button("Flag", shortcut="F", key="review_flag", on_click=guarded(store.flag, item.id, annotator))
    st.caption(SHORTCUTS)
st.button("Undo", shortcut="U", key="review_undo", on_click=guarded(store.undo, annotator))
if state.get("review_error"):
    st.error(state.pop("review_error"), icon=":material/error:")

st.header("Agreement")
with user_errors(WORDS):
    report = store.agreement()
    alpha = report.get("alpha") or {}
    cols = st.columns(max(1, len(alpha)))
    for col, (dim, value) in zip(cols, alpha.items()):
        col.metric(f"α {dim}", "n/a" if value is None else f"{value:.2f}")
    st.caption(f"{report.get('items_with_overlap', 0)} items seen by two or more annotators: "
               + (", ".join(report.get("annotators") or []) or "none yet"))
    if report.get("items_with_overlap"):
        from workbench.review.plots import confusion_heatmap, kappa_bars

        c1, c2 = st.columns(2)
        c1.plotly_chart(kappa_bars(report, "verdict"), key="review_kappa")
        c2.plotly_chart(confusion_heatmap(report["confusion"]["category"]), key="review_confusion")
    if report.get("disagreements"):
        st.markdown("**Disagreements**")
        st.dataframe([{"item": d["item_id"][:12], "dimensions": ", ".join(d["dimensions"]),
                       "annotators": str(d["annotators"])} for d in report["disagreements"]],
                     hide_index=True, key="review_disagreements")

st.header("Export")
fmt = st.selectbox("Format", ["jsonl", "csv"], key="review_export_format")
if st.button("Prepare export", key="review_export"):
    with user_errors(WORDS):
        out = store.export(ws.root / "exports" / f"labels.{fmt}", fmt)
        st.download_button(f"Download labels.{fmt}", out.read_bytes(), file_name=f"labels.{fmt}",
                           key="review_download")
