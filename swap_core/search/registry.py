"""Registry of search algorithms: the app and the CLI discover them with `list_algorithms()`.

Every algorithm has the call signature
`algorithm(space, budget, evaluations, seed, **options) -> SearchGenerator`, where
`evaluations` is the budget in proxy evaluations (plus truth lookups for algorithms that
"train" by looking accuracy up) and `options` its own knobs, with defaults in `options`.
Precisely: `evaluations` counts the algorithm's main cost — proxy evaluations, or truth
lookups for an algorithm that uses no proxy (`uses_proxy=False`, REA); algorithms that use
both (AREA, HNAS) take their lookups as an option (`lookups`). `objective`, when set, is
the objective the algorithm is defined with (NASWOT: `naswot`; HNAS: `hnas`), which a
caller uses unless told otherwise; None leaves the choice to the caller.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import SearchGenerator


@dataclass(frozen=True)
class AlgorithmInfo:
    name: str
    fn: Callable[..., SearchGenerator] = field(repr=False)
    title: str
    description: str
    uses_truth: bool = False  # "trains" by looking up the benchmark's accuracy
    options: tuple[tuple[str, Any], ...] = ()  # (name, default) of its knobs
    objective: str | None = None  # the objective it is defined with, if any (e.g. "naswot")
    uses_proxy: bool = True  # False: never scores with the objective (REA)


_ALGORITHMS: dict[str, AlgorithmInfo] = {}


def register_algorithm(name: str, fn: Callable[..., SearchGenerator], title: str, description: str, *,
                       uses_truth: bool = False, objective: str | None = None, uses_proxy: bool = True,
                       **options: Any) -> None:
    """Register `fn` under `name`; `options` are its knobs with their defaults. A name that is
    already registered is a ValueError (the second algorithm would silently replace the first)."""
    if name in _ALGORITHMS:
        raise ValueError(f"a search algorithm named {name!r} is already registered "
                         f"({_ALGORITHMS[name].title}); choose another name")
    _ALGORITHMS[name] = AlgorithmInfo(name, fn, title, description, uses_truth, tuple(options.items()),
                                      objective, uses_proxy)


def list_algorithms() -> list[str]:
    return list(_ALGORITHMS)


def get_algorithm(name: str) -> AlgorithmInfo:
    if name not in _ALGORITHMS:
        raise ValueError(f"unknown search algorithm {name!r}; expected one of {list(_ALGORITHMS)}")
    return _ALGORITHMS[name]


__all__ = ["AlgorithmInfo", "get_algorithm", "list_algorithms", "register_algorithm"]
