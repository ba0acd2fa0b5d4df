"""The search contract (DESIGN.md): an algorithm is a generator that yields a `SearchState`
after every evaluation (or generation) and can be stopped at any point by not asking for
the next state. The app draws from it live; the CLI runs it to the end.

Two kinds of cost are counted apart: `proxy_evaluations` (a network built and scored by the
objective) and `truth_lookups` (a "training" that is a lookup of the benchmark's accuracy,
as REA and AREA use on a tabular benchmark). Scores are cached per architecture, so
re-visiting a cell costs nothing and is not counted again.

A scorer returns `(score, params)`, or `(score, params, metrics)` where `metrics` maps names
to the raw numbers behind the score (HNAS's M_trace and κ, an ensemble's member scores, the
size factor of regularised SWAP); they travel with the `Evaluation` for plots and for
algorithms such as HNAS that combine several numbers themselves.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Evaluation:
    """One architecture as the search saw it: `score` under the objective (higher is
    better; NaN when undefined), its parameter count in millions where known, and the
    benchmark accuracy where the truth table has it (for plots and reports, never used by
    a proxy-only search)."""

    arch: str
    score: float
    params: float = math.nan
    accuracy: float = math.nan
    step: int = 0  # the evaluation count when it was scored
    metrics: Mapping[str, float] = field(default_factory=dict, compare=False)  # raw numbers behind `score`


@dataclass(frozen=True)
class SearchState:
    """A snapshot of a running search."""

    algo: str
    step: int                          # proxy evaluations + truth lookups so far
    proxy_evaluations: int
    truth_lookups: int
    population: tuple[Evaluation, ...]  # the current population (or the sample so far)
    best: Evaluation | None            # what the search would return now
    history: tuple[Evaluation, ...]    # every architecture evaluated, in order
    seconds: float
    done: bool = False

    @property
    def best_accuracy(self) -> float:
        return self.best.accuracy if self.best is not None else math.nan


# arch -> (score, params in millions) or (score, params in millions, {metric: value})
Scorer = Callable[[str], tuple]
SearchGenerator = Iterator[SearchState]


@dataclass
class Budget:
    """Counts and caches evaluations for one run of an algorithm."""

    algo: str
    scorer: Scorer
    truth: Mapping[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    proxy_evaluations: int = 0
    truth_lookups: int = 0
    history: list[Evaluation] = field(default_factory=list)
    best: Evaluation | None = None  # `best_of(history)`, kept up to date as evaluations come in
    _cache: dict[str, Evaluation] = field(default_factory=dict)

    def _record(self, evaluation: Evaluation) -> None:
        self.history.append(evaluation)
        if math.isfinite(evaluation.score) and (self.best is None or evaluation.score > self.best.score):
            self.best = evaluation  # strictly greater: the first of equal scores stays, as in `best_of`

    def score(self, arch: str) -> Evaluation:
        """The objective's score of `arch` (cached; a new architecture counts once)."""
        if arch not in self._cache:
            self.proxy_evaluations += 1
            value, params, *rest = self.scorer(arch)
            metrics = dict(rest[0]) if rest else {}
            evaluation = Evaluation(arch, float(value), float(params), float(self.truth.get(arch, math.nan)),
                                    self.step, metrics)
            self._cache[arch] = evaluation
            self._record(evaluation)
        return self._cache[arch]

    def lookup(self, arch: str) -> Evaluation:
        """A simulated training: the benchmark's accuracy as the score (counted apart)."""
        self.truth_lookups += 1
        accuracy = float(self.truth.get(arch, math.nan))
        evaluation = Evaluation(arch, accuracy, math.nan, accuracy, self.step)
        self._record(evaluation)
        return evaluation

    @property
    def step(self) -> int:
        return self.proxy_evaluations + self.truth_lookups

    def state(self, population: Any, best: Evaluation | None, done: bool = False) -> SearchState:
        return SearchState(self.algo, self.step, self.proxy_evaluations, self.truth_lookups, tuple(population),
                           best, tuple(self.history), time.perf_counter() - self.started, done)


def score_key(evaluation: Evaluation) -> float:
    """Sort key that ranks NaN (undefined) with −inf (infeasible): last."""
    return evaluation.score if not math.isnan(evaluation.score) else -math.inf


def best_of(evaluations: Any) -> Evaluation | None:
    """The highest finite score (the first one among equals); None if there is none."""
    finite = [e for e in evaluations if math.isfinite(e.score)]
    return max(finite, key=lambda e: e.score) if finite else None


def finished(state: SearchState) -> SearchState:
    return replace(state, done=True)


def run_to_end(search: SearchGenerator) -> SearchState:
    """Drain a search and return its last state."""
    state = None
    for state in search:
        pass
    if state is None:
        raise ValueError("the search yielded no state")
    return state


__all__ = ["Budget", "Evaluation", "Scorer", "SearchGenerator", "SearchState", "best_of", "finished", "run_to_end",
           "score_key"]
