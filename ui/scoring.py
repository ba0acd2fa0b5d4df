"""Proxy scores for the pages, cached: the current cell's, a reference sample of random
cells of the same space (scored the same way) that ranks them, and any set of cells
scored with a progress bar and Stop (`scoring_panel`).

Proxies come in two groups: the fast ones (milliseconds to a second per network) and those
that need one backward pass per sample (`per_sample_passes`, seconds per network on a CPU).
The reference sample is scored a few cells per run inside a fragment, so the page stays
usable while it fills, and every chunk is cached: a revisit, or another browser with the
same settings, gets it at once.
"""
from __future__ import annotations

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
# Every scored cell also carries the size of its *benchmark* network (the published model,
# whose accuracy the ground truth gives), whatever network the proxies ran on.
SIZE_COLUMNS = ("benchmark params (M)", "benchmark FLOPs (M)")


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
    table = explorer.score_architectures(space_obj, list(archs), space_obj.config(preset, dataset), images.images,
                                         images.labels, names, seed=seed, device=device)
    sizes = [explorer.network_size(space_obj, arch, space_obj.config("benchmark", dataset)) for arch in archs]
    table[SIZE_COLUMNS[0]] = [p / 1e6 for p, _ in sizes]
    table[SIZE_COLUMNS[1]] = [f for _, f in sizes]
    return table


def cell_scores(settings: Settings, arch: str, names: list[str]) -> tuple[dict, dict, float]:
    """(scores, errors, seconds) of one cell with the given proxies."""
    row = _scores(settings_key(settings), (arch,), tuple(names)).iloc[0]
    return {n: float(row[n]) for n in names}, dict(row["errors"]), float(row["seconds"])


def reference_archs(settings: Settings, size: int) -> list[str]:
    """The reference sample: `size` random cells drawn with the sidebar seed."""
    return explorer.sample_architectures(settings.space, size, settings.seed)


def scores_so_far(settings: Settings, archs: list[str], names: list[str],
                  budget_s: float = BUDGET_S) -> tuple[pd.DataFrame, int]:
    """Scores of `archs` computed so far, in order: every cell this session has seen
    (instant, from the cache), then new cells until `budget_s` has been spent (0: none).
    One cached call per cell, so an edit never waits behind more than one. Returns
    (scores, cells done)."""
    key, parts, start = settings_key(settings), [], time.perf_counter()
    seen = st.session_state.setdefault("scoring_done", set())
    for arch in archs:
        if time.perf_counter() - start >= budget_s and (key, arch, tuple(names)) not in seen:
            break
        parts.append(_scores(key, (arch,), tuple(names)))
        seen.add((key, arch, tuple(names)))
    columns = ["arch", "seconds", *names, "errors", *SIZE_COLUMNS]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return table, len(table)


def scoring_panel(settings: Settings, archs: list[str], names: list[str], key: str) -> tuple[pd.DataFrame, bool]:
    """Progress bar with Stop / Resume for scoring `archs` with `names`, advancing in a
    fragment (the rest of the page redraws when the job completes or stops). Returns the
    scores so far and whether they are complete."""
    table, done = scores_so_far(settings, archs, names, budget_s=0.0)
    job = (settings_key(settings), hash(tuple(archs)), tuple(names))
    stopped = st.session_state.get(f"{key}_stopped") == job
    running = done < len(archs) and not stopped

    @st.fragment(run_every=REFRESH_S if running else None)
    def panel() -> None:
        now = done
        if running and st.session_state.get(f"{key}_stopped") != job:
            now = scores_so_far(settings, archs, names)[1]
        if now < len(archs):
            verb = "Stopped at" if st.session_state.get(f"{key}_stopped") == job else "Scoring"
            st.progress(now / len(archs), text=f"{verb} {now} of {len(archs)} architectures")
            if verb == "Scoring":
                st.button("Stop", icon=":material/stop:", key=f"{key}_stop",
                          on_click=lambda: st.session_state.__setitem__(f"{key}_stopped", job))
            else:
                st.button("Resume", icon=":material/play_arrow:", key=f"{key}_resume",
                          on_click=lambda: st.session_state.pop(f"{key}_stopped", None))
        if running and now != done and (now == len(archs) or now - done >= max(10, len(archs) // 5)):
            st.rerun()  # the page's views catch up with the scores

    panel()
    return table, done == len(archs)


def reference_table(settings: Settings, size: int, groups: list[list[str]],
                    budget_s: float = BUDGET_S) -> tuple[pd.DataFrame, int]:
    """The reference sample scored with each group of proxies in turn (a later group starts
    once the earlier ones are complete): (one column per proxy, number of cells complete)."""
    table, complete = pd.DataFrame({"arch": reference_archs(settings, size)}), size
    for names in groups:
        if complete < size:
            break
        part, complete = scores_so_far(settings, reference_archs(settings, size), names, budget_s)
        table = table.merge(part[["arch", *names]], on="arch", how="left")
    return table, complete
