#!/usr/bin/env bash
# CPU engine throughput on a synthetic ~124M-parameter Llama (hifp8 synth --config llama-100m):
# bf16 weights (the baseline, same run) against fp8-dynamic, int8-dynamic and hif8 weights
# (quantized with --include-lm-head). Per model: median over RUNS of prefill tok/s (PROMPT tokens)
# and decode tok/s at batch 1 (GEN tokens), from `hifp8 generate --stats`.
#   bench/engine_decode.sh [WORKDIR] [RUNS] [PROMPT] [GEN]
set -euo pipefail
WORK=$(realpath -m "${1:-/tmp/hifp8-engine-bench}")  # read against the caller's directory
cd "$(dirname "$0")/.."
RUNS=${2:-5}
PROMPT=${3:-128}
GEN=${4:-64}
HIFP8=build/hifp8
[[ -f $WORK/bf16/config.json ]] || $HIFP8 synth --config llama-100m --dtype bf16 --out "$WORK/bf16" --force >/dev/null
for s in fp8-dynamic int8-dynamic hif8; do
  [[ -f $WORK/$s/config.json ]] || $HIFP8 quantize "$WORK/bf16" "$WORK/$s" --scheme $s --include-lm-head --quiet >/dev/null
done
tokens=$(seq -s, 1 "$PROMPT")
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%-13s %12s %12s %10s\n' weights "prefill t/s" "decode t/s" "vs bf16"
base=""
for m in bf16 fp8-dynamic int8-dynamic hif8; do
  pre=() dec=()
  for ((i = 0; i < RUNS; i++)); do
    line=$($HIFP8 generate --model "$WORK/$m" --tokens "$tokens" --max-tokens "$GEN" --print-ids --stats 2>&1 >/dev/null | tail -1)
    pre+=("$(echo "$line" | sed -E 's/.*\(([0-9.]+) tok\/s\); generated.*/\1/')")
    dec+=("$(echo "$line" | sed -E 's/.*generated.*\(([0-9.]+) tok\/s\)$/\1/')")
  done
  p=$(printf '%s\n' "${pre[@]}" | median)
  d=$(printf '%s\n' "${dec[@]}" | median)
  [[ -n $base ]] || base=$d
  printf '%-13s %12.1f %12.1f %10.2f\n' "$m" "$p" "$d" "$(awk "BEGIN {print $d / $base}")"
done
