"""swap-explorer — the Streamlit entry point: page router and the shared sidebar."""
import streamlit as st

from swap_core import priority

from ui import cached, presenter, scoring, settings as shared

st.set_page_config(page_title="swap-explorer", page_icon=":material/hub:", layout="wide")

pages = [
    st.Page("app_pages/home.py", title="Overview", icon=":material/home:", default=True),
    st.Page("app_pages/cell_designer.py", title="Cell Designer", icon=":material/account_tree:"),
    st.Page("app_pages/activation_patterns.py", title="Activation Patterns", icon=":material/grid_on:"),
    st.Page("app_pages/linear_regions.py", title="Linear Regions", icon=":material/texture:"),
    st.Page("app_pages/proxy_lab.py", title="Proxy Lab", icon=":material/science:"),
    st.Page("app_pages/size_regulariser.py", title="Size Regulariser", icon=":material/tune:"),
    st.Page("app_pages/search.py", title="Search", icon=":material/travel_explore:"),
    st.Page("app_pages/oneshot_darts.py", title="DARTS & perturbation", icon=":material/call_split:"),
    st.Page("app_pages/oneshot_smash.py", title="SMASH (one-shot)", icon=":material/auto_awesome:"),
    st.Page("app_pages/efficiency.py", title="Efficiency", icon=":material/speed:"),
]
page = st.navigation(pages, position="top" if presenter.active() else "sidebar")  # presenter: no sidebar
shared.shell()
presenter.sidebar_toggle()
presenter.keep_in_url()
presenter.apply()
try:
    with scoring.foreground().request(), priority.urgent():  # background waits; this page's scorings go first
        page.run()
finally:
    shared.end_of_run()
cached.warm_up_in_background()  # PyTorch's one-time imports, before a class of sessions waits on them together
