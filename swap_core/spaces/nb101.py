"""The NAS-Bench-101 search space (Ying et al., "NAS-Bench-101: Towards Reproducible Neural
Architecture Search", ICML 2019).

A cell is a DAG of at most 7 vertices given by an upper-triangular 0/1 adjacency matrix
(row = source, column = target) and one op per vertex: vertex 0 is `input`, the last is
`output`, each interior vertex is conv3x3-bn-relu, conv1x1-bn-relu or maxpool3x3. As the
benchmark's `ModelSpec` does, a cell is *pruned* before use: vertices not on an
input -> output path are dropped; the cell is valid when the input reaches the output and
the pruned cell has at most 9 edges (about 423k distinct cells).

The string form is the one of NAS-Bench-Suite-Zero / NASLib, compact JSON:

    {"matrix":[[0,1,1,1,0,1,0],[0,0,0,0,0,0,1],...],"ops":["input","conv1x1-bn-relu",...,"output"]}

The stored form is **not** pruned: like NASLib's sampler, the data files keep the raw
7-vertex matrices (with dangling vertices, up to 16 edges before pruning), and
`from_str(s).to_str() == s` for every file string. `NB101Arch.pruned()` is the cell the
network is built from, and so the identity of the network. Search operations and the
editor work on the full 7-vertex matrix (a smaller one is first padded with unused vertices
before the output). The network lives in `nb101_net.py`.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch.nn as nn

from .base import EditSlot, NetworkConfig, SearchSpace, dataset_classes, quote
from .naslib import ZeroCostTables, naslib_ints
from .nb101_net import NB101Network
from .registry import register_space

OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_VERTICES = 7
MAX_EDGES = 9
EXPECTED_FORM = '{"matrix":[[0,1,...],...],"ops":["input","conv3x3-bn-relu",...,"output"]}'
SHORT = {"input": "in", "output": "out", "conv3x3-bn-relu": "conv 3×3", "conv1x1-bn-relu": "conv 1×1",
         "maxpool3x3": "max pool"}
# (stem channels, cells per stack) of each network preset; both have 3 stacks.
PRESETS = {"benchmark": (128, 3), "teaching": (16, 1)}
STACKS = 3
NASLIB_OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")  # NASLib all_ops


def _error(problem: str) -> ValueError:
    return ValueError(
        f"invalid NAS-Bench-101 architecture: {problem}. Expected JSON of the form {EXPECTED_FORM}: "
        f"a square upper-triangular 0/1 matrix of 2..{MAX_VERTICES} vertices (row = source), ops 'input', "
        f"then one of {', '.join(OPS)} per interior vertex, then 'output'; the input must reach the "
        f"output and the pruned cell may have at most {MAX_EDGES} edges"
    )


def _reachable(matrix: tuple, start: int, forward: bool) -> set[int]:
    """Vertices reachable from `start` along (forward) or against (backward) the edges."""
    n, seen, stack = len(matrix), {start}, [start]
    while stack:
        v = stack.pop()
        for w in range(n):
            edge = matrix[v][w] if forward else matrix[w][v]
            if edge and w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


@dataclass(frozen=True)
class NB101Arch:
    """A NAS-Bench-101 cell as stored (possibly unpruned): adjacency matrix and vertex ops."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        try:  # accept lists / numpy arrays, store hashable tuples
            object.__setattr__(self, "matrix", tuple(tuple(row) for row in self.matrix))
            object.__setattr__(self, "ops", tuple(self.ops))
        except TypeError as exc:
            raise _error(f"the matrix must be a list of rows of 0/1 ({exc})") from None
        self._check_shape()
        object.__setattr__(self, "matrix", tuple(tuple(int(v) for v in row) for row in self.matrix))
        self._check_ops()
        kept = self.kept_vertices()
        edges = sum(self.matrix[u][v] for u in kept for v in kept)
        if edges > MAX_EDGES:
            raise _error(f"the pruned cell has {edges} edges, more than {MAX_EDGES}")

    def _check_shape(self) -> None:
        n = len(self.matrix)
        if not 2 <= n <= MAX_VERTICES:
            raise _error(f"the matrix has {n} vertices, expected 2..{MAX_VERTICES}")
        for i, row in enumerate(self.matrix):
            if len(row) != n:
                raise _error(f"the matrix is not square: row {i} has {len(row)} entries, expected {n}")
            if any(v not in (0, 1) for v in row):
                raise _error(f"row {i} {quote(list(row))} has entries other than 0 and 1")
            if any(row[: i + 1]):
                raise _error(f"the matrix is not upper-triangular: row {i} has an edge to vertex <= {i}")

    def _check_ops(self) -> None:
        n = len(self.matrix)
        if len(self.ops) != n:
            raise _error(f"{len(self.ops)} ops for a matrix of {n} vertices")
        if self.ops[0] != "input" or self.ops[-1] != "output":
            raise _error(f"the first op must be 'input' and the last 'output', "
                         f"got {quote(self.ops[0])} and {quote(self.ops[-1])}")
        unknown = [op for op in self.ops[1:-1] if op not in OPS]
        if unknown:
            raise _error(f"unknown interior op(s) {quote(unknown)}")

    def kept_vertices(self) -> list[int]:
        """Vertices on an input -> output path (what pruning keeps), in order."""
        n = len(self.matrix)
        from_input = _reachable(self.matrix, 0, forward=True)
        if n - 1 not in from_input:
            raise _error("the input is not connected to the output")
        to_output = _reachable(self.matrix, n - 1, forward=False)
        return sorted(from_input & to_output)

    def pruned(self) -> "NB101Arch":
        """The cell without vertices off every input -> output path (ModelSpec's pruning)."""
        kept = self.kept_vertices()
        if len(kept) == len(self.matrix):
            return self
        return NB101Arch(tuple(tuple(self.matrix[u][v] for v in kept) for u in kept),
                         tuple(self.ops[v] for v in kept))

    @property
    def num_edges(self) -> int:
        """Edges of the pruned cell (the benchmark's limit of 9 applies to these)."""
        return sum(map(sum, self.pruned().matrix))

    def padded(self, vertices: int = MAX_VERTICES) -> "NB101Arch":
        """The same cell with unused conv3x3 vertices inserted before the output."""
        n = len(self.matrix)
        extra = vertices - n
        if extra <= 0:
            return self
        rows = [list(row[:-1]) + [0] * extra + [row[-1]] for row in self.matrix]
        rows[-1:-1] = [[0] * vertices for _ in range(extra)]
        return NB101Arch(tuple(map(tuple, rows)), self.ops[:-1] + (OPS[0],) * extra + ("output",))

    def to_str(self) -> str:
        return json.dumps({"matrix": [list(row) for row in self.matrix], "ops": list(self.ops)},
                          separators=(",", ":"))

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def from_str(cls, text: str) -> "NB101Arch":
        """Parse the JSON form (any JSON spacing); never evaluates code."""
        if not isinstance(text, str):
            raise _error(f"expected a str, got {type(text).__name__}")
        if not text.strip():
            raise _error("the string is empty")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _error(f"not JSON ({exc.msg} at position {exc.pos})") from None
        except ValueError:  # a number of thousands of digits (Python's int-conversion limit)
            raise _error("a number in it has too many digits") from None
        if not isinstance(data, dict) or set(data) != {"matrix", "ops"}:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise _error(f"expected an object with exactly the keys 'matrix' and 'ops', got {found}")
        matrix, ops = data["matrix"], data["ops"]
        if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
            raise _error("'matrix' must be a list of rows (lists)")
        if any(type(v) is not int for row in matrix for v in row):
            raise _error("matrix entries must be the integers 0 or 1")
        if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
            raise _error("'ops' must be a list of op names (strings)")
        return cls(matrix, ops)


def _with_entry(arch: NB101Arch, src: int, dst: int, value: int) -> NB101Arch:
    rows = [list(row) for row in arch.matrix]
    rows[src][dst] = value
    return NB101Arch(tuple(map(tuple, rows)), arch.ops)


def _with_op(arch: NB101Arch, vertex: int, op: str) -> NB101Arch:
    return NB101Arch(arch.matrix, arch.ops[:vertex] + (op,) + arch.ops[vertex + 1:])


def _one_step_changes(arch: NB101Arch) -> list[tuple[str, Any]]:
    """(slot key, new value) of every single edge flip and op change of `arch`."""
    n = len(arch.matrix)
    flips = [(f"edge:{u}-{v}", 1 - arch.matrix[u][v]) for u in range(n) for v in range(u + 1, n)]
    op_changes = [(f"op:{v}", op) for v in range(1, n - 1) for op in OPS if op != arch.ops[v]]
    return flips + op_changes


def _apply(arch: NB101Arch, key: str, value: Any) -> NB101Arch:
    """`arch` with one slot changed; ValueError (saying why) if the result is invalid."""
    kind, _, where = key.partition(":")
    if kind == "edge":
        src, dst = (int(part) for part in where.split("-"))
        return _with_entry(arch, src, dst, value)
    return _with_op(arch, int(where), value)


def _as_arch(arch: NB101Arch | str) -> NB101Arch:
    return arch if isinstance(arch, NB101Arch) else NB101Arch.from_str(arch)


def _cell(matrix: list[list[int]], ops: list[str]) -> str:
    return NB101Arch(matrix, ["input", *ops, "output"]).to_str()


def _chain(ops: list[str], skip: bool) -> str:
    """input -> ops... -> output, plus input -> output when `skip`."""
    n = len(ops) + 2
    rows = [[1 if v == u + 1 or (skip and u == 0 and v == n - 1) else 0 for v in range(n)] for u in range(n)]
    return _cell(rows, ops)


# The Inception-like cell of the NAS-Bench-101 README (5x5 conv as two 3x3 convs);
# the benchmark lists 2,694,282 trainable parameters for it.
EXAMPLE = _cell([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                 [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0] * 7],
                ["conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3"])


@register_space
class NB101Space(SearchSpace):
    """NAS-Bench-101: cells of up to 7 vertices and 9 edges, in a 3-stack network."""

    name = "nb101"
    title = "NAS-Bench-101"
    example = EXAMPLE
    datasets = ("cifar10",)
    presets = ("benchmark", "teaching")
    finite = False  # ~423k distinct cells: sample, do not enumerate
    ops = OPS
    named_archs = {
        "Inception-like (NB101 README)": EXAMPLE,
        # A ResNet basic block: two 3x3 convs plus the (projected) identity shortcut.
        "ResNet-like": _chain(["conv3x3-bn-relu", "conv3x3-bn-relu"], skip=True),
        "deep chain of 5 conv 3x3": _chain(["conv3x3-bn-relu"] * 5, skip=False),
        "wide: 4 parallel branches": _cell(
            [[0, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1],
             [0, 0, 0, 0, 0, 1], [0] * 6],
            ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu"]),
        "pooling only": _chain(["maxpool3x3", "maxpool3x3"], skip=True),
    }
    zero_cost = ZeroCostTables("nb101", ("cifar10",), "zc_nasbench101",
        "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2")

    def naslib_key_to_arch(self, key: str) -> str:
        """NASLib's key is the flattened n×n adjacency matrix, then n op indices."""
        v = naslib_ints(key, None, 5)
        n = int(round((-1 + (1 + 4 * len(v)) ** 0.5) / 2))
        if n * n + n != len(v):
            raise ValueError(f"unexpected NASLib nb101 key {key!r}: length {len(v)} is not n*n+n")
        matrix = [v[r * n:(r + 1) * n] for r in range(n)]
        return json.dumps({"matrix": matrix, "ops": [NASLIB_OPS[i] for i in v[n * n:]]}, separators=(",", ":"))

    # --- strings -------------------------------------------------------------------
    def from_str(self, text: str) -> NB101Arch:
        return NB101Arch.from_str(text)

    # --- search operations ---------------------------------------------------------
    def sample(self, rng: random.Random) -> NB101Arch:
        """As NAS-Bench-101's random sampler: every upper-triangle entry of a 7x7 matrix on
        with probability 1/2, interior ops uniform; redrawn until the cell is valid."""
        n = MAX_VERTICES
        while True:
            matrix = [[int(v > u and rng.random() < 0.5) for v in range(n)] for u in range(n)]
            ops = ["input", *(rng.choice(OPS) for _ in range(n - 2)), "output"]
            try:
                return NB101Arch(matrix, ops)
            except ValueError:
                continue

    def neighbours(self, arch: NB101Arch | str) -> list[NB101Arch]:
        """Every valid cell one edge flip or one op change away (on the 7-vertex form) whose
        pruned cell differs, i.e. whose network changes. Only when no such change exists
        (a bare input -> output cell) are changes to unused vertices returned instead."""
        full = _as_arch(arch).padded()
        valid = []
        for key, value in _one_step_changes(full):
            try:
                valid.append(_apply(full, key, value))
            except ValueError:
                continue
        network = full.pruned()
        changed = [child for child in valid if child.pruned() != network]
        return changed or valid

    def mutate(self, arch: NB101Arch | str, rng: random.Random) -> NB101Arch:
        """One of `neighbours(arch)`, uniformly: a single edge flip or op change. (Trying
        the changes in random order gives the same distribution without building them all.)"""
        full = _as_arch(arch).padded()
        changes = _one_step_changes(full)
        rng.shuffle(changes)
        network = full.pruned()
        for key, value in changes:
            try:
                child = _apply(full, key, value)
            except ValueError:
                continue
            if child.pruned() != network:
                return child
        return rng.choice(self.neighbours(full))  # only a bare input -> output cell gets here

    def crossover(self, a: NB101Arch | str, b: NB101Arch | str, rng: random.Random,
                  tries: int = 100) -> NB101Arch:
        """Uniform crossover on the 7-vertex forms: every matrix entry and interior op from
        either parent; redrawn until valid (at most `tries` times, then a parent)."""
        pa, pb = _as_arch(a).padded(), _as_arch(b).padded()
        n = MAX_VERTICES
        for _ in range(tries):
            matrix = [[rng.choice((pa.matrix[u][v], pb.matrix[u][v])) for v in range(n)] for u in range(n)]
            ops = [rng.choice(pair) for pair in zip(pa.ops, pb.ops)]
            try:
                return NB101Arch(matrix, ops)
            except ValueError:
                continue
        return rng.choice((pa, pb))

    # --- editing -------------------------------------------------------------------
    def edit_slots(self, arch: NB101Arch | str) -> list[EditSlot]:
        """On the 7-vertex form: per target vertex, its op ("op:v", interior vertices)
        and one on/off slot per possible input edge ("edge:u-v")."""
        full = _as_arch(arch).padded()
        n = len(full.matrix)
        name = {0: "in", n - 1: "out"}
        slots = []
        for v in range(1, n):
            group = f"vertex {name.get(v, v)}"
            if v < n - 1:
                slots.append(EditSlot(f"op:{v}", group, "op", OPS, full.ops[v], tuple(SHORT[op] for op in OPS)))
            for u in range(v):
                slots.append(EditSlot(f"edge:{u}-{v}", group, f"edge {name.get(v, v)} ← {name.get(u, u)}",
                                      (0, 1), full.matrix[u][v], ("off", "on")))
        return slots

    def with_slot(self, arch: NB101Arch | str, key: str, value: Any) -> NB101Arch:
        """`arch` (as its 7-vertex form) with slot `key` set; ValueError when the key or
        value is unknown or the resulting cell would be invalid (disconnected, > 9 edges)."""
        full = _as_arch(arch).padded()
        slots = {slot.key: slot for slot in self.edit_slots(full)}
        if key not in slots:
            raise ValueError(f"unknown NAS-Bench-101 slot {key!r}; "
                             "expected 'op:<1-5>' or 'edge:<u>-<v>' with u < v <= 6")
        if value not in slots[key].options:
            raise ValueError(f"invalid value {value!r} for slot {key!r}; expected one of {list(slots[key].options)}")
        try:
            return _apply(full, key, int(value) if key.startswith("edge") else value)
        except ValueError as exc:
            raise ValueError(f"cannot set {key} to {value!r}: {exc}") from None

    def slot_places(self, arch: NB101Arch | str) -> dict[str, tuple]:
        """A vertex's op and its input edges sit on the vertex, for the vertices the drawing
        shows (the pruned cell; `edit_slots` numbers them in the 7-vertex form)."""
        arch = _as_arch(arch)
        last, drawn = len(arch.matrix) - 1, set(arch.kept_vertices())
        places = {}
        for slot in self.edit_slots(arch):
            target = int(slot.key.split(":")[1].split("-")[-1])  # "op:v" or "edge:u-v"
            vertex = last if target == MAX_VERTICES - 1 else target if target < last else None
            if vertex in drawn:
                places[slot.key] = ("node", vertex)
        return places

    # --- drawing and building ------------------------------------------------------
    def graph(self, arch: NB101Arch | str) -> nx.DiGraph:
        """The pruned cell (what the network computes) as a DiGraph. Nodes keep their
        vertex numbers and have `op`, `label` (short op name), `kind` (input / intermediate /
        output) and `layer` (longest-path depth from the input, the drawing column). Edges
        out of the input have op 'projection' (the network's 1x1 conv-BN-ReLU to the target's
        width; into the output it is added to the concatenation), other edges into the output
        'concat'; edges between interior vertices carry no op (their values are summed,
        truncated to the target's width). Graph attributes: `arch` (the string) and
        `removed` (vertices dropped by pruning)."""
        arch = _as_arch(arch)
        kept = arch.kept_vertices()
        n = len(arch.matrix)
        g = nx.DiGraph(arch=arch.to_str(), removed=tuple(v for v in range(n) if v not in kept))
        layer = {0: 0}
        for v in kept[1:]:
            layer[v] = max(layer[u] + 1 for u in kept if u < v and arch.matrix[u][v])
        for v in kept:
            kind = "input" if v == 0 else "output" if v == n - 1 else "intermediate"
            g.add_node(v, op=arch.ops[v], label=SHORT[arch.ops[v]], kind=kind, layer=layer[v])
        for u in kept:
            for v in kept:
                if arch.matrix[u][v]:
                    op = "projection" if u == 0 else "concat" if v == n - 1 else None
                    g.add_edge(u, v, **({"op": op} if op else {}))
        return g

    def config(self, preset: str = "benchmark", dataset: str = "cifar10", **overrides: Any) -> NetworkConfig:
        """benchmark: stem 128 channels, 3 stacks x 3 cells (the published network);
        teaching: stem 16 channels, 3 stacks x 1 cell. Extra option: stacks (default 3)."""
        if preset not in PRESETS:
            raise self._unknown_preset(preset)
        if dataset not in self.datasets:
            raise ValueError(f"NAS-Bench-101 is benchmarked on {list(self.datasets)} only, got {dataset!r}")
        channels, cells = PRESETS[preset]
        config = NetworkConfig(preset=preset, channels=channels, cells=cells, num_classes=dataset_classes(dataset),
                               extra=(("stacks", STACKS),))
        return config.with_options(**overrides) if overrides else config

    def build(self, arch: NB101Arch | str, config: NetworkConfig | None = None) -> nn.Module:
        """The NAS-Bench-101 network of the pruned cell; forward(x) returns the logits."""
        cell = _as_arch(arch).pruned()
        config = config or self.config()
        stacks = config.get("stacks", STACKS)
        if min(config.channels, config.cells, config.num_classes, stacks) < 1:
            raise ValueError(f"channels, cells, num_classes and stacks must be positive, got {config}")
        return NB101Network(cell.matrix, cell.ops, config.channels, config.cells, config.num_classes,
                            stacks=stacks, stem=config.stem)


__all__ = ["EXAMPLE", "EXPECTED_FORM", "MAX_EDGES", "MAX_VERTICES", "NASLIB_OPS", "OPS", "NB101Arch", "NB101Space"]
