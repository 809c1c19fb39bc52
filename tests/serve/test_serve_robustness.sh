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
# ---- limits that bodies, slow clients and token runs cannot get around ---------------------------------
ST=$SHARED/models/stories260K
launch_server "$WORK/server.log" --model "$ST" --served-model-name m --max-concurrency 2 --max-queue 8 --max-body-bytes 4096 \
  --threads 2 --chat-format llama2 --max-connections 64 --max-prompt-tokens 200
head -c 100000 /dev/zero | tr '\0' x > "$WORK/big"
check "chunked upload over --max-body-bytes" 413 \
  "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big" "$URL/v1/completions")"
check "Content-Length over --max-body-bytes" 413 \
  "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$WORK/big" "$URL/v1/completions")"
check "small chunked upload is served" 200 \
  "$(echo '{"prompt": [1, 403], "max_tokens": 2}' | curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @- "$URL/v1/completions")"
# 40 slow clients (half a request each, then silence) hold connections; /health and requests still answer.
slow=()
for i in $(seq 40); do
  (exec 3<>/dev/tcp/127.0.0.1/$PORT && printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"pro' >&3 && sleep 20) 2> /dev/null &
  slow+=($!)
done
sleep 1
t0=$(date +%s%N)
check "health with 40 slow clients connected" 200 "$(alive)"
check "a request with 40 slow clients connected" 200 "$(post /v1/completions '{"prompt": [1, 403], "max_tokens": 2}')"
echo "  (answered in $((($(date +%s%N) - t0) / 1000000)) ms)"
kill "${slow[@]}" 2> /dev/null
wait "${slow[@]}" 2> /dev/null
# 1,300 "<s>" texts (3.9 KB) tokenize at once into more tokens than the 512-token context: a quick 400.
check "a run of special-token texts is rejected quickly" 400 \
  "$(post /v1/completions "{\"prompt\": \"$(printf '<s>%.0s' $(seq 1300))\"}")"
# A text that cannot fit even at the longest token per token is refused from its length, untokenized.
check "an over-long text refused before tokenizing" "400 at least" \
  "$(post /v1/completions "{\"prompt\": \"$(head -c 3500 /dev/zero | tr '\0' a)\"}") $(python3 -c 'import json; print(json.load(open("'"$WORK"'/body"))["error"]["message"].split()[3:5] == ["at", "least"] and "at least")')"
# Chat edge cases (the llama2 format): text parts, roles it cannot express.
check "chat content as an array of text parts" 200 \
  "$(post /v1/chat/completions '{"messages": [{"role": "user", "content": [{"type": "text", "text": "Once"}, {"type": "text", "text": "upon"}]}], "max_tokens": 2}')"
check "chat content part that is not text" 400 \
  "$(post /v1/chat/completions '{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}')"
check "chat with only an assistant message" 400 "$(post /v1/chat/completions '{"messages": [{"role": "assistant", "content": "hi"}]}')"
check "chat tool message the format cannot express" 400 "$(post /v1/chat/completions '{"messages": [{"role": "tool", "content": "42"}]}')"
check "server alive after the limit checks" 200 "$(alive)"
stop_server

# ---- shutdown with requests still queued: 503, not an empty 200 ------------------------------------
# A 100M-parameter synthetic model on one thread: 500 tokens take seconds, far beyond the 1 s client
# timeout and shutdown grace below, so these checks are about cancellation, not about speed (pd-llama-15M
# generated 500 tokens in 0.9 s and raced them).
"$HIFP8" synth --config llama-100m --out "$WORK/slow-model" > /dev/null
launch_server "$WORK/server.log" --model "$WORK/slow-model" --served-model-name m --max-concurrency 1 --max-queue 8 \
  --threads 1 --shutdown-grace 1
# A non-streaming client that goes away: its request is cancelled (counted by /health), not run to the end.
curl -s -m 1 -H 'Content-Type: application/json' -d '{"prompt": [1], "max_tokens": 500, "temperature": 0}' "$URL/v1/completions" > /dev/null
for _ in $(seq 50); do [[ $(curl -s -m 5 "$URL/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["running"])') == 0 ]] && break; sleep 0.2; done
check "non-streaming client that disconnects is cancelled" 1 \
  "$(curl -s -m 5 "$URL/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cancelled"])')"
for i in 1 2 3; do
  curl -s -m 60 -o "$WORK/q$i" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"prompt": [1, 450], "max_tokens": 500, "temperature": 0}' "$URL/v1/completions" > "$WORK/q$i.code" &
done
sleep 0.5
kill -TERM "$SERVER"
wait
# Each answer is either a finished completion (it ran within the grace) or a 503; the queued ones are 503.
verdicts=$(for i in 1 2 3; do python3 -c '
import json, sys
code, body = open(sys.argv[1] + ".code").read(), json.load(open(sys.argv[1]))
ok = (code == "200" and body["choices"][0]["finish_reason"] == "length") or (code == "503" and body["error"]["type"] == "server_error")
print(code if ok else "bad:" + code)' "$WORK/q$i"; done | sort | tr '\n' ' ')
check "requests cut off by shutdown answer 503 (none an empty 200)" 1 "$([[ $verdicts =~ ^(200\ )?503\ 503\ (503\ )?$ ]] && echo 1 || echo "$verdicts")"
SERVER=

# ---- bad options refused at start, never a hang --------------------------------------------------------
opt_status() { timeout 20 "$HIFP8" serve --model "$ST" --port 0 "$@" > /dev/null 2>&1; echo $?; }
check "--max-queue -20" 2 "$(opt_status --max-queue -20)"
check "--max-concurrency 0" 2 "$(opt_status --max-concurrency 0)"
check "--api-key with a trailing space" 2 "$(opt_status --api-key 'secret ')"
check "--max-body-bytes 0" 2 "$(opt_status --max-body-bytes 0)"

# ---- API key: exact, once ------------------------------------------------------------------------------
launch_server "$WORK/server.log" --model "$ST" --served-model-name m --api-key secret --threads 2
check "right key" 200 "$(post /v1/completions '{"prompt": [1], "max_tokens": 1}' -H 'Authorization: Bearer secret')"
check "key with a suffix" 401 "$(post /v1/completions '{"prompt": [1], "max_tokens": 1}' -H 'Authorization: Bearer secretx')"
check "key prefix" 401 "$(post /v1/completions '{"prompt": [1], "max_tokens": 1}' -H 'Authorization: Bearer secre')"
check "two Authorization headers" 401 \
  "$(post /v1/completions '{"prompt": [1], "max_tokens": 1}' -H 'Authorization: Bearer secret' -H 'Authorization: Bearer other')"
check "two Authorization headers, the right one second" 401 \
  "$(post /v1/completions '{"prompt": [1], "max_tokens": 1}' -H 'Authorization: Bearer other' -H 'Authorization: Bearer secret')"
stop_server
finish
