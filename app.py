"""swap-explorer — the Streamlit entry point: page router and the shared sidebar."""
import streamlit as st

st.set_page_config(page_title="swap-explorer", page_icon=":material/hub:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Overview", icon=":material/home:", default=True),
]
st.navigation(pages).run()
