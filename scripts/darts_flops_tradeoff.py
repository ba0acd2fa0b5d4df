"""FLOP-aware DARTS's trade-off (issue 21, item 4): the chosen cells' MFLOPs against their
NAS-Bench-201 accuracy for several λ over seeds, committed for the DARTS page.

    SWAP_EXPLORER_DATA=../shared/data .venv/bin/python scripts/darts_flops_tradeoff.py [--resume]

Runs `python -m swap_core oneshot darts --selection magnitude --flops-weight 0,0.1,0.3,1,3
--seeds 0-2 --threads 1` (the default supernet: C=8, 10 epochs, 640 + 640 CIFAR-10 images at
16×16) into results/oneshot/darts_flops_tradeoff.json, then writes the CSV beside it (lambda,
seed, selection, arch, mflops, accuracy) and prints mean MFLOPs and accuracy per λ.

The λ grid was fixed before any run, from the loss's normalisation alone (L_FLOP in [0, 1],
λ = 1 prices the whole cost range at one nat): half-decades around 1, never from accuracies.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swap_core.cli import main  # noqa: E402

FLOPS_WEIGHTS = "0,0.1,0.3,1,3"
OUT = ROOT / "results" / "oneshot" / "darts_flops_tradeoff.json"


def write_csv(result: dict, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lambda", "seed", "selection", "arch", "mflops", "accuracy"])
        for run in result["runs"]:
            writer.writerow([run["flops_weight"], run["seed"], run["selection"], run["arch"],
                             round(run["mflops"], 5), run["accuracy"]])


def summary(result: dict) -> None:
    print(f"{'λ':>5} {'mean MFLOPs':>12} {'mean accuracy (%)':>18} {'n':>3}")
    for weight in result["flops_weights"]:
        runs = [r for r in result["runs"] if r["flops_weight"] == weight]
        if runs:
            print(f"{weight:>5g} {statistics.fmean(r['mflops'] for r in runs):>12.2f} "
                  f"{statistics.fmean(r['accuracy'] for r in runs):>18.2f} {len(runs):>3}")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flops-weight", default=FLOPS_WEIGHTS, help=f"λ list (default {FLOPS_WEIGHTS})")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--selection", default="magnitude")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    code = main(["oneshot", "darts", "--selection", args.selection, "--flops-weight", args.flops_weight,
                 "--seeds", args.seeds, "--threads", "1", "--out", args.out] + (["--resume"] if args.resume else []))
    if code != 0:
        return code
    result = json.loads(Path(args.out).read_text())
    write_csv(result, Path(args.out).with_suffix(".csv"))
    summary(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
