#!/usr/bin/env bash
# The CUDA check in one command: build (unless HIFP8_PREBUILT names a folder of ready binaries, as on
# the lent GPU machine, which lacks the Debian packages), run the CUDA tests, the CUDA benchmarks and
# the PyTorch baselines in the same run, and print a short table. Logs and JSON go to OUT_DIR.
#   scripts/device-check.sh [OUT_DIR] [BENCH...]     (BENCH: formats gemv gemm engine; default all)
set -euo pipefail
out=$(realpath -m "${1:-device-check}")  # read against the caller's directory
cd "$(dirname "$0")/.."
shift || true
benches=("${@:-all}")
if [[ -n ${HIFP8_PREBUILT:-} ]]; then
  bin=$HIFP8_PREBUILT
else
  scripts/build.sh >&2
  bin=build
fi
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,memory.total --format=csv | tee "$out/gpu.txt"
echo "== CUDA tests" >&2
tests_ok=0
"$bin/test_cuda" --gtest_brief=1 > "$out/test_cuda.log" 2>&1 || tests_ok=$?
tail -5 "$out/test_cuda.log"
for b in "${benches[@]}"; do
  case $b in
    all) "$bin/cuda_bench" --json "$out/cuda_bench.jsonl" | tee "$out/cuda_bench.txt" ;;
    formats|gemv|gemm) "$bin/cuda_bench" "$b" --json "$out/cuda_bench_$b.jsonl" | tee "$out/cuda_bench_$b.txt" ;;
    torch) ;;
    *) echo "unknown benchmark $b" >&2; exit 2 ;;
  esac
done
if python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch baselines (same machine, same run)" >&2
  python3 bench/torch_baselines.py --json "$out/torch.jsonl" | tee "$out/torch.txt"
else
  echo "== PyTorch not installed: no baselines from it" >&2
fi
[[ $tests_ok == 0 ]] || { echo "CUDA tests FAILED (see $out/test_cuda.log)" >&2; exit 1; }
