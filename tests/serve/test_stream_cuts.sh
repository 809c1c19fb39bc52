#!/usr/bin/env bash
# Streaming across multi-byte characters, for every max_tokens cut (tests/serve/stream_cuts.py): the
# stories260K weights with the final norm zeroed (every logit 0: tokens drawn uniformly), once with
# their own tokenizer (BPE with byte fallback: half the vocabulary is <0xHH> tokens) and once with
# GPT-2's byte-level BPE (ids below 512 include the 256 single-byte tokens), so the output splits
# UTF-8 characters across tokens and holds invalid sequences.
set -uo pipefail
HIFP8=${1:?usage: test_stream_cuts.sh HIFP8_BINARY}
SHARED=${HIFP8_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
[[ -f $SHARED/models/stories260K/config.json ]] || { echo "FAIL: missing $SHARED/models/stories260K"; exit 1; }
PY=$(command -v python3)
WORK=$(mktemp -d)
servers=()
trap 'kill "${servers[@]}" 2> /dev/null; wait; rm -rf "$WORK"' EXIT
source "$(dirname "$0")/serve_launch.sh"
mkdir -p "$WORK/ids" "$WORK/gpt2" "$WORK/byte-fallback"
cp "$SHARED/models/stories260K/"{config.json,model.safetensors} "$WORK/ids/"
"$PY" - "$WORK/ids/model.safetensors" <<'PY'
import json, struct, sys
with open(sys.argv[1], "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    begin, end = json.loads(f.read(n))["model.norm.weight"]["data_offsets"]
    f.seek(8 + n + begin)
    f.write(bytes(end - begin))
PY
cp "$WORK/ids/"{config.json,model.safetensors} "$WORK/gpt2/"
cp "$WORK/ids/"{config.json,model.safetensors} "$WORK/byte-fallback/"
cp "$SHARED/tokenizers/gpt2-bpe/"{tokenizer.json,tokenizer_config.json} "$WORK/gpt2/"
cp "$SHARED/models/stories260K/"{tokenizer.json,tokenizer.model,tokenizer_config.json} "$WORK/byte-fallback/"
launch_server "$WORK/ids.log" --model "$WORK/ids" --threads 1
servers+=("$SERVER")
IDS_URL=$URL
status=0
for model in "$WORK/byte-fallback" "$WORK/gpt2"; do
  launch_server "$WORK/text.log" --model "$model" --threads 1
  servers+=("$SERVER")
  prompt="The"
  prompt_ids=$("$HIFP8" tokenize --model "$model" --text "$prompt" --ids-only | tr ' ' ',')
  echo "$(basename "$model"): prompt $prompt -> $prompt_ids"
  "$PY" "$(dirname "$0")/stream_cuts.py" "$URL" "$IDS_URL" "$HIFP8" "$model" "$prompt" "$prompt_ids" 40 || status=1
done
exit $status
