"""The latency study (issue 21, items 1-2) and its command line: measure cells on this device,
fit the latency predictors of `swap_core.latency` on some, judge them on cells they never saw.

    python -m swap_core latency --space nb201 --measure 300 --holdout 200 --out latency.json

`latency_study` is a generator of `LatencyState`s (cells measured so far, then each
predictor's held-out result, then the learning curve), so the app's engine and the command
line, which drains it with a progress bar, compute the same numbers. Protocol: `measure`
training cells and `holdout` held-out cells, distinct, drawn by `random.Random(seed)` through
the space's `sample` (the lookup table's uniform cells are never held out), each measured
`rounds` times, round after round, keeping its fastest (`latency.measure_cells`); the lookup table
is measured in place (it uses no measured cell); the learned model is fitted on the training
cells only, and the curve refits it on the first n of them. Written: {"predictors": {name:
{"spearman", "rmse", "ms_per_cell", ...}}, "curve": [{"n", "predictor", "spearman", "rmse"}],
"cells": [{"arch", "measured_ms", "<predictor>_ms"}], "setup": {...}} and the cells as CSV.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import latency, latency_model
from .setup import Setup
from .store import ScoreStore

CURVE = (10, 25, 50, 100, 200, 300)
MIN_MEASURE, MIN_HOLDOUT, MIN_CURVE = 10, 2, 5


@dataclass
class LatencyState:
    """What a latency study has so far (a copy per yield)."""

    stage: str                      # "measure", "lookup", "learned", "curve" or "done"
    measured: int = 0
    total: int = 0
    predictors: dict[str, dict[str, float]] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    predictor: latency_model.LatencyPredictor | None = None


def judge(predicted: Sequence[float], measured: Sequence[float]) -> dict[str, float]:
    """Spearman ρ and RMSE (ms) of predictions against measured latencies."""
    from scipy.stats import spearmanr

    predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
    rho = float(spearmanr(predicted, measured).statistic) if len(measured) > 2 else math.nan
    return {"spearman": rho, "rmse": float(np.sqrt(np.mean((predicted - measured) ** 2)))}


def _timed(predict, archs: Sequence[str]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    values = predict(archs)
    return np.asarray(values, float), (time.perf_counter() - start) * 1e3 / max(len(archs), 1)


def check_study(measure: int, holdout: int, curve: Sequence[int]) -> list[int]:
    """The curve points to fit (those ≤ measure); ValueError for sizes too small."""
    if measure < MIN_MEASURE:
        raise ValueError(f"measure must be at least {MIN_MEASURE} training cells, got {measure}")
    if holdout < MIN_HOLDOUT:
        raise ValueError(f"holdout must be at least {MIN_HOLDOUT} cells, got {holdout}")
    small = [n for n in curve if n < MIN_CURVE]
    if small:
        raise ValueError(f"learning-curve points must be at least {MIN_CURVE} cells, got {small}")
    return sorted({n for n in curve if n <= measure})


def draw_split(setup: Setup, measure: int, holdout: int, seed: int) -> tuple[list[str], list[str]]:
    """Training and held-out cells, distinct, the lookup table's own cells never held out."""
    space = setup.space_obj
    cells = latency.draw_cells(space, measure + holdout, seed, exclude=latency.uniform_cells(space))
    train, held = cells[:measure], cells[measure:]
    assert not set(train) & set(held), "a held-out cell is a training cell"
    return train, held


def latency_study(setup: Setup, measure: int = 300, holdout: int = 200, seed: int = 0, curve: Sequence[int] = CURVE,
                  batch: int = 1, repeats: int = latency.DEFAULT_REPEATS, warmup: int = latency.DEFAULT_WARMUP,
                  store: ScoreStore | None = None, threads: int = 1, clock: str = "wall",
                  rounds: int = 1) -> Iterator[LatencyState]:
    """Measure, fit and judge (module docstring); one state per measurement and per result."""
    points = check_study(measure, holdout, curve)
    store = store if store is not None else ScoreStore()
    train, held = draw_split(setup, measure, holdout, seed)
    state = LatencyState("measure", 0, latency.check_rounds(rounds) * (measure + holdout))
    values = np.full((rounds, measure + holdout), np.nan)
    for r in range(rounds):  # round after round over all cells, each keeps its fastest (measure_cells)
        for i, arch in enumerate(train + held):
            values[r, i] = latency.measure_cell(setup, arch, batch, repeats, warmup, store, clock, round=r)
            state.measured += 1
            yield copy.deepcopy(state)
    y_train, y_held = values.min(axis=0)[:measure], values.min(axis=0)[measure:]
    state.cells = [{"arch": a, "measured_ms": float(v)} for a, v in zip(held, y_held)]
    state.stage = "lookup"
    yield from _lookup(state, setup, held, y_held, (batch, repeats, warmup), store, clock)
    state.stage = "learned"
    settings = {"seed": seed, "rounds": rounds, **latency.timing_options(batch, repeats, warmup, clock)}
    model = latency_model.fit_latency_predictor(setup, train, y_train, seed=seed, threads=threads, settings=settings)
    predicted, ms = _timed(model.predict, held)
    state.predictor = model
    state.predictors["learned"] = {**judge(predicted, y_held), "ms_per_cell": ms, "margin_ms": model.margin_ms,
                                   "n_train": measure}
    for cell, value in zip(state.cells, predicted):
        cell["learned_ms"] = float(value)
    yield copy.deepcopy(state)
    state.stage = "curve"
    yield from _curve(state, setup, train, y_train, held, y_held, points, seed, threads)
    state.stage = "done"
    yield copy.deepcopy(state)


def _lookup(state: LatencyState, setup: Setup, held: list[str], y_held: np.ndarray, counts: tuple[int, int, int],
            store: ScoreStore, clock: str) -> Iterator[LatencyState]:
    try:
        table = latency.build_lookup_table(setup, *counts, store, clock)
    except ValueError as reason:
        state.notes.append(f"lookup table left out: {reason}")
        yield copy.deepcopy(state)
        return
    predicted, ms = _timed(table.predict, held)
    state.predictors["lookup"] = {**judge(predicted, y_held), "ms_per_cell": ms, "fixed_ms": table.fixed_ms}
    for cell, value in zip(state.cells, predicted):
        cell["lookup_ms"] = float(value)
    yield copy.deepcopy(state)


def _curve(state: LatencyState, setup: Setup, train: list[str], y_train: np.ndarray, held: list[str],
           y_held: np.ndarray, points: Sequence[int], seed: int, threads: int) -> Iterator[LatencyState]:
    """The learned model refitted on the first n training cells, judged on the held-out cells."""
    x_train = latency_model.feature_frame(setup.space_obj, train)
    x_held = latency_model.feature_frame(setup.space_obj, held).reindex(columns=x_train.columns, fill_value=0.0)
    for n in points:
        booster = latency_model.fit_booster(x_train.to_numpy(float)[:n], y_train[:n], seed=seed, threads=threads)
        predicted = booster.predict(x_held.to_numpy(float), num_threads=threads)
        state.curve.append({"n": n, "predictor": "learned", **judge(predicted, y_held)})
        if "lookup" in state.predictors:  # the table uses no measured cell: flat, for comparison
            state.curve.append({"n": n, "predictor": "lookup", "spearman": state.predictors["lookup"]["spearman"],
                                "rmse": state.predictors["lookup"]["rmse"]})
        yield copy.deepcopy(state)


# --------------------------------------------------------------------------- command line
def _curve_points(text: str) -> list[int]:
    try:
        points = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"--curve must be comma-separated whole numbers, e.g. 10,25,50, got {text!r}") from None
    if not points:
        raise ValueError("--curve names no point; e.g. 10,25,50,100")
    return points


def _settings(args: argparse.Namespace, setup: Setup, threads: int) -> dict[str, Any]:
    import os
    import platform

    import torch

    return {**dataclasses.asdict(latency.timing_setup(setup)), "batch": args.batch, "repeats": args.repeats,
            "warmup": args.warmup, "clock": args.clock, "rounds": args.rounds, "seed": args.seed, "measure": args.measure, "holdout": args.holdout,
            "threads": threads, "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
            "load_average_start": list(os.getloadavg())}


def _print_table(state: LatencyState) -> None:
    print(f"{'predictor':<10} {'spearman':>9} {'rmse_ms':>9} {'ms_per_cell':>12}")
    for name, r in state.predictors.items():
        print(f"{name:<10} {r['spearman']:>9.4f} {r['rmse']:>9.4f} {r['ms_per_cell']:>12.4f}")
    for point in state.curve:
        if point["predictor"] == "learned":
            print(f"curve: n = {point['n']:>4}  learned ρ = {point['spearman']:.4f}  RMSE = {point['rmse']:.4f} ms")
    for note in state.notes:
        print(note, file=sys.stderr)


def _write(args: argparse.Namespace, state: LatencyState, settings: dict[str, Any]) -> None:
    import csv
    import os

    from .cli_helpers import json_safe
    from .durable import write_json

    settings = {**settings, "load_average_end": list(os.getloadavg())}
    result = {"predictors": state.predictors, "curve": state.curve, "cells": state.cells, "setup": settings,
              "notes": state.notes}
    write_json(args.out, json_safe(result))
    table = Path(args.out).with_suffix(".csv")
    columns = list(dict.fromkeys(k for cell in state.cells for k in cell))
    with open(table, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(state.cells)
    print(f"wrote {args.out} and {table}", file=sys.stderr)
    if args.model_out and state.predictor is not None:
        Path(args.model_out).write_text(state.predictor.to_json(), encoding="utf-8")
        print(f"wrote {args.model_out}", file=sys.stderr)


def cmd_latency(args: argparse.Namespace) -> int:
    from .progress import ProgressBar
    from .reproducible import fix_threads

    points = _curve_points(args.curve)
    setup = Setup(space=args.space, dataset=args.dataset, preset=args.network, device=args.device)
    check_study(args.measure, args.holdout, points)  # bad input fails before the process is changed
    threads = fix_threads(args.threads)
    latency.clock_function(args.clock, setup.device)  # a clock this process cannot use: its error first
    store = ScoreStore(args.store)
    settings = _settings(args, setup, threads)
    bar, state = ProgressBar(args.rounds * (args.measure + args.holdout), label="measure"), None
    try:
        for state in latency_study(setup, args.measure, args.holdout, args.seed, points, args.batch, args.repeats,
                                   args.warmup, store, threads, args.clock, args.rounds):
            if state.stage == "measure":
                bar.update(state.measured)
    except KeyboardInterrupt:
        done = state.measured if state is not None else 0
        print(f"\n{done} measurements so far are kept in the score store {store.path}; the same command "
              "continues from them", file=sys.stderr)
        raise
    _print_table(state)
    if args.out:
        _write(args, state, settings)
    return 0


def add_latency_parser(sub) -> None:
    from .cli_helpers import nonnegative_int, positive_int

    p = sub.add_parser("latency", help="latency of cells on this device: measured, and predicted by a lookup "
                       "table and a learned model judged on cells they never saw")
    p.add_argument("--space", default="nb201")
    p.add_argument("--dataset", default=None)
    p.add_argument("--network", default="benchmark", help="network preset (default benchmark: the network a "
                   "searched cell is deployed in)")
    p.add_argument("--batch", type=positive_int, default=1, help="images per timed forward pass (default 1)")
    p.add_argument("--measure", type=positive_int, default=300, help="training cells measured (at least 10)")
    p.add_argument("--holdout", type=positive_int, default=200, help="held-out cells measured (at least 2)")
    p.add_argument("--repeats", type=positive_int, default=latency.DEFAULT_REPEATS,
                   help="timed passes per cell, median taken")
    p.add_argument("--clock", default="wall", choices=list(latency.CLOCKS),
                   help="wall: elapsed time (default); cpu: this thread's CPU time, for a CPU shared with other "
                   "processes (CPU device and --threads 1 only)")
    p.add_argument("--rounds", type=positive_int, default=1, help="measure every cell this many times, round "
                   "after round, and keep its fastest (for a machine shared with other work)")
    p.add_argument("--warmup", type=nonnegative_int, default=latency.DEFAULT_WARMUP, help="untimed passes first")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="draws the cells and seeds LightGBM")
    p.add_argument("--curve", default=",".join(map(str, CURVE)), help="learning-curve points (training cells)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch and LightGBM threads, fixed at start")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--store", default=None, help="score store (default: $SWAP_EXPLORER_STORE, else the user cache's)")
    p.add_argument("--out", default=None, help="JSON of the results; the held-out cells also as CSV beside it")
    p.add_argument("--model-out", default=None, help="the learned predictor as JSON (LatencyPredictor.from_json)")
    p.set_defaults(func=cmd_latency)


__all__ = ["CURVE", "LatencyState", "add_latency_parser", "check_study", "cmd_latency", "draw_split", "judge",
           "latency_study"]
