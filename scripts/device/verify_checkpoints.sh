#!/usr/bin/env bash
# Run through the device tool with device-data/ carried, holding hifp8 + libhwy.so.1 (built here),
# pd-llama-15M and hif8_decode.tsv (scripts/device/prepare.sh puts them there). Quantizes the model with
# every scheme on that machine, then checks each output with safetensors + PyTorch + transformers.
set -euo pipefail
OUT=${OUT:-/tmp/out}
WORK=$(mktemp -d)
export LD_LIBRARY_PATH=$PWD/device-data PYTHONUNBUFFERED=1
for scheme in fp8-dynamic fp8-tensor fp8-block int8-dynamic hif8 fake-hif8 fake-fp8 fake-int8; do
  device-data/hifp8 quantize device-data/pd-llama-15M "$WORK/out/$scheme" --scheme "$scheme" --quiet \
    --report "$WORK/report-$scheme.json" >/dev/null
done
python3 scripts/device/verify_checkpoints.py device-data/pd-llama-15M "$WORK/out" device-data/hif8_decode.tsv \
  2>&1 | tee "$OUT/verify.txt"
cp "$WORK/out/verify.json" "$OUT/"
