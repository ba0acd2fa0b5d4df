"""The SMASH page's live run (`swap_core.oneshot.smash.smash_run`): it trains the hypernetwork
one step at a time, then ranks the architectures with generated weights (and SWAP-Score, for
comparison), all in a worker thread (`ui.live.start_run`); each state is folded into a
`SmashTrace` as it comes, and the page's fragment only reads that and draws. Stop ends the whole
run (training and scoring: nothing more is computed) and keeps what it computed; "Score the
cells now" (`score_now`) ends the training where it is, or after a Stop, and scores the cells
with the weights reached (a second run)."""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from swap_core import benchmarks, data, stats
from swap_core.oneshot import NB201_TRUTH, smash
from swap_core.runs import Run
from swap_core.setup import Setup

from .figures import training_figure
from .live import current_run, start_run, stop_run
from .presenter import readable
from .settings import Settings

RUN_KEY, TRACE_KEY, ERROR_KEY = "sm_run", "sm_trace", "sm_error"

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
class SmashTrace:
    """What the page keeps of one SMASH run, folded in by the worker after each state (`add`)."""

    setup: Setup                 # the sidebar's, for SWAP-Score (network, images, seed)
    preset: str
    seed: int
    steps: int
    archs: list[str]
    truth: Mapping[str, float]
    model: smash.SmashNetwork
    val: data.Batch
    threads: int                 # torch threads of the process that computes
    description: str = ""
    run: Run | None = None
    history: list[smash.SmashState] = field(default_factory=list)
    ranked: list[smash.RankState] = field(default_factory=list)

    def add(self, state: smash.SmashState | smash.RankState) -> None:
        (self.ranked if isinstance(state, smash.RankState) else self.history).append(state)

    @property
    def phase(self) -> str:
        return "ranking" if self.ranked else "training"

    @property
    def rankable(self) -> bool:
        """Training (or stopped while training) after at least one step, no cell scored yet: the
        cells can be scored now with the weights reached."""
        return (self.run is not None and self.run.status in ("running", "paused", "stopped") and bool(self.history)
                and not self.ranked)


def current() -> tuple[Run | None, SmashTrace | None]:
    run, trace = current_run(RUN_KEY), st.session_state.get(TRACE_KEY)
    if run is None or not isinstance(trace, SmashTrace) or trace.run is not run:
        return None, None
    return run, trace


def _swap(setup: Setup):
    def swap(arch: str) -> float:
        return float(setup.score(arch, ["swap"])["swap"])
    return swap


def start(settings: Settings, steps: int, n_archs: int, seed: int) -> None:
    """Load data and the ground truth, build the hypernetwork, and start the run in a worker."""
    stop_run(RUN_KEY)
    st.session_state.pop(ERROR_KEY, None)
    try:
        truth = benchmarks.truth_table(NB201_TRUTH)
        train, val = smash.smash_data(seed=seed)
        archs = [a.to_str() for a in smash.distinct_archs(n_archs, seed)]
        model = smash.SmashNetwork(seed=seed)
        setup = settings.setup
        states = smash.smash_run(model, train, val, archs, steps, seed=seed, swap=_swap(setup))
    except (ValueError, benchmarks.MissingDataError, data.DataSourceError) as error:
        st.session_state.pop(TRACE_KEY, None)
        st.session_state[ERROR_KEY] = str(error)
        return
    threads = torch.get_num_threads()
    trace = SmashTrace(setup, settings.preset, seed, steps, archs, truth, model, val, threads,
                       description=f"trained on {train.description}; scored on {val.description}; "
                                   f"{threads} torch thread{'s' if threads > 1 else ''} (the server's; the ranking "
                                   "depends on it)")
    trace.run = start_run(RUN_KEY, states, name="smash", on_state=trace.add)
    st.session_state[TRACE_KEY] = trace


def _ranking(trace: SmashTrace, after: Run) -> Iterator[smash.RankState]:
    after.wait()  # the stopped worker may still be finishing a step on the hypernetwork
    yield from smash.rank_steps(trace.model, trace.archs, trace.val.images, trace.val.labels, _swap(trace.setup))


def score_now(trace: SmashTrace) -> None:
    """End the training where it is (or take a stopped one) and score the cells with the weights
    reached, in a run of its own (it starts once the training worker has finished its step)."""
    if trace.rankable:
        trace.run.stop()
        trace.run = start_run(RUN_KEY, _ranking(trace, trace.run), name="smash-ranking", on_state=trace.add)


def command_line(n_archs: int, steps: int, seed: int) -> str:
    """The command that computes the same ranking (same seed, steps and thread count)."""
    return (f"python -m swap_core oneshot smash --archs {n_archs} --seed {seed} --steps {steps} "
            f"--threads {torch.get_num_threads()}")


def curve_frame(trace: SmashTrace) -> pd.DataFrame:
    return pd.DataFrame([{"step": s.step, "arch": s.arch, "loss": s.loss, "accuracy": s.accuracy,
                          "running_loss": s.running_loss, "running_accuracy": s.running_accuracy}
                         for s in list(trace.history)])


def results_frame(trace: SmashTrace) -> pd.DataFrame:
    ranked = list(trace.ranked)
    return pd.DataFrame({"arch": [r.arch for r in ranked], "smash_accuracy": [100 * r.smash_accuracy for r in ranked],
                         "swap": [r.swap for r in ranked],
                         "benchmark_accuracy": [trace.truth.get(r.arch, math.nan) for r in ranked]})


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
    return readable(figure)


__all__ = ["ERROR_KEY", "EXPLAIN", "RUN_KEY", "SmashTrace", "TRACE_KEY", "command_line", "current", "curve_figure",
           "curve_frame", "results_frame", "rho", "scatter", "score_now", "start"]
