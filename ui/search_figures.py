"""Plotly figures of the Search page: a run's best-so-far against evaluations, its population
as (parameters, score), and several runs compared (mean line with a min–max band per search).
Large fonts: the page is shown on projectors."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from swap_core.search import Evaluation, SearchState

from .presenter import readable
from .search_run import RunRecord

FONT = {"size": 15}
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
METRICS = {"accuracy": 2, "score": 1}  # column of a trace entry


def progress_figure(trace: Sequence[tuple[int, float, float, str]], evaluations: int, has_truth: bool) -> go.Figure:
    """Score of the current best (top) and its benchmark accuracy (bottom) vs evaluations."""
    rows = 2 if has_truth else 1
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    steps = [t[0] for t in trace]
    figure.add_trace(go.Scatter(x=steps, y=[t[1] for t in trace], mode="lines", line_shape="hv",
                                line={"color": COLOURS[0], "width": 3}, name="objective score of the best"), 1, 1)
    figure.update_yaxes(title_text="best score", row=1, col=1)
    if has_truth:
        figure.add_trace(go.Scatter(x=steps, y=[t[2] for t in trace], mode="lines", line_shape="hv",
                                    line={"color": COLOURS[1], "width": 3}, name="its benchmark accuracy"), 2, 1)
        figure.update_yaxes(title_text="its accuracy (%)", row=2, col=1)
    figure.update_xaxes(range=[0, max(evaluations, max(steps, default=0)) * 1.02], row=rows, col=1,
                        title_text="evaluations")
    figure.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font=FONT, showlegend=False,
                         title="Best so far")
    return readable(figure)


def population_figure(state: SearchState, sizes: Mapping[str, float], size_title: str,
                      mu_m: float = math.nan) -> go.Figure:
    """The cells evaluated so far (grey; those judged the same way as the population: by the
    proxy, or by a "training" lookup), the current population (coloured by accuracy where
    known) and the best (star), placed by size (`sizes`: arch -> millions of parameters,
    `size_title` says of which network) and score; a dashed line at a target size `mu_m`."""
    figure = go.Figure()
    lookups = bool(state.population) and all(_is_lookup(e) for e in state.population)
    scored = [e for e in state.history if _is_lookup(e) == lookups and math.isfinite(sizes.get(e.arch, math.nan))]
    figure.add_trace(go.Scatter(x=[sizes[e.arch] for e in scored], y=[e.score for e in scored], mode="markers",
                                marker={"color": "#CCCCCC", "size": 7}, name="evaluated", hoverinfo="skip"))
    members = [e for e in state.population if math.isfinite(sizes.get(e.arch, math.nan))]
    accuracies = [e.accuracy for e in state.history if math.isfinite(e.accuracy)]
    known = any(math.isfinite(e.accuracy) for e in members)
    low = float(np.percentile(accuracies, 10)) if accuracies else 0.0  # contrast where the cells are
    figure.add_trace(go.Scatter(
        x=[sizes[e.arch] for e in members], y=[e.score for e in members], mode="markers", name="population",
        text=[f"{e.arch}<br>accuracy {e.accuracy:.2f} %" for e in members], hoverinfo="text+x+y",
        marker={"size": 11, "line": {"width": 1, "color": "white"},
                **({"color": [e.accuracy for e in members], "colorscale": "Viridis", "cmin": low,
                    "cmax": max(accuracies, default=100.0), "colorbar": {"title": "accuracy %"}}
                   if known else {"color": COLOURS[0]})}))
    best = state.best
    if best is not None and math.isfinite(sizes.get(best.arch, math.nan)):
        figure.add_trace(go.Scatter(x=[sizes[best.arch]], y=[best.score], mode="markers", name="best",
                                    marker={"symbol": "star", "size": 22, "color": COLOURS[1],
                                            "line": {"width": 1, "color": "black"}}))
    if math.isfinite(mu_m):
        figure.add_vline(x=mu_m, line={"dash": "dash", "color": "#888888"}, annotation_text="μ")
    figure.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font=FONT, title="Population",
                         xaxis_title=size_title, yaxis_title="benchmark accuracy (looked up)" if lookups
                         else "objective score", legend={"orientation": "h", "y": -0.25}, plot_bgcolor="white")
    figure.update_xaxes(gridcolor="#EEEEEE")
    figure.update_yaxes(gridcolor="#EEEEEE")
    return readable(figure)


def _is_lookup(evaluation: Evaluation) -> bool:
    """A "training" (Budget.lookup): no parameter count, the accuracy as its score."""
    return math.isnan(evaluation.params)


def curves(runs: Sequence[RunRecord], metric: str = "accuracy") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Search label -> (steps 1..n, array runs × steps): the metric of each run's best at every
    evaluation count (carried forward between states; NaN before the first state, and
    after the run's end for a run that was stopped or was shorter)."""
    column = METRICS[metric]
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.label, []).append(run)
    result = {}
    for label, members in groups.items():
        length = max((r.trace[-1][0] for r in members if r.trace), default=0)
        steps = np.arange(1, length + 1)
        values = np.full((len(members), length), np.nan)
        for row, run in enumerate(members):
            if not run.trace:
                continue
            at = np.array([t[0] for t in run.trace])
            value = np.array([t[column] for t in run.trace], dtype=float)
            latest = np.searchsorted(at, steps[:at[-1]], side="right") - 1  # the last state at or before
            values[row, :at[-1]] = np.where(latest >= 0, value[np.maximum(latest, 0)], np.nan)
        result[label] = (steps, values)
    return result


def comparison_figure(runs: Sequence[RunRecord], metric: str = "accuracy") -> go.Figure:
    """One mean line per search (algorithm + objective) over its runs, with the min–max band
    of the runs around it; with a single run, the run itself."""
    figure = go.Figure()
    for number, (label, (steps, values)) in enumerate(curves(runs, metric).items()):
        colour = COLOURS[number % len(COLOURS)]
        counts = np.isfinite(values).sum(axis=0)
        keep = counts > 0
        if not keep.any():
            continue
        with np.errstate(all="ignore"):
            mean = np.nanmean(values[:, keep], axis=0)
            low, high = np.nanmin(values[:, keep], axis=0), np.nanmax(values[:, keep], axis=0)
        x = steps[keep]
        if len(values) > 1:
            figure.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([high, low[::-1]]),
                                        fill="toself", fillcolor=_rgba(colour, 0.18), line={"width": 0},
                                        hoverinfo="skip", showlegend=False, legendgroup=label))
        figure.add_trace(go.Scatter(x=x, y=mean, mode="lines", line={"color": colour, "width": 3}, line_shape="hv",
                                    name=f"{label} ({len(values)} run{'s' if len(values) > 1 else ''})",
                                    legendgroup=label))
    figure.update_layout(
        height=460, margin={"l": 10, "r": 10, "t": 40, "b": 10}, font=FONT, plot_bgcolor="white",
        title="Mean over runs, band from the worst to the best run",
        xaxis_title="evaluations", legend={"orientation": "h", "y": -0.2}, showlegend=True,
        yaxis_title="benchmark accuracy of the best (%)" if metric == "accuracy" else "objective score of the best")
    figure.update_xaxes(gridcolor="#EEEEEE")
    figure.update_yaxes(gridcolor="#EEEEEE")
    return readable(figure)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


__all__ = ["comparison_figure", "curves", "population_figure", "progress_figure"]
