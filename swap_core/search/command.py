"""The `search` command: `python -m swap_core search --algo swap-nas,naswot --budget 1000
--seeds 0-9 --truth nb201_accuracy.csv:cifar10_test --out runs.json` runs every algorithm for
every seed (`experiment.run_experiment`), prints mean ± std of the benchmark accuracy of what
each returns, with evaluations, lookups and seconds, and writes the runs as JSON:
`{"runs": [{"algo", "seed", "arch", "score", "accuracy", "params", "evaluations", "lookups",
"seconds", "objective"}], "summary": {"<algo>": {"mean", "std", "n", ...}}, "setup": {the command's
options}, "complete": whether every run is in}`, rewritten after each finished run; Ctrl-C
keeps what finished and `--resume` continues it. Bad input
raises ValueError, which `cli.main` turns into a message and exit code 2.

`--engine ray` (`swap_core.engines`) sends every (reward form, algorithm, seed) run not yet in
the file as one task (`experiment.run_search_task`: a SearchSetup and the run's names, never a
model), all at once; records are written as they complete and listed in plan order, as the
local engine gives them. A run that failed after the engine's retries is listed at the end with
its reason (exit code 1); `--resume` runs it again.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from collections.abc import Callable

from ..cli_helpers import data_choices, data_source, json_safe, read_truth, resolve_device
from ..engines import Failed, add_engine_arguments, engine_from_args
from ..durable import (INTERRUPTED, check_settings, data_file, note_overwrite, read_json, refuse_same,
                       report_interrupted, was_interrupted, write_json)
from ..reproducible import fix_threads
from ..progress import ProgressBar
from ..spaces import all_datasets, all_presets, dataset_for, get_space, space_choices
from .base import SearchState
from .efficiency import COSTS, MODES, parse_constraint
from .objectives import LATENCY_SOURCES
from .experiment import (SearchSetup, check_search, parse_algorithms, parse_seeds, run_experiment, run_search_task,
                         summarise)

_ENGINE_KEYS = ("engine", "ray_address", "workers")  # where runs go, not what they compute: not in "setup"


def _search_progress(bars: dict) -> Callable:
    """A progress line per run on stderr: steps done of the budget, best accuracy so far."""
    def progress(spec: str, seed: int, state: SearchState, total: int) -> None:
        bar = bars.setdefault((spec, seed), ProgressBar(total, label=f"{spec} seed {seed}"))
        if state.done or state.step < total:  # the finished line once, at the end
            bar.update(total if state.done else state.step, note=f"best {state.best_accuracy:.2f}%")
    return progress


def _resumed_runs(path: str, previous: dict, settings: dict, plan: list[tuple[str, int]]) -> dict:
    """The runs of an earlier `search --out path` of the same settings, by (algorithm, seed)."""
    check_settings(path, settings, previous.get("setup"))
    runs = previous.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, dict) and "algo" in r and "seed" in r for r in runs):
        raise ValueError(f"--resume: {path} has no list of runs with 'algo' and 'seed'; rerun without --resume")
    return {(r["algo"], r["seed"]): r for r in runs if (r["algo"], r["seed"]) in plan}


def parse_modes(text: str, constraint) -> list[str]:
    """"hard" or "hard,mnas,weighted": the reward forms to run, each over every algorithm and seed."""
    modes = [m.strip() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if not modes or unknown or len(set(modes)) != len(modes):
        raise ValueError(f"--constraint-mode {text!r}: expected one or more of {', '.join(MODES)}, each once")
    if len(modes) > 1 and constraint is None:
        raise ValueError("several --constraint-mode values compare reward forms: give a --constraint too")
    return modes


def _label(spec: str, mode: str, modes: list[str]) -> str:
    """The run's name in runs.json: the algorithm spec, with its reward form when several run."""
    return spec if len(modes) == 1 else f"{spec}[{mode}]"


def _relabel(record: dict, mode: str, modes: list[str], setup: SearchSetup) -> dict:
    """A run's record as runs.json holds it: named by `_label`, carrying its reward form."""
    return {**record, "algo": _label(record["algo"], mode, modes), "mode": mode if setup.constraint else None}


def _run_modes(setup: SearchSetup, modes: list[str], args: argparse.Namespace, seeds: list[int],
               finished: Callable[[dict], None], done: dict) -> dict:
    """`run_experiment` once per reward form; records named by `_label` and carrying `mode`."""
    runs: list[dict] = []
    for mode in modes:
        def relabel(record: dict, mode: str = mode) -> dict:
            return _relabel(record, mode, modes, setup)

        known = {(spec, seed): record for spec, _, _ in parse_algorithms(args.algo) for seed in seeds
                 if (record := done.get((_label(spec, mode, modes), seed))) is not None}
        result = run_experiment(replace(setup, mode=mode), args.algo, args.budget, seeds,
                                progress=_search_progress({}), on_record=lambda r: finished(relabel(r)),
                                finished=known)
        runs += [r if "mode" in r else relabel(r) for r in result["runs"]]
    return {"runs": runs, "summary": summarise(runs)}


def _run_on_engine(setup: SearchSetup, modes: list[str], args: argparse.Namespace, seeds: list[int],
                   finished: Callable[[dict], None], done: dict, engine) -> tuple[dict, list[str]]:
    """Every (reward form, algorithm, seed) run not in `done` as one task on `engine`, all at once:
    ({"runs", "summary"} in plan order, as `_run_modes` gives them; the failed runs, with their
    reasons). Each record reaches `finished` as its task completes, in any order."""
    specs = [spec for spec, _, _ in parse_algorithms(args.algo)]
    plan = [(mode, spec, seed) for mode in modes for spec in specs for seed in seeds]
    todo = [(mode, spec, seed) for mode, spec, seed in plan if (_label(spec, mode, modes), seed) not in done]
    payloads = [(replace(setup, mode=mode), spec, args.budget, seed) for mode, spec, seed in todo]
    count = len(plan) - len(todo)
    bar = ProgressBar(len(plan), label="search", initial=count, unit="run")
    failed: list[str] = []
    try:
        for outcome in engine.map(run_search_task, payloads, threads=setup.threads):
            mode, spec, seed = todo[outcome.index]
            name, count = f"{_label(spec, mode, modes)} seed {seed}", count + 1
            if isinstance(outcome, Failed):
                failed.append(f"{name}: {outcome.reason}")
                bar.update(count, note=f"{name} failed")
                continue
            finished(_relabel(outcome.value, mode, modes, setup))
            value = outcome.value["accuracy"] if setup.truth else outcome.value["score"]
            bar.update(count, note=f"{name}: {'accuracy' if setup.truth else 'score'} {value:.4g}")
    finally:
        bar.close()
    runs = [r if "mode" in r else _relabel(r, mode, modes, setup)  # as `_run_modes` lists a resumed run
            for mode, spec, seed in plan if (r := done.get((_label(spec, mode, modes), seed))) is not None]
    return {"runs": runs, "summary": summarise(runs)}, failed


def _print_summary(summary: dict, constraint) -> None:
    cost = f"{constraint.cost} ({COSTS[constraint.cost].split(' per')[0]})" if constraint else "params (M)"
    print(f"{'algorithm':<22} {'accuracy (%)':>16} {'n':>3} {'evaluations':>11} {'lookups':>7} {'seconds':>8}  {cost}")
    for spec, row in summary.items():
        print(f"{spec:<22} {row['mean']:>8.2f} ± {row['std']:<5.2f} {row['n']:>3} {row['evaluations']:>11.0f} "
              f"{row['lookups']:>7.0f} {row['seconds']:>8.1f}  {row['cost']:.4g}")


def cmd_search(args: argparse.Namespace) -> int:
    refuse_same(args.out, {"--truth": data_file(args.truth)})  # before anything is read or run
    specs = parse_algorithms(args.algo)  # fail on a typo before reading anything
    seeds = parse_seeds(args.seeds)
    constraint = parse_constraint(args.constraint) if args.constraint else None
    modes = parse_modes(args.constraint_mode, constraint)
    truth = read_truth(args.truth, None) if args.truth else {}
    setup = SearchSetup(
        space=args.space, network=args.network, dataset=dataset_for(get_space(args.space), args.dataset), objective=args.objective, mu=args.mu,
        sigma=args.sigma, size_network=args.size_network, constraint=constraint, mode=modes[0],
        gamma=args.gamma, weight=args.weight, latency=args.latency, batch_size=args.batch_size, device=str(resolve_device(args.device)),
        data_source=data_source(args.data), threads=fix_threads(args.threads) if args.threads else None, truth=truth,
        options={"population": args.population, "sample_size": args.sample_size, "mutations": args.mutations,
                 "lookups": args.lookups},
        proxy_options={"swap": {"repeats": args.repeats}} if args.repeats != 1 else {})
    for spec, _, _ in specs:  # every mistake before a file is touched
        check_search(setup, spec, args.budget)
    settings = {**{key: value for key, value in sorted(vars(args).items())
                   if key not in ("func", "command", "out", "resume", *_ENGINE_KEYS)},
                "dataset": setup.dataset, "device": setup.device}  # as resolved
    plan = [(_label(spec, mode, modes), seed) for mode in modes for spec, _, _ in specs for seed in seeds]
    done: dict[tuple[str, int], dict] = {}
    saved = 0

    def save() -> None:  # the whole file, atomically, with every run finished so far
        nonlocal saved
        if args.out:
            records = [done[key] for key in plan if key in done]
            write_json(args.out, json_safe({"runs": records, "summary": summarise(records), "setup": settings,
                                            "complete": len(records) == len(plan)}))
            saved = len(records)

    def finished(record: dict) -> None:
        done[(record["algo"], record["seed"])] = record
        save()

    previous = read_json(args.out) if args.out and args.resume else None
    if previous is not None:
        done = _resumed_runs(args.out, previous, settings, plan)
        print(f"resuming: {len(done)} of {len(plan)} runs found in {args.out}", file=sys.stderr)
    engine = engine_from_args(args)  # a Ray cluster that cannot be reached: before the file is touched
    failed: list[str] = []
    try:
        if args.out:
            if previous is None:
                note_overwrite(args.out)
            save()  # a file that cannot be written fails now, not after the first run
        if engine.name == "local":  # in this process, a progress bar per run, as always
            result = _run_modes(setup, modes, args, seeds, finished, done)
        else:
            print(engine.describe(), file=sys.stderr)
            result, failed = _run_on_engine(setup, modes, args, seeds, finished, done, engine)
    except BaseException as error:
        if not was_interrupted(error):
            raise
        try:
            save()  # a run that finished while its file was being written
        except KeyboardInterrupt:
            pass
        report_interrupted(saved if args.out else len(done), len(plan), "runs", args.out)
        return INTERRUPTED
    finally:
        engine.close()
    _print_summary(result["summary"], constraint)
    if args.out:
        save()
        print(f"wrote {len(result['runs'])} runs to {args.out}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(plan)} runs failed (rerun with --resume to run them again):", file=sys.stderr)
        for message in failed:
            print(f"  {message}", file=sys.stderr)
    return 1 if failed else 0


def add_search_parser(sub) -> None:
    p = sub.add_parser("search", help="run search algorithms over seeds; mean ± std benchmark accuracy")
    p.add_argument("--space", default="nb201", choices=space_choices())
    p.add_argument("--dataset", default=None, choices=all_datasets(),
                   help="default: the space's first (cifar10; TransNAS-Bench-101: class_scene)")
    p.add_argument("--algo", required=True, help="comma list of swap-nas, naswot, random, rea, area, hnas; "
                   "NAME@OBJECTIVE runs NAME with another objective (e.g. random@naswot)")
    p.add_argument("--budget", type=int, required=True, help="proxy evaluations (REA: truth lookups)")
    p.add_argument("--objective", default="reg_swap", help="proxy, ensemble (vote, rank_average[:m1,m2]) or hnas, "
                   "for algorithms without their own (naswot and area use naswot, hnas hnas)")
    p.add_argument("--mu", type=float, default=None, help="reg_swap target size, thousands of parameters")
    p.add_argument("--sigma", type=float, default=None, help="reg_swap width, thousands of parameters squared")
    p.add_argument("--size-network", default="benchmark", help="preset whose parameters reg_swap and "
                   "--constraint count (default: the published network)")
    p.add_argument("--constraint", default=None, help="e.g. params<=0.5 (M), flops<=100 (MFLOPs), latency<=5 (ms)")
    p.add_argument("--constraint-mode", default="hard", help="hard, mnas or weighted; a comma list (e.g. "
                   "hard,mnas,weighted) runs each reward form over every algorithm and seed, side by side")
    p.add_argument("--gamma", type=float, default=-0.07, help="MNAS reward exponent")
    p.add_argument("--weight", type=float, default=1.0, help="weighted mode: score − weight × cost")
    p.add_argument("--latency", default="measured", choices=LATENCY_SOURCES,
                   help="a latency constraint's cost: each cell timed as it is scored, or the learned latency "
                        "predictor (fitted once on 300 cells measured on this device, cached in the store; a hard "
                        "limit checks prediction + the predictor's margin)")
    p.add_argument("--network", default="teaching", choices=all_presets())
    p.add_argument("--seeds", default="0", help="e.g. 0-9 or 0,3,5")
    p.add_argument("--truth", default=None, help="FILE[:COLUMN], e.g. nb201_accuracy.csv:cifar10_test")
    p.add_argument("--batch-size", type=int, default=None, help="default: the objective's own (swap 16)")
    p.add_argument("--repeats", type=int, default=1, help="swap / reg_swap: re-initialisations averaged")
    p.add_argument("--population", type=int, default=None)
    p.add_argument("--sample-size", type=int, default=None)
    p.add_argument("--mutations", type=int, default=None)
    p.add_argument("--lookups", type=int, default=None, help="truth lookups of area and hnas")
    p.add_argument("--data", default="cifar10", choices=data_choices(),
                   help="image source: cifar10 (= auto), synthetic (= noise), or one source by name")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("--out", default=None, help="runs.json, rewritten (atomically) after every finished run, so an "
                   "interrupted search keeps what it finished; an existing file is overwritten, with a note; "
                   "must not be the --truth file")
    p.add_argument("--resume", action="store_true", help="continue the --out file of an interrupted run: its "
                   "finished (algorithm, seed) runs are kept, the rest run; refused if its settings differ")
    add_engine_arguments(p, what="(algorithm, seed) runs")
    p.set_defaults(func=cmd_search)


__all__ = ["add_search_parser", "cmd_search", "json_safe"]
