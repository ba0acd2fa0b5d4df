"""Score NAS-Bench-Suite-Zero's tables with every proxy and build the comparison table.

For each zc file (NB201 CIFAR-10 / CIFAR-100 / ImageNet16-120, NB301 CIFAR-10 by default)
this runs `python -m swap_core score` on all its architectures (split into `--jobs`
parallel chunks; with `--engine ray`, one `score --engine ray` per file, whose tasks the Ray
cluster runs in parallel, and `--resume` continues its scores file), then
`python -m swap_core correlate --reference` on the merged scores, and prints one markdown
table: per proxy, Spearman ρ with the file's validation accuracy, ours beside
NAS-Bench-Suite-Zero's own, and ρ between our scores and the reference column.

    SWAP_EXPLORER_DATA=../shared/data python scripts/suite_zero_table.py --batch-size 64 --out runs/
    SWAP_EXPLORER_DATA=../shared/data python scripts/suite_zero_table.py --engine ray --ray-address HOST:6379
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FILES = {
    "nb201_cifar10": ("nb201", "cifar10"),
    "nb201_cifar100": ("nb201", "cifar100"),
    "nb201_imagenet16-120": ("nb201", "imagenet16-120"),
    "nb301_cifar10": ("darts", "cifar10"),
    "nb101_cifar10": ("nb101", "cifar10"),
    **{f"tnb101_{kind}_{task}": (f"tnb101_{kind}", task) for kind in ("micro", "macro")
       for task in ("class_scene", "class_object", "jigsaw", "room_layout", "segmentsemantic", "normal", "autoencoder")},
}
DEFAULT_FILES = ("nb201_cifar10", "nb201_cifar100", "nb201_imagenet16-120", "nb301_cifar10")


def run(cmd: list[str], env: dict, capture: bool = True) -> None:
    """`capture`: keep the command's stderr unless it fails (parallel jobs would mix their bars)."""
    done = subprocess.run(cmd, env=env, stderr=subprocess.PIPE if capture else None, text=True)
    if done.returncode not in (0, 1):  # 1: some scores undefined (left empty) or cells lost, reported in stderr
        sys.stderr.write((done.stderr or "")[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")


def score_command(space: str, dataset: str, arch_file: Path, out: Path, args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "swap_core", "score", "--space", space, "--dataset", dataset,
            "--network", "benchmark", "--archs", str(arch_file), "--proxies", args.proxies,
            "--batch-size", str(args.batch_size), "--seed", str(args.seed), "--device", args.device,
            "--out", str(out)]


def score_file_on_ray(name: str, archs: list[str], args: argparse.Namespace, out: Path, env: dict) -> Path:
    """One `score --engine ray` over the whole file: the cluster runs its chunks in parallel."""
    space, dataset = FILES[name]
    arch_file, merged = out / f"{name}.archs.txt", out / f"{name}.scores.csv"
    arch_file.write_text("\n".join(archs) + "\n")
    cmd = score_command(space, dataset, arch_file, merged, args) + ["--engine", "ray"]
    for flag, value in (("--ray-address", args.ray_address), ("--workers", args.workers), ("--threads", args.threads)):
        cmd += [flag, str(value)] if value else []
    run(cmd + (["--resume"] if args.resume and merged.exists() else []), env, capture=False)
    arch_file.unlink()
    return merged


def score_file(name: str, args: argparse.Namespace, out: Path, env: dict) -> Path:
    space, dataset = FILES[name]
    data_dir = Path(env["SWAP_EXPLORER_DATA"])
    with open(data_dir / "zc" / f"{name}.csv", newline="") as handle:
        archs = [row["arch"] for row in csv.DictReader(handle)]
    if args.limit:
        archs = archs[: args.limit]
    if args.engine == "ray":
        return score_file_on_ray(name, archs, args, out, env)
    chunks = [archs[i:: args.jobs] for i in range(args.jobs)]
    parts = []
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = []
        for i, chunk in enumerate(chunks):
            arch_file = out / f"{name}.archs{i}.txt"
            arch_file.write_text("\n".join(chunk) + "\n")
            part = out / f"{name}.part{i}.csv"
            parts.append(part)
            futures.append(pool.submit(run, score_command(space, dataset, arch_file, part, args), env))
        for future in futures:
            future.result()
    merged = out / f"{name}.scores.csv"
    with open(merged, "w", newline="") as handle:
        writer = None
        for part in parts:
            with open(part, newline="") as p:
                reader = csv.DictReader(p)
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=reader.fieldnames)
                    writer.writeheader()
                writer.writerows(reader)
            part.unlink()
            Path(str(part).replace(".part", ".archs").replace(".csv", ".txt")).unlink()
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", default=",".join(DEFAULT_FILES), help=f"comma list of {', '.join(FILES)}")
    parser.add_argument("--proxies", default="all")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="parallel score processes (--engine local)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per job or Ray task")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: --jobs score processes here (default); ray: one score --engine ray per file")
    parser.add_argument("--ray-address", default=None, help="with --engine ray (default: $RAY_ADDRESS, else a "
                        "Ray instance started here)")
    parser.add_argument("--workers", type=int, default=None, help="Ray tasks at once (default: the cluster's CPUs)")
    parser.add_argument("--resume", action="store_true", help="with --engine ray: continue each file's scores.csv")
    parser.add_argument("--limit", type=int, default=None, help="only the first N architectures of each file")
    parser.add_argument("--out", default="suite_zero")
    args = parser.parse_args()
    if args.engine == "ray" and args.jobs != 1:
        print("note: --jobs is ignored with --engine ray (the cluster runs the chunks in parallel; see --workers)",
              file=sys.stderr)
    if args.engine == "local" and (args.ray_address or args.workers or args.resume):
        parser.error("--ray-address, --workers and --resume need --engine ray")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if "SWAP_EXPLORER_DATA" not in env:
        raise SystemExit("set SWAP_EXPLORER_DATA to the data directory")
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    tables = {}
    for name in args.files.split(","):
        scores = score_file(name, args, out, env)
        table = out / f"{name}.correlation.csv"
        cmd = [sys.executable, "-m", "swap_core", "correlate", "--scores", str(scores),
               "--truth", f"zc/{name}.csv:val_accuracy", "--reference", f"zc/{name}.csv",
               "--out", str(table)]
        if args.proxies == "all":  # the ensembles need their members' columns
            cmd += ["--ensemble", "vote", "--ensemble", "rank_average"]
        subprocess.run(cmd, env=env, check=True)
        with open(table, newline="") as handle:
            tables[name] = {r["proxy"]: r for r in csv.DictReader(handle)}
    names = list(dict.fromkeys(p for t in tables.values() for p in t))

    def cell(record: dict | None, key: str) -> str:
        value = (record or {}).get(key, "")
        try:
            return f"{float(value):.3f}"
        except ValueError:
            return "–"

    header = "| proxy | " + " | ".join(f"{n} ours | {n} NASLib | {n} ours~ref" for n in tables) + " |"
    print(header)
    print("|" + "---|" * (1 + 3 * len(tables)))
    for proxy in names:
        cells = []
        for t in tables.values():
            r = t.get(proxy)
            cells += [cell(r, "spearman"), cell(r, "reference_spearman"), cell(r, "rho_vs_reference")]
        print(f"| {proxy} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
