"""Speed benchmark of the SWAP count against a plain forward pass and the float reference.

For each network and batch size it times, under no_grad with BatchNorm in training mode:
a plain forward pass, `count_sample_wise_patterns` (packed bits, per-layer deduplication)
and `count_sample_wise_patterns_naive` (the official code's float way: concatenate the
sign matrices, transpose, `torch.unique(dim=0)`). Each timing is the median of `repeats`
runs after one warm-up; the three are interleaved within a repeat so that a busy machine
slows them alike. The two counts must agree, or the benchmark fails.

Goal (issue 2): swap ≤ 1.5 × forward and naive ≥ 10 × swap at batch 16 and 64.

`run_proxy_bench` times every proxy on the NAS-Bench-201 benchmark network (issue 3):
seconds per architecture for each proxy run alone (as a user scoring with one proxy pays),
its ratio to one forward pass, and the time of all of them run together through `score()`,
which shares forward/backward passes between proxies.

`run_designer_bench` times what the Cell Designer computes after one edit (issue 4: about
one second on a CPU with the teaching network): the scores of every fast proxy (those
without per-sample passes) on the sidebar's batch, the network's size and its benchmark
accuracy and rank, for a chain of random one-op mutations; it prints the ratio to 1 s.
"""
from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch
import torch.nn as nn

from .patterns import count_sample_wise_patterns, count_sample_wise_patterns_naive, train_mode

NB201_ALL_CONV3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# DARTS_V2, the cell found by DARTS (Liu et al., ICLR 2019).
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
Record = dict[str, object]


def benchmark_networks(preset: str = "benchmark") -> dict[str, Callable[[], nn.Module]]:
    """Builders of the benchmark's two networks: NB201 with an all-conv3x3 cell, and the
    DARTS NB301 network (`preset` "benchmark") with the DARTS_V2 genotype."""
    from .spaces import get_space

    def build(space_name: str, arch: str) -> Callable[[], nn.Module]:
        space = get_space(space_name)
        return lambda: space.build(space.from_str(arch), space.config(preset))

    return {"nb201": build("nb201", NB201_ALL_CONV3X3), "nb301": build("darts", DARTS_V2)}


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def time_network(model: nn.Module, inputs: torch.Tensor, repeats: int = 3) -> tuple[dict[str, float], int]:
    """Median seconds of forward, swap and naive (interleaved), and the agreed SWAP count."""
    def forward() -> None:
        with torch.no_grad():
            model(inputs)

    tasks = {"forward_s": forward,
             "swap_s": lambda: count_sample_wise_patterns(model, inputs),
             "naive_s": lambda: count_sample_wise_patterns_naive(model, inputs)}
    times: dict[str, list[float]] = {key: [] for key in tasks}
    with train_mode(model):
        for key, task in tasks.items():  # warm-up
            task()
        for _ in range(repeats):
            counts = {}
            for key, task in tasks.items():
                seconds, counts[key] = _timed(task)
                times[key].append(seconds)
            if counts["swap_s"] != counts["naive_s"]:
                raise RuntimeError(f"packed SWAP count {counts['swap_s']} != float reference {counts['naive_s']}")
    return {key: statistics.median(values) for key, values in times.items()}, int(counts["swap_s"])


def format_row(record: Record) -> str:
    fwd, swap, naive = record["forward_s"], record["swap_s"], record["naive_s"]
    return (f"{record['network']:<8} {record['batch']:>5} {fwd * 1e3:>10.1f} {swap * 1e3:>9.1f} {naive * 1e3:>10.1f}"
            f" {swap / fwd:>9.2f} {naive / swap:>10.1f} {record['patterns']:>9}")


HEADER = (f"{'network':<8} {'batch':>5} {'forward ms':>10} {'swap ms':>9} {'naive ms':>10}"
          f" {'swap/fwd':>9} {'naive/swap':>10} {'patterns':>9}")


def run_bench(batch_sizes: Iterable[int] = (16, 64), repeats: int = 3, json_path: str | Path | None = None,
              log: Callable[[str], None] | None = print, *,
              networks: Mapping[str, Callable[[], nn.Module]] | None = None,
              input_size: int = 32, seed: int = 0) -> list[Record]:
    """Time forward / swap / naive for each network and batch size; print a table with the
    ratios swap/forward and naive/swap; write the records as JSON to `json_path` if given.

    Records are `{"network", "batch", "forward_s", "swap_s", "naive_s"}`. `networks` maps
    names to builders (default: `benchmark_networks()`); inputs are N(0, 1) images.
    """
    log = log or (lambda _line: None)
    networks = networks if networks is not None else benchmark_networks()
    generator = torch.Generator().manual_seed(seed)
    records: list[Record] = []
    log(HEADER)
    for name, build in networks.items():
        torch.manual_seed(seed)
        model = build()
        for batch in batch_sizes:
            inputs = torch.randn(batch, 3, input_size, input_size, generator=generator)
            seconds, patterns = time_network(model, inputs, repeats)
            record = {"network": name, "batch": int(batch), **seconds}
            log(format_row({**record, "patterns": patterns}))
            records.append(record)
    if json_path is not None:
        Path(json_path).write_text(json.dumps(records, indent=2) + "\n")
    return records


def run_proxy_bench(names: Iterable[str] | None = None, batch: int = 64, n_archs: int = 3, seed: int = 0,
                    log: Callable[[str], None] | None = print, *, space_name: str = "nb201",
                    preset: str = "benchmark", input_size: int = 32) -> list[Record]:
    """Seconds per architecture of each proxy alone on `n_archs` random cells of `space_name`
    (`preset` network, N(0, 1) images of `batch`, random labels), the ratio to a forward pass,
    and the time of all proxies together via `score()` (shared passes). Returns the records
    `{"proxy", "seconds", "per_forward"}` with a last record for "all (shared)"."""
    import random

    from .proxies import list_proxies, score
    from .spaces import get_space

    log = log or (lambda _line: None)
    names = list(names) if names is not None else list_proxies()
    space = get_space(space_name)
    config = space.config(preset)
    rng = random.Random(seed)
    archs = [space.sample(rng) for _ in range(n_archs)]
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(batch, 3, input_size, input_size, generator=generator)
    targets = torch.randint(0, config.num_classes, (batch,), generator=generator)
    totals = dict.fromkeys([*names, "forward", "all (shared)"], 0.0)
    for arch in archs:
        torch.manual_seed(seed)
        model = space.build(arch, config)
        score(model, names[:1], inputs, targets, batch_size=batch, seed=seed, on_error="nan")  # warm-up
        with train_mode(model), torch.no_grad():
            seconds, _ = _timed(lambda: model(inputs))
        totals["forward"] += seconds
        for name in names:
            seconds, _ = _timed(lambda: score(model, [name], inputs, targets, batch_size=batch, seed=seed,
                                              on_error="nan"))
            totals[name] += seconds
        seconds, _ = _timed(lambda: score(model, names, inputs, targets, batch_size=batch, seed=seed,
                                          on_error="nan"))
        totals["all (shared)"] += seconds
    forward = totals["forward"] / n_archs
    log(f"{space_name} {preset} network, batch {batch}, {n_archs} random cells; forward pass {forward * 1e3:.1f} ms")
    log(f"{'proxy':<16} {'s/arch':>8} {'x forward':>10}")
    records: list[Record] = []
    for name in [*names, "all (shared)"]:
        seconds = totals[name] / n_archs
        records.append({"proxy": name, "seconds": seconds, "per_forward": seconds / forward})
        log(f"{name:<16} {seconds:>8.3f} {seconds / forward:>10.1f}")
    alone = sum(totals[n] for n in names) / n_archs
    log(f"sum of proxies run alone {alone:.3f} s/arch; together {totals['all (shared)'] / n_archs:.3f} s/arch "
        f"(sharing saves {1 - totals['all (shared)'] / n_archs / alone:.0%})")
    return records


def run_designer_bench(space_name: str = "nb201", preset: str = "teaching", batch: int = 64, edits: int = 10,
                       seed: int = 0, budget_s: float = 1.0, log: Callable[[str], None] | None = print) -> Record:
    """Seconds per Cell Designer edit (median over `edits` mutations of a random cell) and
    its ratio to `budget_s`. Images: the CIFAR-10 sample when present, else a fallback."""
    import random

    from . import explorer
    from .data import load_batch
    from .proxies import get_proxy, list_proxies
    from .spaces import get_space

    log = log or (lambda _line: None)
    space = get_space(space_name)
    config = space.config(preset)
    images = load_batch(batch, seed, input_size=config.input_size)
    fast = [n for n in list_proxies() if not get_proxy(n).per_sample_passes]
    rng = random.Random(seed)
    arch = space.sample(rng)
    explorer.score_architectures(space, [arch.to_str()], config, images.images, images.labels, fast, seed=seed)

    def edit() -> None:
        explorer.score_architectures(space, [arch.to_str()], config, images.images, images.labels, fast, seed=seed)
        explorer.network_size(space, arch, config)
        explorer.accuracy_of(space_name, "cifar10", arch.to_str())

    times = []
    for _ in range(edits):
        arch = space.mutate(arch, rng)
        times.append(_timed(edit)[0])
    seconds = statistics.median(times)
    record = {"space": space_name, "preset": preset, "batch": batch, "proxies": len(fast), "edits": edits,
              "seconds_per_edit": seconds, "max_seconds": max(times), "per_budget": seconds / budget_s}
    log(f"Cell Designer edit, {space_name} {preset} network, batch {batch} ({images.source}), {len(fast)} proxies: "
        f"median {seconds:.3f} s (max {max(times):.3f} s) over {edits} edits = {seconds / budget_s:.2f} x the "
        f"{budget_s:g} s goal")
    return record


__all__ = ["DARTS_V2", "NB201_ALL_CONV3X3", "benchmark_networks", "run_bench", "run_designer_bench",
           "run_proxy_bench", "time_network"]
