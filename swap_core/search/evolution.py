"""Regularised evolution (REA; Real, Aggarwal, Huang, Le, "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019) and assisted REA (AREA; Mellor, Turner, Storkey,
Crowley, "Neural Architecture Search without Training", ICML 2021, Section 5).

On a tabular benchmark "training" a network is looking its accuracy up (`Budget.lookup`),
counted as a truth lookup, apart from proxy evaluations. Every child is a new training,
even one seen before (as in the benchmark's own REA, which charges each query's time).

REA: a population of P random architectures, trained; each cycle samples S members (with
replacement, as the paper's tournament), mutates the best, trains the child, adds it and
removes the *oldest* member (aging). NAS-Bench-201's settings are P = 10, S = 3
(Dong & Yang, ICLR 2020; AutoDL-Projects `R-EA.sh`). The answer is the trained
architecture with the highest accuracy.

AREA: score M random architectures with the proxy (M = the evaluation budget), train the
top N as REA's initial population, then REA until `lookups` trainings in all (N included).
Until the first training the answer is the best-scored architecture.

Caveat of the data here: the truth table holds the final *test* accuracy only, so REA selects
on the number it is judged by — optimistic next to the literature, whose REA selects on
validation accuracy after a shortened training (NAS-Bench-201's 12-epoch schedule).
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator

from ..spaces import SearchSpace
from .base import Budget, Evaluation, SearchGenerator, SearchState, best_of, finished, score_key
from .random_search import score_random


def _trained_state(budget: Budget, population, trained: list[Evaluation]) -> SearchState:
    return budget.state(population, best_of(trained))


def aging_evolution(space: SearchSpace, budget: Budget, lookups: int, rng: random.Random, queue: deque,
                    sample_size: int, trained: list[Evaluation]) -> Iterator[SearchState]:
    """REA's cycles on a trained `queue` until `lookups` truth lookups in all."""
    while queue and budget.truth_lookups < lookups:
        candidates = [rng.choice(queue) for _ in range(sample_size)]
        parent = max(candidates, key=score_key)
        child = budget.lookup(space.mutate(space.from_str(parent.arch), rng).to_str())
        trained.append(child)
        queue.append(child)
        queue.popleft()  # aging: the oldest leaves, whatever its accuracy
        yield _trained_state(budget, queue, trained)


def rea(space: SearchSpace, budget: Budget, evaluations: int, seed: int = 0, *, population: int = 10,
        sample_size: int = 3) -> SearchGenerator:
    """REA with `evaluations` truth lookups (its only cost); P = `population`, S = `sample_size`."""
    if population < 1 or sample_size < 1:
        raise ValueError(f"rea needs population >= 1 and sample_size >= 1, got {population}, {sample_size}")
    rng = random.Random(seed)
    queue: deque[Evaluation] = deque()
    trained: list[Evaluation] = []
    while len(queue) < population and budget.truth_lookups < evaluations:
        evaluation = budget.lookup(space.sample(rng).to_str())
        trained.append(evaluation)
        queue.append(evaluation)
        yield _trained_state(budget, queue, trained)
    yield from aging_evolution(space, budget, evaluations, rng, queue, sample_size, trained)
    yield finished(_trained_state(budget, queue, trained))


def area(space: SearchSpace, budget: Budget, evaluations: int, seed: int = 0, *, population: int = 10,
         sample_size: int = 3, lookups: int = 100) -> SearchGenerator:
    """AREA: `evaluations` proxy scores, the top `population` trained, REA to `lookups` trainings."""
    if population < 1 or sample_size < 1 or lookups < 1:
        raise ValueError(f"area needs population, sample_size and lookups >= 1, "
                         f"got {population}, {sample_size}, {lookups}")
    rng = random.Random(seed)
    yield from score_random(space, budget, evaluations, rng)
    scored = sorted(budget.history, key=score_key, reverse=True)
    queue: deque[Evaluation] = deque()
    trained: list[Evaluation] = []
    for candidate in scored[:min(population, lookups)]:
        evaluation = budget.lookup(candidate.arch)
        trained.append(evaluation)
        queue.append(evaluation)
        yield _trained_state(budget, queue, trained)
    yield from aging_evolution(space, budget, lookups, rng, queue, sample_size, trained)
    best = best_of(trained) if trained else best_of(scored)
    yield finished(budget.state(queue, best))


__all__ = ["aging_evolution", "area", "rea"]
