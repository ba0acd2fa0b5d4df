"""`st.cache_data` wrappers around `swap_core` calls, keyed on plain values so that a
revisit (or a second browser showing the same link) is instant."""
from __future__ import annotations

import streamlit as st

from swap_core import data, explorer, init
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


@st.cache_resource(show_spinner=False)
def warmed_up() -> float:
    """`init.warm_up` once per server, on its first page run (the lecturer's, before the class)."""
    return init.warm_up()
