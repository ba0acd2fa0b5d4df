"""The NAS-Bench-201 search space (Dong & Yang, "NAS-Bench-201: Extending the Scope of
Reproducible Neural Architecture Search", ICLR 2020); the same cells as NATS-Bench's
topology space.

A cell is a DAG on four nodes (0 = input, 3 = output); each of its six edges j <- i
(i < j) carries one of five ops, so the space holds 5**6 = 15,625 cells. The string form is
the benchmark's own, one `|op~i|` group per node, nodes joined by `+`:

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

The network a cell is evaluated in lives in `nb201_net.py`.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch.nn as nn

from .base import DATASET_INPUT_SIZE, EditSlot, NetworkConfig, SearchSpace, dataset_classes, quote
from .naslib import ZeroCostTables, naslib_ints
from .nb201_net import EDGES, TinyNetwork
from .registry import register_space

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NODE_LABELS = {0: "in", 1: "1", 2: "2", 3: "out"}
# (channels C, cells per stage N) of each network preset.
PRESETS = {"benchmark": (16, 5), "teaching": (8, 1)}
# Ground truth: NATS-Bench's test accuracy after 200 epochs, one column of nb201_accuracy.csv per dataset.
NB201_COLUMNS = {"cifar10": "cifar10_test", "cifar100": "cifar100_test", "imagenet16-120": "imagenet16_120_test"}
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")  # NASLib OP_NAMES_NB201


def _parse_error(text: object, problem: str) -> ValueError:
    return ValueError(
        f"invalid NAS-Bench-201 architecture string {quote(text)}: {problem}. Expected three "
        f"'+'-joined node groups |op~i|, node j listing inputs 0..j-1 in order, e.g. "
        f"{EXAMPLE} (ops: {', '.join(OPS)})"
    )


@dataclass(frozen=True)
class NB201Arch:
    """A NAS-Bench-201 cell: the op of each edge, in string order (see `EDGES`)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.ops, list):  # accept a list, store the hashable tuple
            object.__setattr__(self, "ops", tuple(self.ops))
        if not isinstance(self.ops, tuple) or len(self.ops) != len(EDGES):
            raise ValueError(f"an NB201Arch needs a tuple of {len(EDGES)} op names, got {self.ops!r}")
        unknown = [op for op in self.ops if op not in OPS]
        if unknown:
            raise ValueError(f"unknown NAS-Bench-201 op(s) {unknown}; expected one of {list(OPS)}")

    def to_str(self) -> str:
        groups = []
        for target in (1, 2, 3):
            entries = [f"{op}~{src}" for op, (src, dst) in zip(self.ops, EDGES) if dst == target]
            groups.append("|" + "|".join(entries) + "|")
        return "+".join(groups)

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def from_str(cls, text: str) -> "NB201Arch":
        """Parse the benchmark string form (surrounding whitespace is ignored)."""
        if not isinstance(text, str):
            raise _parse_error(text, f"expected a str, got {type(text).__name__}")
        cleaned = text.strip()
        if not cleaned:
            raise _parse_error(text, "the string is empty")
        groups = cleaned.split("+")
        if len(groups) != 3:
            raise _parse_error(text, f"found {len(groups)} node group(s), expected 3")
        ops: list[str] = []
        for target, group in enumerate(groups, start=1):
            ops.extend(_parse_group(text, target, group.strip()))
        return cls(tuple(ops))


def _parse_group(text: str, target: int, group: str) -> list[str]:
    """The ops of node `target`'s group `|op~0|...|op~{target-1}|`, in input order."""
    if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
        raise _parse_error(text, f"node {target}'s group {quote(group)} must start and end with '|'")
    entries = [entry.strip() for entry in group[1:-1].split("|")]
    if len(entries) != target:
        raise _parse_error(text, f"node {target} has {len(entries)} input(s), expected {target}")
    ops = []
    for expected_src, entry in enumerate(entries):
        op, sep, src = entry.partition("~")
        op, src = op.strip(), src.strip()
        if not sep:
            raise _parse_error(text, f"entry {quote(entry)} of node {target} is not of the form op~i")
        if op not in OPS:
            raise _parse_error(text, f"unknown op {quote(op)} in node {target}")
        if src != str(expected_src):
            raise _parse_error(text, f"entry {quote(entry)} of node {target} has input {quote(src)}, "
                                     f"expected {expected_src}")
        ops.append(op)
    return ops


@register_space
class NB201Space(SearchSpace):
    """NAS-Bench-201: 15,625 cells, evaluated in a 3-stage network of 5 cells per stage."""

    name = "nb201"
    title = "NAS-Bench-201"
    example = EXAMPLE
    datasets = ("cifar10", "cifar100", "imagenet16-120")
    presets = ("benchmark", "teaching")
    finite = True
    ops = OPS
    named_archs = {
        # NAS-Bench-201's ResNet block: two 3x3 convs in sequence plus the identity shortcut.
        "ResNet-like": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
        "all conv 3x3": "|" + "|+|".join("|".join(f"nor_conv_3x3~{i}" for i in range(j)) for j in (1, 2, 3)) + "|",
        "all skip": "|" + "|+|".join("|".join(f"skip_connect~{i}" for i in range(j)) for j in (1, 2, 3)) + "|",
        "all avg-pool": "|" + "|+|".join("|".join(f"avg_pool_3x3~{i}" for i in range(j)) for j in (1, 2, 3)) + "|",
    }
    truth_columns = {"nb201_accuracy.csv": NB201_COLUMNS}
    zero_cost = ZeroCostTables("nb201", datasets, "zc_nasbench201",
        "80e131a5f2cd0320bd5524945a9df9f7a115a642654644f909e879f747fb3c4a")

    def naslib_key_to_arch(self, key: str) -> str:
        """NASLib orders the edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4); the string lists them by target node."""
        o = [NASLIB_OPS[i] for i in naslib_ints(key, 6, 5)]
        return f"|{o[0]}~0|+|{o[1]}~0|{o[3]}~1|+|{o[2]}~0|{o[4]}~1|{o[5]}~2|"

    # --- strings -------------------------------------------------------------------
    def from_str(self, text: str) -> NB201Arch:
        return NB201Arch.from_str(text)

    # --- search operations ---------------------------------------------------------
    def sample(self, rng: random.Random) -> NB201Arch:
        return NB201Arch(tuple(rng.choice(OPS) for _ in EDGES))

    def mutate(self, arch: NB201Arch, rng: random.Random) -> NB201Arch:
        """Change the op of one random edge to a different op."""
        edge = rng.randrange(len(EDGES))
        new_op = rng.choice([op for op in OPS if op != arch.ops[edge]])
        return _with_op(arch, edge, new_op)

    def crossover(self, a: NB201Arch, b: NB201Arch, rng: random.Random) -> NB201Arch:
        """Uniform crossover: each edge's op comes from either parent with equal chance."""
        return NB201Arch(tuple(rng.choice(pair) for pair in zip(a.ops, b.ops)))

    def neighbours(self, arch: NB201Arch) -> list[NB201Arch]:
        """The 24 cells that differ from `arch` in exactly one edge (6 edges x 4 other ops)."""
        return [
            _with_op(arch, edge, op)
            for edge in range(len(EDGES))
            for op in OPS
            if op != arch.ops[edge]
        ]

    def enumerate(self) -> Iterator[NB201Arch]:
        """All 15,625 cells, in lexicographic order of op indices (edge 1<-0 slowest)."""
        for ops in itertools.product(OPS, repeat=len(EDGES)):
            yield NB201Arch(ops)

    # --- editing -------------------------------------------------------------------
    def edit_slots(self, arch: NB201Arch | str) -> list[EditSlot]:
        """One slot per edge: "edge j←i" with the five ops."""
        arch = _as_arch(arch)
        return [EditSlot(f"{src}-{dst}", f"node {NODE_LABELS[dst]}", f"edge {NODE_LABELS[dst]} ← {NODE_LABELS[src]}",
                         OPS, op) for op, (src, dst) in zip(arch.ops, EDGES)]

    def with_slot(self, arch: NB201Arch | str, key: str, value: Any) -> NB201Arch:
        keys = [f"{src}-{dst}" for src, dst in EDGES]
        if key not in keys:
            raise ValueError(f"unknown NAS-Bench-201 edge {key!r}; expected one of {keys}")
        return _with_op(_as_arch(arch), keys.index(key), value)

    def slot_places(self, arch: NB201Arch | str) -> dict[str, tuple]:
        """Each edge slot on its edge (a `none` edge too: the drawing shows it faintly)."""
        return {f"{src}-{dst}": ("edge", src, dst) for src, dst in EDGES}

    # --- drawing and building ------------------------------------------------------
    def graph(self, arch: NB201Arch | str) -> nx.DiGraph:
        """The cell as a DiGraph: nodes 0..3 labelled in/1/2/out (attribute `layer`, the
        drawing column, is the node number), one edge per op with attribute `op`. Edges whose op is `none` carry nothing and are left out."""
        arch = _as_arch(arch)
        g = nx.DiGraph(arch=arch.to_str())
        for node, label in NODE_LABELS.items():
            g.add_node(node, label=label, layer=node)
        for op, (src, dst) in zip(arch.ops, EDGES):
            if op != "none":
                g.add_edge(src, dst, op=op)
        return g

    def config(self, preset: str = "benchmark", dataset: str = "cifar10", **overrides: Any) -> NetworkConfig:
        """benchmark: C=16, N=5 (the published network); teaching: C=8, N=1."""
        if preset not in PRESETS:
            raise self._unknown_preset(preset)
        channels, cells = PRESETS[preset]
        config = NetworkConfig(
            preset=preset,
            channels=channels,
            cells=cells,
            num_classes=dataset_classes(dataset),
            input_size=DATASET_INPUT_SIZE[dataset],
        )
        return config.with_options(**overrides) if overrides else config

    def build(self, arch: NB201Arch | str, config: NetworkConfig | None = None) -> nn.Module:
        """The NAS-Bench-201 network for `arch`; forward(x) returns the logits only.

        `config.stem=False` drops the stem: the image enters the first cell directly and
        the cell's edges out of node 0 change width 3 -> C as NAS-Bench-201's ops do.
        """
        arch = _as_arch(arch)
        config = config or self.config()
        if config.channels < 1 or config.cells < 1 or config.num_classes < 1:
            raise ValueError(f"channels, cells and num_classes must be positive, got {config}")
        return TinyNetwork(arch.ops, config.channels, config.cells, config.num_classes, stem=config.stem)


def _with_op(arch: NB201Arch, edge: int, op: str) -> NB201Arch:
    ops = list(arch.ops)
    ops[edge] = op
    return NB201Arch(tuple(ops))


def _as_arch(arch: NB201Arch | str) -> NB201Arch:
    return arch if isinstance(arch, NB201Arch) else NB201Arch.from_str(arch)


__all__ = ["EDGES", "EXAMPLE", "NASLIB_OPS", "NB201_COLUMNS", "OPS", "NB201Arch", "NB201Space"]
