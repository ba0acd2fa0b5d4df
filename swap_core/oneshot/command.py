"""`python -m swap_core oneshot darts|smash`: the one-shot experiments from the command line.

    python -m swap_core oneshot darts --selection magnitude,perturbation,perturbation-uniform --seeds 0-2 --out darts.json
    python -m swap_core oneshot smash --archs 100 --seed 0 --out smash.json

`darts` writes {"runs": [{"selection", "seed", "arch", "accuracy", "seconds", ...}], "config", "data",
"selections", "seeds", "complete"} (accuracy: the chosen cell's NAS-Bench-201 CIFAR-10 test
accuracy), rewritten after every finished seed, and prints mean ± std per rule; Ctrl-C keeps
the finished seeds and `--resume` runs the rest. `smash` (one run) writes the per-architecture
SMASH and benchmark accuracies with Spearman ρ when it finishes.
Each command fixes the process's torch thread count once, at its start (`--threads`, default
1), and the results record it. Progress goes to stderr; bad settings are a message and exit
code 2 (via `cli.main`).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
from collections.abc import Callable

import torch

from ..cli_helpers import json_safe
from ..durable import (INTERRUPTED, check_settings, note_overwrite, read_json, report_interrupted, was_interrupted,
                       write_json)
from ..progress import ProgressBar
from ..search.experiment import parse_seeds
from ..reproducible import DEFAULT_THREADS, fix_threads

THREADS_HELP = (f"torch threads of this process, fixed at start (default {DEFAULT_THREADS}); the result depends "
                "on it, since sums round differently: more threads run faster but give other numbers")


def _write(result: dict, out: str | None) -> None:
    if out:
        write_json(out, json_safe(result))
        print(f"wrote {out}", file=sys.stderr)


def _bar_progress() -> Callable[..., None]:
    bars: dict = {}

    def progress(stage, *counts) -> None:
        done, total = counts[-2], counts[-1]
        label = " ".join(str(c) for c in (stage, *counts[:-2]))
        bar = bars.setdefault(label, ProgressBar(max(int(total), 1), label=label))
        bar.update(int(done))
    return progress


def _check_selections(selections: list[str]) -> None:
    from .darts import SELECTIONS

    unknown = [s for s in selections if s not in SELECTIONS]
    if unknown or not selections:
        raise ValueError(f"unknown or no selection rule(s) {unknown or selections}; expected some of {SELECTIONS}")


def _print_darts(runs: list[dict], selections: list[str]) -> None:
    print(f"{'selection':<22} {'accuracy (%)':>16} {'n':>3} {'seconds':>8}")
    for rule in selections:
        rows = [r for r in runs if r["selection"] == rule]
        accuracies = [r["accuracy"] for r in rows if r["accuracy"] is not None and math.isfinite(r["accuracy"])]
        mean = statistics.fmean(accuracies) if accuracies else math.nan
        std = statistics.pstdev(accuracies) if accuracies else math.nan
        seconds = statistics.fmean(r["seconds"] for r in rows) if rows else math.nan
        print(f"{rule:<22} {mean:>8.2f} ± {std:<5.2f} {len(accuracies):>3} {seconds:>8.1f}")


def cmd_darts(args: argparse.Namespace) -> int:
    """Seed by seed (each seed: its supernets and every selection rule), the file rewritten
    after each finished seed; `--resume` keeps the seeds a file holds and runs the rest."""
    from .darts import DartsConfig, darts_experiment

    selections = [s.strip() for s in args.selection.split(",") if s.strip()]
    _check_selections(selections)
    seeds = parse_seeds(args.seeds)
    changes = {k: v for k, v in (("epochs", args.epochs), ("channels", args.channels), ("threads", args.threads),
                                 ("n_train", args.images), ("n_val", args.images), ("source", args.data))
               if v is not None}
    config = dataclasses.replace(DartsConfig(), **changes)
    fix_threads(config.threads)
    settings = {"selections": selections, "seeds": seeds,
                "config": {**vars(config), "threads": torch.get_num_threads()}}  # as darts_experiment records it
    runs: dict[int, list[dict]] = {}  # seed -> its runs, one per selection rule
    data, saved = "", 0

    def save() -> None:
        nonlocal saved
        if args.out:
            write_json(args.out, json_safe(_darts_result(runs, seeds, settings, data)))
            saved = len(runs)

    if args.out:
        previous = read_json(args.out) if args.resume else None
        if previous is not None:
            check_settings(args.out, settings, {key: previous.get(key) for key in settings})
            for run in previous.get("runs") or []:
                if isinstance(run, dict) and run.get("seed") in seeds:
                    runs.setdefault(run["seed"], []).append(run)
            data = previous.get("data", "")
            print(f"resuming: {len(runs)} of {len(seeds)} seeds found in {args.out}", file=sys.stderr)
        else:
            note_overwrite(args.out)
        save()
    progress = _bar_progress()
    try:
        for seed in seeds:
            if seed in runs:
                continue
            result = darts_experiment(selections, [seed], config, progress=progress)
            runs[seed], data = result["runs"], result["data"]
            save()
    except BaseException as error:
        if not was_interrupted(error):
            raise
        try:
            save()
        except KeyboardInterrupt:
            pass
        report_interrupted(saved if args.out else len(runs), len(seeds), "seeds", args.out)
        return INTERRUPTED
    result = _darts_result(runs, seeds, settings, data)
    _print_darts(result["runs"], selections)
    _write(result, args.out)
    return 0


def _darts_result(runs: dict[int, list[dict]], seeds: list[int], settings: dict, data: str) -> dict:
    from .darts import SELECTIONS

    ordered = sorted((r for seed in seeds for r in runs.get(seed, [])),
                     key=lambda r: (r["seed"], SELECTIONS.index(r["selection"])))
    return {"runs": ordered, "config": settings["config"], "data": data, "selections": settings["selections"],
            "seeds": settings["seeds"], "complete": all(seed in runs for seed in seeds)}


def cmd_smash(args: argparse.Namespace) -> int:
    """One run (one seed), written when it finishes; `--resume` finds a finished one and stops."""
    from .smash import DEFAULTS, smash_experiment

    fix_threads(DEFAULT_THREADS if args.threads is None else args.threads)
    steps = DEFAULTS["steps"] if args.steps is None else args.steps
    mine = {"n_archs": args.archs, "seed": args.seed, "steps": steps, "threads": torch.get_num_threads()}
    previous = read_json(args.out) if args.out and args.resume else None
    if previous is not None:
        settings = previous.get("settings") if isinstance(previous.get("settings"), dict) else {}
        check_settings(args.out, mine, {**{k: settings.get(k) for k in mine if k != "steps"},
                                        "steps": previous.get("steps")})
        print(f"resuming: {args.out} already holds this finished SMASH run; nothing to do", file=sys.stderr)
        result = previous
    else:
        if args.out:
            note_overwrite(args.out)
        try:
            result = smash_experiment(args.archs, args.seed, progress=_bar_progress(), steps=steps)
        except BaseException as error:
            if not was_interrupted(error):
                raise
            report_interrupted(0, 1, "runs", args.out)
            return INTERRUPTED
    print(f"SMASH on {len(result['archs'])} NAS-Bench-201 cells, {result['steps']} steps: "
          f"Spearman ρ with CIFAR-10 test accuracy {_number(result['spearman']):.3f} "
          f"(Kendall τ {_number(result['kendall']):.3f}), {_number(result['seconds']):.0f} s")
    if previous is None:
        _write(result, args.out)
    return 0


def _number(value) -> float:
    return math.nan if value is None else float(value)


def add_oneshot_parser(sub) -> None:
    from ..data import SOURCES
    from .darts import SELECTIONS

    oneshot = sub.add_parser("oneshot", help="one-shot NAS on NAS-Bench-201: DARTS(-PT) selection, SMASH")
    kinds = oneshot.add_subparsers(dest="method", required=True)
    darts = kinds.add_parser("darts", help="DARTS supernet; magnitude vs perturbation-based selection")
    darts.add_argument("--selection", default=",".join(SELECTIONS), help=f"comma list of {', '.join(SELECTIONS)}")
    darts.add_argument("--seeds", default="0", help="e.g. 0-2")
    darts.add_argument("--epochs", type=int, default=None, help="supernet epochs (default 10)")
    darts.add_argument("--channels", type=int, default=None, help="supernet channels C (default 8)")
    darts.add_argument("--images", type=int, default=None,
                       help="CIFAR-10 training images for the weight step, and as many others for the α step and "
                            "selection (default 640 each)")
    darts.add_argument("--data", default=None, choices=("auto", *SOURCES), help="image source (default auto)")
    darts.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    darts.add_argument("--out", default=None, help="darts.json, rewritten (atomically) after every finished seed, so "
                       "an interrupted run keeps what it finished; an existing file is overwritten, with a note")
    darts.add_argument("--resume", action="store_true", help="continue the --out file of an interrupted run: its "
                       "finished seeds are kept, the rest run; refused if its settings differ")
    darts.set_defaults(func=cmd_darts)
    smash = kinds.add_parser("smash", help="SMASH hypernetwork; rank cells by accuracy with generated weights")
    smash.add_argument("--archs", type=int, default=100, help="distinct NB201 cells to rank")
    smash.add_argument("--seed", type=int, default=0)
    smash.add_argument("--steps", type=int, default=None, help="hypernetwork training steps (default 2000)")
    smash.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    smash.add_argument("--out", default=None, help="smash.json, written when the run finishes; an existing file "
                       "is overwritten, with a note")
    smash.add_argument("--resume", action="store_true", help="keep an --out file that already holds this finished "
                       "run (same settings) instead of running again; refused if its settings differ")
    smash.set_defaults(func=cmd_smash)


__all__ = ["add_oneshot_parser", "cmd_darts", "cmd_smash"]
