"""Latency of a cell's network on this device: measured, and predicted two ways.

**Measured** (`measure_latency`, `measure_cell`): the median of `repeats` timed forward passes
after `warmup` untimed ones, network in inference mode (`train(False)`, no grad), a zero
batch of the preset's input size, CUDA synchronised around each pass. Cached in the score
store per (Setup, cell) under the name `latency_ms` with options {batch, repeats, warmup,
threads, clock} — the thread count is `torch.get_num_threads()` at measuring time (the library never
changes it; the command line fixes it once at start), so different settings never mix.
`clock="cpu"` times the thread's CPU time instead of elapsed time (one torch thread on the
CPU only), and `measure_cells(rounds=r)` measures every cell once per round and keeps its
fastest: both for a machine shared with other work, whose bursts only ever add time. The
timing Setup keeps only what changes a network's speed: space, dataset, preset, device
(`timing_setup`; weights and images do not change the time of dense ops).

**(a) Lookup table** (`build_lookup_table`), as ProxylessNAS (Cai et al., ICLR 2019) and
FBNet (Wu et al., CVPR 2019): a network's latency = a fixed part + Σ of its ops' latencies,
each op measured once. Ops are measured *in place*: for each op o, the network whose every
edge carries o runs `repeats` times with forward hooks timing every edge module of every cell
(so each entry is op × cell position × edge, at the real input shape and width there); the
fixed part (stem, reduction blocks, head, the cells' node sums) is that network's measured
latency minus its edges' sum, median over the ops. Prediction: fixed + Σ over the cell's
positions and edges of its op's entry. Only for spaces with one op on each of a fixed set of
edges (`LOOKUP_SPACES`: nb201, tnb101_micro); DARTS is left out, since a genotype chooses each
op's input node, which changes the op's stride and input in a reduction cell.

**(b) Learned**: LightGBM on the cell's graph features, trained on cells measured here
(`latency_model`, where its choices are described).
"""
from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .setup import Setup
from .spaces import SearchSpace
from .spaces.nb201_net import EdgeCell
from .store import ScoreStore

LATENCY = "latency_ms"  # the store's name for a measured latency
DEFAULT_REPEATS, DEFAULT_WARMUP = 10, 2
LOOKUP_SPACES = ("nb201", "tnb101_micro")
Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- measuring
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def clock_function(clock: str, device: torch.device | str) -> Callable[[], float]:
    """The timer of `clock`: "wall" (elapsed time, the latency a user waits) or "cpu" (this
    thread's CPU time: on a CPU shared with other processes it leaves out the time the OS gave
    them; it needs the CPU device and one torch thread, where all the work runs in this thread)."""
    if clock not in CLOCKS:
        raise ValueError(f"unknown clock {clock!r}; expected one of {list(CLOCKS)}")
    if clock == "cpu" and (torch.device(device).type != "cpu" or torch.get_num_threads() != 1):
        raise ValueError("clock 'cpu' times this thread's CPU time: it needs the CPU device and 1 torch thread "
                         f"(this process has {torch.get_num_threads()}; use --threads 1)")
    return CLOCKS[clock]


def _check_counts(repeats: int, warmup: int) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a whole number >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a whole number >= 0, got {warmup!r}")


def measure_latency(model: nn.Module, inputs: torch.Tensor, repeats: int = 5, warmup: int = 1,
                    clock: str = "wall") -> float:
    """Median milliseconds of `repeats` forward passes of `inputs` (inference mode, no grad)
    after `warmup` untimed passes; synchronises CUDA around each pass. `clock`: see `clock_function`."""
    _check_counts(repeats, warmup)
    timer = clock_function(clock, inputs.device)
    was_training, times = model.training, []
    model.train(False)
    try:
        with torch.no_grad():
            for run in range(warmup + repeats):
                _sync(inputs.device)
                start = timer()
                model(inputs)
                _sync(inputs.device)
                if run >= warmup:
                    times.append((timer() - start) * 1e3)
    finally:
        model.train(was_training)
    return statistics.median(times)


def timing_setup(setup: Setup) -> Setup:
    """The Setup latencies are cached under: space, dataset, preset and device of `setup`."""
    return Setup(space=setup.space, dataset=setup.dataset, preset=setup.preset, device=setup.device)


def timing_options(batch: int, repeats: int, warmup: int, clock: str = "wall") -> dict[str, Any]:
    """The store options of one measurement (with this process's torch thread count)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a whole number >= 1, got {batch!r}")
    _check_counts(repeats, warmup)
    if clock not in CLOCKS:
        raise ValueError(f"unknown clock {clock!r}; expected one of {list(CLOCKS)}")
    return {"batch": batch, "repeats": repeats, "warmup": warmup, "threads": torch.get_num_threads(), "clock": clock}


def zero_inputs(setup: Setup, batch: int) -> torch.Tensor:
    size = setup.config.input_size
    return torch.zeros(batch, 3, size, size, device=setup.device)


def measure_cell(setup: Setup, arch: Any, batch: int = 1, repeats: int = DEFAULT_REPEATS,
                 warmup: int = DEFAULT_WARMUP, store: ScoreStore | None = None, clock: str = "wall",
                 round: int = 0) -> float:
    """Milliseconds per forward pass of the cell's preset network (median), from the store
    when measured before with the same settings (`round` > 0: another measurement of it, kept
    apart, see `measure_cells`)."""
    setup, options = timing_setup(setup), timing_options(batch, repeats, warmup, clock)
    if round:
        options["round"] = round
    store = store if store is not None else ScoreStore()
    text = setup.arch_str(arch)
    entry = store.get(setup, text, LATENCY, options)
    if entry is not None and math.isfinite(entry.value):
        return entry.value
    start = time.perf_counter()
    value = measure_latency(setup.network(text), zero_inputs(setup, batch), repeats, warmup, clock)
    store.put(setup, text, {LATENCY: value}, seconds=time.perf_counter() - start, options={LATENCY: options})
    return value


def measure_cells(setup: Setup, archs: Sequence[Any], batch: int = 1, repeats: int = DEFAULT_REPEATS,
                  warmup: int = DEFAULT_WARMUP, store: ScoreStore | None = None,
                  progress: Progress | None = None, clock: str = "wall", rounds: int = 1) -> np.ndarray:
    """`measure_cell` of each cell (one store for all), calling progress(done, total). With
    `rounds` > 1 every cell is measured once per round, round after round over all cells, and
    keeps its fastest round: on a shared machine another process's burst of work slows every
    pass of the cell measured meanwhile (a median cannot remove it), and it rarely hits the
    same cell in two rounds minutes apart; other processes only ever add time."""
    store = store if store is not None else ScoreStore()
    check_rounds(rounds)
    values = np.full((rounds, len(archs)), np.nan)
    for r in range(rounds):
        for i, arch in enumerate(archs):
            values[r, i] = measure_cell(setup, arch, batch, repeats, warmup, store, clock, round=r)
            if progress is not None:
                progress(r * len(archs) + i + 1, rounds * len(archs))
    return values.min(axis=0)


def check_rounds(rounds: int) -> int:
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be a whole number >= 1, got {rounds!r}")
    return rounds


def draw_cells(space: SearchSpace, n: int, seed: int, exclude: Iterable[str] = ()) -> list[str]:
    """`n` distinct canonical cells drawn by `space.sample(random.Random(seed))`, none of `exclude`."""
    rng, seen, cells = random.Random(seed), set(exclude), []
    for _ in range(100 * n + 1000):
        if len(cells) == n:
            return cells
        text = space.to_str(space.sample(rng))
        if text not in seen:
            seen.add(text)
            cells.append(text)
    if len(cells) == n:
        return cells
    raise ValueError(f"could not draw {n} distinct {space.name} cells (got {len(cells)}); ask for fewer")


# --------------------------------------------------------------------------- (a) lookup table
def _uniform_cell(space: SearchSpace, op: str) -> Any:
    """The cell whose six edges all carry `op`."""
    if space.name == "nb201":
        from .spaces.nb201 import NB201Arch

        return NB201Arch((op,) * 6)
    from .spaces.tnb101_micro import OPS, MicroArch

    return MicroArch((OPS.index(op),) * 6)


def edge_times(model: nn.Module, inputs: torch.Tensor, repeats: int, warmup: int,
               clock: str = "wall") -> list[list[float]]:
    """Median ms of each edge module of each `EdgeCell` of `model` ([cell][edge], in module
    order), timed in place by forward hooks over `repeats` passes (each pass sums the calls)."""
    timer = clock_function(clock, inputs.device)
    cells = [m for m in model.modules() if isinstance(m, EdgeCell)]
    edges = [edge for cell in cells for edge in cell.edges]
    started: dict[int, float] = {}
    per_pass = [0.0] * len(edges)
    samples: list[list[float]] = [[] for _ in edges]

    def before(index: int):
        def hook(module, args):
            _sync(inputs.device)
            started[index] = timer()
        return hook

    def after(index: int):
        def hook(module, args, output):
            _sync(inputs.device)
            per_pass[index] += (timer() - started[index]) * 1e3
        return hook

    handles = [h for i, e in enumerate(edges)
               for h in (e.register_forward_pre_hook(before(i)), e.register_forward_hook(after(i)))]
    was_training = model.training
    model.train(False)
    try:
        with torch.no_grad():
            for run in range(warmup + repeats):
                per_pass[:] = [0.0] * len(edges)
                model(inputs)
                if run >= warmup:
                    for i, value in enumerate(per_pass):
                        samples[i].append(value)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    medians = [statistics.median(s) for s in samples]
    sizes = [len(cell.edges) for cell in cells]
    return [medians[sum(sizes[:c]): sum(sizes[: c + 1])] for c in range(len(cells))]


@dataclass
class LookupTable:
    """fixed_ms + Σ parts[op][cell][edge] over the cell's ops (module docstring)."""

    space: str
    fixed_ms: float
    parts: dict[str, list[list[float]]]

    def parts_of(self, arch: Any) -> list[float]:
        """The table entry of each (cell position, edge) of `arch`'s network."""
        from .spaces import get_space

        space = get_space(self.space)
        ops = (space.from_str(arch) if isinstance(arch, str) else arch).ops
        positions = len(next(iter(self.parts.values())))
        return [self.parts[op][c][e] for c in range(positions) for e, op in enumerate(ops)]

    def __call__(self, arch: Any) -> float:
        return self.fixed_ms + sum(self.parts_of(arch))

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        return np.asarray([self(a) for a in archs], float)


def build_lookup_table(setup: Setup, batch: int = 1, repeats: int = DEFAULT_REPEATS, warmup: int = DEFAULT_WARMUP,
                       store: ScoreStore | None = None, clock: str = "wall") -> LookupTable:
    """Each op measured in place in its uniform network (module docstring); ValueError for a
    space without a fixed set of edge ops."""
    space = setup.space_obj
    if space.name not in LOOKUP_SPACES:
        raise ValueError(f"no lookup table for {space.name}: it needs one op on each of a fixed set of edges "
                         f"(spaces: {', '.join(LOOKUP_SPACES)})")
    setup, store = timing_setup(setup), store if store is not None else ScoreStore()
    parts, rest = {}, []
    for op in space.ops:
        arch = _uniform_cell(space, op)
        total = measure_cell(setup, arch, batch, repeats, warmup, store, clock)
        parts[op] = edge_times(setup.network(arch), zero_inputs(setup, batch), repeats, warmup, clock)
        rest.append(total - sum(sum(cell) for cell in parts[op]))
    return LookupTable(space.name, statistics.median(rest), parts)


def uniform_cells(space: SearchSpace) -> list[str]:
    """The cells the lookup table is measured on (kept out of held-out sets)."""
    return [space.to_str(_uniform_cell(space, op)) for op in space.ops] if space.name in LOOKUP_SPACES else []


__all__ = ["CLOCKS", "DEFAULT_REPEATS", "DEFAULT_WARMUP", "LATENCY", "LOOKUP_SPACES", "LookupTable", "Progress",
           "build_lookup_table", "check_rounds", "clock_function", "draw_cells", "edge_times", "measure_cell",
           "measure_cells", "measure_latency", "timing_options", "timing_setup", "uniform_cells", "zero_inputs"]
