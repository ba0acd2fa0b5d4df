"""Overview: what this explorer holds — spaces, proxies and the data found."""
import pandas as pd
import streamlit as st

from swap_core import benchmarks, data
from swap_core.proxies import get_proxy, list_proxies
from swap_core.spaces import get_space, list_spaces

st.title("swap-explorer")
st.markdown(
    "Training-free neural architecture search, live: **SWAP-Score** (sample-wise activation "
    "patterns, Peng et al., ICLR 2024) and the zero-cost proxies it is compared with."
)

st.markdown("**Where to start**")
start = st.columns(3)
start[0].page_link("app_pages/cell_designer.py", label="Cell Designer: edit a cell, watch every proxy",
                   icon=":material/account_tree:")
start[1].page_link("app_pages/activation_patterns.py", label="Activation Patterns: NASWOT vs SWAP",
                   icon=":material/grid_on:")
start[2].page_link("app_pages/linear_regions.py", label="Linear Regions: a ReLU network as a piecewise-linear map",
                   icon=":material/texture:")

left, right = st.columns(2)
with left:
    st.subheader("Search spaces")
    spaces = [get_space(name) for name in list_spaces()]
    st.dataframe(
        pd.DataFrame({"space": [s.name for s in spaces], "title": [s.title for s in spaces],
                      "presets": [", ".join(s.presets) for s in spaces]}),
        hide_index=True, placeholder="—",
    )
with right:
    st.subheader("Proxies")
    infos = [get_proxy(name) for name in list_proxies()]
    st.dataframe(
        pd.DataFrame({"proxy": [i.name for i in infos], "paper": [f"{i.paper} {i.year or ''}" for i in infos],
                      "higher is better": [i.higher_is_better for i in infos],
                      "what": [i.description for i in infos]}),  # the long text last: every column in view
        hide_index=True, placeholder="—", column_config={"paper": st.column_config.TextColumn(width="medium")},
    )

st.subheader("Data")
st.caption(f"Data directory: `{benchmarks.data_dir()}` (set `SWAP_EXPLORER_DATA` to change it)")
records = benchmarks.inventory()
found = sum(r["present"] for r in records)
st.write(f"{found} of {len(records)} data files found.")
sources = [name for name, ok in data.available_sources().items() if ok]
st.write(f"Input images come from **{sources[0]}** (available: {', '.join(sources)}).")
st.dataframe(pd.DataFrame(records), hide_index=True, placeholder="—",
             column_order=["file", "present", "what", "path", "how_to_get", "source"],  # fits a laptop
             column_config={"what": st.column_config.TextColumn(width="medium"),
                            "path": st.column_config.TextColumn(width="small"),
                            "how_to_get": st.column_config.TextColumn(width="medium")})
if found < len(records):
    st.info("Missing files: run `python -m swap_core fetch-data` (needs internet) to download them.")
