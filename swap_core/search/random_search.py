"""Random search and NASWOT's search (Mellor et al., "Neural Architecture Search without
Training", ICML 2021): sample N architectures, score each, keep the best. With the NASWOT
proxy as the objective this is NASWOT's own search; the plain baseline is the same loop
with any objective."""
from __future__ import annotations

import random
from collections.abc import Iterator

from ..spaces import SearchSpace
from .base import Budget, SearchGenerator, SearchState, finished


def score_random(space: SearchSpace, budget: Budget, evaluations: int, rng: random.Random) -> Iterator[SearchState]:
    """Score up to `evaluations` distinct random architectures with the objective, yielding
    after each (the first phase of NASWOT, AREA and HNAS)."""
    seen: set[str] = set()
    attempts = 0
    while budget.proxy_evaluations < evaluations and attempts < 100 * evaluations:
        attempts += 1
        arch = space.sample(rng).to_str()
        if arch not in seen:
            seen.add(arch)
            budget.score(arch)
            yield budget.state(budget.history, budget.best)


def random_search(space: SearchSpace, budget: Budget, evaluations: int, seed: int = 0) -> SearchGenerator:
    """Score `evaluations` distinct random architectures (drawn with `seed`); yield after
    each; the best so far is the answer."""
    yield from score_random(space, budget, evaluations, random.Random(seed))
    yield finished(budget.state(budget.history, budget.best))


__all__ = ["random_search", "score_random"]
