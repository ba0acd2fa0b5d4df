"""The Search page's runs: a live search generator kept in `st.session_state` (a generator is
not picklable, so it cannot live in `st.cache_*`), advanced a little per fragment run, and
the finished or stopped runs kept for comparison.

A run advances in `advance`: it asks the generator for states until `budget_s` seconds of
compute are spent (at least one state per call), so a fragment that reruns every
`REFRESH_S` seconds stays below its own period — a rerun request that arrives while a
fragment run is still busy would interrupt it unseen. The objective is built in one place,
`build_objective`, from the page's widgets.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from swap_core import explorer
from swap_core.ensembles import get_ensemble, list_ensembles
from swap_core.proxies import get_proxy
from swap_core.search import Budget, SearchGenerator, SearchState, get_algorithm, objectives
from swap_core.search.base import Scorer
from swap_core.spaces import get_space

from . import cached
from .live import close_generator, error_with_type, take_states
from .settings import Settings

# The live fragment reruns every REFRESH_S and computes for at most BUDGET_S of it.
REFRESH_S, BUDGET_S = 1.5, 0.8
RUN_KEY, RUNS_KEY, ID_KEY = "se_run", "se_runs", "se_next_id"
BUDGET_KEY = "se_budget_s"  # seconds of search per fragment run (tests set 0: one state per run)


@dataclass
class SearchRun:
    """One search as the page runs it; `trace` holds (step, best score, best accuracy,
    best arch) after every state, so plots need not walk the history."""

    id: int
    algo: str
    title: str
    objective: str        # in words, e.g. "reg_swap (μ 1000 k, σ 1e+06)"
    seed: int
    evaluations: int
    space_name: str
    network: str          # which network scored the cells, in words
    has_truth: bool
    make: Callable[[int], SearchGenerator] = field(repr=False)  # seed -> a fresh generator
    generator: SearchGenerator | None = field(default=None, repr=False)
    state: SearchState | None = None
    trace: list[tuple[int, float, float, str]] = field(default_factory=list)
    status: str = "running"  # running | paused | stopped | done | failed
    error: str = ""
    compute_s: float = 0.0   # seconds spent inside the generator (not waiting between reruns)
    seeds_left: list[int] = field(default_factory=list)
    mu: float = math.nan     # reg_swap's target size (thousands, benchmark network), for the plots
    lookups: int = 0         # truth lookups on top of `evaluations` (AREA, HNAS: their `lookups` option)
    preset: str = ""
    dataset: str = ""
    sizes: dict[str, float] = field(default_factory=dict, repr=False)  # arch -> M params, for the scatter

    @property
    def total(self) -> int:
        """The planned number of steps (proxy evaluations + lookups); a search may end sooner."""
        return self.evaluations + self.lookups

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused")

    @property
    def label(self) -> str:
        return f"{self.title} · {self.objective}"

    @property
    def rate(self) -> float:
        """Proxy evaluations per second of search compute (NaN before the first; a lookup
        costs next to nothing here, so it would only inflate the rate)."""
        evaluations = self.state.proxy_evaluations if self.state else 0
        return evaluations / self.compute_s if evaluations and self.compute_s > 0 else math.nan


@dataclass(frozen=True)
class RunRecord:
    """What the comparison keeps of a finished or stopped run."""

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


# --- the objective ---------------------------------------------------------------------------
SIZE_NETWORK = "benchmark"  # Θ of reg_swap and the cost of a constraint: the published network


@st.cache_data(show_spinner=False, max_entries=32)
def benchmark_sizes(space: str, dataset: str, seed: int, count: int = 50) -> tuple[tuple[float, float], ...]:
    """(parameters in thousands, MFLOPs) of the published benchmark network of `count`
    random cells: the range μ and a constraint's limit are picked in."""
    space_obj = get_space(space)
    config = space_obj.config(SIZE_NETWORK, dataset)
    archs = explorer.sample_architectures(space_obj, count, seed)
    return tuple((params / 1e3, flops) for params, flops in (explorer.network_size(space_obj, arch, config)
                                                             for arch in archs))


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
    return label


def build_objective(settings: Settings, objective: str, options: Mapping[str, Any]) -> Scorer:
    """arch -> (score, params in millions[, metrics]) for the page's objective: the one place
    where the widgets become a scorer (`swap_core.search.objectives.build_objective`; μ, σ
    and costs on the benchmark network). Scores are remembered across the runs of one Start
    (repeats with other seeds re-visit cells)."""
    images = cached.batch(settings)
    scorer = objectives.build_objective(settings.space, settings.config, images.images, images.labels, objective,
                                        seed=settings.seed, device=settings.device, size_network=SIZE_NETWORK,
                                        dataset=settings.dataset, **dict(options))
    memo: dict[str, tuple] = {}

    def remembered(arch: str) -> tuple:
        if arch not in memo:
            memo[arch] = scorer(arch)
        return memo[arch]

    return remembered


# --- lifecycle -------------------------------------------------------------------------------
def current_run() -> SearchRun | None:
    return st.session_state.get(RUN_KEY)


def records() -> list[RunRecord]:
    return st.session_state.setdefault(RUNS_KEY, [])


def start(settings: Settings, algo: str, objective: str | None, objective_options: Mapping[str, Any],
          algo_options: Mapping[str, Any], evaluations: int, seed: int, repeats: int = 1) -> SearchRun:
    """Build the objective and the first generator; the run is kept as `se_run`."""
    info = get_algorithm(algo)
    found = explorer.accuracy_table(settings.space_name, settings.dataset)
    truth = found[1] if found else {}
    if objective is None:  # the algorithm never scores with a proxy (REA)
        scorer: Scorer = lambda arch: (math.nan, math.nan)  # noqa: E731
    else:
        scorer = build_objective(settings, objective, objective_options)
    space = settings.space

    def make(run_seed: int) -> SearchGenerator:
        return info.fn(space, Budget(algo, scorer, truth), evaluations, run_seed, **dict(algo_options))

    run_id = st.session_state.get(ID_KEY, 1)
    st.session_state[ID_KEY] = run_id + 1
    lookups = int(dict(algo_options).get("lookups", 0)) if info.uses_truth and info.uses_proxy else 0
    label = objective_label(objective, objective_options) if objective else "accuracy lookups"
    run = SearchRun(run_id, algo, info.title, label, seed, evaluations,
                    settings.space_name, f"{space.title}, {settings.preset} network, {settings.dataset}, "
                    f"batch {settings.batch_size}", bool(truth), make, make(seed),
                    seeds_left=[seed + k for k in range(1, repeats)], mu=float(objective_options.get("mu", math.nan)),
                    lookups=lookups, preset=settings.preset, dataset=settings.dataset)
    st.session_state[RUN_KEY] = run
    return run


def advance(run: SearchRun, budget_s: float | None = None) -> None:
    """Take states from the run's generator for about `budget_s` seconds (at least one)."""
    budget_s = st.session_state.get(BUDGET_KEY, BUDGET_S) if budget_s is None else budget_s

    def on_state(state: SearchState) -> None:
        if state.done and run.status == "running":
            run.status = "done"
        run.state = state
        best = state.best
        run.trace.append((state.step, best.score if best else math.nan, best.accuracy if best else math.nan,
                          best.arch if best else ""))

    # any failure ends the run and is shown on the page
    run.compute_s += take_states(run, budget_s, on_state, failures=(Exception,), describe=error_with_type)


def pause() -> None:
    run = current_run()
    if run and run.status == "running":
        run.status = "paused"


def resume() -> None:
    run = current_run()
    if run and run.status == "paused":
        run.status = "running"


def stop() -> None:
    """End the run now (its queued seeds too) and keep what it found for the comparison."""
    run = current_run()
    if run and run.active:
        run.status, run.seeds_left = "stopped", []
        finish(run)


def finish(run: SearchRun) -> bool:
    """Archive an ended run; start its next queued seed, if any. True when one started."""
    if run.generator is not None:
        close_generator(run.generator)
        run.generator = None
    if run.state is not None:
        records().append(RunRecord(run.id, run.algo, run.label, run.seed, run.status, run.state.step,
                                   run.compute_s, tuple(run.trace)))
    if run.status == "done" and run.seeds_left:
        seed, rest = run.seeds_left[0], run.seeds_left[1:]
        run_id = st.session_state.get(ID_KEY, 1)
        st.session_state[ID_KEY] = run_id + 1
        st.session_state[RUN_KEY] = SearchRun(run_id, run.algo, run.title, run.objective, seed, run.evaluations,
                                              run.space_name, run.network, run.has_truth, run.make, run.make(seed),
                                              seeds_left=rest, mu=run.mu, lookups=run.lookups,
                                              preset=run.preset, dataset=run.dataset)
        return True
    return False


def clear_records() -> None:
    st.session_state[RUNS_KEY] = []


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


__all__ = ["BUDGET_S", "REFRESH_S", "RunRecord", "SearchRun", "advance", "benchmark_sizes", "build_objective",
           "clear_records", "current_run", "truth_coverage", "finish", "objective_label", "objective_title", "pause",
           "population_sizes", "records", "records_table", "results_table", "resume", "start", "stop"]
