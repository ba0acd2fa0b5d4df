"""Scoring many cells on an engine: the one path of `score`, the suite-zero table script and
the Proxy Lab's cluster job.

`score_archs(job, archs, engine=..., store=...)` takes the cells the store already holds from
the store, cuts the rest into chunks, runs `score_chunk` on each (in this process or as Ray
tasks: a task carries the `ScoreJob`, a Setup with proxy names and options, and a chunk of
architecture strings, never a model), keeps each computed cell in the store and yields one row
per cell **in the order of `archs`**, whatever order the chunks finished in. A cell's scores
depend only on (Setup, arch) (`Setup.cell_seed`), so the rows are the same with either
engine, any number of workers and any chunking.

A row is {"arch", "values": {proxy: float (NaN where undefined)}, "errors": {proxy: reason},
"seconds", "failed": None or the reason no score came back (a task that failed after its
retries), "stored": whether it came from the store}.

On Ctrl-C the rows that finished are handed over first (out of order if an earlier chunk is
still running), then KeyboardInterrupt goes on up: nothing finished is lost.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engines import Failed
from .setup import Setup
from .spaces import get_space

CHUNK_MAX = 50  # cells per task at most: about 10 s of the teaching network, lost at most per crash


@dataclass(frozen=True)
class ScoreJob:
    setup: Setup
    names: tuple[str, ...]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def score_chunk(payload: tuple[ScoreJob, Sequence[str]]) -> list[dict]:
    """Score each cell of a chunk (what a worker runs): a row per cell, a cell that cannot be
    scored (a ValueError: too large for memory, say) as a failed row, the others still scored."""
    job, archs = payload
    rows = []
    for arch in archs:
        start = time.perf_counter()
        try:
            scores = job.setup.score(arch, job.names, options=job.options)
        except ValueError as error:
            rows.append(_failed_row(job, arch, str(error)))
            continue
        rows.append({"arch": arch, "values": {n: float(scores[n]) for n in job.names}, "errors": dict(scores.errors),
                     "seconds": time.perf_counter() - start, "failed": None, "stored": False})
    return rows


def _failed_row(job: ScoreJob, arch: str, reason: str) -> dict:
    return {"arch": arch, "values": {n: math.nan for n in job.names}, "errors": {}, "seconds": 0.0,
            "failed": reason, "stored": False}


def whole_space(space: str) -> list[str]:
    """Every cell of a finite space as canonical strings (NB201: 15,625): `score --all` and the
    Lab's whole-space cluster job; ValueError for a space too large to list."""
    found = get_space(space)
    if not found.finite:
        raise ValueError(f"the {found.name} space is not finite: score a benchmark table or a sample of it")
    return [found.to_str(arch) for arch in found.enumerate()]


def chunk_size(cells: int, workers: int) -> int:
    """About eight chunks per worker (a slow chunk does not hold the others up), 1 to `CHUNK_MAX` cells."""
    return max(1, min(CHUNK_MAX, cells // max(8 * workers, 1)))


def score_archs(job: ScoreJob, archs: Sequence[str], *, engine: Any, store: Any = None,
                chunk: int | None = None) -> Iterator[dict]:
    """One row per cell of `archs` (canonical strings), in their order; see the module docstring."""
    setup, names = job.setup, list(job.names)
    finished: dict[int, dict] = {}
    todo: list[int] = []
    for index, arch in enumerate(archs):
        row = None if store is None else store.row(setup, arch, names, job.options)
        if row is None:
            todo.append(index)
        else:
            finished[index] = {"arch": arch, "values": {n: float(row[n]) for n in names}, "errors": row["errors"],
                               "seconds": float(row["seconds"]), "failed": None, "stored": True}
    size = chunk or chunk_size(len(todo), engine.workers)
    chunks = [todo[start:start + size] for start in range(0, len(todo), size)]
    following = 0
    try:
        for event in engine.map(score_chunk, [(job, [archs[i] for i in c]) for c in chunks], threads=setup.threads,
                                gpu=setup.device.startswith("cuda")):
            indices = chunks[event.index]
            if isinstance(event, Failed):
                for index in indices:
                    finished[index] = _failed_row(job, archs[index], event.reason)
            else:
                for index, row in zip(indices, event.value):
                    finished[index] = row
                    if store is not None and row["failed"] is None:
                        store.put(setup, row["arch"], row["values"], row["errors"], row["seconds"], job.options)
            while following in finished:
                yield finished.pop(following)
                following += 1
        while following in finished:
            yield finished.pop(following)
            following += 1
    except KeyboardInterrupt:
        for index in sorted(finished):  # finished, but behind a chunk that was still running
            yield finished.pop(index)
        raise


__all__ = ["CHUNK_MAX", "ScoreJob", "chunk_size", "score_archs", "score_chunk", "whole_space"]
