"""Objectives a search maximises: a scorer `arch -> (score, params[, metrics])` built from

- any registered proxy, oriented so that higher is better (`proxy_scorer`);
- regularised SWAP (Peng et al., "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast
  NAS", ICLR 2024, Section 3.3): SWAP on the network the search scores × exp(−(Θ − μ)²/σ),
  Θ in thousands of parameters of the cell's *benchmark* network (`Setup.size_k`, counted
  without allocating weights and cached per cell) even when SWAP runs on the small teaching
  network, so the paper's μ and σ for NAS-Bench-201 keep their meaning; equal to the
  `reg_swap` proxy of `Setup.score`;
- an ensemble of proxies (`ensemble_scorer`), scored online, see there;
- HNAS's metrics (`hnas_scorer`): M_trace as the score, M_trace and κ in `metrics`
  (Shu et al., "Unifying and Boosting Gradient-Based Training-Free NAS", NeurIPS 2022);
- any of these under an efficiency constraint or reward (`efficient`, see `efficiency`).

`build_objective` puts them together from names, as the CLI and the app ask for them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..ensembles import get_ensemble, list_ensembles, normalised_ranks
from ..proxies import ProxyError, get_proxy
from ..proxies.hnas import hnas_metrics
from ..proxies.swap import DEFAULT_MU, DEFAULT_SIGMA, size_factor
from ..setup import SIZE_PRESET, Setup
from .base import Scorer
from .efficiency import MNAS_GAMMA, Constraint, CostFn, combine

HNAS = "hnas"
HNAS_BATCH = 64  # HNAS's metric batch (search.py --metric_batch_size)

# μ, σ of reg_swap chosen for a (space, network preset) by replaying SWAP-NAS (1,000
# evaluations) on whole-space SWAP tables scored under seeds 100-103, never the seeds of the
# README's results (scripts/tune_regulariser.py; grid in results/search/regulariser_grid_*.csv).
TUNED_REGULARISER: dict[tuple[str, str], tuple[float, float]] = {("nb201", "teaching"): (1500.0, 3.16228e6)}


def proxy_scorer(setup: Setup, proxy: str, *, options: Mapping[str, Any] | None = None) -> Scorer:
    """arch -> (score, params in millions of the scored network): `proxy` through
    `setup.score` (the same number as every page and `score`), negated for a lower-is-better
    proxy; NaN when it is undefined for the network."""
    info = get_proxy(proxy)
    sign = 1.0 if info.higher_is_better else -1.0

    def scorer(arch: str) -> tuple[float, float]:
        value = setup.score(arch, [proxy], options={proxy: dict(options or {})})[proxy]
        return sign * value, setup.params(arch) / 1e6

    return scorer


def size_of(setup: Setup) -> CostFn:
    """arch -> Θ, thousands of parameters of the cell's benchmark network (`Setup.size_k`)."""
    return setup.size_k


def size_regularised(base: Scorer, size_k: CostFn, mu: float = DEFAULT_MU, sigma: float = DEFAULT_SIGMA) -> Scorer:
    """score × f(Θ) (`proxies.swap.size_factor`), Θ = `size_k(arch)` in thousands; metrics keep
    the raw score, Θ and the factor. For SWAP (a count, never negative) this is regularised
    SWAP, equal to the `reg_swap` proxy of `Setup.score`."""
    size_factor(1.0, mu, sigma)  # checks sigma

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        raw, params, *rest = base(arch)
        theta = size_k(arch)
        factor = size_factor(theta, mu, sigma)
        return raw * factor, params, {**(rest[0] if rest else {}), "raw": raw, "size_k": theta, "size_factor": factor}

    return scorer


def ensemble_scorer(setup: Setup, ensemble: str, members: Sequence[str] | None = None) -> Scorer:
    """An ensemble of proxies as an online objective. An ensemble (`swap_core.ensembles`)
    scores a *set* of architectures, so here each new architecture is scored by its members
    and then ranked against every architecture this scorer has seen so far (the scored
    history, itself included): the score is the normalised rank, in [0, 1] (1 = best so far),
    of its ensemble score in that set. The score is fixed when it is computed; an
    architecture scored early was ranked against fewer others. Members' raw scores go to
    `metrics`."""
    rule = get_ensemble(ensemble)
    names = [member_proxy(m) for m in (rule.default_members if members is None else members)]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"an ensemble needs distinct members, got {names}")
    table: dict[str, list[float]] = {m: [] for m in names}

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        values = setup.score(arch, names)
        for member in names:
            table[member].append(values[member])
        combined = rule.combine(table, names)
        ranks = normalised_ranks(combined)
        return float(ranks[-1]), setup.params(arch) / 1e6, {m: values[m] for m in names}

    return scorer


def member_proxy(member: str) -> str:
    """The proxy name of an ensemble member given by name or by its NAS-Bench-Suite-Zero
    column (`jacov` → `jacob_cov`)."""
    from ..proxies import list_proxies

    for name in list_proxies():
        if member in (name, get_proxy(name).reference_column):
            return name
    raise ValueError(f"unknown ensemble member {member!r}: expected a proxy name, one of {list_proxies()}")


def hnas_scorer(setup: Setup) -> Scorer:
    """arch -> (M_trace, params, {"m_trace", "kappa"}) on the Setup's network, at the Setup's
    batch (HNAS's own 64 when it has none); the HNAS search combines the two itself. NaN when
    the network passes no gradient."""
    batch = setup.inputs(setup.batch or HNAS_BATCH)

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        model = setup.network(arch)
        try:
            metrics = hnas_metrics(model, batch.images.to(setup.device), batch.labels.to(setup.device))
        except ProxyError:
            metrics = {"m_trace": math.nan, "kappa": math.nan}
        return metrics["m_trace"], setup.params(arch) / 1e6, metrics

    return scorer


def efficient(base: Scorer, cost: CostFn, constraint: Constraint, mode: str = "hard", *,
              gamma: float = MNAS_GAMMA, weight: float = 1.0, margin: float = 0.0) -> Scorer:
    """`base` combined with `cost(arch)` under `constraint` (`efficiency.combine`); metrics
    keep the score before and the cost. `margin` (≥ 0) is added to the cost a hard constraint
    checks, for a predicted cost: the constraint then holds for cost + margin (metrics:
    `bound`), so a cell accepted on a prediction is under the limit when measured unless the
    prediction errs by more than the margin."""
    if not margin >= 0:
        raise ValueError(f"the cost margin must be >= 0, got {margin}")

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        raw, params, *rest = base(arch)
        value = cost(arch)
        checked = value + margin if mode == "hard" else value
        combined = combine(raw, checked, constraint, mode, gamma=gamma, weight=weight)
        metrics = {**(rest[0] if rest else {}), "before_cost": raw, constraint.cost: value}
        return combined, params, {**metrics, "bound": checked} if margin and mode == "hard" else metrics

    return scorer


def objective_names() -> list[str]:
    """Every name `build_objective` accepts (ensembles also as NAME:MEMBER,MEMBER,...)."""
    from ..proxies import list_proxies

    return list_proxies() + list_ensembles() + [HNAS]


def check_objective(objective: str) -> str:
    """`objective` if `build_objective` knows it (members of an ensemble checked too), else ValueError."""
    name, sep, members = objective.partition(":")
    if name not in objective_names() or (sep and name not in list_ensembles()):
        raise ValueError(f"unknown objective {objective!r}; expected a proxy, an ensemble (NAME or "
                         f"NAME:MEMBER,MEMBER) or 'hnas': {objective_names()}")
    for member in members.split(",") if sep else ():
        member_proxy(member.strip())
    return objective


def objective_batch_size(objective: str) -> int:
    """The batch an objective needs by default: its proxy's, an ensemble's largest member's."""
    name, _, members = check_objective(objective).partition(":")
    if name == HNAS:
        return HNAS_BATCH
    if name in list_ensembles():
        names = members.split(",") if members else get_ensemble(name).default_members
        return max(get_proxy(member_proxy(m.strip())).default_batch_size or 1 for m in names)
    return get_proxy(name).default_batch_size or 1


def build_objective(setup: Setup, objective: str, *, mu: float | None = None, sigma: float | None = None,
                    size_network: str = SIZE_PRESET, constraint: Constraint | None = None, mode: str = "hard",
                    gamma: float = MNAS_GAMMA, weight: float = 1.0,
                    options: Mapping[str, Any] | None = None, latency: str = "measured") -> Scorer:
    """The scorer for `objective` on `setup`'s network: a proxy name, `reg_swap` (SWAP × f(Θ),
    Θ of the benchmark network, μ and σ in thousands of parameters), an ensemble name
    (optionally `NAME:m1,m2`), or `hnas`; then `constraint` applied under `mode`, its cost
    counted on the `size_network` (by default the benchmark network, the one a searched cell
    is deployed in, so that `params<=0.5` means what the benchmark tables say). A latency
    cost is `latency="measured"` (each cell timed as it is scored) or `"predicted"` (the
    learned latency predictor of `swap_core.latency`, fitted once on cells measured on this
    device, so a long search times no network; a hard limit then checks the prediction plus
    the predictor's margin)."""
    name, _, members = check_objective(objective).partition(":")
    if name == HNAS:
        scorer = hnas_scorer(setup)
    elif name in list_ensembles():
        chosen = [m.strip() for m in members.split(",") if m.strip()] if members else None
        scorer = ensemble_scorer(setup, name, chosen)
    elif name == "reg_swap":
        scorer = size_regularised(proxy_scorer(setup, "swap", options=options), setup.size_k,
                                  DEFAULT_MU if mu is None else mu, DEFAULT_SIGMA if sigma is None else sigma)
    else:
        scorer = proxy_scorer(setup, name, options=options)
    if constraint is not None:
        cost, margin = constraint_cost(setup, constraint.cost, size_network, latency)
        scorer = efficient(scorer, cost, constraint, mode, gamma=gamma, weight=weight,
                           margin=margin if mode == "hard" else 0.0)
    return scorer


LATENCY_SOURCES = ("measured", "predicted")
LATENCY_ROUNDS = 3  # a predicted latency's training cells, and the check of a returned cell: fastest of 3 rounds


def constraint_cost(setup: Setup, cost: str, size_network: str = SIZE_PRESET,
                    latency: str = "measured") -> tuple[CostFn, float]:
    """(arch → cost on the `size_network`, margin a hard limit adds): see `build_objective`.
    The latency predictor is fitted on cells of seed 0 of this space, preset and device
    (latency does not depend on the weights), so every run and seed shares its measurements."""
    if latency not in LATENCY_SOURCES:
        raise ValueError(f"latency must be one of {LATENCY_SOURCES}, got {latency!r}")
    if cost == "latency" and latency == "predicted":
        from ..latency_model import latency_predictor

        predictor = latency_predictor(setup.replace(preset=size_network, batch=None, seed=0), rounds=LATENCY_ROUNDS)
        return predictor, float(predictor.margin_ms)
    from .efficiency import cost_function

    size_config = setup.space_obj.config(size_network, setup.dataset)
    return cost_function(setup.space_obj, size_config, cost, device=setup.device), 0.0


__all__ = ["HNAS", "LATENCY_ROUNDS", "LATENCY_SOURCES", "TUNED_REGULARISER", "build_objective", "check_objective", "constraint_cost", "efficient", "ensemble_scorer", "hnas_scorer", "member_proxy",
           "objective_batch_size", "objective_names", "proxy_scorer", "size_of", "size_regularised"]
