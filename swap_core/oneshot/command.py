"""`python -m swap_core oneshot darts|smash`: the one-shot experiments from the command line.

    python -m swap_core oneshot darts --selection magnitude,perturbation,perturbation-uniform --seeds 0-2 --out darts.json
    python -m swap_core oneshot darts --selection magnitude --flops-weight 0,0.3,1 --seeds 0-2 --out tradeoff.json
    python -m swap_core oneshot smash --archs 100 --seed 0 --out smash.json

`darts` writes {"runs": [{"selection", "seed", "flops_weight", "arch", "mflops", "accuracy", "seconds",
...}], "config", "data", "selections", "seeds", "flops_weights", "complete"} (accuracy: the chosen
cell's NAS-Bench-201 CIFAR-10 test accuracy; mflops: its benchmark network's), rewritten after
every finished (λ, seed), and prints each chosen cell and mean ± std per λ and rule; Ctrl-C
keeps the finished ones and `--resume` runs the rest. `--flops-weight` λ (a comma list runs
each) adds λ·L_FLOP to the α step (FLOP-aware DARTS, `darts.flops_loss`); the file's "config"
leaves out λ, which is in "flops_weights" and in each run. `smash` (one run) writes the per-architecture
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


def parse_flops_weights(text: str) -> list[float]:
    """"0,0.5,2" → [0.0, 0.5, 2.0]: finite, >= 0, distinct; one-line ValueError otherwise."""
    try:
        weights = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--flops-weight must be numbers >= 0, comma-separated (e.g. 0,0.5,2), got {text!r}") from None
    if not weights or any(not 0 <= w < math.inf for w in weights) or len(set(weights)) < len(weights):
        raise ValueError(f"--flops-weight must be distinct finite numbers >= 0 (e.g. 0,0.5,2), got {text!r}")
    return weights


def _mean_std(values: list) -> tuple[float, float, int]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, 0
    return statistics.fmean(finite), statistics.pstdev(finite), len(finite)


def _print_darts(runs: list[dict], selections: list[str], flops_weights: list[float]) -> None:
    for r in runs:
        print(f"λ={r.get('flops_weight', 0.0):<6g} seed {r['seed']:<3} {r['selection']:<22} "
              f"{_number(r.get('mflops')):>7.2f} MFLOPs {_number(r['accuracy']):>6.2f} %  {r['arch']}")
    print(f"{'λ':>6} {'selection':<22} {'MFLOPs':>16} {'accuracy (%)':>16} {'n':>3} {'seconds':>8}")
    for weight in flops_weights:
        for rule in selections:
            rows = [r for r in runs if r["selection"] == rule and r.get("flops_weight", 0.0) == weight]
            mflops, mflops_std, _ = _mean_std([r.get("mflops") for r in rows])
            mean, std, n = _mean_std([r["accuracy"] for r in rows])
            seconds = statistics.fmean(r["seconds"] for r in rows) if rows else math.nan
            print(f"{weight:>6g} {rule:<22} {mflops:>8.2f} ± {mflops_std:<5.2f} {mean:>8.2f} ± {std:<5.2f} "
                  f"{n:>3} {seconds:>8.1f}")


def cmd_darts(args: argparse.Namespace) -> int:
    """λ by λ, seed by seed (each: its supernets and every selection rule), the file rewritten
    after each finished (λ, seed); `--resume` keeps the ones a file holds and runs the rest."""
    from .darts import DartsConfig, darts_experiment

    selections = [s.strip() for s in args.selection.split(",") if s.strip()]
    _check_selections(selections)
    seeds = parse_seeds(args.seeds)
    flops_weights = parse_flops_weights(args.flops_weight)
    changes = {k: v for k, v in (("epochs", args.epochs), ("channels", args.channels), ("threads", args.threads),
                                 ("n_train", args.images), ("n_val", args.images), ("source", args.data))
               if v is not None}
    config = dataclasses.replace(DartsConfig(), **changes)
    fix_threads(config.threads)
    recorded = {k: v for k, v in vars(config).items() if k != "flops_weight"}  # λ: "flops_weights", each run
    settings = {"selections": selections, "seeds": seeds, "flops_weights": flops_weights,
                "config": {**recorded, "threads": torch.get_num_threads()}}  # as darts_experiment records it
    units = [(weight, seed) for weight in flops_weights for seed in seeds]
    unit_name = "seeds" if len(flops_weights) == 1 else "(λ, seed) runs"  # as before λ, with one λ
    runs: dict[tuple[float, int], list[dict]] = {}  # (λ, seed) -> its runs, one per selection rule
    data, saved = "", 0

    def save() -> None:
        nonlocal saved
        if args.out:
            write_json(args.out, json_safe(_darts_result(runs, units, settings, data)))
            saved = len(runs)

    if args.out:
        if args.resume:
            data = _resume_darts(args, settings, units, runs)
        else:
            note_overwrite(args.out)
        save()
    progress = _bar_progress()
    try:
        for weight, seed in units:
            if (weight, seed) in runs:
                continue
            labelled = (lambda stage, *counts, weight=weight: progress(f"{stage} λ={weight:g}", *counts)) \
                if len(flops_weights) > 1 else progress  # one bar per (λ, stage, seed)
            result = darts_experiment(selections, [seed], dataclasses.replace(config, flops_weight=weight),
                                      progress=labelled)
            runs[weight, seed], data = result["runs"], result["data"]
            save()
    except BaseException as error:
        if not was_interrupted(error):
            raise
        try:
            save()
        except KeyboardInterrupt:
            pass
        report_interrupted(saved if args.out else len(runs), len(units), unit_name, args.out)
        return INTERRUPTED
    result = _darts_result(runs, units, settings, data)
    _print_darts(result["runs"], selections, flops_weights)
    _write(result, args.out)
    return 0


def _resume_darts(args: argparse.Namespace, settings: dict, units: list[tuple[float, int]],
                  runs: dict[tuple[float, int], list[dict]]) -> str:
    """Fill `runs` with the finished (λ, seed) runs of the --out file (after checking its
    settings are these); returns its data description ("" without a file)."""
    previous = read_json(args.out)
    if previous is None:
        note_overwrite(args.out)
        return ""
    # a file from before --flops-weight holds plain DARTS runs: λ = 0
    theirs = {"flops_weights": [0.0], **{key: previous[key] for key in settings if key in previous}}
    check_settings(args.out, settings, theirs)
    for run in previous.get("runs") or []:
        unit = (run.get("flops_weight", 0.0), run.get("seed")) if isinstance(run, dict) else None
        if unit in units:
            runs.setdefault(unit, []).append(run)
    unit_name = "seeds" if len(settings["flops_weights"]) == 1 else "(λ, seed) runs"
    print(f"resuming: {len(runs)} of {len(units)} {unit_name} found in {args.out}", file=sys.stderr)
    return previous.get("data", "")


def _darts_result(runs: dict[tuple[float, int], list[dict]], units: list[tuple[float, int]], settings: dict,
                  data: str) -> dict:
    """Runs in (λ, seed, selection rule) order, plus the settings; complete when every unit ran."""
    from .darts import SELECTIONS

    ordered = [r for unit in units
               for r in sorted(runs.get(unit, []), key=lambda r: SELECTIONS.index(r["selection"]))]
    return {"runs": ordered, "config": settings["config"], "data": data, "selections": settings["selections"],
            "seeds": settings["seeds"], "flops_weights": settings["flops_weights"],
            "complete": all(unit in runs for unit in units)}


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
    darts.add_argument("--flops-weight", default="0", metavar="λ[,λ...]",
                       help="FLOP-aware DARTS: the α step's loss gains λ·L_FLOP, L_FLOP in [0, 1] the expected share "
                            "of the all-conv3x3 cell's FLOPs under softmax(α) (λ = 1: one nat for the whole range); "
                            "a comma list runs each λ (default 0: plain DARTS)")
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


__all__ = ["add_oneshot_parser", "cmd_darts", "cmd_smash", "parse_flops_weights"]
