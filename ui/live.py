"""The app's one live-run type: a `swap_core.runs.Run` (a generator of states computed in a
background worker thread) kept in `st.session_state` under a page's key, Pause/Resume/Stop
buttons, and a fragment that only reads the run's latest state and draws it.

- `start_run(key, states, ...)` stops the run already under `key` (if any) and starts the new
  one; it goes on while the user visits another page, and its states are kept when stopped.
  Such a run is heavy (training, DARTS, SMASH; the Search page's runs too): it waits for one of
  the server's `heavy_jobs()` slots, and the fragment shows its place in line meanwhile.
- `run_buttons(run, prefix)` draws Pause/Resume and Stop; the buttons act on the run at once
  (`Run.stop` freezes what the page shows within one redraw, well under half a second).
- `live_fragment(draw, run)` calls `draw()` now and every `REFRESH_S` seconds while the run
  is active; when it ends, one full rerun redraws the page around the final state. A view that
  fails to draw shows one error line (the traceback goes to the server's log) instead of an
  exception box on every redraw: the rest of the page, Stop and Start included, still works.
No Streamlit call is made off the script thread: the worker only computes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import logging

import streamlit as st

from swap_core.runs import HeavyJobs, Run

from .settings import escape_markdown

REFRESH_S = 0.5  # the fragment's period while a run is active: Stop shows within this
_LOG = logging.getLogger(__name__)


def current_run(key: str) -> Run | None:
    run = st.session_state.get(key)
    return run if isinstance(run, Run) else None


@st.cache_resource(show_spinner=False)
def heavy_jobs() -> HeavyJobs:
    """The server's one line of heavy runs ($SWAP_EXPLORER_HEAVY_JOBS at once)."""
    return HeavyJobs()


def start_run(key: str, states: Iterator[Any], *, name: str = "run",
              on_state: Callable[[Any], None] | None = None) -> Run:
    """Stop the run under `key`, if any, and start `states` in a worker under `key`, in line
    for a heavy slot."""
    old = current_run(key)
    if old is not None:
        old.stop()
    run = Run(states, name=name, on_state=on_state, gate=heavy_jobs())
    st.session_state[key] = run
    return run


def stop_run(key: str) -> bool:
    run = current_run(key)
    return bool(run and run.stop())


def run_buttons(run: Run | None, prefix: str, *, pause: bool = True, columns=None) -> None:
    """Pause/Resume (when `pause`) and Stop for `run`, in `columns` (two, or one without pause)."""
    columns = columns or st.columns(2 if pause else 1)
    if pause:
        if run is not None and run.status == "paused":
            columns[0].button("Resume", icon=":material/resume:", key=f"{prefix}_resume", width="stretch",
                              on_click=run.resume)
        else:
            columns[0].button("Pause", icon=":material/pause:", key=f"{prefix}_pause", width="stretch",
                              disabled=not (run and run.status == "running"),
                              on_click=run.pause if run else None)
    columns[-1].button("Stop", icon=":material/stop:", key=f"{prefix}_stop", width="stretch",
                       disabled=not (run and run.active), on_click=run.stop if run else None)


def live_fragment(draw: Callable[[], None], run: Run | None, *, key: str) -> None:
    """Draw now and, while `run` is active, every REFRESH_S; one full rerun when it ends (so
    buttons and tables around the fragment catch up)."""
    active = run is not None and run.active
    seen_key = f"{key}_was_active"

    @st.fragment(run_every=REFRESH_S if active else None)
    def fragment() -> None:
        queue_note = getattr(run, "queue_note", None)  # (several runs seen as one have no line to stand in)
        note = queue_note() if queue_note is not None and run.active else None
        if note:
            st.info(note, icon=":material/hourglass_top:")
        try:
            draw()
        except Exception as error:  # (st.rerun and st.stop are not Exceptions: they pass)
            _LOG.exception("drawing the live view %s failed", key)
            st.error(f"Could not draw this view: {type(error).__name__}: {escape_markdown(str(error))}",
                     icon=":material/error:")
        now_active = run is not None and run.active
        if st.session_state.get(seen_key) and not now_active:
            st.session_state[seen_key] = False
            st.rerun(scope="app")
        st.session_state[seen_key] = now_active

    fragment()


__all__ = ["REFRESH_S", "current_run", "heavy_jobs", "live_fragment", "run_buttons", "start_run", "stop_run"]
