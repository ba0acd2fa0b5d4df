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

import math
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


__all__ = ["Foreground", "in_foreground"]
