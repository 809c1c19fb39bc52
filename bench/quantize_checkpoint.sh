#!/usr/bin/env bash
# Checkpoint quantization throughput and peak memory on a synthetic multi-GB bf16 model.
#   bench/quantize_checkpoint.sh [WORKDIR] [RUNS] [SCHEMES...]
# Writes WORKDIR/model (llama3-8b shapes, 4 layers, 3.85 GB, largest tensor the 1.05 GB lm_head; made
# once), then per scheme RUNS times: the baseline `cp` of the same input file (read + write of the
# input bytes, in the same run) and `hifp8 quantize --include-lm-head`, so the 1 GB tensor is
# quantized too. Prints one line per scheme: median GB/s of input, median cp GB/s, ratio, peak RSS.
set -euo pipefail
WORK=$(realpath -m "${1:-/tmp/hifp8-bench}")  # read against the caller's directory
cd "$(dirname "$0")/.."
RUNS=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
SCHEMES=("$@")
[[ ${#SCHEMES[@]} -gt 0 ]] || SCHEMES=(fp8-dynamic hif8 fp8-block fp8-tensor int8-dynamic fake-hif8)
HIFP8=build/hifp8
mkdir -p "$WORK"
[[ -f $WORK/model/config.json ]] || $HIFP8 synth --config llama3-8b --layers 4 --dtype bf16 --out "$WORK/model" --force
input_bytes=$(stat -c %s "$WORK"/model/*.safetensors | awk '{s += $1} END {print s}')
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
calc() { awk "BEGIN {print $1}"; }

printf '%-13s %10s %10s %7s %14s\n' scheme "GB/s" "cp GB/s" ratio "peak RSS MB"
for scheme in "${SCHEMES[@]}"; do
  rates=() cps=() rss=()
  for ((i = 0; i < RUNS; i++)); do
    rm -rf "$WORK/cp" "$WORK/out"
    mkdir -p "$WORK/cp"
    t0=$(date +%s.%N)
    cp "$WORK"/model/*.safetensors "$WORK/cp/"
    t1=$(date +%s.%N)
    cps+=("$(calc "$input_bytes / ($t1 - $t0) / 1e9")")
    rm -rf "$WORK/cp"
    $HIFP8 quantize "$WORK/model" "$WORK/out" --scheme "$scheme" --include-lm-head --quiet \
      --report "$WORK/report.json" > /dev/null
    rates+=("$(grep -o '"input_gb_per_s": [0-9.e+-]*' "$WORK/report.json" | cut -d' ' -f2)")
    rss+=("$(grep -o '"peak_rss_bytes": [0-9]*' "$WORK/report.json" | cut -d' ' -f2)")
  done
  rate=$(printf '%s\n' "${rates[@]}" | median)
  cp_rate=$(printf '%s\n' "${cps[@]}" | median)
  peak=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
  printf '%-13s %10.2f %10.2f %7.2f %14.0f\n' "$scheme" "$rate" "$cp_rate" "$(calc "$rate / $cp_rate")" "$(calc "$peak / 1e6")"
done
rm -rf "$WORK/out" "$WORK/cp"
