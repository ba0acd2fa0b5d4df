"""The DARTS & perturbation page's runs and figures. Training is the generator
`swap_core.oneshot.darts.train_supernet`, computed by a `swap_core.runs.Run` in a worker
thread (`ui.live.start_run`); each state is folded into a `DartsTrace` (the curve, α per
epoch) as it comes. Then both selection rules turn the trained supernet into one cell each:
magnitude at once, Wang et al.'s perturbation as a second run (`darts.perturbation_on_copy`,
on a copy of the supernet made in its worker) folded into a `Selection`. The page's
fragments only read these and draw. FLOP-aware DARTS's figures: `ui.darts_flops`."""
from __future__ import annotations

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
from swap_core.runs import Run
from swap_core.spaces.nb201 import OPS
from swap_core.spaces.nb201_net import EDGES

from .figures import training_figure
from .live import current_run, start_run, stop_run
from .presenter import readable

RUN_KEY, TRACE_KEY = "od_run", "od_trace"                  # the training run, and what the page keeps of it
CHOICE_RUN_KEY, CHOICE_KEY = "od_choice_run", "od_choice"  # the perturbation run, and the chosen cells
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
class DartsTrace:
    """What the page keeps of one training run, folded in by the worker after each state (`add`)."""

    config: darts.DartsConfig
    seed: int
    split: darts.Split
    threads: int                                             # torch threads of the process that trains
    run: Run | None = None
    rows: list[dict] = field(default_factory=list)           # one per step
    alphas: list[np.ndarray] = field(default_factory=lambda: [np.zeros((len(EDGES), len(OPS)))])  # start, epochs
    mflops: list[float] = field(default_factory=lambda: [darts.expected_mflops(np.zeros((len(EDGES), len(OPS))))])
    last: darts.DartsState | None = None

    def add(self, state: darts.DartsState) -> None:
        self.rows.append({"step": state.step, "epoch": state.epoch, "train_loss": state.train_loss,
                          "train_accuracy": state.train_acc, "val_accuracy": state.val_acc})
        if not math.isnan(state.val_acc):
            self.alphas.append(state.alpha)
            self.mflops.append(state.expected_mflops)  # of the benchmark network, under softmax(α)
        self.last = state

    @property
    def total_steps(self) -> int:
        return self.config.total_steps

    @property
    def step(self) -> int:
        return self.last.step if self.last else 0

    @property
    def trained(self) -> bool:
        """A supernet to choose from: the run is done, or stopped after a step."""
        return self.last is not None and self.run is not None and self.run.status in ("done", "stopped")


def current() -> tuple[Run | None, DartsTrace | None]:
    """The training run and its trace (both None before the first Start)."""
    run, trace = current_run(RUN_KEY), st.session_state.get(TRACE_KEY)
    if run is None or not isinstance(trace, DartsTrace) or trace.run is not run:
        return None, None
    return run, trace


def start(config: darts.DartsConfig, seed: int) -> str | None:
    """Load the images and start training in a worker; an error message instead when loading fails."""
    stop_run(CHOICE_RUN_KEY)
    st.session_state.pop(CHOICE_KEY, None)
    try:
        split = darts.load_split(config.n_train, config.n_val, seed, config.source, config.input_size)
    except FAILURES as error:
        stop_run(RUN_KEY)
        st.session_state.pop(TRACE_KEY, None)
        return f"{type(error).__name__}: {error}"
    trace = DartsTrace(config, seed, split, config.threads)
    trace.run = start_run(RUN_KEY, darts.train_supernet(config, seed, split), name="darts", on_state=trace.add)
    st.session_state[TRACE_KEY] = trace
    return None


def command_line(config: darts.DartsConfig, seed: int) -> str:
    """The command that computes what the page shows for these settings (same cells, same
    numbers: same seed, images and thread count)."""
    defaults = darts.DartsConfig()
    rules = "magnitude,perturbation" if config.alpha == "learn" else "perturbation-uniform"
    args = ["python -m swap_core oneshot darts", f"--selection {rules}", f"--seeds {seed}", f"--epochs {config.epochs}"]
    if config.flops_weight != defaults.flops_weight:
        args.append(f"--flops-weight {config.flops_weight:g}")
    if config.n_train != defaults.n_train or config.n_val != defaults.n_val:
        args.append(f"--images {config.n_train}")
    if config.source != defaults.source:
        args.append(f"--data {config.source}")
    return " ".join(args + [f"--threads {config.threads}"])


# --- tables -----------------------------------------------------------------------------------
def softmax(alpha: np.ndarray) -> np.ndarray:
    """softmax(α) per edge (row)."""
    return special.softmax(alpha, axis=1)


def history_frame(trace: DartsTrace) -> pd.DataFrame:
    return pd.DataFrame(list(trace.rows))


def alpha_table(trace: DartsTrace) -> pd.DataFrame:
    """α and softmax(α) per epoch (0 = before training), edge and op, long format."""
    rows = [{"epoch": epoch, "edge": EDGE_LABELS[e], "op": op, "alpha": float(alpha[e, k]),
             "weight": float(weights[e, k])}
            for epoch, alpha in enumerate(list(trace.alphas)) for weights in (softmax(alpha),)
            for e in range(len(EDGES)) for k, op in enumerate(OPS)]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Choice:
    rule: str
    arch: str
    accuracy: float | None
    seconds: float
    mflops: float = math.nan  # of the cell's NB201 benchmark network


def _choice(rule: str, arch: str, seconds: float) -> Choice:
    found = explorer.accuracy_of("nb201", "cifar10", arch)
    return Choice(rule, arch, found.value if found else None, seconds, darts.cell_mflops(arch))


@dataclass
class Selection:
    """Both rules on one trained supernet: magnitude at once, perturbation as a run (its states
    folded in by `add`, in the worker)."""

    trained: Run                               # the training run whose supernet is chosen from
    choices: list[Choice]                      # magnitude, then perturbation once it is done
    run: Run | None = None
    last: darts.PerturbationState | None = None

    def add(self, state: darts.PerturbationState) -> None:
        if state.done:
            self.choices.append(_choice("perturbation", state.arch, state.seconds))
        self.last = state

    @property
    def trials(self) -> tuple[int, int]:
        return (self.last.trials, self.last.total_trials) if self.last else (0, len(EDGES) * len(OPS))


def current_selection(run: Run | None) -> tuple[Run | None, Selection | None]:
    """The perturbation run and the selection made on `run`'s supernet, if any (a new
    training run forgets the old selection)."""
    selection = st.session_state.get(CHOICE_KEY)
    if run is None or not isinstance(selection, Selection) or selection.trained is not run:
        return None, None
    return selection.run, selection


def _perturbation(trace: DartsTrace) -> Iterator[darts.PerturbationState]:
    trace.run.wait()  # after Stop, the worker may still be finishing a step on the supernet
    yield from darts.perturbation_on_copy(trace.last.supernet, trace.split, trace.config, trace.seed)


def start_selection(trace: DartsTrace) -> None:
    """Magnitude selection now; perturbation selection in a worker, on a copy of the supernet."""
    started = time.perf_counter()
    magnitude = _choice("magnitude", darts.select_magnitude(trace.last.alpha), time.perf_counter() - started)
    selection = Selection(trace.run, [magnitude])
    selection.run = start_run(CHOICE_RUN_KEY, _perturbation(trace), name="darts-perturbation",
                              on_state=selection.add)
    st.session_state[CHOICE_KEY] = selection


def decisions_table(selection: Selection) -> pd.DataFrame:
    """Perturbation's decisions so far: per edge, the validation accuracy with each op removed."""
    return pd.DataFrame([{"order": number, "edge": EDGE_LABELS[d.edge], "kept": d.chosen,
                          **{f"without {op}": d.accuracy_without.get(op) for op in OPS}}
                         for number, d in enumerate(selection.last.decisions if selection.last else (), 1)])


def choices_table(chosen: list[Choice], trace: DartsTrace) -> pd.DataFrame:
    return pd.DataFrame([{"selection": c.rule, "arch": c.arch, "nb201_cifar10_accuracy": c.accuracy,
                          "benchmark_mflops": c.mflops, "flops_weight": trace.config.flops_weight,
                          "alpha_mode": trace.config.alpha, "epochs_trained": trace.last.epoch, "seed": trace.seed,
                          "threads": trace.threads, "selection_seconds": round(c.seconds, 3)} for c in chosen])


# --- figures ----------------------------------------------------------------------------------
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "font": {"size": 15}}


def curve_figure(frame: pd.DataFrame) -> go.Figure:
    return training_figure(frame, [(1, "train_loss", "train loss", 1, "line"),
                                   (2, "train_accuracy", "train accuracy (batch)", 1, "line"),
                                   (2, "val_accuracy", "validation accuracy", 1, "points")],
                           titles=("training loss", "accuracy (%)"))


_DIVERGING = [[0.0, "#2166AC"], [0.5, "#F7F7F7"], [1.0, "#B2182B"]]  # below uniform, uniform, above


def _deviation_heatmap(weights: np.ndarray, x: list, y: list[str], uniform: float) -> go.Heatmap:
    """Weights drawn as their deviation from uniform (1/K), white at 0, the colour range
    fitted to the largest deviation so far (at least ±0.005): the first epochs' small moves
    show, where a 0–0.5 scale would draw every cell the same pale colour."""
    deviation = weights - uniform
    reach = max(0.005, float(np.abs(deviation).max()))
    return go.Heatmap(z=deviation, x=x, y=y, colorscale=_DIVERGING, zmid=0, zmin=-reach, zmax=reach,
                      customdata=weights, texttemplate="%{z:+.3f}", textfont={"size": 14},
                      colorbar={"title": f"weight − {uniform:.2f}"},
                      hovertemplate="%{y}, %{x}: weight %{customdata:.3f} (%{z:+.3f} vs uniform)<extra></extra>")


def alpha_now_figure(alpha: np.ndarray, step: int) -> go.Figure:
    """softmax(α), edges × ops, as the change from uniform 1/K (K ops), numbers in the cells."""
    weights = softmax(alpha)
    uniform = 1 / weights.shape[1]
    figure = go.Figure(_deviation_heatmap(weights, list(OPS), EDGE_LABELS, uniform))
    figure.update_yaxes(autorange="reversed", title_text="edge")
    figure.update_layout(title=f"softmax(α) per edge at step {step}: change from uniform {uniform:.2f}",
                         height=340, **_LAYOUT)
    return readable(figure)


def skip_figure(alphas: list[np.ndarray]) -> go.Figure:
    """The skip-connect weight of every edge after each epoch, as the change from uniform:
    the collapse, if it comes."""
    skip = OPS.index("skip_connect")
    weights = np.array([softmax(a)[:, skip] for a in alphas]).T  # edges × epochs
    uniform = 1 / len(OPS)
    figure = go.Figure(_deviation_heatmap(weights, list(range(len(alphas))), EDGE_LABELS, uniform))
    figure.update_xaxes(title_text="epoch (0 = start)", dtick=1)
    figure.update_yaxes(autorange="reversed", title_text="edge")
    figure.update_layout(title=f"skip_connect's weight per edge over the epochs: change from uniform {uniform:.2f}",
                         height=340, **_LAYOUT)
    return readable(figure)


__all__ = ["ALPHA_MODES", "CHOICE_KEY", "CHOICE_RUN_KEY", "Choice", "DartsTrace", "EXPLAIN", "RUN_KEY",
           "Selection", "TRACE_KEY", "alpha_now_figure", "alpha_table", "choices_table", "command_line", "current",
           "current_selection", "curve_figure", "decisions_table", "history_frame", "skip_figure", "softmax", "start",
           "start_selection"]
