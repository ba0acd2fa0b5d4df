"""The TransNAS-Bench-101 macro (skeleton-level) search space (Duan et al., "TransNAS-Bench-101:
Improving Transferability and Generalizability of Cross-Task Neural Architecture Search",
CVPR 2021).

An architecture is the sequence of 4 to 6 stages of a ResNet-style encoder, one digit per
stage: 1 normal, 2 channels x2, 3 stride 2 (resolution / 2), 4 both. The benchmark allows 1
to 4 downsampling stages (3 or 4) and 1 to 3 channel-doubling stages (2 or 4), which leaves
its 3,256 skeletons (NASLib's sampler draws within the same rules). Every stage is two ResNet basic blocks. The string form is the benchmark's:

    64-41414-basic    (base channels - skeleton - block type)

Search moves: change one stage's code, remove a stage, or insert a stage anywhere, always
within the rules above (`neighbours`); the editor's slots offer the same moves.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import networkx as nx

from .base import EditSlot, quote
from .naslib import naslib_ints
from .registry import register_space
from .tnb101 import (STAGE_CODES, STAGE_KINDS, ResNetBasicBlock, TransNASSpace, downsamples, widens,
                     zero_cost_tables)

MIN_STAGES, MAX_STAGES = 4, 6
MAX_DOWNSAMPLINGS, MAX_DOUBLINGS = 4, 3
EXAMPLE = "64-41414-basic"
EXPECTED_FORM = (f"'64-<skeleton>-basic' with {MIN_STAGES}-{MAX_STAGES} stage digits (1 normal, 2 channels x2, "
                 f"3 stride 2, 4 both; 1-{MAX_DOWNSAMPLINGS} of them 3 or 4, 1-{MAX_DOUBLINGS} of them 2 or 4), "
                 f"e.g. {EXAMPLE}")
OPS: tuple[str, ...] = tuple(STAGE_KINDS[code] for code in STAGE_CODES)
NO_STAGE = 0  # a stage slot's value that removes the stage (NASLib pads its op indices with 0)
NO_INSERT = "none"  # the insert slot's value that inserts nothing


def _error(text: object, problem: str) -> ValueError:
    return ValueError(f"invalid TransNAS-Bench-101 macro architecture {quote(text)}: {problem}. Expected {EXPECTED_FORM}")


def rule_violation(stages: tuple[int, ...]) -> str | None:
    """Why `stages` is not a skeleton of the benchmark, or None when it is one."""
    if not MIN_STAGES <= len(stages) <= MAX_STAGES:
        return f"{len(stages)} stages, expected {MIN_STAGES} to {MAX_STAGES}"
    if any(code not in STAGE_CODES for code in stages):
        return f"stage codes must be digits 1-4, got {''.join(map(str, stages))!r}"
    down, wide = sum(map(downsamples, stages)), sum(map(widens, stages))
    if not 1 <= down <= MAX_DOWNSAMPLINGS:
        return f"{down} downsampling stages (3 or 4), expected 1 to {MAX_DOWNSAMPLINGS}"
    if not 1 <= wide <= MAX_DOUBLINGS:
        return f"{wide} channel-doubling stages (2 or 4), expected 1 to {MAX_DOUBLINGS}"
    return None


@dataclass(frozen=True)
class MacroArch:
    """A macro skeleton: the code (1..4) of each stage, validated against the benchmark's rules."""

    stages: tuple[int, ...]

    def __post_init__(self) -> None:
        if isinstance(self.stages, list):
            object.__setattr__(self, "stages", tuple(self.stages))
        if not isinstance(self.stages, tuple) or any(type(code) is not int for code in self.stages):
            raise ValueError(f"a MacroArch needs a tuple of stage codes 1..4, got {self.stages!r}")
        problem = rule_violation(self.stages)
        if problem:
            raise ValueError(f"not a TransNAS-Bench-101 macro skeleton: {problem}")

    def to_str(self) -> str:
        return f"64-{''.join(map(str, self.stages))}-basic"

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def from_str(cls, text: str) -> "MacroArch":
        """Parse `64-<skeleton>-basic` (surrounding whitespace is ignored)."""
        if not isinstance(text, str):
            raise _error(text, f"expected a str, got {type(text).__name__}")
        parts = text.strip().split("-")
        if len(parts) != 3 or not all(parts):
            raise _error(text, "expected three '-'-separated parts: base channels, skeleton, block type")
        if parts[0] != "64":
            raise _error(text, f"the base channel count is fixed at 64, got {quote(parts[0])}")
        if parts[2] != "basic":
            raise _error(text, f"the block type is fixed at 'basic', got {quote(parts[2])} (cells are the micro space's)")
        if not parts[1].isdigit() or not parts[1].isascii():
            raise _error(text, f"skeleton {quote(parts[1])} must be digits 1-4")
        stages = tuple(int(d) for d in parts[1])
        problem = rule_violation(stages)
        if problem:
            raise _error(text, problem)
        return cls(stages)


def _as_arch(arch: MacroArch | str) -> MacroArch:
    return arch if isinstance(arch, MacroArch) else MacroArch.from_str(arch)


def _valid(stages: tuple[int, ...]) -> MacroArch | None:
    return None if rule_violation(stages) else MacroArch(stages)


@lru_cache(maxsize=1)
def _all_skeletons() -> tuple[MacroArch, ...]:
    return tuple(arch for length in range(MIN_STAGES, MAX_STAGES + 1)
                 for stages in itertools.product(STAGE_CODES, repeat=length) if (arch := _valid(stages)))


def _set_stage(stages: tuple[int, ...], position: int, value: int) -> tuple[int, ...]:
    """Stage `position` (from 0) set to code `value`, or removed when `value` is 0."""
    if value == NO_STAGE:
        return stages[:position] + stages[position + 1:]
    return stages[:position] + (value,) + stages[position + 1:]


def _inserted(stages: tuple[int, ...], k: int, code: int) -> tuple[int, ...]:
    """`stages` with a new stage of `code` as stage k (from 1)."""
    return stages[:k - 1] + (code,) + stages[k - 1:]


def _parse_insert(stages: tuple[int, ...], value: Any) -> tuple[int, ...]:
    """The stages after the "insert" slot's value: "none", or "k:c" (code c as stage k)."""
    if value == NO_INSERT:
        return stages
    k, sep, code = str(value).partition(":")
    if not (sep and k.isdigit() and 1 <= int(k) <= len(stages) + 1 and code in ("1", "2", "3", "4")):
        raise ValueError(f"insert value must be 'none' or 'k:c' (code c 1-4 as stage k, 1..{len(stages) + 1}), "
                         f"got {value!r}")
    return _inserted(stages, int(k), int(code))


@register_space
class TNB101MacroSpace(TransNASSpace):
    """TransNAS-Bench-101 macro: 3,256 skeletons of 4-6 ResNet stages, 7 Taskonomy tasks."""

    name = "tnb101_macro"
    title = "TransNAS-Bench-101 macro (skeleton)"
    example = EXAMPLE
    zero_cost = zero_cost_tables("tnb101_macro",
        "f1d393373855bd7ba29bc81b33adb947ef2518d82aa0e6c003809ce6a4d94212")
    ops = OPS
    named_archs = {
        "micro space's skeleton (41414)": "64-41414-basic",
        "README example (1234)": "64-1234-basic",
        "ResNet-18-like (1444)": "64-1444-basic",
        "downsample early (443311)": "64-443311-basic",
        "downsample late (111244)": "64-111244-basic",
    }

    def from_str(self, text: str) -> MacroArch:
        return MacroArch.from_str(text)

    def naslib_key_to_arch(self, key: str) -> str:
        """NASLib's convert_op_indices_macro_to_str: one stage code per slot, zeros (no stage) dropped."""
        return "64-{}-basic".format("".join(str(v) for v in naslib_ints(key, 6, 5) if v))

    # --- search operations ---------------------------------------------------------
    def sample(self, rng: random.Random) -> MacroArch:
        """Uniform over the 3,256 skeletons."""
        return rng.choice(_all_skeletons())

    def mutate(self, arch: MacroArch, rng: random.Random) -> MacroArch:
        """One random move of `neighbours`: change, remove or insert one stage."""
        return rng.choice(self.neighbours(arch))

    def crossover(self, a: MacroArch, b: MacroArch, rng: random.Random) -> MacroArch:
        """One-point crossover: a's stages up to a cut, then b's from a cut; the first valid
        of 20 random tries, else a copy of a random parent."""
        for _ in range(20):
            child = a.stages[:rng.randint(0, len(a.stages))] + b.stages[rng.randint(0, len(b.stages)):]
            if (arch := _valid(child)) is not None:
                return arch
        return rng.choice((a, b))

    def neighbours(self, arch: MacroArch) -> list[MacroArch]:
        """Every valid skeleton one change, removal or insertion of a stage away."""
        stages, found = arch.stages, {}
        candidates = [_set_stage(stages, i, code) for i in range(len(stages)) for code in STAGE_CODES]
        candidates += [_set_stage(stages, i, NO_STAGE) for i in range(len(stages))]
        candidates += [_inserted(stages, k, code) for k in range(1, len(stages) + 2) for code in STAGE_CODES]
        for candidate in candidates:
            if candidate != stages and (valid := _valid(candidate)) is not None:
                found.setdefault(candidate, valid)
        return list(found.values())

    def enumerate(self) -> Iterator[MacroArch]:
        """All 3,256 skeletons: by number of stages, then lexicographically."""
        yield from _all_skeletons()

    # --- editing -------------------------------------------------------------------
    def edit_slots(self, arch: MacroArch | str) -> list[EditSlot]:
        """One slot per stage ("stage1", ...: a code 1-4, or 0 to remove the stage) and an
        "insert" slot ("k:c" puts a stage of code c at position k, "none" inserts nothing).
        Options are those that keep the skeleton valid; together the slots reach every
        neighbour."""
        arch = _as_arch(arch)
        slots = []
        for position, current in enumerate(arch.stages):
            options = tuple(v for v in (NO_STAGE, *STAGE_CODES)
                            if v == current or _valid(_set_stage(arch.stages, position, v)) is not None)
            labels = tuple("— remove this stage" if v == NO_STAGE else f"{v} {STAGE_KINDS[v]}" for v in options)
            slots.append(EditSlot(f"stage{position + 1}", "skeleton", f"stage {position + 1}", options, current, labels))
        inserts = [(k, code) for k in range(1, len(arch.stages) + 2) for code in STAGE_CODES
                   if _valid(_inserted(arch.stages, k, code)) is not None]
        labels = ("— none",) + tuple(f"{code} {STAGE_KINDS[code]} as stage {k}" for k, code in inserts)
        slots.append(EditSlot("insert", "skeleton", "insert a stage", (NO_INSERT, *(f"{k}:{c}" for k, c in inserts)),
                              NO_INSERT, labels))
        return slots

    def with_slot(self, arch: MacroArch | str, key: str, value: Any) -> MacroArch:
        """Set stage `key` ("stage<k>") to a code 1-4 or 0 (remove it), or insert a stage
        ("insert", value "k:c": code c as stage k, or "none")."""
        arch = _as_arch(arch)
        keys = [f"stage{k + 1}" for k in range(len(arch.stages))] + ["insert"]
        if key not in keys:
            raise ValueError(f"unknown TransNAS-Bench-101 macro slot {key!r}; expected one of {keys}")
        if key == "insert":
            stages = _parse_insert(arch.stages, value)
        elif str(value) in ("0", "1", "2", "3", "4"):
            stages = _set_stage(arch.stages, keys.index(key), int(value))
        else:
            raise ValueError(f"stage value must be 0 (remove the stage) or a code 1-4, got {value!r}")
        problem = rule_violation(stages)
        if problem:
            raise ValueError(f"setting {key} to {value!r} breaks the macro space's rules: {problem}")
        return MacroArch(stages)

    def slot_places(self, arch: MacroArch | str) -> dict[str, tuple]:
        """Each stage's slot on its node; "insert a stage" on the stem."""
        places = {f"stage{k}": ("node", k) for k in range(1, len(_as_arch(arch).stages) + 1)}
        return places | {"insert": ("node", 0)}

    # --- drawing and building ------------------------------------------------------
    def graph(self, arch: MacroArch | str) -> nx.DiGraph:
        """A chain: node 0 the stem, node k stage k labelled with its code. Nodes carry
        `layer` (= k), `row` (0), `channels` and `scale` (resolution divisor), stages also `code`
        and `op`, the stage's kind (a stage is a node, so the drawing colours nodes by kind);
        edges only carry the data from one stage to the next (op "")."""
        arch = _as_arch(arch)
        g = nx.DiGraph(arch=arch.to_str())
        channels, scale = 64, 4
        g.add_node(0, label="stem", layer=0, row=0.0, channels=channels, scale=scale)
        for k, code in enumerate(arch.stages, start=1):
            channels, scale = channels * (2 if widens(code) else 1), scale * (2 if downsamples(code) else 1)
            g.add_node(k, label=str(code), layer=k, row=0.0, code=code, channels=channels, scale=scale,
                       op=STAGE_KINDS[code])
            g.add_edge(k - 1, k, op="")
        return g

    def encoder_plan(self, arch: MacroArch) -> tuple:
        return arch.stages, ResNetBasicBlock


__all__ = ["EXAMPLE", "OPS", "MacroArch", "TNB101MacroSpace", "rule_violation"]
