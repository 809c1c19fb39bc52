#!/usr/bin/env bash
# hifp8 serve end to end on loopback with curl: stories260K without its tokenizer (token-id prompts,
# completions as ids), every endpoint,
# streaming, authentication, the error statuses, concurrent clients, greedy output equal to
# `hifp8 generate`, and a graceful SIGTERM. Bounded: every curl has a timeout.
#   SERVE_DEVICE=cuda test_serve.sh HIFP8   runs the same checks with the GPU engine (greedy output
#   against `hifp8 generate --device cuda`), less the timing-based pd-llama-15M ones (GPU decoding
#   finishes a 400-token request before the client's disconnect or the SIGTERM lands).
set -uo pipefail
HIFP8=${1:?usage: test_serve.sh HIFP8_BINARY}
SHARED=${HIFP8_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
[[ -f $SHARED/models/stories260K/config.json ]] || { echo "FAIL: missing $SHARED/models/stories260K (tests expect ../shared beside the repository)"; exit 1; }
WORK=$(mktemp -d)
MODEL=$WORK/stories260K-ids  # the weights without tokenizer files
mkdir -p "$MODEL" && cp "$SHARED/models/stories260K/"{config.json,model.safetensors} "$MODEL/"
failures=0
finish() {
  rm -rf "$WORK"
  [[ $failures == 0 ]] || { echo "$failures serve checks failed"; exit 1; }
  echo "all serve checks passed"
  exit 0
}
check() {  # name expected actual
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}

source "$(dirname "$0")/serve_launch.sh"
start_server() {  # extra args...
  launch_server "$WORK/server.log" --model "${SERVE_MODEL:-$MODEL}" --served-model-name stories --max-concurrency 4 \
    --max-queue "${MAX_QUEUE:-16}" --max-body-bytes 4096 --threads 2 "${DEVICE_ARGS[@]}" "$@"
}
DEVICE_ARGS=(${SERVE_DEVICE:+--device "$SERVE_DEVICE"})
post() {  # path body [curl args...] -> "status body"
  local path=$1 body=$2
  shift 2
  curl -s -m 60 -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' "$@" -d "$body" "$URL$path"
}
json() { python3 -c "import json,sys; d=json.load(open('$WORK/body')); print($1)"; }

start_server
check "health" 200 "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/health")"
check "models" stories "$(curl -s -m 10 "$URL/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')"

check "completion status" 200 "$(post /v1/completions '{"model": "stories", "prompt": [1, 403, 407], "max_tokens": 8, "temperature": 0}')"
check "completion usage" "3 8 length" "$(json 'd["usage"]["prompt_tokens"], d["usage"]["completion_tokens"], d["choices"][0]["finish_reason"]' | tr -d '(),')"
served=$(json 'd["choices"][0]["text"].split()' | tr -d "[]',")
expected=$("$HIFP8" generate --model "$MODEL" --tokens 1,403,407 --max-tokens 8 --print-ids --threads 2 "${DEVICE_ARGS[@]}")
check "greedy completion equals hifp8 generate" "$expected" "$served"

curl -s -N -m 60 -H 'Content-Type: application/json' \
  -d '{"prompt": [1, 403, 407], "max_tokens": 8, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}' \
  "$URL/v1/completions" > "$WORK/stream"
check "stream ends with [DONE]" "data: [DONE]" "$(grep -v '^$' "$WORK/stream" | tail -1)"
streamed=$(grep '^data: {' "$WORK/stream" | sed 's/^data: //' | python3 -c '
import json, sys
text = "".join(c["choices"][0]["text"] for c in map(json.loads, sys.stdin) if c.get("choices"))
print(" ".join(text.split()))')
check "stream text equals non-stream" "$expected" "$streamed"
check "stream usage chunk" 8 "$(grep '"usage"' "$WORK/stream" | sed 's/^data: //' | python3 -c 'import json,sys; print(json.load(sys.stdin)["usage"]["completion_tokens"])')"

# Sampled requests (drawn by the engine: on the device with SERVE_DEVICE=cuda): the same seed gives the
# same tokens, top_k 1 is the greedy answer, and a flat-enough distribution gives tokens of the vocabulary.
sample() { post /v1/completions "{\"prompt\": [1, 403, 407], \"max_tokens\": 8, $1}" > /dev/null; json 'd["choices"][0]["text"]'; }
s1=$(sample '"temperature": 1.0, "top_k": 20, "top_p": 0.9, "seed": 7')
s2=$(sample '"temperature": 1.0, "top_k": 20, "top_p": 0.9, "seed": 7')
check "sampling with a seed repeats" "$s1" "$s2"
check "top_k 1 is greedy" "$expected" "$(sample '"temperature": 0.8, "top_k": 1, "seed": 3' | tr -s ' ' | sed 's/^ //')"
check "top_p sampling completes" "8 length" "$(post /v1/completions '{"prompt": [1, 403, 407], "max_tokens": 8, "temperature": 1.5, "top_p": 0.5, "seed": 1}' > /dev/null; json 'd["usage"]["completion_tokens"], d["choices"][0]["finish_reason"]' | tr -d "(),'")"
check "no max_tokens: OpenAI's 16" 16 "$(post /v1/completions '{"prompt": [1, 403, 407], "temperature": 0}' > /dev/null; json 'd["usage"]["completion_tokens"] if d["choices"][0]["finish_reason"] == "length" else 16')"
check "one log line a request" 1 "$(grep -c '^hifp8 serve: cmpl-[0-9a-f]* prompt 3 + completion 8 tokens, [0-9.]* s, length$' "$WORK/server.log" | head -1 | awk '{print ($1 >= 1)}')"
check "chat without a tokenizer says so" "400 1" "$(post /v1/chat/completions '{"messages": [{"role": "user", "content": "hi"}]}') $(json '"no tokenizer" in d["error"]["message"]' | grep -c True)"
check "stop string" "stop" "$(post /v1/completions '{"prompt": [1, 403, 407], "max_tokens": 8, "temperature": 0, "stop": " '"$(echo "$expected" | cut -d' ' -f3)"'"}' > /dev/null; json 'd["choices"][0]["finish_reason"]')"
check "malformed JSON" 400 "$(post /v1/completions '{"prompt": [1, 2')"
check "wrong type" 400 "$(post /v1/completions '{"prompt": [1, 2], "max_tokens": "ten"}')"
check "error shape" "invalid_request_error max_tokens" "$(json 'd["error"]["type"], d["error"]["param"]' | tr -d "(),'")"
check "negative max_tokens" 400 "$(post /v1/completions '{"prompt": [1, 2], "max_tokens": -1}')"
check "huge max_tokens" 400 "$(post /v1/completions '{"prompt": [1, 2], "max_tokens": 100000}')"
check "prompt over the context" 400 "$(post /v1/completions "{\"prompt\": [$(seq -s, 1 600)]}")"
check "token outside the vocabulary" 400 "$(post /v1/completions '{"prompt": [1, 512]}')"
check "text prompt without a tokenizer" 400 "$(post /v1/completions '{"prompt": "hello"}')"
check "unknown model" 404 "$(post /v1/completions '{"model": "gpt-9", "prompt": [1]}')"
check "oversized body" 413 "$(post /v1/completions "{\"prompt\": [1], \"pad\": \"$(head -c 5000 /dev/zero | tr '\0' x)\"}")"
check "unknown route" 404 "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/v1/nothing")"

# A slow client that sends half a request and stalls does not block the others.
(exec 3<>/dev/tcp/127.0.0.1/$PORT; printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"pro' >&3; sleep 15) &
SLOW=$!
# 12 concurrent clients over 4 slots: all answered, same greedy text.
clients=()
for i in $(seq 12); do
  curl -s -m 120 -H 'Content-Type: application/json' -d '{"prompt": [1, 403, 407], "max_tokens": 8, "temperature": 0}' \
    "$URL/v1/completions" > "$WORK/c$i" &
  clients+=($!)
done
wait "${clients[@]}"
same=0
for i in $(seq 12); do
  t=$(python3 -c "import json; print(' '.join(json.load(open('$WORK/c$i'))['choices'][0]['text'].split()))" 2> /dev/null)
  [[ "$t" == "$expected" ]] && same=$((same + 1))
done
check "12 concurrent clients" 12 "$same"
kill $SLOW 2> /dev/null

kill -TERM $SERVER
wait $SERVER
check "SIGTERM exits cleanly" 0 $?

start_server --api-key secret
check "missing API key" 401 "$(post /v1/completions '{"prompt": [1]}')"
check "wrong API key" 401 "$(post /v1/completions '{"prompt": [1]}' -H 'Authorization: Bearer nope')"
check "right API key" 200 "$(post /v1/completions '{"prompt": [1], "max_tokens": 2}' -H 'Authorization: Bearer secret')"
check "health needs no key" 200 "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/health")"
kill -TERM $SERVER
wait $SERVER

MAX_QUEUE=0 start_server
check "full queue" 429 "$(post /v1/completions '{"prompt": [1], "max_tokens": 2}')"
check "full queue error code" "server_busy" "$(json 'd["error"]["code"]')"
kill -TERM $SERVER
wait $SERVER

if [[ -n ${SERVE_DEVICE:-} ]]; then
  echo "skip disconnect and SIGTERM-drain checks on $SERVE_DEVICE (timing-based; run on the CPU engine)"
  finish
fi

SERVE_MODEL=$SHARED/models/pd-llama-15M start_server
# A tokenizer but no chat template (a base model): the error names the fix.
check "chat without a template names --chat-format" "400 1" "$(post /v1/chat/completions '{"messages": [{"role": "user", "content": "hi"}]}') $(json '"--chat-format" in d["error"]["message"]' | grep -c True)"
health() { curl -s -m 10 "$URL/health" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# A streaming client that goes away mid-request frees its slot: the request (400 tokens, ~4 s here) is
# cancelled at the next decode step, and /health counts it as cancelled, not completed.
curl -s -N -m 60 -H 'Content-Type: application/json' \
  -d '{"prompt": [1, 450, 338], "max_tokens": 400, "temperature": 0, "stream": true}' "$URL/v1/completions" | head -c 200 > /dev/null
for _ in $(seq 100); do [[ $(health 'd["running"]') == 0 ]] && break; sleep 0.2; done
check "disconnected client's request cancelled" "0 1 0" "$(health 'd["running"], d["cancelled"], d["completed"]' | tr -d '(),')"

# Graceful shutdown: a long request keeps running after SIGTERM while new requests get 503, then
# completes and the server exits 0. Four prompts of 400 tokens each fill the four slots, which the CPU
# engine decodes one after another: several seconds, where one prompt (~1 s on a fast VM) could end
# before the signal lands.
curl -s -m 120 -H 'Content-Type: application/json' \
  -d '{"prompt": [[1, 450, 338], [1, 450, 339], [1, 450, 340], [1, 450, 341]], "max_tokens": 400, "temperature": 0}' \
  "$URL/v1/completions" > "$WORK/long" &
LONG=$!
sleep 0.5
kill -TERM $SERVER
sleep 0.2
check "health while stopping" 503 "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/health")"
check "new request while stopping" 503 "$(post /v1/completions '{"prompt": [1], "max_tokens": 2}')"
wait $LONG
check "running request finished" 1600 "$(python3 -c "import json; print(json.load(open('$WORK/long'))['usage']['completion_tokens'])")"
wait $SERVER
check "server exit after draining" 0 $?

finish
