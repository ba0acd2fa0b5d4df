"""The registry the space modules add themselves to (`@register_space`).

It lives apart from `spaces/__init__.py` so that a space module imports the decorator from
here and the package `__init__`, which loads every space module to list them, is imported
by none of them: no import circle (DESIGN.md, "Layering").
"""
from __future__ import annotations

from .base import SearchSpace

SPACES: dict[str, SearchSpace] = {}  # name -> the one instance, in registration order
ALIASES: dict[str, str] = {}  # another name a space answers to (`nb301`) -> its name


def register_space(cls: type[SearchSpace]) -> type[SearchSpace]:
    """Class decorator: instantiate the space and register it under `cls.name` and its
    `aliases`; a name that is already taken is a ValueError (two spaces would answer to it)."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no `name`; a registered space needs one")
    for name in (cls.name, *cls.aliases):
        if name in SPACES or name in ALIASES:
            owner = SPACES.get(ALIASES.get(name, name))
            raise ValueError(f"a search space named {name!r} is already registered "
                             f"({type(owner).__qualname__}); choose another name")
    SPACES[cls.name] = cls()
    ALIASES.update({alias: cls.name for alias in cls.aliases})
    return cls


__all__ = ["ALIASES", "SPACES", "register_space"]
