"""Searches on precomputed scores: an objective that is a table lookup (scores written by
`python -m swap_core score`), so that an algorithm's loop and the regulariser's μ and σ can
be studied over many seeds in seconds — how μ and σ of SWAP-NAS were chosen for the README's
table (on a table scored under another seed than the evaluation's, see there).

A replayed search costs no network evaluation, so its `seconds` say nothing about a real
search; its counts of evaluations are those a real search would make.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..spaces import SearchSpace
from .base import Budget, Scorer, run_to_end
from .objectives import size_regularised
from .registry import get_algorithm


def table_scorer(scores: Mapping[str, float], params: Mapping[str, float] | None = None) -> Scorer:
    """arch -> (its score in `scores`, its params in `params`); NaN where a table lacks it."""
    params = params or {}

    def scorer(arch: str) -> tuple[float, float]:
        return float(scores.get(arch, math.nan)), float(params.get(arch, math.nan))

    return scorer


def replay(space: SearchSpace, algorithm: str, scorer: Scorer, evaluations: int, seeds: Iterable[int],
           truth: Mapping[str, float], **options: Any) -> list[float]:
    """The truth of the architecture each seed's run of `algorithm` returns (NaN for none)."""
    info = get_algorithm(algorithm)
    chosen = {**dict(info.options), **options}
    accuracies = []
    for seed in seeds:
        state = run_to_end(info.fn(space, Budget(algorithm, scorer, truth), evaluations, seed, **chosen))
        accuracies.append(float(truth.get(state.best.arch, math.nan)) if state.best else math.nan)
    return accuracies


def regulariser_grid(space: SearchSpace, swap: Mapping[str, float], size_k: Mapping[str, float],
                     truth: Mapping[str, float], mus: Sequence[float], sigmas: Sequence[float],
                     seeds: Sequence[int], evaluations: int, algorithm: str = "swap-nas",
                     **options: Any) -> list[dict[str, float]]:
    """Mean and std over `seeds` of the accuracy `algorithm` reaches with SWAP (the table
    `swap`) regularised on sizes `size_k` (thousands), for every (μ, σ) of the grid."""
    rows = []
    for mu in mus:
        for sigma in sigmas:
            scorer = size_regularised(table_scorer(swap), lambda arch: size_k[arch], mu, sigma)
            accuracies = [a for a in replay(space, algorithm, scorer, evaluations, seeds, truth, **options)
                          if math.isfinite(a)]
            rows.append({"mu": mu, "sigma": sigma, "mean": statistics.fmean(accuracies),
                         "std": statistics.pstdev(accuracies), "n": len(accuracies)})
    return rows


__all__ = ["regulariser_grid", "replay", "table_scorer"]
