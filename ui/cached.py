"""`st.cache_data` wrappers around `swap_core` calls, keyed on plain values so that a
revisit (or a second browser showing the same link) is instant."""
from __future__ import annotations

import threading

import streamlit as st

import pandas as pd

from swap_core import data, explorer, init, lab
from swap_core.setup import Setup

from .settings import Settings


def batch(settings: Settings, size: int | None = None, input_size: int | None = None) -> data.Batch:
    """The settings' images: `size` (default: the sidebar's batch size) chosen by the seed,
    as `Setup.inputs` gives them (at another `input_size` for the saturation sweep)."""
    if input_size is None or input_size == settings.config.input_size:
        return settings.setup.inputs(size)
    return data.load_batch(size or settings.batch_size, settings.seed, source=settings.source, input_size=input_size)


@st.cache_data(show_spinner=False, max_entries=512)
def network_size(space: str, arch: str, preset: str, dataset: str) -> tuple[int, float]:
    return explorer.network_size(Setup(space=space, dataset=dataset, preset=preset), arch)


@st.cache_data(show_spinner=False, max_entries=4)
def committed_paper_table(data_dir: str) -> pd.DataFrame:
    """The paper table of the committed scores (results/suite_zero, results/proxy_table): read
    and correlated once per server and data directory (about 3 s), not on every visit."""
    return lab.paper_table(lab.committed_scores(), data_dir)


@st.cache_resource(show_spinner=False)
def warm_up_in_background() -> threading.Thread:
    """`init.warm_up` once per server, in a thread started by its first page run (the
    lecturer's, before the class): never in a page's way (a first run that paid it itself was
    a second late to read its link's settings when a page link was clicked at once)."""
    thread = threading.Thread(target=init.warm_up, name="swap-warm-up", daemon=True)
    thread.start()
    return thread
