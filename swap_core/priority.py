"""The user goes first: a gate that background work (filling a reference sample, scoring a
set of cells nobody is waiting for) passes between two small steps, and that waits while a
user's request is in flight — a page being drawn after a click, the current cell being
scored — and for `settle_s` after it (while the browser draws the answer on the same CPU). Background work thus never delays an edit by more than the step it is in (one proxy
on one cell, a fraction of a second on the teaching networks).

Background steps also run one at a time across the whole server (`background`), so that many
sessions' workers take turns instead of crowding a laptop's cores (each torch op already uses
all of them). A server holds one `Foreground` for all its sessions (the app keeps it as a shared
resource); it carries no computation state, only the count of requests in flight. A
background step waits at most `max_wait_s`, so a stream of requests cannot starve it.
"""
from __future__ import annotations

import contextvars
import heapq
import itertools
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Foreground:
    """Requests in flight; `checkpoint()` waits until there are none (see module docstring)."""

    def __init__(self, max_wait_s: float = 5.0, settle_s: float = 0.3) -> None:
        self.max_wait_s = max_wait_s
        self.settle_s = settle_s  # quiet time after a request (the browser draws its answer meanwhile)
        self._busy = 0
        self._last_end = -math.inf
        self._idle = threading.Condition()
        self._slot = threading.Lock()  # one background step at a time on the whole server

    @property
    def busy(self) -> int:
        return self._busy

    @contextmanager
    def request(self) -> Iterator[None]:
        """Mark a user's request in flight for the duration of the block."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._last_end = time.monotonic()
                if self._busy == 0:
                    self._idle.notify_all()

    def checkpoint(self) -> bool:
        """Background work calls this between steps: returns once no request has been in
        flight for `settle_s` (True), or after `max_wait_s` (False)."""
        deadline = time.monotonic() + self.max_wait_s
        with self._idle:
            while True:
                now = time.monotonic()
                quiet_for = now - self._last_end
                if self._busy == 0 and quiet_for >= self.settle_s:
                    return True
                if now >= deadline:
                    return False
                wait = self.settle_s - quiet_for if self._busy == 0 else deadline - now
                self._idle.wait(min(max(wait, 0.01), deadline - now))


    @contextmanager
    def background(self) -> Iterator[None]:
        """One step of background work: waits as `checkpoint` does, then runs alone among the
        server's background steps (several sessions' workers never crowd the CPU at once)."""
        self.checkpoint()
        with self._slot:
            yield


def in_foreground(gate: Foreground, states: Iterator) -> Iterator:
    """`states`, each computed as a user's request (background work waits meanwhile)."""
    try:
        while True:
            with gate.request():
                try:
                    state = next(states)
                except StopIteration:
                    return
            yield state
    finally:
        close = getattr(states, "close", None)
        if close is not None:
            close()


# --- compute slots -----------------------------------------------------------------------------
SLOTS_ENV = "SWAP_EXPLORER_COMPUTE_SLOTS"
_URGENT = contextvars.ContextVar("swap_explorer_urgent", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Scorings started in this block (this thread) are a user waiting: they take the next free
    compute slot before any worker's (the app wraps each page run in it)."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def default_slots() -> int:
    """$SWAP_EXPLORER_COMPUTE_SLOTS, else the cores over torch's threads per op (at least 1)."""
    import torch

    raw = os.environ.get(SLOTS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{SLOTS_ENV} must be a whole number of at least 1, got {raw!r}")
        return int(raw)
    return max(1, (os.cpu_count() or 1) // max(torch.get_num_threads(), 1))


class ComputeSlots:
    """At most `slots` scorings compute at once in this process; the others wait, a user's
    (`urgent`) before any worker's, each kind first come first served. On a 2-core laptop a
    class's sessions otherwise run some 20 scorings at once, each asking for both cores (torch's
    threads), and the one a student waits for is slowed by all the others. Carries no computation
    state: where a scoring waits never changes its number."""

    def __init__(self, slots: int | None = None) -> None:
        self._slots = slots
        self._running = 0
        self._line: list[tuple[int, int]] = []  # (0 urgent | 1 worker, arrival), a heap
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    @property
    def slots(self) -> int:
        if self._slots is None:
            self._slots = default_slots()
        return self._slots

    @contextmanager
    def slot(self, is_urgent: bool | None = None) -> Iterator[None]:
        is_urgent = _URGENT.get() if is_urgent is None else is_urgent
        ticket = (0 if is_urgent else 1, next(self._tickets))
        limit = self.slots
        with self._changed:
            heapq.heappush(self._line, ticket)
            while self._line[0] != ticket or self._running >= limit:
                self._changed.wait(0.5)
            heapq.heappop(self._line)
            self._running += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


SLOTS = ComputeSlots()  # this process's (one server: every session's scorings)


def compute_slot():
    """Hold one of this process's compute slots while the block runs (see `ComputeSlots`)."""
    return SLOTS.slot()


__all__ = ["SLOTS", "SLOTS_ENV", "ComputeSlots", "Foreground", "compute_slot", "default_slots", "in_foreground",
           "urgent"]
