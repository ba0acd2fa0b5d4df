"""SWAP-NAS's evolutionary search (Peng et al., "SWAP-NAS: Sample-Wise Activation Patterns
for Ultra-fast NAS", ICLR 2024, Section 4 and Algorithm 1), with the objective — (regularised)
SWAP-Score — in place of training.

The official repository (github.com/pym1024/SWAP, all four commits) holds the metric and
the correlation script but no search code, so the loop follows the paper:

1. score a random population of P distinct architectures;
2. each cycle, draw S members of the population at random (without replacement); the
   parent is the best of them, or the crossover of the best two when that child scores
   higher than the best (the crossover child is scored, so it costs an evaluation);
3. score up to M mutations of the parent (fewer when the budget runs out);
4. the best of those children joins the population and the worst member leaves (the child
   itself, if it is worse than all of them; among equals the oldest leaves).

The number of cycles follows from the evaluation budget. A re-visited architecture costs
nothing (the budget caches scores), so a cycle whose children were all seen before spends
no budget. On NAS-Bench-201 a population of 10 converges within ~150 evaluations, after
which every mutation is a cell seen before; the paper does not say what happens then. Here,
after `patience` such cycles in a row the population restarts: the best member stays and
the rest is drawn at random afresh (scored, so it costs evaluations), which spends the rest
of the budget on other regions of the space; the search ends early only when no unseen
architecture can be drawn. The answer is the best-scored architecture of all evaluated.
"""
from __future__ import annotations

import random
from collections.abc import Iterator

from ..spaces import SearchSpace
from .base import Budget, Evaluation, SearchGenerator, SearchState, finished, score_key

PATIENCE = 10  # cycles in a row without a new evaluation before the population restarts


def _state(budget: Budget, members: list[Evaluation]) -> SearchState:
    return budget.state(members, budget.best)


def _score(budget: Budget, arch: str, members: list[Evaluation]) -> Iterator[SearchState]:
    """Score `arch` (a generator: yields a state when it was a new evaluation); returns it."""
    before = budget.proxy_evaluations
    evaluation = budget.score(arch)
    if budget.proxy_evaluations > before:
        yield _state(budget, members)
    return evaluation


def initial_population(space: SearchSpace, budget: Budget, evaluations: int, rng: random.Random,
                       size: int, members: list[Evaluation]) -> Iterator[SearchState]:
    """Fill `members` with up to `size` distinct random architectures, scored."""
    seen: set[str] = {m.arch for m in members}
    attempts = 0
    while len(members) < size and budget.proxy_evaluations < evaluations and attempts < 100 * size:
        attempts += 1
        arch = space.sample(rng).to_str()
        if arch in seen:
            continue
        seen.add(arch)
        evaluation = yield from _score(budget, arch, members)
        members.append(evaluation)


def select_parent(space: SearchSpace, budget: Budget, evaluations: int, rng: random.Random,
                  members: list[Evaluation], sample_size: int) -> Iterator[SearchState]:
    """The best of S random members, or the crossover of the best two if it scores higher."""
    candidates = sorted(rng.sample(members, min(sample_size, len(members))), key=score_key, reverse=True)
    parent = candidates[0]
    if len(candidates) >= 2 and budget.proxy_evaluations < evaluations:
        first, second = (space.from_str(c.arch) for c in candidates[:2])
        child_arch = space.crossover(first, second, rng).to_str()
        child = yield from _score(budget, child_arch, members)
        if score_key(child) > score_key(parent):
            parent = child
    return parent


def mutants(space: SearchSpace, budget: Budget, evaluations: int, rng: random.Random, parent: Evaluation,
            count: int, members: list[Evaluation]) -> Iterator[SearchState]:
    """Up to `count` scored mutations of `parent` (stops when the budget is spent)."""
    children = []
    arch = space.from_str(parent.arch)
    for _ in range(count):
        if budget.proxy_evaluations >= evaluations:
            break
        child = yield from _score(budget, space.mutate(arch, rng).to_str(), members)
        children.append(child)
    return children


def replace_worst(members: list[Evaluation], children: list[Evaluation]) -> None:
    """The best child joins (unless it is already a member); the worst member leaves."""
    present = {m.arch for m in members}
    newcomers = [c for c in children if c.arch not in present]
    if not newcomers:
        return
    members.append(max(newcomers, key=score_key))
    members.remove(min(members, key=score_key))  # min keeps the first (oldest) among equals


def restart(space: SearchSpace, budget: Budget, evaluations: int, rng: random.Random, size: int,
            members: list[Evaluation]) -> Iterator[SearchState]:
    """Keep the best member, refill with unseen random architectures; returns whether any came."""
    best = max(members, key=score_key)
    members[:] = [best]
    seen = {e.arch for e in budget.history}
    attempts = 0
    while len(members) < size and budget.proxy_evaluations < evaluations and attempts < 100 * size:
        attempts += 1
        arch = space.sample(rng).to_str()
        if arch not in seen:
            seen.add(arch)
            members.append((yield from _score(budget, arch, members)))
    return len(members) > 1


def swap_nas(space: SearchSpace, budget: Budget, evaluations: int, seed: int = 0, *, population: int = 10,
             sample_size: int = 5, mutations: int = 5, patience: int = PATIENCE) -> SearchGenerator:
    """SWAP-NAS evolution: P = `population`, S = `sample_size`, M = `mutations`; stops after
    `evaluations` proxy evaluations; restarts after `patience` cycles that evaluated nothing
    new. Yields after every new evaluation and every cycle."""
    if population < 2 or sample_size < 1 or mutations < 1 or patience < 1:
        raise ValueError(f"swap-nas needs population >= 2 and sample_size, mutations, patience >= 1, "
                         f"got {population}, {sample_size}, {mutations}, {patience}")
    rng = random.Random(seed)
    members: list[Evaluation] = []
    yield from initial_population(space, budget, evaluations, rng, population, members)
    stale = 0
    while len(members) > 1 and budget.proxy_evaluations < evaluations:
        before = budget.proxy_evaluations
        parent = yield from select_parent(space, budget, evaluations, rng, members, sample_size)
        children = yield from mutants(space, budget, evaluations, rng, parent, mutations, members)
        replace_worst(members, children)
        stale = stale + 1 if budget.proxy_evaluations == before else 0
        yield _state(budget, members)
        if stale >= patience:
            stale = 0
            if not (yield from restart(space, budget, evaluations, rng, population, members)):
                break
    yield finished(_state(budget, members))


__all__ = ["PATIENCE", "initial_population", "mutants", "replace_worst", "restart", "select_parent", "swap_nas"]
