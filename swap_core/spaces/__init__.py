"""Registry of search spaces: `list_spaces()` is how the app and CLI discover them.

Each space module registers its class with `@register_space` (from `.registry`); the modules
are imported on first use. `list_spaces()` gives them in `_MODULES` order, whatever order
they happened to be imported in.
`all_datasets()`, `all_presets()` and `dataset_for()` answer what every command line asks.
"""
from __future__ import annotations

import importlib

from .base import EditSlot, NetworkConfig, SearchSpace, dataset_classes
from .naslib import ZeroCostTables
from .registry import ALIASES, SPACES, register_space

_MODULES = ("nb201", "darts", "nb101", "tnb101_micro", "tnb101_macro")


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")


def _module_rank(name: str) -> int:
    module = type(SPACES[name]).__module__.rsplit(".", 1)[-1]
    return _MODULES.index(module) if module in _MODULES else len(_MODULES)


def list_spaces() -> list[str]:
    """Every registered space, in `_MODULES` order (then registration order)."""
    _load_all()
    return sorted(SPACES, key=_module_rank)


def get_space(name: str) -> SearchSpace:
    """The registered space `name` (or one of its `aliases`: `nb301` is `darts`); ValueError if unknown."""
    _load_all()
    key = ALIASES.get(name, name)
    if key not in SPACES:
        raise ValueError(f"unknown search space {name!r}; expected one of {sorted(SPACES)}")
    return SPACES[key]


def space_choices() -> list[str]:
    """Every name `get_space` accepts: the registered spaces, then their aliases (`nb301`)."""
    return list_spaces() + [alias for name in list_spaces() for alias in SPACES[name].aliases]


def all_datasets() -> list[str]:
    """Every dataset (or TransNAS-Bench-101 task) some registered space knows."""
    return list(dict.fromkeys(d for name in list_spaces() for d in get_space(name).datasets))


def all_presets() -> list[str]:
    """Every network preset some registered space offers."""
    return list(dict.fromkeys(p for name in list_spaces() for p in get_space(name).presets))


def dataset_for(space: SearchSpace, dataset: str | None) -> str:
    """`dataset`, or the space's first when none is given; ValueError when the space lacks it."""
    if dataset is None:
        return space.datasets[0]
    if dataset not in space.datasets:
        raise ValueError(f"the {space.name} space has no dataset {dataset!r}; expected one of {list(space.datasets)}")
    return dataset


__all__ = ["EditSlot", "NetworkConfig", "SearchSpace", "ZeroCostTables", "all_datasets", "all_presets",
           "dataset_classes", "dataset_for", "get_space", "list_spaces", "register_space", "space_choices"]
