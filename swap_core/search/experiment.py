"""Repeated searches for a table: several algorithms × seeds on one space, each run with its
own budget, data batch and initialisation seed, summarised as mean ± std of the benchmark
accuracy of what each run returns (the `search` CLI command and the README's table).

Per seed s, a run scores with the `Setup` of seed s (`SearchSetup.core(s)`): its input
batch is drawn with s, every scored network's weights derive from (s, cell), and the
algorithm is seeded with s, so the spread over seeds includes the proxy's own noise. The
scores cache (`Budget`) starts empty for every run.

`search_states` is the one search session: the command line drains it (`run_search`), the
Search page runs it in the app's worker, and both give the same trajectory for the same
(SearchSetup, algorithm, budget, seed); `command_line` writes the command that reproduces a
page's run.
"""
from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shlex
from collections.abc import Iterator

from .. import limits
from ..setup import Setup
from .base import Budget, SearchState
from .efficiency import MNAS_GAMMA, Constraint
from .pareto import evaluated_front
from .objectives import build_objective, check_objective
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
    latency: str = "measured"      # a latency cost: timed per cell, or "predicted" (`objectives.constraint_cost`)
    batch_size: int | None = None  # None: the objective's own batch (its proxy's default)
    device: str = "cpu"
    data_source: str = "auto"
    threads: int | None = None     # recorded; the process's count (fixed once at start) computes
    truth: Mapping[str, float] = field(default_factory=dict, compare=False)
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)  # algorithm knobs, where they apply
    proxy_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)  # per proxy name


    def core(self, seed: int) -> Setup:
        """The Setup a run with `seed` scores with."""
        return Setup(space=self.space, dataset=self.dataset, preset=self.network, images=self.data_source,
                     batch=self.batch_size, seed=seed, device=self.device, threads=self.threads)

    @classmethod
    def from_setup(cls, setup: Setup, **search: Any) -> "SearchSetup":
        """The search settings over a Setup's space, network, images, batch, device and threads
        (its seed is the run's, given to `search_states`)."""
        return cls(space=setup.space, network=setup.preset, dataset=setup.dataset, batch_size=setup.batch,
                   device=setup.device, data_source=setup.images, threads=setup.threads, **search)


MAX_SEEDS = limits.maximum("seeds")  # seeds one command runs (why: limits.LIMITS["seeds"]; issue 19: --seeds 0-300000000)


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
        if len(seeds) + high - low + 1 > MAX_SEEDS:  # before the list is built: no MemoryError
            raise ValueError(f"seeds {str(text)[:80]!r} name more than {MAX_SEEDS:,} seeds; give fewer (e.g. '0-9')")
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


def _scorer(setup: SearchSetup, objective: str | None, seed: int):
    if objective is None:
        return lambda arch: (math.nan, math.nan)
    name = objective.partition(":")[0]
    options = setup.proxy_options.get("swap" if name == "reg_swap" else name)  # reg_swap runs the swap proxy
    return build_objective(setup.core(seed), objective, mu=setup.mu, sigma=setup.sigma,
                           size_network=setup.size_network, constraint=setup.constraint, mode=setup.mode,
                           gamma=setup.gamma, weight=setup.weight, options=options, latency=setup.latency)


def check_search(setup: SearchSetup, spec: str, evaluations: int) -> str | None:
    """ValueError for settings a search refuses, before anything runs; else its objective."""
    (_, name, override), = parse_algorithms(spec)
    info = get_algorithm(name)
    if info.uses_truth and not setup.truth:
        raise ValueError(f"{name} trains by looking accuracy up: give a ground-truth table (--truth)")
    if evaluations < 1:
        raise ValueError(f"the budget must be at least 1 evaluation, got {evaluations}")
    limits.check("evaluations", evaluations, "budget")
    limits.check_options(setup.options)  # population, sample size, mutations, lookups
    objective = objective_for(info, override, setup)
    if objective is not None:
        check_objective(objective)
    setup.core(0)  # checks space, dataset, preset, images, batch, device
    return objective


def search_states(setup: SearchSetup, spec: str, evaluations: int, seed: int) -> Iterator[SearchState]:
    """The search `spec` ("name" or "name@objective") with `seed`, state by state: the one
    session the command line and the Search page both run."""
    objective = check_search(setup, spec, evaluations)
    info = get_algorithm(parse_algorithms(spec)[0][1])
    budget = Budget(spec, _scorer(setup, objective, seed), setup.truth)
    yield from info.fn(setup.core(seed).space_obj, budget, evaluations, seed, **_options(info, setup.options))


def run_search(setup: SearchSetup, spec: str, evaluations: int, seed: int, *,
               progress: Progress | None = None) -> dict[str, Any]:
    """One run of the algorithm `spec` ("name" or "name@objective"): its record for runs.json."""
    (_, name, override), = parse_algorithms(spec)
    info = get_algorithm(name)
    options = _options(info, setup.options)
    state = None
    for state in search_states(setup, spec, evaluations, seed):
        if progress is not None:
            progress(spec, seed, state, total_steps(info, evaluations, options))
    return _record(setup, spec, objective_for(info, override, setup), seed, state)


def run_search_task(payload: tuple[SearchSetup, str, int, int]) -> dict[str, Any]:
    """One run as an engine task (`swap_core.engines`): `(setup, spec, evaluations, seed)` → its
    record, as `run_search` gives it (a worker builds its own networks; no progress callback)."""
    setup, spec, evaluations, seed = payload
    return run_search(setup, spec, evaluations, seed)


def command_line(setup: SearchSetup, spec: str, evaluations: int, seeds: str, truth_spec: str | None = None) -> str:
    """The `python -m swap_core search` command that runs the same searches as these settings."""
    core = setup.core(0)
    args = ["python", "-m", "swap_core", "search", *core.cli_args(), "--algo", spec, "--budget", str(evaluations),
            "--seeds", seeds]
    drop = args.index("--seed")
    del args[drop:drop + 2]  # the run seeds replace the Setup's seed
    if setup.objective != DEFAULT_OBJECTIVE:
        args += ["--objective", setup.objective]
    if setup.mu is not None:
        args += ["--mu", f"{setup.mu:g}"]
    if setup.sigma is not None:
        args += ["--sigma", f"{setup.sigma:g}"]
    if setup.constraint is not None:
        args += ["--constraint", str(setup.constraint), "--constraint-mode", setup.mode]
        if setup.mode == "mnas":
            args += ["--gamma", f"{setup.gamma:g}"]
        if setup.mode == "weighted":
            args += ["--weight", f"{setup.weight:g}"]
        if setup.constraint.cost == "latency" and setup.latency != "measured":
            args += ["--latency", setup.latency]
    for key, flag in (("population", "--population"), ("sample_size", "--sample-size"),
                      ("mutations", "--mutations"), ("lookups", "--lookups")):
        if setup.options.get(key) is not None:
            args += [flag, str(setup.options[key])]
    repeats = setup.proxy_options.get("swap", {}).get("repeats")
    if repeats not in (None, 1):
        args += ["--repeats", str(repeats)]
    if truth_spec:
        args += ["--truth", truth_spec]
    return shlex.join(args)


def _record(setup: SearchSetup, spec: str, objective: str | None, seed: int, state: SearchState) -> dict[str, Any]:
    """A run's line of runs.json: the returned cell, its cost where the run had a constraint
    (`cost`, in `cost_name`'s unit; a latency also `measured_latency`, timed on this device or read from the store), and the Pareto front of everything it evaluated (`front`:
    benchmark accuracy, or the score without a truth table, against that cost, else against Θ)."""
    best, core = state.best, setup.core(seed)
    params = core.replace(preset="benchmark").params(best.arch) / 1e6 if best else math.nan
    cost = setup.constraint.cost if setup.constraint is not None else None
    value = "accuracy" if setup.truth else "score"
    return {
        "algo": spec, "seed": seed, "objective": objective, "arch": best.arch if best else None,
        "score": best.score if best else math.nan,
        "accuracy": float(setup.truth.get(best.arch, math.nan)) if best else math.nan,
        "params": params, "evaluations": state.proxy_evaluations, "lookups": state.truth_lookups,
        "seconds": state.seconds, "cost_name": cost or "params",
        "cost": float(best.metrics.get(cost, math.nan)) if best and cost else params,
        "front_value": value, "front": evaluated_front(state.history, cost, core.size_k, value),
        "measured_latency": _measured(setup, core, best.arch) if best and cost == "latency" else None,
    }


def _measured(setup: SearchSetup, core: Setup, arch: str) -> float:
    """The returned cell's latency on the size network (batch 1, fastest of 3 rounds, cached): what a
    predicted constraint promised, checked."""
    from ..latency import measure_cells
    from .objectives import LATENCY_ROUNDS

    timing = core.replace(preset=setup.size_network, seed=0, batch=None)
    return float(measure_cells(timing, [arch], rounds=LATENCY_ROUNDS)[0])


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
            "cost": _mean_finite(r.get("cost") for r in runs),
        }
    return summary


def _mean_finite(values) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return statistics.fmean(finite) if finite else math.nan


def run_experiment(setup: SearchSetup, algorithms: str, evaluations: int, seeds: Sequence[int], *,
                   progress: Progress | None = None,
                   on_record: Callable[[dict[str, Any]], None] | None = None,
                   finished: Mapping[tuple[str, int], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Every algorithm of `algorithms` (a comma list) for every seed: {"runs", "summary"}, the
    runs in that order (algorithm, then seed). `on_record` gets each run's record as it
    completes; `finished` maps (spec, seed) to the record of a run done before (`--resume`),
    which is taken as it is instead of running again."""
    if evaluations < 1:
        raise ValueError(f"the budget must be at least 1 evaluation, got {evaluations}")
    specs = parse_algorithms(algorithms)
    for spec, _, _ in specs:  # every mistake before the first run
        check_search(setup, spec, evaluations)
    records = []
    for spec, _, _ in specs:
        for seed in seeds:
            known = (finished or {}).get((spec, seed))
            if known is not None:
                records.append(dict(known))
                continue
            record = run_search(setup, spec, evaluations, seed, progress=progress)
            records.append(record)
            if on_record is not None:
                on_record(record)
    return {"runs": records, "summary": summarise(records)}


__all__ = ["DEFAULT_OBJECTIVE", "SearchSetup", "check_search", "command_line", "objective_for", "search_states", "parse_algorithms", "parse_seeds", "run_experiment",
           "run_search", "run_search_task", "summarise", "total_steps"]
