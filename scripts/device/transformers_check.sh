#!/usr/bin/env bash
# On the lent GPU machine (carry device-data/pack.tar.xz from prepare_transformers.sh): hif8
# checkpoints in transformers (issue 19). Stages, each logged to OUT_DIR, chosen by STAGES (default all):
#   tests  the transformers Python suite (and the torch and cuda suites the operator shares code with)
#   qat    QAT from pd-llama-15M's hif8 checkpoint (scripts/device/hif8_qat.py), then hifp8 eval ppl of
#          the PTQ and QAT checkpoints against bf16 on the held-out text, and inspect --validate
#   big    a Llama-3-8B-shaped synthetic checkpoint and its hif8 quantization through
#          bench/transformers_hif8.py on one GPU, and with device_map=auto when the machine has two
#   scripts/device/transformers_check.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-transformers-check}
stages=${STAGES:-tests qat big}
mkdir -p "$out"
[[ -d device-data/bin ]] || tar xJf device-data/pack.tar.xz -C device-data
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
source scripts/device/build_python_module.sh
python3 -c "import transformers.quantizers.base as b; print(\"HfQuantizer abstract:\", sorted(b.HfQuantizer.__abstractmethods__))" | tee "$out/hf_api.txt"
python3 -c 'import sys, torch, transformers, accelerate; print(sys.version.split()[0], "torch", torch.__version__,
"transformers", transformers.__version__, "accelerate", accelerate.__version__)' | tee "$out/python.txt"
bin=$HIFP8_CLI
shared=$HIFP8_SHARED_DIR
work=/tmp/hifp8-transformers
mkdir -p "$work"
status=0

[[ " $stages " == *" tests "* ]] && run_python_suites transformers torch cuda

if [[ " $stages " == *" qat "* ]]; then
  echo "== QAT on pd-llama-15M" >&2
  original=$shared/models/pd-llama-15M
  [[ -f $work/ptq/config.json ]] || "$bin" quantize "$original" "$work/ptq" --scheme hif8 --quiet
  cat "$shared"/data/corpus/*.txt > "$work/train.txt"
  cat "$shared"/data/valid_*.txt > "$work/valid.txt"
  "$bin" tokenize --model "$original" --file "$work/train.txt" --ids-only > "$work/train.ids"
  "$bin" eval ppl --model "$work/ptq" --baseline "$original" --text "$work/valid.txt" --device cuda --json --quiet \
    > "$out/ppl_ptq.json" 2> "$out/ppl_ptq.log" || status=1
  echo "ptq: $(cat "$out/ppl_ptq.json")"
  for lr in ${QAT_LRS:-2e-5 5e-5 1e-4}; do
    rm -rf "$work/qat"
    python3 scripts/device/hif8_qat.py "$original" "$work/ptq" "$work/qat" "$work/train.ids" --lr "$lr" ${QAT_ARGS:-} \
      > "$out/qat_$lr.json" 2> "$out/qat_$lr.log" || { echo "QAT failed" >&2; tail -20 "$out/qat_$lr.log"; status=1; }
    cat "$out/qat_$lr.json"
    "$bin" inspect "$work/qat" --validate > "$out/qat_validate_$lr.txt" 2>&1 ||
      { echo "inspect --validate refused the QAT checkpoint" >&2; status=1; }
    tail -1 "$out/qat_validate_$lr.txt"
    "$bin" eval ppl --model "$work/qat" --baseline "$original" --text "$work/valid.txt" --device cuda --json --quiet \
      > "$out/ppl_qat_$lr.json" 2> "$out/ppl_qat_$lr.log" || status=1
    echo "qat lr $lr: $(cat "$out/ppl_qat_$lr.json")"
  done
fi

if [[ " $stages " == *" big "* ]]; then
  echo "== Llama-3-8B shape" >&2
  [[ -f $work/bf16/config.json ]] || "$bin" synth --config llama3-8b --out "$work/bf16" --force > /dev/null
  [[ -f $work/hif8/config.json ]] || "$bin" quantize "$work/bf16" "$work/hif8" --scheme hif8 --quiet > /dev/null
  python3 bench/transformers_hif8.py --device-map cuda:0 "$work/bf16" "$work/hif8" ${BENCH_ARGS:-} \
    --json "$out/bench_1gpu.jsonl" 2> "$out/bench_1gpu.log" || { tail -20 "$out/bench_1gpu.log"; status=1; }
  if [[ $(nvidia-smi -L | wc -l) -ge 2 ]]; then
    python3 bench/transformers_hif8.py --device-map auto "$work/bf16" "$work/hif8" ${BENCH_ARGS:-} \
      --json "$out/bench_2gpu.jsonl" 2> "$out/bench_2gpu.log" || { tail -20 "$out/bench_2gpu.log"; status=1; }
  fi
fi
exit $status
