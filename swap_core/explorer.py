"""What the explorer's views compute about one architecture, as plain functions.

The Cell Designer shows, for the current cell: its size, its ground-truth accuracy and rank
where a benchmark table has it, and every proxy's score with its rank among a random
sample of the same space scored the same way. These functions do that work so the page,
a test and a notebook get the same numbers.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from . import benchmarks
from .devices import DEVICE_CHOICES, describe_devices, resolve_device
from .init import meta_network
from .netstats import count_flops, count_params
from .proxies import get_proxy
from .setup import Setup
from .spaces import SearchSpace, get_space

# Every scored cell also carries the size of its *benchmark* network (the published model,
# whose accuracy the ground truth gives), whatever network the proxies ran on.
SIZE_COLUMNS = ("benchmark params (M)", "benchmark FLOPs (M)")


# --- ground truth ---------------------------------------------------------------------------
def truth_specs(space: str, dataset: str) -> list[str]:
    """Ground-truth accuracy tables for (space, dataset), best first, as "FILE:COLUMN"
    (the space knows its tables: `SearchSpace.truth_specs`)."""
    return get_space(space).truth_specs(dataset)


def accuracy_table(space: str, dataset: str, data_dir=None) -> tuple[str, Mapping[str, float]] | None:
    """The first ground-truth table found for (space, dataset): (spec, arch → accuracy)."""
    for spec in truth_specs(space, dataset):
        try:
            return spec, benchmarks.truth_table(spec, data_dir=data_dir)
        except benchmarks.MissingDataError:
            continue
    return None


@dataclass(frozen=True)
class Accuracy:
    """Ground-truth accuracy of one architecture and its rank (1 = best) in the table."""

    value: float
    rank: int
    of: int
    table: str


def accuracy_of(space: str, dataset: str, arch: str, data_dir=None) -> Accuracy | None:
    """None when no table is found or the table lacks this architecture."""
    for spec in truth_specs(space, dataset):
        try:
            table = benchmarks.truth_table(spec, data_dir=data_dir)
        except benchmarks.MissingDataError:
            continue
        if arch in table:
            value = table[arch]
            better = sum(1 for other in table.values() if other > value)  # ~2 ms for 15,625 cells
            return Accuracy(value, better + 1, len(table), spec)
    return None


def named_architectures(space: str, dataset: str, data_dir=None) -> dict[str, str]:
    """Presets for the Cell Designer: best and worst by ground-truth accuracy (when a table
    is found), then the space's hand-picked cells."""
    space_obj = get_space(space)
    named: dict[str, str] = {}
    found = accuracy_table(space, dataset, data_dir)
    if found is not None and found[1]:
        spec, table = found
        label = spec.split(":")[0]
        named[f"best by accuracy ({label})"] = max(table, key=table.get)
        named[f"worst by accuracy ({label})"] = min(table, key=table.get)
    named.update(space_obj.named_archs)
    return named


# --- size and scores ------------------------------------------------------------------------
def network_size(setup: Setup, arch, preset: str | None = None) -> tuple[int, float]:
    """(parameters, MFLOPs per image) of the network `setup` builds for `arch` (of `preset`
    when given, e.g. "benchmark"), counted on PyTorch's meta device: no weights are made."""
    setup = setup if preset is None else setup.replace(preset=preset)
    model = meta_network(setup.space_obj, setup.space_obj.from_str(setup.arch_str(arch)), setup.config)
    return count_params(model), count_flops(model, setup.config.input_size)


def sample_architectures(space: SearchSpace, n: int, seed: int) -> list[str]:
    """`n` distinct random architecture strings of the space, reproducible from `seed`."""
    rng = random.Random(seed)
    archs: dict[str, None] = {}
    for _ in range(100 * n):
        if len(archs) == n:
            break
        archs[space.sample(rng).to_str()] = None
    return list(archs)


def score_architectures(setup: Setup, archs: Sequence[str], names: Iterable[str], *,
                        progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per architecture: arch, seconds, then one column per proxy (NaN where a proxy
    is not defined for that network; column `errors` maps such a proxy to the reason), each
    scored by `setup.score`, the path every page and command shares."""
    names = list(names)
    rows = []
    for done, arch in enumerate(archs):
        start = time.perf_counter()
        scores = setup.score(arch, names)
        rows.append({"arch": arch, "seconds": time.perf_counter() - start, **scores, "errors": dict(scores.errors)})
        if progress is not None:
            progress(done + 1, len(archs))
    return pd.DataFrame(rows, columns=["arch", "seconds", *names, "errors"])


def score_rows(setup: Setup, archs: Sequence[str], names: Iterable[str]) -> Iterator[dict]:
    """The rows of `score_architectures`, one cell at a time, each with the sizes of the cell's
    benchmark network (`SIZE_COLUMNS`): the generator a page runs in the engine's worker."""
    names = list(names)
    for arch in archs:
        row = score_architectures(setup, [arch], names).iloc[0].to_dict()
        params, flops = network_size(setup, arch, "benchmark")
        yield {**row, SIZE_COLUMNS[0]: params / 1e6, SIZE_COLUMNS[1]: flops}


def rank_among(value: float, reference: Sequence[float], higher_is_better: bool) -> tuple[int, int] | None:
    """(rank, n): where `value` would stand among the finite `reference` values plus itself,
    1 = best in the proxy's own direction. None when `value` is not finite."""
    if not math.isfinite(value):
        return None
    finite = [v for v in reference if math.isfinite(v)]
    better = sum(1 for v in finite if (v > value if higher_is_better else v < value))
    return better + 1, len(finite) + 1


def proxy_table(scores: Mapping[str, float], errors: Mapping[str, str], reference: pd.DataFrame | None,
                names: Iterable[str]) -> pd.DataFrame:
    """The Cell Designer's table: one row per proxy with its score, its rank among the
    reference sample (if given) and, for a missing score, why."""
    rows = []
    for name in names:
        info = get_proxy(name)
        value = scores.get(name, math.nan)
        ranked = None
        if reference is not None and name in reference and reference[name].notna().any():
            ranked = rank_among(value, reference[name].tolist(), info.higher_is_better)
        rows.append({
            "proxy": name, "name": info.display_name, "score": value,
            "rank": f"{ranked[0]} of {ranked[1]}" if ranked else "",
            "beats %": 100.0 * (ranked[1] - ranked[0]) / max(ranked[1] - 1, 1) if ranked else math.nan,
            "better": "higher" if info.higher_is_better else "lower",
            "note": errors.get(name, ""),
        })
    return pd.DataFrame(rows)


__all__ = [
    "SIZE_COLUMNS", "score_rows", "Accuracy", "DEVICE_CHOICES", "accuracy_of", "accuracy_table", "describe_devices", "named_architectures",
    "network_size", "proxy_table", "rank_among", "resolve_device", "sample_architectures", "score_architectures",
    "truth_specs",
]
