"""Plotly figures of linear regions (`swap_core.regions`): region maps, the piecewise-linear
surface of a toy network, the units-flipped map of an image slice, image thumbnails.

Regions get categorical colours: region k has hue frac(k·φ) (φ the golden ratio, so regions
numbered close together — usually neighbours — get far-apart hues) and a saturation and
value that vary too; boundaries are drawn dark.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from swap_core.data import CIFAR10_MEAN, CIFAR10_STD
from swap_core.regions import PlaneRegions, SliceRegions, ToyRegions
from ui.presenter import readable

GOLDEN = 0.6180339887498949
BOUNDARY_RGB = (35, 35, 35)
SATURATION, VALUE = 0.55, 0.92  # of the surface's colours (its scale is one hue circle)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB in [0, 1], shape (..., 3)."""
    sector = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    choices = np.stack([np.stack(c, axis=-1) for c in
                        [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]])
    return np.take_along_axis(choices, sector[None, ..., None], axis=0)[0]


def region_hues(count: int) -> np.ndarray:
    return (np.arange(count) * GOLDEN) % 1.0


def region_rgb(labels: np.ndarray, boundaries: np.ndarray | None = None) -> np.ndarray:
    """(rows, cols, 3) uint8 colours of a label map; boundary pixels dark."""
    k = np.arange(int(labels.max()) + 1 if labels.size else 0)
    saturation = 0.40 + 0.35 * ((k * 0.7548776662) % 1.0)
    value = 0.78 + 0.17 * ((k * 0.5698402910) % 1.0)
    palette = (_hsv_to_rgb(region_hues(len(k)), saturation, value) * 255).astype(np.uint8)
    rgb = palette[labels]
    if boundaries is not None:
        rgb[boundaries] = BOUNDARY_RGB
    return rgb


def _square_axes(fig: go.Figure, names: tuple[str, str]) -> go.Figure:
    fig.update_xaxes(title=names[0], constrain="domain")
    fig.update_yaxes(title=names[1], autorange=True, scaleanchor="x", constrain="domain")
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=480)
    return readable(fig)


def _step(axis: np.ndarray) -> float:
    return float(axis[1] - axis[0]) if len(axis) > 1 else 1.0


def region_map(result: PlaneRegions, title: str, markers: dict[str, tuple[float, float]] | None = None,
               boundaries: bool = True) -> go.Figure:
    """The grid coloured by region (one colour per activation pattern), boundaries dark,
    and labelled markers (e.g. the images x0, x1, x2 of a slice)."""
    rgb = region_rgb(result.labels, result.boundaries if boundaries else None)
    x, y = result.axis_names
    fig = go.Figure(go.Image(z=rgb, x0=float(result.xs[0]), dx=_step(result.xs), y0=float(result.ys[0]),
                             dy=_step(result.ys),
                             hovertemplate=f"{x}=%{{x:.3g}}<br>{y}=%{{y:.3g}}<extra></extra>"))
    _add_markers(fig, markers)
    fig.update_layout(title=title)
    return _square_axes(fig, result.axis_names)


def _add_markers(fig: go.Figure, markers: dict[str, tuple[float, float]] | None) -> None:
    if not markers:
        return
    names = list(markers)
    fig.add_trace(go.Scatter(
        x=[markers[n][0] for n in names], y=[markers[n][1] for n in names], text=names,
        mode="markers+text", textposition="top right", showlegend=False, hoverinfo="text",
        textfont=dict(size=16, color="black"),
        marker=dict(size=12, color="white", line=dict(width=2, color="black"))))


def flips_map(result: SliceRegions, title: str, markers: dict[str, tuple[float, float]] | None = None) -> go.Figure:
    """How many ReLU units are on/off differently from x0, over the slice (Hamming distance
    of codes): a smooth view of the same patterns when every pixel is its own region."""
    fig = go.Figure(go.Heatmap(z=result.flips, x=result.xs, y=result.ys, colorscale="Viridis",
                               colorbar=dict(title="units<br>flipped"),
                               hovertemplate="a=%{x:.3g}<br>b=%{y:.3g}<br>%{z} units flipped<extra></extra>"))
    _add_markers(fig, markers)
    fig.update_layout(title=title)
    return _square_axes(fig, result.axis_names)


def output_surface(result: ToyRegions, max_side: int = 120) -> go.Figure:
    """The toy network's scalar output as a 3-D surface, each flat facet (linear region)
    coloured with its region's hue: a piecewise-linear function, seen whole."""
    step = max(1, -(-len(result.xs) // max_side))
    labels = result.labels[::step, ::step]
    scale = [[h, "rgb({:.0f},{:.0f},{:.0f})".format(*(255 * _hsv_to_rgb(np.array(h), np.array(SATURATION),
                                                                         np.array(VALUE))))]
             for h in np.linspace(0, 1, 13)]
    fig = go.Figure(go.Surface(x=result.xs[::step], y=result.ys[::step], z=result.outputs[::step, ::step],
                               surfacecolor=region_hues(result.count)[labels], colorscale=scale,
                               cmin=0, cmax=1, showscale=False,
                               hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>f=%{z:.3g}<extra></extra>"))
    fig.update_layout(title="Output f(x, y): flat on every region", height=480,
                      margin=dict(l=0, r=0, t=40, b=0),
                      scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title="f"))
    return readable(fig)


def thumbnail(image: torch.Tensor) -> np.ndarray:
    """A normalised C×H×W CIFAR image as H×W×3 floats in [0, 1], for `st.image`."""
    mean = torch.tensor(CIFAR10_MEAN).view(3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(3, 1, 1)
    return (image.cpu() * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()
