#!/usr/bin/env bash
# The server soak test (tests/serve/soak.py) against stories260K (SentencePiece with byte fallback,
# multi-byte text), on loopback. CI runs a short version; the full one:
#   SOAK_REQUESTS=10000 tests/serve/test_serve_soak.sh build/hifp8
set -uo pipefail
HIFP8=${1:?usage: test_serve_soak.sh HIFP8_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${HIFP8_SHARED_DIR:-$(cd "$HERE/../../.." && pwd)/shared}
[[ -d $SHARED/models/stories260K ]] || { echo "FAIL: ../shared not found at $SHARED"; exit 1; }
WORK=$(mktemp -d)
source "$HERE/serve_launch.sh"
launch_server "$WORK/server.log" --model "$SHARED/models/stories260K" --served-model-name m --max-concurrency 4 \
  --max-queue 64 --max-body-bytes 65536 --threads 2 --chat-format llama2
python3 "$HERE/soak.py" "$URL" "$SERVER" "${SOAK_REQUESTS:-600}" "${SOAK_CLIENTS:-16}"
rc=$?
kill -0 "$SERVER" 2> /dev/null || { echo "FAIL: the server died"; rc=1; }
kill -TERM "$SERVER" 2> /dev/null
wait "$SERVER"
[[ $? == 0 ]] || { echo "FAIL: the server did not exit cleanly"; tail -5 "$WORK/server.log"; rc=1; }
rm -rf "$WORK"
exit $rc
