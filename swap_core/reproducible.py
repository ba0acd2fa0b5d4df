"""Reproducible runs: a fixed number of torch threads per process. (Weights drawn under a
seed, without torch's global generator: `swap_core.init` and `Setup.network`.)

With several threads, torch's CPU kernels split sums differently, so the last bits of a
result depend on the thread count. For a proxy score that hardly matters; for a training run
it does: the small differences grow step by step, and a one-shot method's final choice (a
DARTS cell picked by perturbation, a SMASH ranking) can change with the thread count alone.
The one-shot methods therefore run with a thread count that is part of their settings and
recorded with their results (default `DEFAULT_THREADS`).

torch's thread count belongs to the whole process (its OpenMP pool is shared by every
thread), so it is fixed once, when a process starts (`fix_threads`: the command line from
`--threads`, the app at start-up from `SWAP_EXPLORER_THREADS`), and never changed around a
step while other threads compute.
"""
from __future__ import annotations

import os

import torch

DEFAULT_THREADS = 1  # reproducible on any machine with the same torch build; slower on many cores


def check_threads(threads: int | None) -> int | None:
    """`threads` if it is None (leave torch's count) or an integer >= 1, else `ValueError`."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number >= 1 (or None for torch's default), got {threads!r}")
    return threads


THREADS_ENV = "SWAP_EXPLORER_THREADS"


def fix_threads(threads: int | None) -> int:
    """Set this process's torch thread count once, at start (None: leave torch's default);
    returns the count now in force."""
    check_threads(threads)
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def threads_from_environment() -> int | None:
    """The thread count named by $SWAP_EXPLORER_THREADS, or None when it is unset."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return None
    try:
        return check_threads(int(text))
    except ValueError:
        raise ValueError(f"${THREADS_ENV} must be a whole number >= 1, got {text!r}") from None


__all__ = ["DEFAULT_THREADS", "THREADS_ENV", "check_threads", "fix_threads", "threads_from_environment"]
