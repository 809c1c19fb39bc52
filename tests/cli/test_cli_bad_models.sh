#!/usr/bin/env bash
# Broken checkpoints and configs get a clear error naming the problem and exit 2 (issue 14's trial:
# NaN/Inf weights gave exit 0 and "0 0 0 0", config type errors an "internal error", quantize wrote
# outputs for impossible shapes). The broken copies are made by make_bad_model.py from a synthetic model.
# Usage: test_cli_bad_models.sh PATH/TO/hifp8
set -u
HIFP8=${1:?usage: test_cli_bad_models.sh PATH/TO/hifp8}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
# expect NAME MESSAGE_PART COMMAND...: exit 2 and the message on stderr, within 60 s
expect() {
  local name=$1 part=$2
  shift 2
  local err code
  err=$(timeout 60 "$@" 2>&1 > /dev/null)
  code=$?
  if [[ $code == 2 && $err == *"$part"* ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1))
    echo "FAIL: $name: exit $code, stderr: $err"
  fi
}
"$HIFP8" synth --config tiny --dtype f32 --out "$WORK/good" --layers 2 > /dev/null 2>&1
bad() { python3 "$HERE/make_bad_model.py" "$WORK/good" "$WORK/$1" "${@:2}"; }

# Non-finite weights: the layer that produced them is named.
bad nan-embed nan model.embed_tokens.weight
expect "NaN in the embedding" "model.embed_tokens" "$HIFP8" generate --model "$WORK/nan-embed" --tokens 1,500,3 --print-ids
bad nan-q nan model.layers.1.self_attn.q_proj.weight
expect "NaN in a projection" "model.layers.1" "$HIFP8" generate --model "$WORK/nan-q" --tokens 1,2,3 --print-ids
bad inf-head inf lm_head.weight
expect "-inf in lm_head" "lm_head" "$HIFP8" logits --model "$WORK/inf-head" --tokens 1,2,3
expect "quantize refuses a NaN weight" "non-finite" "$HIFP8" quantize "$WORK/nan-q" "$WORK/out1" --scheme fp8-dynamic --quiet

# Config values the model cannot compute with, or of the wrong type: refused at load, field named.
bad eps config '{"rms_norm_eps": -1e-5}'
expect "negative rms_norm_eps" "rms_norm_eps" "$HIFP8" generate --model "$WORK/eps" --tokens 1,2 --print-ids
bad theta config '{"rope_theta": 0}'
expect "rope_theta 0" "rope_theta" "$HIFP8" generate --model "$WORK/theta" --tokens 1,2 --print-ids
bad llama3 config '{"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 2, "high_freq_factor": 2}}'
expect "llama3 rope with equal factors" "high_freq_factor" "$HIFP8" generate --model "$WORK/llama3" --tokens 1,2 --print-ids
bad qc config '{"quantization_config": "fp8"}'
expect "quantization_config as a string" "quantization_config" "$HIFP8" generate --model "$WORK/qc" --tokens 1,2 --print-ids
bad rope-type config '{"rope_scaling": {"rope_type": 5}}'
expect "rope_type as a number" "rope_type" "$HIFP8" generate --model "$WORK/rope-type" --tokens 1,2 --print-ids
bad tie config '{"tie_word_embeddings": "yes"}'
expect "tie_word_embeddings as a string" "tie_word_embeddings" "$HIFP8" generate --model "$WORK/tie" --tokens 1,2 --print-ids
bad maxpos config '{"max_position_embeddings": "4096"}'
expect "max_position_embeddings as a string" "max_position_embeddings" "$HIFP8" generate --model "$WORK/maxpos" --tokens 1,2 --print-ids
bad bos config '{"bos_token_id": -7}'
expect "negative bos_token_id" "bos_token_id" "$HIFP8" generate --model "$WORK/bos" --tokens 1,2 --print-ids

# quantize checks the architecture's shapes before it writes anything.
bad layers config '{"num_hidden_layers": -1}'
expect "quantize with num_hidden_layers -1" "num_hidden_layers" "$HIFP8" quantize "$WORK/layers" "$WORK/out2" --scheme fp8-dynamic --quiet
bad hidden config '{"hidden_size": 1000000000000}'
expect "quantize with hidden_size 1e12" "hidden_size" "$HIFP8" quantize "$WORK/hidden" "$WORK/out3" --scheme fp8-dynamic --quiet
bad vocab config '{"vocab_size": 0}'
expect "quantize with vocab_size 0" "vocab_size" "$HIFP8" quantize "$WORK/vocab" "$WORK/out4" --scheme fp8-dynamic --quiet
bad transposed transpose model.embed_tokens.weight
expect "quantize with a transposed embedding" "model.embed_tokens.weight" "$HIFP8" quantize "$WORK/transposed" "$WORK/out5" --scheme fp8-dynamic --quiet
bad empty empty-index
expect "quantize with an empty weight_map" "no tensors" "$HIFP8" quantize "$WORK/empty" "$WORK/out6" --scheme fp8-dynamic --quiet
mkdir -p "$WORK/noweights" && cp "$WORK/good/config.json" "$WORK/noweights/" && echo '{"weight_map": {}}' > "$WORK/noweights/model.safetensors.index.json"
expect "quantize with no tensors at all" "no tensors" "$HIFP8" quantize "$WORK/noweights" "$WORK/out7" --scheme fp8-dynamic --quiet
bad other config '{"architectures": ["GPTNeoXForCausalLM"]}'
other=$(timeout 60 "$HIFP8" quantize "$WORK/other" "$WORK/out8" --scheme fp8-dynamic --quiet 2>&1 > /dev/null; echo "exit $?")
[[ $other == *"warning: architecture 'GPTNeoXForCausalLM'"*"exit 0" ]] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL: unknown architecture, weight-only scheme: $other"; }
expect "unknown architecture with --calib" "architecture 'GPTNeoXForCausalLM'" \
  "$HIFP8" quantize "$WORK/other" "$WORK/out9" --scheme fp8-dynamic --quiet --calib "$HERE/make_bad_model.py"
ls "$WORK"/out[1-79] > /dev/null 2>&1 && { failed=$((failed + 1)); echo "FAIL: a refused quantize left an output"; }

# A shard that is a symlink loop: a path error (exit 2), not an internal error.
mkdir -p "$WORK/loop" && cp "$WORK/good/config.json" "$WORK/loop/" && ln -s model.safetensors "$WORK/loop/model.safetensors"
expect "shard symlink loop" "model.safetensors" "$HIFP8" inspect "$WORK/loop"

# Sampling and length options out of range.
expect "negative --max-tokens" "--max-tokens" "$HIFP8" generate --model "$WORK/good" --tokens 1 --max-tokens -5 --print-ids
expect "huge --max-tokens" "--max-tokens" "$HIFP8" generate --model "$WORK/good" --tokens 1 --max-tokens 9223372036854775807 --print-ids
ids=$(timeout 60 "$HIFP8" generate --model "$WORK/good" --tokens 1,2 --max-tokens 4 --temperature 1e-45 --print-ids)
greedy=$(timeout 60 "$HIFP8" generate --model "$WORK/good" --tokens 1,2 --max-tokens 4 --print-ids)
[[ -n $ids && $ids == "$greedy" ]] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: subnormal temperature: [$ids] vs greedy [$greedy]"; }

echo "cli bad models: $passed passed, $failed failed"
[[ $failed == 0 ]]
