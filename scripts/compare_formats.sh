#!/usr/bin/env bash
# Quantizes MODEL with each scheme and measures every output against the original on TEXT:
# perplexity, delta-ppl, mean KL, top-1 agreement (hifp8 eval ppl --baseline) and the mean weight
# SQNR from the quantize report. Prints a markdown table; JSON per scheme lands in OUTDIR.
#   scripts/compare_formats.sh MODEL_DIR TEXT_FILE OUTDIR [SCHEME...]
set -euo pipefail
# Paths are read against the caller's directory.
MODEL=$(realpath -m "${1:?usage: compare_formats.sh MODEL_DIR TEXT_FILE OUTDIR [SCHEME...]}")
TEXT=$(realpath -m "${2:?text file}")
OUT=$(realpath -m "${3:?output dir}")
cd "$(dirname "$0")/.."
shift 3
SCHEMES=("$@")
[[ ${#SCHEMES[@]} -gt 0 ]] || SCHEMES=(fp8-dynamic fp8-tensor fp8-block int8-dynamic hif8 fake-hif8 fake-fp8 fake-int8)
HIFP8=build/hifp8
mkdir -p "$OUT"
json() { grep -o "\"$1\": [-0-9.e+]*" "$2" | head -1 | cut -d' ' -f2; }
printf '| scheme | ppl | delta ppl | mean KL | top-1 agreement | weight SQNR (mean dB) |\n|---|---:|---:|---:|---:|---:|\n'
for s in "${SCHEMES[@]}"; do
  echo "compare: $s" >&2
  $HIFP8 quantize "$MODEL" "$OUT/$s" --scheme "$s" --force --quiet --report "$OUT/$s.quantize.json" >/dev/null
  $HIFP8 eval ppl --model "$OUT/$s" --baseline "$MODEL" --text "$TEXT" --json --quiet > "$OUT/$s.eval.json"
  sqnr=$(awk '/"sqnr_db"/ {gsub(/[,]/, "", $2); if ($2 != "null") {s += $2; n++}} END {printf "%.2f", s / n}' "$OUT/$s.quantize.json")
  printf '| %s | %.4f | %+.4f | %.6f | %.2f %% | %s |\n' "$s" "$(json ppl "$OUT/$s.eval.json")" \
    "$(json delta_ppl "$OUT/$s.eval.json")" "$(json mean_kl "$OUT/$s.eval.json")" \
    "$(json top1_agreement_pct "$OUT/$s.eval.json")" "$sqnr"
  rm -rf "${OUT:?}/$s"
done
printf '\nbaseline ppl %s on %s tokens of %s\n' "$(json baseline_ppl "$OUT/${SCHEMES[0]}.eval.json")" \
  "$(json tokens "$OUT/${SCHEMES[0]}.eval.json")" "$TEXT"
