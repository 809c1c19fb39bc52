#!/usr/bin/env bash
# hifp8 serve driven by the official `openai` npm client (installed from the npm registry into a
# temporary folder): pd-llama-15M (Llama-2 tokenizer) for text prompts and chat, streaming, seeds,
# errors, API key. tests/serve/openai_client/client.mjs holds the checks.
set -uo pipefail
HIFP8=${1:?usage: test_openai_client.sh HIFP8_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${HIFP8_SHARED_DIR:-$HERE/../../../shared}
MODEL=$SHARED/models/pd-llama-15M
[[ -f $MODEL/config.json ]] || { echo "FAIL: missing $MODEL (tests expect ../shared beside the repository)"; exit 1; }
command -v npm > /dev/null || { echo "FAIL: npm not found (scripts/install-deps.sh installs it)"; exit 1; }
WORK=$(mktemp -d)
trap 'kill $SERVER 2> /dev/null; rm -rf "$WORK"' EXIT
cp "$HERE/openai_client/package.json" "$HERE/openai_client/client.mjs" "$WORK/"
(cd "$WORK" && timeout 180 npm install --no-audit --no-fund --silent) || { echo "FAIL: npm install openai"; exit 1; }
source "$HERE/serve_launch.sh"
launch_server "$WORK/server.log" --model "$MODEL" --served-model-name pd-llama --api-key test-key --chat-format llama2 \
  --max-concurrency 4 --threads 2
(cd "$WORK" && BASE_URL=http://127.0.0.1:$PORT/v1 API_KEY=test-key MODEL=pd-llama timeout 240 node client.mjs)
