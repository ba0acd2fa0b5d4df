"""The Proxy Lab's cluster job: score a large set of cells (a whole benchmark table, a whole
finite space) on a Ray cluster and follow it.

`cluster_scoring_states(setup, archs, names, store)` opens the ray engine (`$RAY_ADDRESS`, or
`address`), runs `scoring.score_archs` on it, the same path as `python -m swap_core score
--engine ray`, and yields a `ClusterState` after each cell. Every computed cell goes into the
score store on this side as it comes back, so whatever reads the store (the Lab's tables and
plots, `prepare`, a later CLI run) sees it. The engine is closed when the generator ends or is
closed early (the app's Stop); tasks still in flight finish on the cluster and are dropped.

Nothing here imports ray until a job starts: without `$RAY_ADDRESS` the app never offers a
cluster job (`cluster_address()` is None).
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .engines import open_engine
from .scoring import ScoreJob, score_archs, whole_space  # noqa: F401 - whole_space: the page's
from .setup import Setup

ADDRESS_ENV = "RAY_ADDRESS"


def cluster_address() -> str | None:
    """The Ray cluster the app may send jobs to ($RAY_ADDRESS), or None: no cluster offered."""
    return os.environ.get(ADDRESS_ENV, "").strip() or None


def first_then_rest(first: Sequence[str], rest: Sequence[str]) -> list[str]:
    """`first`, then the cells of `rest` not among them, each once: a whole-space job does the
    page's own set before the others, so that its views fill first."""
    seen = dict.fromkeys(first)
    return [*seen, *(arch for arch in dict.fromkeys(rest) if arch not in seen)]


@dataclass(frozen=True)
class ClusterState:
    """How far a cluster job has got, after its `done`-th cell (of `total`)."""

    done: int
    total: int
    failed: int        # cells no score came back for (a task failed after its retries)
    stored: int        # cells the store already had (not sent to the cluster)
    elapsed_s: float   # since the job started, connecting included
    last_error: str    # the last failure ("arch: reason"), "" if none
    engine: str        # the engine's own description (cluster address, CPUs, tasks at once)
    connect_s: float = 0.0  # of elapsed_s, spent connecting to the cluster (not counted in the rate)
    undefined: int = 0      # cells with a proxy undefined (NaN, kept with its reason, as on the page)
    last_undefined: str = ""  # the last such reason ("arch: proxy: reason")

    @property
    def computed(self) -> int:
        return self.done - self.stored

    @property
    def rate(self) -> float:
        """Cells computed on the cluster per second since it was reached (NaN before the first)."""
        working = self.elapsed_s - self.connect_s
        return self.computed / working if self.computed and working > 0 else math.nan

    @property
    def eta_s(self) -> float:
        """Seconds left at the rate so far (0 when done, NaN while unknown)."""
        left = self.total - self.done
        return 0.0 if left == 0 else (left / self.rate if math.isfinite(self.rate) else math.nan)

    def text(self) -> str:
        """'k of n cells, x cells/s, ETA ...' for a progress bar."""
        rate = f"{self.rate:.1f} cells/s" if math.isfinite(self.rate) else "– cells/s"
        line = f"{self.done:,} of {self.total:,} cells, {rate}, ETA {duration(self.eta_s)}"
        if self.stored:
            line += f" ({self.stored:,} already in the store)"
        return line + (f"; {self.failed:,} failed" if self.failed else "")


def duration(seconds: float) -> str:
    """'–', '40 s', '3 min 20 s' or '2 h 05 min'."""
    if not math.isfinite(seconds):
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def cluster_scoring_states(setup: Setup, archs: Sequence[str], names: Sequence[str], store: Any,
                           address: str | None = None, *, workers: int | None = None,
                           engine: str = "ray") -> Iterator[ClusterState]:
    """Score `archs` (canonical strings) with the proxies `names` on the cluster at `address`
    (else $RAY_ADDRESS); one `ClusterState` per cell, in the order of `archs`. `engine="local"`
    runs the same job in this process (for tests and a machine without Ray)."""
    archs, names = list(archs), tuple(names)
    if not archs:
        raise ValueError("a cluster job needs at least one architecture")
    if not names:
        raise ValueError("a cluster job needs at least one proxy")
    start = time.perf_counter()
    executor = open_engine(engine, address=address, workers=workers)
    connect_s, where = time.perf_counter() - start, executor.describe()
    rows = score_archs(ScoreJob(setup, names), archs, engine=executor, store=store)
    try:
        done = failed = stored = undefined = 0
        last_error = last_undefined = ""
        for row in rows:
            done += 1
            stored += bool(row["stored"])
            if row["failed"]:
                failed, last_error = failed + 1, f"{row['arch']}: {row['failed']}"
            elif row["errors"]:
                undefined += 1
                last_undefined = f"{row['arch']}: " + "; ".join(f"{n}: {e}" for n, e in row["errors"].items())
            yield ClusterState(done, len(archs), failed, stored, time.perf_counter() - start, last_error, where,
                               connect_s, undefined, last_undefined)
    finally:
        rows.close()  # stops waiting: tasks in flight finish on the cluster, their results dropped
        executor.close()


__all__ = ["ADDRESS_ENV", "ClusterState", "cluster_address", "cluster_scoring_states", "duration",
           "first_then_rest", "whole_space"]
