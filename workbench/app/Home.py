"""Entry point of the workbench app: navigation only (``workbench app`` runs this file).

Every page calls the workbench library and draws its figures; no logic lives in app/.
"""

import streamlit as st

st.set_page_config(page_title="workbench", page_icon=":material/science:", layout="wide")


@st.cache_resource(show_spinner=False)
def _warm_imports() -> None:
    """Import torch once in the background at start: the plan and the jobs need it, and a cold
    import takes seconds on a small machine, which the Train page should not wait for."""
    import threading

    def load() -> None:
        import torch  # noqa: F401

        import workbench.training.plan  # noqa: F401

    threading.Thread(target=load, name="warm-imports", daemon=True).start()


_warm_imports()

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/corpus.py", title="Corpus", icon=":material/description:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/review.py", title="Review", icon=":material/rate_review:"),
]

st.navigation(PAGES).run()
