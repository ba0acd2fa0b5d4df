"""Plotly figures shared by the pages: a cell drawn from its `networkx` graph.

Nodes are placed by networkx's multipartite layout (columns from the nodes' `layer`); edges are drawn as
curves so that an edge skipping over nodes does not hide behind the chain, coloured and
labelled by op, with an arrowhead at the receiving node. Large fonts: it is shown on
projectors.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# One colour per op name (colour-blind-safe Okabe–Ito first, then Plotly's palette).
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000",
            "#636EFA", "#EF553B", "#00CC96", "#AB63FA"]
_FIXED = {"none": "#BBBBBB", "concat": "#888888", "projection": "#888888", "": "#888888"}
# Edges that only move tensors (a cell's output concatenation, NB101's input projections, an
# edge with no op because the space puts its ops on the nodes): drawn thin and unlabelled.
_STRUCTURAL = {"concat", "projection", ""}
_NODE_DEFAULT = "#333344"


_SHORT = (("nor_conv_", "conv "), ("skip_connect", "skip"), ("sep_conv_", "sep "), ("dil_conv_", "dil "),
          ("avg_pool_", "avg pool "), ("max_pool_", "max pool "), ("3x3", "3×3"), ("5x5", "5×5"), ("1x1", "1×1"))


def short_op(op: str) -> str:
    """A short label for an edge ("nor_conv_3x3" → "conv 3×3"); legends keep the full name."""
    for long, short in _SHORT:
        op = op.replace(long, short)
    return op


def op_colour(op: str, ops: list[str]) -> str:
    if op in _FIXED:
        return _FIXED[op]
    return _PALETTE[ops.index(op) % len(_PALETTE)] if op in ops else "#444444"


def layout_positions(graph: nx.DiGraph) -> dict:
    """x = the nodes' `layer` attribute where the space gives one (so a node keeps its place
    when an edit removes an edge), else the topological generation; y spreads each layer."""
    graph = nx.DiGraph(graph)  # a copy: the layer attribute may be filled in below
    if not all("layer" in data for _, data in graph.nodes(data=True)):
        for depth, generation in enumerate(nx.topological_generations(graph)):
            for node in generation:
                graph.nodes[node]["layer"] = depth
    if all("row" in data for _, data in graph.nodes(data=True)):  # the space placed its nodes
        return {node: np.array([data["layer"] * 0.5, data["row"] * 0.5]) for node, data in graph.nodes(data=True)}
    positions = nx.multipartite_layout(graph, subset_key="layer", align="vertical", scale=1.0)
    return {node: np.asarray(xy, dtype=float) for node, xy in positions.items()}


def _curve(start: np.ndarray, end: np.ndarray, bend: float, points: int = 24) -> np.ndarray:
    """A quadratic Bézier from start to end whose middle is pushed sideways by `bend`."""
    middle = (start + end) / 2
    direction = end - start
    normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) or 1.0)
    control = middle + bend * normal
    t = np.linspace(0, 1, points)[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def _bends(graph: nx.DiGraph, positions: dict) -> dict:
    """Straight for neighbouring generations; longer hops curve, alternating sides in order
    of (hops, source) so that edges of equal length sit on opposite sides and longer ones
    arch over shorter ones instead of crossing them."""
    steps = sorted({round(p[0], 6) for p in positions.values()})
    gap = steps[1] - steps[0] if len(steps) > 1 else 1.0

    def hops(edge: tuple) -> int:
        return max(round(abs(positions[edge[1]][0] - positions[edge[0]][0]) / gap), 1)

    bends = {}
    curved = [e for e in graph.edges if hops(e) > 1 or abs(positions[e[1]][1] - positions[e[0]][1]) > 1e-9]
    for number, edge in enumerate(sorted(curved, key=lambda e: (hops(e), positions[e[0]][0]))):
        bends[edge] = (1 if number % 2 == 0 else -1) * 0.22 * gap * hops(edge)
    return {edge: bends.get(edge, 0.0) for edge in graph.edges}


def _node_colour(data: dict, ops: list[str]) -> str:
    """A node that carries one of the space's ops (NB101 puts ops on nodes) takes its colour."""
    return op_colour(data["op"], ops) if data.get("op") in ops else _NODE_DEFAULT


def cell_figure(graph: nx.DiGraph, ops: list[str], title: str = "", height: int = 380) -> go.Figure:
    """Draw a cell graph whose nodes have `label` and whose edges have `op`."""
    positions = layout_positions(graph)
    bends = _bends(graph, positions)
    figure = go.Figure()
    legend_seen: set[str] = set()
    for (u, v), bend in bends.items():
        op = graph.edges[u, v].get("op", "")
        colour = op_colour(op.split(" + ")[0], ops)
        path = _curve(positions[u], positions[v], bend)
        plain = op in _STRUCTURAL
        figure.add_trace(go.Scatter(
            x=path[:, 0], y=path[:, 1], mode="lines", line={"color": colour, "width": 2 if plain else 5},
            name=op, legendgroup=op, showlegend=bool(op) and op not in legend_seen, hoverinfo="text",
            text=f"{graph.nodes[u].get('label', u)} → {graph.nodes[v].get('label', v)}: {op or 'edge'}"))
        legend_seen.add(op)
        if plain:
            if op != "concat":  # NB101: the data flow still needs its direction
                figure.add_annotation(x=path[-4][0], y=path[-4][1], ax=path[-7][0], ay=path[-7][1], xref="x",
                                      yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1.2,
                                      arrowwidth=1.5, arrowcolor=colour, text="")
            continue
        mid = path[len(path) // 2]
        figure.add_annotation(x=mid[0], y=mid[1], text=short_op(op), showarrow=False, font={"size": 15, "color": colour},
                              bgcolor="rgba(255,255,255,0.85)")
        figure.add_annotation(x=path[-5][0], y=path[-5][1], ax=path[-9][0], ay=path[-9][1], xref="x", yref="y",
                              axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.4, arrowwidth=2.5,
                              arrowcolor=colour, text="")
    nodes = list(graph.nodes)
    xy = np.array([positions[n] for n in nodes])
    figure.add_trace(go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", showlegend=False, hoverinfo="skip",
        text=[str(graph.nodes[n].get("label", n)) for n in nodes],
        textfont={"size": [18 if len(str(graph.nodes[n].get("label", n))) <= 3 else 11 for n in nodes],
                  "color": "white"},
        marker={"size": 46, "color": [_node_colour(graph.nodes[n], ops) for n in nodes],
                "line": {"color": "white", "width": 2}}))
    for op in dict.fromkeys(graph.nodes[n].get("op") for n in nodes if graph.nodes[n].get("op") in ops):
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=op, marker={"size": 14,
                                    "color": op_colour(op, ops)}))  # a legend entry per node op
    figure.update_layout(
        title=title, height=height, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x", "scaleratio": 1},
        plot_bgcolor="white", legend={"orientation": "h", "y": -0.05, "font": {"size": 14}})
    return figure


def cell_figures(graph: nx.DiGraph, ops: list[str]) -> list[tuple[str, go.Figure]]:
    """One figure per cell: a graph whose nodes carry a `cell` attribute (DARTS: normal and
    reduce) is split into its cells; otherwise the whole graph is one cell."""
    cells = list(dict.fromkeys(data["cell"] for _, data in graph.nodes(data=True) if "cell" in data))
    if not cells:
        return [("cell", cell_figure(graph, ops))]
    parts = []
    for cell in cells:
        sub = graph.subgraph([n for n, data in graph.nodes(data=True) if data.get("cell") == cell])
        parts.append((f"{cell} cell", cell_figure(sub, ops, title=f"{cell} cell")))
    return parts


# (subplot 1 or 2, column, legend name, scale, style): style "line"; "points" for a column
# measured now and then (its NaN rows dropped, drawn with markers); "faint" for a noisy line.
Curve = tuple[int, str, str, float, str]


def training_figure(frame, curves: list[Curve], titles: tuple[str, str] = ("loss", "accuracy (%)"),
                    x_title: str = "step", legend_y: float = -0.25) -> go.Figure:
    """A live training curve: loss on the left, accuracy on the right, against `frame["step"]`."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=titles)
    for column_index, column, name, scale, style in curves:
        rows = frame.dropna(subset=[column]) if style == "points" else frame
        extra = {"line": {"width": 1}, "opacity": 0.4} if style == "faint" else {}
        figure.add_trace(go.Scatter(x=rows["step"], y=scale * rows[column], name=name,
                                    mode="lines+markers" if style == "points" else "lines", **extra), 1, column_index)
    figure.update_xaxes(title_text=x_title)
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, font={"size": 15},
                         legend={"orientation": "h", "y": legend_y})
    return figure
