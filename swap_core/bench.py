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

`bench --lecture` (`lecture_bench.py`) measures issue 18's live budgets through the real app in
Chromium, and reuses `run_live_bench` for the Search page's rate.
"""
from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn as nn

from .init import build_seeded, default_init_
from .init import generator as init_generator
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
              input_size: int = 32, seed: int = 0, device: str = "cpu") -> list[Record]:
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
        model = default_init_(build(), init_generator(seed)).to(device)
        for batch in batch_sizes:
            inputs = torch.randn(batch, 3, input_size, input_size, generator=generator).to(device)
            seconds, patterns = time_network(model, inputs, repeats)
            record = {"network": name, "batch": int(batch), **seconds}
            log(format_row({**record, "patterns": patterns}))
            records.append(record)
    if json_path is not None:
        Path(json_path).write_text(json.dumps(records, indent=2) + "\n")
    return records


def run_proxy_bench(names: Iterable[str] | None = None, batch: int = 64, n_archs: int = 3, seed: int = 0,
                    log: Callable[[str], None] | None = print, *, space_name: str = "nb201",
                    preset: str = "benchmark", input_size: int = 32, device: str = "cpu") -> list[Record]:
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
    inputs = torch.randn(batch, 3, input_size, input_size, generator=generator).to(device)
    targets = torch.randint(0, config.num_classes, (batch,), generator=generator).to(device)
    totals = dict.fromkeys([*names, "forward", "all (shared)"], 0.0)
    for arch in archs:
        model = build_seeded(space, arch, config, seed, device)
        score(model, names[:1], inputs, targets, batch_size=batch, seed=seed, device=device, on_error="nan")  # warm-up
        with train_mode(model), torch.no_grad():
            seconds, _ = _timed(lambda: model(inputs))
        totals["forward"] += seconds
        for name in names:
            seconds, _ = _timed(lambda: score(model, [name], inputs, targets, batch_size=batch, seed=seed,
                                              device=device, on_error="nan"))
            totals[name] += seconds
        seconds, _ = _timed(lambda: score(model, names, inputs, targets, batch_size=batch, seed=seed,
                                          device=device, on_error="nan"))
        totals["all (shared)"] += seconds
    forward = totals["forward"] / n_archs
    log(f"{space_name} {preset} network on {device}, batch {batch}, {n_archs} random cells; "
        f"forward pass {forward * 1e3:.1f} ms")
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
                       seed: int = 0, budget_s: float = 1.0, log: Callable[[str], None] | None = print,
                       device: str = "cpu") -> Record:
    """Seconds per Cell Designer edit (median over `edits` mutations of a random cell) and
    its ratio to `budget_s`. Images: the CIFAR-10 sample when present, else a fallback."""
    import random

    from . import explorer
    from .proxies import get_proxy, list_proxies
    from .setup import Setup

    log = log or (lambda _line: None)
    setup = Setup(space=space_name, preset=preset, batch=batch, seed=seed, device=device)
    space = setup.space_obj
    images = setup.inputs()
    fast = [n for n in list_proxies() if not get_proxy(n).per_sample_passes]
    rng = random.Random(seed)
    arch = space.sample(rng)
    explorer.score_architectures(setup, [arch.to_str()], fast)

    def edit() -> None:
        explorer.score_architectures(setup, [arch.to_str()], fast)
        explorer.network_size(setup, arch)
        explorer.accuracy_of(space_name, setup.dataset, arch.to_str())

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


def _history_table(state) -> int:
    """What the Search page's fragment does with a state, minus the drawing: a table of
    every evaluation and the best-so-far trace. Returns its rows."""
    import pandas as pd

    table = pd.DataFrame({"step": [e.step for e in state.history], "score": [e.score for e in state.history],
                          "params": [e.params for e in state.history]})
    table["best"] = table["score"].cummax()
    return len(table)


def run_live_bench(evaluations: int = 300, algo: str = "random", objective: str = "swap", seed: int = 0, *,
                   space: str = "nb201", network: str = "teaching", source: str = "auto", device: str = "cpu",
                   poll_s: float = 0.5, log: Callable[[str], None] | None = print) -> Record:
    """The same search (same SearchSetup, algorithm, budget and seed) through the command
    line's path (`search_states` drained in this thread) and through the app's (`runs.Run`,
    the page's worker, while this thread reads the latest state every `poll_s` seconds and
    tabulates its history as the page's fragment does). Prints evaluations per second of
    both, their ratio (goal: app ≥ 0.8 × command line), the redraws per second, and whether
    the two trajectories are identical."""
    from . import setup as setup_module
    from .runs import Run, drain
    from .search.experiment import SearchSetup, search_states

    log = log or (lambda _line: None)
    search = SearchSetup(space=space, network=network, objective=objective, data_source=source, device=device)

    def fresh() -> None:  # every path pays for its own sizes and images
        for cached in (setup_module._params, setup_module._size_k, setup_module._inputs):
            cached.cache_clear()

    fresh()
    drain(search_states(search, algo, 3, seed))  # warm-up: imports, first allocations
    fresh()
    start = time.perf_counter()
    command = drain(search_states(search, algo, evaluations, seed))
    command_s = time.perf_counter() - start
    fresh()
    run, redraws, gaps = Run(search_states(search, algo, evaluations, seed), name="bench-live"), 0, []
    last = time.perf_counter()
    while not run.wait(poll_s):
        if run.state is not None:
            _history_table(run.state)
        now = time.perf_counter()
        redraws, gaps, last = redraws + 1, gaps + [now - last], now
    app_s = (run.ended or time.perf_counter()) - run.started
    if run.status != "done":
        raise RuntimeError(f"the app's worker ended {run.status}: {run.error}")
    same = [e.arch for e in command.history] == [e.arch for e in run.state.history] and \
        [e.score for e in command.history] == [e.score for e in run.state.history]
    command_rate, app_rate = command.proxy_evaluations / command_s, run.state.proxy_evaluations / app_s
    record = {"evaluations": evaluations, "algo": algo, "objective": objective, "network": network,
              "command_rate": command_rate, "app_rate": app_rate, "ratio": app_rate / command_rate,
              "redraws_per_s": redraws / app_s, "max_redraw_gap_s": max(gaps, default=math.nan),
              "same_trajectory": same, "threads": torch.get_num_threads()}
    log(f"live search: {algo} on the {space} {network} network, objective {objective}, {evaluations} evaluations, "
        f"seed {seed}, {torch.get_num_threads()} torch threads, {device}")
    log(f"  command line      {command_rate:7.1f} evaluations/s ({command_s:.1f} s)")
    log(f"  app's worker      {app_rate:7.1f} evaluations/s ({app_s:.1f} s) = {record['ratio']:.2f} x the command "
        f"line (goal >= 0.80)")
    log(f"  page redraws      {record['redraws_per_s']:.2f} per s, longest gap {record['max_redraw_gap_s']:.2f} s "
        f"(goal >= 1 per s)")
    log(f"  same trajectory   {'yes' if same else 'NO'}")
    return record


__all__ = ["run_live_bench", "DARTS_V2", "NB201_ALL_CONV3X3", "benchmark_networks", "run_bench", "run_designer_bench",
           "run_proxy_bench", "time_network"]


def run_tinynas_bench(samples: int = 200, seed: int = 0, budget_s: float = 5.0) -> int:
    """Issue 21's TinyNAS view budget: `tinynas.select_space` for NB201's 12 default variants
    (4 widths × 3 resolutions, `samples` cells each), first call in this process (cold) and again
    (warm; nothing is cached between calls), printed as seconds / budget = ratio. Returns 0."""
    from .tinynas import select_space

    print(f"TinyNAS view: NB201, 12 variants x {samples} cells, {torch.get_num_threads()} torch thread(s)")
    for label in ("cold", "warm"):
        start = time.perf_counter()
        result = select_space("nb201", samples=samples, seed=seed)
        seconds = time.perf_counter() - start
        print(f"  {label}: {len(result.variants)} variants, {seconds:.2f} s / {budget_s:g} s budget = "
              f"{seconds / budget_s:.2f}")
    return 0


ENGINE_GOAL = 1.7  # issue 22: at least this speed-up with 2 workers on a 2-core machine


def run_engine_bench(engine: str = "ray", workers: Sequence[int] = (1, 2), cells: int = 120, seed: int = 0,
                     address: str | None = None) -> dict:
    """Cells per second of `score --engine ray` with each worker count in `workers` (and of the
    local engine in this process, for reference): `cells` random NB201 cells, swap, naswot,
    synflow and params on the teaching network, one torch thread per worker, no store. The
    workers are warmed up (torch imported, images loaded) before the clock starts. Prints the
    speed-up of each count over the first, as a ratio against `ENGINE_GOAL`; returns the numbers."""
    import random

    from .engines import LocalEngine, open_engine
    from .scoring import ScoreJob, score_archs
    from .setup import Setup
    from .spaces import get_space

    space = get_space("nb201")
    rng = random.Random(seed)
    archs = [space.to_str(space.sample(rng)) for _ in range(cells)]
    setup = Setup(space="nb201", preset="teaching", seed=seed, threads=1)
    job = ScoreJob(setup, ("swap", "naswot", "synflow", "params"))
    print(f"engine bench: {cells} NB201 cells, {', '.join(job.names)}, teaching network, 1 torch thread per worker")

    def timed(runner, label: str) -> tuple[float, list]:
        list(score_archs(job, archs[: 2 * getattr(runner, "workers", 1)], engine=runner, chunk=1))  # warm-up
        start = time.perf_counter()
        rows = list(score_archs(job, archs, engine=runner, chunk=2))
        seconds = time.perf_counter() - start
        print(f"  {label:<28} {cells / seconds:6.2f} cells/s ({seconds:.1f} s)", flush=True)
        return cells / seconds, [(r["arch"], repr(r["values"]), r["failed"]) for r in rows]

    results: dict = {"cells": cells, "workers": {}}
    if engine == "local":
        results["local"], _ = timed(LocalEngine(), "local (this process)")
        return results
    first_rows = None
    runner = open_engine("ray", address=address, workers=max(workers))  # a local instance gets max(workers) CPUs
    print(f"  {runner.describe()}")
    try:
        for count in workers:
            runner.workers = count  # tasks in flight at once
            rate, rows = timed(runner, f"ray, {count} worker(s)")
            results["workers"][count] = rate
            first_rows = first_rows or rows
            if rows != first_rows:
                print(f"  DIFFERENT scores with {count} workers")
                results["same"] = False
    finally:
        runner.close()
    base = results["workers"][workers[0]]
    for count in workers[1:]:
        speedup = results["workers"][count] / base
        print(f"  speed-up {count} vs {workers[0]} worker(s): {speedup:.2f}x "
              f"(goal >= {ENGINE_GOAL}x: ratio {speedup / ENGINE_GOAL:.2f})")
        results.setdefault("speedup", {})[count] = speedup
    results.setdefault("same", True)
    print(f"  same scores with every worker count: {'yes' if results['same'] else 'NO'}")
    return results


__all__ += ["ENGINE_GOAL", "run_engine_bench"]
