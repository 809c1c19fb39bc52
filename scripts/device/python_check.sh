#!/usr/bin/env bash
# On the lent GPU machine (device-data/ from prepare_python.sh carried): compile hifp8._core against
# that machine's Python and pybind11, run the Python suites (numpy, torch, cuda) with PyTorch there,
# the C++ CUDA tests, and the Python benchmarks. Logs and JSON go to OUT_DIR.
#   scripts/device/python_check.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-python-check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c 'import sys, torch, numpy; print(sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__)' | tee "$out/python.txt"
source scripts/device/build_python_module.sh

status=0
run_python_suites numpy torch cuda

echo "== C++ CUDA tests" >&2
device-data/bin/test_cuda --gtest_brief=1 > "$out/test_cuda.log" 2>&1 || { echo "test_cuda FAILED" >&2; status=1; }
tail -3 "$out/test_cuda.log"

echo "== Python benchmarks" >&2
python3 bench/python_bench.py --json "$out/python_bench.jsonl" | tee "$out/python_bench.txt"
exit $status
