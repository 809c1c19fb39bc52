#!/usr/bin/env bash
# Issue 16's end-to-end runs on the lent H200, with device-data/ carried (hifp8, lib/, tokenizers.tar.xz,
# shared/data/arc_easy_dev.jsonl). Work files live in the git-ignored device-work/; results are written
# to $OUT (or ./real-size-out) as they come, most important first (a call may run out of time).
#   real_size.sh llama        Llama-3-8B-shaped bf16 (Llama-3.1 tokenizer): quantize --calib on cuda
#                             (128 x 2048 tokens) to fp8-dynamic, eval ppl (ctx 2048) against transformers'
#                             loop, --baseline, mc, serve on cuda; then hif8
#   real_size.sh moe LAYERS   Qwen3-30B-A3B-shaped with LAYERS of its 48 layers (the disk holds no more):
#                             decode throughput against transformers, then the same flow
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
quantize_fp8() {  # quantize_fp8 DIR VOCAB SEQUENCES: fp8-dynamic with activation and KV statistics from SEQUENCES x 2048 tokens
  local d=$1 n=$(basename "$1")
  random_tokens "$W/calib.tokens" "$3" 2048 "$2"
  timed "$n quantize fp8-dynamic --calib $3x2048 cuda" \
    $H quantize "$d/bf16" "$d/fp8" --scheme fp8-dynamic --calib "$W/calib.tokens" --calib-samples "$3" --seq-len 2048 \
    --device cuda --force --report "$O/$n-fp8-report.json" > "$O/$n-fp8-summary.md" 2> "$O/$n-fp8-progress.txt"
  tr '\r' '\n' < "$O/$n-fp8-progress.txt" | grep -a calibrate | tail -1
}
ppl() {  # ppl DIR MODEL TAG [ARGS]: eval ppl on 32 documents of 2048 random tokens, windows of 2048
  local d=$1 n=$(basename "$1") m=$2 tag=$3; shift 3
  [[ -f $W/eval.tokens ]] || random_tokens "$W/eval.tokens" 32 2048 "$(python3 -c "import json; print(json.load(open('$d/bf16/config.json'))['vocab_size'] - 300)")"
  timed "$n eval ppl $tag ctx 2048 cuda" \
    $H eval ppl --model "$d/$m" --tokens-file "$W/eval.tokens" --ctx 2048 --stride 2048 --device cuda --json --quiet "$@" > "$O/$n-ppl-$tag.json"
  tr -d '\n' < "$O/$n-ppl-$tag.json" | head -c 500; echo
}
mc_and_serve() {  # mc_and_serve DIR: eval mc and serve on the fp8 model
  local d=$1 n=$(basename "$1")
  timed "$n eval mc fp8 arc-easy cuda" \
    $H eval mc --model "$d/fp8" --tasks device-data/shared/data/arc_easy_dev.jsonl --device cuda --max-context 1024 > "$O/$n-mc-fp8.txt"
  cat "$O/$n-mc-fp8.txt"
  $H serve --model "$d/fp8" --device cuda --port 8931 --max-context 4096 --served-model-name x > "$O/$n-serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 180); do curl -sf localhost:8931/health > /dev/null && break; sleep 1; done
  curl -s localhost:8931/v1/completions -H 'Content-Type: application/json' \
    -d '{"model":"x","prompt":["The capital of France is","Once upon a time"],"max_tokens":8,"logprobs":2,"echo":true}' \
    > "$O/$n-serve-completion.json"
  curl -s localhost:8931/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"x","messages":[{"role":"user","content":"Hello"}],"max_tokens":8,"logprobs":true,"top_logprobs":2}' \
    > "$O/$n-serve-chat.json"
  kill -INT $pid; wait $pid
  head -c 400 "$O/$n-serve-completion.json"; echo; head -c 300 "$O/$n-serve-chat.json"; echo
}
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader | tee -a "$O/log.txt"
case ${1:?phase} in
  llama)
    D=$W/llama3-8b; mkdir -p "$D"
    [[ -f $D/bf16/config.json ]] || timed "llama3-8b synth bf16" $H synth --config llama3-8b --out "$D/bf16" --force
    with_tokenizer "$D/bf16" llama3_1
    quantize_fp8 "$D" 128000 128
    ppl "$D" bf16 bf16
    ppl "$D" fp8 fp8
    timed "llama3-8b transformers ppl loop bf16" python3 bench/hf_ppl_baseline.py "$D/bf16" "$W/eval.tokens" --json "$O/llama3-8b-hf-ppl.json"
    ppl "$D" fp8 fp8-vs-bf16 --baseline "$D/bf16" --threads 16
    mc_and_serve "$D"
    timed "llama3-8b quantize hif8" $H quantize "$D/bf16" "$D/hif8" --scheme hif8 --force --quiet > "$O/llama3-8b-hif8-summary.md"
    ppl "$D" hif8 hif8
    ;;
  llama-kl)  # eval ppl --baseline with both engines on the GPU, against the standalone runs
    D=$W/llama3-8b; mkdir -p "$D"
    [[ -f $D/bf16/config.json ]] || timed "llama3-8b synth bf16" $H synth --config llama3-8b --out "$D/bf16" --force
    timed "llama3-8b quantize fp8-dynamic" $H quantize "$D/bf16" "$D/fp8" --scheme fp8-dynamic --force --quiet > /dev/null
    ppl "$D" bf16 bf16
    ppl "$D" fp8 fp8
    ppl "$D" fp8 fp8-vs-bf16 --baseline "$D/bf16"
    ;;
  moe)
    D=$W/qwen3-30b-a3b; mkdir -p "$D"
    [[ -f $D/bf16/config.json ]] || timed "qwen3-30b-a3b synth bf16 ${2:?layers}" $H synth --config qwen3-30b-a3b --layers "$2" --out "$D/bf16" --force
    with_tokenizer "$D/bf16" qwen3
    timed "moe bench engine bf16" $H bench engine --model "$D/bf16" --batch 1,16 --prompt-tokens 2048 --decode-tokens 64 --json "$O/moe-engine-bf16.jsonl"
    timed "moe transformers bench bf16" python3 bench/hf_engine_baseline.py "$D/bf16" --prompt-tokens 2048 --batch 1,16 --tokens 16 --json "$O/moe-hf.jsonl"
    quantize_fp8 "$D" 151000 32
    timed "moe bench engine fp8" $H bench engine --model "$D/fp8" --batch 1,16 --prompt-tokens 2048 --decode-tokens 64 --json "$O/moe-engine-fp8.jsonl"
    ppl "$D" fp8 fp8-vs-bf16 --baseline "$D/bf16" --threads 16
    mc_and_serve "$D"
    ;;
esac
tar -C "$O" -czf "$O/../real-size-$1.tgz" . && mv "$O/../real-size-$1.tgz" "$O/"
