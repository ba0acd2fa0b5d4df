"""Proxy scores for the pages: the current cell's, a reference sample of random cells of the
same space (scored the same way) that ranks them, and any set of cells scored with a
progress bar and Stop (`scoring_panel`).

Every row comes from `explorer.score_rows` (so from `Setup.score`) and is kept in one
server-wide memory keyed by (Setup key, cell, proxies): a revisit, or another browser with
the same settings, gets it at once. Sets of cells are scored by the engine's worker
(`swap_core.runs.Run`), never in the script thread; the page's fragment only reads how far
the memory has got. Proxies come in two groups: the fast ones (milliseconds to a second per
network) and those that need one backward pass per sample (`per_sample_passes`, seconds per
network on a CPU).
"""
from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from swap_core import explorer
from swap_core.explorer import SIZE_COLUMNS
from swap_core.proxies import get_proxy, list_proxies
from swap_core.runs import Run

from .live import current_run, live_fragment
from .settings import Settings


class ScoreMemory:
    """Rows by (Setup key, cell, proxy names), shared by every session of the server."""

    def __init__(self) -> None:
        self._rows: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, arch: str, names: tuple[str, ...]) -> dict | None:
        return self._rows.get((key, arch, names))

    def put(self, key: tuple, names: tuple[str, ...], row: dict) -> None:
        with self._lock:
            self._rows[(key, row["arch"], names)] = row

    def rows(self, key: tuple, archs: list[str], names: tuple[str, ...]) -> list[dict]:
        return [row for arch in archs if (row := self._rows.get((key, arch, names))) is not None]


@st.cache_resource(show_spinner=False)
def memory() -> ScoreMemory:
    return ScoreMemory()


def proxy_groups() -> tuple[list[str], list[str]]:
    """(fast, slow) proxy names, in registry order."""
    names = list_proxies()
    slow = [n for n in names if get_proxy(n).per_sample_passes]
    return [n for n in names if n not in slow], slow


def settings_key(settings: Settings) -> tuple:
    """What changes a score (all but the current cell): the sidebar's Setup, as its key."""
    return settings.setup.key


def _table(rows: list[dict], names: list[str]) -> pd.DataFrame:
    columns = ["arch", "seconds", *names, "errors", *SIZE_COLUMNS]
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def cell_scores(settings: Settings, arch: str, names: list[str]) -> tuple[dict, dict, float]:
    """(scores, errors, seconds) of one cell with the given proxies (one cell: computed here,
    well under a second for the teaching networks, and remembered)."""
    key, names_t = settings_key(settings), tuple(names)
    row = memory().get(key, arch, names_t)
    if row is None:
        row = next(explorer.score_rows(settings.setup, [arch], names))
        memory().put(key, names_t, row)
    return {n: float(row[n]) for n in names}, dict(row["errors"]), float(row["seconds"])


def reference_archs(settings: Settings, size: int) -> list[str]:
    """The reference sample: `size` random cells drawn with the sidebar seed."""
    return explorer.sample_architectures(settings.space, size, settings.seed)


def _scoring_states(settings: Settings, archs: list[str], groups: list[list[str]], store: ScoreMemory):
    """Score what the memory lacks, group after group; a state = (Setup key, proxy names, row),
    kept by the run's `on_state` (so a row finished after Stop is not kept)."""
    key, setup = settings_key(settings), settings.setup
    for names in groups:
        names_t = tuple(names)
        missing = [a for a in archs if store.get(key, a, names_t) is None]
        for row in explorer.score_rows(setup, missing, names):
            yield key, names_t, row


def ensure_scoring(settings: Settings, archs: list[str], groups: list[list[str]], key: str) -> Run | None:
    """The worker scoring `archs` with each group of proxies (started unless the memory has
    them all, or the user stopped this very job); None when nothing needs to run."""
    job = (settings_key(settings), hash(tuple(archs)), tuple(tuple(g) for g in groups))
    run = current_run(f"{key}_run")
    if st.session_state.get(f"{key}_job") == job and run is not None:
        return run
    if run is not None:
        run.stop()
    store = memory()
    complete = all(len(store.rows(job[0], archs, tuple(g))) == len(archs) for g in groups)
    if complete or st.session_state.get(f"{key}_stopped") == job:
        st.session_state.pop(f"{key}_run", None)
        st.session_state[f"{key}_job"] = job if complete else None
        return None
    run = Run(_scoring_states(settings, archs, groups, store), name=key, on_state=lambda state: store.put(*state))
    st.session_state[f"{key}_run"], st.session_state[f"{key}_job"] = run, job
    return run


def _stop(key: str) -> None:
    run = current_run(f"{key}_run")
    if run is not None and run.stop():
        st.session_state[f"{key}_stopped"] = st.session_state.get(f"{key}_job")
        st.session_state.pop(f"{key}_job", None)


def _resume(key: str) -> None:
    st.session_state.pop(f"{key}_stopped", None)


def scoring_panel(settings: Settings, archs: list[str], names: list[str], key: str) -> tuple[pd.DataFrame, bool]:
    """Progress bar with Stop / Resume for scoring `archs` with `names` in the engine's worker
    (the rest of the page redraws as a fifth of the cells come in, and at the end). Returns
    the scores so far and whether they are complete."""
    run = ensure_scoring(settings, archs, [names], key)
    names_t, settings_k = tuple(names), settings_key(settings)
    shown = len(memory().rows(settings_k, archs, names_t))

    def panel() -> None:
        now = len(memory().rows(settings_k, archs, names_t))
        if now < len(archs):
            if run is not None and run.active:
                st.progress(now / len(archs), text=f"Scoring {now} of {len(archs)} architectures "
                                                   f"(in the background: other views stay usable)")
                st.button("Stop", icon=":material/stop:", key=f"{key}_stop", on_click=_stop, args=(key,))
            else:
                what = run.error if run is not None and run.status == "failed" else ""
                st.progress(now / len(archs), text=f"Stopped at {now} of {len(archs)} architectures {what}")
                if st.button("Resume", icon=":material/play_arrow:", key=f"{key}_resume"):
                    _resume(key)
                    st.rerun(scope="app")  # the page starts the worker again
        if run is not None and run.active and now - shown >= max(10, len(archs) // 5):
            st.rerun(scope="app")  # the page's views catch up with the scores

    live_fragment(panel, run, key=key)
    table = _table(memory().rows(settings_k, archs, names_t), names)
    return table, len(table) == len(archs)


def reference_table(settings: Settings, size: int, groups: list[list[str]]) -> tuple[pd.DataFrame, int, Run | None]:
    """The reference sample scored with each group of proxies in turn, in the worker: (one
    column per proxy for the cells scored so far, number of cells complete in every group,
    the worker or None)."""
    archs = reference_archs(settings, size)
    run = ensure_scoring(settings, archs, groups, "cd_ref")
    table, complete = pd.DataFrame({"arch": archs}), size
    for names in groups:
        part = _table(memory().rows(settings_key(settings), archs, tuple(names)), names)
        complete = min(complete, len(part))
        table = table.merge(part[["arch", *names]], on="arch", how="left")
    return table, complete, run


__all__ = ["SIZE_COLUMNS", "ScoreMemory", "cell_scores", "ensure_scoring", "memory", "proxy_groups",
           "reference_archs", "reference_table", "scoring_panel", "settings_key"]
