"""HNAS's hybrid search (Shu, Dai, Wu, Low, "Unifying and Boosting Gradient-Based
Training-Free Neural Architecture Search", NeurIPS 2022; official code github.com/shuyao95/HNAS).

HNAS ranks candidates by the training-free score μ·|M² − ν| + κ/M (lower is better; M the
NTK trace norm, κ its condition number, `swap_core.proxies.hnas`), and chooses its two
hyperparameters (μ, ν) by Bayesian optimisation, whose objective is the (validation)
accuracy of the candidate each (μ, ν) picks — the "hybrid" part: a few trainings steer a
training-free ranking. Here:

1. score `evaluations` distinct random architectures with the `hnas` objective (M and κ of
   each; proxy evaluations);
2. Bayesian optimisation over x = (u, q) ∈ [0, 1]²: μ = 10^(6u − 3) on normalised terms
   (|M² − ν| / median M², (κ/M) / median κ/M — a positive rescaling of the whole score,
   so the argmin is the paper's for μ·median(κ/M)/median(M²)) and ν = the q-quantile of M²
   over the pool. Each x picks the pool's argmin; its accuracy is looked up (a truth lookup;
   an architecture already looked up is not looked up again) and is the BO objective;
3. the answer is the looked-up architecture with the highest accuracy.

The BO is deliberately small: a Gaussian process with an RBF kernel on standardised
accuracies, its length scale chosen by marginal likelihood from a short grid, expected
improvement maximised over random points; `initial` random x before the first fit.
"""
from __future__ import annotations

import math
import random

import numpy as np
from scipy.stats import norm

from ..spaces import SearchSpace
from .base import Budget, Evaluation, SearchGenerator, best_of, finished
from .random_search import score_random

LENGTH_SCALES = (0.05, 0.1, 0.2, 0.4, 0.8)
NOISE = 1e-4  # GP noise variance on standardised accuracies (duplicate picks give equal y)


def rbf(a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
    distance = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
    return np.exp(-0.5 * distance / length ** 2)


def gp_posterior(x: np.ndarray, y: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of a zero-mean GP (unit signal variance, RBF kernel with the
    length scale of highest marginal likelihood in `LENGTH_SCALES`) on standardised y."""
    best = None
    for length in LENGTH_SCALES:
        chol = np.linalg.cholesky(rbf(x, x, length) + NOISE * np.eye(len(x)))
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
        evidence = -0.5 * y @ alpha - np.log(np.diag(chol)).sum()
        if best is None or evidence > best[0]:
            best = (evidence, length, chol, alpha)
    _, length, chol, alpha = best
    cross = rbf(query, x, length)
    mean = cross @ alpha
    v = np.linalg.solve(chol, cross.T)
    return mean, np.sqrt(np.maximum(1.0 - (v * v).sum(axis=0), 1e-12))


def expected_improvement(x: np.ndarray, y: np.ndarray, query: np.ndarray) -> np.ndarray:
    """EI (maximisation) of `query` points under the GP fitted to (x, y)."""
    scale = y.std() or 1.0
    z = (y - y.mean()) / scale
    mean, std = gp_posterior(x, z, query)
    gain = (mean - z.max()) / std
    return (mean - z.max()) * norm.cdf(gain) + std * norm.pdf(gain)


class HnasRanking:
    """The pool's M and κ, and the argmin of the normalised HNAS score for x = (u, q)."""

    def __init__(self, pool: list[Evaluation]):
        usable = [e for e in pool if _finite_positive(e.metrics.get("m_trace")) and
                  not math.isnan(e.metrics.get("kappa", math.nan))]
        if not usable:
            raise ValueError("hnas: no candidate has a finite M_trace and κ (the objective must be 'hnas')")
        self.pool = usable
        m = np.array([e.metrics["m_trace"] for e in usable])
        self.m2 = m ** 2
        self.kappa_over_m = np.array([e.metrics["kappa"] for e in usable]) / m
        finite = self.kappa_over_m[np.isfinite(self.kappa_over_m)]
        self.scale_a = float(np.median(self.m2))
        self.scale_b = float(np.median(finite)) if len(finite) else 1.0

    def pick(self, x: np.ndarray) -> Evaluation:
        mu = 10.0 ** (6.0 * x[0] - 3.0)
        nu = float(np.quantile(self.m2, x[1]))
        score = mu * np.abs(self.m2 - nu) / self.scale_a + self.kappa_over_m / self.scale_b
        return self.pool[int(np.argmin(score))]  # κ = ∞ ranks last; ties: the first scored


def _finite_positive(value) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def _next_point(rng: np.random.Generator, xs: list, ys: list, initial: int, candidates: int) -> np.ndarray:
    """A random x for the first `initial` steps (or while the accuracies seen are all equal
    or missing), then the candidate of highest expected improvement."""
    known = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    if len(xs) < initial or len({y for _, y in known}) < 2:
        return rng.random(2)
    query = rng.random((candidates, 2))
    x, y = (np.array(column) for column in zip(*known))
    return query[int(np.argmax(expected_improvement(x, y, query)))]


def hnas(space: SearchSpace, budget: Budget, evaluations: int, seed: int = 0, *, lookups: int = 20,
         initial: int = 4, candidates: int = 512) -> SearchGenerator:
    """HNAS: a pool of `evaluations` candidates scored with the `hnas` objective, then BO
    over (μ, ν) with up to `lookups` truth lookups (at most 10 × `lookups` BO steps)."""
    if lookups < 1 or initial < 1 or candidates < 1:
        raise ValueError(f"hnas needs lookups, initial and candidates >= 1, got {lookups}, {initial}, {candidates}")
    yield from score_random(space, budget, evaluations, random.Random(seed))
    ranking = HnasRanking(list(budget.history))
    rng = np.random.default_rng(seed)
    looked: dict[str, Evaluation] = {}
    xs: list[np.ndarray] = []
    ys: list[float] = []
    for _ in range(10 * lookups):
        if len(looked) >= lookups:
            break
        x = _next_point(rng, xs, ys, initial, candidates)
        pick = ranking.pick(x)
        if pick.arch not in looked:
            looked[pick.arch] = budget.lookup(pick.arch)
            yield budget.state(ranking.pool, best_of(looked.values()))
        xs.append(x)
        ys.append(looked[pick.arch].accuracy)
    yield finished(budget.state(ranking.pool, best_of(looked.values())))


__all__ = ["HnasRanking", "expected_improvement", "gp_posterior", "hnas", "rbf"]
