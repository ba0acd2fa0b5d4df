"""Reproducible runs: weights drawn under a seed, and a fixed number of torch threads.

`seeded(seed)` runs its body with torch's global random state seeded and gives the caller's
state back afterwards, so building a network under a seed disturbs nothing else.

With several threads, torch's CPU kernels split sums differently, so the last bits of a
result depend on the thread count. For a proxy score that hardly matters; for a training run
it does: the small differences grow step by step, and a one-shot method's final choice (a
DARTS cell picked by perturbation, a SMASH ranking) can change with the thread count alone.
The one-shot methods therefore run with a thread count that is part of their settings and
recorded with their results (default `DEFAULT_THREADS`).

`torch_threads(n)` sets the thread count for the code inside it and restores the previous count.
Generators use it around each step, never across a `yield`, so code running between steps
keeps its own thread count.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

DEFAULT_THREADS = 1  # reproducible on any machine with the same torch build; slower on many cores


def check_threads(threads: int | None) -> int | None:
    """`threads` if it is None (leave torch's count) or an integer >= 1, else `ValueError`."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number >= 1 (or None for torch's default), got {threads!r}")
    return threads


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the body with torch's CPU random state seeded by `seed`; the caller's state is restored."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the body with `threads` torch threads (None: unchanged), then restore the count."""
    check_threads(threads)
    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


__all__ = ["DEFAULT_THREADS", "check_threads", "seeded", "torch_threads"]
