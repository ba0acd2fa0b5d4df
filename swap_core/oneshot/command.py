"""`python -m swap_core oneshot darts|smash`: the one-shot experiments from the command line.

    python -m swap_core oneshot darts --selection magnitude,perturbation,perturbation-uniform --seeds 0-2 --out darts.json
    python -m swap_core oneshot smash --archs 100 --seed 0 --out smash.json

`darts` writes {"runs": [{"selection", "seed", "arch", "accuracy", "seconds", ...}], "config"}
(accuracy: the chosen cell's NAS-Bench-201 CIFAR-10 test accuracy) and prints mean ± std per
rule; `smash` writes the per-architecture SMASH and benchmark accuracies with Spearman ρ.
Each command fixes the process's torch thread count once, at its start (`--threads`, default
1), and the results record it. Progress goes to stderr; bad settings are a message and exit
code 2 (via `cli.main`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from ..cli_helpers import json_safe
from ..progress import ProgressBar
from ..search.experiment import parse_seeds
from ..reproducible import DEFAULT_THREADS, fix_threads

THREADS_HELP = (f"torch threads of this process, fixed at start (default {DEFAULT_THREADS}); the result depends "
                "on it, since sums round differently: more threads run faster but give other numbers")


def _write(result: dict, out: str | None) -> None:
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(json_safe(result), indent=1, allow_nan=False) + "\n")
        print(f"wrote {path}", file=sys.stderr)


def _bar_progress() -> Callable[..., None]:
    bars: dict = {}

    def progress(stage, *counts) -> None:
        done, total = counts[-2], counts[-1]
        label = " ".join(str(c) for c in (stage, *counts[:-2]))
        bar = bars.setdefault(label, ProgressBar(max(int(total), 1), label=label))
        bar.update(int(done))
    return progress


def cmd_darts(args: argparse.Namespace) -> int:
    from .darts import DartsConfig, darts_experiment

    selections = [s.strip() for s in args.selection.split(",") if s.strip()]
    changes = {k: v for k, v in (("epochs", args.epochs), ("channels", args.channels), ("threads", args.threads),
                                 ("n_train", args.images), ("n_val", args.images), ("source", args.data))
               if v is not None}
    config = dataclasses.replace(DartsConfig(), **changes)
    fix_threads(config.threads)
    result = darts_experiment(selections, parse_seeds(args.seeds), config, progress=_bar_progress())
    print(f"{'selection':<22} {'accuracy (%)':>16} {'n':>3} {'seconds':>8}")
    for rule in selections:
        runs = [r for r in result["runs"] if r["selection"] == rule]
        accuracies = [r["accuracy"] for r in runs if math.isfinite(r["accuracy"])]
        mean = statistics.fmean(accuracies) if accuracies else math.nan
        std = statistics.pstdev(accuracies) if accuracies else math.nan
        print(f"{rule:<22} {mean:>8.2f} ± {std:<5.2f} {len(accuracies):>3} "
              f"{statistics.fmean(r['seconds'] for r in runs):>8.1f}")
    _write(result, args.out)
    return 0


def cmd_smash(args: argparse.Namespace) -> int:
    from .smash import smash_experiment

    fix_threads(DEFAULT_THREADS if args.threads is None else args.threads)
    options = {"steps": args.steps} if args.steps is not None else {}
    result = smash_experiment(args.archs, args.seed, progress=_bar_progress(), **options)
    print(f"SMASH on {len(result['archs'])} NAS-Bench-201 cells, {result['steps']} steps: "
          f"Spearman ρ with CIFAR-10 test accuracy {result['spearman']:.3f} (Kendall τ {result['kendall']:.3f}), "
          f"{result['seconds']:.0f} s")
    _write(result, args.out)
    return 0


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
    darts.add_argument("--out", default=None, help="darts.json")
    darts.set_defaults(func=cmd_darts)
    smash = kinds.add_parser("smash", help="SMASH hypernetwork; rank cells by accuracy with generated weights")
    smash.add_argument("--archs", type=int, default=100, help="distinct NB201 cells to rank")
    smash.add_argument("--seed", type=int, default=0)
    smash.add_argument("--steps", type=int, default=None, help="hypernetwork training steps (default 2000)")
    smash.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    smash.add_argument("--out", default=None, help="smash.json")
    smash.set_defaults(func=cmd_smash)


__all__ = ["add_oneshot_parser", "cmd_darts", "cmd_smash"]
