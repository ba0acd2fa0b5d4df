"""What the explorer's views compute about one architecture, as plain functions.

The Cell Designer shows, for the current cell: its size, its ground-truth accuracy and rank
where a benchmark table has it, and every proxy's score with its rank among a random
sample of the same space scored the same way. These functions do that work so the page,
a test and a notebook get the same numbers.
"""
from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
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
from .store import ScoreStore

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


def one_edit_away(space: SearchSpace, arch: str, limit: int = 400) -> list[str]:
    """The cells one editor change away from `arch` (every other option of every edit slot),
    in slot order, at most `limit`: what a user of the Cell Designer can reach in one click,
    scored ahead of the click."""
    current = space.from_str(arch)
    found: dict[str, None] = {}
    for slot in space.edit_slots(current):
        for option in slot.options:
            if option == slot.value or len(found) >= limit:
                continue
            try:
                found[space.with_slot(current, slot.key, option).to_str()] = None
            except ValueError:  # an edit the space refuses (e.g. too many NB101 edges)
                continue
    found.pop(arch, None)
    return list(found)


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


def score_row(setup: Setup, arch: str, names: Iterable[str], *, store: ScoreStore | None = None,
              step: Callable[[], AbstractContextManager] | None = None, keep: bool = True,
              options: Mapping[str, Mapping] | None = None) -> dict:
    """One cell's row (arch, seconds, one column per proxy, errors, `SIZE_COLUMNS`): what
    `store` has, the rest computed by `setup.score` (with the proxies' `options`) and kept in
    `store` (unless `keep` is False: a run that keeps only the rows it publishes does so
    itself). With `step` (background work), the missing proxies are computed one at a time,
    each inside `with step():`, so the caller can pause between them (to let a user's
    request go first)."""
    names = list(names)
    row = None if store is None else store.row(setup, arch, names, options)
    if row is None:
        missing = names if store is None else store.missing(setup, arch, names, options)
        values: dict[str, float] = {}
        errors: dict[str, str] = {}
        seconds = 0.0
        for chunk in ([[n] for n in missing] if step is not None else [missing]):
            with step() if step is not None else nullcontext():
                start = time.perf_counter()
                scores = setup.score(arch, chunk, options=options)
                spent = time.perf_counter() - start
            if store is not None and keep:
                store.put(setup, arch, scores, scores.errors, spent, options)
            values.update(scores)
            errors.update(scores.errors)
            seconds += spent
        for name in (n for n in names if n not in values):  # what the store had already
            entry = store.get(setup, arch, name, (options or {}).get(name))
            values[name], seconds = entry.value, seconds + entry.seconds
            if entry.error:
                errors[name] = entry.error
        row = {"arch": arch, "seconds": seconds, **{n: values[n] for n in names}, "errors": errors}
    return {**row, **benchmark_size(setup, arch)}


def benchmark_size(setup: Setup, arch: str) -> dict[str, float]:
    """`SIZE_COLUMNS` of a cell: its benchmark network's parameters (M) and MFLOPs."""
    params, flops = _benchmark_size(setup.space, setup.dataset, arch)
    return {SIZE_COLUMNS[0]: params / 1e6, SIZE_COLUMNS[1]: flops}


@functools.lru_cache(maxsize=65536)
def _benchmark_size(space: str, dataset: str, arch: str) -> tuple[int, float]:
    return network_size(Setup(space=space, dataset=dataset, preset="benchmark"), arch)


def score_rows(setup: Setup, archs: Sequence[str], names: Iterable[str], *, store: ScoreStore | None = None,
               step: Callable[[], AbstractContextManager] | None = None, keep: bool = True) -> Iterator[dict]:
    """`score_row` of each cell in turn: the generator a page runs in the engine's worker."""
    names = list(names)
    for arch in archs:
        yield score_row(setup, arch, names, store=store, step=step, keep=keep)


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
    "SIZE_COLUMNS", "benchmark_size", "score_row", "score_rows", "Accuracy", "DEVICE_CHOICES", "accuracy_of", "accuracy_table", "describe_devices", "named_architectures",
    "network_size", "one_edit_away", "proxy_table", "rank_among", "resolve_device", "sample_architectures", "score_architectures",
    "truth_specs",
]
