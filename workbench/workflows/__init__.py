"""The recipes: the library's stages put together the one way every face uses.

Each function is one user action (resolve a training config, inspect, curate, train, evaluate,
compare, make review items, submit a review). The CLI, the background jobs (and so the app),
the notebooks and the quickstart call these, and nothing else wires the stages together: a
choice a user makes trains, compares and labels the same way from every face.

Importing this package is light; the heavy libraries load when a workflow runs.
"""

from workbench.workflows.corpus import curate, inspect, with_drop_list
from workbench.workflows.distributed import needs_launcher, train_on_gpus
from workbench.workflows.evaluation import (
    QUICK_CHECK,
    check_trained_snapshot,
    compare,
    eval_config,
    evaluate,
    quick,
    with_regression_set,
)
from workbench.workflows.review import (
    SEVERITIES,
    ErrorMark,
    Submitted,
    label_store,
    labels_path,
    review_items,
    review_items_preview,
    submit_review,
)
from workbench.workflows.synthetic import audit_synthetic, generate_synthetic, synthetic_folder
from workbench.workflows.training import is_resolved, preset_model, train, train_config

__all__ = [
    "train_config", "train", "preset_model", "is_resolved", "train_on_gpus", "needs_launcher",
    "inspect", "curate", "with_drop_list",
    "eval_config", "evaluate", "compare", "with_regression_set", "quick", "QUICK_CHECK", "check_trained_snapshot",
    "review_items", "review_items_preview", "submit_review", "label_store", "labels_path", "ErrorMark", "Submitted", "SEVERITIES",
    "audit_synthetic", "generate_synthetic", "synthetic_folder",
]
