"""Plotly figures of the Proxy Lab: the rank-correlation matrix and proxy-vs-accuracy."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.presenter import readable


PICKED = "#E69F00"  # the picked matrix cell and the picked architectures, in every view


def correlation_heatmap(matrix: pd.DataFrame, title: str = "", picked: tuple[str, str] | None = None) -> go.Figure:
    """Spearman ρ between every pair of columns, values written in the cells (−1 blue … 1 red).
    An invisible square marker over each cell makes it clickable (heat maps cannot be
    selected); the `picked` (row, column) pair is outlined."""
    values = matrix.to_numpy(dtype=float)
    text = np.where(np.isfinite(values), np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(values)), "")
    rows, columns = list(matrix.index), list(matrix.columns)
    figure = go.Figure(go.Heatmap(
        z=values, x=columns, y=rows, zmin=-1, zmax=1, colorscale="RdBu_r", hoverinfo="skip",
        text=text, texttemplate="%{text}", textfont={"size": 13}, colorbar={"title": "ρ"}))
    ys, xs = np.meshgrid(np.arange(len(rows)), np.arange(len(columns)), indexing="ij")
    hidden = {"marker": {"opacity": 0}}
    figure.add_scatter(x=[columns[i] for i in xs.ravel()], y=[rows[i] for i in ys.ravel()], mode="markers",
                       customdata=values.ravel(), showlegend=False, selected=hidden, unselected=hidden,
                       marker={"symbol": "square", "size": 30, "opacity": 0},
                       hovertemplate="%{y} vs %{x}: ρ = %{customdata:.3f} (click to compare)<extra></extra>")
    if picked is not None and picked[0] in rows and picked[1] in columns:
        r, c = rows.index(picked[0]), columns.index(picked[1])
        figure.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, xref="x", yref="y",
                         line={"color": PICKED, "width": 5})
    figure.update_layout(title=title, height=max(360, 42 * len(matrix) + 120),
                         margin={"l": 10, "r": 10, "t": 50, "b": 10}, yaxis={"autorange": "reversed"},
                         font={"size": 14}, clickmode="event+select", dragmode=False)
    return readable(figure)


def proxy_scatter(table: pd.DataFrame, proxy: str, colour: str, title: str, picked=()) -> go.Figure:
    """One point per architecture: the proxy's score against accuracy, coloured by size;
    `customdata` carries the architecture string (for selections); `picked` architectures
    (selected here or in the disagreement table) are ringed."""
    figure = go.Figure(go.Scatter(
        x=table[proxy], y=table["accuracy"], mode="markers", customdata=table["arch"],
        marker={"size": 9, "color": table[colour], "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": colour}, "line": {"width": 0.5, "color": "white"}},
        hovertemplate=f"{proxy} %{{x:.4g}}<br>accuracy %{{y:.2f}} %<br>%{{customdata}}<extra></extra>"))
    ringed = table[table["arch"].isin(list(picked))]
    if len(ringed):
        figure.add_scatter(x=ringed[proxy], y=ringed["accuracy"], mode="markers", name="picked", showlegend=False,
                           marker={"size": 18, "symbol": "circle-open", "color": PICKED, "line": {"width": 3}},
                           hoverinfo="skip")
    figure.update_layout(title=title, xaxis_title=proxy, yaxis_title="accuracy (%)", height=480,
                         margin={"l": 10, "r": 10, "t": 50, "b": 10}, font={"size": 14}, dragmode="lasso")
    return readable(figure)
