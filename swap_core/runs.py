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
- `wait(timeout)` and `wait_parked(timeout)` (a paused worker is idle) for tests and benchmarks.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

ACTIVE = ("running", "paused")
_POLL_S = 0.05  # how often a paused worker looks for resume or stop


class Run:
    """One generator of states, computed in a daemon thread; see the module docstring."""

    def __init__(self, states: Iterator[Any], *, name: str = "run",
                 on_state: Callable[[Any], None] | None = None, start: bool = True) -> None:
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

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._resume.is_set():
                    self._parked.set()
                    self._resume.wait(_POLL_S)
                    continue
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


def drain(states: Iterator[Any], on_state: Callable[[Any], None] | None = None) -> Any:
    """Run a generator of states to its end in this thread; its last state (None if none)."""
    last = None
    for last in states:
        if on_state is not None:
            on_state(last)
    return last


__all__ = ["ACTIVE", "Run", "drain"]
