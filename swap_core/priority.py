"""The user goes first: a gate that background work (filling a reference sample, scoring a
set of cells nobody is waiting for) passes between two small steps, and that waits while a
user's request is in flight — a page being drawn after a click, the current cell being
scored. Background work thus never delays an edit by more than the step it is in (one proxy
on one cell, a fraction of a second on the teaching networks).

A server holds one `Foreground` for all its sessions (the app keeps it as a shared
resource); it carries no computation state, only the count of requests in flight. A
background step waits at most `max_wait_s`, so a stream of requests cannot starve it.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Foreground:
    """Requests in flight; `checkpoint()` waits until there are none (see module docstring)."""

    def __init__(self, max_wait_s: float = 5.0) -> None:
        self.max_wait_s = max_wait_s
        self._busy = 0
        self._idle = threading.Condition()

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
                if self._busy == 0:
                    self._idle.notify_all()

    def checkpoint(self) -> bool:
        """Background work calls this between steps: returns once no request is in flight
        (True), or after `max_wait_s` (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=self.max_wait_s)


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
