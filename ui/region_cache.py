"""`st.cache_data` wrappers around `swap_core.regions` for the Linear Regions page, keyed on
the plain values that fix each result (the toy's sliders; the sidebar's space, architecture,
preset, dataset, images, batch, seed and device plus the slice's own controls), so a rerun
with the same values is instant. The `Settings` object rides along unhashed (`_settings`)."""
from __future__ import annotations

import time

import streamlit as st

from swap_core import regions, slice_window

from . import cached
from .settings import Settings


@st.cache_data(show_spinner=False, max_entries=64)
def toy(depth: int, width: int, seed: int, init: str, resolution: int, extent: float) -> regions.ToyRegions:
    return regions.toy_regions(depth, width, seed, init, resolution, extent)


class LazyProgress:
    """A progress bar that appears only once a computation has run for a second (redrawn at
    most 4 times a second). Made inside a cached function, so a cache hit replays it — and
    its `close()`, which removes it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = self.drawn = time.perf_counter()
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.start > 1.0 and now - self.drawn > 0.25:
            if self.bar is None:
                self.bar = st.empty()
            self.bar.progress(done / total, text=f"{self.label}: {done} of {total} points")
            self.drawn = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.empty()


@st.cache_data(show_spinner=False, max_entries=16)
def _image_slice(key: tuple, indices: tuple[int, int, int], resolution: int, span: tuple[float, float],
                 _settings: Settings) -> regions.SliceRegions:
    images = cached.batch(_settings).images
    model = _settings.setup.network(_settings.arch)  # the same weights as every other page
    progress = LazyProgress("Forward passes over the slice")
    result = regions.slice_regions(model, *(images[i] for i in indices), resolution, span, progress=progress)
    progress.close()
    return result


def image_slice(settings: Settings, indices: tuple[int, int, int], resolution: int,
                span: tuple[float, float]) -> regions.SliceRegions:
    """The regions of the sidebar's network on the slice through images `indices` of its batch."""
    key = (*settings.setup.key, settings.arch)
    return _image_slice(key, indices, resolution, span, settings)


@st.cache_data(show_spinner=False, max_entries=16)
def _readable(key: tuple, indices: tuple[int, int, int], _settings: Settings) -> slice_window.WindowChoice:
    images = cached.batch(_settings).images
    model = _settings.setup.network(_settings.arch)
    return slice_window.readable_window(model, *(images[i] for i in indices))


def readable_window(settings: Settings, indices: tuple[int, int, int]) -> slice_window.WindowChoice:
    """The widest window around x0 where this network's regions read as patches (measured)."""
    return _readable((*settings.setup.key, settings.arch), indices, settings)
