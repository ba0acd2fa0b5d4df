#!/usr/bin/env bash
# The GPU check (issue 17): on a machine with a CUDA GPU, the speed benchmarks on CUDA beside
# the CPU (ratios printed), the consistency tests on both devices, and the pages' computations
# under AppTest with the sidebar's device on `auto` (= CUDA there). Exit 3 when no GPU is seen.
# Usage: SWAP_EXPLORER_DATA=../shared/data bash scripts/gpu_check.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-check}"
mkdir -p "$out"
python - <<'PY' || exit 3
import torch
if not torch.cuda.is_available():
    raise SystemExit("no CUDA GPU: nothing to check here")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
PY
status=0
run() { echo "\$ $*"; "$@" || status=1; echo; }
proxies=swap,reg_swap,naswot,synflow,snip,grasp,fisher,grad_norm,jacob_cov,zen
run python -m swap_core bench --device cuda --proxies "$proxies" --archs 3 --designer --live --json "$out/bench_cuda.json"
run python -m swap_core bench --device cpu --skip-swap --proxies "$proxies" --archs 3 --json "$out/bench_cpu.json"
run python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
cuda = {r["proxy"]: r["seconds"] for r in json.load(open(f"{out}/bench_cuda.json"))["proxies"]}
cpu = {r["proxy"]: r["seconds"] for r in json.load(open(f"{out}/bench_cpu.json"))["proxies"]}
print(f"{'proxy':<16} {'cpu s/arch':>10} {'cuda s/arch':>11} {'cpu/cuda':>9}")
for name in cuda:
    print(f"{name:<16} {cpu[name]:>10.3f} {cuda[name]:>11.3f} {cpu[name] / cuda[name]:>9.1f}")
PY
run python -m pytest -q tests/test_setup.py
run python -m pytest -q tests/test_app.py tests/test_app_activation.py tests/test_app_lab.py tests/test_app_search.py -x
exit $status
