"""Plotly figures for the Activation Patterns page: binary pattern matrices, the NASWOT
kernel, the per-layer bars and the SWAP saturation plots (Peng et al., ICLR 2024). Plain
functions of numpy arrays and DataFrames from `swap_core.activation_views`; no Streamlit."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.presenter import readable

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
    return readable(fig)


SELECTED = "#f59f00"  # the input and unit picked in either small matrix, outlined in both


def _tick(label: str, copy_of: str | None) -> str:
    return label if copy_of is None else f"{label} <span style='color:{STANDARD}'>= {copy_of}</span>"


def pattern_squares(matrix: np.ndarray, *, title: str, row_labels: Sequence[str], column_labels: Sequence[str],
                    first_copy: Sequence[int], row_title: str, column_title: str, selected_rows=(),
                    selected_columns=(), row_names=None, column_names=None, height: int = 420) -> go.Figure:
    """A small boolean matrix as on/off squares (a scatter, so a click selects a cell and
    Streamlit reports its row and column in `customdata`), a legend for on and off, every row
    labelled and a repeated row labelled "= <its first copy>" and outlined with a dotted line.
    Selected rows and columns are outlined; `row_names`/`column_names` (default: the labels)
    are what the hover says."""
    row_names, column_names = row_names or row_labels, column_names or column_labels  # hover: the long names
    rows, columns = np.nonzero(np.ones_like(matrix, dtype=bool))
    on = matrix[rows, columns].astype(bool)
    # squares that stay apart in a plot as narrow as ~400 px (a 1366×768 laptop's column)
    size = max(6, min(26, int((height - 120) / max(len(row_labels), 1)) - 3, int(400 / len(column_labels)) - 2))
    fig = go.Figure()
    for name, mask, colour in (("on (active, output > 0)", on, ACTIVE), ("off (inactive)", ~on, INACTIVE)):
        fig.add_scatter(x=columns[mask], y=rows[mask], mode="markers", name=name, customdata=np.stack(
            [rows[mask], columns[mask]], axis=1), marker=dict(symbol="square", size=size, color=colour,
                                                              line=dict(color="#adb5bd", width=1)),
            hovertemplate="%{text}<extra></extra>",
            text=[f"{row_names[r]} · {column_names[c]}: {'on' if v else 'off'}"
                  for r, c, v in zip(rows[mask], columns[mask], on[mask])])
    for r, k in enumerate(first_copy):
        if k != r:  # a repeated pattern: a coloured bar through its row
            fig.add_shape(type="rect", x0=-0.6, x1=len(column_labels) - 0.4, y0=r - 0.5, y1=r + 0.5,
                          line=dict(color=STANDARD, width=2, dash="dot"), layer="above")
    for r in selected_rows:
        fig.add_shape(type="rect", x0=-0.6, x1=len(column_labels) - 0.4, y0=r - 0.55, y1=r + 0.55,
                      line=dict(color=SELECTED, width=4), layer="above")
    for c in selected_columns:
        fig.add_shape(type="rect", x0=c - 0.55, x1=c + 0.55, y0=-0.6, y1=len(row_labels) - 0.4,
                      line=dict(color=SELECTED, width=4), layer="above")
    ticks = [_tick(label, None if k == r else row_labels[k]) for r, (label, k) in
             enumerate(zip(row_labels, first_copy))]
    fig.update_layout(title=dict(text=title, y=0.99, yanchor="top"), height=height, font=dict(size=14),
                      margin=dict(l=10, r=10, t=95 if len(column_labels) > 8 else 75, b=10),
                      plot_bgcolor="white", clickmode="event+select", dragmode=False,
                      legend=dict(orientation="h", y=-0.02, yanchor="top"))
    fig.update_xaxes(title=None, side="top", tickvals=list(range(len(column_labels))),
                     ticktext=list(column_labels), range=[-0.7, len(column_labels) - 0.3], showgrid=False,
                     zeroline=False, tickangle=-90 if len(column_labels) > 8 else 0)
    fig.update_yaxes(title=row_title, tickvals=list(range(len(row_labels))), ticktext=ticks,
                     range=[len(row_labels) - 0.3, -0.7], showgrid=False, zeroline=False)
    return readable(fig)


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
    return readable(fig)


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
    return readable(fig)


def saturation_plot(table: pd.DataFrame, x: str, x_title: str, height: int = 420, title: str = "") -> go.Figure:
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
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=100 if title else 30, b=10),
                      legend=dict(orientation="h", y=1.0, yanchor="bottom"), title=dict(text=title, y=0.98))
    fig.update_yaxes(type="log", title="count (log scale)")
    fig.update_xaxes(title=x_title, type="log" if x == "batch_size" else "linear",
                     tickvals=list(table[x]))
    return readable(fig)
