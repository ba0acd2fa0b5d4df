"""The DARTS & perturbation page's run and figures: a first-order DARTS supernet on
NAS-Bench-201 (`swap_core.oneshot.darts.train_supernet`) kept as a generator in
`st.session_state` and advanced for at most BUDGET_S seconds per run of a fragment that reruns
every REFRESH_S while it trains; then both selection rules (magnitude, Wang et al.'s
perturbation) turn the trained supernet into one cell each."""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from scipy import special

from swap_core import benchmarks, data, explorer
from swap_core.oneshot import darts
from swap_core.spaces.nb201 import OPS
from swap_core.spaces.nb201_net import EDGES

from .figures import training_figure
from .live import error_with_type, stop_live, take_states

REFRESH_S, BUDGET_S = 1.0, 0.7
RUN_KEY, CHOICE_KEY, BUDGET_KEY = "od_run", "od_choice", "od_budget_s"  # tests set od_budget_s = 0: one step per run
ALPHA_MODES = {"learned (DARTS)": "learn", "uniform (α fixed)": "uniform"}
EDGE_LABELS = [f"{src}→{dst}" for src, dst in EDGES]
FAILURES = (ValueError, RuntimeError, data.DataSourceError, benchmarks.MissingDataError)

EXPLAIN = """
**DARTS** (Liu et al., ICLR 2019) makes the choice of an op differentiable. Every edge of the
cell becomes a *mixed op*: all five candidate ops run, and their outputs are summed with
weights softmax(α) of that edge. The supernet then learns two things in alternation
(*bi-level* optimisation): the ops' weights **w** on training images, and the architecture
parameters **α** (6 edges × 5 ops, shared by every cell) on validation images.

**Magnitude selection** — DARTS' rule: on each edge keep the op with the largest α.

**The skip-connect collapse** — a parameter-free `skip_connect` helps the supernet train
fast, so its α grows on many edges; magnitude selection then returns a shallow cell of skips
that trains badly on its own. Watch the skip-connect heatmap below.

**Perturbation-based selection** (Wang et al., "Rethinking Architecture Selection in
Differentiable NAS", ICLR 2021): α's magnitude need not say how much an op matters. Instead,
edge by edge, remove each op from the trained supernet and measure the validation accuracy;
keep the op whose removal hurts most, fix the edge to it, fine-tune briefly, go to the next
edge. It even works with α fixed at uniform ("uniform (α fixed)": no α step at all).

Both cells are then looked up in NAS-Bench-201, which trained every cell for 200 epochs.
This supernet is tiny (a few hundred CIFAR-10 images at 16×16): the curves teach the
mechanics, not the paper's numbers.
"""


@dataclass
class DartsRun:
    config: darts.DartsConfig
    seed: int
    generator: Iterator[darts.DartsState] | None
    split: darts.Split
    rows: list[dict] = field(default_factory=list)          # one per step
    alphas: list[np.ndarray] = field(default_factory=list)  # α at the start and after each epoch
    last: darts.DartsState | None = None
    status: str = "running"  # running | stopped | done | failed
    error: str = ""

    @property
    def total_steps(self) -> int:
        return self.config.total_steps

    @property
    def step(self) -> int:
        return self.last.step if self.last else 0

    @property
    def trained(self) -> bool:
        return self.last is not None and self.status in ("done", "stopped")


def current_run() -> DartsRun | None:
    return st.session_state.get(RUN_KEY)


def start(config: darts.DartsConfig, seed: int) -> str | None:
    """Load the images and make the generator; an error message instead when that fails."""
    stop()
    stop_selection()
    st.session_state.pop(CHOICE_KEY, None)
    try:
        split = darts.load_split(config.n_train, config.n_val, seed, config.source, config.input_size)
    except FAILURES as error:
        st.session_state.pop(RUN_KEY, None)
        return f"{type(error).__name__}: {error}"
    generator = darts.train_supernet(config, seed, split)
    st.session_state[RUN_KEY] = DartsRun(config, seed, generator, split, alphas=[np.zeros((len(EDGES), len(OPS)))])
    return None


def stop() -> None:
    stop_live(current_run())


def advance(run: DartsRun, budget_s: float) -> None:
    """Take steps for about `budget_s` seconds (at least one)."""

    def on_state(state: darts.DartsState) -> None:
        run.last = state
        run.rows.append({"step": state.step, "epoch": state.epoch, "train_loss": state.train_loss,
                         "train_accuracy": state.train_acc, "val_accuracy": state.val_acc})
        if not math.isnan(state.val_acc):
            run.alphas.append(state.alpha)
        if state.done:
            run.status = "done"

    take_states(run, budget_s, on_state, failures=FAILURES, describe=error_with_type)
    if run.status != "running":
        run.generator = None  # done or failed: let the supernet's optimiser state go


# --- tables -----------------------------------------------------------------------------------
def softmax(alpha: np.ndarray) -> np.ndarray:
    """softmax(α) per edge (row)."""
    return special.softmax(alpha, axis=1)


def history_frame(run: DartsRun) -> pd.DataFrame:
    return pd.DataFrame(run.rows)


def alpha_table(run: DartsRun) -> pd.DataFrame:
    """α and softmax(α) per epoch (0 = before training), edge and op, long format."""
    rows = [{"epoch": epoch, "edge": EDGE_LABELS[e], "op": op, "alpha": float(alpha[e, k]),
             "weight": float(weights[e, k])}
            for epoch, alpha in enumerate(run.alphas) for weights in (softmax(alpha),)
            for e in range(len(EDGES)) for k, op in enumerate(OPS)]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Choice:
    rule: str
    arch: str
    accuracy: float | None
    seconds: float


def _choice(rule: str, arch: str, seconds: float) -> Choice:
    found = explorer.accuracy_of("nb201", "cifar10", arch)
    return Choice(rule, arch, found.value if found else None, seconds)


@dataclass
class Selection:
    """Both rules on one trained supernet: magnitude at once, perturbation live (a generator of
    `darts.PerturbationState` over a copy of the supernet, so the run's own stays as trained)."""

    run_id: int
    choices: list[Choice]                     # magnitude, then perturbation once it is done
    generator: Iterator[darts.PerturbationState] | None
    last: darts.PerturbationState | None = None
    status: str = "running"                   # running | stopped | done | failed
    error: str = ""

    @property
    def trials(self) -> tuple[int, int]:
        return (self.last.trials, self.last.total_trials) if self.last else (0, len(EDGES) * len(OPS))


def current_selection(run: DartsRun | None) -> Selection | None:
    """The selection made on `run`'s supernet, if any (a new run forgets the old selection)."""
    selection = st.session_state.get(CHOICE_KEY)
    return selection if run is not None and isinstance(selection, Selection) and selection.run_id == id(run) else None


def start_selection(run: DartsRun) -> None:
    """Magnitude selection now; perturbation selection starts on a copy of the supernet."""
    stop_selection()
    started = time.perf_counter()
    magnitude = _choice("magnitude", darts.select_magnitude(run.last.alpha), time.perf_counter() - started)
    generator = darts.perturbation_run(copy.deepcopy(run.last.supernet), run.split, run.config, run.seed)
    st.session_state[CHOICE_KEY] = Selection(id(run), [magnitude], generator)


def stop_selection() -> None:
    stop_live(st.session_state.get(CHOICE_KEY))


def advance_selection(selection: Selection, budget_s: float) -> None:
    """Perturbation trials for about `budget_s` seconds (at least one)."""

    def on_state(state: darts.PerturbationState) -> None:
        selection.last = state
        if state.done:
            selection.choices.append(_choice("perturbation", state.arch, state.seconds))
            selection.status = "done"

    take_states(selection, budget_s, on_state, failures=FAILURES, describe=error_with_type)
    if selection.status != "running":
        selection.generator = None


def decisions_table(selection: Selection) -> pd.DataFrame:
    """Perturbation's decisions so far: per edge, the validation accuracy with each op removed."""
    return pd.DataFrame([{"order": number, "edge": EDGE_LABELS[d.edge], "kept": d.chosen,
                          **{f"without {op}": d.accuracy_without.get(op) for op in OPS}}
                         for number, d in enumerate(selection.last.decisions if selection.last else (), 1)])


def choices_table(chosen: list[Choice], run: DartsRun) -> pd.DataFrame:
    return pd.DataFrame([{"selection": c.rule, "arch": c.arch, "nb201_cifar10_accuracy": c.accuracy,
                          "alpha_mode": run.config.alpha, "epochs_trained": run.last.epoch, "seed": run.seed,
                          "threads": run.config.threads, "selection_seconds": round(c.seconds, 3)} for c in chosen])


# --- figures ----------------------------------------------------------------------------------
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "font": {"size": 15}}


def curve_figure(frame: pd.DataFrame) -> go.Figure:
    return training_figure(frame, [(1, "train_loss", "train loss", 1, "line"),
                                   (2, "train_accuracy", "train accuracy (batch)", 1, "line"),
                                   (2, "val_accuracy", "validation accuracy", 1, "points")],
                           titles=("training loss", "accuracy (%)"))


def alpha_now_figure(alpha: np.ndarray, step: int) -> go.Figure:
    """softmax(α): edges × ops, the numbers written in the cells."""
    weights = softmax(alpha)
    figure = go.Figure(go.Heatmap(z=weights, x=list(OPS), y=EDGE_LABELS, colorscale="Blues", zmin=0,
                                  zmax=max(0.5, float(weights.max())), texttemplate="%{z:.2f}", textfont={"size": 14},
                                  colorbar={"title": "weight"}))
    figure.update_yaxes(autorange="reversed", title_text="edge")
    figure.update_layout(title=f"softmax(α) per edge at step {step}", height=340, **_LAYOUT)
    return figure


def skip_figure(alphas: list[np.ndarray]) -> go.Figure:
    """The skip-connect weight of every edge after each epoch: the collapse, if it comes."""
    skip = OPS.index("skip_connect")
    weights = np.array([softmax(a)[:, skip] for a in alphas]).T  # edges × epochs
    figure = go.Figure(go.Heatmap(z=weights, x=list(range(len(alphas))), y=EDGE_LABELS, colorscale="Oranges",
                                  zmin=0, zmax=max(0.5, float(weights.max())), texttemplate="%{z:.2f}",
                                  textfont={"size": 14}, colorbar={"title": "weight"}))
    figure.update_xaxes(title_text="epoch (0 = start)", dtick=1)
    figure.update_yaxes(autorange="reversed", title_text="edge")
    figure.update_layout(title="skip_connect's weight per edge over the epochs (uniform = 0.2)", height=340, **_LAYOUT)
    return figure


__all__ = ["ALPHA_MODES", "BUDGET_S", "BUDGET_KEY", "CHOICE_KEY", "Choice", "DartsRun", "EXPLAIN", "REFRESH_S",
           "Selection", "advance", "advance_selection", "alpha_now_figure", "alpha_table", "choices_table",
           "current_run", "current_selection", "curve_figure", "decisions_table", "history_frame", "skip_figure",
           "softmax", "start", "start_selection", "stop", "stop_selection"]
