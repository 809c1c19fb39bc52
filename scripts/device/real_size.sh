#!/usr/bin/env bash
# Issue 16's end-to-end runs on the lent H200, with device-data/ carried (hifp8, lib/, tokenizers.tar.xz,
# shared/data/arc_easy_dev.jsonl). Work files live in the git-ignored device-work/ (kept while the
# machine stays warm); results are written to $OUT (or ./real-size-out).
#   real_size.sh llama-quantize   Llama-3-8B-shaped bf16 (Llama-3.1 tokenizer), quantize --calib on cuda
#                                 (128 x 2048 tokens) to fp8-dynamic and hif8
#   real_size.sh llama-eval       eval ppl (ctx 2048) / --baseline / mc / serve on cuda; transformers' ppl loop
#   real_size.sh moe LAYERS       Qwen3-30B-A3B-shaped with LAYERS of its 48 layers (disk), the same flow,
#                                 and decode throughput against transformers
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH=$PWD/device-data/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
H=$PWD/device-data/hifp8
W=$PWD/device-work
O=${OUT:-$PWD/real-size-out}
mkdir -p "$W" "$O"
log() { echo "== $(date +%T) $*" | tee -a "$O/log.txt"; }
timed() {  # timed NAME CMD...: runs CMD, appends its wall time to times.txt
  local name=$1; shift
  local t0=$(date +%s.%N)
  "$@"
  local rc=$?
  echo "$name $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s rc=$rc" | tee -a "$O/times.txt"
  return $rc
}
random_tokens() {  # random_tokens FILE LINES LENGTH VOCAB
  python3 -c "
import random, sys
r = random.Random(7)
with open('$1', 'w') as f:
    for _ in range($2): f.write(' '.join(str(r.randrange($4)) for _ in range($3)) + '\n')"
}
with_tokenizer() {  # with_tokenizer DIR FAMILY
  tar -C "$W" -xJf device-data/tokenizers.tar.xz "$2" && cp "$W/$2"/* "$1"/
}
quantize_flow() {  # quantize_flow DIR VOCAB
  local d=$1
  random_tokens "$W/calib.tokens" 128 2048 "$2"
  timed "$(basename "$d") quantize fp8-dynamic --calib 128x2048 cuda" \
    $H quantize "$d/bf16" "$d/fp8" --scheme fp8-dynamic --calib "$W/calib.tokens" --calib-samples 128 --seq-len 2048 \
    --device cuda --force --report "$O/$(basename "$d")-fp8-report.json" > "$O/$(basename "$d")-fp8-summary.md" 2> "$O/$(basename "$d")-fp8-progress.txt"
  tail -3 "$O/$(basename "$d")-fp8-progress.txt"
  timed "$(basename "$d") quantize hif8 --calib 16x2048 cuda" \
    $H quantize "$d/bf16" "$d/hif8" --scheme hif8 --calib "$W/calib.tokens" --calib-samples 16 --seq-len 2048 \
    --device cuda --force > "$O/$(basename "$d")-hif8-summary.md" 2> /dev/null
}
eval_flow() {  # eval_flow DIR VOCAB
  local d=$1 n=$(basename "$1")
  random_tokens "$W/eval.tokens" 32 2048 "$2"
  for m in bf16 fp8 hif8; do
    [[ -d $d/$m ]] || continue
    timed "$n eval ppl $m ctx 2048 cuda (65,504 scored tokens)" \
      $H eval ppl --model "$d/$m" --tokens-file "$W/eval.tokens" --ctx 2048 --stride 2048 --device cuda --json --quiet > "$O/$n-ppl-$m.json"
    cat "$O/$n-ppl-$m.json" | tr -d '\n' | head -c 400; echo
  done
  timed "$n eval ppl fp8 --baseline bf16 cuda" \
    $H eval ppl --model "$d/fp8" --baseline "$d/bf16" --tokens-file "$W/eval.tokens" --ctx 2048 --stride 2048 --device cuda \
    --json --quiet --threads 16 > "$O/$n-ppl-fp8-vs-bf16.json"
  tr -d '\n' < "$O/$n-ppl-fp8-vs-bf16.json"; echo
  timed "$n eval mc fp8 arc-easy cuda" \
    $H eval mc --model "$d/fp8" --tasks device-data/shared/data/arc_easy_dev.jsonl --device cuda --max-context 1024 > "$O/$n-mc-fp8.txt"
  cat "$O/$n-mc-fp8.txt"
  $H serve --model "$d/fp8" --device cuda --port 8931 --max-context 4096 > "$O/$n-serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do curl -sf localhost:8931/health > /dev/null && break; sleep 1; done
  curl -s localhost:8931/v1/completions -H 'Content-Type: application/json' \
    -d '{"model":"x","prompt":["The capital of France is","Once upon a time"],"max_tokens":8,"logprobs":2,"echo":true}' \
    > "$O/$n-serve-completion.json"
  curl -s localhost:8931/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"x","messages":[{"role":"user","content":"Hello"}],"max_tokens":8,"logprobs":true,"top_logprobs":2}' \
    > "$O/$n-serve-chat.json"
  kill -INT $pid; wait $pid
  head -c 600 "$O/$n-serve-completion.json"; echo; head -c 300 "$O/$n-serve-chat.json"; echo
}
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader | tee -a "$O/log.txt"
case ${1:?phase} in
  llama-quantize)
    D=$W/llama3-8b; mkdir -p "$D"
    log synth llama3-8b
    [[ -f $D/bf16/config.json ]] || timed "llama3-8b synth bf16" $H synth --config llama3-8b --out "$D/bf16" --force
    with_tokenizer "$D/bf16" llama3_1
    quantize_flow "$D" 128256
    ;;
  llama-eval)
    D=$W/llama3-8b
    eval_flow "$D" 128256
    timed "llama3-8b transformers ppl loop bf16" python3 bench/hf_ppl_baseline.py "$D/bf16" "$W/eval.tokens" --json "$O/llama3-8b-hf-ppl.json"
    ;;
  moe)
    rm -rf "$W/llama3-8b"
    D=$W/qwen3-30b-a3b; mkdir -p "$D"
    [[ -f $D/bf16/config.json ]] || timed "qwen3-30b-a3b synth bf16 ${2:?layers}" $H synth --config qwen3-30b-a3b --layers "$2" --out "$D/bf16" --force
    with_tokenizer "$D/bf16" qwen3
    quantize_flow "$D" 151643
    rm -rf "$D/hif8"
    for m in bf16 fp8; do
      timed "moe bench engine $m" $H bench engine --model "$D/$m" --batch 1,16 --prompt-tokens 2048 --decode-tokens 64 --json "$O/moe-engine-$m.jsonl"
    done
    timed "moe transformers bench bf16" python3 bench/hf_engine_baseline.py "$D/bf16" --prompt-tokens 2048 --batch 1,16 --tokens 16 --json "$O/moe-hf.jsonl"
    eval_flow "$D" 151643
    ;;
esac
