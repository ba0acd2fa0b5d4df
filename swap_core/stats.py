"""Rank statistics for comparing proxies with ground truth (scipy does the arithmetic)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


def _finite_pairs(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.shape[0]} vs {y.shape[0]}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """n, Spearman ρ and Kendall τ over the pairs where both values are finite.

    Returns NaN correlations when fewer than 3 pairs remain or one side is constant.
    """
    x, y = _finite_pairs(x, y)
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"n": n, "spearman": math.nan, "kendall": math.nan}
    return {
        "n": n,
        "spearman": float(stats.spearmanr(x, y).statistic),
        "kendall": float(stats.kendalltau(x, y).statistic),
    }
