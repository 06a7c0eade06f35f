"""What the Streamlit app needs from the library besides the workflows: its settings, and safety.

The app (``app/``) holds no logic; every rule about which files a browser may read or write lives
here, tested without Streamlit:

- uploads are written only under ``<workspace>/uploads`` with a sanitised name, capped in size and
  restricted to the corpus formats the readers know;
- file pickers list only the workspace and the configured data folders;
- a typed path never escapes those roots (``../``, absolute paths elsewhere, symlinks pointing out);
- models come only from the registry or from local folders under the allowed roots, and never need
  ``trust_remote_code`` (a folder whose config asks for custom code is refused);
- the ``streamlit run`` command line binds to 127.0.0.1 unless told otherwise, turns usage
  statistics off and keeps XSRF protection on.

Nothing here imports streamlit, so ``import workbench`` stays light.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError

SETTINGS_ENV = "WORKBENCH_APP_SETTINGS"
UPLOADS = "uploads"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
APP_DIR = Path(__file__).resolve().parents[1] / "app"
MAX_NAME = 120


@dataclass(frozen=True)
class AppSettings:
    """How ``workbench app`` was started; handed to the Streamlit process as JSON in an env var."""

    workspace: str = "workspace"
    """Workspace folder the app reads and writes."""
    data_dirs: tuple[str, ...] = ()
    """Extra folders whose corpus files the pickers may list (read only)."""
    model_dirs: tuple[str, ...] = ()
    """Extra folders holding local models the app may load (read only)."""
    max_upload_mb: int = 200
    """Largest upload accepted, in MB (also passed to Streamlit as server.maxUploadSize)."""
    host: str = "127.0.0.1"
    """Address the server binds to."""
    port: int = 8501
    """Port the server listens on."""
    refresh_seconds: float = 2.0
    """How often live views (training curves, job progress) poll for new rows."""

    def __post_init__(self) -> None:
        if self.max_upload_mb < 1:
            raise WorkbenchError(f"max_upload_mb is {self.max_upload_mb}.", "use at least 1 (MB).")
        if not 0 < self.port < 65536:
            raise WorkbenchError(f"port {self.port} is out of range.", "use a port between 1 and 65535, e.g. 8501.")
        if self.refresh_seconds < 0.5:
            raise WorkbenchError(f"refresh_seconds is {self.refresh_seconds}.", "use 0.5 seconds or more.")

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, environ: dict | None = None) -> AppSettings:
        """Settings of the running app: the env var set by ``workbench app``, else defaults
        (workspace from ``$WORKBENCH_WORKSPACE``), so ``streamlit run app/Home.py`` also works."""
        environ = os.environ if environ is None else environ
        raw = environ.get(SETTINGS_ENV)
        if not raw:
            return cls(workspace=environ.get("WORKBENCH_WORKSPACE", "workspace"))
        data = json.loads(raw)
        for key in ("data_dirs", "model_dirs"):
            data[key] = tuple(data.get(key) or ())
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def workspace_root(self) -> Path:
        return Path(self.workspace).expanduser().resolve()

    def file_roots(self) -> list[Path]:
        """Folders the file pickers may list: the workspace first, then the data folders, then the
        bundled sample data (read only)."""
        extra = [Path(d).expanduser().resolve() for d in self.data_dirs]
        return _unique([self.workspace_root, *extra, sample_data_dir()])

    def model_roots(self) -> list[Path]:
        """Folders local models may come from: the model cache, the file roots, the model folders."""
        from workbench.models.fetch import models_dir

        extra = [Path(d).expanduser().resolve() for d in self.model_dirs]
        return _unique([models_dir().expanduser().resolve(), *self.file_roots(), *extra])


OPTION_HELP = {
    # the ``workbench app --help`` line of each AppSettings field it takes as a flag (workbench/cliopts.py)
    "port": "Port to listen on.",
    "host": "Address to bind; anything but localhost prints a warning.",
    "data_dirs": "Extra folder the file pickers may list (repeatable).",
    "model_dirs": "Extra folder of local models (repeatable).",
    "max_upload_mb": "Largest upload accepted, in MB.",
}


def sample_data_dir() -> Path:
    """The bundled sample data (wherever the package keeps it)."""
    from workbench.samples import SAMPLE_DATA

    return SAMPLE_DATA.resolve()


def _unique(paths: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


# --- paths ------------------------------------------------------------------------------------


def is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def resolve_inside(raw: str | os.PathLike, roots: list[Path], what: str = "path") -> Path:
    """Resolve a path a user typed or picked, refusing anything outside ``roots``.

    A relative path is taken relative to the first root (the workspace). ``..`` components are
    refused outright; the resolved path (symlinks followed) must lie under one of the roots, so a
    symlink inside the workspace that points elsewhere is refused as well.
    """
    text = str(raw).strip()
    if not text:
        raise WorkbenchError(f"the {what} is empty.", "pick a file or folder from the list.")
    if "\x00" in text:
        raise WorkbenchError(f"the {what} contains a NUL byte.", "pick a file or folder from the list.")
    candidate = Path(text).expanduser()
    if ".." in candidate.parts:
        raise WorkbenchError(
            f"the {what} '{text}' goes up with '..'.", "pick a file under the workspace or a configured data folder."
        )
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = candidate.resolve()
    if not any(is_within(resolved, root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise WorkbenchError(
            f"the {what} '{text}' is outside the folders this app may read ({allowed}).",
            "copy the file into the workspace, upload it, or start 'workbench app --data-dir FOLDER'.",
        )
    return resolved


def list_files(roots: list[Path], suffixes: tuple[str, ...] | None = None, limit: int = 2000) -> list[Path]:
    """Files under ``roots`` a picker may show: hidden and temporary entries skipped, symlinks
    that lead out of the roots skipped, at most ``limit`` files, sorted by path."""
    found: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                path = Path(folder) / name
                if suffixes and not _has_suffix(name, suffixes):
                    continue
                real = path.resolve()
                if not any(is_within(real, r) for r in roots):
                    continue
                found.append(path)
                if len(found) >= limit:
                    return found
    return found


def _has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    return any(lowered.endswith(s) for s in suffixes)


def corpus_suffixes() -> tuple[str, ...]:
    from workbench.documents.readers import KNOWN_SUFFIXES

    return tuple(KNOWN_SUFFIXES)


# --- uploads ----------------------------------------------------------------------------------


def sanitize_filename(name: str) -> str:
    """A safe file name from whatever a browser sent: the last path component only (``/`` and
    ``\\`` both count), letters, digits, ``.``, ``_`` and ``-`` kept, no leading dots."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._ ")
    base = re.sub(r"\.{2,}", ".", base)
    base = re.sub(r"_+(?=\.)", "", base)
    if len(base) > MAX_NAME:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: MAX_NAME - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 12 else base[:MAX_NAME]
    if not base or base.startswith("."):
        raise WorkbenchError(f"the file name '{name}' has no usable characters.", "rename the file, e.g. corpus.jsonl.")
    return base


def save_upload(
    settings: AppSettings,
    filename: str,
    data: bytes,
    suffixes: tuple[str, ...] | None = None,
) -> Path:
    """Write an uploaded file to ``<workspace>/uploads/<sanitised name>`` and return its path.

    Refuses an empty file, a format the corpus readers do not read (``suffixes``, default all they
    know) and a file over ``settings.max_upload_mb``. The same content uploaded twice is stored once;
    a different file with the same name gets ``-2``, ``-3``... so nothing is overwritten.
    """
    from workbench.io import sha256_file

    suffixes = suffixes or corpus_suffixes()
    safe = sanitize_filename(filename)
    if not _has_suffix(safe, suffixes):
        raise WorkbenchError(
            f"the upload '{safe}' is not a file type this workbench reads.",
            f"upload one of: {', '.join(suffixes)} (optionally .gz).",
        )
    if not data:
        raise WorkbenchError(f"the upload '{safe}' is empty.", "upload a file with documents in it.")
    limit = settings.max_upload_mb * 1024 * 1024
    if len(data) > limit:
        raise WorkbenchError(
            f"the upload '{safe}' is {len(data) / 1e6:.1f} MB, over the {settings.max_upload_mb} MB limit.",
            "split the file, or start 'workbench app --max-upload-mb N' with a larger N.",
        )
    folder = settings.workspace_root / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    target = folder / safe
    stem, suffix = _split_name(safe)
    n = 2
    while target.exists():
        if target.is_file() and not target.is_symlink() and sha256_file(target) == digest:
            return target
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    if not is_within(target.parent.resolve(), settings.workspace_root):  # uploads/ itself a symlink out
        raise WorkbenchError(f"{folder} points outside the workspace.", f"remove the link {folder}.")
    tmp = folder / f".{target.name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def _split_name(name: str) -> tuple[str, str]:
    for double in (".jsonl.gz", ".json.gz", ".txt.gz", ".csv.gz", ".tsv.gz", ".md.gz", ".ndjson.gz"):
        if name.lower().endswith(double):
            return name[: -len(double)], name[-len(double):]
    stem, dot, suffix = name.rpartition(".")
    return (stem, dot + suffix) if dot and stem else (name, "")


# --- models -----------------------------------------------------------------------------------


def check_model_spec(spec: str, settings: AppSettings) -> str:
    """Accept a model the app may load: a registry name, or a local folder under the allowed
    roots whose config needs no custom code. Hub ids and paths elsewhere are refused."""
    from workbench.models.registry import REGISTRY

    spec = str(spec or "").strip()
    if spec in REGISTRY:
        return spec
    if not spec:
        raise WorkbenchError("no model chosen.", f"pick a registry model ({', '.join(REGISTRY)}) or a local folder.")
    local = Path(spec).expanduser()
    if not local.is_absolute() and not (settings.workspace_root / local).exists() and spec.count("/") == 1:
        raise WorkbenchError(
            f"'{spec}' looks like a Hugging Face Hub id; the app loads models only from the registry or local folders.",
            "fetch or download the model with the CLI into the workspace, then pick its folder.",
        )
    folder = resolve_inside(spec, settings.model_roots(), what="model folder")
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise WorkbenchError(
            f"the model '{spec}' is not a registry name or a model folder with config.json.",
            f"pick one of {', '.join(REGISTRY)} or a folder saved with save_pretrained under the workspace.",
        )
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise WorkbenchError(f"{folder / 'config.json'} is not valid JSON.", "re-save the model folder.") from None
    if isinstance(config, dict) and config.get("auto_map"):
        raise WorkbenchError(
            f"the model folder {folder} needs custom code (auto_map in config.json); the app never runs "
            "trust_remote_code.",
            "use a model whose architecture transformers ships, or train it from the CLI after reviewing its code.",
        )
    return str(folder)


def model_choices(settings: AppSettings) -> list[str]:
    """Models a picker offers: registry models already in the cache, then local model folders
    (a ``config.json`` beside weights) under the workspace and the model folders."""
    from workbench.models.fetch import list_cached
    from workbench.models.registry import REGISTRY

    names = [row["name"] for row in list_cached() if row.get("name") in REGISTRY]
    roots = [settings.workspace_root, *(Path(d).expanduser().resolve() for d in settings.model_dirs)]
    for config in list_files(roots, suffixes=("config.json",)):
        if config.name != "config.json" or "checkpoints" in config.parts:
            continue
        folder = config.parent
        if any(folder.glob("*.safetensors")):
            names.append(str(folder))
    return names


# --- text spans (review) ----------------------------------------------------------------------

_WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """Whitespace-separated words of ``text`` with their character offsets (start, end, word)."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def span_from_words(text: str, indices: list[int]) -> tuple[int, int]:
    """Character span covering the picked words (by index in :func:`word_spans`), first to last."""
    words = word_spans(text)
    if not indices:
        raise WorkbenchError("no words picked for the error span.", "pick the words that are wrong, or type the phrase.")
    bad = [i for i in indices if not 0 <= i < len(words)]
    if bad:
        raise WorkbenchError(f"word index {bad[0]} is outside the text ({len(words)} words).", "pick words shown.")
    return words[min(indices)][0], words[max(indices)][1]


def find_phrase(text: str, phrase: str, occurrence: int = 1) -> tuple[int, int]:
    """Character span of the ``occurrence``-th appearance of ``phrase`` in ``text``.

    Whitespace in the phrase matches any run of whitespace, so a phrase copied across a line break
    is still found; an absent phrase is a user error naming it."""
    phrase = phrase.strip()
    if not phrase:
        raise WorkbenchError("the error phrase is empty.", "type the words that are wrong, as they appear.")
    pattern = r"\s+".join(re.escape(part) for part in phrase.split())
    matches = list(re.finditer(pattern, text))
    if len(matches) < occurrence:
        raise WorkbenchError(f"the phrase '{phrase[:60]}' does not appear in the output.", "copy it from the text.")
    match = matches[occurrence - 1]
    return match.start(), match.end()


# --- configs ----------------------------------------------------------------------------------


def flatten(config: dict, prefix: str = "") -> dict:
    """``{"lora": {"r": 8}}`` -> ``{"lora.r": 8}``."""
    flat: dict = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_diff(configs: dict[str, dict], ignore: tuple[str, ...] = ("out", "name")) -> list[dict]:
    """Rows of the config keys that differ between runs: ``{"key", <run>: value, ...}``."""
    flats = {name: flatten(cfg or {}) for name, cfg in configs.items()}
    keys = sorted({k for flat in flats.values() for k in flat} - set(ignore))
    missing = object()
    rows = []
    for key in keys:
        values = [flat.get(key, missing) for flat in flats.values()]
        if len({json.dumps(v, sort_keys=True, default=str) if v is not missing else "\x00" for v in values}) > 1:
            rows.append({"key": key, **{n: (None if v is missing else v) for n, v in zip(flats, values)}})
    return rows


# --- the server command -----------------------------------------------------------------------


def host_warning(host: str) -> str | None:
    if host in LOCAL_HOSTS:
        return None
    return (
        f"warning: the app will listen on {host}, reachable from other machines. It has no login: anyone who "
        "can reach this port can read the workspace and launch training. Use --host 127.0.0.1 and an SSH tunnel "
        "unless this network is trusted."
    )


def streamlit_command(settings: AppSettings, python: str | None = None, script: Path | None = None) -> list[str]:
    """The ``streamlit run`` command line for ``workbench app``: headless, bound to the settings'
    host (127.0.0.1 by default), usage statistics off, XSRF protection on, uploads capped."""
    script = script or (APP_DIR / "Home.py")
    if not script.is_file():
        raise WorkbenchError(f"the app's entry script {script} is missing.", "reinstall workbench from the repository.")
    return [
        python or sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", settings.host,
        "--server.port", str(settings.port),
        "--server.headless", "true",
        "--server.enableXsrfProtection", "true",
        "--server.enableCORS", "true",
        "--server.maxUploadSize", str(settings.max_upload_mb),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]


def app_environment(settings: AppSettings, environ: dict | None = None) -> dict:
    """Environment of the server process: the settings, the workspace, telemetry off."""
    env = dict(os.environ if environ is None else environ)
    env[SETTINGS_ENV] = settings.to_env()
    env["WORKBENCH_WORKSPACE"] = str(settings.workspace_root)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env



def run_app(settings: AppSettings, print_only: bool = False, echo=print) -> int:
    """Run the Streamlit server in the foreground until Ctrl+C; return its exit code."""
    import shlex
    import subprocess

    command = streamlit_command(settings)
    if print_only:
        echo(shlex.join(command))
        return 0
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise WorkbenchError("streamlit is not installed.", "pip install 'workbench[app]' (streamlit>=1.52).") from None
    warning = host_warning(settings.host)
    if warning:
        echo(warning)
    settings.workspace_root.mkdir(parents=True, exist_ok=True)
    echo(f"workbench app: http://{settings.host}:{settings.port}  (workspace {settings.workspace_root}; Ctrl+C stops)")
    import signal

    def _stop(signum, frame):  # noqa: ARG001 - SIGTERM (a service manager, a test) stops the server too
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; never orphan the server
        raise KeyboardInterrupt

    process = subprocess.Popen(command, env=app_environment(settings))
    previous = signal.signal(signal.SIGTERM, _stop) if _in_main_thread() else None
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    """Signal handlers can only be installed from the main thread."""
    import threading

    return threading.current_thread() is threading.main_thread()


# --- config forms -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One config key as a form shows it."""

    key: str
    """Dotted key (``lora.r``)."""
    kind: str
    """bool, int, float, str, choice, optional-str (empty means None) or list (comma-separated text;
    empty means None where the field allows it, else an empty list)."""
    default: object
    doc: str = ""
    choices: tuple = ()


def field_docs(cls: type) -> dict[str, str]:
    """The one-line docstrings written under each field of a config dataclass."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def config_fields(config: object, skip: tuple[str, ...] = ()) -> list[FieldSpec]:
    """The form fields of a config dataclass instance (nested dataclasses flattened to dotted keys),
    with the instance's values as defaults, the field docs, and the choices of ``Literal`` fields."""
    import types
    import typing

    hints = typing.get_type_hints(type(config))
    docs = field_docs(type(config))
    specs: list[FieldSpec] = []
    for f in dataclasses.fields(config):
        if f.name in skip:
            continue
        value = getattr(config, f.name)
        tp = hints[f.name]
        if dataclasses.is_dataclass(value):
            inner = [s for s in config_fields(value) if f"{f.name}.{s.key}" not in skip]
            specs += [dataclasses.replace(s, key=f"{f.name}.{s.key}") for s in inner]
            continue
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        optional = origin in (typing.Union, types.UnionType) and type(None) in args
        if optional:
            rest = [a for a in args if a is not type(None)]
            tp = rest[0] if len(rest) == 1 else str
            origin, args = typing.get_origin(tp), typing.get_args(tp)
        if isinstance(value, dict) or origin is dict or tp is dict:
            continue  # mappings are filled by the library (e.g. curation's drop decisions), not typed in
        if origin in (list, tuple):
            specs.append(FieldSpec(f.name, "list", ", ".join(map(str, value or [])), docs.get(f.name, ""),
                                   ("optional",) if optional else ()))
        elif origin is typing.Literal:
            specs.append(FieldSpec(f.name, "choice", value, docs.get(f.name, ""), tuple(args)))
        elif tp is bool:
            specs.append(FieldSpec(f.name, "bool", value, docs.get(f.name, "")))
        elif tp in (int, float) and not optional:
            specs.append(FieldSpec(f.name, tp.__name__, value, docs.get(f.name, "")))
        else:
            specs.append(FieldSpec(f.name, "optional-str" if optional else "str",
                                   "" if value is None else str(value), docs.get(f.name, "")))
    return specs


def form_overrides(specs: list[FieldSpec], values: dict) -> dict:
    """Dotted overrides of the form values that differ from the defaults (empty optional text -> None),
    ready for :func:`workbench.config.apply_overrides`."""
    overrides = {}
    for spec in specs:
        if spec.key not in values:
            continue
        value = values[spec.key]
        if spec.kind == "optional-str":
            value = (value or "").strip() or None
            default = spec.default or None
        elif spec.kind == "list":
            parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
            value = parts or (None if spec.choices == ("optional",) else [])
            default = ([p.strip() for p in str(spec.default).split(",") if p.strip()]
                       or (None if spec.choices == ("optional",) else []))
        else:
            default = spec.default
        if value != default:
            overrides[spec.key] = value
    return overrides


# Config keys that name input files: each must lie under the file roots ('sample' = bundled text).
TRAIN_PATH_KEYS = ("data", "replay", "domain_eval", "general_eval", "new_tokens")


def checked_train_config(settings: AppSettings, preset: str | None, overrides: dict):
    """The ``TrainConfig`` an app form describes: the preset (or the defaults), then the form's
    dotted overrides; the model checked by :func:`check_model_spec`, every input path kept under the
    file roots, and the run folder named by the library (``out`` may not be set from the app)."""
    from workbench.config import apply_overrides
    from workbench.training.config import load_train_config

    config = load_train_config(preset or None)
    if overrides.get("out"):
        raise WorkbenchError("the app does not take a run folder ('out').", "give the run a name instead.")
    config = apply_overrides(config, overrides)
    config.model = check_model_spec(config.model, settings)
    for key in TRAIN_PATH_KEYS:
        value = getattr(config, key)
        if value and value != "sample":
            setattr(config, key, str(resolve_inside(value, settings.file_roots(), what=key)))
    if config.name:
        from workbench.workspace import slugify

        config.name = slugify(config.name)
    return config
