"""swap_core — training-free NAS: search spaces, zero-cost proxies (SWAP-Score and its
rivals), data, ground truth and search, as a plain PyTorch library (no Streamlit here)."""
from __future__ import annotations

__version__ = "0.1.0"
