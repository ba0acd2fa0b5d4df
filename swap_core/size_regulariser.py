"""The size regulariser of SWAP-Score, on scores already computed (Peng et al., "SWAP-NAS:
Sample-Wise Activation Patterns for Ultra-fast NAS", ICLR 2024, Section 3.3; official code
github.com/pym1024/SWAP).

Raw SWAP counts distinct sample-wise activation patterns, and a bigger network has more
ReLU units to show patterns with, so raw SWAP leans towards big networks. The paper
multiplies it by a soft size target

    f(Θ) = exp(−(Θ − μ)² / σ),    regularised SWAP = SWAP × f(Θ),

with Θ the network's parameter count **in thousands** (the official `count_parameters`
divides by 1e3), μ a target size in thousands of parameters and σ a width in (thousands of
parameters)²: f is 1 at Θ = μ and e⁻¹ at |Θ − μ| = √σ. The paper's values for NAS-Bench-201's
benchmark network are about μ = 1000, σ = 1e6 (`proxies.swap.DEFAULT_MU`, `DEFAULT_SIGMA`); the
Size Regulariser page opens at `TUNED_POINTS`, chosen for the network it scores SWAP with.

Everything here works on arrays of raw scores and sizes, so moving μ or σ re-ranks at once
without running a network. Rankings use log SWAP − (Θ − μ)²/σ, which orders the cells
exactly as SWAP × f(Θ) does but never underflows to a tie at 0 when σ is small; Spearman ρ
depends only on that order. `swap_core.proxies.swap.reg_swap` is the same score as a proxy
that runs a network, and `proxies.swap.size_factor` the one implementation of f(Θ).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from .proxies.swap import size_factor

# (space, network preset) -> (μ, σ) the Size Regulariser opens at, chosen by
# `scripts/tune_size_default.py`: `tune_point` over three tables of 300 random cells each
# (sample and Setup seeds 101-103, the page's seed-0 cells left out, batch 64), the highest
# mean Spearman ρ with accuracy. Checked on the page's own seed-0 cells by a test.
TUNED_POINTS: dict[tuple[str, str], tuple[float, float]] = {("nb201", "teaching"): (1180.0, 1e6)}
MU_POINTS = 40  # columns of the ρ grid
SIGMA_STEPS_PER_DECADE = 4  # σ values of the grid and the slider: 10^(k/4)


def regularised(swap, theta_k, mu: float, sigma: float) -> np.ndarray:
    """Regularised SWAP = SWAP × f(Θ) (Peng et al. 2024), elementwise."""
    return np.asarray(swap, dtype=float) * size_factor(theta_k, mu, sigma)


def _log_swap(swap) -> np.ndarray:
    """log SWAP (a count, so never negative; a count of 0 gives −inf and ranks last)."""
    swap = np.asarray(swap, dtype=float)
    if (swap < 0).any():
        raise ValueError("SWAP is a count of patterns and cannot be negative")
    with np.errstate(divide="ignore"):
        return np.log(swap)


def log_regularised(swap, theta_k, mu: float, sigma: float) -> np.ndarray:
    """log SWAP − (Θ − μ)²/σ: the log of the regularised score, same order, no underflow."""
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    return _log_swap(swap) - (np.asarray(theta_k, dtype=float) - mu) ** 2 / sigma


def _complete(*columns) -> list[np.ndarray]:
    """The columns as float arrays, restricted to the rows where all are finite."""
    arrays = [np.asarray(c, dtype=float) for c in columns]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"columns differ in length: {[len(a) for a in arrays]}")
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[keep] for a in arrays]


def _pearson_last_axis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis (b broadcast); NaN where a side is constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))


def rho_grid(swap, theta_k, accuracy, mus: Sequence[float], sigmas: Sequence[float]) -> np.ndarray:
    """Spearman ρ between regularised SWAP and accuracy at every (σ, μ): an array of shape
    (len(sigmas), len(mus)), rows σ, columns μ, over the cells where SWAP, Θ and accuracy
    are all finite (NaN everywhere when fewer than 3). All points at once: average ranks
    (scipy's `rankdata`, as `spearmanr`) along the last axis of a (σ, μ, cell) array."""
    swap, theta, accuracy = _complete(swap, theta_k, accuracy)
    mus, sigmas = np.asarray(mus, dtype=float), np.asarray(sigmas, dtype=float)
    if len(swap) < 3:
        return np.full((len(sigmas), len(mus)), np.nan)
    if (sigmas <= 0).any():
        raise ValueError("every sigma must be positive")
    log_swap = _log_swap(swap)
    penalty = (theta[None, None, :] - mus[None, :, None]) ** 2 / sigmas[:, None, None]
    ranks = sps.rankdata(log_swap[None, None, :] - penalty, axis=-1)
    return _pearson_last_axis(ranks, sps.rankdata(accuracy))


def mu_range(theta_k) -> tuple[float, float, float]:
    """(low, high, step) of a μ slider over the sizes in `theta_k` (thousands): the range
    rounded outwards to a step of about a hundredth of the largest size."""
    theta = np.asarray(theta_k, dtype=float)
    theta = theta[np.isfinite(theta)]
    if not len(theta):
        raise ValueError("no finite parameter count to take a range from")
    step = 10.0 ** max(math.floor(math.log10(max(theta.max(), 1e-9))) - 2, -3)
    low, high = math.floor(theta.min() / step) * step, math.ceil(theta.max() / step) * step
    return low, max(high, low + step), step


def sigma_exponents(low: float, high: float) -> list[float]:
    """log10 σ of the slider and grid for a μ range [low, high] (thousands), in quarter
    decades: from σ ≈ (width/100)², a target as narrow as a hundredth of the range, to
    σ ≈ (3·width)², where f is nearly flat and the ranking is plain SWAP's."""
    width = max(high - low, 1e-3)
    first = math.floor(math.log10((width / 100) ** 2))
    last = math.ceil(math.log10((3 * width) ** 2))
    steps = SIGMA_STEPS_PER_DECADE
    return [k / steps for k in range(first * steps, last * steps + 1)]


def default_grid(theta_k, mu_points: int = MU_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(mus, sigmas) of the ρ heat map: μ evenly over `mu_range`, σ = 10^`sigma_exponents`."""
    low, high, _ = mu_range(theta_k)
    return np.linspace(low, high, mu_points), 10.0 ** np.array(sigma_exponents(low, high))


def tune_point(tables: Sequence[tuple], mus: Sequence[float], sigmas: Sequence[float]) -> tuple[float, float, float]:
    """(μ, σ, mean ρ): the grid point with the highest Spearman ρ of regularised SWAP with
    accuracy, averaged over `tables` of (swap, Θ in thousands, accuracy). Averaging over
    tables scored under other seeds keeps one sample's noise from picking the point; the
    tables must be cells and seeds that the view the point is for never evaluates."""
    if not tables:
        raise ValueError("tune_point needs at least one (swap, theta, accuracy) table")
    mean = np.mean([rho_grid(*table, mus, sigmas) for table in tables], axis=0)
    found = best_point(mean, mus, sigmas)
    if found is None:
        raise ValueError("no table has 3 cells with a finite SWAP, size and accuracy")
    return found


def default_point(theta_k, space: str = "", preset: str = "") -> tuple[float, float]:
    """(μ, log10 σ) a view opens at: the tuned point of (space, preset) (`TUNED_POINTS`), else
    a flat target (the largest σ of the slider, at the median size), which ranks nearly as
    plain SWAP does: a view never opens on a target that nobody checked."""
    if (space, preset) in TUNED_POINTS:
        mu, sigma = TUNED_POINTS[space, preset]
        return mu, math.log10(sigma)
    low, high, step = mu_range(theta_k)
    median = round(float(np.nanmedian(np.asarray(theta_k, dtype=float))) / step) * step
    return median, sigma_exponents(low, high)[-1]


def slider_ranges(theta_k, mu: float, log_sigma: float) -> tuple[float, float, float, list[float]]:
    """(low, high, step, σ exponents) of sliders that cover the sizes in `theta_k` *and* the
    point (μ, log10 σ): the range grows as scores arrive, the point never has to move."""
    low, high, step = mu_range(np.append(np.asarray(theta_k, dtype=float), mu))
    exponents = sigma_exponents(low, high)
    steps = SIGMA_STEPS_PER_DECADE
    first, last = min(exponents[0], math.floor(log_sigma * steps) / steps), max(exponents[-1], log_sigma)
    exponents = sorted({*(k / steps for k in range(round(first * steps), math.ceil(last * steps) + 1)), log_sigma})
    return low, high, step, exponents


def size_bins(theta_k, bins: int = 30) -> np.ndarray:
    """Edges of `bins` equal bins over the finite sizes (thousands): the histogram's bars, so
    a selected bar names the cells in it (`bin_of`)."""
    theta = np.asarray(theta_k, dtype=float)
    theta = theta[np.isfinite(theta)]
    if not len(theta):
        raise ValueError("no finite parameter count to bin")
    low, high = float(theta.min()), float(theta.max())
    return np.linspace(low, high if high > low else low + 1.0, bins + 1)


def bin_of(theta_k, edges: np.ndarray) -> np.ndarray:
    """The bar (0 … len(edges) − 2) each size falls in, the last bar closed on the right; −1
    outside the edges or for a missing size."""
    theta = np.asarray(theta_k, dtype=float)
    index = np.searchsorted(edges, theta, side="right") - 1
    index = np.where(theta == edges[-1], len(edges) - 2, index)
    inside = np.isfinite(theta) & (theta >= edges[0]) & (theta <= edges[-1])
    return np.where(inside, index, -1)


def nearest_slider_point(mu: float, log_sigma: float, theta_k) -> tuple[float, float]:
    """(μ, log10 σ) moved to the nearest values a μ slider over `mu_range` (on its step) and
    a σ slider over `sigma_exponents` offer for these sizes."""
    low, high, step = mu_range(theta_k)
    mu = min(max(round(mu / step) * step, low), high)
    return mu, min(sigma_exponents(low, high), key=lambda exponent: abs(exponent - log_sigma))


def ranking(archs: Sequence[str], swap, theta_k, mu: float, sigma: float, accuracy=None) -> pd.DataFrame:
    """Every cell ranked by regularised SWAP (1 = best; cells without a finite SWAP or Θ
    last): arch, params (M), size factor, SWAP, regularised SWAP, its rank by plain SWAP
    and, when given, accuracy."""
    swap, theta = np.asarray(swap, dtype=float), np.asarray(theta_k, dtype=float)
    key = log_regularised(swap, theta, mu, sigma)
    key = np.where(np.isnan(key), -np.inf, key)
    plain = np.where(np.isfinite(swap), swap, -np.inf)
    table = pd.DataFrame({
        "arch": list(archs), "params (M)": theta / 1e3, "size factor": size_factor(theta, mu, sigma),
        "SWAP": swap, "regularised SWAP": regularised(swap, theta, mu, sigma),
        "rank by SWAP": sps.rankdata(-plain, method="min").astype(int),
    })
    if accuracy is not None:
        table["accuracy"] = np.asarray(accuracy, dtype=float)
    order = np.argsort(-key, kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def top_architectures(archs: Sequence[str], swap, theta_k, mu: float, sigma: float, k: int = 10,
                      accuracy=None) -> pd.DataFrame:
    """The first `k` rows of `ranking`: the best cells by regularised SWAP, with sizes."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return ranking(archs, swap, theta_k, mu, sigma, accuracy).head(k)


def correlations(swap, theta_k, accuracy, mu: float, sigma: float) -> dict[str, float]:
    """n and Spearman ρ with accuracy of plain and of regularised SWAP (same cells: those
    where SWAP, Θ and accuracy are all finite)."""
    swap, theta, accuracy = _complete(swap, theta_k, accuracy)
    plain = _spearman(swap, accuracy)
    regular = _spearman(log_regularised(swap, theta, mu, sigma), accuracy)
    return {"n": len(swap), "swap": plain, "regularised": regular}


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return math.nan
    return float(_pearson_last_axis(sps.rankdata(x), sps.rankdata(y)))


def best_point(grid: np.ndarray, mus: Sequence[float], sigmas: Sequence[float]) -> tuple[float, float, float] | None:
    """(μ, σ, ρ) of the grid's highest ρ, or None when the grid is all NaN."""
    if not np.isfinite(grid).any():
        return None
    row, column = np.unravel_index(np.nanargmax(grid), grid.shape)
    return float(mus[column]), float(sigmas[row]), float(grid[row, column])


__all__ = ["TUNED_POINTS", "best_point", "bin_of", "correlations", "default_grid", "default_point", "log_regularised",
           "mu_range", "nearest_slider_point", "ranking", "regularised", "rho_grid", "sigma_exponents", "size_bins",
           "size_factor", "slider_ranges", "top_architectures", "tune_point"]
