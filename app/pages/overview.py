"""Overview: placeholder until the workspace API lands."""

import streamlit as st

st.title("Overview")
