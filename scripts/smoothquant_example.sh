#!/usr/bin/env bash
# The SmoothQuant measurement of docs/evaluate.md, exactly as documented: pd-llama-15M quantized to
# int8-dynamic without and with SmoothQuant (alpha 0.5, calibrated on 16 x 256 tokens of Moby Dick),
# each run W8A8 (--act-quant dynamic) against the bf16 original on the first 16,000 bytes of
# Shakespeare. Prints one line per case: "<case>: mean KL <kl> top-1 <pct> %".
#   scripts/smoothquant_example.sh OUTDIR      (uses build/hifp8 and ../shared)
set -euo pipefail
OUT=$(realpath -m "${1:?usage: smoothquant_example.sh OUTDIR}")  # read against the caller's directory
cd "$(dirname "$0")/.."
SHARED=${HIFP8_SHARED_DIR:-../shared}
HIFP8=build/hifp8
MODEL=$SHARED/models/pd-llama-15M
mkdir -p "$OUT"
head -c 16000 "$SHARED/data/valid_shakespeare.txt" > "$OUT/shakespeare16k.txt"
json() { grep -o "\"$1\": [-0-9.e+]*" "$2" | head -1 | cut -d' ' -f2; }
measure() {  # case quantize-options...
  local name=$1
  shift
  echo "smoothquant_example: $name" >&2
  $HIFP8 quantize "$MODEL" "$OUT/$name" --scheme int8-dynamic "$@" --force --quiet >/dev/null
  $HIFP8 eval ppl --model "$OUT/$name" --baseline "$MODEL" --text "$OUT/shakespeare16k.txt" --act-quant dynamic \
    --json --quiet > "$OUT/$name.eval.json"
  printf '%s: mean KL %.2e top-1 %.2f %%\n' "$name" "$(json mean_kl "$OUT/$name.eval.json")" \
    "$(json top1_agreement_pct "$OUT/$name.eval.json")"
}
measure unsmoothed
measure smoothed --calib "$SHARED/data/valid_moby_dick.txt" --calib-samples 16 --seq-len 256 --smooth-alpha 0.5
