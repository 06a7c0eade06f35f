"""Train: the model first, then its preset, and a form prefilled from the settings they resolve to
(``appsupport.train_form``); the plan before launch; live curves, stop/resume, overlay."""

import json

import streamlit as st
from common import (
    ACTIVE,
    badge,
    config_inputs,
    forget_inputs,
    prefill,
    progress_line,
    settings,
    show_error,
    user_errors,
    workspace,
)
from sections.curriculum import curriculum_inputs, curriculum_plan

from workbench import appsupport
from workbench.app.sections.gpus import gpu_count, visible_gpus
from workbench.app.sections.knowledge import glossary_plan_section
from workbench.errors import WorkbenchError

st.title("Train")
cfg = settings()
ws = workspace()

# the fields the form shows first; every other TrainConfig field goes in "Advanced"
BASICS = ("data", "max_tokens", "name")
# widgets prefilled from the model and preset: refilled when either changes
PREFILLED = ("adv_", "train_max_tokens")


@st.cache_data(ttl=10, show_spinner=False)
def _choices(roots_key: str):
    suffixes = appsupport.corpus_suffixes()
    files = [str(p) for p in appsupport.list_files(cfg.file_roots(), suffixes)]
    return appsupport.model_choices(cfg), files


@st.cache_data(show_spinner=False)
def _made_for(preset: str) -> str | None:
    from workbench.workflows import preset_model

    return preset_model(preset)


@st.cache_data(show_spinner=False, max_entries=64)
def _plan(model: str, plan_values: dict):
    from workbench.training.plan import PlanConfig, estimate

    return estimate(model, PlanConfig(**plan_values)).to_dict()


def _short(path: str) -> str:
    """A path as the user knows it: relative to the workspace, or the bundled sample's file name."""
    from pathlib import Path

    for root, label in ((cfg.workspace_root, ""), (appsupport.sample_data_dir(), "sample: ")):
        try:
            return label + str(Path(path).resolve().relative_to(root))
        except ValueError:
            continue
    return path


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _own_preset(model: str) -> str:
    """The preset made for ``model``, by name ("none" when none is shipped for it)."""
    from workbench.training.config import NO_PRESET

    try:
        return appsupport.own_preset(model)
    except WorkbenchError:  # a model the app refuses: said where the form is drawn
        return NO_PRESET


def _model_changed() -> None:
    """Another model starts from its own preset, the form refilled from it."""
    st.session_state["train_preset"] = _own_preset(st.session_state["train_model"])
    forget_inputs(*PREFILLED)


def _preset_text(preset: str) -> str:
    from workbench.training.config import NO_PRESET

    if preset == NO_PRESET:
        return f"{NO_PRESET} · plain defaults"
    made_for = _made_for(preset)
    return f"{preset} · for {made_for}" if made_for else preset


def new_run_form() -> None:
    from workbench.config import to_dict
    from workbench.models.registry import DEFAULT_MODEL, REGISTRY
    from workbench.training.config import NO_PRESET, list_presets

    state = st.session_state
    words = appsupport.train_words()
    labels = appsupport.TRAIN_LABELS
    models, files = _choices(repr(cfg.file_roots()))
    model_options = list(dict.fromkeys(models + list(REGISTRY)))
    if state.get("train_model") not in model_options:
        state["train_model"] = DEFAULT_MODEL if DEFAULT_MODEL in model_options else model_options[0]
    presets = [*list_presets(), NO_PRESET]
    c1, c2 = st.columns(2)
    model = c1.selectbox(labels["model"], model_options, key="train_model", format_func=_short,
                         on_change=_model_changed,
                         help="Registry models (fetched offline) or model folders under the workspace.")
    if state.get("train_preset") not in presets:
        state["train_preset"] = _own_preset(model)
    preset = c2.selectbox(labels["preset"], presets, key="train_preset", format_func=_preset_text,
                          on_change=forget_inputs, args=PREFILLED,
                          help="Starts as the preset made for the model; 'none' for the plain defaults. "
                               "The fields below are filled from it; change what you need.")
    try:
        shown, specs = appsupport.train_form(cfg, model, preset)
    except WorkbenchError as exc:
        show_error(exc, words)
        return
    snapshots = [str(s.folder) for s in ws.snapshots()]
    data_options = list(dict.fromkeys(snapshots + files + [shown.data]))
    c3, c4, c5 = st.columns(3)
    data = c3.selectbox(labels["data"], data_options, key="train_data",
                        index=data_options.index(snapshots[0]) if snapshots else data_options.index(shown.data),
                        format_func=_short)
    prefill("train_max_tokens", int(shown.max_tokens))
    max_tokens = c4.number_input(labels["max_tokens"], min_value=256, step=1024, key="train_max_tokens")
    name = c5.text_input(labels["name"], key="train_name", placeholder="default: model and time")
    values = {"data": data, "max_tokens": int(max_tokens), "name": name.strip() or None}
    with st.expander("Advanced settings", expanded=False):
        values.update(config_inputs([s for s in specs if s.key not in BASICS], "adv_"))
        values.update(curriculum_inputs(values.get("curriculum.order", shown.curriculum.order)))
    try:
        config = appsupport.train_config_from_form(cfg, model, preset, values)
    except WorkbenchError as exc:
        show_error(exc, words)
        return

    with user_errors(words):
        glossary_plan_section(config)  # knowledge.glossary: its terms, rendered text and share, cloze probes
    st.subheader("Plan")
    from workbench.training.plan import GPUS, PlanConfig

    gpus = list(GPUS)
    gpu = st.selectbox("Hardware", gpus, index=gpus.index("cpu"), key="train_gpu",
                       help="The plan estimates peak memory, time and cost on this device before you launch.")
    n_gpus = gpu_count(visible_gpus())
    with user_errors(words):
        plan_values = to_dict(PlanConfig.from_train_config(config, gpu=gpu, gpus=n_gpus))
        plan = _plan(config.model, plan_values)
        from workbench.training.plots import memory_breakdown

        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Peak memory", f"{plan['peak_gib']:.2f} GiB", help=f"of {plan['device_memory_gib']:.1f} GiB")
        m2.metric("Fits", "yes" if plan["fits"] else "no")
        m3.metric("Wall time", _duration(plan["seconds"]))
        m4.metric("Cost", f"${plan['cost']:.2f}")
        st.plotly_chart(memory_breakdown(plan), key="plan_memory")
        curriculum_plan(config)
    if st.button("Launch training", type="primary", icon=":material/play_arrow:", key="train_launch"):
        from workbench import jobs

        with user_errors(words):
            job = jobs.launch("train", config, ws, gpus=n_gpus)
            st.session_state["train_pending_run"] = job.name
            st.query_params["run"] = job.name
            st.rerun()


def run_view(run_names: list[str]) -> None:
    """The chosen run: status, Stop/Resume, live curves. The choice lives in the URL, so a reload or an
    app restart comes back to the same run; a running job is picked by default."""
    state = st.session_state
    wanted = state.pop("train_pending_run", None) or st.query_params.get("run")
    if wanted not in run_names:
        active = [s.name for s in ws.runs() if s.state in ACTIVE]
        wanted = active[0] if active else run_names[0]
    if state.get("train_view_run") not in run_names or wanted != state.get("train_follow"):
        state["train_view_run"] = wanted  # a launch, a reload or an address with ?run= picks the run shown
    name = st.selectbox("Run", run_names, key="train_view_run")
    state["train_follow"] = name
    st.query_params["run"] = name
    c1, c2, c3 = st.columns([1, 1, 2])
    x = c1.radio("x axis", ["step", "tokens"], horizontal=True, key="train_x")
    log_y = c2.toggle("log scale", key="train_log")
    threshold = c3.number_input("forgetting threshold (% general perplexity rise)", min_value=0.1,
                                value=float(_run_threshold(name)), key=f"train_threshold_{name}")
    status = ws.run(name).status()
    live = status.get("state") in ACTIVE
    fragment = st.fragment(run_every=cfg.refresh_seconds if live else None)(_live_run)
    fragment(name, x, log_y, threshold, live)


def _run_threshold(name: str) -> float:
    config = (ws.run(name).card() or {}).get("config") or {}
    return config.get("forgetting_threshold_pct") or 10.0


def _live_run(name: str, x: str, log_y: bool, threshold: float, was_live: bool) -> None:
    """Redrawn every few seconds while the job runs: only the new rows of metrics.jsonl are read."""
    from workbench.training.plots import training_figures

    run = ws.run(name)
    status = run.status()
    key = f"metrics::{name}"
    buffer = st.session_state.setdefault(key, {"offset": 0, "rows": []})
    rows, offset = run.metrics(since=buffer["offset"])
    if offset < buffer["offset"]:  # the file was rewritten (a resumed run): start again
        buffer["rows"] = []
    buffer["rows"].extend(rows)
    buffer["offset"] = offset
    progress_line(status, label=name)
    state = status.get("state")
    b1, b2, _ = st.columns([1, 1, 4])
    if state in ("running", "queued") and b1.button("Stop", icon=":material/stop:", key=f"stop_{name}",
                                                    help="Graceful: saves a checkpoint, then ends 'stopped'."):
        from workbench import jobs

        with user_errors():
            jobs.attach(run.folder).stop()
            st.rerun()
    if state in ("stopped", "failed") and b2.button("Resume", icon=":material/replay:", key=f"resume_{name}",
                                                    help="Continue from the last checkpoint; the curves carry on."):
        from workbench import jobs

        with user_errors():
            jobs.attach(run.folder).resume()
            st.rerun()
    figures = training_figures(buffer["rows"], x=x, log_y=log_y, forgetting_threshold_pct=threshold)
    if not figures:
        st.info("No metrics yet: the first rows appear after the first optimizer step.")
    for fig_name, fig in figures.items():
        st.plotly_chart(fig, key=f"live_{fig_name}")
    if was_live and state not in ACTIVE:
        st.rerun()  # the job ended: redraw the whole page once, and stop polling


def queue_view() -> None:
    from workbench import jobs

    active = [job for job in jobs.list_jobs(ws) if job.status().get("state") in ACTIVE]
    if not active:
        st.caption("No job is running or queued.")
        return
    for job in active:
        status = job.status()
        phase = f" · {status['phase']}" if status.get("phase") else ""
        st.markdown(f"**{job.folder.name}** ({job.kind}) {badge(status.get('state'))}{phase}")


def overlay_view(run_names: list[str]) -> None:
    from workbench.training.plots import overlay_runs

    chosen = st.multiselect("Runs to overlay", run_names, default=run_names[:2], key="overlay_runs")
    if not chosen:
        return
    metric = st.selectbox("Metric", ["loss", "domain_ppl", "general_ppl", "lr", "tokens_per_s"], key="overlay_metric")
    x = st.radio("x axis ", ["step", "tokens"], horizontal=True, key="overlay_x")
    rows = {n: ws.run(n).metrics()[0] for n in chosen}
    st.plotly_chart(overlay_runs(rows, metric=metric, x=x), key="overlay_chart")
    diff = appsupport.config_diff({n: (ws.run(n).card() or {}).get("config") or {} for n in chosen})
    st.markdown("**Config differences**")
    if diff:
        st.dataframe([{k: (v if k == "key" else json.dumps(v)) for k, v in row.items()} for row in diff],
                     hide_index=True, key="overlay_diff")
    else:
        st.caption("Same configuration.")


with st.expander("New run", expanded=not ws.runs(), icon=":material/add:"):
    new_run_form()

names = [s.name for s in ws.runs()]
if names:
    st.header("Runs")
    if st.query_params.get("run") and st.query_params["run"] not in names:
        st.warning(f"There is no run named '{st.query_params['run']}' in this workspace; showing another.")
        del st.query_params["run"]
    run_view(names)
    st.header("Queue")
    # redrawn while a run is active, so a run that leaves the queue never reads "queued"
    any_active = any(s.state in ACTIVE for s in ws.runs())
    st.fragment(run_every=cfg.refresh_seconds if any_active else None)(queue_view)()
    st.header("Overlay and config diff")
    overlay_view(names)
else:
    st.info("No runs yet: fill the form above and launch one.")
