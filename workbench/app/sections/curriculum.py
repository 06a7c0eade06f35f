"""The Train page's curriculum section: the stages table when the data order is 'stages', and the plan of
the chosen order (its words, and for stages the learning rate and replay share of every step).

Pure rendering: the stages become ``curriculum.stages`` of the form's values, which the recipe layer
(``appsupport.train_config_from_form``) checks like any setting; the plan comes from the training stage.
"""

from __future__ import annotations

import streamlit as st

from workbench.config import to_dict
from workbench.training.config import LR_SHAPES, general_to_domain
from workbench.training.curriculum import preview
from workbench.training.plots import stage_plan_figure

STAGE_COLUMNS = ("name", "tokens", "replay_ratio", "lr", "warmup", "lr_scale", "min_lr_ratio")


def stage_rows(rows) -> list[dict]:
    """The table's rows as ``curriculum.stages`` entries: empty rows dropped, blank cells left to the defaults."""
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    cleaned = []
    for row in records:
        entry = {k: v for k, v in row.items() if k in STAGE_COLUMNS and v is not None and v == v and v != ""}
        if entry.get("tokens") is not None:
            cleaned.append(entry)
    return cleaned


def curriculum_inputs(order: str) -> dict:
    """The stages table (prefilled with general-heavy replay decaying into domain text, then domain text
    alone) when ``order`` is 'stages'; returns the form values it sets."""
    if order != "stages":
        return {}
    st.markdown("**Stages** (token shares sum to 1; each stage warms up again by its warm-up share and "
                "decays by its shape)")
    table = st.data_editor(
        [{k: v for k, v in to_dict(s).items() if k in STAGE_COLUMNS} for s in general_to_domain()],
        num_rows="dynamic", key="train_stages",
        column_config={"lr": st.column_config.SelectboxColumn("lr", options=list(LR_SHAPES)),
                       "tokens": st.column_config.NumberColumn("tokens", min_value=0.0, max_value=1.0, step=0.05),
                       "replay_ratio": st.column_config.NumberColumn("replay_ratio", min_value=0.0, max_value=0.95,
                                                                     step=0.05)},
    )
    return {"curriculum.stages": stage_rows(table)}


def curriculum_plan(config) -> None:
    """The chosen order in words; for stages, their steps and the learning rate of every step."""
    if config.curriculum.order == "shuffled":
        return
    shown = preview(config)
    st.markdown("**Data order**")
    st.code(shown["text"], language=None)
    if shown.get("stages"):
        st.plotly_chart(stage_plan_figure(shown["stages"], shown["multipliers"], shown["learning_rate"]),
                        key="plan_stages")
