"""The TransNAS-Bench-101 micro (cell-level) search space (Duan et al., "TransNAS-Bench-101:
Improving Transferability and Generalizability of Cross-Task Neural Architecture Search",
CVPR 2021).

A cell is a DAG on four nodes (0 = input, 3 = output) like NAS-Bench-201's: node j sums one
op per earlier node, ops 0 none, 1 skip connection, 2 ReLU-conv 1x1-BN, 3 ReLU-conv 3x3-BN,
so the space holds 4**6 = 4,096 cells. The string form is the benchmark's own: base
channels, the fixed skeleton 41414, then the ops of nodes 1 | 2 | 3 joined by `_`:

    64-41414-3_13_023    (node1 <- 0 | node2 <- 0,1 | node3 <- 0,1,2)

The network is `tnb101.Encoder` with this cell as its block (two cells per stage) and the
task's head. When a cell changes width or resolution its edges out of node 0 carry the
stride and width change (skip becomes a factorized reduction, see `tnb101`).
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch.nn as nn

from .base import EditSlot, quote
from .naslib import naslib_ints
from .nb201 import NODE_LABELS
from .nb201_net import EDGES, EdgeCell
from .registry import register_space
from .tnb101 import FactorizedReduce, ReLUConvBN, TransNASSpace, Zero, zero_cost_tables

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")  # string digits 0..3
PREFIX = "64-41414-"  # base channels and macro skeleton, fixed in the micro space
SKELETON = (4, 1, 4, 1, 4)
EXAMPLE = "64-41414-3_13_023"
EXPECTED_FORM = (f"'64-41414-a_bc_def' with one op digit per edge (node1 <- 0 | node2 <- 0,1 | node3 <- 0,1,2; "
                 f"0 none, 1 skip, 2 conv1x1, 3 conv3x3), e.g. {EXAMPLE}")


def _error(text: object, problem: str) -> ValueError:
    return ValueError(f"invalid TransNAS-Bench-101 micro architecture {quote(text)}: {problem}. Expected {EXPECTED_FORM}")


@dataclass(frozen=True)
class MicroArch:
    """A micro cell: the op digit (0..3) of each edge, in string order (see `EDGES`)."""

    cell: tuple[int, ...]

    def __post_init__(self) -> None:
        if isinstance(self.cell, list):
            object.__setattr__(self, "cell", tuple(self.cell))
        if (not isinstance(self.cell, tuple) or len(self.cell) != len(EDGES)
                or any(type(op) is not int or not 0 <= op < len(OPS) for op in self.cell)):
            raise ValueError(f"a MicroArch needs {len(EDGES)} op digits 0..{len(OPS) - 1}, got {self.cell!r}")

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(OPS[op] for op in self.cell)

    def to_str(self) -> str:
        digits = "".join(str(op) for op in self.cell)
        return f"{PREFIX}{digits[0]}_{digits[1:3]}_{digits[3:]}"

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def from_str(cls, text: str) -> "MicroArch":
        """Parse `64-41414-a_bc_def` (surrounding whitespace is ignored)."""
        if not isinstance(text, str):
            raise _error(text, f"expected a str, got {type(text).__name__}")
        parts = text.strip().split("-")
        if len(parts) != 3 or not all(parts):
            raise _error(text, "expected three '-'-separated parts: base channels, skeleton, cell")
        if parts[0] != "64" or parts[1] != "41414":
            raise _error(text, f"the micro space fixes base channels and skeleton to {PREFIX[:-1]!r}, "
                               f"got {quote(parts[0] + '-' + parts[1])} (skeletons are the macro space's)")
        groups = parts[2].split("_")
        if [len(group) for group in groups] != [1, 2, 3]:
            raise _error(text, f"cell {quote(parts[2])} must have node groups of 1, 2 and 3 digits joined by '_'")
        digits = "".join(groups)
        bad = sorted({d for d in digits if d not in "0123"})
        if bad:
            raise _error(text, f"unknown op digit(s) {bad} in cell {quote(parts[2])}")
        return cls(tuple(int(d) for d in digits))


def _as_arch(arch: MicroArch | str) -> MicroArch:
    return arch if isinstance(arch, MicroArch) else MicroArch.from_str(arch)


def _with_op(arch: MicroArch, edge: int, op: int) -> MicroArch:
    cell = list(arch.cell)
    cell[edge] = op
    return MicroArch(tuple(cell))


def _op_index(value: Any) -> int:
    """An op given by name ("nor_conv_3x3") or digit (3 or "3")."""
    if value in OPS:
        return OPS.index(value)
    if str(value) in ("0", "1", "2", "3"):
        return int(value)
    raise ValueError(f"unknown TransNAS-Bench-101 micro op {value!r}; expected one of {list(OPS)} or a digit 0-3")


# --- network ---------------------------------------------------------------------------
def make_op(op: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    """The op of digit `op` (0 none, 1 skip, 2 conv 1x1, 3 conv 3x3) from c_in to c_out channels."""
    if op == 0:
        return Zero(c_out, stride)
    if op == 1:
        return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, stride)
    return ReLUConvBN(c_in, c_out, 1 if op == 2 else 3, stride)


class MicroCell(EdgeCell):
    """Node j = sum over i < j of op_{j<-i}(node i); edges out of node 0 change width/stride."""

    def __init__(self, cell: tuple[int, ...], c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            make_op(op, c_in, c_out, stride) if src == 0 else make_op(op, c_out, c_out, 1)
            for op, (src, _) in zip(cell, EDGES)
        )


@register_space
class TNB101MicroSpace(TransNASSpace):
    """TransNAS-Bench-101 micro: 4,096 cells in the 64-41414 skeleton, 7 Taskonomy tasks."""

    name = "tnb101_micro"
    title = "TransNAS-Bench-101 micro (cell)"
    example = EXAMPLE
    zero_cost = zero_cost_tables("tnb101_micro",
        "f9f2c5d6d9b9a73964f1bffb2869f218e1110755d84ddd4a46a8cf482f799cd1")
    ops = OPS
    named_archs = {
        # NAS-Bench-201's ResNet block written as a micro cell: conv, conv, plus identity.
        "ResNet-like": "64-41414-3_03_101",
        "all conv 3x3": "64-41414-3_33_333",
        "all conv 1x1": "64-41414-2_22_222",
        "all skip": "64-41414-1_11_111",
        "README example": "64-41414-1_02_333",
    }

    def from_str(self, text: str) -> MicroArch:
        return MicroArch.from_str(text)

    def naslib_key_to_arch(self, key: str) -> str:
        """NASLib's convert_op_indices_micro_to_str: one op index per edge."""
        return "64-41414-{}_{}{}_{}{}{}".format(*naslib_ints(key, 6, 4))

    # --- search operations ---------------------------------------------------------
    def sample(self, rng: random.Random) -> MicroArch:
        return MicroArch(tuple(rng.randrange(len(OPS)) for _ in EDGES))

    def mutate(self, arch: MicroArch, rng: random.Random) -> MicroArch:
        """Change the op of one random edge to a different op."""
        edge = rng.randrange(len(EDGES))
        return _with_op(arch, edge, rng.choice([op for op in range(len(OPS)) if op != arch.cell[edge]]))

    def crossover(self, a: MicroArch, b: MicroArch, rng: random.Random) -> MicroArch:
        """Uniform crossover: each edge's op comes from either parent with equal chance."""
        return MicroArch(tuple(rng.choice(pair) for pair in zip(a.cell, b.cell)))

    def neighbours(self, arch: MicroArch) -> list[MicroArch]:
        """The 18 cells that differ in exactly one edge (6 edges x 3 other ops)."""
        return [_with_op(arch, edge, op) for edge in range(len(EDGES)) for op in range(len(OPS))
                if op != arch.cell[edge]]

    def enumerate(self) -> Iterator[MicroArch]:
        """All 4,096 cells in lexicographic order of their strings."""
        for cell in itertools.product(range(len(OPS)), repeat=len(EDGES)):
            yield MicroArch(cell)

    # --- editing -------------------------------------------------------------------
    def edit_slots(self, arch: MicroArch | str) -> list[EditSlot]:
        """One slot per edge ("0-1", ..., "2-3") with the four op names."""
        arch = _as_arch(arch)
        labels = tuple(f"{i} {name}" for i, name in enumerate(OPS))
        return [EditSlot(f"{src}-{dst}", f"node {NODE_LABELS[dst]}", f"edge {NODE_LABELS[dst]} ← {NODE_LABELS[src]}",
                         OPS, op, labels) for op, (src, dst) in zip(arch.ops, EDGES)]

    def with_slot(self, arch: MicroArch | str, key: str, value: Any) -> MicroArch:
        """Set edge `key` ("src-dst") to an op name or digit."""
        keys = [f"{src}-{dst}" for src, dst in EDGES]
        if key not in keys:
            raise ValueError(f"unknown TransNAS-Bench-101 micro edge {key!r}; expected one of {keys}")
        return _with_op(_as_arch(arch), keys.index(key), _op_index(value))

    def slot_places(self, arch: MicroArch | str) -> dict[str, tuple]:
        """Each edge slot on its edge (a `none` edge too: the drawing shows it faintly)."""
        return {f"{src}-{dst}": ("edge", src, dst) for src, dst in EDGES}

    # --- drawing and building ------------------------------------------------------
    def graph(self, arch: MicroArch | str) -> nx.DiGraph:
        """The cell: nodes 0..3 labelled in/1/2/out (`layer` = node number), one edge per op
        with attribute `op` (and `digit`); `none` edges carry nothing and are left out."""
        arch = _as_arch(arch)
        g = nx.DiGraph(arch=arch.to_str())
        for node, label in NODE_LABELS.items():
            g.add_node(node, label=label, layer=node)
        for op, (src, dst) in zip(arch.cell, EDGES):
            if op != 0:
                g.add_edge(src, dst, op=OPS[op], digit=op)
        return g

    def encoder_plan(self, arch: MicroArch) -> tuple:
        def block(c_in: int, c_out: int, stride: int) -> nn.Module:
            return MicroCell(arch.cell, c_in, c_out, stride)

        return SKELETON, block


__all__ = ["EDGES", "EXAMPLE", "OPS", "MicroArch", "MicroCell", "TNB101MicroSpace"]
