"""FLOP-aware DARTS on the DARTS page: the λ choices, the expected cost of the cell as α trains,
and the committed trade-off of the chosen cells' FLOPs against their NAS-Bench-201 accuracy
over λ and seeds (`scripts/darts_flops_tradeoff.py`, results/oneshot/darts_flops_tradeoff.csv).
The numbers come from `swap_core.oneshot.darts` (`expected_mflops`, `op_flops`); this module
only reads and draws them."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from swap_core.oneshot import darts

from .presenter import readable

LAMBDAS = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]   # the page's slider stops (the committed grid, and one more)
TRADEOFF_CSV = Path(__file__).resolve().parents[1] / "results" / "oneshot" / "darts_flops_tradeoff.csv"
TRADEOFF_COMMAND = "SWAP_EXPLORER_DATA=../shared/data .venv/bin/python scripts/darts_flops_tradeoff.py"
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "font": {"size": 15}}
_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"]

EXPLAIN = """
**FLOP-aware DARTS** prices the ops: the α step's loss gains λ·L_FLOP, where L_FLOP is the
cell's expected cost under softmax(α), as a share (0–1) of the all-conv3×3 cell. Costs are
those of the NAS-Bench-201 benchmark network (C = 16, 5 cells per stage): a conv3×3 edge costs
35.4 MFLOPs over the 15 cells, a conv1×1 edge 3.9, skip, avg-pool and none nothing. λ = 1 prices
the whole range, from the all-conv3×3 cell to a parameter-free one, at one nat of
cross-entropy. The weights' step is unchanged; with α fixed at uniform λ does nothing.
"""


def cost_range() -> tuple[float, float]:
    """The benchmark network's MFLOPs with parameter-free cells and with all-conv3×3 cells."""
    skeleton = darts.skeleton_mflops()
    return skeleton, skeleton + 6 * darts.op_flops()["nor_conv_3x3"]


def mflops_figure(mflops: list[float]) -> go.Figure:
    """The benchmark network's MFLOPs expected under softmax(α) after each epoch (0 = start,
    uniform α), between the cheapest and the dearest cell."""
    cheapest, dearest = cost_range()
    figure = go.Figure(go.Scatter(x=list(range(len(mflops))), y=list(mflops), mode="lines+markers",
                                  name="expected MFLOPs", line={"color": _COLOURS[0], "width": 3},
                                  hovertemplate="epoch %{x}: %{y:.1f} MFLOPs<extra></extra>"))
    for value, text in ((cheapest, "parameter-free cell"), (dearest, "all conv 3×3")):
        figure.add_hline(y=value, line={"dash": "dot", "color": "#888888"}, annotation_text=text)
    figure.update_xaxes(title_text="epoch (0 = start)", dtick=1)
    figure.update_yaxes(title_text="MFLOPs (benchmark network)", range=[0, dearest * 1.08])
    figure.update_layout(title="The cell's expected cost under softmax(α): cheaper ops gain weight as λ grows",
                         height=320, showlegend=False, **_LAYOUT)
    return readable(figure)


def committed_tradeoff(path: Path = TRADEOFF_CSV) -> pd.DataFrame | None:
    """The committed runs (lambda, seed, selection, arch, mflops, accuracy), or None without the file."""
    if not path.exists():
        return None
    frame = pd.read_csv(path)
    needed = {"lambda", "seed", "selection", "arch", "mflops", "accuracy"}
    return frame if needed <= set(frame.columns) else None


def tradeoff_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean MFLOPs and accuracy per λ and selection rule over the seeds."""
    grouped = frame.groupby(["selection", "lambda"], as_index=False)
    return grouped.agg(mflops=("mflops", "mean"), accuracy=("accuracy", "mean"), seeds=("seed", "count"))


def tradeoff_figure(frame: pd.DataFrame) -> go.Figure:
    """Each chosen cell (one point per seed) at its MFLOPs and NB201 accuracy, coloured by λ;
    the means per λ joined into the trade-off curve."""
    figure = go.Figure()
    for number, (weight, rows) in enumerate(frame.groupby("lambda")):
        figure.add_scatter(x=rows["mflops"], y=rows["accuracy"], mode="markers", name=f"λ = {weight:g}",
                           marker={"size": 11, "color": _COLOURS[number % len(_COLOURS)], "opacity": 0.7},
                           customdata=rows[["seed", "arch"]].to_numpy(),
                           hovertemplate="seed %{customdata[0]}: %{x:.1f} MFLOPs, %{y:.2f} %<br>%{customdata[1]}"
                                         "<extra>λ = " + f"{weight:g}" + "</extra>")
    for rule, means in tradeoff_means(frame).groupby("selection"):
        figure.add_scatter(x=means["mflops"], y=means["accuracy"], mode="lines+markers+text", name=f"mean ({rule})",
                           text=[f"λ={w:g}" for w in means["lambda"]], textposition="top center",
                           marker={"size": 14, "symbol": "diamond", "color": "#333344"},
                           line={"color": "#333344", "width": 2})
    figure.update_xaxes(title_text="MFLOPs of the chosen cell's benchmark network")
    figure.update_yaxes(title_text="NAS-Bench-201 CIFAR-10 test accuracy (%)")
    figure.update_layout(title="FLOP-aware DARTS: cost against accuracy over λ (one point per seed)", height=420,
                         legend={"orientation": "h", "y": -0.25}, **_LAYOUT)
    return readable(figure)


__all__ = ["EXPLAIN", "LAMBDAS", "TRADEOFF_COMMAND", "TRADEOFF_CSV", "committed_tradeoff", "cost_range",
           "mflops_figure", "tradeoff_figure", "tradeoff_means"]
