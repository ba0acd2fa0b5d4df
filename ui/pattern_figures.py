"""Plotly figures for the Activation Patterns page: binary pattern matrices, the NASWOT
kernel, the per-layer bars and the SWAP saturation plots (Peng et al., ICLR 2024). Plain
functions of numpy arrays and DataFrames from `swap_core.activation_views`; no Streamlit."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

ACTIVE, INACTIVE = "#1f3b73", "#eef1f6"
STANDARD, SAMPLE_WISE = "#d6336c", "#1c7ed6"  # one colour per reading, on every plot
_BINARY = [[0.0, INACTIVE], [0.5, INACTIVE], [0.5, ACTIVE], [1.0, ACTIVE]]


def pattern_heatmap(matrix: np.ndarray, *, title: str, row_title: str, column_title: str,
                    row_labels: Sequence[str], column_labels: Sequence[str], height: int = 420) -> go.Figure:
    """A boolean matrix as dark (active) / light (inactive) cells, one hover label per row
    and column (e.g. 'sample 3', 'unit 1207 · cells.0.edges.1.0')."""
    fig = go.Figure(go.Heatmap(  # categorical axes: hover labels cost one string per row/column, not per cell
        z=matrix.astype(np.uint8), x=list(column_labels), y=list(row_labels), colorscale=_BINARY, zmin=0, zmax=1,
        showscale=False, hovertemplate="%{y}<br>%{x}<br>active: %{z}<extra></extra>",
    ))
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(title=column_title, showticklabels=False, type="category")
    fig.update_yaxes(title=row_title, showticklabels=False, type="category", autorange="reversed")
    return fig


def kernel_heatmap(kernel: np.ndarray, logdet: float, height: int = 420) -> go.Figure:
    """K_H as a heatmap; the title carries log|det K_H|."""
    fig = go.Figure(go.Heatmap(
        z=kernel, colorscale="Viridis", colorbar=dict(title="agreeing<br>units"),
        hovertemplate="samples %{y} and %{x}<br>agree on %{z:,.0f} units<extra></extra>",
    ))
    fig.update_layout(title=f"NASWOT kernel K_H — log|det K_H| = {logdet:,.2f}", height=height,
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(title="sample j", constrain="domain")
    fig.update_yaxes(title="sample i", autorange="reversed", scaleanchor="x", constrain="domain")
    return fig


def layer_bars(table: pd.DataFrame, height: int = 420) -> go.Figure:
    """Distinct sample-wise and standard patterns per ReLU call, with units as a marker."""
    fig = go.Figure([
        go.Bar(x=table["layer"], y=table["sample_wise"], name="distinct sample-wise", marker_color=SAMPLE_WISE),
        go.Bar(x=table["layer"], y=table["standard"], name="distinct standard", marker_color=STANDARD),
        go.Scatter(x=table["layer"], y=table["units"], name="units", mode="markers",
                   marker=dict(symbol="line-ew-open", size=18, color="black")),
    ])
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.08))
    fig.update_yaxes(type="log", title="count (log scale)")
    fig.update_xaxes(title="ReLU call, in forward order", tickangle=-45)
    return fig


def saturation_plot(table: pd.DataFrame, x: str, x_title: str, height: int = 420) -> go.Figure:
    """Distinct standard and sample-wise patterns against `x`, bounds dashed, log y-axis."""
    lines = [("standard", "distinct standard (NASWOT view)", STANDARD, "solid"),
             ("standard_bound", "bound N (batch size)", STANDARD, "dash"),
             ("sample_wise", "distinct sample-wise (SWAP)", SAMPLE_WISE, "solid"),
             ("sample_wise_bound", "bound min(units, 2^N)", SAMPLE_WISE, "dash")]
    fig = go.Figure([
        go.Scatter(x=table[x], y=table[column], name=name, mode="lines+markers",
                   line=dict(color=colour, dash=dash))
        for column, name, colour, dash in lines
    ])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12))
    fig.update_yaxes(type="log", title="count (log scale)")
    fig.update_xaxes(title=x_title, type="log" if x == "batch_size" else "linear",
                     tickvals=list(table[x]))
    return fig
