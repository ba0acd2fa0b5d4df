"""Choose SWAP-NAS's μ and σ on score tables that the evaluation never sees.

The README's search table evaluates seeds 0-9. Here the regulariser is tuned on whole-space
SWAP tables scored under *other* seeds (`python -m swap_core score --seed 100`, …: another
input batch and other initial weights), by replaying SWAP-NAS on them (`search.replay`,
no network runs) with search seeds 100-109, for every (μ, σ) of a grid:

    SWAP_EXPLORER_DATA=../shared/data python -m swap_core score --space nb201 --network teaching \\
        --archs ../shared/data/nb201_accuracy.csv --proxies swap --seed 100 --out swap_s100.csv
    SWAP_EXPLORER_DATA=../shared/data python scripts/tune_regulariser.py swap_s100.csv swap_s101.csv \\
        --out results/search/regulariser_grid.csv

Per grid point it writes the mean ± std accuracy SWAP-NAS returns (over tables × search
seeds) and the accuracy of the objective's argmax over the whole space ("ceiling": what a
perfect optimiser of that objective would return), and prints the best points. Θ is the
NAS-Bench-201 benchmark network's parameter count in thousands, as in the search objective.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swap_core import benchmarks  # noqa: E402
from swap_core.search.experiment import parse_seeds  # noqa: E402
from swap_core.search.objectives import size_of  # noqa: E402
from swap_core.search.replay import regulariser_grid  # noqa: E402
from swap_core.size_regulariser import log_regularised  # noqa: E402
from swap_core.spaces import get_space  # noqa: E402


def ceiling(swap: dict[str, float], size_k: dict[str, float], truth: dict[str, float], mu: float,
            sigma: float) -> float:
    """Accuracy of the cell with the highest regularised SWAP in the table."""
    archs = list(swap)
    values = log_regularised([swap[a] for a in archs], [size_k[a] for a in archs], mu, sigma)
    return truth[archs[int(values.argmax())]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+", type=Path, help="CSV files written by `score --proxies swap`")
    parser.add_argument("--truth", default="nb201_accuracy.csv:cifar10_test")
    parser.add_argument("--algo", default="swap-nas")
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seeds", default="100-109", help="search seeds of the replays")
    parser.add_argument("--mus", default="400:1600:100", help="start:stop:step, thousands of parameters")
    parser.add_argument("--sigma-exponents", default="4:7:0.25", help="σ = 10^e for e in start:stop:step")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    def span(text: str) -> list[float]:
        start, stop, step = (float(x) for x in text.split(":"))
        return [round(start + k * step, 6) for k in range(int(round((stop - start) / step)) + 1)]

    mus = span(args.mus)
    sigmas = [10 ** e for e in span(args.sigma_exponents)]
    seeds = parse_seeds(args.seeds)
    space = get_space("nb201")
    truth = dict(benchmarks.truth_table(args.truth))
    tables = [dict(benchmarks.truth_table(str(path), "swap")) for path in args.tables]
    start = time.perf_counter()
    size = size_of(space, space.config("benchmark", "cifar10"))
    size_k = {arch: size(arch) for arch in truth}
    print(f"sizes of {len(size_k)} cells in {time.perf_counter() - start:.0f} s", file=sys.stderr)

    results: dict[tuple[float, float], dict[str, list[float]]] = {}
    for number, table in enumerate(tables, start=1):
        start = time.perf_counter()
        rows = regulariser_grid(space, table, size_k, truth, mus, sigmas, seeds, args.budget, args.algo)
        for row in rows:
            entry = results.setdefault((row["mu"], row["sigma"]), {"means": [], "ceilings": []})
            entry["means"].append(row["mean"])
            entry["ceilings"].append(ceiling(table, size_k, truth, row["mu"], row["sigma"]))
        print(f"table {number}/{len(tables)}: {len(rows)} grid points in {time.perf_counter() - start:.0f} s",
              file=sys.stderr)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    out_rows = []
    for (mu, sigma), entry in results.items():
        out_rows.append({"mu": mu, "sigma": sigma, "mean": statistics.fmean(entry["means"]),
                         "table_spread": max(entry["means"]) - min(entry["means"]),
                         "ceiling": statistics.fmean(entry["ceilings"])})
    with open(args.out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(out_rows[0]))
        writer.writeheader()
        for row in out_rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    best = sorted(out_rows, key=lambda r: -r["mean"])[:8]
    print(f"{args.algo}, {args.budget} evaluations, {len(tables)} tables x {len(seeds)} seeds; best grid points:")
    print(f"{'mu':>6} {'sigma':>10} {'mean acc':>9} {'ceiling':>8}")
    for row in best:
        print(f"{row['mu']:>6g} {row['sigma']:>10.3g} {row['mean']:>9.3f} {row['ceiling']:>8.3f}")
    plain = statistics.fmean(truth[max(t, key=t.get)] for t in tables)
    print(f"plain SWAP's argmax over the whole space: {plain:.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
