"""The few-shot predictor's numbers (issue 20, part 4): every one of them uses k trained accuracies.

    SWAP_EXPLORER_DATA=../shared/data SWAP_EXPLORER_STORE=/tmp/w/pred.sqlite \
        .venv/bin/python scripts/predictor_curve.py --out /tmp/w/predictor.csv [--no-proxies]

1. NB201 CIFAR-10: k = 400 cells of nb201_accuracy.csv (cifar10_test) drawn by the seed, judged on
   1000 other cells of the same table; features graph / zc / graph+zc, zc = our proxies for all
   cells (the table has no NAS-Bench-Suite-Zero columns). Our proxies cost ~0.5 s a cell on one
   core (teaching network); the score store keeps them, so a rerun is free.
2. The learning curve on the same test cells: graph features over --repeats seeds; graph+zc over
   --zc-repeats seeds (seed 0's training cells are those of 1, so one repeat costs nothing more).
3. The NAS-Bench-Suite-Zero files with their own columns: 400 rows to train, the rest (34 / 35) to
   judge, mean over --splits random splits (NB201: compare with the published 0.941 of
   NASLib's PlotXGBCorrelations), and DARTS (SWAP-NAS's 600 cells, graph features only).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swap_core import predictor as P  # noqa: E402
from swap_core.reproducible import fix_threads  # noqa: E402

NB201_TABLE = "nb201_accuracy.csv:cifar10_test"
CURVE = (10, 25, 50, 100, 200, 400)


def splits(space: str, spec: str, features: str, k: int, n: int) -> dict:
    _, train, test = P.load(space, spec, spec)
    model = P.Predictor(P.get_space(space), train, test, features=features)
    results = [model.run(k, seed) for seed in range(n)]
    rhos = [r.spearman for r in results]
    return {"experiment": f"{spec} {k}/{len(results[0].test_archs)} splits", "features": features,
            "zc_source": model.zc_source, "k": k, "uses_trained_accuracies": k, "n_test": len(results[0].test_archs),
            "repeats": n, "spearman_mean": float(np.mean(rhos)), "spearman_sd": float(np.std(rhos, ddof=1)),
            "kendall_mean": float(np.mean([r.kendall for r in results]))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-proxies", action="store_true", help="graph features and file columns only")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--zc-repeats", type=int, default=1)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--test-sample", type=int, default=1000)
    args = parser.parse_args()
    fix_threads(1)
    records: list[dict] = []

    def show(record: dict) -> None:
        records.append(record)
        print(f"{record['experiment']:<46} {record['features']:<9} k={record['k']:<4} n_test={record['n_test']:<5} "
              f"ρ = {record['spearman_mean']:.4f} ± {record.get('spearman_sd', 0):.4f}  "
              f"τ = {record['kendall_mean']:.4f}  [{record['zc_source']}]", flush=True)

    space, train, test = P.load("nb201", NB201_TABLE, NB201_TABLE)
    kinds = ["graph"] + ([] if args.no_proxies else ["zc", "graph+zc"])
    shared = P.ProxyFeatures("nb201")
    for kind in kinds:
        start = time.perf_counter()
        model = P.Predictor(space, train, test, features=kind, proxy_features=shared)
        result = model.run(400, 0, test_sample=args.test_sample)
        show({"experiment": "NB201 C10 k=400, 1000 unseen", "features": kind, "zc_source": model.zc_source,
              "k": 400, "uses_trained_accuracies": 400, "n_test": len(result.test_archs), "repeats": 1,
              "spearman_mean": result.spearman, "spearman_sd": 0.0, "kendall_mean": result.kendall,
              "seconds": time.perf_counter() - start})
    print(f"our proxies: {shared.computed} cells computed"
          + (f" ({shared.seconds / shared.computed:.3f} s per cell)" if shared.computed else "")
          + f", {shared.stored} found in the score store", flush=True)
    for kind, repeats in [("graph", args.repeats)] + ([] if args.no_proxies else [("graph+zc", args.zc_repeats)]):
        model = P.Predictor(space, train, test, features=kind, proxy_features=shared)
        for point in P.curve(model, CURVE, repeats, 0, test_sample=args.test_sample):
            show({**point, "experiment": f"NB201 C10 curve ({repeats} seeds)"})
    for kind in ("zc", "graph", "graph+zc"):
        show(splits("nb201", "zc/nb201_cifar10.csv:val_accuracy", kind, 400, args.splits))
    for kind in ("zc", "graph", "graph+zc"):
        show(splits("darts", "zc/nb301_cifar10.csv:val_accuracy", kind, 400, args.splits))
    show(splits("darts", "darts1000_cifar10.csv:val_accuracy", "graph", 400, args.splits))
    if args.out:
        fields = list(dict.fromkeys(key for r in records for key in r))
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
