"""Plotly figures of efficiency-aware NAS: the three reward forms against cost, the cells a
constrained search returned under each form (cost against accuracy) with the Pareto front of
everything the runs evaluated, and one run's evaluated cells with their front (Search page).
No computation beyond reshaping: the numbers come from `swap_core.search`."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from swap_core.search.pareto import pareto_front

from .presenter import readable

MODE_TITLES = {"hard": "hard limit: s·1{c ≤ τ}", "mnas": "MNAS: s·(c/τ)^γ", "weighted": "weighted sum: s − λ·c"}
MODE_COLOURS = {"hard": "#0072B2", "mnas": "#D55E00", "weighted": "#009E73"}
MODE_SYMBOLS = {"hard": "circle", "mnas": "diamond", "weighted": "square-open"}  # open: MNAS shows through
MODE_SIZES = {"hard": 15, "mnas": 13, "weighted": 19}


def _limit_line(figure: go.Figure, limit: float, unit: str) -> None:
    figure.add_vline(x=limit, line={"dash": "dash", "color": "#555", "width": 2},
                     annotation_text=f"τ = {limit:g} {unit}", annotation_position="top right")


def rewards_figure(costs: Sequence[float], curves: Mapping[str, Sequence[float | None]], limit: float,
                   unit: str, score: float) -> go.Figure:
    """Reward of one network of score `score` against its cost, one line per form."""
    figure = go.Figure()
    for mode, values in curves.items():
        figure.add_scatter(x=list(costs), y=list(values), mode="lines", name=MODE_TITLES.get(mode, mode),
                           line={"color": MODE_COLOURS.get(mode), "width": 4})
    _limit_line(figure, limit, unit)
    figure.update_layout(xaxis_title=f"cost c ({unit})", yaxis_title=f"reward of a score s = {score:g}",
                         legend={"orientation": "h", "y": -0.25}, height=430, margin={"t": 30})
    return readable(figure)


def _union_front(runs: Sequence[Mapping]) -> tuple[list[float], list[float]]:
    points = [p for run in runs for p in run.get("front") or []]
    front = pareto_front([p["cost"] for p in points], [p["value"] for p in points])
    return [points[i]["cost"] for i in front], [points[i]["value"] for i in front]


def tradeoff_figure(runs: Sequence[Mapping], limit: float | None, unit: str, value_title: str) -> go.Figure:
    """The cell each run returned, cost against accuracy, coloured by reward form (hover: seed
    and cell), over the Pareto front of every cell the runs evaluated."""
    figure = go.Figure()
    xs, ys = _union_front(runs)
    if xs:
        figure.add_scatter(x=xs, y=ys, mode="lines+markers", line_shape="hv", name="Pareto front of all evaluated",
                           line={"color": "#999", "width": 2}, marker={"size": 6, "color": "#999"})
    for mode in dict.fromkeys(r.get("mode") or "—" for r in runs):
        chosen = [r for r in runs if (r.get("mode") or "—") == mode and r.get("arch")]
        figure.add_scatter(
            x=[r["cost"] for r in chosen], y=[_number(r.get("accuracy")) for r in chosen], mode="markers",
            name=f"returned: {MODE_TITLES.get(mode, mode)}",
            marker={"size": MODE_SIZES.get(mode, 15), "color": MODE_COLOURS.get(mode, "#000"),
                    "symbol": MODE_SYMBOLS.get(mode, "x"), "line": {"width": 3, "color": MODE_COLOURS.get(mode, "#000")}},
            customdata=[[r["seed"], r["arch"]] for r in chosen],
            hovertemplate="seed %{customdata[0]}<br>cost %{x:.4g}<br>%{y:.2f}<br>%{customdata[1]}<extra></extra>")
    if limit is not None:
        _limit_line(figure, limit, unit)
    figure.update_layout(xaxis_title=f"cost ({unit})", yaxis_title=value_title, height=480,
                         legend={"orientation": "h", "y": -0.22}, margin={"t": 30})
    return readable(figure)


def front_figure(points: Sequence[Mapping], front: Sequence[Mapping], unit: str, value_title: str,
                 limit: float | None = None) -> go.Figure:
    """One run's evaluated cells (grey) and their Pareto front (line), cost against value."""
    figure = go.Figure()
    figure.add_scatter(x=[p["cost"] for p in points], y=[p["value"] for p in points], mode="markers",
                       name="evaluated", marker={"size": 7, "color": "rgba(0,114,178,0.35)"})
    figure.add_scatter(x=[p["cost"] for p in front], y=[p["value"] for p in front], mode="lines+markers",
                       line_shape="hv", name="Pareto front", line={"color": "#D55E00", "width": 3},
                       marker={"size": 10}, customdata=[[p["arch"]] for p in front],
                       hovertemplate="cost %{x:.4g}<br>%{y:.4g}<br>%{customdata[0]}<extra></extra>")
    if limit is not None:
        _limit_line(figure, limit, unit)
    figure.update_layout(xaxis_title=f"cost ({unit})", yaxis_title=value_title, height=420,
                         legend={"orientation": "h", "y": -0.25}, margin={"t": 30}, title="Cost against value")
    return readable(figure)


def _number(value) -> float:
    return float(value) if value is not None and math.isfinite(float(value)) else math.nan


__all__ = ["MODE_TITLES", "front_figure", "rewards_figure", "tradeoff_figure"]
