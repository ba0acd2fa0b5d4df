"""Objectives a search maximises: a scorer `arch -> (score, params[, metrics])` built from

- any registered proxy, oriented so that higher is better (`proxy_scorer`);
- regularised SWAP (Peng et al., "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast
  NAS", ICLR 2024, Section 3.3): SWAP on the network the search scores × exp(−(Θ − μ)²/σ),
  Θ in thousands of parameters counted on a *size network* (`size_regularised`). By default
  Θ is the benchmark network's count even when SWAP runs on the small teaching network, so
  the paper's μ and σ for NAS-Bench-201 keep their meaning (building the benchmark network
  to count it takes ~10 ms, and the count is cached per architecture);
- an ensemble of proxies (`ensemble_scorer`), scored online, see there;
- HNAS's metrics (`hnas_scorer`): M_trace as the score, M_trace and κ in `metrics`
  (Shu et al., "Unifying and Boosting Gradient-Based Training-Free NAS", NeurIPS 2022);
- any of these under an efficiency constraint or reward (`efficient`, see `efficiency`).

`build_objective` puts them together from names, as the CLI and the app ask for them.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..ensembles import get_ensemble, list_ensembles, normalised_ranks
from ..netstats import count_params
from ..proxies import ProxyError, get_proxy, score
from ..proxies.hnas import hnas_metrics
from ..proxies.swap import DEFAULT_MU, DEFAULT_SIGMA, params_thousands
from ..spaces import NetworkConfig, SearchSpace
from .base import Scorer
from .efficiency import MNAS_GAMMA, Constraint, CostFn, combine

HNAS = "hnas"
HNAS_BATCH = 64  # HNAS's metric batch (search.py --metric_batch_size)

# μ, σ of reg_swap chosen for a (space, network preset) by replaying SWAP-NAS (1,000
# evaluations) on whole-space SWAP tables scored under seeds 100-103, never the seeds of the
# README's results (scripts/tune_regulariser.py; grid in results/search/regulariser_grid_*.csv).
TUNED_REGULARISER: dict[tuple[str, str], tuple[float, float]] = {("nb201", "teaching"): (1500.0, 3.16228e6)}


def proxy_scorer(space: SearchSpace, config: NetworkConfig, inputs: torch.Tensor, targets: torch.Tensor | None,
                 proxy: str, *, seed: int = 0, device: str = "cpu",
                 options: Mapping[str, Any] | None = None) -> Scorer:
    """arch -> (score, params in millions): `proxy` on the network `config` builds (weights
    drawn under `seed`), negated for a lower-is-better proxy; NaN when it is undefined."""
    info = get_proxy(proxy)
    sign = 1.0 if info.higher_is_better else -1.0

    def scorer(arch: str) -> tuple[float, float]:
        torch.manual_seed(seed)
        model = space.build(arch, config)
        params = count_params(model) / 1e6
        try:
            value = score(model, [proxy], inputs, targets, batch_size=len(inputs), seed=seed, device=device,
                          options={proxy: dict(options or {})})[proxy]
        except ProxyError:
            value = math.nan
        return sign * value, params

    return scorer


@functools.lru_cache(maxsize=65536)
def _size_thousands(space: SearchSpace, config: NetworkConfig, arch: str) -> float:
    return params_thousands(space.build(arch, config))


def size_of(space: SearchSpace, config: NetworkConfig) -> CostFn:
    """arch -> Θ, thousands of parameters of the network `config` builds (auxiliary head
    excluded, as the official regulariser); cached per (space, config, arch)."""
    return functools.partial(_size_thousands, space, config)


def clear_size_cache() -> None:
    """Forget the sizes `size_of` counted (for timings where every run pays its own)."""
    _size_thousands.cache_clear()


def size_regularised(base: Scorer, size_k: CostFn, mu: float = DEFAULT_MU, sigma: float = DEFAULT_SIGMA) -> Scorer:
    """score × exp(−(Θ − μ)²/σ), Θ = `size_k(arch)` in thousands; metrics keep the raw score,
    Θ and the factor. For SWAP (a count, never negative) this is regularised SWAP."""
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        raw, params, *rest = base(arch)
        theta = size_k(arch)
        factor = math.exp(-((theta - mu) ** 2) / sigma)
        return raw * factor, params, {**(rest[0] if rest else {}), "raw": raw, "size_k": theta, "size_factor": factor}

    return scorer


def ensemble_scorer(space: SearchSpace, config: NetworkConfig, inputs: torch.Tensor, targets: torch.Tensor | None,
                    ensemble: str, members: Sequence[str] | None = None, *, seed: int = 0,
                    device: str = "cpu") -> Scorer:
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
        torch.manual_seed(seed)
        model = space.build(arch, config)
        params = count_params(model) / 1e6
        values = score(model, names, inputs, targets, seed=seed, device=device, on_error="nan")
        for member in names:
            table[member].append(values[member])
        combined = rule.combine(table, names)
        ranks = normalised_ranks(combined)
        return float(ranks[-1]), params, {m: values[m] for m in names}

    return scorer


def member_proxy(member: str) -> str:
    """The proxy name of an ensemble member given by name or by its NAS-Bench-Suite-Zero
    column (`jacov` → `jacob_cov`)."""
    from ..proxies import list_proxies

    for name in list_proxies():
        if member in (name, get_proxy(name).reference_column):
            return name
    raise ValueError(f"unknown ensemble member {member!r}: expected a proxy name, one of {list_proxies()}")


def hnas_scorer(space: SearchSpace, config: NetworkConfig, inputs: torch.Tensor, targets: torch.Tensor, *,
                seed: int = 0, device: str = "cpu") -> Scorer:
    """arch -> (M_trace, params, {"m_trace", "kappa"}) on the network `config` builds; the
    HNAS search combines the two itself. NaN when the network passes no gradient."""

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        torch.manual_seed(seed)
        model = space.build(arch, config).to(device)
        params = count_params(model) / 1e6
        try:
            metrics = hnas_metrics(model, inputs.to(device), targets.to(device))
        except ProxyError:
            metrics = {"m_trace": math.nan, "kappa": math.nan}
        return metrics["m_trace"], params, metrics

    return scorer


def efficient(base: Scorer, cost: CostFn, constraint: Constraint, mode: str = "hard", *,
              gamma: float = MNAS_GAMMA, weight: float = 1.0) -> Scorer:
    """`base` combined with `cost(arch)` under `constraint` (`efficiency.combine`); metrics
    keep the score before and the cost."""

    def scorer(arch: str) -> tuple[float, float, dict[str, float]]:
        raw, params, *rest = base(arch)
        value = cost(arch)
        combined = combine(raw, value, constraint, mode, gamma=gamma, weight=weight)
        return combined, params, {**(rest[0] if rest else {}), "before_cost": raw, constraint.cost: value}

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


def build_objective(space: SearchSpace | str, config: NetworkConfig, inputs: torch.Tensor, targets: torch.Tensor | None,
                    objective: str, *, seed: int = 0, device: str = "cpu", mu: float | None = None,
                    sigma: float | None = None, size_network: str = "benchmark", dataset: str = "cifar10",
                    constraint: Constraint | None = None, mode: str = "hard", gamma: float = MNAS_GAMMA,
                    weight: float = 1.0, options: Mapping[str, Any] | None = None) -> Scorer:
    """The scorer for `objective`: a proxy name, `reg_swap` (SWAP regularised on the size of
    the `size_network` preset, μ and σ in thousands of parameters), an ensemble name
    (optionally `NAME:m1,m2`), or `hnas`; then `constraint` applied under `mode`, its cost
    counted on the `size_network` too (by default the benchmark network, the one a searched
    cell is deployed in, so that `params<=0.5` means what the benchmark tables say)."""
    if isinstance(space, str):
        from ..spaces import get_space

        space = get_space(space)
    name, _, members = objective.partition(":")
    size_config = space.config(size_network, dataset)
    if name == HNAS:
        scorer = hnas_scorer(space, config, inputs, targets, seed=seed, device=device)
    elif name in list_ensembles():
        chosen = [m.strip() for m in members.split(",") if m.strip()] if members else None
        scorer = ensemble_scorer(space, config, inputs, targets, name, chosen, seed=seed, device=device)
    elif name == "reg_swap":
        base = proxy_scorer(space, config, inputs, targets, "swap", seed=seed, device=device, options=options)
        scorer = size_regularised(base, size_of(space, size_config), DEFAULT_MU if mu is None else mu,
                                  DEFAULT_SIGMA if sigma is None else sigma)
    elif name in objective_names():
        scorer = proxy_scorer(space, config, inputs, targets, name, seed=seed, device=device, options=options)
    else:
        raise ValueError(f"unknown objective {objective!r}; expected a proxy, an ensemble or 'hnas': "
                         f"{objective_names()}")
    if constraint is not None:
        from .efficiency import cost_function

        cost = cost_function(space, size_config, constraint.cost, device=device)
        scorer = efficient(scorer, cost, constraint, mode, gamma=gamma, weight=weight)
    return scorer


__all__ = ["HNAS", "TUNED_REGULARISER", "build_objective", "check_objective", "clear_size_cache", "efficient", "ensemble_scorer", "hnas_scorer", "member_proxy",
           "objective_batch_size", "objective_names", "proxy_scorer", "size_of", "size_regularised"]
