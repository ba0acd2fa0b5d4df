"""Issue 22's acceptance run: every NB201 cell scored with swap, naswot, synflow and params on
the teaching network through `--engine ray`, stopped once by SIGINT (as Ctrl-C) and resumed,
then checked: every cell of the space exactly once. Prints the two commands' closing lines
(rate, memory) and the check; writes a JSON summary next to the CSV.

    python scripts/ray_full_space.py --out results/ray/nb201_teaching.csv [--stop-after 240]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/ray/nb201_teaching.csv")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--proxies", default="swap,naswot,synflow,params")
    parser.add_argument("--stop-after", type=float, default=240.0, help="seconds before the SIGINT")
    parser.add_argument("--store", default=None, help="score store (default: a new file beside --out)")
    parser.add_argument("--extra", default="", help="more flags for score, e.g. '--workers 2'")
    args = parser.parse_args()
    out = Path(args.out)
    store = args.store or str(out.with_suffix(".store.sqlite"))
    command = [sys.executable, "-m", "swap_core", "score", "--space", args.space, "--network", "teaching", "--all",
               "--proxies", args.proxies, "--engine", "ray", "--threads", "1", "--out", str(out), "--store", store,
               *args.extra.split()]
    print("$ " + " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    # SIGINT as a terminal's Ctrl-C: to the whole process group, handled even when this script
    # itself was started in the background (where the shell ignores SIGINT for its children)
    first = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(args.stop_after)
    os.killpg(first.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _, err1 = first.communicate()
    stopped = time.perf_counter() - start
    print(f"interrupted run: exit {first.returncode} after {stopped:.0f} s")
    print("\n".join(err1.strip().splitlines()[-2:]), flush=True)
    start = time.perf_counter()
    second = subprocess.run([*command, "--resume"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    resumed = time.perf_counter() - start
    tail = [line for line in second.stderr.strip().splitlines() if not line.startswith("score:")][-6:]
    print(f"resumed run: exit {second.returncode} after {resumed:.0f} s")
    print("\n".join(tail), flush=True)
    with open(out, newline="") as handle:
        archs = [row["arch"] for row in csv.DictReader(handle)]
    sys.path.insert(0, str(ROOT))
    from swap_core.spaces import get_space

    space = get_space(args.space)
    every = {space.to_str(a) for a in space.enumerate()}
    once = len(archs) == len(set(archs)) == len(every) and set(archs) == every
    print(f"check: {len(archs)} rows, {len(set(archs))} distinct, space has {len(every)}: "
          f"{'every cell exactly once' if once else 'NOT every cell exactly once'}")
    summary = {"command": " ".join(command[1:]), "interrupted_after_s": round(stopped, 1),
               "interrupted_exit": first.returncode, "interrupted_lines": err1.strip().splitlines()[-2:],
               "resumed_s": round(resumed, 1), "resumed_exit": second.returncode, "resumed_lines": tail,
               "rows": len(archs), "distinct": len(set(archs)), "space": len(every), "every_cell_once": once}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if once and second.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
