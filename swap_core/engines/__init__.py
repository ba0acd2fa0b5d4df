"""Executors for batches of work: `local` (in this process, in order) and `ray` (a cluster).

A batch is a module-level function and a list of payloads (a Setup and a chunk of
architecture strings, never a model: a worker builds its own networks and reads its own
images). `engine.map(fn, payloads)` yields `Done(index, value)` or `Failed(index, reason)` for
each payload as it finishes, in any order; the caller puts them back in order (the results
themselves depend only on the payload, never on the worker or the order: per-cell seeds come
from `Setup.cell_seed`).

Every worker reports its process's resident memory with each result; `engine.memory` keeps,
per process, its RSS after its first and its last result and its peak, so that a long run
can show its memory stayed flat (`memory_summary`).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .base import RETRIES, Done, Failed, MemoryLog, ProcessMemory, memory_sample

ENGINES = ("local", "ray")
class LocalEngine:
    """In this process, one payload after another, in order."""
    name = "local"

    def __init__(self) -> None:
        self.workers = 1
        self.memory = MemoryLog()

    def map(self, fn: Callable[[Any], Any], payloads: Sequence[Any],
            threads: int | None = None, gpu: bool = False) -> Iterator[Done | Failed]:
        """`threads` and `gpu` are for workers of their own: this process keeps its thread count and devices."""
        for index, payload in enumerate(payloads):
            try:
                value = fn(payload)
            except (ValueError, RuntimeError, MemoryError, OSError) as error:
                yield Failed(index, f"{type(error).__name__}: {error}")
                continue
            self.memory.note(memory_sample())
            yield Done(index, value)

    def describe(self) -> str:
        return "local engine: this process"

    def close(self) -> None:
        pass


def open_engine(name: str = "local", *, address: str | None = None, workers: int | None = None) -> Any:
    """The engine `name`: `local`, or `ray` connected to `address` (else $RAY_ADDRESS, else a
    Ray instance started here with `workers` CPUs) running at most `workers` tasks at once
    (default: the cluster's CPUs)."""
    if name == "local":
        if address:
            raise ValueError("--ray-address needs --engine ray")
        return LocalEngine()
    if name == "ray":
        from .ray_engine import RayEngine

        return RayEngine(address=address, workers=workers)
    raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")


def add_engine_arguments(parser, *, what: str = "architectures") -> None:
    """`--engine`, `--ray-address` and `--workers` on a command's parser."""
    from ..cli_helpers import positive_int

    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help=f"local: in this process (default); ray: chunks of {what} as tasks on a Ray cluster "
                             "($RAY_ADDRESS or --ray-address, else a Ray instance started on this machine)")
    parser.add_argument("--ray-address", default=None,
                        help="the Ray cluster to use with --engine ray, e.g. 10.0.0.5:6379 (default: $RAY_ADDRESS)")
    parser.add_argument("--workers", type=positive_int,
                        default=None, help="tasks at once with --engine ray (default: the cluster's CPUs)")


def engine_from_args(args) -> Any:
    if args.engine == "local" and args.workers is not None:
        print("note: --workers applies to --engine ray; the local engine runs one task at a time", file=sys.stderr)
    return open_engine(args.engine, address=args.ray_address, workers=args.workers)


__all__ = ["Done", "ENGINES", "Failed", "LocalEngine", "MemoryLog", "ProcessMemory", "RETRIES", "add_engine_arguments",
           "engine_from_args", "memory_sample", "open_engine"]
