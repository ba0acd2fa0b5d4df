"""Registry of search spaces: `list_spaces()` is how the app and CLI discover them."""
from __future__ import annotations

import importlib

from .base import EditSlot, NetworkConfig, SearchSpace, dataset_classes

_SPACES: dict[str, SearchSpace] = {}
_ALIASES = {"nb301": "darts"}
_MODULES = ("nb201", "darts", "nb101", "tnb101_micro", "tnb101_macro")


def register_space(cls: type[SearchSpace]) -> type[SearchSpace]:
    """Class decorator: instantiate the space and register it under `cls.name`."""
    _SPACES[cls.name] = cls()
    return cls


def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")


def list_spaces() -> list[str]:
    _load_all()
    return list(_SPACES)


def get_space(name: str) -> SearchSpace:
    _load_all()
    key = _ALIASES.get(name, name)
    if key not in _SPACES:
        raise ValueError(f"unknown search space {name!r}; expected one of {sorted(_SPACES)}")
    return _SPACES[key]


__all__ = ["EditSlot", "NetworkConfig", "SearchSpace", "dataset_classes", "get_space", "list_spaces", "register_space"]
