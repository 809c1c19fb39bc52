#!/usr/bin/env bash
# The main job on a real model: quantize it to FP8 and HiF8, show each summary, measure what the
# quantization cost against the original on real text (`hifp8 eval ppl --baseline`), and generate a
# short story from the original and from each quantized model.
#   scripts/demo.sh [MODEL_DIR [SCHEME...]]   default: ../shared/models/stories260K (Karpathy's llama2.c
#                                             TinyStories model), schemes fp8-dynamic and hif8
#   scripts/demo.sh --synthetic               a random-weight Llama from `hifp8 synth` instead (no text:
#                                             token ids in and out)
# Outputs go to build/demo/<scheme> (reports beside them); each is validated with `hifp8 inspect`.
# Relative MODEL_DIR paths are read against the directory the script was called from.
set -euo pipefail
here=$(pwd)
repo="$(cd "$(dirname "$0")/.." && pwd)"
HIFP8=$repo/build/hifp8
DEMO=$repo/build/demo
shared=$repo/../shared
synthetic=0 model=
if [[ ${1:-} == --synthetic ]]; then
  synthetic=1
  shift
elif [[ $# -gt 0 ]]; then
  model=$(cd "$here" && realpath "$1")
  shift
fi
schemes=("$@")
[[ ${#schemes[@]} -gt 0 ]] || schemes=(fp8-dynamic hif8)
mkdir -p "$DEMO"
if [[ $synthetic == 1 ]]; then
  model=$DEMO/synthetic-tiny
  echo "== hifp8 synth --config tiny --dtype bf16 --out $model"
  "$HIFP8" synth --config tiny --dtype bf16 --out "$model" --force
elif [[ -z $model ]]; then
  model=$shared/models/stories260K
  [[ -f $model/config.json ]] || { echo "demo.sh: $model is missing (../shared beside the repository)" >&2; exit 1; }
fi
for scheme in "${schemes[@]}"; do
  echo
  echo "== hifp8 quantize $model $DEMO/$scheme --scheme $scheme"
  "$HIFP8" quantize "$model" "$DEMO/$scheme" --scheme "$scheme" --force --report "$DEMO/$scheme.report.json"
  "$HIFP8" inspect "$DEMO/$scheme" --validate | tail -n 1
done

if [[ ! -f $model/tokenizer.json && ! -f $model/tokenizer.model ]]; then
  echo
  echo "== hifp8 generate --model $DEMO/${schemes[0]} --tokens 1,2,3 --max-tokens 8 --print-ids (random weights: ids only)"
  "$HIFP8" generate --model "$DEMO/${schemes[0]}" --tokens 1,2,3 --max-tokens 8 --print-ids --stats
  exit 0
fi

# What it cost: perplexity, KL and top-1 agreement against the original on 200 lines of text the
# model's domain suggests (TinyStories for stories260K, Moby-Dick otherwise).
text=$shared/data/valid_moby_dick.txt
[[ $model == *stories260K* ]] && text=$shared/data/tinystories_valid_dev.txt
if [[ -f $text ]]; then
  head -n 200 "$text" > "$DEMO/eval.txt"
  for scheme in "${schemes[@]}"; do
    echo
    echo "== hifp8 eval ppl --model $DEMO/$scheme --baseline $model --text $DEMO/eval.txt"
    "$HIFP8" eval ppl --model "$DEMO/$scheme" --baseline "$model" --text "$DEMO/eval.txt" --quiet
  done
fi

for m in "$model" "${schemes[@]/#/$DEMO/}"; do
  echo
  echo "== hifp8 generate --model $m --prompt 'Once upon a time' --max-tokens 48"
  "$HIFP8" generate --model "$m" --prompt "Once upon a time" --max-tokens 48
done
echo
echo "Reading the numbers: SQNR (quantize summary) is the weight signal-to-error ratio per tensor, higher"
echo "is better (8-bit formats give about 25-35 dB). delta_ppl and mean KL compare the quantized model's"
echo "predictions with the original's on the text (small is better), top-1 agreement how often both"
echo "pick the same next token. Reports: $DEMO/*.report.json. docs/quantize.md tells which engine loads"
echo "each output (vLLM, SGLang, transformers), docs/engine.md how to run it here, docs/serve.md how to serve it."
