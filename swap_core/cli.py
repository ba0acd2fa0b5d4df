"""Command line: `python -m swap_core score | prepare | correlate | search | bench | fetch-data | list`.

Output files are CSV (or JSON) keyed by the architecture string in column `arch`.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from . import benchmarks, data
from .cli_helpers import json_safe, parse_proxy_list, read_arch_file, read_truth, resolve_device  # noqa: F401
from .lab import correlation_table, reference_values
from .progress import ProgressBar
from .proxies import get_proxy, list_proxies, score
from .oneshot.command import add_oneshot_parser
from .tinynas import add_tinynas_parser
from .latency_command import add_latency_parser
from .cell_cost import add_cost_parser
from .search.command import add_search_parser
from .cli_helpers import (csv_rows, data_choices, data_source, finite_float, nonnegative_float, nonnegative_int,
                          open_csv, positive_float, positive_int, tighten_types)
from .spaces.base import quote
from .limits import apply_maxima, check as check_limit
from .reproducible import fix_threads
from .durable import (INTERRUPTED, count_csv_rows, data_file, note_overwrite, refuse_same, report_interrupted,
                      resume_csv, was_interrupted, write_settings)
from .engines import add_engine_arguments, engine_from_args, memory_sample
from .scoring import CHUNK_MAX, ScoreJob, score_archs, whole_space
from .prepare import default_jobs, prepare_states
from .setup import Setup
from .store import ScoreStore
from .spaces import all_datasets, all_presets, dataset_for, get_space, list_spaces, space_choices  # noqa: F401


def _proxy_options(args: argparse.Namespace, names: Sequence[str]) -> dict[str, dict]:
    options: dict[str, dict] = {}
    for name in names:
        opts: dict = {}
        if name in ("swap", "reg_swap") and args.repeats != 1:  # 1 is the default: no option, one store key
            opts["repeats"] = args.repeats
        if name == "reg_swap":
            if args.mu is not None:
                opts["mu"] = args.mu
            if args.sigma is not None:
                opts["sigma"] = args.sigma
        options[name] = opts
    return options


def _batch_size_needed(args: argparse.Namespace, names: Sequence[str]) -> int:
    if args.batch_size:
        return args.batch_size
    sizes = [get_proxy(n).default_batch_size or 1 for n in names]
    return max(sizes)


def setup_from_args(args: argparse.Namespace, names: Sequence[str] = ()) -> Setup:
    """The Setup of a command's flags (the inverse of `Setup.cli_args`); fixes the process's
    thread count when --threads is given."""
    setup = Setup(space=args.space, dataset=args.dataset, preset=args.network, images=data_source(args.data),
                  order=getattr(args, "images", "random"), batch=args.batch_size, seed=args.seed,
                  device=args.device, threads=getattr(args, "threads", None))
    fix_threads(setup.threads)
    return setup


def _arch_rows(args: argparse.Namespace, space) -> list[tuple[int | None, str]]:
    """(line, text) of each architecture to score: --archs's lines, or with --all the whole space."""
    if args.all:
        if args.archs:
            raise ValueError("give --archs or --all, not both")
        if not space.finite:
            raise ValueError(f"--all: the space {args.space} is not finite; give --archs FILE")
        return [(None, arch) for arch in whole_space(args.space)]
    if not args.archs:
        raise ValueError("give the architectures to score: --archs FILE, or --all for every cell of a finite space")
    if not Path(args.archs).is_file():
        raise ValueError(f"architecture file {args.archs!r} not found")
    return list(read_arch_file(Path(args.archs)))


def _print_memory(engine) -> None:
    """The workers' memory over the run, and this process's peak (a whole space: flat or not)."""
    print(f"{engine.memory.summary()}; this process: peak RSS {memory_sample()['peak_mb']:.0f} MB", file=sys.stderr)


@dataclasses.dataclass
class _ScoreTally:
    """What `score` has done so far: rows kept from the interrupted run, written, skipped
    (unreadable lines), scores left empty and cells not scored (failed after the retries)."""
    resumed: int = 0
    written: int = 0
    undefined: int = 0
    skipped: list[str] = dataclasses.field(default_factory=list)
    lost: list[str] = dataclasses.field(default_factory=list)


def _cells_to_score(rows, space, kept, source: str, tally: _ScoreTally) -> list[tuple[int | None, str]]:
    """(line, canonical arch) of each row still to score: unreadable lines are noted as skipped,
    cells the interrupted run wrote (`kept`, a Counter) as resumed."""
    todo = []
    for line, text in rows:
        try:
            arch = space.to_str(space.from_str(text))
        except ValueError as error:
            tally.skipped.append(f"{source}: line {line}: skipped: {error}")
            continue
        if kept and kept[arch] > 0:  # finished by the interrupted run
            kept[arch] -= 1
            tally.resumed += 1
        else:
            todo.append((line, arch))
    return todo


def _write_scores(writer, handle, scored, names: list[str], where, bar: ProgressBar, tally: _ScoreTally) -> None:
    """Append each scored row to the CSV as it comes (flushed), noting what was left empty or lost."""
    for row in scored:
        if row["failed"]:
            tally.lost.append(f"{where(row['arch'])}: not scored: {row['failed']}")
        else:
            for message in row["errors"].values():
                tally.undefined += 1
                bar.write(f"{where(row['arch'])}: left empty: {message}")
            values = row["values"]
            writer.writerow([row["arch"], *["" if math.isnan(values[n]) else f"{values[n]:.10g}" for n in names],
                             f"{row['seconds']:.4f}"])
            handle.flush()
            tally.written += 1
        bar.advance()


def _report_score(tally: _ScoreTally, out_path: Path, seconds: float, engine) -> int:
    """The closing lines of `score` and its exit code (1: something skipped, empty or lost)."""
    summary = f"wrote {tally.resumed + tally.written} rows to {out_path}"
    if tally.resumed:
        summary += f" ({tally.resumed} of them kept from the interrupted run)"
    summary += f"; scored {tally.written} cells in {seconds:.1f} s ({tally.written / max(seconds, 1e-9):.2f} cells/s)"
    if tally.skipped or tally.undefined:
        summary += f"; {len(tally.skipped)} rows skipped, {tally.undefined} scores undefined (left empty)"
    print(summary, file=sys.stderr)
    if tally.written:
        _print_memory(engine)
    if tally.lost:
        print(f"{len(tally.lost)} cells were not scored (rerun with --resume to try them again):", file=sys.stderr)
        for message in tally.lost:
            print(f"  {message}", file=sys.stderr)
    return 1 if tally.skipped or tally.undefined or tally.lost else 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score each architecture of --archs (or of the whole space, --all) on the chosen engine,
    appending the rows to --out in input order as they finish; with --resume the rows already
    in --out are kept and only the rest are scored."""
    refuse_same(args.out, {"--archs": args.archs})  # before anything is read or written
    names = parse_proxy_list(args.proxies)
    setup = setup_from_args(args, names)
    rows = _arch_rows(args, setup.space_obj)[: args.limit or None]
    source = "--all" if args.all else args.archs
    options = _proxy_options(args, names)
    header = ["arch", *names, "seconds"]
    settings = {"command": "score", "setup": dataclasses.asdict(setup), "proxies": names, "options": options}
    out_path = Path(args.out)
    kept = resume_csv(out_path, header, settings) if args.resume else None  # arch -> rows already written
    if kept is None:
        note_overwrite(out_path)
    tally = _ScoreTally()
    todo = _cells_to_score(rows, setup.space_obj, kept, source, tally)
    for message in tally.skipped:
        print(message, file=sys.stderr)
    print(f"data: {setup.inputs(setup.largest_batch(names)).description} (each proxy takes its own batch of "
          f"{', '.join(sorted({str(setup.proxy_batch(n) or 1) for n in names}, key=int))} drawn by the seed)",
          file=sys.stderr)
    store = None if args.no_store else ScoreStore(args.store)
    engine = engine_from_args(args)
    print(engine.describe(), file=sys.stderr)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_settings(out_path, settings)
    start = time.perf_counter()
    bar = ProgressBar(len(rows), label="score", initial=tally.resumed + len(tally.skipped), unit="cell")
    lines = {arch: line for line, arch in todo}
    scored = score_archs(ScoreJob(setup, tuple(names), options), [arch for _, arch in todo], engine=engine,
                         store=store, chunk=args.chunk)
    try:
        with open(out_path, "w" if kept is None else "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if kept is None or handle.tell() == 0:
                writer.writerow(header)
                handle.flush()
            _write_scores(writer, handle, scored, names,
                          lambda arch: f"{source}: line {lines[arch]}" if lines.get(arch) else arch, bar, tally)
    except BaseException as error:
        bar.close()
        engine.close()
        if not was_interrupted(error):
            raise
        saved = count_csv_rows(out_path)
        if tally.written:
            _print_memory(engine)
        report_interrupted(tally.resumed + tally.written if saved is None else saved, len(rows), "rows", out_path)
        return INTERRUPTED
    bar.close()
    engine.close()
    return _report_score(tally, out_path, time.perf_counter() - start, engine)


def cmd_prepare(args: argparse.Namespace) -> int:
    """Score what the app's default views need for one Setup into the store, with progress."""
    setup = setup_from_args(args)
    store = ScoreStore(args.store)
    jobs = default_jobs(setup)
    print(f"store: {store.path}; setup: {' '.join(setup.cli_args())}", file=sys.stderr)
    bars: dict[str, ProgressBar] = {}
    start = time.perf_counter()
    for label, done, total in prepare_states(setup, store, jobs):
        bars.setdefault(label, ProgressBar(total, label=label)).update(done)
    cells = sum(len(job.archs) for job in jobs)
    print(f"ready: {cells} cells of {len(jobs)} views in {time.perf_counter() - start:.1f} s "
          f"({store.count(setup)} scores stored for this setup)", file=sys.stderr)
    return 0


def parse_ensemble(spec: str) -> tuple[str, list[str] | None]:
    """"vote" or "vote:synflow,jacob_cov,snip" → (name, members or None for the default)."""
    name, sep, members = spec.partition(":")
    return name.strip(), ([m.strip() for m in members.split(",") if m.strip()] if sep else None)


def cmd_correlate(args: argparse.Namespace) -> int:
    refuse_same(args.out, {"--scores": args.scores, "--truth": data_file(args.truth),
                           "--reference": data_file(args.reference)})  # before anything is written
    truth = read_truth(args.truth, args.column)
    with open_csv(args.scores) as handle:
        reader = csv.DictReader(handle)
        rows = list(csv_rows(reader, args.scores))
        header = list(reader.fieldnames or [])
    if "arch" not in header:
        raise ValueError(f"{args.scores}: no 'arch' column (the header is {quote(','.join(header))}); "
                         "give a table written by `score`")
    if not rows:
        print(f"{args.scores}: no rows", file=sys.stderr)
        return 1
    matched = [r for r in rows if r["arch"] in truth]
    print(f"{len(matched)} of {len(rows)} architectures have ground truth in {args.truth}")
    columns = {name: [_as_float(r[name]) for r in matched]
               for name in rows[0] if name not in ("arch", "seconds")}
    for spec in args.ensemble or []:
        from .ensembles import get_ensemble

        name, members = parse_ensemble(spec)
        ensemble = get_ensemble(name)
        members = members or list(ensemble.default_members)
        missing = [m for m in members if m not in columns]
        if missing:
            raise ValueError(f"ensemble {name!r} needs score columns {missing}, which {args.scores} lacks")
        label = name if members == list(ensemble.default_members) else f"{name}({'+'.join(members)})"
        columns[label] = list(ensemble.combine({m: columns[m] for m in members}, members))
    y = [truth[r["arch"]] for r in matched]
    reference = None
    if args.reference:
        ref_table = benchmarks.read_table(benchmarks.resolve_file(args.reference))
        if "arch" not in ref_table.columns:
            raise ValueError(f"reference file {args.reference!r} has no 'arch' column")
        reference = reference_values(ref_table, [r["arch"] for r in matched], list(columns))
    records = correlation_table(columns, y, reference)
    header = f"{'proxy':<16} {'n':>5} {'spearman':>9} {'kendall':>9}"
    if reference is not None:
        header += f" {'reference':>10} {'rho_vs_ref':>10} {'ref_spearman':>12}"
    print(header)
    for r in records:
        line = f"{r['proxy']:<16} {r['n']:>5} {r['spearman']:>9.4f} {r['kendall']:>9.4f}"
        if reference is not None:
            line += (f" {r['reference_column']:>10} {r['rho_vs_reference']:>10.4f} {r['reference_spearman']:>12.4f}"
                     if "reference_column" in r else f" {'-':>10} {'':>10} {'':>12}")
        print(line)
    if args.out:
        _write_records(Path(args.out), records)
    return 0 if matched else 1


def _write_records(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in records for k in r))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)


def _as_float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def cmd_predict(args: argparse.Namespace) -> int:
    """A LightGBM predictor trained on --k rows of --train (it uses k trained accuracies), judged
    on the --test cells it never saw (`swap_core.predictor`)."""
    import numpy as np

    from . import predictor

    space = get_space(args.space)
    if args.out:
        refuse_same(args.out, {"--train": data_file(args.train), "--test": data_file(args.test)})
    if args.curve_out:
        refuse_same(args.curve_out, {"--train": data_file(args.train), "--test": data_file(args.test)})
    ks = _parse_ks(args.curve) if args.curve else []
    _, train, test = predictor.load(space.name, args.train, args.test)
    if "zc" in args.features and args.zc != "file":
        fix_threads(args.threads)
    proxies = tuple(parse_proxy_list(args.proxies))
    features = predictor.ProxyFeatures(space.name, dataset=dataset_for(space, args.dataset), preset=args.network,
                                       proxies=proxies, batch=args.batch_size, seed=0,
                                       images=data_source(args.data), threads=args.threads,
                                       store=ScoreStore(args.store))
    bar: dict[str, ProgressBar] = {}

    def progress(done: int, total: int) -> None:
        bar.setdefault(str(total), ProgressBar(total, label="zero-cost features")).update(done)

    model = predictor.Predictor(space, train, test, features=args.features, zc=args.zc, proxy_features=features,
                                threads=args.threads, progress=progress)
    if not test.target_column and (args.curve or args.out is None):
        raise ValueError(f"{args.test}: no column of trained accuracies to judge on; give FILE:COLUMN "
                         "(or --out to write predictions only)")
    for k in ([args.cells] if args.cells else []) + ks:
        predictor.draw_train(train, k, args.seed)  # a --k larger than the file: its error before any work
    print(f"zero-cost features: {model.zc_source}", file=sys.stderr)
    if args.cells is None and not ks:
        raise ValueError("give --k (training rows) or --curve (a list of them)")
    if args.cells is not None and args.seeds > 1:
        results = [model.run(args.cells, args.seed + r, test_sample=args.lookups) for r in range(args.seeds)]
        rhos, taus = [r.spearman for r in results], [r.kendall for r in results]
        print(f"predictor (LightGBM; {predictor.USES.format(k=args.cells)}; features {args.features}; "
              f"{len(rhos)} random splits, seeds {args.seed}..{args.seed + args.seeds - 1}, each judged on its own "
              f"{min(len(r.test_archs) for r in results)}-{max(len(r.test_archs) for r in results)} unseen cells): "
              f"Spearman ρ = {np.mean(rhos):.4f} ± {np.std(rhos, ddof=1):.4f}, "
              f"Kendall τ = {np.mean(taus):.4f} ± {np.std(taus, ddof=1):.4f} (mean ± sd)")
    elif args.cells is not None:
        result = model.run(args.cells, args.seed, test_sample=args.lookups)
        print(result.summary())
        if args.out:
            predictor.write_predictions(Path(args.out), result)
            print(f"wrote {len(result.test_archs)} predictions to {args.out}", file=sys.stderr)
    if ks:
        records = predictor.curve(model, ks, args.repeats, args.seed, test_sample=args.lookups)
        print(f"learning curve (LightGBM; each point uses k trained accuracies; features {args.features}; "
              f"{records[0]['n_test']} unseen test cells; mean ± sd over {args.repeats} seeds)")
        print(f"{'k':>6} {'spearman':>16} {'kendall':>16}")
        for r in records:
            print(f"{r['k']:>6} {r['spearman_mean']:>8.4f} ± {r['spearman_sd']:<6.4f}"
                  f"{r['kendall_mean']:>8.4f} ± {r['kendall_sd']:.4f}")
        if args.curve_out:
            _write_records(Path(args.curve_out), records)
    if features.computed or features.stored:
        print(f"our proxies: {features.computed} cells computed"
              + (f" ({features.seconds / features.computed:.3f} s per cell)" if features.computed else "")
              + f", {features.stored} found in the score store", file=sys.stderr)
    return 0


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--curve wants comma-separated training sizes like 10,25,50, got {quote(text)}") from None
    if not ks or min(ks) < 2:
        raise ValueError(f"--curve wants training sizes of at least 2, got {quote(text)}")
    return ks


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench, run_designer_bench, run_live_bench, run_proxy_bench

    device = resolve_device(args.device)
    fix_threads(args.threads)
    if args.tinynas:
        from .bench import run_tinynas_bench
        return run_tinynas_bench(seed=args.seed)
    if args.engine:
        from .bench import run_engine_bench

        counts = [positive_int(part) for part in args.workers.split(",") if part.strip()]
        for count in counts:
            check_limit("workers", count, "--workers")
        if not counts:
            raise ValueError("--workers: give worker counts, e.g. 1,2")
        result = run_engine_bench(args.engine, counts, cells=args.cells, seed=args.seed, address=args.ray_address)
        return 0 if result.get("same", True) else 1
    if args.classroom:
        from .classroom import run_classroom_bench

        try:
            report = run_classroom_bench(args.sessions, args.minutes, out=args.out)
        except RuntimeError as error:  # the app or the browser could not start: no verdict
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0 if report["pass"] else 1
    if args.lecture:
        from .lecture_bench import run_lecture_bench

        try:
            run_lecture_bench(args.sessions, args.edits, idle_wait_s=args.idle_wait, timeout_s=args.page_timeout,
                              parts=args.lecture_parts.split(","), live_evaluations=args.live_evaluations, out=args.out)
        except RuntimeError as error:  # the app or the browser failed: not a measurement
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0  # a measurement: the printed lines say PASS or FAIL
    records: dict[str, object] = {}
    if args.live:
        records["live"] = run_live_bench(args.live_evaluations, seed=args.seed, device=device)
        print()
    if args.designer:
        records["designer"] = [run_designer_bench(space, "teaching", args.proxy_batch, seed=args.seed, device=device)
                               for space in ("nb201", "darts")]
        print()
    if not args.skip_swap:
        records["swap"] = run_bench(batch_sizes=tuple(args.batch_sizes), repeats=args.repeats, device=device)
    if args.proxies != "none":
        print()
        names = parse_proxy_list(args.proxies)
        records["proxies"] = run_proxy_bench(names, batch=args.proxy_batch, n_archs=args.archs, seed=args.seed,
                                             device=device)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2) + "\n")
    return 0


def cmd_fetch_data(args: argparse.Namespace) -> int:
    from .fetch import DownloadError, fetch_data

    target = Path(args.data_dir) if args.data_dir else benchmarks.data_dir()
    items = args.items.split(",") if args.items else None
    sources = {}
    for pair in args.source or []:
        name, sep, url = pair.partition("=")
        if not sep or not url:
            raise ValueError(f"--source wants ITEM=URL, got {pair!r}")
        sources[name] = url
    bars: dict[str, ProgressBar] = {}

    def progress(label: str, done: int, total: int | None) -> None:
        bar = bars.setdefault(label, ProgressBar(total or 0, label=label))
        bar.update(done if total else 0, note=f"{done / 1e6:.1f} MB")

    try:
        written = fetch_data(target, items=items, sources=sources, progress=progress)
    except DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    print("spaces:", ", ".join(list_spaces()))
    for name in list_proxies():
        info = get_proxy(name)
        print(f"proxy {name:<10} {info.display_name:<16} {info.paper} {info.year or ''}")
    for record in benchmarks.inventory():
        print(f"data  {'found  ' if record['present'] else 'missing'} {record['file']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m swap_core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("score", help="score architectures with proxies")
    p.add_argument("--space", required=True, choices=space_choices())
    p.add_argument("--dataset", default=None, choices=all_datasets(),
                   help="default: the space's first (cifar10; TransNAS-Bench-101: class_scene)")
    p.add_argument("--network", default="benchmark", choices=all_presets())
    p.add_argument("--archs", default=None, help="CSV with column 'arch', or one architecture per line")
    p.add_argument("--all", action="store_true", help="every architecture of the space (NB201: 15,625; "
                   "TransNAS-Bench-101 micro 4,096, macro 3,256), in the space's own order")
    p.add_argument("--limit", type=positive_int, default=None, help="score only the first N architectures")
    p.add_argument("--proxies", default="swap", help="comma-separated proxy names, or 'all'")
    p.add_argument("--mu", type=finite_float, default=None, help="reg_swap target size, thousands of parameters")
    p.add_argument("--sigma", type=positive_float, default=None, help="reg_swap width, thousands of parameters squared")
    p.add_argument("--data", default="cifar10", choices=data_choices(),
                   help="image source: cifar10 (= auto: the CIFAR-10 sample, else a download, else photos), "
                        "synthetic (= noise), or one source by name")
    p.add_argument("--images", default="random", choices=["random", "first"],
                   help="CIFAR-10 images drawn by --seed, or the first ones in file order (as the official scripts)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="default: each proxy's own (swap 16, naswot 128)")
    p.add_argument("--repeats", type=positive_int, default=1, help="swap re-initialisations averaged")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("--out", required=True, help="CSV written row by row as each architecture finishes (an existing "
                   "file is overwritten, with a note); OUT.settings.json records the settings for --resume; "
                   "must not be the --archs file")
    p.add_argument("--resume", action="store_true", help="continue the --out file of an interrupted run: its rows "
                   "are kept and only the other architectures scored; refused if its columns or settings differ")
    p.add_argument("--store", default=None, help="score store file (default: $SWAP_EXPLORER_STORE, else the "
                   "user cache's scores.sqlite); scores found there are not computed again")
    p.add_argument("--no-store", action="store_true", help="compute every score, keep nothing")
    add_engine_arguments(p)
    p.add_argument("--chunk", type=positive_int, default=None,
                   help=f"architectures per task (default: about 8 tasks per worker, at most {CHUNK_MAX})")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("prepare", help="before a lecture: score what the app's default views need into the store")
    p.add_argument("--space", default="nb201", choices=space_choices())
    p.add_argument("--dataset", default=None, choices=all_datasets())
    p.add_argument("--network", default="teaching", choices=all_presets(), help="the app's default: teaching")
    p.add_argument("--data", default="cifar10", choices=data_choices())
    p.add_argument("--images", default="random", choices=["random", "first"])
    p.add_argument("--batch-size", type=positive_int, default=64, help="the app's default: 64")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--store", default=None, help="default: $SWAP_EXPLORER_STORE, else the user cache's scores.sqlite")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("correlate", help="rank correlation of scores with ground truth")
    p.add_argument("--scores", required=True)
    p.add_argument("--truth", required=True, help="FILE or FILE:COLUMN (relative to the data dir works too)")
    p.add_argument("--column", default=None)
    p.add_argument("--reference", default=None,
                   help="a zc/*.csv file: also report, per proxy with a column there, Spearman ρ between "
                   "our scores and NAS-Bench-Suite-Zero's for the same architectures")
    p.add_argument("--ensemble", action="append", metavar="NAME[:M1,M2,...]",
                   help="add an ensemble column (vote, rank_average) computed from score columns; repeatable")
    p.add_argument("--out", default=None, help="write the table as CSV")
    p.set_defaults(func=cmd_correlate)

    p = sub.add_parser("predict", help="a learned predictor (LightGBM on graph and zero-cost features) that uses k "
                       "trained accuracies: train on --k rows of --train, Spearman ρ on the --test cells it never saw",
                       description="A few-shot performance predictor. It USES K TRAINED ACCURACIES (the --k rows of "
                       "--train), so it is not a training-free proxy and is never mixed with one. Features: graph "
                       "features of the cell (GRAF) and zero-cost scores: the NAS-Bench-Suite-Zero columns when both "
                       "files hold them for every row, else our proxies for all rows (--proxies, cached in the score "
                       "store). Test rows: the --test file minus every training architecture.")
    p.add_argument("--space", default="nb201", choices=space_choices())
    p.add_argument("--train", required=True, help="FILE[:COLUMN] of trained accuracies, e.g. zc/nb201_cifar10.csv:"
                   "val_accuracy or nb201_accuracy.csv:cifar10_test (relative to the data dir works too)")
    # dest "cells"/"lookups"/"seeds": the limits of swap_core.limits that bound these amounts of work
    p.add_argument("--k", dest="cells", type=positive_int, default=None, help="training rows drawn from --train by "
                   "--seed: the predictor uses k trained accuracies")
    p.add_argument("--test", required=True, help="FILE[:COLUMN]: the cells to predict (those in the training set "
                   "are left out)")
    p.add_argument("--test-sample", dest="lookups", type=positive_int, default=None,
                   help="judge on this many unseen test cells drawn by --seed (default: all)")
    p.add_argument("--features", default="graph+zc", choices=["graph", "zc", "graph+zc"])
    p.add_argument("--zc", default="auto", choices=["auto", "file", "proxies"],
                   help="zero-cost features: auto = the files' NAS-Bench-Suite-Zero columns when both hold them "
                   "for every row, else our proxies; file = require the columns; proxies = always ours")
    p.add_argument("--proxies", default=",".join(("synflow", "jacob_cov", "naswot", "snip", "grad_norm", "zen")),
                   help="our proxies for zero-cost features (plus the benchmark network's params and FLOPs), Setup seed 0")
    p.add_argument("--network", default="teaching", choices=all_presets(), help="network our proxies run on")
    p.add_argument("--dataset", default=None, choices=all_datasets())
    p.add_argument("--data", default="cifar10", choices=data_choices())
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--seed", type=nonnegative_int, default=0, help="draws the training rows (and the model's seed)")
    p.add_argument("--curve", default=None, metavar="K1,K2,...",
                   help="also a learning curve: ρ per k (each uses k trained accuracies), mean ± sd over --repeats")
    p.add_argument("--repeats", type=positive_int, default=5, help="--curve: seeds per k (--seed, --seed+1, ...)")
    p.add_argument("--splits", dest="seeds", type=positive_int, default=1,
                   help="with --k: repeat over this many seeds, each with its own unseen test rows; mean ± sd")
    p.add_argument("--curve-out", default=None, help="--curve: write it as CSV")
    p.add_argument("--threads", type=positive_int, default=1, help="LightGBM and torch threads (default 1)")
    p.add_argument("--store", default=None, help="score store (default: $SWAP_EXPLORER_STORE, else the user cache's)")
    p.add_argument("--out", default=None, help="CSV of the test predictions (arch, predicted, truth, "
                   "uses_trained_accuracies)")
    p.set_defaults(func=cmd_predict)

    add_search_parser(sub)
    add_oneshot_parser(sub)
    add_tinynas_parser(sub)
    add_latency_parser(sub)
    add_cost_parser(sub)

    p = sub.add_parser("bench", help="time SWAP against a forward pass and the float implementation, "
                       "and every proxy on the NB201 benchmark network")
    p.add_argument("--json", default=None)
    p.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[16, 64])
    p.add_argument("--repeats", type=positive_int, default=5)
    p.add_argument("--skip-swap", action="store_true", help="leave out the SWAP vs forward/naive table")
    p.add_argument("--proxies", default="all", help="proxies to time on the NB201 benchmark network ('none': skip)")
    p.add_argument("--proxy-batch", type=positive_int, default=64)
    p.add_argument("--archs", type=positive_int, default=3, help="random NB201 cells averaged over")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--designer", action="store_true",
                   help="also time one Cell Designer edit (teaching networks, all fast proxies) against 1 s")
    p.add_argument("--live", action="store_true",
                   help="also run one search through the command line's path and through the app's worker: "
                        "evaluations per second of both and their ratio (goal >= 0.8), page redraws per second")
    p.add_argument("--live-evaluations", type=positive_int, default=300)
    p.add_argument("--lecture", action="store_true",
                   help="only the lecture's live budgets, through the real app in Chromium (issue 18): Cell "
                   "Designer edits, Proxy Lab and Size Regulariser first views, the Search page's rate")
    p.add_argument("--classroom", action="store_true",
                   help="only the classroom load test (issue 19): --sessions students at once in Chromium through "
                   "the Cell Designer, Activation Patterns and Search, every number checked against the same "
                   "computation alone, no exception, the server's memory under the budget; exit 1 on a FAIL")
    p.add_argument("--minutes", type=positive_float, default=10,
                   help="--classroom: the time bound of the run, in minutes")
    p.add_argument("--sessions", type=positive_int, default=1,
                   help="--lecture: browser sessions at once (budgets x2 if > 1); --classroom: students at once")
    p.add_argument("--edits", type=positive_int, default=5, help="--lecture: Cell Designer edits timed, fill running and over")
    p.add_argument("--idle-wait", type=nonnegative_float, default=300,
                   help="--lecture: seconds to wait for the rank fill to finish before the comparison edits (0: skip)")
    p.add_argument("--page-timeout", type=positive_float, default=120, help="--lecture: seconds to wait for a page to show")
    p.add_argument("--lecture-parts", default="designer,proxy_lab,size_regulariser,search",
                   help="--lecture: which parts to measure, comma-separated")
    p.add_argument("--out", default=None, help="--lecture, --classroom: write the report as JSON")
    p.add_argument("--tinynas", action="store_true", help="only the TinyNAS view's computation (12 NB201 variants)")
    p.add_argument("--engine", choices=["local", "ray"], default=None,
                   help="only the scoring engine: cells per second with each --workers count and the speed-up")
    p.add_argument("--workers", default="1,2", help="--engine: worker counts to compare, e.g. 1,2")
    p.add_argument("--cells", type=positive_int, default=120, help="--engine: NB201 cells scored per worker count")
    p.add_argument("--ray-address", default=None, help="--engine ray: a cluster (default: $RAY_ADDRESS, else one "
                   "started here)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's own)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("fetch-data", help="download the public ground truth and CIFAR-10 into the data dir")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--items", default=None, help="comma-separated subset of what to fetch")
    p.add_argument("--source", action="append", metavar="ITEM=URL",
                   help="fetch ITEM from another URL (a mirror or a file:// copy); repeatable")
    p.set_defaults(func=cmd_fetch_data)

    p = sub.add_parser("list", help="spaces, proxies and data found")
    p.set_defaults(func=cmd_list)
    return parser


DEBUG_ENV = "SWAP_EXPLORER_DEBUG"  # set to 1 to see the traceback of an unexpected error
MAX_MESSAGE_CHARS = 2000  # an error line longer than this is cut


def _one_line(text: object) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[:MAX_MESSAGE_CHARS] + "…"


def _check_device(args: argparse.Namespace) -> None:
    """A bad --device fails before anything is read or computed, saying which devices there are."""
    from .devices import describe_devices

    if getattr(args, "device", None) is None:
        return
    try:
        resolve_device(args.device)
    except ValueError as error:
        raise ValueError(f"--device: {error} (this machine: {describe_devices()})") from None


def _os_error(error: OSError) -> str:
    where = f" {quote(str(error.filename), 200)}" if error.filename else ""
    return _one_line(f"error: cannot use{where}: {error.strerror or error}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. Every error is one line on stderr and a non-zero exit: 2 for bad input,
    1 for a file or memory problem or an unexpected error, 130 for Ctrl-C; never a traceback
    (unless SWAP_EXPLORER_DEBUG=1)."""
    parser = build_parser()
    tighten_types(parser)
    apply_maxima(parser)  # upper limits, with their reasons (swap_core.limits)
    args = parser.parse_args(argv)
    try:
        _check_device(args)
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(_one_line(f"error: {error}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except OSError as error:  # a read-only, full or missing place, a directory for a file
        if os.environ.get(DEBUG_ENV):
            raise
        print(_os_error(error), file=sys.stderr)
        return 1
    except MemoryError:
        if os.environ.get(DEBUG_ENV):
            raise
        print("error: out of memory; use a smaller batch, fewer architectures or fewer seeds", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001  (the last resort: one line, not a traceback)
        if os.environ.get(DEBUG_ENV):
            raise
        print(_one_line(f"error: {type(error).__name__}: {error}"), file=sys.stderr)
        print(f"run with {DEBUG_ENV}=1 for the traceback", file=sys.stderr)
        return 1
