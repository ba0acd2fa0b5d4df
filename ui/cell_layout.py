"""Geometry of a cell drawing (ui/figures.py), in pixels as the reader sees it: where nodes
go, which edges curve and how, and where each edge's label sits so that no two labels and no
label and node overlap. Pure functions of numbers, no Plotly."""
from __future__ import annotations

import networkx as nx
import numpy as np

NODE_PX = 46  # node marker diameter
LABEL_FONT = 14  # edge label font size (px) outside presenter mode
_TRIES = (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78)  # where along its edge a label may sit, in this order


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


def curve(start: np.ndarray, end: np.ndarray, bend: float, points: int = 41) -> np.ndarray:
    """A quadratic Bézier from start to end whose middle is pushed sideways by `bend`."""
    middle = (start + end) / 2
    direction = end - start
    normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) or 1.0)
    control = middle + bend * normal
    t = np.linspace(0, 1, points)[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def _blocking_side(edge: tuple, positions: dict, clearance: float) -> float | None:
    """None when the straight segment of `edge` clears every other node by `clearance`; else
    the side of the nearest node it passes (+1 left of its direction, -1 right, 0 on it)."""
    start, end = positions[edge[0]], positions[edge[1]]
    direction = end - start
    length2 = float(direction @ direction) or 1.0
    nearest, side = clearance, None
    for node, xy in positions.items():
        if node in edge:
            continue
        t = float(np.clip((xy - start) @ direction / length2, 0, 1))
        distance = float(np.linalg.norm(start + t * direction - xy))
        if distance < nearest:
            cross = direction[0] * (xy - start)[1] - direction[1] * (xy - start)[0]
            nearest, side = distance, 0.0 if distance < 1e-6 else float(np.sign(cross))
    return side


def edge_bends(edges: list[tuple], positions: dict) -> dict:
    """Straight unless the edge would pass over another node. Such an edge curves away from
    that node; one running through nodes in line with it arches, alternating sides in order of
    (hops, source), so that edges of equal length sit on opposite sides and longer ones arch
    over shorter ones instead of crossing them."""
    steps = sorted({round(p[0], 6) for p in positions.values()})
    gap = steps[1] - steps[0] if len(steps) > 1 else 1.0

    def hops(edge: tuple) -> int:
        return max(round(abs(positions[edge[1]][0] - positions[edge[0]][0]) / gap), 1)

    sides = {e: _blocking_side(e, positions, 0.3 * gap) for e in edges}
    in_line = sorted((e for e in edges if sides[e] == 0), key=lambda e: (hops(e), positions[e[0]][0]))
    bends = {e: (1 if number % 2 == 0 else -1) * 0.5 * gap * hops(e) for number, e in enumerate(in_line)}
    bends.update({e: -side * 0.3 * gap * hops(e) for e, side in sides.items() if side})
    return {edge: bends.get(edge, 0.0) for edge in edges}


class Frame:
    """The axes' ranges, and pixels of a drawing `width` × `height` px (plot area) for them:
    labels are placed in pixels, as the reader sees them."""

    def __init__(self, points: np.ndarray, width: float, height: float, pad: float = NODE_PX / 2 + 8):
        low, high = points.min(axis=0), points.max(axis=0)
        span = np.maximum(high - low, 1e-9)
        self.scale = np.array([max(width - 2 * pad, 1) / span[0], max(height - 2 * pad, 1) / span[1]])
        if high[1] - low[1] < 1e-9:  # one row of nodes: a band as tall as the nodes
            self.scale[1] = self.scale[0]
        self.low = low - pad / self.scale
        self.high = high + pad / self.scale

    def px(self, points: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(points) - self.low) * self.scale


def overlap(a: tuple, b: tuple) -> float:
    """Overlapping area of two boxes (centre x, centre y, width, height)."""
    dx = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
    dy = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
    return max(dx, 0.0) * max(dy, 0.0)


def label_box(text: str, font: int = LABEL_FONT) -> tuple[float, float]:
    """About how many pixels a label takes (width, height) at `font` px, its padding included."""
    return 0.56 * font * len(text) + 8, font + 8


def place_labels(paths_px: list[np.ndarray], sizes: list[tuple], obstacles: list[tuple]) -> list[int]:
    """For each path (pixel points along an edge), the index of the point its label of `sizes`
    (width, height) sits on: the first of `_TRIES` that overlaps no obstacle (boxes: centre
    x, y, width, height; the nodes) and no label placed before, else the least overlapping.
    Shorter edges choose first: they have the fewest places."""
    placed: list[tuple] = list(obstacles)
    chosen = [0] * len(paths_px)
    for i in sorted(range(len(paths_px)), key=lambda k: np.linalg.norm(np.diff(paths_px[k], axis=0), axis=1).sum()):
        path, (width, height) = paths_px[i], sizes[i]
        best, best_cost = None, np.inf
        for t in _TRIES:
            index = round(t * (len(path) - 1))
            box = (path[index][0], path[index][1], width, height)
            cost = sum(overlap(box, other) for other in placed)
            if cost < best_cost:
                best, best_cost = (index, box), cost
            if cost == 0:
                break
        chosen[i] = best[0]
        placed.append(best[1])
    return chosen


def arrow_ends(path_px: np.ndarray) -> tuple[int, int]:
    """Indices of an arrowhead's tip (just outside the receiving node) and tail on a path."""
    distance = np.linalg.norm(path_px - path_px[-1], axis=1)
    tip = int(np.nonzero(distance >= NODE_PX / 2 + 3)[0][-1]) if (distance >= NODE_PX / 2 + 3).any() else 0
    tail = np.nonzero(distance >= NODE_PX / 2 + 22)[0]
    return tip, int(tail[-1]) if len(tail) else 0
