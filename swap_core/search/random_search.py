"""Random search and NASWOT's search (Mellor et al., "Neural Architecture Search without
Training", ICML 2021): sample N architectures, score each, keep the best. With the NASWOT
proxy as the objective this is NASWOT's own search; the plain baseline is the same loop
with any objective."""
from __future__ import annotations

import random

from ..spaces import SearchSpace
from .base import Budget, SearchGenerator, best_of, finished


def random_search(space: SearchSpace, budget: Budget, evaluations: int, seed: int = 0) -> SearchGenerator:
    """Score `evaluations` distinct random architectures (drawn with `seed`); yield after
    each; the best so far is the answer."""
    rng = random.Random(seed)
    seen: set[str] = set()
    state = budget.state([], None)
    attempts = 0
    while budget.proxy_evaluations < evaluations and attempts < 100 * evaluations:
        attempts += 1
        arch = space.sample(rng).to_str()
        if arch in seen:
            continue
        seen.add(arch)
        budget.score(arch)
        state = budget.state(budget.history, best_of(budget.history))
        yield state
    yield finished(budget.state(budget.history, best_of(budget.history)))


__all__ = ["random_search"]
