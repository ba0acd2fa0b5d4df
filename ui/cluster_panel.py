"""The Proxy Lab's "Score on the Ray cluster" section, drawn only when $RAY_ADDRESS is set (the
page does not even import this module otherwise, nor ray).

Start sends the Lab's set, or the whole space when it is finite (the Lab's own cells first),
to the cluster as `swap_core.cluster_job.cluster_scoring_states`, driven by a `Run` like the
page's other long runs; the fragment shows "k of n cells, x cells/s, ETA" and Stop. Each cell
lands in the server's score store as it comes back, so the page's tables and plots, which read
the store, show it: the page redraws as the Lab's set fills (`redraw_due`) and when the job ends.

The run takes no heavy slot (`live.heavy_jobs`): its work is on the cluster, this server only
waits for it, so it neither slows the class's runs nor waits behind them. While it scores the
Lab's cells the page's own background scoring of the same cells is stopped (its bar says
"Stopped"; the views fill from the cluster's cells).
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from swap_core import cluster_job
from swap_core.proxies import get_proxy
from swap_core.runs import Run

from .live import current_run, live_fragment, run_buttons, stop_run
from .scoring import _stop as stop_page_scoring  # the page's own scoring of the cells the cluster now does
from .scoring import redraw_due, store, stored_rows
from .settings import Settings, escape_markdown

RUN_KEY, JOB_KEY, TARGET_KEY = "pl_cluster_run", "pl_cluster_job", "pl_cluster_target"


@dataclass(frozen=True)
class ClusterJob:
    """What the session's cluster run scores, for the lines under its bar."""

    label: str
    names: tuple[str, ...]
    setup_key: tuple


@st.cache_data(show_spinner=False)
def space_size(space: str) -> int:
    """Cells of a finite space (the list itself is built when a job starts)."""
    return len(cluster_job.whole_space(space))


def targets(settings: Settings, archs: list[str], label: str) -> dict[str, str]:
    """What Start can score: the Lab's set, and the whole space when it is finite."""
    found = {"set": f"This set: {label}"}
    if settings.space.finite:
        found["space"] = f"The whole {settings.space_name} space: {space_size(settings.space_name):,} cells"
    return found


def _start(settings: Settings, archs: list[str], names: list[str], label: str, page_key: str) -> None:
    stop_run(RUN_KEY)
    stop_page_scoring(page_key)
    cells = list(archs)
    if st.session_state.get(TARGET_KEY) == "space":
        cells = cluster_job.first_then_rest(archs, cluster_job.whole_space(settings.space_name))
        label = f"the whole {settings.space_name} space ({len(cells):,} cells, the Lab's set first)"
    states = cluster_job.cluster_scoring_states(settings.setup, cells, names, store())
    st.session_state[RUN_KEY] = Run(states, name="cluster-job")
    st.session_state[JOB_KEY] = ClusterJob(label, tuple(names), settings.setup.key)


def _cells(n: int) -> str:
    return f"{n:,} cell" + ("" if n == 1 else "s")


def _outcome(run: Run, job: ClusterJob | None) -> None:
    """The line under the bar once the run has ended."""
    state = run.state
    what = escape_markdown(job.label) if job else "the cells"
    if run.status == "done" and state is not None:
        st.success(f"Done: {what}, scored on the cluster in {cluster_job.duration(state.elapsed_s)} "
                   f"({escape_markdown(state.engine)}).", icon=":material/check_circle:")
    elif run.status == "stopped":
        done = f"{state.done:,} of {state.total:,} cells" if state is not None else "no cell"
        st.info(f"Stopped at {done} of {what}: those stay in the store; Start again to score the rest.",
                icon=":material/stop_circle:")
    elif run.status == "failed":
        st.error(f"The cluster job failed: {escape_markdown(run.error)}", icon=":material/error:")


def cluster_panel(settings: Settings, archs: list[str], label: str, names: list[str], *, page_key: str) -> None:
    """The section: target, Start, progress with Stop, and where the results go."""
    address = cluster_job.cluster_address()
    run = current_run(RUN_KEY)
    job = st.session_state.get(JOB_KEY)
    with st.expander("Score on the Ray cluster", icon=":material/cloud_upload:", expanded=run is not None):
        choices = targets(settings, archs, label)
        if st.session_state.get(TARGET_KEY) not in choices:
            st.session_state[TARGET_KEY] = "set"
        columns = st.columns([5, 1], vertical_alignment="bottom")
        columns[0].segmented_control("Score on the cluster", list(choices), format_func=choices.get,
                                     key=TARGET_KEY)
        columns[1].button("Start", icon=":material/rocket_launch:", type="primary", key="pl_cluster_start",
                          width="stretch", disabled=bool(run and run.active),
                          on_click=_start, args=(settings, archs, names, label, page_key))
        shown_names = ", ".join(get_proxy(n).display_name for n in names)
        st.caption(f"Cluster `{escape_markdown(address or '')}` · proxies: {escape_markdown(shown_names)} · the "
                   f"sidebar's settings. Each cell lands in the score store as it comes back: the tables and plots "
                   f"below include them as they refresh (and so do later visits and `python -m swap_core` runs).")
        shown = len(stored_rows(settings, archs, names))

        def draw() -> None:
            if run is None:
                return
            state = run.state
            if run.active:
                if state is None:
                    st.progress(0.0, text=f"Connecting to the cluster at {address} and sending the first tasks…")
                else:
                    st.progress(state.done / state.total, text=state.text())
                run_buttons(run, "pl_cluster", pause=False, columns=[st.columns([1, 5])[0]])
            else:
                _outcome(run, job)
            if run.active:
                st.caption("The page's own scoring of these cells stops meanwhile: the cluster does them.")
            if state is not None and state.last_error:
                st.caption(f"{_cells(state.failed)} failed; the last: {escape_markdown(state.last_error[:300])}")
            if state is not None and state.undefined:
                st.caption(f"{_cells(state.undefined)} with an undefined score (left empty, as on the page), "
                           f"e.g. {escape_markdown(state.last_undefined[:200])}")
            if job is not None and job.setup_key != settings.setup.key:
                st.caption("This job used other sidebar settings than the page shows now.")
            if run.active and redraw_due(shown, len(stored_rows(settings, archs, names)), len(archs)):
                st.rerun(scope="app")  # the page's views catch up with the cluster's cells

        live_fragment(draw, run, key="pl_cluster_live")


__all__ = ["ClusterJob", "cluster_panel", "space_size", "targets"]
