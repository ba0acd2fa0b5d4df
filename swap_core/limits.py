"""Upper limits on every number a user can type: one table, with the reason for each.

A class shares one server, so no option may ask for unbounded work or memory: a batch of
100,000 images (13.8 GB), a REA sample of 3e7 members (10 s per rerun), 300 million seeds.
`LIMITS` names the largest value of each kind of option and why; the Setup, the search
options, the command line (`apply_maxima`, argparse error "--batch-size: at most 1024 (...)")
and the app's widgets (`max_value=maximum(name)`, `help=help_text(name)`) all read it, so a
limit is changed in one place. Lower bounds, NaN and types are the argparse types' job
(`cli_helpers`); this module only says "at most".
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    maximum: int
    reason: str


LIMITS: Mapping[str, Limit] = {
    "batch": Limit(1024, "memory grows with the batch: the benchmark NB201 network needs about 6.6 GB at 512, "
                         "and no proxy's reference code uses more than 128"),
    "repeats": Limit(100, "each repeat builds and scores the network again"),
    "evaluations": Limit(20_000, "each evaluation scores one network; 20,000 is hours on a CPU"),
    "population": Limit(1_000, "the papers use 10 to 100 members; every step samples the population"),
    "sample_size": Limit(1_000, "members compared per step; more than the population is the whole population"),
    "mutations": Limit(100, "children of one parent per step"),
    "lookups": Limit(20_000, "benchmark lookups per run"),
    "patience": Limit(10_000, "cycles without a better cell before SWAP-NAS restarts"),
    "initial": Limit(1_000, "random points before HNAS's Bayesian optimisation"),
    "candidates": Limit(10_000, "points HNAS's acquisition is computed at, every step"),
    "seeds": Limit(10_000, "runs one command makes, one per seed"),
    "cells": Limit(20_000, "cells scored for one table; each is a network built and scored"),
    "epochs": Limit(100, "training epochs; each passes over the training images"),
    "steps": Limit(20_000, "training steps of the hypernetwork"),
    "channels": Limit(64, "supernet width; memory grows with its square"),
    "images": Limit(4_660, "the CIFAR-10 sample holds 4,660 distinct training images"),
    "sessions": Limit(20, "browser sessions at once on this machine"),
    "edits": Limit(100, "timed edits per session"),
    "threads": Limit(256, "torch threads of one process"),
    "seed": Limit(2**31 - 1, "seeds are 31-bit numbers, as in the app"),
    "minutes": Limit(60, "a measurement that holds the machine for an hour at most"),
    "seconds": Limit(3_600, "a wait of an hour at most"),
    "warmup": Limit(100, "untimed passes before each timed measurement"),
    "rounds": Limit(20, "each round measures every cell again"),
    "workers": Limit(4_096, "tasks in flight at once on a Ray cluster; each holds a network and its batch"),
}

# command-line destinations (argparse `dest`) that are not named as in LIMITS
_DESTS = {"batch_size": "batch", "batch_sizes": "batch", "proxy_batch": "batch", "budget": "evaluations",
          "live_evaluations": "evaluations", "archs": "cells", "idle_wait": "seconds", "page_timeout": "seconds",
          "measure": "cells", "holdout": "cells", "samples": "cells", "train_check": "cells", "chunk": "cells"}


class LimitError(ValueError):
    """A value above its limit; the message names the option, the limit and the reason."""


def limit(name: str) -> Limit:
    if name not in LIMITS:
        raise KeyError(f"no limit named {name!r}; expected one of {sorted(LIMITS)}")
    return LIMITS[name]


def maximum(name: str) -> int:
    return limit(name).maximum


def help_text(name: str) -> str:
    """For a widget's help: "at most N: <reason>"."""
    entry = limit(name)
    return f"at most {entry.maximum:,}: {entry.reason}"


def message(name: str, label: str | None = None) -> str:
    entry = limit(name)
    return f"{label or name}: at most {entry.maximum:,} ({entry.reason})"


def check(name: str, value: Any, label: str | None = None) -> Any:
    """`value` when it is None or at most the limit `name`; else LimitError "<label>: at most N (reason)"."""
    if value is not None and not isinstance(value, bool) and isinstance(value, (int, float)) \
            and value > limit(name).maximum:
        raise LimitError(f"{message(name, label)}, got {value:,}")
    return value


def check_options(options: Mapping[str, Any], *, prefix: str = "") -> None:
    """Check every option of `options` whose name has a limit (search knobs: population, ...)."""
    for key, value in options.items():
        name = _DESTS.get(key, key)
        if name in LIMITS:
            check(name, value, f"{prefix}{key.replace('_', ' ')}")


def limit_for_dest(dest: str) -> str | None:
    """The limit that applies to an argparse destination, if any."""
    name = _DESTS.get(dest, dest)
    return name if name in LIMITS else None


def _bounded(kind, name: str):
    def parse(text: str):
        value = kind(text)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > maximum(name):
            raise argparse.ArgumentTypeError(f"at most {maximum(name):,} ({limit(name).reason}), got {value:,}")
        return value

    parse.__name__ = getattr(kind, "__name__", "value")  # argparse names the type in "invalid <type> value"
    return parse


def apply_maxima(parser: argparse.ArgumentParser) -> None:
    """Wrap the type of every numeric option of `parser` and its subcommands that has a limit, so
    argparse refuses "--batch-size 100000" with "argument --batch-size: at most 1,024 (...)".
    Run after the lower-bound types are set (`cli_helpers.tighten_types`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                apply_maxima(sub)
        elif action.type is not None and action.type not in (str, bool) and callable(action.type) \
                and not getattr(action.type, "_bounded", False):
            name = limit_for_dest(action.dest)
            if name is None or isinstance(action.default, str):
                continue
            action.type = _bounded(action.type, name)
            action.type._bounded = True


__all__ = ["LIMITS", "Limit", "LimitError", "apply_maxima", "check", "check_options", "help_text", "limit",
           "limit_for_dest", "maximum", "message"]
