"""The DARTS search space (Liu et al., "DARTS: Differentiable Architecture Search", ICLR
2019), as benchmarked by NAS-Bench-301 (Siems et al., "NAS-Bench-301 and the Case for
Surrogate Benchmarks for Neural Architecture Search", 2020).

An architecture is a normal and a reduction cell. Each cell has two inputs (0 = c_{k-2},
1 = c_{k-1}) and four intermediate nodes 2..5; node k+2 sums two (op, input) pairs,
pairs 2k and 2k+1, whose inputs are earlier nodes (< k+2). The string form is DARTS's
`Genotype` repr, exactly as in the data files:

    Genotype(normal=[('sep_conv_3x3', 0), ... 8 pairs], normal_concat=[2, 3, 4, 5],
             reduce=[... 8 pairs], reduce_concat=[2, 3, 4, 5])

It is parsed by a small tokeniser, never `eval`. The networks live in `darts_net.py`.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import torch.nn as nn

from .base import EditSlot, NetworkConfig, SearchSpace, dataset_classes, quote
from .darts_net import OPS, DartsNetwork
from .naslib import ZeroCostTables, naslib_ints
from .registry import register_space

# NAS-Bench-301 (and NASLib's sampler) draw ops from these seven; 'none' only parses.
SAMPLE_OPS: tuple[str, ...] = tuple(op for op in OPS if op != "none")
CELLS = ("normal", "reduce")
NODES = (2, 3, 4, 5)
PAIRS = 2 * len(NODES)
DEFAULT_CONCAT = (2, 3, 4, 5)
EXPECTED_FORM = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ... 8 (op, input) pairs], "
                 "normal_concat=[2, 3, 4, 5], reduce=[... 8 pairs], reduce_concat=[2, 3, 4, 5])")
NASLIB_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5")  # NASLib nasbench301 compact OPS
# preset -> (channels, cells, stem, extra options); see DartsSpace.config.
PRESETS: dict[str, tuple[int, int, bool, dict[str, Any]]] = {
    "benchmark": (32, 8, True, {"affine": False, "pool_bn": True, "auxiliary": False}),
    "teaching": (8, 3, True, {"affine": True, "pool_bn": False, "auxiliary": False}),
    "swap-proxy": (3, 1, False, {"affine": True, "pool_bn": False, "auxiliary": False}),
}


def _error(problem: str) -> ValueError:
    return ValueError(f"invalid DARTS genotype: {problem}. Expected the form {EXPECTED_FORM}; "
                      f"ops: {', '.join(OPS)}; pairs 2k, 2k+1 feed node k+2 from inputs < k+2")


def _check_cell(name: str, pairs: tuple, concat: tuple) -> None:
    if len(pairs) != PAIRS:
        raise _error(f"{name} has {len(pairs)} (op, input) pairs, expected {PAIRS}")
    for position, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise _error(f"{name} pair {position} is {quote(pair)}, not an (op, input) pair")
        op, index = pair
        node = position // 2 + 2
        if op not in OPS:
            raise _error(f"unknown op {quote(op)} in {name} pair {position}")
        if type(index) is not int or not 0 <= index < node:
            raise _error(f"{name} pair {position} (node {node}) has input {quote(index)}, expected 0..{node - 1}")
    if not concat or len(set(concat)) != len(concat) or any(type(i) is not int or i not in NODES for i in concat):
        raise _error(f"{name}_concat {list(concat)} must list distinct intermediate nodes from {list(NODES)}")


@dataclass(frozen=True)
class Genotype:
    """A DARTS architecture: 8 (op, input) pairs and the concatenated nodes of each cell."""

    normal: tuple[tuple[str, int], ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple[str, int], ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("normal", "normal_concat", "reduce", "reduce_concat"):  # lists become tuples
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
                object.__setattr__(self, name, value)
            else:
                raise _error(f"{name} must be a list, got {quote(value)}")
        _check_cell("normal", self.normal, self.normal_concat)
        _check_cell("reduce", self.reduce, self.reduce_concat)

    def to_str(self) -> str:
        def pairs(cell: tuple) -> str:
            return "[" + ", ".join(f"('{op}', {index})" for op, index in cell) + "]"

        def ints(values: tuple) -> str:
            return "[" + ", ".join(str(v) for v in values) + "]"

        return (f"Genotype(normal={pairs(self.normal)}, normal_concat={ints(self.normal_concat)}, "
                f"reduce={pairs(self.reduce)}, reduce_concat={ints(self.reduce_concat)})")

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def from_str(cls, text: str) -> "Genotype":
        """Parse `Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])`
        (fields in any order, either quote style, any spacing)."""
        if not isinstance(text, str):
            raise _error(f"expected a str, got {type(text).__name__}")
        return _Parser(text).genotype()


_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_]\w*)|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\"|(?P<int>-?\d+)|(?P<punct>[()\[\],=]))")


class _Parser:
    """Recursive descent over the tokens of a Genotype string."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        position, end = 0, len(text.rstrip())
        while position < end:
            match = _TOKEN.match(text, position)
            if not match:
                raise _error(f"unexpected character {text[position:].lstrip()[:1]!r} at position {position}")
            kind = match.lastgroup
            value = match.group(kind)
            if kind == "int" and len(value) > 18:
                raise _error(f"the number at position {position} has {len(value):,} digits; inputs are small integers")
            self.tokens.append(("str" if kind in ("sq", "dq") else kind, int(value) if kind == "int" else value))
            position = match.end()
        self.position = 0

    def take(self, kind: str, value: Any = None) -> Any:
        token = self.tokens[self.position] if self.position < len(self.tokens) else ("end", "end of text")
        if token[0] != kind or (value is not None and token[1] != value):
            raise _error(f"expected {value or kind!r} but found {quote(token[1])} (token {self.position + 1})")
        self.position += 1
        return token[1]

    def peek(self, value: str) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position] == ("punct", value)

    def items(self, item: Callable[[], Any]) -> list:
        """A bracketed, comma-separated list of `item()`s."""
        self.take("punct", "[")
        values = [] if self.peek("]") else [item()]
        while self.peek(","):
            self.take("punct", ",")
            values.append(item())
        self.take("punct", "]")
        return values

    def pair(self) -> tuple[str, int]:
        self.take("punct", "(")
        op = self.take("str")
        self.take("punct", ",")
        index = self.take("int")
        self.take("punct", ")")
        return op, index

    def genotype(self) -> Genotype:
        self.take("name", "Genotype")
        self.take("punct", "(")
        fields: dict[str, list] = {}
        while not self.peek(")"):
            if fields:
                self.take("punct", ",")
            name = self.take("name")
            if name not in Genotype.__dataclass_fields__ or name in fields:
                raise _error(f"unexpected or repeated field {quote(name)}")
            self.take("punct", "=")
            fields[name] = self.items(self.pair if name in CELLS else lambda: self.take("int"))
        self.take("punct", ")")
        if self.position != len(self.tokens):
            raise _error(f"unexpected text after the closing ')': {quote(self.tokens[self.position][1])}")
        missing = [f for f in Genotype.__dataclass_fields__ if f not in fields]
        if missing:
            raise _error(f"missing field(s) {', '.join(missing)}")
        return Genotype(**fields)


def _as_genotype(arch: Genotype | str) -> Genotype:
    return arch if isinstance(arch, Genotype) else Genotype.from_str(arch)


def _with_pair(arch: Genotype, cell: str, position: int, pair: tuple[str, int]) -> Genotype:
    pairs = list(getattr(arch, cell))
    pairs[position] = pair
    return replace(arch, **{cell: tuple(pairs)})


def _changes(arch: Genotype) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """Every (cell, pair position, replacement pairs) of a one-step change: a different op
    (from SAMPLE_OPS), or a different input that is not the node's other input (NASLib's
    NB301 rule, so distinct inputs stay distinct)."""
    changes = []
    for cell in CELLS:
        pairs = getattr(arch, cell)
        for position, (op, index) in enumerate(pairs):
            sibling = pairs[position ^ 1][1]
            new_ops = [(other, index) for other in SAMPLE_OPS if other != op]
            new_inputs = [(op, i) for i in range(position // 2 + 2) if i not in (index, sibling)]
            changes += [(cell, position, options) for options in (new_ops, new_inputs) if options]
    return changes


def _uniform_genotype(op: str) -> str:
    """Both cells with one op everywhere, each node fed by the two cell inputs."""
    cell = ", ".join(f"('{op}', {i})" for _ in NODES for i in (0, 1))
    concat = list(DEFAULT_CONCAT)
    return f"Genotype(normal=[{cell}], normal_concat={concat}, reduce=[{cell}], reduce_concat={concat})"


@register_space
class DartsSpace(SearchSpace):
    """DARTS / NAS-Bench-301: two cells of 4 nodes, 7 ops (+ 'none' for parsing)."""

    name = "darts"
    aliases = ("nb301",)  # NAS-Bench-301 is the benchmark of this space
    title = "DARTS / NAS-Bench-301"
    example = (  # DARTS-V2, the cell DARTS found (quark0/darts cnn/genotypes.py)
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
        "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
        "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
        "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
        "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    datasets = ("cifar10",)
    presets = ("benchmark", "teaching", "swap-proxy")
    ops = OPS
    named_archs = {
        "DARTS-V2 (found by DARTS)": example,
        "all sep conv 3x3": _uniform_genotype("sep_conv_3x3"),
        "all skip": _uniform_genotype("skip_connect"),
        "all max-pool": _uniform_genotype("max_pool_3x3"),
    }
    finite = False
    training_lr = 0.025  # DARTS's own rate: at 0.1 its teaching network's loss jumps first
    # Ground truth: SWAP-NAS's DARTS architectures, then NAS-Bench-301's tables (named nb301).
    truth_columns = {"darts1000_cifar10.csv": {"cifar10": "val_accuracy"}}
    zero_cost = ZeroCostTables("nb301", ("cifar10",), "zc_nasbench301",
        "537e9abd6f0b14fdffdfcb3c07b18a037647b5c80808b3b2cf9a51b1b491aba1")

    def naslib_key_to_arch(self, key: str) -> str:
        """NASLib's key is [[(input node, op index) × 8] normal, [...] reduce]."""
        v = naslib_ints(key, 32, 7)
        cells = [[(NASLIB_OPS[v[i + 1]], v[i]) for i in range(start, start + 16, 2)] for start in (0, 16)]
        return (f"Genotype(normal={cells[0]!r}, normal_concat=[2, 3, 4, 5], "
                f"reduce={cells[1]!r}, reduce_concat=[2, 3, 4, 5])")

    # --- strings -------------------------------------------------------------------
    def from_str(self, text: str) -> Genotype:
        return Genotype.from_str(text)

    # --- search operations ---------------------------------------------------------
    def sample(self, rng: random.Random) -> Genotype:
        """As NAS-Bench-301 / NASLib sample: per node two *distinct* inputs, ops uniform
        over the seven non-'none' ops; normal and reduction cells independent."""
        def cell() -> tuple[tuple[str, int], ...]:
            pairs = []
            for node in NODES:
                pairs += [(rng.choice(SAMPLE_OPS), index) for index in rng.sample(range(node), 2)]
            return tuple(pairs)

        return Genotype(cell(), DEFAULT_CONCAT, cell(), DEFAULT_CONCAT)

    def mutate(self, arch: Genotype, rng: random.Random) -> Genotype:
        """Change one op or one input of one pair (always one of `neighbours(arch)`): pick a
        (cell, pair, op-or-input) uniformly among those that can change, then a new value."""
        cell, position, options = rng.choice(_changes(arch))
        return _with_pair(arch, cell, position, rng.choice(options))

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> Genotype:
        """Node-wise uniform crossover: each node (its two pairs) of each cell comes from
        either parent; concat lists come from `a`. Always valid."""
        def cell(pa: tuple, pb: tuple) -> tuple:
            return tuple(pair for k in range(len(NODES)) for pair in rng.choice((pa, pb))[2 * k: 2 * k + 2])

        return Genotype(cell(a.normal, b.normal), a.normal_concat, cell(a.reduce, b.reduce), a.reduce_concat)

    def neighbours(self, arch: Genotype) -> list[Genotype]:
        """All genotypes one op or one input away (see `_changes`), without duplicates."""
        return [_with_pair(arch, cell, position, pair) for cell, position, options in _changes(arch) for pair in options]

    # --- editing -------------------------------------------------------------------
    def edit_slots(self, arch: Genotype | str) -> list[EditSlot]:
        """Per cell and node, each of its two pairs has an op slot ("cell:pair:op") and an
        input slot ("cell:pair:input", any earlier node)."""
        arch = _as_genotype(arch)
        slots = []
        for cell in CELLS:
            for position, (op, index) in enumerate(getattr(arch, cell)):
                node = position // 2 + 2
                group, side = f"{cell} cell, node {node}", "AB"[position % 2]
                inputs = tuple(range(node))
                names = tuple(["c_{k-2}", "c_{k-1}"] + [f"node {i}" for i in inputs[2:]])
                slots.append(EditSlot(f"{cell}:{position}:op", group, f"input {side} op", OPS, op))
                slots.append(EditSlot(f"{cell}:{position}:input", group, f"input {side} from", inputs, index, names))
        return slots

    def with_slot(self, arch: Genotype | str, key: str, value: Any) -> Genotype:
        arch = _as_genotype(arch)
        cell, position, part = (key.split(":") + ["", "", ""])[:3]
        if cell not in CELLS or not position.isdigit() or int(position) >= PAIRS or part not in ("op", "input"):
            raise ValueError(f"unknown DARTS slot {key!r}; expected 'normal|reduce:<pair 0-7>:op|input'")
        op, index = getattr(arch, cell)[int(position)]
        pair = (value, index) if part == "op" else (op, value)
        return _with_pair(arch, cell, int(position), pair)  # Genotype validates the new pair

    def slot_places(self, arch: Genotype | str) -> dict[str, tuple]:
        """A node's two inputs (each an op and where it comes from) sit on the node."""
        return {f"{cell}:{position}:{part}": ("node", (cell, position // 2 + 2))
                for cell in CELLS for position in range(PAIRS) for part in ("op", "input")}

    # --- drawing and building ------------------------------------------------------
    def graph(self, arch: Genotype | str) -> nx.DiGraph:
        """Both cells in one DiGraph. Nodes are (cell, "c_{k-2}"), (cell, "c_{k-1}"),
        (cell, 2..5) and (cell, "out"), with attributes `cell`, `label`, `kind`
        (input / intermediate / output), and `layer` and `row` (where to draw it: inputs in
        column 0, node k in column k−1, alternating rows so that edges spread out). An edge input -> node has `op` (and `ops`, a tuple:
        when a node takes the same input twice the two ops share one edge, `op` is 'a + b');
        edges node -> out have op 'concat'."""
        arch = _as_genotype(arch)
        g = nx.DiGraph(arch=arch.to_str())
        for cell in CELLS:
            inputs = [(cell, "c_{k-2}"), (cell, "c_{k-1}")]
            for node in inputs:
                g.add_node(node, cell=cell, label=node[1], kind="input", layer=0, row=1.0 if "2" in node[1] else -1.0)
            for node in NODES:
                g.add_node((cell, node), cell=cell, label=str(node), kind="intermediate", layer=node - 1,
                           row=0.6 if node % 2 else -0.6)
            g.add_node((cell, "out"), cell=cell, label="c_{k}", kind="output", layer=len(NODES) + 1, row=0.0)
            sources = inputs + [(cell, node) for node in NODES]
            for position, (op, index) in enumerate(getattr(arch, cell)):
                edge = (sources[index], (cell, position // 2 + 2))
                ops = g.edges[edge]["ops"] + (op,) if g.has_edge(*edge) else (op,)
                g.add_edge(*edge, ops=ops, op=" + ".join(ops))
            for node in getattr(arch, f"{cell}_concat"):
                g.add_edge((cell, node), (cell, "out"), op="concat", ops=("concat",))
        return g

    def config(self, preset: str = "benchmark", dataset: str = "cifar10", **overrides: Any) -> NetworkConfig:
        """benchmark: NAS-Bench-301's evaluation network as NAS-Bench-Suite-Zero counted it
        (C=32, 8 cells, stem, no auxiliary head, non-affine BN in cell ops, BN after pools:
        NASLib's `zerocost` branch, search_spaces/nasbench301/graph.py);
        teaching: C=8, 3 cells (normal, reduce, reduce) with stem, DARTS's affine ops;
        swap-proxy: the SWAP paper's scoring network (pym1024/SWAP correlation.py:
        `Network(3, 10, 1, genotype)`): C=3, one cell, no stem, so the image feeds both cell
        inputs and the single cell is a reduction cell (DARTS puts one at cells//3 = 0).
        Extra options: affine, pool_bn, auxiliary."""
        if preset not in PRESETS:
            raise self._unknown_preset(preset)
        if dataset not in self.datasets:
            raise ValueError(f"the DARTS space is benchmarked on {list(self.datasets)} only, got {dataset!r}")
        channels, cells, stem, extra = PRESETS[preset]
        config = NetworkConfig(preset=preset, channels=channels, cells=cells, num_classes=dataset_classes(dataset),
                               stem=stem, extra=tuple(sorted(extra.items())))
        return config.with_options(**overrides) if overrides else config

    def build(self, arch: Genotype | str, config: NetworkConfig | None = None) -> nn.Module:
        """The DARTS network of `arch`; forward(x) returns the logits (N, num_classes)."""
        arch = _as_genotype(arch)
        config = config or self.config()
        if config.channels < 1 or config.cells < 1 or config.num_classes < 1:
            raise ValueError(f"channels, cells and num_classes must be positive, got {config}")
        return DartsNetwork(arch, config.channels, config.cells, config.num_classes, stem=config.stem,
                            affine=config.get("affine", True), pool_bn=config.get("pool_bn", False),
                            auxiliary=config.get("auxiliary", False))


__all__ = ["CELLS", "EXPECTED_FORM", "NASLIB_OPS", "OPS", "SAMPLE_OPS", "DartsSpace", "Genotype"]
