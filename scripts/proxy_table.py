"""The README's proxy table: Spearman ρ of every proxy with accuracy on every
NAS-Bench-Suite-Zero file, ours beside the published figure, and seconds per architecture.

For each file it scores the first `--limit` rows with each group of `--proxies` that has no
column yet (one `python -m swap_core score` run per group and file, each proxy at its own
default batch unless `--batch-size` is given, so a group's `seconds` is its own cost), keeps
those scores in `--out/<file>.<group>.csv` (a rerun scores nothing twice), and merges them
with the scores already committed in `results/suite_zero/` (`--committed`). Then, per file
and proxy, over the rows that proxy has a score for: n and Spearman ρ with `val_accuracy`;
the ensembles whose members were all scored (AZ-NAS's, the majority vote); the published ρ
(`swap_core.published`) or NAS-Bench-Suite-Zero's own ρ of that proxy's column on the same
rows; and the mean seconds per architecture on this machine (only for groups scored here).

    SWAP_EXPLORER_DATA=../shared/data python scripts/proxy_table.py --limit 100 --jobs 2 --out runs/table
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite_zero_table import FILES, run  # noqa: E402

from swap_core import benchmarks, lab  # noqa: E402
from swap_core.ensembles import get_ensemble, list_ensembles  # noqa: E402
from swap_core.proxies import list_proxies  # noqa: E402
from swap_core.published import published  # noqa: E402
from swap_core.stats import rank_correlation  # noqa: E402

COMMITTED = Path(__file__).resolve().parents[1] / "results" / "suite_zero"
NEW = "az_expressivity+az_progressivity+az_trainability+az_complexity,meco+meco_opt,zico,near,dextr"


def groups(spec: str) -> list[tuple[list[str], int | None]]:
    """"a+b,c@128" → [([a, b], None), ([c], 128)]: proxies joined by + are scored in one run
    (shared passes); @N scores that group at batch N instead of each proxy's own."""
    found = []
    for token in filter(None, spec.split(",")):
        names, _, batch = token.partition("@")
        found.append((names.split("+"), int(batch) if batch else None))
    return found


def score_group(name: str, group: list[str], batch: int | None, archs: list[str], args: argparse.Namespace,
                env: dict) -> pd.DataFrame:
    space, dataset = FILES[name]
    batch = batch or args.batch_size
    out = Path(args.out) / f"{name}.{'+'.join(group)}{f'@{batch}' if batch else ''}.csv"
    if not out.exists():
        arch_file = Path(args.out) / f"{name}.archs.txt"
        arch_file.write_text("\n".join(archs) + "\n")
        partial = out.with_suffix(".partial.csv")  # kept if interrupted: a rerun resumes it
        cmd = [sys.executable, "-m", "swap_core", "score", "--space", space, "--dataset", dataset,
               "--network", "benchmark", "--archs", str(arch_file), "--proxies", ",".join(group),
               "--seed", str(args.seed), "--device", args.device, "--threads", "1", "--out", str(partial), "--resume"]
        if batch:
            cmd += ["--batch-size", str(batch)]
        run(cmd, env)
        partial.rename(out)
        Path(f"{partial}.settings.json").rename(f"{out}.settings.json")
    return pd.read_csv(out)


def table_for(name: str, args: argparse.Namespace, env: dict) -> tuple[pd.DataFrame, dict[str, float]]:
    """Scores of the first --limit rows of zc file `name` (committed + new) and seconds per
    architecture of each proxy scored here."""
    zc = benchmarks.read_table(benchmarks.resolve_file(f"zc/{name}.csv"))
    archs = zc["arch"].tolist()[: args.limit]
    scores = lab.committed_scores((Path(args.committed),)).get(f"zc/{name}.csv", pd.DataFrame(columns=["arch"]))
    scores = pd.DataFrame({"arch": archs}).merge(scores, on="arch", how="left")
    seconds = {}
    for group, batch in groups(args.proxies):
        if all(p in scores.columns and scores[p].notna().any() for p in group):
            continue
        batch_tag = f"@{batch or args.batch_size}" if (batch or args.batch_size) else ""
        if args.offline and not (Path(args.out) / f"{name}.{'+'.join(group)}{batch_tag}.csv").exists():
            continue
        new = score_group(name, group, batch, archs, args, env)
        scores = scores.drop(columns=[p for p in group if p in scores.columns]).merge(
            new[["arch", *group]], on="arch", how="left")
        for p in group:
            seconds[p] = float(new["seconds"].mean())
    return scores, seconds


def correlations(name: str, scores: pd.DataFrame, seconds: dict[str, float]) -> pd.DataFrame:
    truth = benchmarks.truth_table(f"zc/{name}.csv:val_accuracy")
    accuracy = [truth.get(a, math.nan) for a in scores["arch"]]
    proxies = [c for c in scores.columns if c in list_proxies()]
    ensembles = [e for e in list_ensembles() if set(get_ensemble(e).default_members) <= set(proxies)]
    complete = scores.dropna(subset=sorted({m for e in ensembles for m in get_ensemble(e).default_members}))
    combined = lab.with_ensembles(complete, ensembles)
    reference = lab.reference_values(benchmarks.read_table(benchmarks.resolve_file(f"zc/{name}.csv")),
                                     scores["arch"].tolist(), proxies)
    rows = []
    for column in [*proxies, *ensembles]:
        values, truths = ((combined[column], [truth.get(a, math.nan) for a in combined["arch"]])
                          if column in ensembles else (scores[column], accuracy))
        ours = rank_correlation(values.astype(float).tolist(), truths)
        paper = published(column, name)
        theirs = (paper.spearman if paper else
                  rank_correlation(reference[column], accuracy)["spearman"] if column in reference else math.nan)
        rows.append({"file": name, "proxy": column, "n": ours["n"], "spearman": ours["spearman"],
                     "published": theirs, "published_by": paper.source if paper else
                     ("NAS-Bench-Suite-Zero" if column in reference else ""),
                     "seconds_per_arch": seconds.get(column, math.nan)})
    return pd.DataFrame(rows)


SHORT = {"nb201_cifar10": "NB201 C10", "nb201_cifar100": "NB201 C100", "nb201_imagenet16-120": "NB201 IN16",
         "nb301_cifar10": "NB301 C10", "nb101_cifar10": "NB101 C10"}


def short(name: str) -> str:
    return SHORT.get(name, name.removeprefix("tnb101_micro_").removeprefix("tnb101_macro_"))


def markdown(records: pd.DataFrame, files: list[str], title: str) -> str:
    """Rows: proxies; columns: `files`; a cell "ours (published)" and, after the files, n (the
    rows scored) and seconds per architecture on the first file of the table where a proxy was
    scored here."""
    files = [f for f in files if f in set(records["file"])]
    if not files:
        return ""
    part = records[records["file"].isin(files)]
    header = [short(f) for f in files]
    lines = [f"**{title}** (n = {', '.join(sorted({str(int(n)) for n in part['n'] if n}, key=int))} rows)", "",
             "| proxy | " + " | ".join(header) + f" | s / arch ({header[0]}) |",
             "|---|" + "---:|" * (len(files) + 1)]
    for proxy in dict.fromkeys(part["proxy"]):
        cells = []
        for name in files:
            hit = part[(part["file"] == name) & (part["proxy"] == proxy)]
            if hit.empty or not math.isfinite(hit["spearman"].iloc[0]):
                cells.append("–")
                continue
            r = hit.iloc[0]
            cells.append(f"{r['spearman']:.2f}" + (f" ({r['published']:.2f})" if math.isfinite(r["published"]) else ""))
        first = part[(part["file"] == files[0]) & (part["proxy"] == proxy)]["seconds_per_arch"].dropna()
        cells.append(f"{first.iloc[0]:.2f}" if len(first) else "–")
        if any(c != "–" for c in cells):
            lines.append(f"| {proxy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


GROUPS = (("Image classification", ("nb201_cifar10", "nb201_cifar100", "nb201_imagenet16-120", "nb301_cifar10",
                                    "nb101_cifar10")),
          ("TransNAS-Bench-101 micro", tuple(f for f in FILES if f.startswith("tnb101_micro_"))),
          ("TransNAS-Bench-101 macro", tuple(f for f in FILES if f.startswith("tnb101_macro_"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", default=",".join(FILES), help=f"comma list of {', '.join(FILES)}")
    parser.add_argument("--proxies", default=NEW, help="groups to score where no column exists: a+b,c")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rows of each file")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each proxy's own")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--committed", default=str(COMMITTED))
    parser.add_argument("--out", default="proxy_table")
    parser.add_argument("--offline", action="store_true", help="score nothing: use the score files already in --out")
    args = parser.parse_args()
    if "SWAP_EXPLORER_DATA" not in os.environ:
        raise SystemExit("set SWAP_EXPLORER_DATA to the data directory")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    records = []
    for name in args.files.split(","):
        scores, seconds = table_for(name, args, env)
        records.append(correlations(name, scores, seconds))
        print(f"{name}: {len(scores)} rows", file=sys.stderr, flush=True)
    table = pd.concat(records, ignore_index=True)
    table.to_csv(Path(args.out) / "proxy_table.csv", index=False)
    print("\n\n".join(filter(None, (markdown(table, list(files), title) for title, files in GROUPS))))


if __name__ == "__main__":
    main()
