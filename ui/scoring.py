"""Proxy scores for the pages: the current cell's, a reference sample of random cells of the
same space (scored the same way) that ranks them, and any set of cells scored with a
progress bar and Stop (`scoring_panel`).

Every row comes from `explorer.score_row` (so from `Setup.score`) and is kept in the score
store (`swap_core.store`, SQLite on disk): a revisit, another browser with the same settings,
a restarted server or `python -m swap_core prepare` has it at once. Sets of cells are scored
by the engine's worker (`swap_core.runs.Run`), never in the script thread, and pass the
server's `Foreground` gate between two proxies: while a user's page is being drawn or their
current cell scored, background work waits. The page's fragment only reads how far the store
has got. Proxies come in two groups: the fast ones (milliseconds to a second per network)
and those that need one backward pass per sample (`per_sample_passes`, seconds per network
on a CPU).
"""
from __future__ import annotations

import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from swap_core import explorer, prepare
from swap_core.explorer import SIZE_COLUMNS
from swap_core.priority import Foreground, in_foreground
from swap_core.runs import Run
from swap_core.store import ScoreStore

from .live import current_run, live_fragment
from .settings import Settings

HEADLINE = ("swap", "reg_swap", "naswot")  # the Cell Designer's headline scores, computed first


@st.cache_resource(show_spinner=False)
def store() -> ScoreStore:
    """The server's score store ($SWAP_EXPLORER_STORE, else the user cache; a temporary file
    when that cannot be written, with a warning in the log)."""
    try:
        return ScoreStore()
    except ValueError as error:
        fallback = Path(tempfile.gettempdir()) / "swap-explorer-scores.sqlite"
        print(f"swap-explorer: {error}; using {fallback} instead")
        return ScoreStore(fallback)


class SharedRuns:
    """The server's scoring runs by job: sessions asking for the same cells and proxies with
    the same Setup (a class on the default settings) share one worker instead of each
    computing the same scores."""

    def __init__(self) -> None:
        self._runs: dict[tuple, tuple[Run, set[str]]] = {}
        self._lock = threading.Lock()

    def get_or_start(self, job: tuple, user: str, start) -> Run:
        """The active run of `job` (started by `start()` when there is none), used by `user`."""
        with self._lock:
            run, users = self._runs.get(job, (None, set()))
            if run is None or not run.active:
                self._runs = {j: entry for j, entry in self._runs.items() if entry[0].active}
                run, users = start(), set()
                self._runs[job] = (run, users)
            users.add(user)
            return run

    def release(self, job: tuple | None, user: str) -> None:
        """`user` no longer needs `job`: its run stops when nobody does."""
        with self._lock:
            run, users = self._runs.get(job, (None, set()))
            users.discard(user)
            if run is not None and not users:
                run.stop()
                self._runs.pop(job, None)


@st.cache_resource(show_spinner=False)
def shared_runs() -> SharedRuns:
    return SharedRuns()


@st.cache_resource(show_spinner=False)
def foreground() -> Foreground:
    """The server's one gate: users' requests first, background scoring between them."""
    return Foreground()


def proxy_groups() -> tuple[list[str], list[str]]:
    """(fast, slow) proxy names, in registry order."""
    return prepare.proxy_groups()


def settings_key(settings: Settings) -> tuple:
    """What changes a score (all but the current cell): the sidebar's Setup, as its key."""
    return settings.setup.key


def _table(rows: list[dict], names: list[str]) -> pd.DataFrame:
    columns = ["arch", "seconds", *names, "errors", *SIZE_COLUMNS]
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def stored_rows(settings: Settings, archs: list[str], names: list[str] | tuple[str, ...]) -> list[dict]:
    """The rows of `archs` that the store has with every proxy of `names`, with their sizes."""
    setup, kept = settings.setup, store()
    return [{**row, **explorer.benchmark_size(setup, arch)} for arch in archs
            if (row := kept.row(setup, arch, names)) is not None]


def cell_scores(settings: Settings, arch: str, names: list[str] | tuple[str, ...]) -> tuple[dict, dict, float]:
    """(scores, errors, seconds) of one cell with the given proxies, from the store or computed
    here and kept (for the headline scores of the teaching networks: a tenth of a second)."""
    row = explorer.score_row(settings.setup, arch, list(names), store=store())
    return {n: float(row[n]) for n in names}, dict(row["errors"]), float(row["seconds"])


def cell_entries(settings: Settings, arch: str, names: list[str]) -> tuple[dict, dict, float, list[str]]:
    """What the store has of one cell so far: (scores, errors, seconds, proxies still missing)."""
    scores, errors, seconds, missing = {}, {}, 0.0, []
    for name in names:
        entry = store().get(settings.setup, arch, name)
        if entry is None:
            missing.append(name)
            continue
        scores[name], seconds = entry.value, seconds + entry.seconds
        if entry.error:
            errors[name] = entry.error
    return scores, errors, seconds, missing


class AnyRun:
    """Several runs seen as one by `live_fragment`: active while any of them is."""

    def __init__(self, *runs: Run | None) -> None:
        self.runs = [run for run in runs if run is not None]

    @property
    def active(self) -> bool:
        return any(run.active for run in self.runs)


def reference_archs(settings: Settings, size: int) -> list[str]:
    """The reference sample: `size` random cells drawn with the sidebar seed."""
    return explorer.sample_architectures(settings.space, size, settings.seed)


class _Stopped(Exception):
    """Raised at a checkpoint of a run that was stopped: the cell in progress is dropped."""


def _scoring_states(settings: Settings, jobs: list[tuple[list[str], list[str]]], holder: dict):
    """Score what the store lacks of each (cells, proxies) job in turn, one proxy at a time
    behind the foreground gate; a state = (proxies, row), kept by the run's `on_state` (so a
    row finished after Stop is not kept)."""
    setup, kept, gate = settings.setup, store(), foreground()

    @contextmanager
    def step():
        with gate.background():
            run = holder.get("run")
            if run is not None and not run.active:
                raise _Stopped
            yield

    for archs, names in jobs:
        for arch in archs:
            if kept.row(setup, arch, names) is None:
                yield names, explorer.score_row(setup, arch, names, store=kept, step=step, keep=False)


def _start(settings: Settings, states, name: str, holder: dict) -> Run:
    """A run of `_scoring_states` whose published rows go into the store."""
    setup, kept = settings.setup, store()
    run = Run(states, name=name, on_state=lambda state: kept.put_row(setup, state[1], state[0]))
    holder["run"] = run
    return run


def _session() -> str:
    context = get_script_run_ctx()
    return context.session_id if context is not None else "bare"


def ensure_scoring(settings: Settings, archs: list[str], groups: list[list[str]], key: str, *,
                   first: tuple[list[str], list[str]] | None = None,
                   last: tuple[list[str], list[str]] | None = None) -> Run | None:
    """The worker scoring `archs` with each group of proxies, between the (cells, proxies)
    jobs `first` and `last` if given (started unless the store has them all, or the user
    stopped this very job); None when nothing needs to run."""
    jobs = ([first] if first else []) + [(archs, names) for names in groups] + ([last] if last else [])
    job = (settings_key(settings), tuple((tuple(cells), tuple(names)) for cells, names in jobs))
    run = current_run(f"{key}_run")
    if st.session_state.get(f"{key}_job") == job and run is not None:
        return run
    if run is not None:
        shared_runs().release(st.session_state.get(f"{key}_job"), _session())
    setup, kept = settings.setup, store()
    complete = all(kept.row(setup, cell, names) is not None for cells, names in jobs for cell in cells)
    if complete or st.session_state.get(f"{key}_stopped") == job:
        st.session_state.pop(f"{key}_run", None)
        st.session_state[f"{key}_job"] = job if complete else None
        return None
    holder: dict = {}
    run = shared_runs().get_or_start(job, _session(),
                                     lambda: _start(settings, _scoring_states(settings, jobs, holder), key, holder))
    st.session_state[f"{key}_run"], st.session_state[f"{key}_job"] = run, job
    return run


def ensure_cell_scoring(settings: Settings, arch: str, names: list[str], key: str) -> Run | None:
    """A worker scoring the current cell's proxies that the store lacks, as the user's request
    (background work waits meanwhile); None when the store has them all."""
    job = (settings_key(settings), arch, tuple(names))
    run = current_run(f"{key}_run")
    if st.session_state.get(f"{key}_job") == job and run is not None:
        return run
    if run is not None:
        run.stop()
    st.session_state.pop(f"{key}_run", None)
    st.session_state[f"{key}_job"] = job
    if store().row(settings.setup, arch, names) is not None:
        return None
    rows = explorer.score_rows(settings.setup, [arch], names, store=store())
    run = Run(in_foreground(foreground(), ((names, row) for row in rows)), name=key)
    st.session_state[f"{key}_run"] = run
    return run


def _stop(key: str) -> None:
    run = current_run(f"{key}_run")
    if run is not None and run.stop():
        st.session_state[f"{key}_stopped"] = st.session_state.get(f"{key}_job")
        st.session_state.pop(f"{key}_job", None)


def _resume(key: str) -> None:
    st.session_state.pop(f"{key}_stopped", None)


def redraw_due(shown: int, now: int, total: int) -> bool:
    """Whether a page that shows `shown` scored cells should redraw with `now`: first as soon
    as 3 are in (a first view within seconds), then each time the count doubles, and at
    least every fifth of the set."""
    if shown < 3:
        return now >= 3
    return now >= min(2 * shown, shown + max(10, total // 5))


def scoring_panel(settings: Settings, archs: list[str], names: list[str], key: str) -> tuple[pd.DataFrame, bool]:
    """Progress bar with Stop / Resume for scoring `archs` with `names` in the engine's worker
    (the rest of the page redraws as a fifth of the cells come in, and at the end). Returns
    the scores so far and whether they are complete."""
    run = ensure_scoring(settings, archs, [names], key)
    shown = len(stored_rows(settings, archs, names))

    def panel() -> None:
        now = len(stored_rows(settings, archs, names))
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
        if run is not None and run.active and redraw_due(shown, now, len(archs)):
            st.rerun(scope="app")  # the page's views catch up with the scores

    live_fragment(panel, run, key=key)
    table = _table(stored_rows(settings, archs, names), names)
    return table, len(table) == len(archs)


def reference_table(settings: Settings, size: int, groups: list[list[str]], *,
                    ahead: list[str] = ()) -> tuple[pd.DataFrame, int, Run | None]:
    """The reference sample scored with each group of proxies in turn, in the worker, after
    the headline scores of the cells `ahead` (the Cell Designer's: every cell one edit away,
    so that the next click finds them in the store) and before their other proxies of the
    first group: (one column per proxy for the cells scored so far, number of cells complete
    in every group, the worker or None)."""
    archs = reference_archs(settings, size)
    first = (list(ahead), list(HEADLINE)) if ahead else None
    last = (list(ahead), groups[0]) if ahead else None
    run = ensure_scoring(settings, archs, groups, "cd_ref", first=first, last=last)
    table, complete = pd.DataFrame({"arch": archs}), size
    for names in groups:
        part = _table(stored_rows(settings, archs, names), names)
        complete = min(complete, len(part))
        table = table.merge(part[["arch", *names]], on="arch", how="left")
    return table, complete, run


__all__ = ["AnyRun", "HEADLINE", "SIZE_COLUMNS", "cell_entries", "cell_scores", "ensure_cell_scoring", "ensure_scoring", "foreground",
           "proxy_groups", "redraw_due", "reference_archs", "reference_table", "scoring_panel", "settings_key",
           "store", "stored_rows"]
