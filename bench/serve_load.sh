#!/usr/bin/env bash
# Load test of hifp8 serve (docs/BENCHMARKS.md "Serving"): CLIENTS concurrent streaming clients x
# REQUESTS requests through the official openai npm client; prints the load generator's JSON line and
# the server's resident memory before and after (a leak shows as growth).
#   bench/serve_load.sh HIFP8_BINARY MODEL_DIR [--device cuda] [other hifp8 serve flags...]
#   env: CLIENTS (64) REQUESTS (20) TOKENS (16) SLOTS (16); CLIENT_MODULES: a node_modules folder with
#   the client already installed (for machines without the npm registry)
set -euo pipefail
HIFP8=${1:?usage: serve_load.sh HIFP8_BINARY MODEL_DIR [serve flags...]}
MODEL=${2:?usage: serve_load.sh HIFP8_BINARY MODEL_DIR [serve flags...]}
shift 2
HERE=$(cd "$(dirname "$0")/../tests/serve/openai_client" && pwd)
WORK=$(mktemp -d)
trap 'kill $SERVER 2> /dev/null; rm -rf "$WORK"' EXIT
cp "$HERE/package.json" "$HERE/load.mjs" "$WORK/"
if [[ -n ${CLIENT_MODULES:-} ]]; then
  cp -r "$CLIENT_MODULES" "$WORK/node_modules"
else
  (cd "$WORK" && npm install --no-audit --no-fund --silent)
fi
source "$HERE/../serve_launch.sh"
launch_server "$WORK/server.log" --model "$MODEL" --served-model-name load --max-concurrency "${SLOTS:-16}" --max-queue 128 \
  --chat-format llama2 "$@"
rss() { awk '/VmRSS/ {print $2 / 1024 " MB"}' /proc/$SERVER/status; }
echo "server RSS before: $(rss)" >&2
(cd "$WORK" && BASE_URL=http://127.0.0.1:$PORT/v1 API_KEY=none MODEL=load CLIENTS=${CLIENTS:-64} REQUESTS=${REQUESTS:-20} \
  TOKENS=${TOKENS:-16} node load.mjs)
echo "server RSS after:  $(rss)" >&2
