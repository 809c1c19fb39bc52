#!/usr/bin/env bash
# The main job: quantize a model to FP8 and HiF8 and report what it cost.
#   scripts/demo.sh [MODEL_DIR [SCHEME...]]
# Without MODEL_DIR, a small synthetic bf16 Llama (hifp8 synth --config tiny) is made first.
# Outputs go to build/demo/<scheme>; each is validated with `hifp8 inspect --validate`, and the first
# is run with `hifp8 generate` on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
HIFP8=build/hifp8
DEMO=build/demo
model=${1:-}
shift $(( $# > 0 ? 1 : 0 ))
schemes=("$@")
[[ ${#schemes[@]} -gt 0 ]] || schemes=(fp8-dynamic hif8)
mkdir -p "$DEMO"
if [[ -z $model ]]; then
  model=$DEMO/synthetic-tiny
  echo "== hifp8 synth --config tiny --dtype bf16 --out $model"
  $HIFP8 synth --config tiny --dtype bf16 --out "$model" --force
fi
for scheme in "${schemes[@]}"; do
  echo
  echo "== hifp8 quantize $model $DEMO/$scheme --scheme $scheme"
  $HIFP8 quantize "$model" "$DEMO/$scheme" --scheme "$scheme" --force --report "$DEMO/$scheme.report.json"
  $HIFP8 inspect "$DEMO/$scheme" --validate | tail -n 1
done
if [[ ! -f $model/tokenizer.json && ! -f $model/tokenizer.model ]]; then
  echo
  echo "== hifp8 generate --model $DEMO/${schemes[0]} --tokens 1,2,3 --max-tokens 8 --print-ids (random weights: ids only)"
  $HIFP8 generate --model "$DEMO/${schemes[0]}" --tokens 1,2,3 --max-tokens 8 --print-ids --stats
else
  echo
  echo "== hifp8 generate --model $DEMO/${schemes[0]} --prompt 'Once upon a time' --max-tokens 32"
  $HIFP8 generate --model "$DEMO/${schemes[0]}" --prompt "Once upon a time" --max-tokens 32 --stats
fi
echo
echo "Reports: $DEMO/*.report.json; docs/quantize.md tells how to serve each output, docs/engine.md how to run it here."
