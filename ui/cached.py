"""`st.cache_data` wrappers around `swap_core` calls, keyed on plain values so that a
revisit (or a second browser showing the same link) is instant."""
from __future__ import annotations

import streamlit as st

from swap_core import data, explorer
from swap_core.spaces import get_space

from .settings import Settings


@st.cache_data(show_spinner=False, max_entries=16)
def images(source: str, size: int, seed: int, input_size: int) -> data.Batch:
    return data.load_batch(size, seed, source=source, input_size=input_size)


def batch(settings: Settings, size: int | None = None, input_size: int | None = None) -> data.Batch:
    """The settings' images: `size` (default: the sidebar's batch size) chosen by the seed."""
    return images(settings.source, size or settings.batch_size, settings.seed,
                  input_size or settings.config.input_size)


@st.cache_data(show_spinner=False, max_entries=512)
def network_size(space: str, arch: str, preset: str, dataset: str) -> tuple[int, float]:
    space_obj = get_space(space)
    return explorer.network_size(space_obj, arch, space_obj.config(preset, dataset))
