"""Repeated searches for a table: several algorithms × seeds on one space, each run with its
own budget, data batch and initialisation seed, summarised as mean ± std of the benchmark
accuracy of what each run returns (the `search` CLI command and the README's table).

Per seed s, a run draws its input batch with seed s (`data.load_batch`), initialises every
scored network under seed s and seeds the algorithm with s, so the spread over seeds
includes the proxy's own noise. Every run pays its own costs: the per-architecture caches
(scores in `Budget`, benchmark-network sizes in `objectives.size_of`) start empty.
"""
from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import data
from ..netstats import count_params
from ..spaces import get_space
from .base import Budget, SearchState
from .efficiency import MNAS_GAMMA, Constraint
from .objectives import build_objective, check_objective, clear_size_cache, objective_batch_size
from .registry import AlgorithmInfo, get_algorithm

DEFAULT_OBJECTIVE = "reg_swap"
_SEEDS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")

Progress = Callable[[str, int, SearchState, int], None]  # (algo spec, seed, state, total steps)


@dataclass(frozen=True)
class SearchSetup:
    """Everything a run needs besides the algorithm and the seed."""

    space: str = "nb201"
    network: str = "teaching"
    dataset: str = "cifar10"
    objective: str = DEFAULT_OBJECTIVE  # for algorithms without an objective of their own
    mu: float | None = None
    sigma: float | None = None
    size_network: str = "benchmark"
    constraint: Constraint | None = None
    mode: str = "hard"
    gamma: float = MNAS_GAMMA
    weight: float = 1.0
    batch_size: int | None = None
    device: str = "cpu"
    data_source: str = "auto"
    truth: Mapping[str, float] = field(default_factory=dict, compare=False)
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)  # algorithm knobs, where they apply
    proxy_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)  # per proxy name


def parse_seeds(text: str) -> list[int]:
    """"0-9" → 0..9; "0,3,7" and "0-4,8" work too. Ranges are inclusive and ascending."""
    seeds: list[int] = []
    for part in str(text).split(","):
        match = _SEEDS.match(part)
        if match is None:
            raise ValueError(f"bad seeds {text!r}: expected e.g. '0-9', '3' or '0,2,5' (non-negative integers)")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise ValueError(f"bad seeds range {part.strip()!r}: the end must not be below the start")
        seeds.extend(range(low, high + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {text!r} repeat a seed")
    return seeds


def parse_algorithms(text: str) -> list[tuple[str, str, str | None]]:
    """"swap-nas,naswot,random@naswot" → (spec, algorithm, objective override or None) each;
    unknown algorithms are an error."""
    specs = [s.strip() for s in str(text).split(",") if s.strip()]
    if not specs:
        raise ValueError("--algo is empty; name at least one search algorithm")
    parsed = []
    for spec in specs:
        name, _, objective = spec.partition("@")
        get_algorithm(name.strip())
        parsed.append((spec, name.strip(), objective.strip() or None))
    if len({p[0] for p in parsed}) != len(parsed):
        raise ValueError(f"--algo names an algorithm twice: {text!r}")
    return parsed


def objective_for(info: AlgorithmInfo, override: str | None, setup: SearchSetup) -> str | None:
    """The objective a run uses: the `@` override, else the algorithm's own, else the setup's."""
    if not info.uses_proxy:
        return None
    return override or info.objective or setup.objective


def _options(info: AlgorithmInfo, options: Mapping[str, Any]) -> dict[str, Any]:
    known = dict(info.options)
    return {**known, **{k: v for k, v in options.items() if k in known and v is not None}}


def total_steps(info: AlgorithmInfo, evaluations: int, options: Mapping[str, Any]) -> int:
    return evaluations + (int(options.get("lookups", 0)) if info.uses_proxy and info.uses_truth else 0)


def _scorer(setup: SearchSetup, objective: str | None, seed: int, batches: dict):
    if objective is None:
        return lambda arch: (math.nan, math.nan)
    space = get_space(setup.space)
    config = space.config(setup.network, setup.dataset)
    size = setup.batch_size or objective_batch_size(objective)
    if (size, seed) not in batches:
        batches[size, seed] = data.load_batch(size, seed, source=setup.data_source, input_size=config.input_size)
    batch = batches[size, seed]
    name = objective.partition(":")[0]
    options = setup.proxy_options.get("swap" if name == "reg_swap" else name)  # reg_swap runs the swap proxy
    return build_objective(space, config, batch.images, batch.labels, objective, seed=seed, device=setup.device,
                           mu=setup.mu, sigma=setup.sigma, size_network=setup.size_network, dataset=setup.dataset,
                           constraint=setup.constraint, mode=setup.mode, gamma=setup.gamma, weight=setup.weight,
                           options=options)


def run_search(setup: SearchSetup, spec: str, evaluations: int, seed: int, *, progress: Progress | None = None,
               batches: dict | None = None) -> dict[str, Any]:
    """One run of the algorithm `spec` ("name" or "name@objective"): its record for runs.json."""
    (_, name, override), = parse_algorithms(spec)
    info = get_algorithm(name)
    if info.uses_truth and not setup.truth:
        raise ValueError(f"{name} trains by looking accuracy up: give a ground-truth table (--truth)")
    objective = objective_for(info, override, setup)
    options = _options(info, setup.options)
    scorer = _scorer(setup, objective, seed, {} if batches is None else batches)
    clear_size_cache()  # every run pays for its own sizes
    space = get_space(setup.space)
    budget = Budget(spec, scorer, setup.truth)
    state = None
    for state in info.fn(space, budget, evaluations, seed, **options):
        if progress is not None:
            progress(spec, seed, state, total_steps(info, evaluations, options))
    return _record(setup, spec, objective, seed, state)


def _record(setup: SearchSetup, spec: str, objective: str | None, seed: int, state: SearchState) -> dict[str, Any]:
    best = state.best
    space = get_space(setup.space)
    params = count_params(space.build(best.arch, space.config("benchmark", setup.dataset))) / 1e6 if best else math.nan
    return {
        "algo": spec, "seed": seed, "objective": objective, "arch": best.arch if best else None,
        "score": best.score if best else math.nan,
        "accuracy": float(setup.truth.get(best.arch, math.nan)) if best else math.nan,
        "params": params, "evaluations": state.proxy_evaluations, "lookups": state.truth_lookups,
        "seconds": state.seconds,
    }


def summarise(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per algorithm spec: mean and std (population, ddof 0) of the accuracy over the runs
    with one (None, as `runs.json` writes NaN, counts as none), n such runs, and the mean
    evaluations, lookups and seconds of all its runs."""
    summary: dict[str, dict[str, float]] = {}
    for spec in dict.fromkeys(r["algo"] for r in records):
        runs = [r for r in records if r["algo"] == spec]
        accuracies = [r["accuracy"] for r in runs if r["accuracy"] is not None and math.isfinite(r["accuracy"])]
        summary[spec] = {
            "mean": statistics.fmean(accuracies) if accuracies else math.nan,
            "std": statistics.pstdev(accuracies) if accuracies else math.nan,
            "n": len(accuracies),
            "evaluations": statistics.fmean(r["evaluations"] for r in runs),
            "lookups": statistics.fmean(r["lookups"] for r in runs),
            "seconds": statistics.fmean(r["seconds"] for r in runs),
        }
    return summary


def run_experiment(setup: SearchSetup, algorithms: str, evaluations: int, seeds: Sequence[int], *,
                   progress: Progress | None = None,
                   on_record: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Every algorithm of `algorithms` (a comma list) for every seed: {"runs", "summary"}."""
    if evaluations < 1:
        raise ValueError(f"the budget must be at least 1 evaluation, got {evaluations}")
    specs = parse_algorithms(algorithms)
    for _, name, override in specs:  # every mistake before the first run
        info = get_algorithm(name)
        if info.uses_truth and not setup.truth:
            raise ValueError(f"{name} trains by looking accuracy up: give a ground-truth table (--truth)")
        objective = objective_for(info, override, setup)
        if objective is not None:
            check_objective(objective)
    batches: dict = {}
    records = []
    for spec, _, _ in specs:
        for seed in seeds:
            record = run_search(setup, spec, evaluations, seed, progress=progress, batches=batches)
            records.append(record)
            if on_record is not None:
                on_record(record)
    return {"runs": records, "summary": summarise(records)}


__all__ = ["DEFAULT_OBJECTIVE", "SearchSetup", "objective_for", "parse_algorithms", "parse_seeds", "run_experiment",
           "run_search", "summarise", "total_steps"]
