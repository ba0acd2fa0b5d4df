"""Plotly figures of the SWAP size regulariser (`swap_core.size_regulariser`; Peng et al.,
ICLR 2024): the sizes of a sample with the soft size target f(Θ) = exp(−(Θ − μ)²/σ) drawn
over them, the Spearman ρ of regularised SWAP over a (μ, σ) grid, and SWAP against size.
Θ and μ are in thousands of parameters, as in the paper's code. Large fonts: projectors."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from swap_core.size_regulariser import size_factor
from ui.presenter import readable

FONT = dict(size=15)
TARGET = "#D55E00"  # the size target: curve, μ line, the current point
TOP = "#0072B2"  # the top-10 by regularised SWAP
PICKED = "#E69F00"  # bars picked in the histogram, or the bar of the top-10 row picked
WORSE, WHITE, BETTER = "#B2182B", "#F7F7F7", "#2166AC"  # ρ below, at, above plain SWAP's


def _sigma_label(log_sigma: float) -> str:
    return f"{10 ** log_sigma:.2g}"


def size_histogram(theta_k, mu: float, sigma: float, top_theta_k=(), edges=None, picked_bars=()) -> go.Figure:
    """Histogram of the cells' sizes (thousands of parameters) as bars over `edges`
    (`size_regulariser.size_bins`; trace 0, so a selected bar's point index is its bin),
    `picked_bars` in the highlight colour, f(Θ) on a second y-axis, a line at μ and, under
    the bars, a tick for each cell of the top-10."""
    theta = np.asarray(theta_k, dtype=float)
    theta = theta[np.isfinite(theta)]
    low, high = (float(theta.min()), float(theta.max())) if len(theta) else (0.0, 1.0)
    pad = 0.05 * max(high - low, 1.0)
    xs = np.linspace(min(low, mu) - pad, max(high, mu) + pad, 400)
    edges = np.linspace(low, high if high > low else low + 1, 31) if edges is None else np.asarray(edges)
    counts, _ = np.histogram(theta, edges)
    picked = set(picked_bars)
    figure = go.Figure()
    figure.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges) * 0.95, name="cells",
                   marker_color=[PICKED if i in picked else "#999999" for i in range(len(counts))], opacity=0.8,
                   customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                   selected=dict(marker=dict(opacity=0.8)), unselected=dict(marker=dict(opacity=0.8)),
                   hovertemplate="Θ %{customdata[0]:,.0f}–%{customdata[1]:,.0f} k: %{y} cells<extra></extra>")
    figure.add_scatter(x=xs, y=size_factor(xs, mu, sigma), yaxis="y2", mode="lines", name="f(Θ)",
                       line=dict(color=TARGET, width=3), hovertemplate="Θ %{x:,.0f} k: f = %{y:.3f}<extra></extra>")
    if len(top_theta_k):
        figure.add_scatter(x=list(top_theta_k), y=[0.02] * len(top_theta_k), yaxis="y2", mode="markers",
                           name="top-10", marker=dict(symbol="line-ns-open", size=18, color=TOP, line_width=3),
                           hovertemplate="top-10 cell: %{x:,.0f} k<extra></extra>")
    figure.add_vline(x=mu, line=dict(color=TARGET, dash="dash"), annotation_position="top left",
                     annotation_text=f"μ = {mu:,.0f} k ({mu / 1e3:.2f} M)", annotation_font=FONT)
    figure.update_layout(
        title=f"Sizes of the cells and f(Θ) = exp(−(Θ − μ)²/σ), σ = {sigma:.2g}", font=FONT,
        clickmode="event+select", dragmode="select", selectdirection="h",
        xaxis_title="Θ: parameters of the benchmark network (thousands)", yaxis_title="cells",
        yaxis2=dict(title="f(Θ)", overlaying="y", side="right", range=[0, 1.1], dtick=0.25, showgrid=False),
        legend=dict(orientation="h", y=-0.25), margin=dict(t=60, r=60), height=430)
    return readable(figure)


def around(values: np.ndarray, middle: float) -> list | str:
    """A red–white–blue colour scale with white at `middle` and full colour at both ends of
    `values` (Plotly's zmid would make the range symmetric and wash out the short side)."""
    finite = values[np.isfinite(values)]
    if not len(finite) or not math.isfinite(middle) or finite.max() <= finite.min():
        return "RdBu"
    low, high = float(finite.min()), float(finite.max())
    white = min(max((middle - low) / (high - low), 0.0), 1.0)
    if white in (0.0, 1.0):  # every value on one side of `middle`
        return [[0.0, WORSE], [1.0, WHITE]] if white == 1.0 else [[0.0, WHITE], [1.0, BETTER]]
    return [[0.0, WORSE], [white, WHITE], [1.0, BETTER]]


def rho_heatmap(grid: np.ndarray, mus, sigmas, mu: float, sigma: float, plain_rho: float) -> go.Figure:
    """ρ(regularised SWAP, accuracy) over μ (x) and log10 σ (y), white at plain SWAP's ρ
    (blue: better than plain SWAP, red: worse), with the current (μ, σ) marked."""
    log_sigmas = np.log10(np.asarray(sigmas, dtype=float))
    figure = go.Figure(go.Heatmap(
        z=grid, x=list(mus), y=log_sigmas, colorscale=around(np.asarray(grid, dtype=float), plain_rho),
        colorbar=dict(title="ρ"),
        customdata=np.array([[_sigma_label(s)] * len(mus) for s in log_sigmas]),
        hovertemplate="μ %{x:,.0f} k, σ %{customdata}: ρ = %{z:.3f}<extra></extra>"))
    figure.add_scatter(x=[mu], y=[math.log10(sigma)], mode="markers", name="current μ, σ", showlegend=False,
                       marker=dict(symbol="x-thin-open", size=20, color=TARGET, line_width=4),
                       hovertemplate="current: μ %{x:,.0f} k<extra></extra>")
    ticks = [t for t in range(math.ceil(log_sigmas.min()), math.floor(log_sigmas.max()) + 1)]
    plain = f"{plain_rho:.3f}" if math.isfinite(plain_rho) else "n/a"
    figure.update_layout(
        title=f"Spearman ρ with accuracy over (μ, σ); plain SWAP: {plain}", font=FONT, height=430,
        xaxis_title="μ: target size (thousands of parameters)", margin=dict(t=60),
        yaxis=dict(title="σ (thousands of parameters)², log scale", tickvals=ticks,
                   ticktext=[f"1e{t}" for t in ticks]))
    return readable(figure)


def swap_size_scatter(theta_k, swap, accuracy, top_mask) -> go.Figure:
    """SWAP against size, coloured by accuracy (grey where unknown), the top-10 by
    regularised SWAP ringed: raw SWAP grows with the network."""
    theta, swap, accuracy = (np.asarray(v, dtype=float) for v in (theta_k, swap, accuracy))
    top = np.asarray(top_mask, dtype=bool)
    known = np.isfinite(accuracy)
    marker = dict(size=9, color=accuracy if known.any() else "#777777", colorscale="Viridis",
                  colorbar=dict(title="accuracy") if known.any() else None)
    figure = go.Figure()
    figure.add_scatter(x=theta, y=swap, mode="markers", name="cells", marker=marker,
                       hovertemplate="Θ %{x:,.0f} k, SWAP %{y:,.0f}<extra></extra>")
    figure.add_scatter(x=theta[top], y=swap[top], mode="markers", name="top-10 by regularised SWAP",
                       marker=dict(size=17, symbol="circle-open", color=TOP, line_width=3), hoverinfo="skip")
    figure.update_layout(title="SWAP against size", font=FONT, height=430, margin=dict(t=60),
                         xaxis_title="Θ: parameters of the benchmark network (thousands)", yaxis_title="SWAP",
                         legend=dict(orientation="h", y=-0.25))
    return readable(figure)


__all__ = ["rho_heatmap", "size_histogram", "swap_size_scatter"]
