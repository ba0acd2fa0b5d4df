"""Rank statistics for comparing proxies with ground truth and with each other: rank
correlation, partial rank correlation, top-k overlap (scipy and pandas do the arithmetic)."""
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


def _ranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values)


def partial_rank_correlation(x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> float:
    """Spearman partial correlation of x and y controlling for z: the Pearson partial
    correlation of the ranks, (r_xy − r_xz·r_yz) / √((1 − r_xz²)(1 − r_yz²)), over the
    triples where all three are finite. "Is this proxy just counting parameters?" — with
    z = parameters, what is left of the proxy's correlation with accuracy. NaN when fewer
    than 4 triples remain, a variable is constant, or z explains x or y entirely."""
    data = np.column_stack([np.asarray(v, dtype=float) for v in (x, y, z)])
    data = data[np.isfinite(data).all(axis=1)]
    if len(data) < 4 or (np.ptp(data, axis=0) == 0).any():
        return math.nan
    r = np.corrcoef(np.column_stack([_ranks(data[:, i]) for i in range(3)]), rowvar=False)
    unexplained_x, unexplained_y = 1 - r[0, 2] ** 2, 1 - r[1, 2] ** 2
    if min(unexplained_x, unexplained_y) < 1e-9:
        return math.nan
    return float((r[0, 1] - r[0, 2] * r[1, 2]) / math.sqrt(unexplained_x * unexplained_y))


def top_k(values: Sequence[float], k: int, higher_is_better: bool = True) -> set[int]:
    """Indices of the k best finite values (ties broken by position)."""
    values = np.asarray(values, dtype=float)
    finite = np.flatnonzero(np.isfinite(values))
    order = finite[np.argsort(-values[finite] if higher_is_better else values[finite], kind="stable")]
    return set(order[:k].tolist())


def top_k_overlap(a: Sequence[float], b: Sequence[float], k: int, higher_a: bool = True,
                  higher_b: bool = True) -> float:
    """|top-k(a) ∩ top-k(b)| / k. With b = accuracy it is the share of the true top-k that
    the proxy's top-k contains (recall at k)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return len(top_k(a, k, higher_a) & top_k(b, k, higher_b)) / k


def correlation_matrix(columns: dict[str, Sequence[float]]) -> "pd.DataFrame":
    """Spearman ρ between every pair of columns, each pair over the rows where both are
    finite (NASLib's NAS-Bench-Suite-Zero figure)."""
    import pandas as pd

    frame = pd.DataFrame({name: np.asarray(v, dtype=float) for name, v in columns.items()})
    return frame.replace([np.inf, -np.inf], np.nan).corr(method="spearman", min_periods=3)
