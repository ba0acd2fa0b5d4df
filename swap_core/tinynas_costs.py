"""Costs of the cells of a TinyNAS variant (`tinynas`): MFLOPs (`netstats.count_flops`) and peak
activation memory (`netstats.peak_activation_bytes`) of a space's benchmark network scaled by a
width multiplier and fed another input resolution, counted in pieces.

Speed: costing `samples` full networks per variant is minutes, so the cells are costed in
pieces and the pieces added up (the exact equality with the full network is a test):
- FLOPs: the network's FLOPs are those of its fixed parts (stem, reductions, head, DARTS's
  preprocessing) plus one term per cell edge; each op's cost is measured once per variant
  and stage with the real module (`count_flops`).
- Memory: live tensors cross the blocks of a chain only as a block's output, so the network's
  peak is the largest of its blocks' peaks (stem, reduction blocks and head traced once per
  variant). Every tensor inside an NB201 cell has C·H·W values, so a cell's peak is C·H·W times
  a count of the architecture: the ops' traces (each op's real module traced once) composed in
  `EdgeCell.forward`'s order and passed to `netstats.live_peak`. DARTS's whole body of cells
  likewise scales by C·H·W: it is traced once per architecture at C=2 on 4×4 pixels. Networks
  are built on PyTorch's meta device (no random draws) and run on zeroed CPU memory.
NB201, 12 variants × 200 cells: about 1 s single-threaded (3 s with 2 threads on a busy 2-core
machine); DARTS: about 20 s (one body trace per cell). In DARTS every cell concatenates all four
nodes, so by this definition its peak (reached at a cell's concat, while the previous cell's
output waits for the next) is the same for all cells of a variant: the budget keeps or drops a
DARTS variant whole, and only NB201's peaks differ from cell to cell.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from .netstats import count_flops, live_peak, peak_activation_bytes, record_steps, root_id, trace_peak
from .spaces import get_space
from .spaces.base import NetworkConfig, SearchSpace

SPACES = ("nb201", "darts")
MB = 1e6  # memory budgets and peaks are in MB = 10^6 bytes


@dataclass(frozen=True)
class Variant:
    width: float
    resolution: int

    @property
    def label(self) -> str:
        return f"w{float(self.width)!r}-r{self.resolution}"


def check_variant(width: float, resolution: int) -> Variant:
    """A Variant, or a one-line ValueError: width > 0, resolution an integer >= 8 and a
    multiple of 4 (both spaces halve the image twice, exactly)."""
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) or width <= 0:
        raise ValueError(f"a width multiplier must be a number > 0, got {width!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8 or resolution % 4:
        raise ValueError(f"a resolution must be an integer >= 8 and a multiple of 4, got {resolution!r}")
    return Variant(float(width), resolution)


def space_of(space: str | SearchSpace) -> SearchSpace:
    """The space object of `space` (a name or the object), if TinyNAS variants are defined for it."""
    space = get_space(space) if isinstance(space, str) else space
    if space.name not in SPACES:
        raise ValueError(f"TinyNAS variants are defined for {list(SPACES)}, got {space.name!r}")
    return space


def variant_config(space: str | SearchSpace, dataset: str, width: float, resolution: int) -> NetworkConfig:
    """The space's benchmark network with channels round(width · C) (at least 1) at `resolution`."""
    space, variant = space_of(space), check_variant(width, resolution)
    base = space.config("benchmark", dataset)
    return base.with_options(channels=max(1, int(base.channels * variant.width + 0.5)), input_size=resolution)


def exact_costs(space: str | SearchSpace, arch, config: NetworkConfig, bytes_per_value: int = 4) -> tuple[float, int]:
    """(MFLOPs, peak activation bytes) of the fully built network: the reference for `cell_costs`."""
    space = space_of(space)
    model = _network(space, arch, config)
    return (count_flops(model, config.input_size),
            peak_activation_bytes(model, config.input_size, bytes_per_value=bytes_per_value))


# --- costs in pieces --------------------------------------------------------------------------------

def _flops(module: nn.Module, size: int, channels: int) -> int:
    return round(count_flops(module, size, channels) * 1e6)


def _zeroed(build) -> nn.Module:
    """The module `build()` makes, built on the meta device (no random draws), then given zeroed
    CPU memory: forward passes on the CPU are faster than the meta device's decompositions."""
    with torch.device("meta"):
        module = build()
    module = module.to_empty(device="cpu").train(False)
    with torch.no_grad():
        for tensor in (*module.parameters(), *module.buffers()):
            tensor.zero_()
    return module


def _network(space, arch, config: NetworkConfig) -> nn.Module:
    return _zeroed(lambda: space.build(space.from_str(arch) if isinstance(arch, str) else arch, config))


def _op_template(op: str) -> tuple[list[list[int]], int]:
    """The steps of one NB201 op (traced with the real module on a 1-channel, 1-pixel input), its
    tensors numbered 0 (the input), 1, 2, ... in order of appearance; and the output's number."""
    from .spaces.nb201_net import make_op

    module = _zeroed(lambda: make_op(op, 1, 1))
    x = torch.zeros(1, 1, 1, 1)
    steps, _, out = record_steps(lambda: module(x), (module,))
    local = {root_id(x): 0}
    numbered = [[local.setdefault(key, len(local)) for key in step] for step in steps]
    return numbered, local.get(root_id(out), 0)


def _nb201_cell_units(ops: tuple[str, ...], templates: dict) -> int:
    """Peak live values of an NB201 cell on a 1-channel, 1-pixel input: every tensor of a cell has
    C·H·W values, so at (C, H) the cell's peak is this × C·H·H. The steps are the ops' traced
    steps composed in `EdgeCell.forward`'s order: node by node, edges in string order, each node
    the left-to-right sum of its edges' outputs (so the equality with a full trace is a test)."""
    from .spaces.nb201_net import EDGES

    steps: list[list[int]] = []
    nodes, fresh = [0], itertools.count(1)
    for target in (1, 2, 3):
        outputs = []
        for op, (src, dst) in zip(ops, EDGES):
            if dst != target:
                continue
            template, out = templates[op]
            names = {0: nodes[src]}
            steps += [[names[i] if i in names else names.setdefault(i, next(fresh)) for i in step] for step in template]
            outputs.append(names[out])
        total = outputs[0]
        for other in outputs[1:]:
            new = next(fresh)
            steps.append([total, other, new])
            total = new
        nodes.append(total)
    return live_peak(steps, {key: 1 for step in steps for key in step})


def _nb201_fixed(ref: nn.Module, size: int, bytes_per_value: int) -> tuple[int, int]:
    """(FLOPs, peak bytes) of the network's parts other than the cells: stem, the two reduction
    blocks, head. Each part on its own: live tensors cross a chain's blocks only as their output."""
    from .spaces.nb201_net import ResNetBlock

    parts = [ref.stem, *(b for b in ref.cells if isinstance(b, ResNetBlock)),
             nn.Sequential(ref.lastact, ref.global_pooling, nn.Flatten(), ref.classifier)]
    flops = peak = 0
    shapes = [(3, size)] + [(ref.cells[0].out_channels << k, size >> k) for k in range(3)]
    for part, (channels, side) in zip(parts, shapes):
        part = _zeroed(lambda: part)
        x = torch.zeros(1, channels, side, side)
        flops += _flops(part, side, channels)
        peak = max(peak, trace_peak(lambda: part(x), (part,), bytes_per_value)[0])
    return flops, peak


def _nb201_costs(space, archs, config: NetworkConfig, bytes_per_value: int, units: dict) -> list[tuple[float, int]]:
    from .spaces.nb201_net import make_op

    size, c = config.input_size, config.channels
    stages = [(c << s, size >> s) for s in range(3)]
    op_flops = [{op: _flops(_zeroed(lambda: make_op(op, w, w)), h, w) for op in space.ops} for w, h in stages]
    with torch.device("meta"):
        ref = space.build("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", config)
    fixed_flops, fixed_peak = _nb201_fixed(ref, size, bytes_per_value)
    if "templates" not in units:
        units["templates"] = {op: _op_template(op) for op in space.ops}
    templates = units["templates"]
    rows = []
    for arch in archs:
        if arch.ops not in units:
            units[arch.ops] = _nb201_cell_units(arch.ops, templates)
        flops = fixed_flops + config.cells * sum(op_flops[s][op] for s in range(3) for op in arch.ops)
        cells_peak = max(units[arch.ops] * w * h * h for w, h in stages) * bytes_per_value
        rows.append((flops / 1e6, max(fixed_peak, cells_peak)))
    return rows


def _darts_pair_flops(model: nn.Module, arch, size: int, cache: dict, config: NetworkConfig) -> int:
    """FLOPs of the cell ops of `arch` in the network `model` (built for any genotype)."""
    from .spaces.darts_net import make_op

    total, h = 0, size
    for cell in model.cells:
        c = cell.preprocess1[1].out_channels
        pairs = arch.reduce if cell.reduction else arch.normal
        h_out = h // 2 if cell.reduction else h
        for op, index in pairs:
            stride = 2 if cell.reduction and index < 2 else 1
            key = (op, c, stride, h if index < 2 else h_out)
            if key not in cache:
                module = _zeroed(lambda: make_op(op, c, stride, config.get("affine", True), config.get("pool_bn", False)))
                cache[key] = _flops(module, key[3], c)
            total += cache[key]
        h = h_out
    return total


def _darts_body_units(space, arch, config: NetworkConfig) -> int:
    """Peak live values of the DARTS body (all cells, from the stem's output to the last cell's)
    at C=2 on 4×4 images; every body tensor scales by C·H·H, so a variant's is this × C·H²/32."""
    tiny = _network(space, arch, config.with_options(channels=2))
    x = torch.zeros(1, tiny.stem[0].out_channels, 4, 4)

    def body() -> torch.Tensor:
        s0 = s1 = x
        for cell in tiny.cells:
            s0, s1 = s1, cell(s0, s1)
        return s1

    return trace_peak(body, (tiny,), 1)[0]


def _darts_costs(space, archs, config: NetworkConfig, bytes_per_value: int, units: dict) -> list[tuple[float, int]]:
    size = config.input_size
    ref = _network(space, space.example, config)
    cache: dict = {}
    fixed_flops = _flops(ref, size, 3) - _darts_pair_flops(ref, space.from_str(space.example), size, cache, config)
    x = torch.zeros(1, 3, size, size)
    stem_peak, s1 = trace_peak(lambda: ref.stem(x), (ref,), bytes_per_value)
    s0 = s1
    with torch.no_grad():
        for cell in ref.cells:  # only the last cell's output shape matters here
            s0, s1 = s1, cell(s0, s1)
    head_peak = trace_peak(lambda: ref.classifier(ref.global_pooling(s1).flatten(1)), (ref,), bytes_per_value)[0]
    scale = config.channels * size * size
    rows = []
    for arch in archs:
        if arch.normal_concat != (2, 3, 4, 5) or arch.reduce_concat != (2, 3, 4, 5):
            rows.append(exact_costs(space, arch, config, bytes_per_value))  # fixed parts differ: build it
            continue
        flops = fixed_flops + _darts_pair_flops(ref, arch, size, cache, config)
        key = (arch, config.with_options(channels=2, input_size=4))
        if key not in units:
            units[key] = _darts_body_units(space, arch, config)
        body_peak = units[key] * scale // (2 * 4 * 4) * bytes_per_value
        rows.append((flops / 1e6, max(stem_peak, body_peak, head_peak)))
    return rows


def cell_costs(space: str | SearchSpace, archs: Sequence, config: NetworkConfig, bytes_per_value: int = 4,
               units: dict | None = None) -> list[tuple[float, int]]:
    """(MFLOPs, peak activation bytes at batch 1) of each architecture in the network `config`
    (a benchmark config at any width and input size), equal to `exact_costs` but in pieces.
    `units`: the caller's dict of per-architecture memory units, shared across the variants of
    one selection (they do not depend on width or resolution)."""
    space = space_of(space)
    archs = [space.from_str(a) if isinstance(a, str) else a for a in archs]
    if not config.stem:  # the pieces assume the benchmark's stem
        return [exact_costs(space, arch, config, bytes_per_value) for arch in archs]
    costs = _nb201_costs if space.name == "nb201" else _darts_costs
    return costs(space, archs, config, bytes_per_value, {} if units is None else units)


__all__ = ["MB", "SPACES", "Variant", "cell_costs", "check_variant", "exact_costs", "space_of", "variant_config"]
