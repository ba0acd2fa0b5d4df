"""`st.cache_data` wrappers around `swap_core.activation_views` for the Activation Patterns
page. Each is keyed on the plain values that fix its result (space, architecture, preset,
dataset, image source, batch, seed, device, init, ...); the `Settings` object rides along
unhashed (`_settings`), so a rerun with the same values is instant. The network is rebuilt
inside each call (milliseconds for the teaching preset) instead of being shared."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch.nn as nn

from swap_core import activation_views as views, memory

from . import cached
from .settings import Settings


def _key(settings: Settings, with_batch: bool = True) -> tuple:
    setup = settings.setup if with_batch else settings.setup.replace(batch=None)
    return (*setup.key, settings.arch)


def _network(settings: Settings, init: str) -> nn.Module:
    return views.build_network(settings.setup, settings.arch, init)


def check_memory(settings: Settings, batch: int, input_size: int | None = None) -> None:
    """`MemoryBudgetError` (what to lower) when counting patterns of `batch` images at `input_size`
    pixels would need more than the memory budget (`swap_core.memory`); nothing when it fits."""
    per_sample = memory.activation_bytes(_network(settings, "default"), settings.config.input_size)
    scale = ((input_size or settings.config.input_size) / settings.config.input_size) ** 2  # activations ∝ pixels
    every, relu, weights = per_sample
    memory.check_fits(settings.setup, (int(every * scale), int(relu * scale), weights), ["swap", "naswot"], batch)


def _images(settings: Settings, size: int | None = None, input_size: int | None = None):
    return cached.batch(settings, size=size, input_size=input_size).images.to(settings.device)


@st.cache_data(show_spinner=False, max_entries=32)
def _matrix(key: tuple, init: str, max_units: int, _settings: Settings) -> views.ActivationMatrix:
    return views.activation_matrix(_network(_settings, init), _images(_settings), max_units, _settings.seed)


def matrix(settings: Settings, init: str, max_units: int) -> views.ActivationMatrix:
    """The activity matrix of the sidebar's network and batch, `max_units` units shown."""
    return _matrix(_key(settings), init, max_units, settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _example(key: tuple, init: str, samples: int, units: int, _settings: Settings) -> views.ActivationMatrix:
    images = _images(_settings)[:samples]
    return views.activation_matrix(_network(_settings, init), images, units, _settings.seed)


def example(settings: Settings, init: str, samples: int, units: int) -> views.ActivationMatrix:
    """The small example: the first `samples` images of the sidebar's batch, `units` units shown."""
    return _example(_key(settings), init, samples, units, settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _kernel(key: tuple, init: str, _settings: Settings) -> views.KernelView:
    return views.naswot_view(_network(_settings, init), _images(_settings))


def kernel(settings: Settings, init: str) -> views.KernelView:
    return _kernel(_key(settings), init, settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _layers(key: tuple, init: str, _settings: Settings) -> pd.DataFrame:
    return views.layer_table(_network(_settings, init), _images(_settings))


def layers(settings: Settings, init: str) -> pd.DataFrame:
    return _layers(_key(settings), init, settings)


@st.cache_data(show_spinner=False, max_entries=256)
def _point(key: tuple, init: str, size: int, input_size: int, _settings: Settings) -> dict[str, int]:
    model = _network(_settings, init)
    return views.saturation_point(model, _images(_settings, size, input_size))


def saturation_point(settings: Settings, init: str, size: int | None = None,
                     input_size: int | None = None) -> dict[str, int]:
    """One saturation row: `size` images (default: the sidebar's batch) at `input_size` px."""
    size = size or settings.batch_size
    input_size = input_size or settings.config.input_size
    return _point(_key(settings, with_batch=False), init, size, input_size, settings)
