"""The README's search-quality table from the `runs.json` files of `python -m swap_core search`.

    python scripts/search_table.py results/search/*.json

Runs are grouped by budget, algorithm and objective (with μ, σ, constraint, batch size and
repeats, from each file's `setup`), so one experiment split over several files (seeds 0-5 in
one, 6-9 in another) is one row; a seed run twice under the same settings is an error. Per
row: mean ± std (population) of the benchmark accuracy of the returned architectures, the
number of seeds, mean proxy evaluations, truth lookups and seconds per run.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swap_core.proxies.swap import DEFAULT_MU, DEFAULT_SIGMA  # noqa: E402
from swap_core.search.experiment import summarise  # noqa: E402

ORDER = ["swap-nas", "random", "naswot", "area", "rea", "hnas"]


def objective_label(run: dict, setup: dict) -> str:
    objective = run.get("objective") or "—"  # every algorithm but REA records the objective it used
    label = objective
    if objective == "reg_swap":
        mu = DEFAULT_MU if setup.get("mu") is None else setup["mu"]
        sigma = DEFAULT_SIGMA if setup.get("sigma") is None else setup["sigma"]
        label += f" μ={mu:g} σ={sigma:.3g}".replace("e+0", "e")
    if setup.get("constraint"):
        label += f", {setup['constraint']} ({setup.get('constraint_mode', 'hard')})"
    if setup.get("repeats", 1) != 1:
        label += f", {setup['repeats']} repeats"
    if setup.get("batch_size"):
        label += f", batch {setup['batch_size']}"
    return label


def collect(paths: list[Path]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for path in paths:
        result = json.loads(path.read_text())
        setup = result.get("setup")
        if setup is None:
            raise SystemExit(f"{path}: no 'setup' (written by an older `search`); cannot say how it was made")
        for run in result["runs"]:
            key = (setup["budget"], run["algo"], objective_label(run, setup), setup["network"],
                   setup["space"], setup["dataset"], setup["truth"])
            runs = groups.setdefault(key, [])
            if any(r["seed"] == run["seed"] for r in runs):
                raise SystemExit(f"{path}: seed {run['seed']} of {key[1]} ({key[2]}) appears twice")
            runs.append(run)
    return groups


def rank(key: tuple) -> tuple:
    algo = key[1].partition("@")[0]
    return key[0], ORDER.index(algo) if algo in ORDER else len(ORDER), key[1], key[2]


def table(groups: dict[tuple, list[dict]]) -> str:
    lines = ["| budget | algorithm | objective | test accuracy (%) | seeds | proxy evals | lookups | s / run |",
             "|---:|---|---|---:|---:|---:|---:|---:|"]
    for key in sorted(groups, key=rank):
        row = summarise(groups[key])[key[1]]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {row['mean']:.2f} ± {row['std']:.2f} | {row['n']} | "
                     f"{row['evaluations']:.0f} | {row['lookups']:.0f} | {row['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    groups = collect(args.files)
    settings = {(k[3], k[4], k[5], k[6]) for k in groups}
    for network, space, dataset, truth in sorted(settings):
        print(f"{space}, {dataset}, {network} network, accuracy from {truth}", file=sys.stderr)
    print(table(groups))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
