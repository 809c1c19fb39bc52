#!/usr/bin/env bash
# Run through the device tool (its CPU, not its GPU): PyTorch's FP8 casts on one core next to
# `hifp8 bench kernels --threads 1` on the same machine, and hifp8's encoders checked bit for bit
# against PyTorch on 4M random float32 bit patterns. Needs device-data/ (hifp8 + libhwy.so.1) carried.
set -euo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export LD_LIBRARY_PATH=$PWD/device-data
lscpu | grep -E "Model name|^CPU\(s\)" | tee "$OUT/cpu.txt"
python3 scripts/device/torch_cpu_baseline.py "$WORK" | tee "$OUT/torch.txt"
cp "$WORK/torch_baseline.json" "$OUT/"
for pair in "fp8_e4m3fn:torch_e4m3fn.bin" "fp8_e5m2:torch_e5m2.bin"; do
  format=${pair%%:*}
  device-data/hifp8 encode --format "$format" --in "$WORK/xcheck.f32" --out "$WORK/ours.bin"
  if cmp -s "$WORK/ours.bin" "$WORK/${pair#*:}"; then
    echo "cross-check $format vs torch: identical on $(stat -c %s "$WORK/ours.bin") inputs" | tee -a "$OUT/xcheck.txt"
  else
    echo "cross-check $format vs torch: DIFFERENT ($(cmp -l "$WORK/ours.bin" "$WORK/${pair#*:}" | wc -l) bytes)" | tee -a "$OUT/xcheck.txt"
  fi
done
device-data/hifp8 bench kernels --threads 1 --runs 7 --json > "$OUT/hifp8_bench_1t.json"
device-data/hifp8 bench kernels --threads 1 --runs 7 2>/dev/null | tee "$OUT/hifp8_bench_1t.md"
