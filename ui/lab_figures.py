"""Plotly figures of the Proxy Lab: the rank-correlation matrix and proxy-vs-accuracy."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go


def correlation_heatmap(matrix: pd.DataFrame, title: str = "") -> go.Figure:
    """Spearman ρ between every pair of columns, values written in the cells (−1 blue … 1 red)."""
    values = matrix.to_numpy(dtype=float)
    text = np.where(np.isfinite(values), np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(values)), "")
    figure = go.Figure(go.Heatmap(
        z=values, x=list(matrix.columns), y=list(matrix.index), zmin=-1, zmax=1, colorscale="RdBu_r",
        text=text, texttemplate="%{text}", textfont={"size": 13}, colorbar={"title": "ρ"},
        hovertemplate="%{y} vs %{x}: ρ = %{z:.3f}<extra></extra>"))
    figure.update_layout(title=title, height=max(360, 42 * len(matrix) + 120), margin={"l": 10, "r": 10, "t": 50, "b": 10},
                         yaxis={"autorange": "reversed"}, font={"size": 14})
    return figure


def proxy_scatter(table: pd.DataFrame, proxy: str, colour: str, title: str) -> go.Figure:
    """One point per architecture: the proxy's score against accuracy, coloured by size;
    `customdata` carries the architecture string (for selections)."""
    figure = go.Figure(go.Scatter(
        x=table[proxy], y=table["accuracy"], mode="markers", customdata=table["arch"],
        marker={"size": 9, "color": table[colour], "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": colour}, "line": {"width": 0.5, "color": "white"}},
        hovertemplate=f"{proxy} %{{x:.4g}}<br>accuracy %{{y:.2f}} %<br>%{{customdata}}<extra></extra>"))
    figure.update_layout(title=title, xaxis_title=proxy, yaxis_title="accuracy (%)", height=480,
                         margin={"l": 10, "r": 10, "t": 50, "b": 10}, font={"size": 14}, dragmode="lasso")
    return figure
