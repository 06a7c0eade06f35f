"""What the guided notebooks call: their parameters, widgets that never wait, and live views.

The notebooks (``notebooks/0*.ipynb``) hold no logic: a cell calls one or two functions from here or
from the stages, and shows the library's figures. Three rules keep them runnable top to bottom by a
fresh kernel with nobody at the keyboard (as the tests run them):

- :func:`setup` resolves the parameters cell into paths, model and budgets once; with
  ``WORKBENCH_SMALL=1`` in the environment it picks the tiny random model and small budgets;
- widgets (:func:`path_chooser`, :class:`TrainSettings`, :class:`ReviewForm`) take their defaults from
  the parameters and are read by plain function calls (``.values()``, :func:`chosen_paths`), so no cell
  waits for a click: changing a widget and re-running the next cell is how a person steers;
- :func:`follow` shows a job's progress bar and its evaluation curves, updated in place, and returns
  when the job ends (or reaches a step), so a notebook can launch, stop and resume a training job.

Every choice goes through the recipe layer (:mod:`workbench.workflows`), as it does from the CLI and
the app: a training config through ``train_config``, curation with the reviewers' decisions through
``curate(..., labels=...)``, a review through ``submit_review``. A name in the parameters cell that
names nothing in the workspace stops with an error listing what is there; only an empty name means
"the newest". In a notebook, :func:`setup` makes a library error show as one line, its setting
named as the parameters cell names it (``max_tokens`` is ``MAX_TOKENS``).

ipywidgets and IPython are imported inside the functions that draw, so this module imports anywhere.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from workbench import workflows
from workbench.errors import WorkbenchError
from workbench.status import TERMINAL_STATES as TERMINAL
from workbench.status import eta_text, status_fraction
from workbench.workspace import Artifact, Workspace

SMALL_ENV = "WORKBENCH_SMALL"

__all__ = [
    "Setup", "setup", "small_mode", "path_chooser", "chosen_paths", "TrainSettings", "follow",
    "status_line", "ReviewForm", "DocumentDecisions", "show", "training_data", "pick_run", "pick_comparison",
    "compare_config", "review_items", "flagged_documents", "parameter_words", "error_line", "show_errors_in_one_line",
    "PARAMETER_FIELDS", "snapshot_summary", "use_export_safe_figures", "figure_bundle", "LiveFigure",
    "stop_then_resume", "comparison_of", "demo_store", "DEMO_STORE",
    "plan_comparison", "token_view",
    "synthetic_audit",
    "glossary_summary", "cloze_table",
]


def small_mode(environ: dict | None = None) -> bool:
    """True when ``WORKBENCH_SMALL`` is set to anything but empty, 0, false or no (tests, CI, dry runs)."""
    value = (environ if environ is not None else os.environ).get(SMALL_ENV, "")
    return value.strip().lower() not in ("", "0", "false", "no")


@dataclass
class Setup:
    """Everything a notebook's later cells need, resolved once from its parameters cell."""

    workspace: Workspace
    """Where every artifact goes (profiles, snapshots, runs, comparisons, labels.db)."""
    model: str
    """Model spec (registry name, folder, .gguf, Hub id)."""
    small: bool
    """Tiny model and small budgets (``WORKBENCH_SMALL``)."""
    corpus: list[str]
    """Corpus files or folders to inspect and curate."""
    reference: str
    """General text: the reference of the domain-term ranking, and the forgetting check."""
    domain_eval: str
    """Held-out domain text (when there is no snapshot eval split yet)."""
    glossary: str | None
    """CSV of domain terms (column 'term'), or None."""
    probes: str | None
    """CSV of cloze probes, or None."""
    max_tokens: int
    """Training budget in tokens."""
    eval_docs: int | None
    """Cap on held-out documents per set in comparisons (None: all)."""
    extra: dict = field(default_factory=dict)

    @property
    def train_overrides(self) -> dict:
        """TrainConfig values that keep a small-mode run to seconds (short blocks, small micro-batches)."""
        return {"block_size": 64, "micro_batch_size": 2, "grad_accum": 1} if self.small else {}

    @property
    def labels_db(self) -> Path:
        """The workspace's label store (``labels.db``)."""
        return workflows.labels_path(self.workspace)

    def folder(self, kind: str, name: str) -> Path:
        return self.workspace.folder(kind, name)


def _expand(path: str | os.PathLike) -> str:
    """A path as the parameters cell wrote it, ``~`` expanded (``~/data/opinions`` is in the home folder)."""
    return str(Path(path).expanduser())


def _sample(name: str) -> str:
    from workbench.samples import sample_path

    return str(sample_path(name))


def setup(
    workspace: str | os.PathLike | None = None,
    model: str | None = None,
    corpus: list[str] | str | None = None,
    reference: str | None = None,
    domain_eval: str | None = None,
    glossary: str | None = "sample",
    probes: str | None = "sample",
    max_tokens: int | None = None,
    eval_docs: int | None = None,
    small: bool | None = None,
) -> Setup:
    """Resolve a notebook's parameters: defaults are the bundled sample data and the default model.

    Args:
        workspace: the workspace folder (default ``$WORKBENCH_WORKSPACE`` or ``./workspace``); ``~`` is
            expanded here and in every other path.
        model: model spec; default ``smollm2-135m``, or ``tiny-llama`` in small mode.
        corpus: one path or a list (files or folders); default the bundled clinical-pharmacology sample.
        reference / domain_eval: general and held-out domain text; default the bundled samples.
        glossary / probes: CSV paths, ``"sample"`` for the bundled ones, or None.
        max_tokens: training budget; default 16,384 tokens (2,048 in small mode).
        eval_docs: cap on held-out documents per set when comparing (default all; 6 in small mode).
        small: force small mode on or off (default: ``WORKBENCH_SMALL``).

    A registry model is provisioned into the cache here (a second call returns at once); a missing
    corpus path is a user error naming it. In a notebook, library errors show as one line from here on
    (:func:`show_errors_in_one_line`), and figures are drawn so that they survive an export to HTML
    (:func:`use_export_safe_figures`).
    """
    if show_errors_in_one_line():
        use_export_safe_figures()
    small = small_mode() if small is None else small
    model = model or ("tiny-llama" if small else "smollm2-135m")
    corpus_paths = [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus or [])
    corpus_paths = [_expand(p) for p in corpus_paths] or [_sample("domain_corpus.jsonl")]
    for path in corpus_paths:
        if not Path(path).exists():
            raise WorkbenchError(f"corpus path {path} does not exist.",
                                 "set {field} in the parameters cell to your files or folders.", field="paths")
    from workbench.models.registry import REGISTRY

    if model in REGISTRY:
        from workbench.models.fetch import fetch_model

        fetch_model(model, quiet=True)
    return Setup(
        workspace=Workspace.at(_expand(workspace) if workspace else None),
        model=_expand(model) if str(model).startswith("~") else model,
        small=small,
        corpus=corpus_paths,
        reference=_expand(reference) if reference else _sample("general_eval.jsonl"),
        domain_eval=_expand(domain_eval) if domain_eval else _sample("domain_eval.jsonl"),
        glossary=_sample("glossary.csv") if glossary == "sample" else (_expand(glossary) if glossary else None),
        probes=_sample("probes.csv") if probes == "sample" else (_expand(probes) if probes else None),
        max_tokens=int(max_tokens or (2048 if small else 16384)),
        eval_docs=eval_docs if eval_docs is not None else (6 if small else None),
    )


# ------------------------------------------------------------------------------------------ errors
PARAMETER_FIELDS = {"CORPUS": "paths", "LORA_R": "lora.r", "STOP_AT_STEP": "until_step", "ORDER": "curriculum.order",
                    "BIAS_PROBES": "guardrails.bias_probes"}
"""Parameters of the notebooks whose setting is not their own name in lower case (``MAX_TOKENS`` is
``max_tokens``; ``LORA_R`` is ``lora.r``)."""

_PARAMETER = re.compile(r"^[A-Z][A-Z0-9_]+$")  # WORKSPACE, MAX_TOKENS; not a one-letter S


def parameter_words(parameters: Iterable[str]) -> dict[str, str]:
    """``{setting: parameter}`` for the names of a parameters cell (``["MAX_TOKENS"]`` gives
    ``{"max_tokens": "MAX_TOKENS"}``): how a notebook words the field a library error names."""
    return {PARAMETER_FIELDS.get(name, name.lower()): name for name in parameters if _PARAMETER.match(name)}


def error_line(exc: WorkbenchError, parameters: Iterable[str] | Mapping[str, Any] = ()) -> str:
    """A library error as a notebook says it: one line, its setting named as the parameters cell names it.

    Args:
        exc: the error.
        parameters: the parameters cell's names (or the notebook's namespace: its upper-case names count).

    Returns:
        ``exc.one_line(words)``; when the error is about a parameter that its text does not name, the
        line ends by saying where to change it (``(MAX_TOKENS in the parameters cell)``).
    """
    words = parameter_words(parameters)
    line = exc.one_line(words)
    word = words.get(exc.field) if exc.field else None
    if word and not re.search(rf"\b{re.escape(word)}\b", line):
        line += f" ({word} in the parameters cell)"
    return line


def _one_line(shell, etype, value, tb, tb_offset=None):  # noqa: ARG001 - IPython's custom_exc signature
    """IPython's handler of a ``WorkbenchError``: the cell fails with one line instead of a traceback."""
    stb = [f"error: {error_line(value, shell.user_ns)}"]
    shell._showtraceback(etype, value, stb)  # the shell's own way to show an error (the kernel sends it)
    return stb


def show_errors_in_one_line(shell=None) -> bool:
    """Make a ``WorkbenchError`` raised by a cell show as one line (the cell still fails, so "run all"
    stops there). Outside IPython this does nothing.

    Args:
        shell: the IPython shell (default: the running one).

    Returns:
        Whether a shell was found.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((WorkbenchError,), _one_line)
    return True


# ----------------------------------------------------------------------------------------- figures
def use_export_safe_figures() -> str:
    """Draw plotly figures with plotly's notebook renderer (loaded from its CDN, so a notebook exported
    to HTML keeps its figures) beside plotly's own mime type (JupyterLab, VS Code), and a static PNG as
    well when kaleido is installed. Returns the renderer set."""
    import importlib.util

    import plotly.io as pio

    renderer = "plotly_mimetype+notebook_connected"
    if importlib.util.find_spec("kaleido") is not None:
        renderer += "+png"
    pio.renderers.default = renderer
    return renderer


def figure_bundle(fig) -> dict:
    """The display data of a plotly figure, for a display updated in place: plotly's own mime type
    (JupyterLab, VS Code) and HTML that loads plotly from its CDN (classic notebooks, an HTML export).
    Built here rather than by a renderer, which would show its plotly.js loader again on every update."""
    import base64
    import importlib.util
    import json

    import plotly.io as pio

    bundle = {"application/vnd.plotly.v1+json": {**json.loads(pio.to_json(fig, validate=False)), "config": {}},
              "text/html": fig.to_html(full_html=False, include_plotlyjs="cdn"),
              "text/plain": str(fig.layout.title.text or "figure")}
    if importlib.util.find_spec("kaleido") is not None:  # a static copy where one can be made
        bundle["image/png"] = base64.b64encode(fig.to_image(format="png")).decode("ascii")
    return bundle


class LiveFigure:
    """One output that holds a figure and is replaced in place on each :meth:`update` (one display
    handle), never a new figure under the last one.

    Args:
        placeholder: what the output shows until the first figure.
    """

    def __init__(self, placeholder: str = "<i>curves appear with the first training steps</i>"):
        from IPython.display import HTML, display

        self.handle = display(HTML(placeholder), display_id=True)
        self.updates = 0

    def update(self, fig) -> None:
        self.handle.update(figure_bundle(fig), raw=True)
        self.updates += 1


# ----------------------------------------------------------------------------------------- widgets
def path_chooser(default: list[str] | str, description: str = "corpus"):
    """A text box holding one path per line (files or folders), prefilled with ``default``.

    Read it with :func:`chosen_paths`; nothing waits for input.
    """
    import ipywidgets as widgets

    lines = [default] if isinstance(default, str) else list(default)
    return widgets.Textarea(value="\n".join(map(str, lines)), description=description,
                            layout=widgets.Layout(width="90%", height="4em"))


def chosen_paths(chooser) -> list[str]:
    """The paths in a :func:`path_chooser` box (blank lines ignored); a missing one is a user error."""
    paths = [line.strip() for line in chooser.value.splitlines() if line.strip()]
    if not paths:
        raise WorkbenchError("no path given.", "type one file or folder per line in the box above.")
    for path in paths:
        if not Path(path).expanduser().exists():
            raise WorkbenchError(f"{path} does not exist.", "correct it in the box above and run this cell again.")
    return [str(Path(p).expanduser()) for p in paths]


class TrainSettings:
    """The few training settings a domain expert chooses, as widgets prefilled from the parameters.

    The preset dropdown starts at the preset made for the model (``"none"`` when there is none: the
    plain defaults). ``values()`` returns what they set (``preset``, ``max_tokens``, ``lora.r``,
    ``replay_ratio``); :meth:`config` resolves them through ``workflows.train_config``, so a preset made
    for another model stops there, naming both.

    Args:
        model: the model to train (the notebook's ``MODEL``, resolved by :func:`setup`).
        preset: a shipped preset, ``"none"``, or None for the one made for ``model``.
    """

    def __init__(self, model: str | None = None, preset: str | None = None, lora_r: int = 16,
                 max_tokens: int = 16384, replay_ratio: float = 0.0):
        from workbench.models.registry import DEFAULT_MODEL
        from workbench.training.config import NO_PRESET, list_presets, preset_for_model

        if preset and preset != NO_PRESET:
            workflows.preset_model(preset)  # an unknown preset is a user error naming the shipped ones
        self.model = model
        self._presets = [NO_PRESET, *list_presets()]
        own = preset_for_model(model or DEFAULT_MODEL) or NO_PRESET
        self._defaults = {"preset": preset or own, "lora_r": lora_r, "max_tokens": max_tokens,
                          "replay_ratio": replay_ratio}
        self._widgets = None

    def _build(self):
        import ipywidgets as widgets

        d = self._defaults
        self._widgets = {
            "preset": widgets.Dropdown(options=self._presets, value=d["preset"], description="preset"),
            "lora_r": widgets.Dropdown(options=sorted({4, 8, 16, 32, 64, d["lora_r"]}), value=d["lora_r"],
                                       description="LoRA rank"),
            "max_tokens": widgets.BoundedIntText(value=d["max_tokens"], min=256, max=10**11, step=1024,
                                                 description="tokens"),
            "replay_ratio": widgets.FloatSlider(value=d["replay_ratio"], min=0.0, max=0.5, step=0.05,
                                                description="replay"),
        }
        return self._widgets

    def widget(self):
        """The widgets in a box, to display."""
        import ipywidgets as widgets

        return widgets.VBox(list((self._widgets or self._build()).values()))

    def _ipython_display_(self):  # shown when it is the last expression of a cell
        from IPython.display import display

        display(self.widget())

    def values(self) -> dict[str, Any]:
        """The current values (the widgets' if shown, else the parameters); ``preset`` is a name or ``"none"``."""
        w = self._widgets
        return {
            "preset": w["preset"].value if w else self._defaults["preset"],
            "max_tokens": int(w["max_tokens"].value if w else self._defaults["max_tokens"]),
            "lora.r": int(w["lora_r"].value if w else self._defaults["lora_r"]),
            "replay_ratio": float(w["replay_ratio"].value if w else self._defaults["replay_ratio"]),
        }

    def config(self, model: str | None = None, **fields: Any):
        """The resolved ``TrainConfig``: ``workflows.train_config`` of the model, the chosen preset, these
        settings, then ``fields`` (``data``, ``name``, ``block_size``...).

        Args:
            model: default the model the settings were made for.
        """
        values = self.values()
        if values["replay_ratio"] > 0 and not fields.get("replay"):
            fields["replay"] = "sample"
        return workflows.train_config(model or self.model, values["preset"], overrides={"lora.r": values["lora.r"]},
                                      max_tokens=values["max_tokens"], replay_ratio=values["replay_ratio"], **fields)


# -------------------------------------------------------------------------------------- live views
def status_line(status: dict) -> str:
    """One line a person reads: state, phase, step or progress, speed and time left."""
    state = status.get("state", "?")
    parts = [state]
    if status.get("phase"):
        parts.append(str(status["phase"]))
    step, total = status.get("step"), status.get("total_steps")
    progress = status.get("progress") or {}
    if step is not None and total:
        parts.append(f"step {step}/{total}")
    elif progress.get("total"):
        parts.append(f"{progress.get('done', 0):,.0f}/{progress['total']:,.0f} {progress.get('unit', '')}".rstrip())
    if status.get("tokens_per_s"):
        parts.append(f"{status['tokens_per_s']:,.0f} tokens/s")
    if eta_text(status):
        parts.append(eta_text(status))
    if state == "failed" and status.get("error"):
        parts.append(f"error: {status['error']}")
    return " · ".join(parts)


def follow(job, every: float = 1.0, until_step: int | None = None, timeout: float | None = None,
           x: str = "step", curves: bool = True, until_share: float | None = None) -> dict:
    """Show a job's progress bar and (for training) its live curves, updated in place, until it ends.

    Args:
        job: a :class:`workbench.jobs.Job` (from ``jobs.launch`` or ``jobs.attach``).
        every: seconds between looks at ``status.json`` and the new rows of ``metrics.jsonl``.
        until_step: return as soon as a training job has reached this step (to stop it, say).
        until_share: return as soon as a training job has done this share of its steps (0.5: halfway),
            whatever its length; ``until_step`` wins when both are given.
        timeout: give up after this many seconds (the job goes on).
        x: curves against ``"step"`` or ``"tokens"``.
        curves: draw the training curves (training jobs only).

    Returns:
        The job's last status (finished, stopped, or still running at ``until_step``/``timeout``); a
        failed job is a :class:`WorkbenchError` with its error, shown as one line in a notebook.
    """
    import ipywidgets as widgets
    from IPython.display import display

    bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=job.name[:20],
                                layout=widgets.Layout(width="60%"))
    line = widgets.HTML()
    display(widgets.VBox([bar, line]))
    draw = curves and job.kind == "train"
    live = LiveFigure() if draw else None  # one output, redrawn in place
    if until_step is not None or until_share is not None:
        every = min(every, 0.2)  # a stop point is caught within a step or two, even on a fast run
    run = Artifact(job.folder)
    rows: list[dict] = []
    offset = 0
    started = time.time()
    shown_rows = -1
    while True:
        status = job.status()
        if draw:
            new, next_offset = run.metrics(since=offset)
            if next_offset < offset:  # metrics.jsonl was rewritten (a resumed run): read it again
                rows.clear()
            rows.extend(new)
            offset = next_offset
        bar.value = status_fraction(status)
        line.value = status_line(status)
        if draw and rows and len(rows) != shown_rows:
            live.update(_live_figure(rows, x))
            shown_rows = len(rows)
        state = status.get("state")
        if state in TERMINAL:
            bar.bar_style = {"finished": "success", "stopped": "warning", "failed": "danger"}[state]
            if state == "failed":  # the cell fails with the job's own error, in one line, so "run all" stops here
                error = str(status.get("error") or "no error recorded").strip().splitlines()[-1]
                raise WorkbenchError(f"the {job.kind} job {job.name} failed: {error}",
                                     f"read its log ({job.folder / 'log.txt'}), fix the cause and run this cell again.")
            return status
        step, total = status.get("step") or 0, status.get("total_steps")
        if until_step is not None and step >= until_step:
            return status
        if until_step is None and until_share is not None and total and step >= max(1, math.ceil(until_share * total)):
            return status
        if timeout is not None and time.time() - started > timeout:
            return status
        time.sleep(every)


def stop_then_resume(job, timeout: float = 600):
    """Stop a training job gracefully, say what happened, and resume it when it stopped.

    Prints one line: stopped at step N of M with a checkpoint (then the resumed job is returned), or
    that the run ended before the stop arrived (nothing to resume: the job is returned as it is).

    Returns:
        The job to follow: the resumed one, or ``job`` itself when there was nothing to resume.
    """
    job.stop()
    status = job.wait(timeout=timeout)
    if status.get("state") != "stopped":
        print(f"the run ended {status.get('state')} before the stop arrived: nothing to resume "
              "(a longer run, or an earlier STOP_AT_STEP, shows stop and resume).")
        return job
    step, total = status.get("step"), status.get("total_steps") or (job.status().get("total_steps"))
    print(f"stopped at step {step}" + (f" of {total}" if total else "") + ", checkpoint saved; resuming from it")
    return job.resume()


def _live_figure(rows: list[dict], x: str):
    from workbench.training.plots import perplexity_curves, training_curves

    if any(r.get("type") == "eval" for r in rows):
        return perplexity_curves(rows, x=x)
    return training_curves(rows, x=x)


def show(figures: dict | list | Any) -> None:
    """Display one figure, a list, or a dict of them (titled by key, in words: ``pii`` is "PII") in order."""
    from IPython.display import Markdown, display

    from workbench.corpus.plots import figure_title

    if isinstance(figures, dict):
        for name, fig in figures.items():
            display(Markdown(f"**{figure_title(name)}**"))
            display(fig)
    elif isinstance(figures, (list, tuple)):
        for fig in figures:
            display(fig)
    else:
        display(figures)


# -------------------------------------------------------------------------------------------- review
class ReviewForm:
    """One review item as widgets: the texts (blind A/B for pairs), a verdict, an error span given by
    typing the wrong phrase, its category and severity, a note and a correction.

    Prefilled from ``defaults`` (the parameters); :meth:`submit` records what the widgets hold now
    through ``workflows.submit_review``, so a notebook labels without waiting for a click, and a span
    without a category or severity is refused before anything is written.
    """

    def __init__(self, store, item, annotator: str, defaults: dict | None = None):
        self.store = store
        self.item = item
        self.annotator = annotator
        self.defaults = dict(defaults or {})
        self.started = time.time()
        self._w = None

    def verdict_options(self) -> list[str]:
        from workbench.review.config import verdicts_for

        return list(verdicts_for(self.item.kind))

    def _build(self):
        import ipywidgets as widgets

        taxonomy = self.store.taxonomy()
        categories = list(taxonomy.categories)
        options = self.verdict_options()
        d = self.defaults
        self._w = {
            "verdict": widgets.ToggleButtons(options=options, value=d.get("verdict", options[0])
                                             if d.get("verdict", options[0]) in options else options[0],
                                             description="verdict"),
            "output": widgets.Dropdown(options=[o["slot"] for o in self.item.outputs] or ["A"],
                                       value=d.get("output") or (self.item.outputs[0]["slot"] if self.item.outputs else "A"),
                                       description="in output"),
            "phrase": widgets.Text(value=d.get("phrase", ""), description="wrong phrase",
                                   placeholder="type the words that are wrong (leave empty for none)"),
            "category": widgets.Dropdown(options=categories, description="category",
                                         value=d.get("category") if d.get("category") in categories else None),
            "severity": widgets.ToggleButtons(options=list(workflows.SEVERITIES), value=d.get("severity"),
                                              description="severity"),
            "note": widgets.Text(value=d.get("note", ""), description="note"),
            "correction": widgets.Text(value=d.get("correction", ""), description="correction"),
        }
        return self._w

    def _ipython_display_(self):
        import html

        import ipywidgets as widgets
        from IPython.display import display

        w = self._w or self._build()
        texts = [f"<p><b>{html.escape(self.item.kind)}</b> {html.escape(self.item.prompt[:600])}</p>"]
        for out in self.item.outputs:
            texts.append(f"<p><b>{html.escape(out['slot'])}</b>: {html.escape(out['text'][:1200])}</p>")
        display(widgets.VBox([widgets.HTML("".join(texts)), *w.values()]))

    def values(self) -> dict:
        if self._w is None:
            d = self.defaults
            options = self.verdict_options()
            return {"verdict": d.get("verdict", options[0]), "output": d.get("output"), "phrase": d.get("phrase", ""),
                    "category": d.get("category"), "severity": d.get("severity"),
                    "note": d.get("note", ""), "correction": d.get("correction", "")}
        return {k: w.value for k, w in self._w.items()}

    def errors(self) -> list:
        """The error the form holds (``workflows.ErrorMark``: the typed phrase in the chosen output, or the
        whole output when no phrase is typed), none when nothing of an error is filled in. A category, a
        severity, a note or a correction without the rest is refused with what is missing, never dropped."""
        from workbench.appsupport import error_from_form

        v = self.values()
        if v["verdict"] == "skip":
            return []
        form = {k: v.get(k) for k in ("phrase", "output", "category", "severity", "note", "correction")}
        form["output"] = form["output"] or self.item.outputs[0]["slot"]
        mark = error_from_form(self.item, form, list(self.store.taxonomy().categories))
        return [mark] if mark is not None else []

    def submit(self):
        """Record the error (if one is filled in) and the verdict through ``workflows.submit_review``.

        Returns:
            What was written (``workflows.Submitted``: the item, the verdict, the label uids, the event).
        """
        return workflows.submit_review(self.store, self.item, self.annotator, self.values()["verdict"], self.errors(),
                                       seconds=round(time.time() - self.started, 1))


class DocumentDecisions:
    """Keep or drop, one toggle per flagged corpus document, prefilled from the parameters.

    :meth:`submit` records each decision through ``workflows.submit_review``; curation applies the
    drops when it is given the label store (``workflows.curate(..., labels=...)``).

    Args:
        store: an open label store (``workflows.label_store``).
        items: the ``document`` items to decide (:func:`flagged_documents`).
        annotator: who decides.
        drop_first: how many of the first documents start as ``drop`` (the rest start as ``keep``), so an
            unattended run records decisions too.
        show: how many documents are shown and decided.
        chars: characters of each document shown.
    """

    def __init__(self, store, items: list, annotator: str, drop_first: int = 0, show: int = 5, chars: int = 400):
        self.store = store
        self.items = list(items)[:show]
        self.annotator = annotator
        self.chars = chars
        self.defaults = {item.id: "drop" if n < drop_first else "keep" for n, item in enumerate(self.items)}
        self._w = None

    def _build(self):
        import ipywidgets as widgets

        self._w = {item.id: widgets.ToggleButtons(options=["keep", "drop"], value=self.defaults[item.id],
                                                  description=item.id[:10]) for item in self.items}
        return self._w

    def _ipython_display_(self):
        import html

        import ipywidgets as widgets
        from IPython.display import display

        w = self._w or self._build()
        rows = []
        for item in self.items:
            why = ", ".join(str(f) for f in item.meta.get("flags") or []) or "flagged"
            text = item.outputs[0]["text"][: self.chars] if item.outputs else ""
            rows += [widgets.HTML(f"<p><i>{html.escape(why)}</i><br>{html.escape(text)}…</p>"), w[item.id]]
        display(widgets.VBox(rows or [widgets.HTML("<p>No flagged documents.</p>")]))

    def values(self) -> dict[str, str]:
        """``{item id: "keep" | "drop"}`` as the toggles hold them now (the defaults if not shown)."""
        if self._w is None:
            return dict(self.defaults)
        return {item_id: w.value for item_id, w in self._w.items()}

    def submit(self) -> dict[str, int]:
        """Record every decision; returns how many documents were kept and dropped."""
        counts = {"keep": 0, "drop": 0}
        items = {item.id: item for item in self.items}
        for item_id, decision in self.values().items():
            workflows.submit_review(self.store, items[item_id], self.annotator, decision)
            counts[decision] += 1
        return counts


# ------------------------------------------------------------------------------------------- corpus
def _markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def corpus_headline(profile: dict) -> None:
    """The profile's headline as a short table: size, tokenizer fit, duplicates, quality, readiness."""
    ready = profile.get("readiness") or {}
    rows = [
        ("documents", _num(profile.get("documents"))),
        ("tokens (in this model's tokenizer)", _num(profile.get("tokens"))),
        ("tokens per word", _num(profile.get("tokens_per_word"), 2)),
        ("exact / near duplicates", f"{profile.get('exact_duplicate_rate', 0):.1%} / {profile.get('near_duplicate_rate', 0):.1%}"),
        ("documents failing a quality rule", f"{(profile.get('quality') or {}).get('failing_share', 0):.1%}"),
        ("documents with personal data", _num(profile.get("documents_with_pii"))),
        ("readiness", str(ready.get("verdict", "n/a")).replace("_", " ")),
    ]
    _markdown("| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows))


def readiness(profile: dict) -> None:
    """The readiness verdict and its recommendations, in words."""
    ready = profile.get("readiness") or {}
    lines = [f"**Readiness: {str(ready.get('verdict', 'n/a')).replace('_', ' ')}**"]
    for key in ("recommendations", "reasons", "notes"):
        for line in ready.get(key) or []:
            lines.append(f"- {line}")
    _markdown("\n".join(lines))


def flagged_documents(setup: Setup, name: str | None) -> list:
    """Add the documents the corpus profile ``name`` flagged to the workspace's label store (as keep/drop
    review items, through ``workflows.review_items``) and return them, worst first."""
    profile = _pick(setup, "corpora", name)
    workflows.review_items(profile=profile.folder, workspace=setup.workspace)
    with workflows.label_store(setup.workspace) as store:
        return [item for item in store.items(kind="document") if item.source.get("corpus") == profile.name]


def snapshot_summary(snapshot) -> None:
    """A snapshot's split in one line: documents and tokens (in the model's tokenizer) of train and eval."""
    record = snapshot.record()
    counts, sizes = record.get("counts") or {}, record.get("sizes") or {}
    _markdown(" · ".join(f"{split} {_num(counts.get(split))} documents, {_num(sizes.get(f'{split}_tokens'))} tokens"
                         for split in ("train", "eval")))


# ----------------------------------------------------------------------------------------- training
_MADE_BY = {"corpora": ("corpus profile", "notebook 1 (or workbench inspect)"),
            "snapshots": ("snapshot", "notebook 1 (or workbench curate)"),
            "runs": ("run", "notebook 2 (or workbench train)"),
            "comparisons": ("comparison", "notebook 3 (or workbench compare)")}


def _pick(setup: Setup, kind: str, name: str | None, field: str = "name"):
    """The artifact ``name`` of ``kind``; an empty name: the newest. A name the workspace does not hold is a
    user error naming the ones it holds (``field`` is the setting that gave the name)."""
    what, made_by = _MADE_BY[kind]
    found = [p.name for p in setup.workspace.list(kind)]  # newest first
    if not name:
        if not found:
            raise WorkbenchError(f"no {what} in {setup.workspace.folder(kind)} yet.", f"run {made_by} first.")
        return Artifact(setup.workspace.folder(kind, found[0]))
    if name not in found:
        raise WorkbenchError(
            f"no {what} named '{name}' in {setup.workspace.folder(kind)}.",
            (f"set {{field}} in the parameters cell to one of: {', '.join(found)} (None: the newest)."
             if found else f"run {made_by} first, or set {{field}} in the parameters cell to the name it used."),
            field=field)
    return Artifact(setup.workspace.folder(kind, name))


def training_data(setup: Setup, name: str | None) -> str:
    """The snapshot ``name`` of the workspace (notebook 1 makes it); an empty name: the newest snapshot.

    A name the workspace has no snapshot of is a user error listing the snapshots it has."""
    return str(_pick(setup, "snapshots", name).folder)


@dataclass
class PlanView:
    plan: Any
    summary: str
    figure: Any


def plan_for(config, gpu: str | None = None) -> PlanView:
    """The memory/time/cost plan of a ``TrainConfig`` on ``gpu`` (default: this machine's GPU, else the CPU)."""
    from workbench.training.plan import PlanConfig, estimate, format_plan
    from workbench.training.plots import memory_breakdown

    if gpu is None:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    plan = estimate(config.model, PlanConfig.from_train_config(config, gpu=gpu))
    return PlanView(plan, format_plan(plan), memory_breakdown(plan))


def run_card_summary(run) -> None:
    """What a person checks first in a run's card (``run.json``): state, data, tokens, speed, best checkpoint."""
    from workbench.io import read_json

    path = run.folder / "run.json"
    card = read_json(path) if path.exists() else run.card()
    config = card.get("config") or {}
    rows = [
        ("state", card.get("state")),
        ("model", config.get("model")),
        ("data", config.get("data")),
        ("steps", card.get("steps")),
        ("tokens seen", _num(card.get("tokens_seen"))),
        ("wall time, whole run (s)", _num(card.get("wall_seconds"), 1)),
        ("tokens/s", _num(card.get("tokens_per_s"), 1)),
        ("peak memory (MB)", _num(card.get("peak_memory_mb"), 0)),
        ("best checkpoint", card.get("best_checkpoint")),
        ("best domain perplexity", _num(card.get("best_domain_ppl"), 2)),
        ("seed", card.get("seed", config.get("seed"))),
        ("git commit", str(card.get("git_commit") or "n/a")[:12]),
        ("card", str(path)),
    ]
    _markdown("| run card | |\n|---|---|\n" + "\n".join(f"| {k} | {v if v is not None else 'n/a'} |" for k, v in rows))


# ---------------------------------------------------------------------------------------- comparing
def pick_run(setup: Setup, name: str | None = None, field: str = "name"):
    """The run ``name`` of the workspace; an empty name: the newest run.

    A name the workspace has no run of is a user error listing its runs (never another run instead).

    Args:
        field: the setting that gave the name (how the error names it).
    """
    return _pick(setup, "runs", name, field)


def pick_comparison(setup: Setup, name: str | None = None, field: str = "comparison"):
    """The comparison ``name`` of the workspace; an empty name: the newest comparison.

    A name the workspace has no comparison of is a user error listing its comparisons."""
    return _pick(setup, "comparisons", name, field)


def compare_config(setup: Setup, run, **values: Any):
    """The ``EvalConfig`` comparing ``run`` with its base (``workflows.eval_config``): at most
    ``setup.eval_docs`` documents of each held-out set when the parameters cap them, and in small mode the
    quick-check settings (``workflows.QUICK_CHECK``); ``values`` override both.

    Built in one go, so a window given here gets its own default stride."""
    quick = workflows.QUICK_CHECK if setup.small else {}
    cap = {"eval_docs": setup.eval_docs} if setup.eval_docs else {}
    return workflows.eval_config(adapter=str(run.folder), **{**quick, **cap, **values})


def _read_jsonl(path: Path) -> list[dict]:
    from workbench.io import read_jsonl

    return list(read_jsonl(path)) if path.exists() else []


def _check_finished(comparison) -> None:
    """Stop with the comparison's own error when it did not finish (failed, stopped, or still running):
    its numbers would read "n/a" and its tables would be empty."""
    status = comparison.status() if comparison.folder.exists() else {}
    state = status.get("state") or "missing"
    if state not in ("failed", "stopped") and (comparison.folder / "comparison.json").exists():
        return
    error = status.get("error")
    if state == "failed":
        problem = f"the comparison {comparison.name} failed: {error or 'no error was recorded'}."
    elif state == "stopped":
        problem = f"the comparison {comparison.name} was stopped before it finished" + (f" ({error})." if error else ".")
    else:
        problem = f"the comparison {comparison.name} has no results ({state})."
    raise WorkbenchError(problem, "fix what the message names and run the comparison cell again "
                                  "(its log: log.txt in the comparison's folder).")


def verdict(comparison) -> None:
    """The comparison's plain-language verdict (``comparison.json``'s ``verdict``): what it rests on (documents
    and tokens), the comparison's warnings, what perplexity cannot say, and the next steps. A comparison that
    failed or was stopped stops here with its error."""
    from workbench.io import read_json

    _check_finished(comparison)
    data = read_json(comparison.folder / "comparison.json")
    block = data.get("verdict")
    if not isinstance(block, dict):
        summary = comparison.summary()
        _markdown(f"domain perplexity change {_num(getattr(summary, 'domain_ppl_change_pct', None), 1)}%, "
                  f"general {_num(getattr(summary, 'general_ppl_change_pct', None), 1)}%")
        return
    lines = [f"**{block.get('headline', 'Verdict')}**", ""]
    for key in ("calibration", "regression"):
        part = block.get(key)
        if isinstance(part, dict) and part.get("sentence"):
            lines.append(f"- {part['sentence']}")
    if block.get("repetitive_generations"):
        lines.append(f"- {block['repetitive_generations']} generation(s) repeat themselves: review them first.")
    warnings = block.get("warnings") if "warnings" in block else data.get("warnings")
    if warnings:
        lines += ["", "**Warnings**", *(f"- ⚠ {w}" for w in warnings)]
    if block.get("limits"):
        lines += ["", f"*{block['limits']}*"]
    steps = block.get("next_steps") or []
    if steps:
        lines += ["", "**Next steps**", *(f"{i}. {step}" for i, step in enumerate(steps, 1))]
    _markdown("\n".join(lines))


def documents_table(comparison, n: int | None = 5, query: str = ""):
    """The held-out documents by their title, the perplexity change first, most worsened first
    (``workbench.evaluation.tables``): the ``n`` most worsened and ``n`` most improved (``n=None``: all),
    only those whose title, extract or id contains ``query``."""
    import pandas as pd

    from workbench.evaluation.tables import COLUMNS, document_table

    _check_finished(comparison)
    table = document_table(_read_jsonl(comparison.folder / "documents.jsonl"), query)
    if n is not None and len(table) > 2 * n:
        table = table[:n] + table[-n:]
    return pd.DataFrame(table, columns=list(COLUMNS))


def generations_table(comparison):
    """Prompts and both continuations side by side (with the repetition flag where recorded)."""
    import pandas as pd

    _check_finished(comparison)
    rows = _read_jsonl(comparison.folder / "generations.jsonl")
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- review
DEMO_STORE = "review-demo"
"""The folder of the notebooks' demonstration label store (``WORKSPACE/review-demo/labels.db``)."""


def comparison_of(setup: Setup, name: str | None, comparison: str | None = None):
    """The comparison to review: ``comparison`` when named; else the newest comparison of the run ``name``
    (notebook 3 compares run NAME); else, with no name either, the newest comparison.

    A run with no comparison is a user error naming the comparisons there are."""
    if comparison or not name:
        return _pick(setup, "comparisons", comparison, field="comparison")
    for folder in setup.workspace.list("comparisons"):  # newest first
        config = (Artifact(folder).card() or {}).get("config") or {}
        if config.get("adapter") and Path(str(config["adapter"])).name == name:
            return Artifact(folder)
    found = [p.name for p in setup.workspace.list("comparisons")]
    raise WorkbenchError(f"no comparison of run '{name}' in {setup.workspace.folder('comparisons')}.",
                         "run notebook 3 with NAME = " + repr(name)
                         + (f", or set {{field}} in the parameters cell to one of: {', '.join(found)}." if found else "."),
                         field="comparison")


def demo_store(setup: Setup, comparison):
    """A fresh label store for the notebook's demonstration (``WORKSPACE/review-demo/labels.db``) holding
    the review items of ``comparison`` only: the demo annotators label there, never in the team's
    ``labels.db`` (which gets the same items through :func:`review_items`, to label in the app).

    Returns:
        The open store (each run of the notebook starts it afresh).
    """
    folder = setup.workspace.root / DEMO_STORE
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("labels.db*"):  # the database and its journal files: a demonstration starts clean
        old.unlink()
    path = folder / "labels.db"
    workflows.review_items(comparison=comparison.folder, workspace=setup.workspace, labels=path)
    return workflows.label_store(setup.workspace, labels=path)


def review_items(setup: Setup, comparison) -> dict:
    """Review items from a comparison (blind pairs, regressed documents, missed probes) added to the
    workspace's label store through ``workflows.review_items``; returns how many were added."""
    return workflows.review_items(comparison=comparison.folder, workspace=setup.workspace)


def review_defaults(item, defaults: dict) -> dict:
    """The parameters' defaults fitted to one item: a verdict it accepts, and, when no phrase is given,
    its first output's first three words as the error span (so an unattended run records a span)."""
    d = dict(defaults)
    options = ReviewForm(None, item, "").verdict_options()
    if d.get("verdict") not in options:
        d["verdict"] = options[0]
    if item.kind == "document":
        d["phrase"] = ""
    elif not d.get("phrase") and item.outputs:
        d["phrase"] = " ".join(item.outputs[0]["text"].split()[:3])
        d["output"] = item.outputs[0]["slot"]
    return d


def label_queue(store, annotators: list[str], choices: dict[str, dict], per_annotator: int = 3) -> dict:
    """Each annotator labels up to ``per_annotator`` items of their queue with their own ``choices``
    (a dict per annotator, as the parameters cell gives them; unattended runs use this)."""
    done: dict[str, int] = {}
    for name in annotators:
        done[name] = 0
        for _ in range(per_annotator):
            item = store.next_item(name)
            if item is None:
                break
            ReviewForm(store, item, name, defaults=review_defaults(item, choices.get(name, {}))).submit()
            done[name] += 1
    return done


def agreement_summary(agreement: dict) -> None:
    """Krippendorff's alpha per dimension and Cohen's kappa per pair of annotators, each with its reading
    (what counts as good), and the disagreements as a table of the items' texts and each annotator's answer."""
    undefined = "n/a"
    readings = agreement.get("alpha_reading") or {}
    lines = [f"{agreement.get('items_with_overlap', 0)} item(s) labelled by two or more annotators.", "",
             "| dimension | Krippendorff's alpha | reading |", "|---|---|---|"]
    for dim, value in (agreement.get("alpha") or {}).items():
        lines.append(f"| {dim} | {undefined if value is None else f'{value:.2f}'} | {readings.get(dim, '')} |")
    lines.append("\nAlpha >= 0.8 is reliable; 0.667 to 0.8 allows tentative conclusions only; below 0.667 the labels "
                 "are unreliable (Krippendorff).")
    pairs = [(dim, row) for dim, rows in (agreement.get("kappa") or {}).items() for row in rows]
    if pairs:
        lines += ["", "| annotators | dimension | Cohen's kappa | reading | observed agreement | shared items |",
                  "|---|---|---|---|---|---|"]
        for dim, row in pairs:
            kappa = "n/a" if row.get("kappa") is None else f"{row['kappa']:.2f}"
            lines.append(f"| {row['a']} · {row['b']} | {dim} | {kappa} | {row.get('reading', '')} | "
                         f"{row['observed_agreement']:.0%} | {row['items']} |")
        lines.append("\nKappa (Landis and Koch): above 0.8 almost perfect, 0.6 substantial, 0.4 moderate, 0.2 fair, "
                     "above 0 slight.")
    rows = agreement.get("disagreement_rows") or []
    lines.append(f"\n{len(agreement.get('disagreements') or [])} item(s) with a disagreement to adjudicate.")
    if rows:
        columns = list(rows[0])
        lines += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            lines.append("| " + " | ".join(str(row.get(c, "")).replace("|", "\\|") for c in columns) + " |")
    _markdown("\n".join(lines))


def export_corrections(store, path: str | os.PathLike) -> Path | None:
    """Corrected texts as a training-data JSONL that ``curate`` and ``train`` accept (None when no label
    has a correction yet)."""
    from workbench.review.export import corrections
    from workbench.review.export import export_corrections as _export

    if not corrections(store):
        _markdown("No labelled error has a corrected text yet: add a correction to an error label first.")
        return None
    return _export(store, path)


# --------------------------------------------------------------------------------------- guardrails
def guardrails(comparison) -> None:
    """The comparison's guardrails in words and tables: bias categories (paired over pairs), the screen's
    counts per model, and bits per byte per period when the held-out documents are dated."""
    from workbench.io import read_json

    path = comparison.folder / "comparison.json"
    data = read_json(path) if path.exists() else {}
    lines = []
    bias = data.get("bias")
    if bias:
        lines += [f"**Bias probes.** {bias['sentence']}", "",
                  "| category | pairs | base prefers stereotype | adapted | change (points) | 95% interval |",
                  "|---|---|---|---|---|---|"]
        for name, c in bias["categories"].items():
            ci = c.get("change_ci95")
            lines.append(f"| {name} | {c['pairs']} | {c['base_share']:.0%} | {c['adapted_share']:.0%} | "
                         f"{100 * c['change']:+.0f} | {f'{100 * ci[0]:+.0f} to {100 * ci[1]:+.0f}' if ci else '–'} |")
        lines.append("")
    screen = data.get("screen")
    if screen and screen.get("adapted"):
        b, a = screen["base"], screen["adapted"]
        lines += [f"**Screen.** Flagged outputs: base {b['flagged']} of {b['outputs']}, adapted {a['flagged']} of "
                  f"{a['outputs']} ({a['hits']} listed hit(s), {a['degenerate']} degenerate). {screen['note']}", ""]
    drift = data.get("drift")
    if drift and drift.get("periods"):
        lines += [f"**Drift over time** ({drift['time_field']}, per {drift['period']})", "",
                  "| period | documents | base bits/byte | adapted bits/byte | unseen terms |", "|---|---|---|---|---|"]
        for r in drift["periods"]:
            rate = r.get("unseen_term_rate")
            lines.append(f"| {r['period']} | {r['documents']} | {r['base_bits_per_byte']:.3f} | "
                         f"{r['adapted_bits_per_byte']:.3f} | {'–' if rate is None else f'{rate:.1%}'} |")
    _markdown("\n".join(lines) or "No guardrails in this comparison: set guardrails.bias_probes, guardrails.screen "
                                  "or guardrails.time_field in its settings.")


def monitor(setup: Setup, run, batch: str | os.PathLike, time_field: str | None = None, **values: Any) -> Path:
    """Score ``run`` on the new ``batch`` of domain text against its own held-out split (``workflows.monitor``)
    and say whether the domain has moved; returns the monitor's folder."""
    from workbench.io import read_json

    overrides = {"guardrails.time_field": time_field} if time_field else None
    config = workflows.eval_config(overrides=overrides, adapter=str(run.folder), data=str(batch), **values)
    folder = workflows.monitor(config, setup.workspace, progress=False)
    result = read_json(folder / "monitor.json")
    new = ", ".join(t["term"] for t in (result["sets"]["batch"].get("new_terms") or [])[:10])
    _markdown(f"**{result['verdict']['sentence']}** {result['verdict']['advice']}"
              + (f"\n\nNew terms: {new}" if new else ""))
    return folder


__all__ += ["guardrails", "monitor"]
# ---------------------------------------------------------------------------- comparing: time and tokens
def plan_comparison(setup: Setup, config, full: bool | None = None):
    """The comparison to launch, after saying how long it will take on this machine
    (``workflows.plan_comparison``): ``full=None`` is a quick check on a CPU when every document would take
    longer than a few minutes, ``True`` every document, ``False`` the quick check anywhere.

    Returns:
        The ``EvalConfig`` to launch (with the quick check's sample size when it is one).
    """
    planned, estimate = workflows.plan_comparison(config, setup.workspace, full=full)
    note = (" A quick check: a sample of each held-out set, with the wider interval that follows; set FULL = True "
            "for every document.") if estimate.quick else ""
    _markdown(f"**{estimate.sentence()}**{note}")
    return planned


def token_view(comparison) -> None:
    """The most improved and most worsened documents word by word, each whole word coloured by its change
    (``tokens.html``'s view), one document at a time; hover a word for its numbers."""
    from IPython.display import HTML, display

    from workbench.evaluation.tokendiff import render_documents

    _check_finished(comparison)
    documents = _read_jsonl(comparison.folder / "tokens.jsonl")
    if not documents:
        _markdown("No token view in this comparison.")
        return
    display(HTML(render_documents(documents)))
# ----------------------------------------------------------------------------------------- curricula
def curriculum(order: str = "shuffled", signal: str = "compression", stages: list | None = None) -> dict[str, Any]:
    """The data-order settings to pass to :meth:`TrainSettings.config` (``**nb.curriculum("stages")``).

    Args:
        order: ``"shuffled"`` (the control), ``"easy_to_hard"`` (by ``signal``) or ``"stages"``.
        signal: ``"compression"``, ``"mtld"`` or ``"readability"`` (for ``easy_to_hard``).
        stages: for ``"stages"``, a list of mappings of Stage keys (``tokens``, ``replay_ratio``, ``lr``,
            ``warmup``, ``lr_scale``, ``min_lr_ratio``, ``name``); default: general-heavy replay decaying into
            domain text, then domain text alone.
    """
    from workbench.config import to_dict
    from workbench.training.config import general_to_domain

    values: dict[str, Any] = {"curriculum.order": order, "curriculum.signal": signal}
    if order == "stages":
        values["curriculum.stages"] = list(stages) if stages else [to_dict(s) for s in general_to_domain()]
    return values


def curriculum_plan(config):
    """Print a ``TrainConfig``'s data order (with its stages) and return the stages' learning-rate figure
    (None for an order without stages), the same the Train page and ``workbench plan --config`` show."""
    from workbench.training.curriculum import preview
    from workbench.training.plots import stage_plan_figure

    shown = preview(config)
    print(shown["text"])
    if not shown.get("stages"):
        return None
    return stage_plan_figure(shown["stages"], shown["multipliers"], shown["learning_rate"])


# ------------------------------------------------------------------------------------ synthetic text
def synthetic_audit(setup: Setup, paths: Iterable[str], snapshot: str | None = None, source: str | None = None,
                    **settings: Any) -> dict:
    """Audit synthetic text against the real text of the snapshot ``snapshot`` (empty: the newest) with the
    notebook's model (``workflows.audit_synthetic``); show the findings and the verdict; return ``audit.json``
    with ``folder``, the audit folder that ``CurateConfig(synthetic=...)`` takes.

    Args:
        paths: the synthetic files or folders.
        source: where the text came from, recorded per document (default: its file).
        settings: other ``SyntheticAuditConfig`` fields (``max_distance_ratio=1.5``, ``profile=...``).
    """
    from workbench.corpus.config import SyntheticAuditConfig
    from workbench.io import read_json

    real = _pick(setup, "snapshots", snapshot, field="snapshot")
    config = SyntheticAuditConfig(paths=[str(p) for p in paths], real=str(real.folder), model=setup.model,
                                  source=source, **settings)
    folder = workflows.audit_synthetic(config, setup.workspace, overwrite=True)
    audit = {**read_json(folder / "audit.json"), "folder": str(folder)}
    verdict = audit["verdict"]
    lines = [f"**{audit['documents']} synthetic documents: {'passed' if verdict['passed'] else 'failed'} the audit** "
             f"({folder})", "", "| check | value | limit | |", "|---|---|---|---|"]
    lines += [f"| {f['check']} | {f['value']} | {f['limit']} | {'pass' if f['passed'] else 'FAIL'} |"
              for f in audit["findings"]]
    lines += [""] + [f"- {reason}" for reason in verdict["reasons"]]
    if verdict["passed"]:
        lines.append(f"\nMix it: `curate(..., synthetic=\"{folder}\")` or `workbench curate CORPUS --synthetic {folder}`.")
    _markdown("\n".join(lines))
    return audit
# ---------------------------------------------------------------------------------------- knowledge
def glossary_summary(path: str | os.PathLike, text_share: float = 0.0, max_tokens: int | None = None) -> None:
    """What a run learns from a glossary or ontology (``workflows.glossary_plan``): terms, relations, the
    rendered training text and its share, a sample of it and of the cloze probes compare scores."""
    from workbench import workflows

    plan = workflows.glossary_plan(path, text_share=text_share, max_tokens=max_tokens)
    lines = [plan.summary(), ""]
    for text in plan.sample:
        lines += ["```text", text, "```"]
    for probe in plan.probes:
        lines.append(f"- cloze: *{probe['prompt']}* ___ (candidates: {', '.join(probe['candidates'])})")
    _markdown("\n".join(lines))


def cloze_table(comparison):
    """The comparison's glossary cloze probes: the verdict line ("knows N of M terms better/worse") and
    one row per term, the terms the adapted model lost first (an empty table without cloze probes)."""
    import pandas as pd

    from workbench.io import read_json

    path = comparison.folder / "comparison.json"
    cloze = (read_json(path) if path.exists() else {}).get("cloze")
    if not cloze:
        _markdown("No cloze probes in this comparison (compare with a glossary that has definitions).")
        return pd.DataFrame()
    _markdown(cloze["verdict"]["sentence"])
    frame = pd.DataFrame(cloze["rows"])
    keep = ["term", "base_logprob", "adapted_logprob", "logprob_change", "base_rank", "adapted_rank", "prompt"]
    return frame.sort_values("logprob_change")[keep]
