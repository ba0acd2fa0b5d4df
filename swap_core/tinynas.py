"""TinyNAS search-space selection by the FLOPs CDF of the models that fit a memory budget
(Lin et al., "MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020, Sec. 3.1, Fig. 3).

A *variant* of a space is its benchmark network with every channel count scaled by a width
multiplier (C = round(w · C_benchmark), at least 1) and fed images of another side (the
resolution). For each variant, the same `samples` cells (drawn by `random.Random(seed)`) are
costed: MFLOPs (`netstats.count_flops`) and peak activation memory (`netstats`: MCUNet's peak
SRAM, batch 1, float32 or int8). A model over the memory budget is dropped; a variant left
with no model is dropped. The chosen variant is MCUNet's rule made exact here: among the
variants with models left, the one whose top 20 % of the models under the budget (the
ceil(0.2·n) with the most FLOPs) have the largest mean FLOPs (ties: the first in the order
given). MCUNet's argument: within one model family, more FLOPs under the same memory means
more capacity, so the space most likely to hold an accurate model that fits.

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
Accuracy: the benchmarks trained only their own network (width 1, the dataset's input size);
every other variant has no benchmark accuracy and reports None.
"""
from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn

from . import benchmarks, limits
from .netstats import count_flops, live_peak, peak_activation_bytes, record_steps, root_id, trace_peak
from .spaces import get_space
from .spaces.base import NetworkConfig, SearchSpace

SPACES = ("nb201", "darts")
DEFAULT_WIDTHS = (0.5, 0.75, 1.0, 1.25)
DEFAULT_RESOLUTIONS = (16, 24, 32)
TOP_FRACTION = 0.2
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


def _space(space: str | SearchSpace) -> SearchSpace:
    space = get_space(space) if isinstance(space, str) else space
    if space.name not in SPACES:
        raise ValueError(f"TinyNAS variants are defined for {list(SPACES)}, got {space.name!r}")
    return space


def variant_config(space: str | SearchSpace, dataset: str, width: float, resolution: int) -> NetworkConfig:
    """The space's benchmark network with channels round(width · C) (at least 1) at `resolution`."""
    space, variant = _space(space), check_variant(width, resolution)
    base = space.config("benchmark", dataset)
    return base.with_options(channels=max(1, int(base.channels * variant.width + 0.5)), input_size=resolution)


def exact_costs(space: str | SearchSpace, arch, config: NetworkConfig, bytes_per_value: int = 4) -> tuple[float, int]:
    """(MFLOPs, peak activation bytes) of the fully built network: the reference for `cell_costs`."""
    space = _space(space)
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
    space = _space(space)
    archs = [space.from_str(a) if isinstance(a, str) else a for a in archs]
    if not config.stem:  # the pieces assume the benchmark's stem
        return [exact_costs(space, arch, config, bytes_per_value) for arch in archs]
    costs = _nb201_costs if space.name == "nb201" else _darts_costs
    return costs(space, archs, config, bytes_per_value, {} if units is None else units)


# --- selection --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TinyNASResult:
    """`variants`: one row per variant (width, resolution, label, n_sampled, n_under_budget,
    mean_mflops, top20_mean_mflops, max_peak_mb, kept, chosen, benchmark_accuracy: whether the
    benchmark has accuracies for this network, accuracy_note). `cells`: one row per variant and
    cell (variant, width, resolution, arch, mflops, peak_mb, under_budget, accuracy: the
    benchmark's, only for the benchmark network, else None). Means are over the models under the
    budget; max_peak_mb is over all sampled. Peaks are in MB (10^6 bytes) at batch 1."""

    space: str
    dataset: str
    memory_mb: float | None
    bytes_per_value: int
    variants: pd.DataFrame
    cells: pd.DataFrame

    @property
    def chosen(self) -> str | None:
        rows = self.variants[self.variants["chosen"]]
        return None if rows.empty else str(rows["label"].iloc[0])

    @property
    def dropped(self) -> list[str]:
        return [str(label) for label in self.variants.loc[~self.variants["kept"], "label"]]


def top_mean(values: Sequence[float], fraction: float = TOP_FRACTION) -> float:
    """Mean of the ceil(fraction · n) largest values (NaN for none)."""
    ordered = sorted(values, reverse=True)
    if not ordered:
        return math.nan
    top = ordered[:max(1, math.ceil(fraction * len(ordered)))]
    return sum(top) / len(top)


def _benchmark_accuracy(space: SearchSpace, dataset: str) -> dict | None:
    """arch string -> the benchmark's accuracy for `dataset`, or None without the table."""
    for file, columns in space.truth_columns.items():
        if dataset in columns:
            try:
                return dict(benchmarks.truth_table(file, columns[dataset]))
            except FileNotFoundError:
                return None
    return None


def _check_budget(memory_mb: float | None) -> None:
    if memory_mb is not None and (isinstance(memory_mb, bool) or not isinstance(memory_mb, (int, float))
                                  or not math.isfinite(memory_mb) or memory_mb <= 0):
        raise ValueError(f"the memory budget must be a number of MB > 0 (or None: no budget), got {memory_mb!r}")


def _variant_row(variant: Variant, costs, archs, is_benchmark: bool, truth) -> tuple[dict, list]:
    """A variant's row and cells before any budget (`apply_budget` fills what depends on it)."""
    cells = []
    for arch, (mflops, peak) in zip(archs, costs):
        text = arch.to_str()
        accuracy = truth.get(text) if is_benchmark and truth is not None else None
        cells.append(dict(variant=variant.label, width=variant.width, resolution=variant.resolution, arch=text,
                          mflops=mflops, peak_mb=peak / MB, under_budget=True, accuracy=accuracy))
    found = sum(c["accuracy"] is not None for c in cells)
    note = ("no benchmark accuracy" if not is_benchmark else "benchmark network (accuracy table not found)"
            if truth is None else f"benchmark network ({found} of {len(cells)} cells in the accuracy table)")
    row = dict(width=variant.width, resolution=variant.resolution, label=variant.label, n_sampled=len(cells),
               max_peak_mb=max(c["peak_mb"] for c in cells), benchmark_accuracy=is_benchmark, accuracy_note=note)
    return row, cells


def apply_budget(result: TinyNASResult, memory_mb: float | None) -> TinyNASResult:
    """The same sampled cells under another memory budget (MB of peak activations; None: no
    budget): which models fit, each variant's FLOPs statistics over them, and the choice. No
    network is built: a budget slider re-ranks what `select_space` counted once."""
    _check_budget(memory_mb)
    cells = result.cells.copy()
    cells["under_budget"] = True if memory_mb is None else cells["peak_mb"] <= memory_mb
    table = result.variants.copy()
    kept = {label: group.loc[group["under_budget"], "mflops"].tolist() for label, group in cells.groupby("variant")}
    table["n_under_budget"] = [len(kept.get(label, [])) for label in table["label"]]
    table["mean_mflops"] = [sum(v) / len(v) if (v := kept.get(label)) else math.nan for label in table["label"]]
    table["top20_mean_mflops"] = [top_mean(kept.get(label, [])) for label in table["label"]]
    table["kept"] = table["n_under_budget"] > 0
    table["chosen"] = False
    if table["kept"].any():
        table.loc[table.loc[table["kept"], "top20_mean_mflops"].idxmax(), "chosen"] = True
    order = ["width", "resolution", "label", "n_sampled", "n_under_budget", "mean_mflops", "top20_mean_mflops",
             "max_peak_mb", "kept", "chosen", "benchmark_accuracy", "accuracy_note"]
    return replace(result, memory_mb=memory_mb, variants=table[order], cells=cells)


def select_space(space: str = "nb201", dataset: str = "cifar10", widths: Sequence[float] = DEFAULT_WIDTHS,
                 resolutions: Sequence[int] = DEFAULT_RESOLUTIONS, samples: int = 200,
                 memory_mb: float | None = None, int8: bool = False, seed: int = 0) -> TinyNASResult:
    """TinyNAS's search-space selection over width × resolution variants (see the module docstring)."""
    space_obj = _space(space)
    variants = [check_variant(w, r) for w in widths for r in resolutions]
    if not variants:
        raise ValueError("give at least one width and one resolution")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    limits.check("cells", samples, "samples")
    _check_budget(memory_mb)
    base = space_obj.config("benchmark", dataset)  # checks the dataset
    rng = random.Random(seed)
    archs = [space_obj.sample(rng) for _ in range(samples)]
    bytes_per_value, truth, units = (1 if int8 else 4), _benchmark_accuracy(space_obj, dataset), {}
    rows, cells = [], []
    for variant in variants:
        config = variant_config(space_obj, dataset, variant.width, variant.resolution)
        costs = cell_costs(space_obj, archs, config, bytes_per_value, units)
        is_benchmark = variant.width == 1.0 and variant.resolution == base.input_size
        row, variant_cells = _variant_row(variant, costs, archs, is_benchmark, truth)
        rows.append(row)
        cells += variant_cells
    counted = TinyNASResult(space_obj.name, dataset, None, bytes_per_value, pd.DataFrame(rows), pd.DataFrame(cells))
    return apply_budget(counted, memory_mb)


# --- a small-scale check by training ----------------------------------------------------------------

def train_check_states(space: str, archs: Sequence, variants: Sequence[tuple[float, int]], epochs: int = 1,
                       train_size: int = 256, val_size: int = 128, seed: int = 0,
                       batch_size: int = 64) -> Iterator[list[dict]]:
    """Train each cell on each variant's network (CIFAR-10 training images, resized to the
    variant's resolution; `swap_core.training`'s recipe, the space's learning rate) and report
    the validation accuracy: a few cells on two variants check at small scale whether the variant
    with more FLOPs trains better. Minutes on a CPU for the benchmark-sized networks; a short run
    ranks networks only roughly. Yields the rows so far (variant, width, resolution, arch, mflops,
    val_accuracy, seconds) after each trained network, for the app's engine."""
    from torch.nn.functional import interpolate

    from . import training

    space_obj = _space(space)
    checked = [check_variant(w, r) for w, r in variants]
    train_set, val_set, _ = training.load_cifar10(train_size, val_size, seed)
    rows: list[dict] = []
    for variant in checked:
        config = variant_config(space_obj, "cifar10", variant.width, variant.resolution)
        resize = (lambda x: x) if variant.resolution == 32 else (
            lambda x: interpolate(x, size=(variant.resolution, variant.resolution), mode="bilinear", align_corners=False))
        sets = [(resize(images), labels) for images, labels in (train_set, val_set)]
        for arch, (mflops, _) in zip(archs, cell_costs(space_obj, archs, config)):
            model = training.seeded_model(space_obj, arch, config, seed)
            result = training.train(model, sets[0], sets[1], epochs=epochs, batch_size=batch_size,
                                    lr=space_obj.training_lr, seed=seed)
            rows.append(dict(variant=variant.label, width=variant.width, resolution=variant.resolution,
                             arch=arch if isinstance(arch, str) else arch.to_str(), mflops=mflops,
                             val_accuracy=result.val_accuracy, seconds=result.seconds))
            yield list(rows)


def train_check(space: str, archs: Sequence, variants: Sequence[tuple[float, int]], **settings: Any) -> pd.DataFrame:
    """`train_check_states` to the end, as one table."""
    rows: list[dict] = []
    for rows in train_check_states(space, archs, variants, **settings):
        pass
    return pd.DataFrame(rows)


def check_pair(result: TinyNASResult) -> list[tuple[float, int]]:
    """The two variants a training check compares: the chosen one and the kept one with the
    fewest mean FLOPs (the cheapest that fits), as (width, resolution)."""
    kept = result.variants[result.variants["kept"]]
    if len(kept) < 2:
        raise ValueError("a training check needs two variants with models under the budget")
    chosen = kept[kept["chosen"]].iloc[0]
    cheapest = kept.loc[kept["mean_mflops"].idxmin()]
    return [(float(chosen["width"]), int(chosen["resolution"])), (float(cheapest["width"]), int(cheapest["resolution"]))]


# --- command line -----------------------------------------------------------------------------------

def parse_list(text: str, kind: type, option: str) -> list:
    """'0.5,0.75,1' -> [0.5, 0.75, 1.0] (kind float) or '16,24' -> [16, 24] (kind int); one-line ValueError."""
    try:
        values = [kind(part.strip()) for part in str(text).split(",") if part.strip()]
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise ValueError(f"{option} wants comma-separated {what} like {'16,24,32' if kind is int else '0.5,1'}, "
                         f"got {str(text)[:60]!r}") from None
    if not values:
        raise ValueError(f"{option} is empty")
    return values


def format_table(result: TinyNASResult) -> str:
    """The variant table as text, one line per variant, the chosen one marked."""
    lines = [f"{'variant':<11} {'sampled':>7} {'fit':>5} {'mean MFLOPs':>11} {'top-20% MFLOPs':>14} "
             f"{'max peak MB':>11}  accuracy"]
    for row in result.variants.itertuples():
        mark = "  <- chosen" if row.chosen else ("  (dropped: no model fits)" if not row.kept else "")
        lines.append(f"{row.label:<11} {row.n_sampled:>7} {row.n_under_budget:>5} {row.mean_mflops:>11.2f} "
                     f"{row.top20_mean_mflops:>14.2f} {row.max_peak_mb:>11.4f}  {row.accuracy_note}{mark}")
    return "\n".join(lines)


def cmd_tinynas(args) -> int:
    from .reproducible import fix_threads

    fix_threads(args.threads)
    result = select_space(args.space, args.dataset, parse_list(args.widths, float, "--widths"),
                          parse_list(args.resolutions, int, "--resolutions"), args.cells, args.memory_mb,
                          args.int8, args.seed)
    unit = "int8" if args.int8 else "float32"
    budget = f"{args.memory_mb:g} MB" if args.memory_mb is not None else "none"
    print(f"TinyNAS space selection: {result.space} on {result.dataset}, {args.cells} cells per variant "
          f"(seed {args.seed}), peak activation memory at batch 1 in {unit}, budget {budget}")
    print(format_table(result))
    print(f"chosen: {result.chosen or 'none (no variant has a model under the budget)'}")
    if args.train_check:
        pair = check_pair(result)
        archs = list(dict.fromkeys(result.cells["arch"]))[:args.train_check]
        table = train_check(result.space, archs, pair, epochs=args.epochs, seed=args.seed)
        print(f"training check ({args.train_check} cells, {args.epochs} epoch(s) on 256 CIFAR-10 images, "
              f"validation on 128):")
        print(table.groupby("variant", sort=False)[["mflops", "val_accuracy", "seconds"]].mean().round(2).to_string())
    if args.out:
        out = Path(args.out)
        result.cells.to_csv(out, index=False)
        variants_out = out.with_name(out.stem + ".variants.csv")
        result.variants.to_csv(variants_out, index=False)
        print(f"wrote {out} (one row per variant and cell) and {variants_out} (one row per variant)", file=sys.stderr)
    return 0


def add_tinynas_parser(sub) -> None:
    """`python -m swap_core tinynas ...` (registered by `cli.build_parser`)."""
    p = sub.add_parser("tinynas", help="TinyNAS search-space selection: FLOPs and peak memory of width x "
                       "resolution variants, the best under a memory budget (MCUNet, NeurIPS 2020)")
    p.add_argument("--space", default="nb201", help=f"one of {', '.join(SPACES)}")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--widths", default=",".join(f"{w:g}" for w in DEFAULT_WIDTHS), help="width multipliers")
    p.add_argument("--resolutions", default=",".join(str(r) for r in DEFAULT_RESOLUTIONS),
                   help="input sides in pixels (integers >= 8, multiples of 4)")
    p.add_argument("--samples", dest="cells", type=int, default=200,
                   help="cells sampled per variant (the same for every one)")
    p.add_argument("--memory-mb", type=float, default=None,
                   help="budget of peak activation memory in MB (10^6 bytes) at batch 1; default: none")
    p.add_argument("--int8", action="store_true", help="count 1 byte per activation value (MCUNet's int8) "
                   "instead of 4 (float32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-check", dest="train_check", type=int, default=0,
                   help="also train this many of the sampled cells on the chosen and the cheapest kept variant "
                        "(small scale: 256 images) and print their validation accuracy")
    p.add_argument("--train-epochs", dest="epochs", type=int, default=1, help="epochs of --train-check")
    p.add_argument("--threads", type=int, default=1, help="torch threads of this process (default 1)")
    p.add_argument("--out", default=None, help="CSV of the cells (variant, width, resolution, arch, mflops, "
                   "peak_mb, under_budget, accuracy); the variant table goes to <out>.variants.csv beside it")
    p.set_defaults(func=cmd_tinynas)
