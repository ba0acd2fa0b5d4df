"""The Ray engine: each payload is a task (one CPU) on a Ray cluster.

Connects to `address`, else $RAY_ADDRESS, else starts a Ray instance on this machine (shut
down again by `close`). The package itself travels with the tasks (`py_modules`), so the
workers run this checkout's code; the image directory ($SWAP_EXPLORER_DATA) is passed on and
must exist at the same path on every node (a shared file system, or the same layout).

At most `workers` tasks are in flight; a task whose worker process dies (killed, out of
memory, a lost node) is retried `RETRIES` times by Ray and then reported as `Failed` with
Ray's reason, like a task whose code raised (which is not retried: scoring is deterministic,
so it would fail again). On Ctrl-C the engine stops waiting (see `map`).

Test hook: with $SWAP_EXPLORER_RAY_DIE_ONCE=PATH the first task to start creates PATH and
kills its own worker process (as a crash would); Ray runs it again.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .base import RETRIES, Done, Failed, MemoryLog, memory_sample

DIE_ONCE_ENV = "SWAP_EXPLORER_RAY_DIE_ONCE"
GPU_SHARE = 0.25  # with --device cuda, four tasks share one GPU (a proxy batch takes a fraction of its memory)
_PASSED_ON = ("SWAP_EXPLORER_DATA", "SWAP_EXPLORER_THREADS")


def _task(fn: Callable[[Any], Any], payload: Any, threads: int | None, die_once: str | None) -> tuple[Any, dict]:
    """What a worker runs: `fn(payload)` and this process's memory afterwards. A worker process
    is the engine's alone, so it takes the Setup's torch thread count (Ray starts it with one)."""
    from ..reproducible import fix_threads

    fix_threads(threads)
    if die_once:
        try:
            descriptor = os.open(die_once, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        else:
            os.close(descriptor)
            os._exit(1)  # the worker process dies mid-run, as a crash would
    value = fn(payload)
    return value, memory_sample()


def _use_token_if_any() -> None:
    """A head started by `ray start` asks for its token (Ray >= 2.5x), which a client sends only
    in token mode: choose it when this machine has a token and the user chose no mode (a
    cluster without authentication accepts such a client too)."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") \
            or (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"  # read by ray when it is imported; one connection per process


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--engine ray needs the ray package: pip install -r requirements.txt") from None
    return ray


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        _use_token_if_any()  # before ray is imported: it reads the mode once
        ray = _import_ray()
        self._ray = ray
        self.started_here = False
        self.memory = MemoryLog()
        self.die_once = os.environ.get(DIE_ONCE_ENV) or None
        address = address or os.environ.get("RAY_ADDRESS") or None
        if not ray.is_initialized():
            package = str(Path(__file__).resolve().parents[1])
            env = {key: str(Path(os.environ[key]).resolve()) if key == "SWAP_EXPLORER_DATA" else os.environ[key]
                   for key in _PASSED_ON if os.environ.get(key)}
            options: dict[str, Any] = {"runtime_env": {"py_modules": [package], "env_vars": env},
                                       "logging_level": logging.ERROR, "log_to_driver": False}
            try:
                if address:
                    ray.init(address=address, **options)
                else:
                    # address="local": a new instance even where a `ray start` head runs on this machine
                    ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                             **options)
                    self.started_here = True
            except (ConnectionError, RuntimeError, ValueError) as error:
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise ValueError(f"cannot connect to {where}: {str(error).splitlines()[0] if str(error) else error}; "
                                 "check the address (ray status), and that this machine has the cluster's token "
                                 "(~/.ray/auth_token as on the head, or $RAY_AUTH_TOKEN), or leave --ray-address "
                                 "and $RAY_ADDRESS unset to start one here") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.cpus = cpus
        self.workers = workers or max(cpus, 1)
        if workers and workers > cpus:
            print(f"note: {workers} workers asked, the cluster has {cpus} CPUs: tasks will queue", file=sys.stderr)
        task = {"num_cpus": 1, "max_retries": RETRIES, "retry_exceptions": False}
        self._remote = ray.remote(_task).options(**task)
        self._on_gpu = ray.remote(_task).options(**task, num_gpus=GPU_SHARE)

    def describe(self) -> str:
        where = "a Ray instance started here" if self.started_here else "the Ray cluster " + \
            str(self._ray.get_runtime_context().gcs_address)
        cpus, tasks = f"{self.cpus} CPU{'s' * (self.cpus != 1)}", f"{self.workers} task{'s' * (self.workers != 1)}"
        return f"ray engine: {where}, {cpus}, {tasks} at once"

    def map(self, fn: Callable[[Any], Any], payloads: Sequence[Any],
            threads: int | None = None, gpu: bool = False) -> Iterator[Done | Failed]:
        """`gpu`: each task asks Ray for `GPU_SHARE` of a GPU (Ray hides GPUs from tasks that ask for none).

        On Ctrl-C, or when the caller stops reading (the app's Stop), this stops waiting and
        cancels nothing: in Ray 2.60 `ray.cancel` races a task's own completion ("Tried to complete
        task that was not pending", a failed check that aborts the whole process; seen once in CI,
        then 3 times in 8 interrupts here, never in 10 without cancelling). The tasks in flight,
        one chunk per worker at most, finish on their workers and their results are dropped; a
        driver that exits takes its tasks with it."""
        ray = self._ray
        remote = self._on_gpu if gpu else self._remote
        pending = list(enumerate(payloads))
        pending.reverse()
        in_flight: dict[Any, int] = {}
        while pending or in_flight:
            while pending and len(in_flight) < self.workers:
                index, payload = pending.pop()
                in_flight[remote.remote(fn, payload, threads, self.die_once)] = index
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                index = in_flight.pop(ref)
                try:
                    value, sample = ray.get(ref)
                except ray.exceptions.RayTaskError as error:  # the task's own code raised
                    cause = error.cause if getattr(error, "cause", None) is not None else error
                    yield Failed(index, f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1]}")
                    continue
                except ray.exceptions.RayError as error:  # its worker died RETRIES + 1 times, a node was lost
                    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    yield Failed(index, f"{type(error).__name__} after {RETRIES} retries: {first[:300]}")
                    continue
                self.memory.note(sample)
                yield Done(index, value)

    def close(self) -> None:
        if self.started_here and self._ray.is_initialized():
            self._ray.shutdown()


__all__ = ["DIE_ONCE_ENV", "RayEngine"]
