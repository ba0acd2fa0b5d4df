"""swap-explorer — the Streamlit entry point: page router and the shared sidebar."""
import streamlit as st

from ui import cached, settings as shared

st.set_page_config(page_title="swap-explorer", page_icon=":material/hub:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/cell_designer.py", title="Cell Designer", icon=":material/account_tree:"),
    st.Page("pages/activation_patterns.py", title="Activation Patterns", icon=":material/grid_on:"),
    st.Page("pages/linear_regions.py", title="Linear Regions", icon=":material/texture:"),
]
page = st.navigation(pages)
current = shared.sidebar()
st.sidebar.caption(f"Images: {cached.batch(current).description}.")
st.sidebar.caption(shared.data_status(current))
shared.show_url_errors()
page.run()
