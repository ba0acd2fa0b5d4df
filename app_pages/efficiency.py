"""Efficiency: the lecture's second half — accuracy under a cost. Rewards, one cell's cost on
this device, latency predictors, TinyNAS's choice of space, FLOP-aware DARTS and constrained
searches compared, each one click away (views in `ui/efficiency_panel.py`)."""
import streamlit as st

from ui import efficiency_panel as panel
from ui.settings import current, page_intro

settings = current()
page_intro("Efficiency", "Maximise accuracy subject to a cost: latency, FLOPs, memory.",
           "What is efficiency-aware NAS?",
           "A network must also be fast and small enough for its device. A search can treat the cost as a **hard "
           "limit** (reward s if cost ≤ τ, else nothing), a **soft reward** (MnasNet: s·(cost/τ)^γ, γ < 0) or a "
           "**weighted sum** (s − λ·cost). Latency depends on the device, so it is measured there — or "
           "**predicted** by a model trained once on a few hundred measured networks. **TinyNAS** (MCUNet) first "
           "chooses the search space itself: the width and input resolution whose models, under the memory "
           "budget, have the most FLOPs. **FLOP-aware DARTS** adds the expected FLOPs of the cell to the "
           "supernet's loss.")
view = st.segmented_control("View", panel.VIEWS, default=panel.VIEWS[0], key="ef_view") or panel.VIEWS[0]
if view == "Rewards":
    panel.rewards_view()
elif view == "This cell":
    panel.cell_view(settings)
elif view == "Latency predictors":
    panel.latency_view(settings)
elif view == "TinyNAS":
    panel.tinynas_view(settings)
elif view == "FLOP-aware DARTS":
    panel.darts_view()
else:
    panel.search_view()
