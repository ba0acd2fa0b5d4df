"""Plotly figures shared by the pages: a cell drawn from its `networkx` graph.

Nodes are placed by networkx's multipartite layout (columns from the nodes' `layer`); an edge
is straight unless it would pass over another node, then it curves (alternating sides, longer
hops arching over shorter ones). Edges are coloured and labelled by op, each label placed
along its edge where it overlaps no other label or node at the narrowest width the drawing
is shown (the Cell Designer's left column on a 1366×768 laptop), with an arrowhead at the
receiving node (the geometry, in pixels: ui/cell_layout.py). Large fonts: it is shown on projectors.

Click to edit: given a space's `slot_places`, the drawing carries invisible, selectable
markers (on each edge's label, on each node) whose `customdata` names the slots there, and
draws an edge the graph leaves out (NB201's `none`) faintly so it can be clicked back on;
`slots_at` reads the slots back from a Streamlit selection.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.cell_layout import (LABEL_FONT, NODE_PX, Frame, arrow_ends, curve, edge_bends, label_box, layout_positions,
                            place_labels)
from ui.presenter import FIGURE_FONTS, active, readable

# One colour per op name (colour-blind-safe Okabe–Ito first, then Plotly's palette).
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000",
            "#636EFA", "#EF553B", "#00CC96", "#AB63FA"]
_FIXED = {"none": "#BBBBBB", "concat": "#888888", "projection": "#888888", "": "#888888"}
# Edges that only move tensors (a cell's output concatenation, NB101's input projections, an
# edge with no op because the space puts its ops on the nodes): drawn thin and unlabelled.
_STRUCTURAL = {"concat", "projection", ""}
_NODE_DEFAULT = "#333344"

_SHORT = (("nor_conv_", "conv "), ("skip_connect", "skip"), ("sep_conv_", "sep "), ("dil_conv_", "dil "),
          ("avg_pool_", "avg "), ("max_pool_", "max "), ("3x3", "3×3"), ("5x5", "5×5"), ("1x1", "1×1"))
_MIN_WIDTH_PX = 480  # the narrowest a cell is drawn (the Cell Designer's left column at 1366×768)
_TARGET_HINT = "<br><i>click to change</i>"
_TARGETS = "click to edit"  # the name of a drawing's trace of click targets


def short_op(op: str) -> str:
    """A short label for an edge ("nor_conv_3x3" → "conv 3×3"); legends keep the full name.
    A DARTS input "c_{k-2}" reads c(k-2) in plain-text widgets (Unicode subscripts are too
    small to read from the back of a room)."""
    for long, short in _SHORT:
        op = op.replace(long, short)
    return op.replace("_{", "(").replace("}", ")") if "_{" in op else op


def op_colour(op: str, ops: list[str]) -> str:
    if op in _FIXED:
        return _FIXED[op]
    return _PALETTE[ops.index(op) % len(_PALETTE)] if op in ops else "#444444"


def _darker(colour: str, keep: float = 0.62) -> str:
    """The colour mixed with black: a label in a light op colour (yellow) stays readable."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c * keep):02x}" for c in (red, green, blue))


def _node_text(label: str) -> str:
    """"c_{k-2}" → c<sub>k-2</sub> (Plotly draws a subset of HTML, not TeX)."""
    return label.replace("_{", "<sub>").replace("}", "</sub>") if "_{" in label else label


def slots_at(points: list[dict]) -> tuple[str, ...]:
    """The slot keys a click on a drawing picked: a Streamlit selection's `points` -> the keys
    in the first point's `customdata` ("key|key", as `cell_figure` writes them); () for a point
    that is no click target (or none)."""
    for point in points or ():
        data = point.get("customdata")
        data = data[0] if isinstance(data, (list, tuple)) and data else data
        if isinstance(data, str) and data:
            return tuple(data.split("|"))
    return ()


def figure_slots(figure: go.Figure) -> set[str]:
    """Every slot key a click on `figure` can pick (its click targets' `customdata`)."""
    return {key for trace in figure.data if trace.name == _TARGETS for data in trace.customdata or ()
            for key in str(data).split("|")}


def place_title(place: tuple, graph: nx.DiGraph, slots: list) -> str:
    """What a choice opened by a click says: "Edge in → 2: choose its operation" for an
    edge, the slots' group (or the one slot's label) for a node."""
    def name(node) -> str:
        return short_op(str(graph.nodes[node].get("label", node))) if node in graph else str(node)

    if place[0] == "edge":
        return f"Edge {name(place[1])} → {name(place[2])}: choose its operation"
    groups = {slot.group for slot in slots}
    where = slots[0].label if len(slots) == 1 else slots[0].group if len(groups) == 1 else f"node {name(place[1])}"
    return f"{where[:1].upper()}{where[1:]}: choose"


def _edges_to_draw(graph: nx.DiGraph, places: dict) -> list[tuple]:
    """(u, v, op, ghost): the graph's edges, then the placed edges it leaves out (a `none`)."""
    drawn = [(u, v, data.get("op", ""), False) for u, v, data in graph.edges(data=True)]
    ghosts = dict.fromkeys((p[1], p[2]) for p in places.values() if p[0] == "edge" and not graph.has_edge(p[1], p[2]))
    return drawn + [(u, v, "none", True) for u, v in ghosts if u in graph and v in graph]


def _legend_rows(names: list[str], width: float) -> int:
    return int(np.ceil(sum(7.5 * len(n) + 50 for n in names) / width)) if names else 0


class _Drawing:
    """What a cell figure is made of, collected first: Plotly validates a figure's whole
    annotation list again on every `add_annotation`, so one call at the end is much faster."""

    def __init__(self):
        self.traces: list[go.Scatter] = []
        self.notes: list[dict] = []
        # labels are placed for the size they are drawn at (presenter mode raises it)
        self.font = max(LABEL_FONT, FIGURE_FONTS[active()][0])


def _draw_edges(drawing: _Drawing, edges: list[tuple], paths: dict, frame: Frame, positions: dict,
                ops: list[str]) -> dict:
    """Lines, arrowheads and labels (placed so that none overlaps another or a node); returns
    edge -> its label's (x, y), where a click target goes."""
    nodes_px = [(*frame.px(xy)[0], NODE_PX + 4, NODE_PX + 4) for xy in positions.values()]
    labelled = [e for e in edges if e[2] not in _STRUCTURAL]
    texts = [short_op(op) for _, _, op, _ in labelled]
    paths_px = {(u, v): frame.px(paths[u, v]) for u, v, _, _ in edges}
    spots = place_labels([paths_px[u, v] for u, v, _, _ in labelled], [label_box(t, drawing.font) for t in texts],
                         nodes_px)
    seen: set[str] = set()
    for u, v, op, ghost in edges:
        colour, path = op_colour(op.split(" + ")[0], ops), paths[u, v]
        plain = op in _STRUCTURAL
        drawing.traces.append(go.Scatter(
            x=path[:, 0], y=path[:, 1], mode="lines", hoverinfo="skip", name=op, legendgroup=op,
            line={"color": colour, "width": 2 if plain or ghost else 5, "dash": "dot" if ghost else "solid"},
            showlegend=bool(op) and not ghost and op not in seen))
        seen.add(op)
        if op == "concat" or ghost:
            continue  # the concatenation needs no direction; a missing edge carries nothing
        tip, tail = arrow_ends(paths_px[u, v])
        drawing.notes.append(dict(x=path[tip][0], y=path[tip][1], ax=path[tail][0], ay=path[tail][1], xref="x",
                                  yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2 if plain else 3,
                                  arrowsize=1.2 if plain else 1.4, arrowwidth=1.5 if plain else 2.5,
                                  arrowcolor=colour, text=""))
    labels = {}
    for (u, v, op, ghost), text, spot in zip(labelled, texts, spots):
        x, y = paths[u, v][spot]
        colour = op_colour(op.split(" + ")[0], ops)
        drawing.notes.append(dict(x=x, y=y, text=text, showarrow=False, bgcolor="rgba(255,255,255,0.9)",
                                  font={"size": drawing.font, "color": _darker(colour)}))
        labels[u, v] = (x, y)
    return labels


def _draw_nodes(drawing: _Drawing, graph: nx.DiGraph, positions: dict, ops: list[str]) -> None:
    """The nodes as labelled discs; a node that carries one of the space's ops takes its
    colour (NB101, TransNAS macro), with a legend entry per such op."""
    nodes = list(graph.nodes)
    xy = np.array([positions[n] for n in nodes])
    labels = [str(graph.nodes[n].get("label", n)) for n in nodes]
    visible = [len(label.replace("_{", "").replace("}", "")) for label in labels]
    drawing.traces.append(go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", showlegend=False, hoverinfo="skip",
        text=[_node_text(label) for label in labels],
        textfont={"size": [18 if n <= 3 else 13 if n <= 5 else 11 for n in visible], "color": "white"},
        marker={"size": NODE_PX, "color": [_node_colour(graph.nodes[n], ops) for n in nodes],
                "line": {"color": "white", "width": 2}},
        unselected={"marker": {"opacity": 1}, "textfont": {"color": "white"}}))
    for op in dict.fromkeys(graph.nodes[n].get("op") for n in nodes if graph.nodes[n].get("op") in ops):
        drawing.traces.append(go.Scatter(x=[None], y=[None], mode="markers", name=op, hoverinfo="skip",
                                    marker={"size": 14, "color": op_colour(op, ops)}))


def _draw_targets(drawing: _Drawing, graph: nx.DiGraph, places: dict, positions: dict, labels: dict) -> None:
    """Invisible, selectable markers where a click edits the cell: on an edge's label, on a
    node; `customdata` is the slots there ("key|key"), read back by `slots_at`."""
    keys_at: dict[tuple, list[str]] = {}
    for key, place in places.items():
        keys_at.setdefault(tuple(place), []).append(key)
    x, y, data, hover, sizes = [], [], [], [], []
    for place, keys in keys_at.items():
        name = lambda n: str(graph.nodes[n].get("label", n))  # noqa: E731
        if place[0] == "edge" and (place[1], place[2]) in labels:
            (px, py), size = labels[place[1], place[2]], 34
            op = graph.edges[place[1], place[2]].get("op", "none") if graph.has_edge(place[1], place[2]) else "none"
            text = f"edge {name(place[1])} → {name(place[2])}: {op}"
        elif place[0] == "node" and place[1] in positions:
            op = graph.nodes[place[1]].get("op")
            (px, py), size = positions[place[1]], NODE_PX + 4
            text = f"{name(place[1])}: {op}" if op and op != name(place[1]) else name(place[1])
        else:
            continue
        x.append(px), y.append(py), data.append("|".join(keys)), sizes.append(size)
        hover.append(_node_text(text) + _TARGET_HINT)
    drawing.traces.append(go.Scatter(
        x=x, y=y, mode="markers", customdata=data, hovertext=hover, hoverinfo="text", showlegend=False,
        name=_TARGETS, marker={"size": sizes, "color": "rgba(0,0,0,0)", "symbol": "circle"},
        selected={"marker": {"color": "rgba(0,0,0,0.18)"}}, unselected={"marker": {"opacity": 1}}))


def _node_colour(data: dict, ops: list[str]) -> str:
    """A node that carries one of the space's ops (NB101 puts ops on nodes) takes its colour."""
    return op_colour(data["op"], ops) if data.get("op") in ops else _NODE_DEFAULT


def cell_figure(graph: nx.DiGraph, ops: list[str], title: str = "", height: int | None = None,
                places: dict | None = None) -> go.Figure:
    """Draw a cell graph whose nodes have `label` and whose edges have `op`; with `places`
    (a space's `slot_places`), clickable: see `slots_at`. `height` (px) defaults to what the
    drawing needs at the narrowest width it is shown."""
    places = places or {}
    positions = layout_positions(graph)
    edges = _edges_to_draw(graph, places)
    bends = edge_bends([(u, v) for u, v, _, _ in edges], positions)
    paths = {(u, v): curve(positions[u], positions[v], bends[u, v]) for u, v, _, _ in edges}
    legend = [op for op in dict.fromkeys(op for _, _, op, ghost in edges if op and not ghost)]
    legend += [op for op in dict.fromkeys(d.get("op") for _, d in graph.nodes(data=True)) if op in ops]
    width, top, bottom = _MIN_WIDTH_PX - 20, 40 if title else 10, 10 + 26 * _legend_rows(legend, _MIN_WIDTH_PX)
    points = np.vstack([*paths.values(), *positions.values()])
    if height is None:
        natural = Frame(points, width, 1.0)  # with the height as tall as the x scale makes it
        span = (points[:, 1].max() - points[:, 1].min()) * natural.scale[0] + NODE_PX + 16
        height = int(np.clip(1.35 * span, 150, 380)) + top + bottom
    frame = Frame(points, width, height - top - bottom)
    drawing = _Drawing()
    labels = _draw_edges(drawing, edges, paths, frame, positions, ops)
    _draw_nodes(drawing, graph, positions, ops)
    if places:
        _draw_targets(drawing, graph, places, positions, labels)
    figure = go.Figure(data=drawing.traces)
    figure.update_layout(
        annotations=drawing.notes, title=title, height=height, margin={"l": 10, "r": 10, "t": top, "b": 10}, dragmode=False,
        xaxis={"visible": False, "range": [frame.low[0], frame.high[0]], "fixedrange": True},
        yaxis={"visible": False, "range": [frame.low[1], frame.high[1]], "fixedrange": True},
        plot_bgcolor="white", hovermode="closest", legend={"orientation": "h", "y": -0.02, "yanchor": "top",
                                                           "font": {"size": 14}},
        meta={"label_px": [width, height - top - bottom]})  # the plot area labels were placed for
    return readable(figure)


def cell_figures(graph: nx.DiGraph, ops: list[str], places: dict | None = None) -> list[tuple[str, go.Figure]]:
    """One figure per cell: a graph whose nodes carry a `cell` attribute (DARTS: normal and
    reduce) is split into its cells; otherwise the whole graph is one cell. `places` as for
    `cell_figure` (each cell's figure gets the places on its nodes)."""
    cells = list(dict.fromkeys(data["cell"] for _, data in graph.nodes(data=True) if "cell" in data))
    if not cells:
        return [("cell", cell_figure(graph, ops, places=places))]
    parts = []
    for cell in cells:
        sub = graph.subgraph([n for n, data in graph.nodes(data=True) if data.get("cell") == cell])
        mine = {k: p for k, p in (places or {}).items() if all(n in sub for n in p[1:])}
        parts.append((f"{cell} cell", cell_figure(sub, ops, title=f"{cell} cell", places=mine)))
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
    return readable(figure)
