"""The Search page's runs: the command line's search session (`experiment.search_states`)
computed in a background worker (`swap_core.runs.Run`), one seed after another, while the
page's fragment only reads the latest state and draws. The run is kept in `st.session_state`,
goes on while the user visits other pages, and every finished or stopped seed joins the
comparison. `command` is the `python -m swap_core search` line that reproduces it: the page
and the command build the same `SearchSetup`, so seed S gives the same trajectory in both.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from swap_core import explorer
from swap_core.ensembles import get_ensemble, list_ensembles
from swap_core.proxies import get_proxy
from swap_core.runs import Run
from swap_core.search import SearchState, get_algorithm, objectives
from swap_core.search.experiment import DEFAULT_OBJECTIVE, SearchSetup, check_search, command_line, search_states, total_steps
from swap_core.setup import Setup
from swap_core.spaces import get_space

from . import cached
from .live import heavy_jobs
from .settings import Settings

RUN_KEY, RUNS_KEY, ID_KEY = "se_run", "se_runs", "se_next_id"
SIZE_NETWORK = "benchmark"  # Θ of reg_swap and the cost of a constraint: the published network


@dataclass(frozen=True)
class RunRecord:
    """What the comparison keeps of a finished or stopped run (one seed)."""

    id: int
    algo: str
    label: str
    seed: int
    status: str
    steps: int
    seconds: float
    trace: tuple[tuple[int, float, float, str], ...]

    @property
    def best(self) -> tuple[int, float, float, str] | None:
        return self.trace[-1] if self.trace else None


@dataclass
class SearchRun:
    """One Start of the page: its settings in words, the worker, and what the worker folded
    from its states (`trace`: (step, best score, best accuracy, best arch) after every state
    of the current seed; `records`: the seeds that ended)."""

    id: int
    algo: str
    title: str
    objective: str        # in words, e.g. "reg_swap (μ 1000 k, σ 1e+06)"
    seeds: tuple[int, ...]
    evaluations: int
    space_name: str
    network: str          # which network scored the cells, in words
    has_truth: bool
    command: str          # the command line that reproduces the run
    lookups: int = 0      # truth lookups on top of `evaluations` (AREA, HNAS: their `lookups` option)
    mu: float = math.nan  # reg_swap's target size (thousands, benchmark network), for the plots
    preset: str = ""
    dataset: str = ""
    seed: int = 0
    state: SearchState | None = None
    trace: list[tuple[int, float, float, str]] = field(default_factory=list)
    records: list[RunRecord] = field(default_factory=list)
    sizes: dict[str, float] = field(default_factory=dict, repr=False)  # arch -> M params, for the scatter
    cost: str | None = None      # the constraint's cost (Pareto view), None without one
    limit: float | None = None   # and its limit
    worker: Run | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        """The planned number of steps (proxy evaluations + lookups); a search may end sooner."""
        return self.evaluations + self.lookups

    @property
    def status(self) -> str:
        return self.worker.status if self.worker else "done"

    @property
    def error(self) -> str:
        return self.worker.error if self.worker else ""

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused")

    @property
    def label(self) -> str:
        return f"{self.title} · {self.objective}"

    @property
    def rate(self) -> float:
        """Proxy evaluations per second of this seed's search (NaN before the first)."""
        state = self.state
        if state is None or not state.proxy_evaluations or state.seconds <= 0:
            return math.nan
        return state.proxy_evaluations / state.seconds

    def fold(self, item: tuple[int, SearchState]) -> None:
        """In the worker, after every state: keep it, extend the trace, close a finished seed."""
        seed, state = item
        with self._lock:
            if seed != self.seed:
                self.seed, self.trace = seed, []
            self.state = state
            best = state.best
            self.trace.append((state.step, best.score if best else math.nan, best.accuracy if best else math.nan,
                               best.arch if best else ""))
            if state.done:
                self.records.append(self._record("done"))

    def _record(self, status: str) -> RunRecord:
        steps = self.state.step if self.state else 0
        seconds = self.state.seconds if self.state else 0.0
        return RunRecord(self.id * 1000 + len(self.records), self.algo, self.label, self.seed, status, steps,
                         seconds, tuple(self.trace))

    def close_stopped(self) -> None:
        """After Stop: the seed in progress joins the records as stopped (once)."""
        with self._lock:
            ended = {r.seed for r in self.records}
            if self.state is not None and self.seed not in ended:
                self.records.append(self._record("stopped"))


# --- the objective ---------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def benchmark_sizes(space: str, dataset: str, seed: int, count: int = 50) -> tuple[tuple[float, float], ...]:
    """(parameters in thousands, MFLOPs) of the published benchmark network of `count`
    random cells: the range μ and a constraint's limit are picked in."""
    setup = Setup(space=space, dataset=dataset, preset=SIZE_NETWORK)
    archs = explorer.sample_architectures(setup.space_obj, count, seed)
    return tuple((params / 1e3, flops) for params, flops in (explorer.network_size(setup, arch) for arch in archs))


@st.cache_data(show_spinner=False, max_entries=16)
def truth_coverage(space: str, dataset: str, count: int = 200) -> float:
    """The share of random cells of the space whose accuracy the truth table knows: 1 for
    NAS-Bench-201's full table, small for DARTS (a table of a thousand trained cells)."""
    found = explorer.accuracy_table(space, dataset)
    if found is None:
        return 0.0
    archs = explorer.sample_architectures(get_space(space), count, 0)
    return sum(arch in found[1] for arch in archs) / len(archs)


def objective_title(name: str) -> str:
    if name == objectives.HNAS:
        return "HNAS (M_trace, with κ)"
    if name in list_ensembles():
        return f"{get_ensemble(name).display_name} (ensemble)"
    return get_proxy(name).display_name


def objective_label(objective: str, options: Mapping[str, Any]) -> str:
    """Short words for a run's objective, e.g. "reg_swap (μ 1000 k, σ 1e+06) · params<=0.5 hard"."""
    label = objective
    if "mu" in options:
        label += f" (μ {options['mu']:g} k, σ {options['sigma']:.3g})"
    if options.get("constraint") is not None:
        label += f" · {options['constraint']} {options.get('mode', 'hard')}"
        if options.get("latency") == "predicted":
            label += " (predicted)"
    return label


def search_setup(settings: Settings, objective: str | None, objective_options: Mapping[str, Any],
                 algo_options: Mapping[str, Any], truth: Mapping[str, float], sidebar_batch: bool) -> SearchSetup:
    """The page's widgets as the command line's `SearchSetup`: the sidebar's space, network,
    images, device and threads; the objective's own batch unless `sidebar_batch`."""
    setup = settings.setup if sidebar_batch else settings.setup.replace(batch=None)
    return SearchSetup.from_setup(setup, objective=objective or DEFAULT_OBJECTIVE, size_network=SIZE_NETWORK,
                                  truth=dict(truth), options=dict(algo_options), **dict(objective_options))


def _seeds(setup: SearchSetup, algo: str, evaluations: int, seeds: tuple[int, ...]) -> Iterator[tuple[int, SearchState]]:
    for seed in seeds:
        for state in search_states(setup, algo, evaluations, seed):
            yield seed, state


# --- lifecycle -------------------------------------------------------------------------------
def current_run() -> SearchRun | None:
    return st.session_state.get(RUN_KEY)


def records() -> list[RunRecord]:
    """Every ended seed of this session's runs, oldest first (the comparison)."""
    kept = st.session_state.setdefault(RUNS_KEY, [])
    run = current_run()
    if run is not None:
        known = {r.id for r in kept}
        kept.extend(r for r in list(run.records) if r.id not in known)
    return kept


def start(settings: Settings, algo: str, objective: str | None, objective_options: Mapping[str, Any],
          algo_options: Mapping[str, Any], evaluations: int, seed: int, repeats: int = 1, *,
          sidebar_batch: bool = False) -> SearchRun:
    """Start the search in a worker; the run is kept as `se_run`. ValueError for settings
    the search refuses (checked before anything runs)."""
    info = get_algorithm(algo)
    found = explorer.accuracy_table(settings.space_name, settings.dataset)
    truth = found[1] if found else {}
    setup = search_setup(settings, objective, objective_options, algo_options, truth, sidebar_batch)
    seeds = tuple(seed + k for k in range(repeats))
    check_search(setup, algo, evaluations)
    run_id = st.session_state.get(ID_KEY, 1)
    st.session_state[ID_KEY] = run_id + 1
    lookups = total_steps(info, evaluations, algo_options) - evaluations
    label = objective_label(objective, objective_options) if objective else "accuracy lookups"
    batch = f"batch {setup.batch_size}" if setup.batch_size else "each objective's own batch"
    seeds_text = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    run = SearchRun(run_id, algo, info.title, label, seeds, evaluations, settings.space_name,
                    f"{settings.space.title}, {settings.preset} network, {settings.dataset}, {batch}", bool(truth),
                    command_line(setup, algo, evaluations, seeds_text, found[0] if found else None),
                    lookups=lookups, mu=float(objective_options.get("mu", math.nan)), preset=settings.preset,
                    dataset=settings.dataset, seed=seeds[0])
    if setup.constraint is not None:
        run.cost, run.limit = setup.constraint.cost, setup.constraint.limit
    old = current_run()
    if old is not None and old.worker is not None:
        old.worker.stop()
        old.close_stopped()
    run.worker = Run(_seeds(setup, algo, evaluations, seeds), name=f"search-{run_id}", on_state=run.fold,
                     gate=heavy_jobs())
    st.session_state[RUN_KEY] = run
    return run


def pause() -> None:
    run = current_run()
    if run and run.worker:
        run.worker.pause()


def resume() -> None:
    run = current_run()
    if run and run.worker:
        run.worker.resume()


def stop() -> None:
    """End the run now (its queued seeds too) and keep what it found for the comparison."""
    run = current_run()
    if run and run.worker and run.worker.stop():
        run.close_stopped()


def clear_records() -> None:
    st.session_state[RUNS_KEY] = []
    run = current_run()
    if run is not None:
        st.session_state[RUNS_KEY] = list(run.records)


# --- tables ----------------------------------------------------------------------------------
def results_table(state: SearchState) -> pd.DataFrame:
    """Every architecture the run evaluated, in order, with its score, size and accuracy."""
    return pd.DataFrame({
        "step": [e.step for e in state.history], "arch": [e.arch for e in state.history],
        "score": [e.score for e in state.history], "params (M)": [e.params for e in state.history],
        "accuracy": [e.accuracy for e in state.history],
        "judged by": ["lookup" if math.isnan(e.params) else "proxy" for e in state.history],
    })


def population_sizes(run: SearchRun) -> tuple[dict[str, float], str, float]:
    """(arch -> millions of parameters, axis title, target size μ in millions or NaN) for the
    population scatter: the benchmark network's Θ where the objective measured it (reg_swap),
    else the scored network's count; a lookup shares its cell's count with the proxy
    evaluation of that cell, and a search without any (REA) has its cells' benchmark networks
    counted (cached). Kept in the run, so each fragment run only sizes the new cells."""
    history = run.state.history if run.state else ()
    measured = any(e.metrics and "size_k" in e.metrics for e in history)
    counted = any(math.isfinite(e.params) for e in history)
    for evaluation in history:
        if evaluation.arch in run.sizes:
            continue
        if measured and evaluation.metrics and "size_k" in evaluation.metrics:
            run.sizes[evaluation.arch] = evaluation.metrics["size_k"] / 1e3
        elif not measured and math.isfinite(evaluation.params):
            run.sizes[evaluation.arch] = evaluation.params
        elif not counted:  # only lookups so far (REA)
            run.sizes[evaluation.arch] = cached.network_size(run.space_name, evaluation.arch, SIZE_NETWORK,
                                                             run.dataset)[0] / 1e6
    benchmark = measured or not counted
    title = "parameters (M) of the benchmark network" if benchmark else f"parameters (M) of the {run.preset} network"
    return run.sizes, title, run.mu / 1e3 if measured else math.nan


def records_table(runs: list[RunRecord]) -> pd.DataFrame:
    rows = [{"run": r.id, "search": r.label, "seed": r.seed, "status": r.status, "evaluations": r.steps,
             "best score": r.best[1] if r.best else np.nan, "best accuracy": r.best[2] if r.best else np.nan,
             "seconds": r.seconds, "best arch": r.best[3] if r.best else ""} for r in runs]
    return pd.DataFrame(rows)


__all__ = ["RunRecord", "SearchRun", "benchmark_sizes", "clear_records", "current_run", "objective_label",
           "objective_title", "pause", "population_sizes", "records", "records_table", "results_table", "resume",
           "search_setup", "start", "stop", "truth_coverage"]
