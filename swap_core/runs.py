"""The run engine: every long computation is a generator of states, and `Run` drives one in a
background thread.

A search, scoring a set of cells, training a cell, a DARTS supernet and its perturbation
selection, and a SMASH hypernetwork are each a `swap_core` generator built from a `Setup`
and options; it yields a state (a frozen value) after every step. The command line drains
it (`drain`); the app hands it to a `Run`, whose worker thread computes without pause while
the page's fragment only reads `run.state` and draws; a Ray worker (later) drains it where
it runs. Nothing here touches Streamlit: the worker never calls the UI.

`Run` gives:
- `state`, `states` (how many so far), `status` (running, paused, stopped, done, failed),
  `error`, `compute_s` (seconds inside the generator) and `rate` (states per second);
- `pause()`, `resume()`, `stop()`: they take effect at once for the reader (a stopped run
  shows exactly the states it had, and keeps them); the worker notices between two steps,
  so the step in progress finishes and is discarded, and the generator is closed in its own
  thread (a generator cannot be closed from another thread while it runs);
- `on_state`, an optional callback run in the worker after each state (to fold states into
  a trace as they come, so the page never walks a whole history);
- `wait(timeout)` and `wait_parked(timeout)` (a paused worker is idle) for tests and benchmarks;
- with `gate=HeavyJobs(...)` (a user-started heavy run: a search, training, DARTS, SMASH), the
  worker first waits for one of the server's few heavy slots, first come first served:
  `queued` and `queue_position` say where it stands meanwhile (the page draws "Queued: 2nd in
  line"); a paused run gives its slot back and queues again on resume.
"""
from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

ACTIVE = ("running", "paused")
_POLL_S = 0.05  # how often a paused or queued worker looks for resume or stop
HEAVY_JOBS_ENV = "SWAP_EXPLORER_HEAVY_JOBS"


def heavy_jobs_limit() -> int:
    """Heavy runs at once on a server: $SWAP_EXPLORER_HEAVY_JOBS, else half the CPU cores (at
    least 2, so one long run never holds up the whole class): each torch run already uses
    several cores, so more at once only slows all of them."""
    text = os.environ.get(HEAVY_JOBS_ENV, "").strip()
    if not text:
        return max(2, (os.cpu_count() or 2) // 2)
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise ValueError(f"{HEAVY_JOBS_ENV}={text[:20]!r}: give a whole number of heavy runs at once, 1 to 256")
    return int(text)


class HeavyJobs:
    """At most `limit` heavy runs compute at once; the others wait in line, first come first
    served. A server holds one for all its sessions (it carries no computation state)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = heavy_jobs_limit() if limit is None else int(limit)
        if self.limit < 1:
            raise ValueError(f"heavy jobs at once must be at least 1, got {self.limit}")
        self._tickets = itertools.count()
        self._line: list[int] = []      # tickets waiting, in order of arrival
        self._holding: set[int] = set()  # tickets computing
        self._changed = threading.Condition()

    @property
    def running(self) -> int:
        return len(self._holding)

    @property
    def waiting(self) -> int:
        return len(self._line)

    def ticket(self) -> int:
        return next(self._tickets)

    def position(self, ticket: int) -> int | None:
        """1 for the first in line, ...; None when `ticket` is not waiting."""
        with self._changed:
            return self._line.index(ticket) + 1 if ticket in self._line else None

    def enter(self, ticket: int, cancelled: Callable[[], bool]) -> bool:
        """Wait in line until `ticket` is first and a slot is free (True: it holds one now), or
        until `cancelled()` (False: it left the line)."""
        with self._changed:
            self._line.append(ticket)
            try:
                while not (self._line[0] == ticket and len(self._holding) < self.limit):
                    if cancelled():
                        return False
                    self._changed.wait(_POLL_S)
                self._holding.add(ticket)
                return True
            finally:
                self._line.remove(ticket)
                self._changed.notify_all()

    def leave(self, ticket: int) -> None:
        with self._changed:
            if ticket in self._holding:
                self._holding.discard(ticket)
                self._changed.notify_all()


class Run:
    """One generator of states, computed in a daemon thread; see the module docstring."""

    def __init__(self, states: Iterator[Any], *, name: str = "run",
                 on_state: Callable[[Any], None] | None = None, start: bool = True,
                 gate: HeavyJobs | None = None) -> None:
        self.name = name
        self.state: Any = None
        self.states = 0
        self.status = "running"
        self.error = ""
        self.compute_s = 0.0
        self.started = time.perf_counter()
        self.ended: float | None = None
        self._generator = states
        self._on_state = on_state
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._finished = threading.Event()
        self._parked = threading.Event()  # set while the worker waits in a pause
        self._lock = threading.Lock()
        self._gate = gate
        self._ticket = gate.ticket() if gate is not None else None
        self._holds_slot = False
        self._thread = threading.Thread(target=self._work, name=f"swap-run-{name}", daemon=True)
        if start:
            self._thread.start()

    # --- the reader's side -------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def finished(self) -> bool:
        """The worker has ended (the generator is closed)."""
        return self._finished.is_set()

    @property
    def rate(self) -> float:
        """States per second of compute (NaN before the first)."""
        return self.states / self.compute_s if self.states and self.compute_s > 0 else math.nan

    @property
    def queue_position(self) -> int | None:
        """Where this run waits for a heavy slot (1: next to start); None when not waiting."""
        return None if self._gate is None else self._gate.position(self._ticket)

    @property
    def queued(self) -> bool:
        return self.queue_position is not None

    def queue_note(self) -> str | None:
        """For the page: "Queued: 2nd in line behind 1 job ..." while waiting; else None."""
        position = self.queue_position
        if position is None or self._gate is None:
            return None
        ahead, limit = position - 1 + self._gate.running, self._gate.limit
        runs = "heavy runs compute" if limit != 1 else "heavy run computes"
        return (f"Queued: {_ordinal(position)} in line, behind {ahead} job{'s' if ahead != 1 else ''}; "
                f"at most {limit} {runs} at once on this server ({HEAVY_JOBS_ENV}). It starts by itself.")

    def pause(self) -> bool:
        with self._lock:
            if self.status != "running":
                return False
            self.status = "paused"
            self._resume.clear()
            return True

    def resume(self) -> bool:
        with self._lock:
            if self.status != "paused":
                return False
            self.status = "running"
            self._resume.set()
            return True

    def stop(self) -> bool:
        """End the run now; what it computed stays. False when it had already ended."""
        with self._lock:
            if self.status not in ACTIVE:
                return False
            self.status = "stopped"
            self.ended = time.perf_counter()
            self._stop.set()
            self._resume.set()
            return True

    def wait_parked(self, timeout: float | None = None) -> bool:
        """Block until a paused worker has finished its step in progress and waits (True)."""
        return self._parked.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (True) or `timeout` seconds pass (False)."""
        return self._finished.wait(timeout)

    # --- the worker's side -------------------------------------------------------------
    def run_here(self) -> None:
        """Drive the generator in the calling thread (a run built with `start=False`)."""
        self._work()

    def _publish(self, state: Any) -> bool:
        with self._lock:
            if self._stop.is_set():
                return False
            if self._on_state is not None:
                self._on_state(state)
            self.state, self.states = state, self.states + 1
            return True

    def _end(self, status: str, error: str = "") -> None:
        with self._lock:
            if self.status in ACTIVE:
                self.status, self.error, self.ended = status, error, time.perf_counter()

    def _take_slot(self) -> bool:
        """True when the worker may compute: no gate, or it holds a heavy slot (waiting in line
        for one first; False when stopped or paused meanwhile)."""
        if self._gate is not None and not self._holds_slot:
            self._holds_slot = self._gate.enter(self._ticket,
                                                lambda: self._stop.is_set() or not self._resume.is_set())
        return self._gate is None or self._holds_slot

    def _give_slot(self) -> None:
        if self._gate is not None and self._holds_slot:
            self._gate.leave(self._ticket)
            self._holds_slot = False

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._resume.is_set():
                    self._give_slot()  # a paused run lets the next in line compute
                    self._parked.set()
                    self._resume.wait(_POLL_S)
                    continue
                if not self._take_slot():
                    continue  # stopped or paused while in line
                self._parked.clear()
                tick = time.perf_counter()
                try:
                    state = next(self._generator)
                except StopIteration:
                    self._end("done")
                    break
                finally:
                    self.compute_s += time.perf_counter() - tick
                if not self._publish(state):
                    break
        except Exception as error:  # a failing step ends the run; the page shows why
            self._end("failed", f"{type(error).__name__}: {error}")
        finally:
            self._give_slot()
            self._close()

    def _close(self) -> None:
        """Close the generator here, in the worker (its cleanup may fail: the run then failed,
        unless it had already ended), and mark the worker finished whatever happens."""
        try:
            close = getattr(self._generator, "close", None)
            if close is not None:
                close()
        except Exception as error:
            self._end("failed", f"{type(error).__name__} while closing: {error}")
        finally:
            self._finished.set()


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def drain(states: Iterator[Any], on_state: Callable[[Any], None] | None = None) -> Any:
    """Run a generator of states to its end in this thread; its last state (None if none)."""
    last = None
    for last in states:
        if on_state is not None:
            on_state(last)
    return last


__all__ = ["ACTIVE", "HEAVY_JOBS_ENV", "HeavyJobs", "Run", "drain", "heavy_jobs_limit"]
