"""The Train page's GPU count: an input from 1 to the visible GPUs where there are several, nothing otherwise."""

from streamlit.testing.v1 import AppTest


def _section(visible: int) -> None:
    import streamlit as st

    from workbench.app.sections.gpus import gpu_count

    st.session_state["chosen"] = gpu_count(visible)


def test_one_visible_gpu_shows_nothing_and_trains_on_one():
    at = AppTest.from_function(_section, args=(1,)).run()
    assert not at.exception and not at.number_input and at.session_state["chosen"] == 1


def test_several_visible_gpus_offer_a_count_up_to_them():
    at = AppTest.from_function(_section, args=(4,)).run()
    assert not at.exception
    (count,) = at.number_input
    assert count.label == "GPUs" and count.value == 1 and count.max == 4
    count.set_value(3).run()
    assert at.session_state["chosen"] == 3
