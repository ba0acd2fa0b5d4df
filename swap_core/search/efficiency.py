"""Efficiency-aware objectives: a proxy score combined with a cost (parameters, FLOPs or
measured latency) of the network, so that a search prefers small or fast networks.

Three ways to combine a score s with a cost c against a target τ:

- **hard constraint** — s if c ≤ τ, else −inf ("infeasible"). −inf rather than NaN so that
  an evolution ranks an infeasible network below every feasible one (NaN means "undefined"
  and is also ranked last by `base.score_key`); `best_of` never returns either, so a search
  that finds nothing feasible returns None.
- **soft MNAS reward** — s × (c/τ)^γ with γ < 0 (Tan et al., "MnasNet: Platform-Aware Neural
  Architecture Search for Mobile", CVPR 2019, Eq. 2, soft constraint α = β = −0.07): 1 at
  c = τ, a bonus below the target and a penalty above it. The product only penalises a
  costlier network when s ≥ 0; for a negative score (e.g. a negated lower-is-better proxy)
  the score is divided by the factor instead, so that in both cases a higher cost never
  raises the reward (MNAS only ever scores accuracies, which are positive).
- **weighted sum** — s − λ·c, in the units of each (no normalisation: λ converts a unit of
  cost into units of the score, so pick it for the scale of the proxy at hand).

Costs: `params` in millions and `flops` in MFLOPs (`swap_core.netstats`), `latency` in
milliseconds, the median of a few timed forward passes on the device the search runs on.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..latency import measure_latency  # the one timing function (swap_core.latency); importable here
from ..netstats import count_flops, count_params
from ..spaces import NetworkConfig, SearchSpace

MNAS = "Tan et al., MnasNet: Platform-Aware Neural Architecture Search for Mobile (CVPR 2019)"
COSTS = {"params": "millions of parameters", "flops": "MFLOPs per image", "latency": "milliseconds per forward pass"}
MODES = ("hard", "mnas", "weighted")
MNAS_GAMMA = -0.07  # the MnasNet paper's soft-constraint exponent
_SPEC = re.compile(r"^\s*([a-z_]+)\s*(<=|<)\s*([0-9.eE+-]+)\s*$")

CostFn = Callable[[str], float]


@dataclass(frozen=True)
class Constraint:
    """`cost <= limit` (or `<`), cost one of `COSTS`, limit in that cost's unit."""

    cost: str
    limit: float
    strict: bool = False

    def satisfied(self, value: float) -> bool:
        return value < self.limit if self.strict else value <= self.limit

    def __str__(self) -> str:
        return f"{self.cost}{'<' if self.strict else '<='}{self.limit:g}"


def parse_constraint(spec: str) -> Constraint:
    """"params<=0.5" → Constraint("params", 0.5). Costs: params (M), flops (MFLOPs), latency
    (ms); operators `<=` and `<`; the limit must be a positive number."""
    match = _SPEC.match(spec or "")
    if match is None:
        raise ValueError(f"malformed constraint {spec!r}: expected COST<=LIMIT, e.g. 'params<=0.5' "
                         f"(COST one of {', '.join(COSTS)})")
    cost, operator, number = match.groups()
    if cost not in COSTS:
        raise ValueError(f"unknown cost {cost!r} in constraint {spec!r}; expected one of {list(COSTS)}")
    try:
        limit = float(number)
    except ValueError:
        raise ValueError(f"the limit of constraint {spec!r} is not a number: {number!r}") from None
    if not limit > 0 or not math.isfinite(limit):
        raise ValueError(f"the limit of constraint {spec!r} must be a positive number, got {number}")
    return Constraint(cost, limit, strict=operator == "<")


def hard_constraint(score: float, cost: float, constraint: Constraint) -> float:
    """score where the constraint holds, −inf where it does not (NaN stays NaN)."""
    if math.isnan(score) or math.isnan(cost):
        return math.nan
    return score if constraint.satisfied(cost) else -math.inf


def mnas_reward(score: float, cost: float, target: float, gamma: float = MNAS_GAMMA) -> float:
    """s × (c/τ)^γ (MnasNet's soft reward); s / (c/τ)^γ for s < 0, see the module docstring."""
    if target <= 0:
        raise ValueError(f"the MNAS target must be positive, got {target}")
    if math.isnan(score) or not cost > 0:  # a zero or NaN cost has no ratio to the target
        return math.nan
    factor = (cost / target) ** gamma
    return score * factor if score >= 0 else score / factor


def weighted_sum(score: float, cost: float, weight: float) -> float:
    """s − λ·c."""
    return score - weight * cost


def combine(score: float, cost: float, constraint: Constraint, mode: str = "hard", *,
            gamma: float = MNAS_GAMMA, weight: float = 1.0) -> float:
    """The efficiency-aware score of one network under `mode` (one of `MODES`)."""
    if mode == "hard":
        return hard_constraint(score, cost, constraint)
    if mode == "mnas":
        return mnas_reward(score, cost, constraint.limit, gamma)
    if mode == "weighted":
        return weighted_sum(score, cost, weight)
    raise ValueError(f"unknown efficiency mode {mode!r}; expected one of {list(MODES)}")


def reward_curves(score: float, constraint: Constraint, costs: Sequence[float], *, gamma: float = MNAS_GAMMA,
                  weight: float = 1.0) -> dict[str, list[float]]:
    """Each mode's reward of a network of score `score` at every cost of `costs` (for drawing
    the three forms side by side; an infeasible hard reward is None rather than −inf)."""
    curves = {}
    for mode in MODES:
        values = [combine(score, c, constraint, mode, gamma=gamma, weight=weight) for c in costs]
        curves[mode] = [v if math.isfinite(v) else None for v in values]
    return curves


def cost_function(space: SearchSpace, config: NetworkConfig, cost: str, *, device: str | torch.device = "cpu",
                  batch: int = 1, repeats: int = 5) -> CostFn:
    """arch → its cost on the network `config` builds (see `COSTS` for units). Latency runs
    a batch of `batch` zero images of the config's size on `device`, measured afresh each
    time; parameters and FLOPs are counted once per architecture."""
    if cost not in COSTS:
        raise ValueError(f"unknown cost {cost!r}; expected one of {list(COSTS)}")
    counted: dict[str, float] = {}

    def of(arch: str) -> float:
        if arch in counted:
            return counted[arch]
        model = space.build(arch, config)
        if cost == "latency":
            inputs = torch.zeros(batch, 3, config.input_size, config.input_size, device=device)
            return measure_latency(model.to(device), inputs, repeats)
        value = count_params(model) / 1e6 if cost == "params" else count_flops(model, config.input_size)
        counted[arch] = value
        return value

    return of


__all__ = ["COSTS", "MNAS", "MNAS_GAMMA", "MODES", "Constraint", "CostFn", "combine", "cost_function",
           "hard_constraint", "measure_latency", "mnas_reward", "parse_constraint", "reward_curves", "weighted_sum"]
