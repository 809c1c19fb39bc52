#!/usr/bin/env bash
# hifp8 serve under hostile or unlucky input (issue 14's adversarial trial), on loopback, bounded:
# text that is not valid UTF-8 at the token level (byte-level BPE and SentencePiece byte fallback,
# streams cut inside a character), oversized chunked uploads, slow clients, runs of special tokens,
# bad options, shutdown with queued requests, disconnecting non-streaming clients, chat edge cases and
# API-key comparisons. After every group the server must still answer /health.
set -uo pipefail
HIFP8=${1:?usage: test_serve_robustness.sh HIFP8_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${HIFP8_SHARED_DIR:-$(cd "$HERE/../../.." && pwd)/shared}
[[ -d $SHARED/models/stories260K && -d $SHARED/tokenizers/gpt2-bpe ]] || { echo "FAIL: ../shared not found at $SHARED"; exit 1; }
WORK=$(mktemp -d)
failures=0
check() {  # name expected actual
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
finish() {
  [[ -n ${SERVER:-} ]] && kill -TERM "$SERVER" 2> /dev/null && wait "$SERVER" 2> /dev/null
  rm -rf "$WORK"
  [[ $failures == 0 ]] || { echo "$failures robustness checks failed"; exit 1; }
  echo "all robustness checks passed"
  exit 0
}
source "$HERE/serve_launch.sh"
post() {  # path body [curl args...] -> status; body in $WORK/body
  local path=$1 body=$2
  shift 2
  curl -s -m 60 -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' "$@" -d "$body" "$URL$path"
}
alive() { curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/health"; }
stop_server() { kill -TERM "$SERVER" 2> /dev/null; wait "$SERVER" 2> /dev/null; SERVER=; }

# ---- UTF-8: random tokens at temperature 2, both tokenizer kinds, stream and not ----------------
# A tiny random model that speaks GPT-2's byte-level BPE (its 1000 ids include all 256 byte tokens).
"$HIFP8" synth --config tiny --dtype bf16 --out "$WORK/bpe" --layers 1 > /dev/null 2>&1
cp "$SHARED/tokenizers/gpt2-bpe/"{tokenizer.json,tokenizer_config.json} "$WORK/bpe/"
for model in "$WORK/bpe" "$SHARED/models/stories260K"; do
  name=$(basename "$model")
  launch_server "$WORK/server.log" --model "$model" --served-model-name m --max-concurrency 4 --threads 2
  bad=0
  for seed in $(seq 1 24); do
    stream=$([[ $((seed % 2)) == 0 ]] && echo true || echo false)
    code=$(post /v1/completions "{\"prompt\": [1, 2, 3], \"max_tokens\": $((seed % 7 + 1)), \"temperature\": 2, \"seed\": $seed, \"stream\": $stream}")
    verdict=$(python3 "$HERE/check_response.py" "$WORK/body" "$([[ $stream == true ]] && echo sse || echo json)")
    [[ $code == 200 && $verdict == ok ]] || { bad=$((bad + 1)); echo "  $name seed $seed stream $stream: $code $verdict $(head -c 300 "$WORK/body")"; }
  done
  check "$name: 24 random-token completions are valid UTF-8 JSON/SSE" 0 "$bad"
  check "$name: server alive after them" 200 "$(alive)"
  stop_server
done
finish
