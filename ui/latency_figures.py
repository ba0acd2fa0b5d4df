"""Plotly figures of the latency study (`swap_core.latency_command.latency_study`; lookup
tables after ProxylessNAS, Cai et al., ICLR 2019, learned predictors after BRP-NAS, Dudziak et
al., NeurIPS 2020): predicted against measured latency on the held-out cells, and the learning
curve over the number of measured training cells. Only reshaping here: ρ and RMSE come from
the study's records. Large fonts (`readable`): projectors."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from ui.presenter import readable

FONT = {"size": 15}
COLOURS = {"lookup": "#E69F00", "learned": "#0072B2"}  # colour-blind safe (Okabe-Ito)
OTHER = "#009E73"


def _label(name: str, results: Mapping[str, Mapping[str, float]] | None) -> str:
    result = (results or {}).get(name)
    if not result:
        return name
    return f"{name}: ρ {result['spearman']:.3f}, RMSE {result['rmse']:.2f} ms"


def predicted_vs_measured(cells: Sequence[Mapping[str, Any]], predictor_names: Sequence[str],
                          results: Mapping[str, Mapping[str, float]] | None = None) -> go.Figure:
    """One scatter per predictor (its `<name>_ms` column against `measured_ms`) and the y = x
    line; `results` (the study's "predictors" block) puts ρ and RMSE in the legend."""
    figure = go.Figure()
    measured = [float(c["measured_ms"]) for c in cells]
    values = list(measured)
    for name in predictor_names:
        key = f"{name}_ms"
        rows = [c for c in cells if key in c]
        predicted = [float(c[key]) for c in rows]
        values += predicted
        figure.add_scatter(x=[float(c["measured_ms"]) for c in rows], y=predicted, mode="markers",
                           name=_label(name, results), text=[c["arch"] for c in rows],
                           marker={"size": 8, "opacity": 0.7, "color": COLOURS.get(name, OTHER)},
                           hovertemplate="%{text}<br>measured %{x:.2f} ms, predicted %{y:.2f} ms<extra></extra>")
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    figure.add_scatter(x=[low, high], y=[low, high], mode="lines", name="y = x",
                       line={"color": "grey", "dash": "dash"}, hoverinfo="skip")
    figure.update_layout(height=460, margin={"l": 10, "r": 10, "t": 50, "b": 10}, font=FONT, plot_bgcolor="white",
                         title=f"Predicted vs measured latency, {len(cells)} held-out cells",
                         xaxis={"title": "measured (ms)", "gridcolor": "#ddd"},
                         yaxis={"title": "predicted (ms)", "gridcolor": "#ddd"},
                         legend={"orientation": "h", "y": -0.2})
    return readable(figure)


def latency_curve(curve_records: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Spearman ρ (left) and RMSE in ms (right, dotted) on the held-out cells against the number
    of measured training cells (log x), one colour per predictor."""
    figure = go.Figure()
    names = list(dict.fromkeys(r["predictor"] for r in curve_records))
    for name in names:
        rows = sorted((r for r in curve_records if r["predictor"] == name), key=lambda r: r["n"])
        colour = COLOURS.get(name, OTHER)
        figure.add_scatter(x=[r["n"] for r in rows], y=[r["spearman"] for r in rows], mode="lines+markers",
                           name=f"{name} ρ", line={"color": colour})
        figure.add_scatter(x=[r["n"] for r in rows], y=[r["rmse"] for r in rows], mode="lines+markers",
                           name=f"{name} RMSE", yaxis="y2", line={"color": colour, "dash": "dot"})
    figure.update_layout(height=420, margin={"l": 10, "r": 10, "t": 50, "b": 10}, font=FONT, plot_bgcolor="white",
                         title="Learning curve: ρ and RMSE on the held-out cells",
                         xaxis={"title": "training cells measured", "type": "log", "gridcolor": "#ddd"},
                         yaxis={"title": "Spearman ρ", "range": [0, 1], "gridcolor": "#ddd"},
                         yaxis2={"title": "RMSE (ms)", "overlaying": "y", "side": "right", "rangemode": "tozero"},
                         legend={"orientation": "h", "y": -0.25})
    return readable(figure)


__all__ = ["latency_curve", "predicted_vs_measured"]
