"""The Pareto front of what a search evaluated: the cells no other evaluated cell beats on
both a value (benchmark accuracy, or the objective's score) and a cost (parameters, FLOPs,
latency), the trade-off curve an efficiency-aware search should end on.

A cell dominates another when its cost is no higher and its value no lower, one of the two
strictly; the front is every cell no other cell dominates, in order of cost. Cells whose
cost or value is NaN or infinite are left out (an infeasible −inf score, an unknown accuracy).

The cost of an evaluated cell is the one its search computed: the constraint's cost where
the run had one (`Evaluation.metrics[cost]`), else Θ, the benchmark network's parameters in
millions (`Setup.size_k`, counted without building a network), so drawing a front never
builds or times a network.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .base import Evaluation

VALUES = ("accuracy", "score")


def pareto_front(costs: Sequence[float], values: Sequence[float]) -> list[int]:
    """Indices of the non-dominated points (lower cost and higher value are better), sorted by
    cost; among points with equal cost and value, the first one only."""
    costs, values = np.asarray(costs, dtype=float), np.asarray(values, dtype=float)
    if costs.shape != values.shape:
        raise ValueError(f"costs and values differ in length: {costs.shape} vs {values.shape}")
    finite = np.flatnonzero(np.isfinite(costs) & np.isfinite(values))
    order = finite[np.lexsort((-values[finite], costs[finite]))]  # by cost, then best value first
    front, best = [], -math.inf
    for i in order:
        if values[i] > best:
            front.append(int(i))
            best = values[i]
    return front


def evaluation_cost(evaluation: Evaluation, cost: str | None, size_k: Callable[[str], float]) -> float:
    """The cost the search computed for `evaluation` (see the module docstring)."""
    if cost is not None and cost in evaluation.metrics:
        return float(evaluation.metrics[cost])
    return size_k(evaluation.arch) / 1e3


def evaluated_points(history: Sequence[Evaluation], cost: str | None, size_k: Callable[[str], float],
                     value: str = "accuracy") -> list[dict[str, Any]]:
    """Every cell a search evaluated, once: [{arch, cost, value, score, accuracy, step}] (a search
    may record a cell again, e.g. a truth lookup after its score: the record with the cost wins)."""
    if value not in VALUES:
        raise ValueError(f"the front's value must be one of {VALUES}, got {value!r}")
    cells: dict[str, Evaluation] = {}
    for evaluation in history:
        kept = cells.get(evaluation.arch)
        if kept is None or (cost in evaluation.metrics and cost not in kept.metrics):
            cells[evaluation.arch] = evaluation
    return [{"arch": e.arch, "cost": evaluation_cost(e, cost, size_k), "value": getattr(e, value),
             "score": e.score, "accuracy": e.accuracy, "step": e.step} for e in cells.values()]


def evaluated_front(history: Sequence[Evaluation], cost: str | None, size_k: Callable[[str], float],
                    value: str = "accuracy") -> list[dict[str, Any]]:
    """The Pareto front of `evaluated_points`, by cost."""
    points = evaluated_points(history, cost, size_k, value)
    return [points[i] for i in pareto_front([p["cost"] for p in points], [p["value"] for p in points])]


__all__ = ["VALUES", "evaluated_front", "evaluated_points", "evaluation_cost", "pareto_front"]
