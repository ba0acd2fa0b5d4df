"""Proxy scores for the pages, cached: the current cell's, and a reference sample of random
cells of the same space (scored the same way) that ranks them.

Proxies come in two groups: the fast ones (milliseconds to a second per network) and those
that need one backward pass per sample (`per_sample_passes`, seconds per network on a CPU).
The reference sample is scored a few cells per run inside a fragment, so the page stays
usable while it fills, and every chunk is cached: a revisit, or another browser with the
same settings, gets it at once.
"""
from __future__ import annotations

import math
import time

import pandas as pd
import streamlit as st

from swap_core import explorer
from swap_core.proxies import get_proxy, list_proxies
from swap_core.spaces import get_space

from . import cached
from .settings import Settings

# The fragment that fills the reference reruns every REFRESH_S and computes for BUDGET_S:
# a rerun request that arrives while a run is still busy would interrupt it unseen.
REFRESH_S, BUDGET_S = 1.5, 0.8


def proxy_groups() -> tuple[list[str], list[str]]:
    """(fast, slow) proxy names, in registry order."""
    names = list_proxies()
    slow = [n for n in names if get_proxy(n).per_sample_passes]
    return [n for n in names if n not in slow], slow


def settings_key(settings: Settings) -> tuple:
    """The settings that change a score (all but the current cell)."""
    return (settings.space_name, settings.preset, settings.dataset, settings.source, settings.batch_size,
            settings.seed, settings.device)


@st.cache_data(show_spinner=False, max_entries=4096)
def _scores(key: tuple, archs: tuple[str, ...], names: tuple[str, ...]) -> pd.DataFrame:
    space, preset, dataset, source, batch_size, seed, device = key
    space_obj = get_space(space)
    images = cached.images(source, batch_size, seed, space_obj.config(preset, dataset).input_size)
    return explorer.score_architectures(space_obj, list(archs), space_obj.config(preset, dataset), images.images,
                                        images.labels, names, seed=seed, device=device)


def cell_scores(settings: Settings, arch: str, names: list[str]) -> tuple[dict, dict, float]:
    """(scores, errors, seconds) of one cell with the given proxies."""
    row = _scores(settings_key(settings), (arch,), tuple(names)).iloc[0]
    return {n: float(row[n]) for n in names}, dict(row["errors"]), float(row["seconds"])


def reference_archs(settings: Settings, size: int) -> list[str]:
    """The reference sample: `size` random cells drawn with the sidebar seed."""
    return explorer.sample_architectures(settings.space, size, settings.seed)


def reference_scores(settings: Settings, size: int, names: list[str], budget_s: float = BUDGET_S) -> tuple[pd.DataFrame, int]:
    """Scores of the reference cells computed so far: every cell this session has seen
    (instant, from the cache), then new cells until `budget_s` has been spent (0: none).
    One cached call per cell, so an edit never waits behind more than one. Returns
    (scores, cells done)."""
    key, parts, start = settings_key(settings), [], time.perf_counter()
    seen = st.session_state.setdefault("scoring_done", set())
    for arch in reference_archs(settings, size):
        if time.perf_counter() - start >= budget_s and (key, arch, tuple(names)) not in seen:
            break
        parts.append(_scores(key, (arch,), tuple(names)))
        seen.add((key, arch, tuple(names)))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["arch", "seconds", *names, "errors"])
    return table, len(table)


def reference_table(settings: Settings, size: int, groups: list[list[str]],
                    budget_s: float = BUDGET_S) -> tuple[pd.DataFrame, int]:
    """The reference sample scored with each group of proxies in turn (a later group starts
    once the earlier ones are complete): (one column per proxy, number of cells complete)."""
    table, complete = pd.DataFrame({"arch": reference_archs(settings, size)}), size
    for names in groups:
        if complete < size:
            break
        part, complete = reference_scores(settings, size, names, budget_s)
        table = table.merge(part.drop(columns=["seconds", "errors"]), on="arch", how="left")
    return table, complete
