"""Choose the μ, σ the Size Regulariser page opens at, on cells and seeds it never evaluates.

The page opens on 200 random cells drawn with the sidebar's seed (0) and scored under it.
Here SWAP is scored on other random cells (sample seeds 101-103, the page's seed-0 cells
left out) under other Setup seeds (101-103: other input images, other initial weights), with
the page's default network and batch; `size_regulariser.tune_point` then picks the (μ, σ)
whose Spearman ρ with accuracy is highest on average over the three tables. The result goes
into `size_regulariser.TUNED_POINTS`; `tests/test_size_regulariser.py` checks it on the
page's own (held-out) seed-0 cells.

    SWAP_EXPLORER_DATA=../shared/data python scripts/tune_size_default.py --space nb201 --network teaching
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swap_core import explorer, lab  # noqa: E402
from swap_core import size_regulariser as sr  # noqa: E402
from swap_core.setup import Setup  # noqa: E402
from swap_core.spaces import get_space  # noqa: E402


def table(space: str, dataset: str, preset: str, seed: int, size: int, batch: int, leave_out: set[str]):
    """(swap, Θ in thousands, accuracy) of `size` random cells drawn and scored with `seed`."""
    setup = Setup(space=space, dataset=dataset, preset=preset, batch=batch, seed=seed, threads=1)
    archset = lab.arch_set(space, setup.dataset, "sample", size + len(leave_out), seed)
    rows = [(a, acc) for a, acc in zip(archset.archs, archset.accuracy) if a not in leave_out][:size]
    swap = [setup.score(a, ["swap"])["swap"] for a, _ in rows]
    theta = [setup.size_k(a) for a, _ in rows]
    return np.array(swap), np.array(theta), np.array([acc for _, acc in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--network", default="teaching")
    parser.add_argument("--batch", type=int, default=64, help="the sidebar's default batch")
    parser.add_argument("--seeds", default="101,102,103")
    parser.add_argument("--size", type=int, default=300)
    args = parser.parse_args()
    dataset = args.dataset or get_space(args.space).datasets[0]
    leave_out = set(explorer.sample_architectures(get_space(args.space), 200, 0))  # the page's opening cells
    tables = [table(args.space, dataset, args.network, int(s), args.size, args.batch, leave_out)
              for s in args.seeds.split(",")]
    low, high, step = sr.mu_range(np.concatenate([t[1] for t in tables]))
    mus, sigmas = np.arange(low, high + step / 2, step), 10.0 ** np.array(sr.sigma_exponents(low, high))
    mu, sigma, rho = sr.tune_point(tables, mus, sigmas)
    plain = [sr.correlations(*t, mu, sigma)["swap"] for t in tables]
    tuned = [sr.correlations(*t, mu, sigma)["regularised"] for t in tables]
    print(f"{args.space}/{args.network}: μ = {mu:g}, σ = {sigma:.4g} (mean ρ {rho:.3f}); "
          f"per table plain {np.round(plain, 3)} → regularised {np.round(tuned, 3)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
