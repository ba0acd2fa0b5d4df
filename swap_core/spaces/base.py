"""The search-space interface every space module implements.

A space owns a frozen, hashable architecture type (with `to_str()` / `from_str(s)`), the
operations a search needs (sample, mutate, crossover, neighbours, enumerate), a drawable
graph, and a network builder whose `benchmark` preset reproduces the published network.
Randomness always comes from a `random.Random` passed in, so searches are reproducible.
"""
from __future__ import annotations

import functools
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import torch.nn as nn

from .naslib import ZeroCostTables


@dataclass(frozen=True)
class NetworkConfig:
    """How to turn an architecture into a network.

    `channels` is the stem/initial channel count C, `cells` the number of cells per stage
    (NB201) or in total (DARTS), `num_classes` the classifier width, `stem` whether the
    network has its stem, `input_size` the expected image side in pixels. Space-specific
    knobs go in `extra` (a tuple of (key, value) pairs so the config stays hashable).
    """

    preset: str
    channels: int
    cells: int
    num_classes: int
    stem: bool = True
    input_size: int = 32
    extra: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)

    def with_options(self, **changes: Any) -> "NetworkConfig":
        """A copy with fields (or `extra` keys) replaced; unknown keys go to `extra`."""
        known = {f for f in self.__dataclass_fields__ if f != "extra"}
        direct = {k: v for k, v in changes.items() if k in known}
        extra = dict(self.extra)
        extra.update({k: v for k, v in changes.items() if k not in known})
        return replace(self, extra=tuple(sorted(extra.items())), **direct)


@dataclass(frozen=True)
class EditSlot:
    """One editable choice of an architecture, for an editor: `key` names it for
    `SearchSpace.with_slot`, `group` and `label` say where it is (e.g. "normal cell, node 3"
    and "input A op"), `options` are the allowed values, `value` the current one, and
    `option_labels` how to show each option."""

    key: str
    group: str
    label: str
    options: tuple
    value: Any
    option_labels: tuple[str, ...] = ()

    def show(self, option: Any) -> str:
        return self.option_labels[self.options.index(option)] if self.option_labels else str(option)


# Bounds checked before any parser runs (`check_arch_text`): an architecture string of any space
# is at most a few hundred characters and three brackets deep (DARTS' `Genotype([(...)])`), so
# these are far above every real one and far below what costs memory, time or a RecursionError.
MAX_ARCH_CHARS = 64 * 1024
MAX_ARCH_DEPTH = 32
QUOTE_CHARS = 80  # at most this much of a rejected input is quoted in an error message
MAX_ERROR_CHARS = 600  # a parser's message longer than this is cut (it would be quoting the input)
_OPENERS = frozenset("([{")


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` cut to about `limit` characters with "…" and the full length, so that an
    error message never repeats a long input."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def bracket_depth(text: str) -> int:
    """The deepest nesting of (), [] and {} in `text` (brackets inside quotes count too, and a
    stray closer never takes the depth below 0: a cheap scan that over-counts, never under-counts)."""
    depth = deepest = 0
    for char in re.sub(r"[^()\[\]{}]+", "", text):
        if char in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def check_arch_text(text: object, title: str = "architecture") -> None:
    """ValueError, before any parsing, for a string longer than `MAX_ARCH_CHARS` or nested deeper
    than `MAX_ARCH_DEPTH`; the message quotes at most `QUOTE_CHARS` of it. Non-strings pass (the
    parser says what it expected)."""
    if not isinstance(text, str):
        return
    if len(text) > MAX_ARCH_CHARS:
        raise ValueError(f"invalid {title} architecture {quote(text)}: {len(text):,} characters is more than "
                         f"the limit of {MAX_ARCH_CHARS:,}; paste a single architecture string")
    depth = bracket_depth(text)
    if depth > MAX_ARCH_DEPTH:
        raise ValueError(f"invalid {title} architecture {quote(text)}: brackets nested {depth} deep, more than "
                         f"the limit of {MAX_ARCH_DEPTH}; paste a single architecture string")


def _bounded_from_str(from_str):
    """Wrap a space's `from_str` with `check_arch_text` and a cap on the message's length."""
    @functools.wraps(from_str)
    def wrapper(self, text):
        check_arch_text(text, self.title or self.name)
        try:
            return from_str(self, text)
        except RecursionError:
            raise ValueError(f"invalid {self.title or self.name} architecture {quote(text)}: "
                             "nested too deeply") from None
        except ValueError as error:
            message = str(error)
            if len(message) <= MAX_ERROR_CHARS:
                raise
            raise ValueError(message[:MAX_ERROR_CHARS] + "…") from None
    wrapper.bounded = True
    return wrapper


DATASET_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16-120": 120}
DATASET_INPUT_SIZE = {"cifar10": 32, "cifar100": 32, "imagenet16-120": 16}


def dataset_classes(dataset: str) -> int:
    try:
        return DATASET_CLASSES[dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r}; expected one of {sorted(DATASET_CLASSES)}"
        ) from None


class SearchSpace(ABC):
    """Base class of a search space. Subclasses set the class attributes and methods."""

    name: str = ""
    aliases: tuple[str, ...] = ()  # other names `get_space` accepts (DARTS: nb301, its benchmark)
    title: str = ""
    example: str = ""  # an architecture string in the exact data-file form
    datasets: tuple[str, ...] = ("cifar10",)
    presets: tuple[str, ...] = ("benchmark", "teaching")
    finite: bool = False
    ops: tuple[str, ...] = ()  # the op names a cell can use (for legends and colours)
    training_lr: float = 0.1  # "Train this cell"'s SGD learning rate for this space's networks
    # Hand-picked architectures for teaching, label -> string (best/worst by accuracy come
    # from the ground-truth tables, see `swap_core.explorer.named_architectures`).
    named_archs: dict[str, str] = {}
    # Ground truth (see `truth_specs`): the space's own accuracy tables in the data dir, file ->
    # {dataset: column}, best first; and its NAS-Bench-Suite-Zero tables, if it has any.
    truth_columns: Mapping[str, Mapping[str, str]] = {}
    zero_cost: ZeroCostTables | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every space's `from_str` goes through `check_arch_text` first (size and nesting bounds,
        issue 19), however the subclass writes it."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("from_str")
        if own is not None and not getattr(own, "bounded", False):
            cls.from_str = _bounded_from_str(own)

    # --- strings -------------------------------------------------------------------
    @abstractmethod
    def from_str(self, text: str) -> Any:
        """Parse an architecture string; raise ValueError naming the problem."""

    def to_str(self, arch: Any) -> str:
        return arch.to_str()

    # --- search operations ---------------------------------------------------------
    @abstractmethod
    def sample(self, rng: random.Random) -> Any: ...

    @abstractmethod
    def mutate(self, arch: Any, rng: random.Random) -> Any:
        """One op or input change; always a different valid architecture."""

    @abstractmethod
    def crossover(self, a: Any, b: Any, rng: random.Random) -> Any: ...

    @abstractmethod
    def neighbours(self, arch: Any) -> list[Any]:
        """Every architecture one `mutate` step away."""

    def enumerate(self) -> Iterator[Any]:
        raise NotImplementedError(f"the {self.name} space is too large to enumerate")

    # --- editing -------------------------------------------------------------------
    @abstractmethod
    def edit_slots(self, arch: Any) -> list[EditSlot]:
        """Every choice an editor can change one at a time (an edge's op, a node's input)."""

    @abstractmethod
    def with_slot(self, arch: Any, key: str, value: Any) -> Any:
        """`arch` with the slot `key` set to `value` (ValueError for an unknown key/value)."""

    def slot_places(self, arch: Any) -> dict[str, tuple]:
        """Where each edit slot sits on `graph(arch)`, so that a drawing can be edited by
        clicking it: slot key -> ("edge", u, v), the edge u -> v (drawn even where the graph
        leaves it out, e.g. an edge whose op is `none`), or ("node", n). Several slots may share
        a place (a node's op and its inputs). A slot with no place (say, "insert a stage") is
        edited in the lists only. Default: no places."""
        return {}

    # --- drawing and building ------------------------------------------------------
    @abstractmethod
    def graph(self, arch: Any) -> nx.DiGraph: ...

    @abstractmethod
    def config(self, preset: str = "benchmark", dataset: str = "cifar10", **overrides: Any) -> NetworkConfig:
        """The network config of a named preset, optionally with fields overridden."""

    @abstractmethod
    def build(self, arch: Any, config: NetworkConfig | None = None) -> nn.Module: ...

    # --- ground truth ---------------------------------------------------------------
    def truth_specs(self, dataset: str) -> list[str]:
        """Ground-truth accuracy tables for `dataset`, best first, as data-dir "FILE:COLUMN"
        specs (`benchmarks.truth_table` reads them): the space's own tables, then
        NAS-Bench-Suite-Zero's validation accuracy. Empty when no table covers `dataset`."""
        specs = [f"{file}:{columns[dataset]}" for file, columns in self.truth_columns.items() if dataset in columns]
        if self.zero_cost is not None and dataset.lower() in self.zero_cost.tasks:
            specs.append(f"{self.zero_cost.file(dataset)}:val_accuracy")
        return specs

    def naslib_key_to_arch(self, key: str) -> str:
        """A NASLib zc_*.json key (e.g. "(4, 0, 3, 1, 4, 3)") as this space's architecture
        string; ValueError for a malformed key (`naslib.naslib_ints`)."""
        raise ValueError(f"no NASLib key conversion for space {self.name!r}")

    def _unknown_preset(self, preset: str) -> ValueError:
        return ValueError(f"unknown network preset {preset!r} for {self.name}; expected one of {list(self.presets)}")
