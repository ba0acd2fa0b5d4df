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

Costs (`tinynas_costs`): each cell's are counted in pieces and added up, exactly equal to the
full network's (a test), so 12 NB201 variants × 200 cells take about a second.
Accuracy: the benchmarks trained only their own network (width 1, the dataset's input size);
every other variant has no benchmark accuracy and reports None.
"""
from __future__ import annotations

import math
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from pathlib import Path

import pandas as pd

from . import benchmarks, limits
from .spaces.base import SearchSpace
from .tinynas_costs import MB, SPACES, Variant, cell_costs, check_variant, exact_costs, space_of, variant_config

DEFAULT_WIDTHS = (0.5, 0.75, 1.0, 1.25)
DEFAULT_RESOLUTIONS = (16, 24, 32)
TOP_FRACTION = 0.2


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
    space_obj = space_of(space)
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

    space_obj = space_of(space)
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


__all__ = ["DEFAULT_RESOLUTIONS", "DEFAULT_WIDTHS", "MB", "SPACES", "TOP_FRACTION", "TinyNASResult", "Variant",
           "add_tinynas_parser", "apply_budget", "cell_costs", "check_pair", "check_variant", "cmd_tinynas",
           "exact_costs", "select_space", "top_mean", "train_check", "train_check_states", "variant_config"]
