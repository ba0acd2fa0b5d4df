"""A memory estimate before a network runs, checked against a budget: refuse, don't crash.

Many students share one server. Batch 512 on the benchmark NB201 network needs about 6.6 GB
for one cell; two or three such requests exhaust the machine and the allocator's raw error
reaches the page. So before `Setup.score` runs a network it estimates the memory the batch
needs and refuses, with a message that says what to lower, when that is over the budget.

The estimate: one sample (a zero image) passes through the network `Setup.score` has just built,
with forward hooks on every leaf module that add up the bytes of its outputs — all of them, and
those of the ReLUs alone (a few ms; `cell_activation_bytes` does the same on PyTorch's `meta`
device without weights, but its meta kernels take tens of ms per cell). Per sample, then:

- a proxy that takes gradients (`ProxyInfo.needs_grad`) keeps every activation for the
  backward pass: `GRAD_FACTOR` × all leaf outputs;
- one that does not (SWAP, NASWOT, ...) keeps what it records of the ReLUs (the patterns) plus
  the few live tensors of a forward pass: `NO_GRAD_FACTOR` × the ReLU outputs;
- double-precision proxies twice that.

How the factors were chosen: the peak resident memory (VmHWM of a fresh process, minus its
value after scoring batch 1 of the same cell) was measured on the CPU for NB201 teaching at
batch 64 and 256, NB201 and NB101 benchmark at 64, and DARTS teaching at 64. Measured over the
estimate's base (leaf outputs for grad_norm; ReLU outputs for swap and naswot) the ratios were
0.92-1.40 with gradients and 0.45-1.55 without, so the factors 1.5 and 1.6 sit just above
the largest: the estimate is an upper bound for those cases, within 1.1-1.4 of the measured
peak for the teaching networks (tests/test_memory.py checks one) and up to ~3x above it for
SWAP on the benchmark networks (it refuses a little early rather than late). For NB201
benchmark at batch 512 with a gradient proxy it gives 5-6 GB, depending on the cell (issue 19
measured 6.6 GB for the Cell Designer's proxies together; the allocator's own error, if it
comes anyway, is turned into the same one-line error by `Setup.score`).

The budget: `SWAP_EXPLORER_MEMORY_BUDGET` ("4G", "512M", or bytes), default half the machine's
memory, is for every scoring of the process at once — one server, many sessions. A scoring
whose estimate alone is over it is refused; otherwise it reserves its estimate in the process's
`MemoryPool` (`reserve`) for as long as it runs, and one that does not fit beside the scorings
already running waits for them (at most `WAIT_S`, then it is refused, saying the server is busy).
Reservations change no result: they only decide when a scoring starts.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.nn as nn

BUDGET_ENV = "SWAP_EXPLORER_MEMORY_BUDGET"
DEFAULT_FRACTION = 2          # the default budget is 1/DEFAULT_FRACTION of the machine's memory
WAIT_S = 60.0                 # how long a scoring waits for memory that others hold before it is refused
GRAD_FACTOR = 1.5             # × every leaf module's output, per sample, for a proxy with gradients
NO_GRAD_FACTOR = 1.6          # × the ReLU outputs, per sample, for a proxy without (see the docstring)
WEIGHT_COPIES = 3             # the network, the copy `score` restores from, its gradients
_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryBudgetError(ValueError):
    """A computation would need more memory than the budget (or ran out); the message says what to lower."""


# --- the budget ------------------------------------------------------------------------------
def parse_size(text: str) -> int:
    """"4G", "512M", "1.5G", "100000" (bytes) → bytes; K/M/G/T are powers of 1024."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{BUDGET_ENV}={str(text)[:40]!r} is not a memory size; write e.g. 4G, 512M or a "
                         "number of bytes")
    return int(float(match.group(1)) * _SUFFIXES[match.group(2).upper()])


@functools.lru_cache(maxsize=1)
def machine_memory() -> int:
    """The machine's memory in bytes (MemTotal, else the page count)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def budget_bytes() -> int:
    """The memory the scorings of this process may use together: $SWAP_EXPLORER_MEMORY_BUDGET, else half
    the machine's."""
    text = os.environ.get(BUDGET_ENV, "").strip()
    return parse_size(text) if text else machine_memory() // DEFAULT_FRACTION


def format_bytes(n: float) -> str:
    """Binary units, as the budget is written ("4G" = 4 GiB)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


# --- the estimate ----------------------------------------------------------------------------
def activation_bytes(model: nn.Module, input_size: int) -> tuple[int, int, int]:
    """(all leaf outputs, ReLU outputs, weights) in bytes for ONE sample through `model`: one
    forward pass of a zero image in evaluation mode (the modes are put back; nothing else changes)
    on the model's device — the meta device for a network built there (no memory, no arithmetic)."""
    totals = [0, 0]

    def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
        for tensor in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(tensor, torch.Tensor):
                size = tensor.numel() * tensor.element_size()
                totals[0] += size
                if isinstance(module, nn.ReLU):
                    totals[1] += size

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    modes = [(module, module.training) for module in model.modules()]
    handles = [m.register_forward_hook(hook) for m in model.modules() if not any(True for _ in m.children())]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, input_size, input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return totals[0], totals[1], weights


@functools.lru_cache(maxsize=1024)
def cell_activation_bytes(space: str, preset: str, dataset: str, arch: str) -> tuple[int, int, int]:
    """`activation_bytes` of the cell's network built on the meta device, without building
    weights. A pure function of its key (strings only); tens of ms per cell, so `Setup.score`
    measures the network it has built instead."""
    from .init import meta_network
    from .spaces import get_space

    space_obj = get_space(space)
    config = space_obj.config(preset, dataset)
    return activation_bytes(meta_network(space_obj, space_obj.from_str(arch), config), config.input_size)


def estimate_bytes(per_sample: tuple[int, int, int], names: Iterable[str], batch: int) -> int:
    """Peak memory to score with the proxies `names` at `batch` samples, from `activation_bytes`
    of the network (the proxies run one after another: the largest of them)."""
    from .proxies import get_proxy

    every, relu, weights = per_sample
    relu = max(relu, every // 4)  # ReLUs are 28-39 % of the outputs here; a network of F.relu calls has no nn.ReLU
    need = 0.0
    for name in names:
        info = get_proxy(name)
        one = GRAD_FACTOR * every if info.needs_grad else NO_GRAD_FACTOR * relu
        need = max(need, one * (2 if info.needs_double else 1))
    return int(need * batch + WEIGHT_COPIES * weights)


def largest_batch(per_sample: tuple[int, int, int], names: Iterable[str], budget: int) -> int:
    """The largest batch whose estimate fits `budget` (0 when not even one sample does)."""
    names = list(names)
    fixed = estimate_bytes(per_sample, names, 0)
    step = max(estimate_bytes(per_sample, names, 1) - fixed, 1)
    return max(int((budget - fixed) // step), 0)


def check_fits(setup: Any, per_sample: tuple[int, int, int], names: Iterable[str], batch: int,
               budget: int | None = None) -> int:
    """The estimate in bytes; MemoryBudgetError when it is over `budget` (default `budget_bytes()`),
    saying the estimate, the budget and the largest batch that fits."""
    names = list(names)
    budget = budget_bytes() if budget is None else budget
    need = estimate_bytes(per_sample, names, batch)
    if need > budget:
        fits = largest_batch(per_sample, names, budget)
        lower = f"lower the batch to {fits} or less" if fits >= 1 else "lower the batch"
        other = " or use the 'teaching' network" if setup.preset != "teaching" else ""
        raise MemoryBudgetError(
            f"scoring this cell at batch {batch} on the {setup.preset!r} {setup.space} network needs about "
            f"{format_bytes(need)}, over the memory budget of {format_bytes(budget)}: {lower}{other} "
            f"(the budget is set by {BUDGET_ENV})")
    return need


class MemoryPool:
    """The bytes that running scorings have reserved, against the budget: `reserve(need)` waits until
    `need` fits beside them (first come, first served), holds it while the block runs, then gives it
    back. The budget is read at each reservation (`budget_bytes()`, unless given)."""

    def __init__(self, budget: int | None = None):
        self._budget = budget
        self._held = 0
        self._waiting: list[object] = []  # tickets, in arrival order
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        return self._held

    @contextlib.contextmanager
    def reserve(self, need: int, wait_s: float = WAIT_S) -> Iterator[None]:
        budget = budget_bytes() if self._budget is None else self._budget
        need = min(int(need), budget)  # over the budget alone is check_fits's refusal, before this
        ticket, deadline = object(), time.monotonic() + wait_s
        with self._changed:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self._held + need > budget:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise MemoryBudgetError(
                            f"the server is busy: other scorings hold {format_bytes(self._held)} of the memory "
                            f"budget of {format_bytes(budget)}, and this one needs {format_bytes(need)}; try again "
                            f"in a moment or lower the batch (the budget is set by {BUDGET_ENV})")
                    self._changed.wait(min(left, 1.0))
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()
            self._held += need
        try:
            yield
        finally:
            with self._changed:
                self._held -= need
                self._changed.notify_all()


POOL = MemoryPool()  # this process's scorings (one server: every session's), see `reserve`


def reserve(need: int, wait_s: float = WAIT_S):
    """Hold `need` bytes of this process's budget while the block runs (see `MemoryPool`)."""
    return POOL.reserve(need, wait_s)


def is_out_of_memory(error: BaseException) -> bool:
    """torch's own out-of-memory errors (CUDA and the CPU allocator)."""
    if isinstance(error, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def out_of_memory(setup: Any, batch: int, error: BaseException) -> MemoryBudgetError:
    """The one-line error for a real out-of-memory while scoring."""
    other = " or use the 'teaching' network" if setup.preset != "teaching" else ""
    return MemoryBudgetError(f"scoring at batch {batch} on the {setup.preset!r} {setup.space} network ran out of "
                             f"memory ({type(error).__name__}); lower the batch{other}")


__all__ = ["BUDGET_ENV", "MemoryBudgetError", "MemoryPool", "POOL", "WAIT_S", "reserve", "activation_bytes", "budget_bytes", "cell_activation_bytes", "check_fits",
           "estimate_bytes",
           "format_bytes", "is_out_of_memory", "largest_batch", "machine_memory", "out_of_memory", "parse_size"]
