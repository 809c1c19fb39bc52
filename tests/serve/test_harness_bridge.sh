#!/usr/bin/env bash
# /v1/completions as evaluation harnesses use it (tests/serve/harness_bridge.py) against stories260K
# with its tokenizer and a chat template (the built-in chatml format).
set -uo pipefail
HIFP8=${1:?usage: test_harness_bridge.sh HIFP8_BINARY}
SHARED=${HIFP8_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
MODEL=$SHARED/models/stories260K
[[ -f $MODEL/config.json ]] || { echo "FAIL: missing $MODEL"; exit 1; }
WORK=$(mktemp -d)
trap 'kill $SERVER 2> /dev/null; wait; rm -rf "$WORK"' EXIT
source "$(dirname "$0")/serve_launch.sh"
launch_server "$WORK/server.log" --model "$MODEL" --served-model-name stories --threads 2 --chat-format chatml
head -c 600 "$SHARED/data/tinystories_valid_dev.txt" > "$WORK/text.txt"
python3 "$(dirname "$0")/harness_bridge.py" "$URL" "$HIFP8" "$MODEL" "$WORK/text.txt" "$(dirname "$0")/data/lm_eval_requests.jsonl"
