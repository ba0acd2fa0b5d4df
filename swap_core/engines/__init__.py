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

import os
import resource
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

ENGINES = ("local", "ray")
RETRIES = 2  # a task whose worker dies is run again this often before it is listed as failed


@dataclass(frozen=True)
class Done:
    index: int
    value: Any


@dataclass(frozen=True)
class Failed:
    index: int
    reason: str


@dataclass
class ProcessMemory:
    """One process's resident memory (MB = 10^6 bytes) over a run."""
    host: str
    pid: int
    first_mb: float
    last_mb: float
    peak_mb: float
    results: int = 1


@dataclass
class MemoryLog:
    processes: dict[tuple[str, int], ProcessMemory] = field(default_factory=dict)

    def note(self, sample: dict) -> None:
        key = (sample["host"], sample["pid"])
        seen = self.processes.get(key)
        if seen is None:
            self.processes[key] = ProcessMemory(sample["host"], sample["pid"], sample["rss_mb"], sample["rss_mb"],
                                                sample["peak_mb"])
        else:
            seen.last_mb, seen.peak_mb = sample["rss_mb"], max(seen.peak_mb, sample["peak_mb"])
            seen.results += 1

    def summary(self) -> str:
        """One line: the largest peak RSS of any process, and each process's RSS after its first
        and after its last result (flat memory: the two are close)."""
        if not self.processes:
            return "memory: no results"
        procs = sorted(self.processes.values(), key=lambda p: (p.host, p.pid))
        growth = max(p.last_mb - p.first_mb for p in procs)
        each = ", ".join(f"{p.first_mb:.0f}→{p.last_mb:.0f}" for p in procs[:8])
        more = f" (+{len(procs) - 8} more)" if len(procs) > 8 else ""
        return (f"memory: peak RSS {max(p.peak_mb for p in procs):.0f} MB over {len(procs)} worker process(es); "
                f"RSS after first→last result (MB): {each}{more}; largest growth {growth:+.0f} MB")


def memory_sample() -> dict:
    """This process's resident memory now and at its peak (MB), with its host and pid."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    try:
        with open("/proc/self/statm") as handle:
            rss = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        rss = peak_kb * 1024
    return {"host": os.uname().nodename, "pid": os.getpid(), "rss_mb": rss / 1e6, "peak_mb": peak_kb * 1024 / 1e6}


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


__all__ = ["Done", "ENGINES", "Failed", "LocalEngine", "MemoryLog", "RETRIES", "add_engine_arguments",
           "engine_from_args", "memory_sample", "open_engine"]
