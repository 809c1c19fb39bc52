#!/usr/bin/env bash
# The main job for now: the format table, then a few values through HiF8 and FP8 and back.
set -euo pipefail
cd "$(dirname "$0")/.."
HIFP8=build/hifp8
echo "== hifp8 formats"
$HIFP8 formats
# float32 little-endian: 1.0, 0.3, -2.5, 1000, 40960, 1e-6, NaN
values=(3f800000 3e99999a c0200000 447a0000 47200000 358637bd 7fc00000)
f32() { for b in "$@"; do printf "\\x${b:6:2}\\x${b:4:2}\\x${b:2:2}\\x${b:0:2}"; done; }
echo
echo "== encode 1.0 0.3 -2.5 1000 40960 1e-6 NaN, then decode"
for format in hif8 fp8_e4m3fn fp8_e5m2; do
  codes=$(f32 "${values[@]}" | $HIFP8 encode --format $format | od -An -v -tx1 | tr -s ' \n' ' ')
  back=$(f32 "${values[@]}" | $HIFP8 encode --format $format | $HIFP8 decode --format $format | od -An -v -tf4 | tr -s ' \n' ' ')
  printf '%-11s codes:%s\n%-11s values:%s\n' "$format" "$codes" "" "$back"
done
