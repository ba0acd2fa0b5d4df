"""Live runs kept in `st.session_state`: a generator (a search, a training) advanced a little per
run of a page's fragment, and stopped from a button. Search, Train this cell, DARTS and SMASH
all run this way; a run is any object with `generator`, `status` and `error`."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def close_generator(generator) -> None:
    """Close a live run's generator from a button's callback. The callback can run while the
    page's fragment, in the run this click interrupts, is still inside `next(generator)`
    ("generator already executing"): then leave it; the fragment stops at its next state,
    since the run's status is no longer active, and the generator is dropped with it."""
    if generator is None:
        return
    try:
        generator.close()
    except ValueError:
        pass


def stop_live(run: Any, *, active: str = "running", then: str = "stopped") -> bool:
    """Stop `run` from a button if its status is `active`: close its generator (see
    `close_generator`), drop it, and set the status to `then`. False when it was not active."""
    if run is None or getattr(run, "status", None) != active:
        return False
    close_generator(run.generator)
    run.generator, run.status = None, then
    return True


def take_states(run: Any, budget_s: float, on_state: Callable[[Any], None], *, active: str = "running",
                exhausted: str = "done", failures: tuple[type[BaseException], ...] = (RuntimeError, ValueError),
                describe: Callable[[BaseException], str] = str) -> float:
    """Hand `run.generator`'s states to `on_state` while `run.status` is `active`, for about
    `budget_s` seconds (at least one state). An exhausted generator sets the status to
    `exhausted`, one of `failures` sets "failed" and `run.error` — unless the run was stopped
    meanwhile. Returns the seconds spent inside the generator."""
    started, inside = time.perf_counter(), 0.0
    while run.status == active and run.generator is not None:
        tick = time.perf_counter()
        try:
            state = next(run.generator)
        except StopIteration:
            if run.status == active:
                run.status = exhausted
            break
        except failures as error:
            if run.status == active:
                run.status, run.error = "failed", describe(error)
            break
        finally:
            inside += time.perf_counter() - tick
        on_state(state)
        if time.perf_counter() - started >= budget_s:
            break
    return inside


def error_with_type(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


__all__ = ["close_generator", "error_with_type", "stop_live", "take_states"]
