"""The SMASH page's live run (`swap_core.oneshot.smash`): phase 1 trains the hypernetwork one
step at a time, phase 2 scores the architectures with generated weights (and SWAP, for
comparison) a few per fragment run. The run is kept in `st.session_state` and advanced for at
most BUDGET_S seconds per run of a fragment that reruns every REFRESH_S while it is active; Stop
ends training (scoring then starts with the weights reached) or, while scoring, ends scoring."""
from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from swap_core import benchmarks, data, stats
from swap_core.oneshot import NB201_TRUTH, smash

from . import scoring
from .figures import training_figure
from .live import stop_live, take_states
from .settings import Settings

REFRESH_S, BUDGET_S = 1.0, 0.7
RUN_KEY, BUDGET_KEY = "sm_run", "sm_budget_s"
EXPLAIN = (
    "**SMASH** (Brock, Lim, Ritchie & Weston, *SMASH: One-Shot Model Architecture Search through "
    "HyperNetworks*, ICLR 2018) trains **one** network, a *hypernetwork* H, instead of every candidate. "
    "Given an encoding c(a) of an architecture a, H outputs the weights of a's convolutions. Each training "
    "step samples a random NAS-Bench-201 cell, builds it with H's weights, and takes one optimiser step on "
    "a minibatch — so H learns to produce decent weights for *any* cell.\n\n"
    "Afterwards every candidate is scored by its validation accuracy with generated weights, with no "
    "training of its own: seconds instead of hours per cell. That ranking is only a **proxy**: generated "
    "weights are worse than trained ones, and not equally worse for all cells (H may suit some kinds of "
    "cell better), so what matters is whether the *order* agrees with the benchmark's 200-epoch accuracy. "
    "Spearman ρ measures exactly that. Here everything runs at teaching scale (C=8, one cell per stage, "
    "16×16 images), so numbers differ from the paper's. SWAP-Score on the same cells needs no training at all.")


@dataclass
class SmashRun:
    settings: Settings
    seed: int
    steps: int
    archs: list[str]
    truth: Mapping[str, float]
    model: smash.SmashNetwork
    val: data.Batch
    generator: Iterator[smash.SmashState] | None
    history: list[smash.SmashState] = field(default_factory=list)
    smash: list[float] = field(default_factory=list)
    swap: list[float] = field(default_factory=list)
    status: str = "training"  # training | scoring | done | stopped | failed
    error: str = ""
    description: str = ""

    @property
    def active(self) -> bool:
        return self.status in ("training", "scoring")


def start(settings: Settings, steps: int, n_archs: int, seed: int) -> None:
    """Load data and the ground truth, build the hypernetwork, and keep the run in the session."""
    try:
        truth = benchmarks.truth_table(NB201_TRUTH)
        train, val = smash.smash_data(seed=seed)
        archs = [a.to_str() for a in smash.distinct_archs(n_archs, seed)]
        model = smash.SmashNetwork(seed=seed)
        generator = smash.smash_training(model, train.images, train.labels, steps, seed=seed)
    except (ValueError, benchmarks.MissingDataError, data.DataSourceError) as error:
        st.session_state[RUN_KEY] = str(error)  # a failure: its message
        return
    st.session_state[RUN_KEY] = SmashRun(settings, seed, steps, archs, truth, model, val, generator,
                                         description=f"trained on {train.description}; scored on {val.description}; "
                                                     f"{smash.DEFAULTS['threads']} torch thread, as "
                                                     "`python -m swap_core oneshot smash` (the ranking depends on it)")


def stop() -> None:
    run = st.session_state.get(RUN_KEY)
    if not isinstance(run, SmashRun):
        return
    if not stop_live(run, active="training", then="scoring" if run.history else "stopped"):
        stop_live(run, active="scoring")


def _swap(settings: Settings, arch: str) -> float:
    values, errors, _ = scoring.cell_scores(settings, arch, ["swap"])
    return math.nan if errors.get("swap") else values["swap"]


def advance(run: SmashRun, budget_s: float) -> None:
    """Train, then score, until `budget_s` has passed (at least one step or one cell)."""
    started = time.perf_counter()
    if run.status == "training":
        take_states(run, budget_s, run.history.append, active="training", exhausted="scoring")
        if time.perf_counter() - started >= budget_s:
            return
    while run.status == "scoring":
        arch = run.archs[len(run.smash)]
        try:
            run.smash += smash.smash_scores(run.model, [arch], run.val.images, run.val.labels)
            run.swap.append(_swap(run.settings, arch))
        except (RuntimeError, ValueError) as error:
            run.status, run.error = "failed", str(error)
            break
        if len(run.smash) == len(run.archs):
            run.status = "done"
        if time.perf_counter() - started >= budget_s:
            break


def curve_frame(run: SmashRun) -> pd.DataFrame:
    return pd.DataFrame([{"step": s.step, "arch": s.arch, "loss": s.loss, "accuracy": s.accuracy,
                          "running_loss": s.running_loss, "running_accuracy": s.running_accuracy}
                         for s in run.history])


def results_frame(run: SmashRun) -> pd.DataFrame:
    n = len(run.smash)
    return pd.DataFrame({"arch": run.archs[:n], "smash_accuracy": [100 * s for s in run.smash],
                         "swap": run.swap[:n], "benchmark_accuracy": [run.truth.get(a, math.nan) for a in run.archs[:n]]})


def curve_figure(frame: pd.DataFrame) -> go.Figure:
    return training_figure(frame, [(1, "loss", "minibatch loss", 1, "faint"),
                                   (1, "running_loss", "running loss", 1, "line"),
                                   (2, "running_accuracy", "running accuracy", 100, "line")],
                           titles=("loss", "training accuracy (%)"), x_title="step (one random cell each)",
                           legend_y=-0.3)


def rho(frame: pd.DataFrame, column: str) -> dict:
    return stats.rank_correlation(frame[column], frame["benchmark_accuracy"])


def scatter(frame: pd.DataFrame, column: str, label: str) -> go.Figure:
    r = rho(frame, column)
    figure = go.Figure(go.Scatter(x=frame[column], y=frame["benchmark_accuracy"], mode="markers",
                                  customdata=frame["arch"], marker={"size": 9, "opacity": 0.75},
                                  hovertemplate="%{customdata}<br>x %{x:.4g}<br>accuracy %{y:.2f} %<extra></extra>"))
    figure.update_layout(title=f"{label}: Spearman ρ = {r['spearman']:.3f} (n = {r['n']})", height=420,
                         xaxis_title=label, yaxis_title="NB201 CIFAR-10 test accuracy (%)",
                         margin={"l": 10, "r": 10, "t": 50, "b": 10}, font={"size": 15})
    return figure


__all__ = ["EXPLAIN", "SmashRun", "advance", "curve_figure", "curve_frame", "results_frame", "rho", "scatter",
           "start", "stop"]
