"""Expert review: items from comparisons, error labels in a database, agreement, and labels that flow back.

``LabelStore`` (store.py) is the one API the CLI, the app and the notebooks share; it imports SQLAlchemy
lazily so ``import workbench`` stays light. The public modules and names are listed in ``__all__``;
the others (agreement, stats, migrations) are the store's parts.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "LabelStore":
        from workbench.review.store import LabelStore

        return LabelStore
    raise AttributeError(name)


__all__ = ["LabelStore", "config", "export", "items", "plots", "regression", "store"]
