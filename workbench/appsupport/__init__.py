"""What the Streamlit app needs from the library besides the workflows, tested without Streamlit.

The app (``app/``) holds no logic; every rule about what a browser may read, write or load, and
how its forms become configs, lives here, one job per module:

- :mod:`~workbench.appsupport.server`: the app's settings and the ``streamlit run`` command line
  (bound to 127.0.0.1 unless told otherwise, usage statistics off, XSRF protection on);
- :mod:`~workbench.appsupport.files`: the file roots, pickers, typed paths and uploads (written only
  under ``<workspace>/uploads``, sanitised, capped, in the formats the corpus readers know);
- :mod:`~workbench.appsupport.models`: the models a picker offers and the app may load (registry or
  local folders under the allowed roots, never ``trust_remote_code``);
- :mod:`~workbench.appsupport.spans`: error spans of the Review page (a mouse selection, a phrase or
  picked words) and the review form read as one review, exactly as shown;
- :mod:`~workbench.appsupport.forms`: config forms, their labels, and each form's config through
  :mod:`workbench.workflows`.

Nothing here imports streamlit, so ``import workbench`` stays light.
"""

from workbench.appsupport.files import (
    UPLOADS,
    corpus_suffixes,
    is_within,
    list_files,
    resolve_inside,
    sample_data_dir,
    sanitize_filename,
    save_upload,
)
from workbench.appsupport.forms import (
    COMPARE_LABELS,
    CURATE_FORM_SKIP,
    CURATE_LABELS,
    REVIEW_LABELS,
    TRAIN_FORM_SKIP,
    TRAIN_LABELS,
    TRAIN_PATH_KEYS,
    FieldSpec,
    compare_config_from_form,
    compare_words,
    config_diff,
    config_fields,
    curate_config_from_form,
    curate_words,
    field_docs,
    field_label,
    form_overrides,
    form_words,
    own_preset,
    train_config_from_form,
    train_form,
    train_words,
)
from workbench.appsupport.models import check_model_spec, model_choices
from workbench.appsupport.server import (
    APP_DIR,
    LOCAL_HOSTS,
    OPTION_HELP,
    SETTINGS_ENV,
    AppSettings,
    app_environment,
    host_warning,
    run_app,
    streamlit_command,
)
from workbench.appsupport.spans import (
    error_from_form,
    find_phrase,
    review_from_form,
    selection_span,
    span_from_words,
    word_spans,
)

__all__ = [
    # server
    "AppSettings", "OPTION_HELP", "SETTINGS_ENV", "LOCAL_HOSTS", "APP_DIR", "host_warning", "streamlit_command",
    "app_environment", "run_app",
    # files
    "UPLOADS", "sample_data_dir", "is_within", "resolve_inside", "list_files", "corpus_suffixes", "sanitize_filename",
    "save_upload",
    # models
    "check_model_spec", "model_choices",
    # spans
    "word_spans", "span_from_words", "find_phrase", "selection_span", "error_from_form", "review_from_form",
    # forms
    "FieldSpec", "field_docs", "field_label", "config_fields", "form_overrides", "form_words", "config_diff",
    "TRAIN_LABELS", "TRAIN_FORM_SKIP", "TRAIN_PATH_KEYS", "own_preset", "train_form", "train_words",
    "train_config_from_form", "CURATE_LABELS", "CURATE_FORM_SKIP", "curate_words", "curate_config_from_form",
    "COMPARE_LABELS", "compare_words", "compare_config_from_form", "REVIEW_LABELS",
]
