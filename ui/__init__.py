"""Streamlit helpers shared by the pages: the sidebar settings, cached calls into
`swap_core`, and Plotly figures. The computing itself stays in `swap_core`."""
