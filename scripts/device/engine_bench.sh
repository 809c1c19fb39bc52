#!/usr/bin/env bash
# On the GPU machine, in one command: a Llama-3-8B-shaped synthetic checkpoint (bf16), its
# fp8-dynamic and hif8 quantizations, the GPU engine's prefill/decode throughput on each (`hifp8 bench
# engine`, bf16 and hif8 KV caches) and transformers bf16 on the same checkpoint as the peer.
#   scripts/device/engine_bench.sh HIFP8_BINARY [WORK_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:?usage: engine_bench.sh HIFP8_BINARY [WORK_DIR] [OUT_DIR]}
work=${2:-/tmp/hifp8-engine-bench}
out=${3:-engine-bench}
mkdir -p "$work" "$out"
[[ -f $work/bf16/config.json ]] || "$bin" synth --config llama3-8b --out "$work/bf16" --force
[[ -f $work/fp8/config.json ]] || "$bin" quantize "$work/bf16" "$work/fp8" --scheme fp8-dynamic --quiet > /dev/null
[[ -f $work/hif8/config.json ]] || "$bin" quantize "$work/bf16" "$work/hif8" --scheme hif8 --quiet > /dev/null
for m in bf16 fp8 hif8; do
  "$bin" bench engine --model "$work/$m" --json "$out/engine_$m.jsonl" | tee "$out/engine_$m.txt"
done
"$bin" bench engine --model "$work/hif8" --kv-cache-dtype hif8 --json "$out/engine_hif8_kvhif8.jsonl" | tee "$out/engine_hif8_kvhif8.txt"
if python3 -c 'import transformers' 2>/dev/null; then
  python3 bench/hf_engine_baseline.py "$work/bf16" --json "$out/hf.jsonl" | tee "$out/hf.txt"
fi
