#!/usr/bin/env bash
# End-to-end checks of the hifp8 CLI as a user runs it: formats, encode/decode filters, errors, bench.
# Usage: test_cli.sh PATH/TO/hifp8
set -u
HIFP8=${1:?usage: test_cli.sh PATH/TO/hifp8}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: expected [$2] got [$3]"
  fi
}
hexdump_bytes() { od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
# float32 little-endian bytes from hex bit patterns, e.g. f32 3f800000 40000000
f32() { for b in "$@"; do printf "\\x${b:6:2}\\x${b:4:2}\\x${b:2:2}\\x${b:0:2}"; done; }

# conventions: bare hifp8 shows usage, --version, schemes lists every scheme with its engines
check "bare hifp8 prints usage" 1 "$("$HIFP8" | grep -c '^Usage: hifp8')"
check "--version" "hifp8 0.1.0" "$("$HIFP8" --version)"
check "--help states defaults (quantize --scheme)" 1 "$("$HIFP8" quantize --help | grep -c -- '--scheme TEXT=fp8-dynamic')"
check "--help states defaults (generate --seed)" 1 "$("$HIFP8" generate --help | grep -c -- '--seed UINT=0')"
for scheme in fp8-dynamic fp8-tensor fp8-block int8-dynamic hif8 fake-hif8 mixed; do
  check "schemes lists $scheme" 1 "$("$HIFP8" schemes | grep -c "^| $scheme |")"
done

check "architectures: Llama on both engines" 1 "$("$HIFP8" architectures | grep -c '^| LlamaForCausalLM | yes | yes |$')"
check "architectures: GPT-OSS on the CPU only" 1 "$("$HIFP8" architectures | grep -c '^| GptOssForCausalLM | yes | no |$')"
check "architectures: all ten" 10 "$("$HIFP8" architectures | grep -c 'ForCausalLM')"

# formats
out=$("$HIFP8" formats)
for name in hif8 hif8-rank fp8_e4m3fn fp8_e5m2 int8; do
  check "formats lists $name" 1 "$(grep -c "^$name " <<<"$out")"
done
check "formats --json" 5 "$("$HIFP8" formats --json | grep -c '"name"')"

# encode: 1.0 0.5 2^-15 32768 40960 NaN -0.0 -1.0 1e-30
inputs="3f800000 3f000000 38000000 47000000 47200000 7fc00000 80000000 bf800000 0da24260"
check "encode hif8" "08 18 7e 6e 6f 80 00 88 00" "$(f32 $inputs | "$HIFP8" encode --format hif8 | hexdump_bytes)"
check "encode hif8 --saturate" "08 18 7e 6e 6e 80 00 88 00" \
  "$(f32 $inputs | "$HIFP8" encode --format hif8 --saturate | hexdump_bytes)"
for enc in scalar lut math; do
  check "encode hif8 --encoder $enc" "08 18 7e 6e 6f 80 00 88 00" \
    "$(f32 $inputs | "$HIFP8" encode --format hif8 --encoder $enc | hexdump_bytes)"
done
check "encode e4m3 (464 ties to 448, 465 -> NaN)" "38 7e 7f ff" \
  "$(f32 3f800000 43e80000 43e88000 c3e88000 | "$HIFP8" encode --format e4m3 | hexdump_bytes)"
check "encode e5m2 saturating Inf" "7b fb" "$(f32 7f800000 ff800000 | "$HIFP8" encode --format e5m2 --saturate | hexdump_bytes)"
check "encode int8" "02 fe 7f 81" "$(f32 3fc00000 c0200000 447a0000 c47a0000 | "$HIFP8" encode --format int8 | hexdump_bytes)"
check "encode bf16 input" "08 18" "$(printf '\x80\x3f\x00\x3f' | "$HIFP8" encode --format hif8 --input-dtype bf16 | hexdump_bytes)"
check "encode f16 input" "08 18" "$(printf '\x00\x3c\x00\x38' | "$HIFP8" encode --format hif8 --input-dtype f16 | hexdump_bytes)"
check "encode empty input" "" "$(printf '' | "$HIFP8" encode --format hif8 | hexdump_bytes)"

# decode and round trips
check "decode hif8" "00 00 80 3f 00 00 00 47 00 00 80 7f 00 00 c0 7f" \
  "$(printf '\x08\x6e\x6f\x80' | "$HIFP8" decode --format hif8 | hexdump_bytes)"
check "decode bf16" "80 3f 00 47" "$(printf '\x08\x6e' | "$HIFP8" decode --format hif8 --out-dtype bf16 | hexdump_bytes)"
values="3f800000 3f000000 38000000 47000000 c0400000"
check "rank layout round trip" "$(f32 $values | hexdump_bytes)" \
  "$(f32 $values | "$HIFP8" encode --format hif8 --layout rank | "$HIFP8" decode --format hif8 --layout rank | hexdump_bytes)"
check "rank layout orders by value" "07 40" "$(f32 37800000 3f800000 | "$HIFP8" encode --format hif8 --layout rank | hexdump_bytes)"

# files: --in/--out, written whole or not at all
f32 $values > "$WORK/in.f32"
"$HIFP8" encode --format e4m3 --in "$WORK/in.f32" --out "$WORK/codes.bin"
check "encode --out size" 5 "$(stat -c %s "$WORK/codes.bin")"
check "no temporary files left" "codes.bin in.f32" "$(ls "$WORK" | tr '\n' ' ' | sed 's/ $//')"

# bad input: one-line error, exit code 2, no output file
expect_error() {  # expect_error NAME MESSAGE-FRAGMENT COMMAND...
  local name=$1 fragment=$2
  shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null </dev/null)
  rc=$?
  check "$name: exit code" 2 "$rc"
  check "$name: message" 1 "$(grep -c -- "$fragment" <<<"$err")"
  check "$name: one line" 1 "$(wc -l <<<"$err")"
}
printf 'abc' > "$WORK/three.bin"
expect_error "3 bytes of f32" "not a multiple" "$HIFP8" encode --format hif8 --in "$WORK/three.bin"
expect_error "odd bf16 bytes" "not a multiple" "$HIFP8" encode --format hif8 --input-dtype bf16 --in "$WORK/three.bin"
expect_error "unknown format" "unknown format 'fp4'" "$HIFP8" encode --format fp4
expect_error "unknown dtype" "unknown dtype" "$HIFP8" encode --format hif8 --input-dtype f64
expect_error "rank layout on e4m3" "applies to hif8 only" "$HIFP8" encode --format e4m3 --layout rank
expect_error "unknown layout" "unknown layout" "$HIFP8" encode --format hif8 --layout ieee
check "decode f16 (2^-22 is a float16 subnormal)" "00 3c 04 00" "$(printf '\x08\x01' | "$HIFP8" decode --format hif8 --out-dtype f16 | hexdump_bytes)"
expect_error "missing input" "cannot open" "$HIFP8" encode --format hif8 --in "$WORK/nope.f32"
expect_error "lut for e4m3" "no lut encoder" "$HIFP8" encode --format e4m3 --encoder lut --in "$WORK/in.f32"
expect_error "missing --format" "format" "$HIFP8" encode
expect_error "unwritable output" "cannot create" "$HIFP8" encode --format hif8 --in "$WORK/in.f32" --out "$WORK/no/dir/x"
check "no partial output" 0 "$(ls "$WORK"/no 2>/dev/null | wc -l)"

# bench: JSON with the documented keys
json=$("$HIFP8" bench kernels --size 4096 --runs 1 --json 2>/dev/null)
for key in format op gelem_per_s gb_per_s memcpy_ratio; do
  check "bench json has $key" 1 "$(grep -c "\"$key\"" <<<"$json" | awk '{print ($1 > 0)}')"
done
check "bench covers every format" 5 "$(grep '"format"' <<<"$json" | sort -u | wc -l)"

# synth -> quantize -> inspect, as the README's main job does it
"$HIFP8" synth --config tiny --out "$WORK/tiny" --max-shard-size 1MB >/dev/null 2>&1
check "synth shards" 1 "$(ls "$WORK/tiny" | grep -c index.json)"
"$HIFP8" quantize "$WORK/tiny" "$WORK/tiny-hif8" --scheme hif8 --report "$WORK/report.json" >"$WORK/summary.md" 2>"$WORK/progress.txt"
check "quantize summary" 1 "$(grep -c '^## hifp8 quantize: hif8' "$WORK/summary.md")"
check "quantize writes a model card" "# tiny — hif8 (hifp8)" "$(head -n 1 "$WORK/tiny-hif8/README.md")"
check "the model card states the scheme" 1 "$(grep -c '^| scheme | `hif8`' "$WORK/tiny-hif8/README.md")"
check "quantize summary says who loads it" 1 "$(grep -c '^Loads in: hifp8 .*; transformers after `import hifp8.transformers`' "$WORK/summary.md")"
check "quantize summary gives the next command" 1 \
  "$(grep -c "^  hifp8 eval ppl --model $WORK/tiny-hif8 --baseline $WORK/tiny --text FILE" "$WORK/summary.md")"
# the last progress line is 100% with every tensor counted
check "quantize progress on stderr" 1 "$(tail -n 1 "$WORK/progress.txt" | grep -c '100% \([0-9]*\)/\1 tensors')"
check "report json" 1 "$(grep -c '"compression_ratio"' "$WORK/report.json")"
check "inspect --validate" 1 "$("$HIFP8" inspect "$WORK/tiny-hif8" --validate | grep -c 'validate: OK')"
check "inspect --json --validate" "hif8 True 0 u8" "$("$HIFP8" inspect "$WORK/tiny-hif8" --validate --json | python3 -c '
import json, sys; j = json.load(sys.stdin); t = {x["name"]: x for x in j["tensors"]}
print(j["quantization_config"]["quant_method"], j["validation"]["ok"], len(j["validation"]["problems"]), t["model.layers.0.mlp.up_proj.weight"]["dtype"].lower())')"
"$HIFP8" inspect "$WORK/tiny-hif8" --tensor model.layers.0.mlp.up_proj.weight --dequant-out "$WORK/w.f32" 2>/dev/null
check "inspect --dequant-out size" $((688 * 256 * 4)) "$(stat -c %s "$WORK/w.f32")"
expect_error "fp8-dynamic with group weights" "no W8A8 kernel for FP8 group" \
  "$HIFP8" quantize "$WORK/tiny" "$WORK/refused" --scheme fp8-dynamic --granularity group:64 --quiet
expect_error "int8-dynamic with block weights" "no W8A8 kernel for INT8 block" \
  "$HIFP8" quantize "$WORK/tiny" "$WORK/refused" --scheme int8-dynamic --granularity block:128x128 --quiet
check "refused outputs leave nothing" 0 "$(ls -d "$WORK/refused" 2>/dev/null | wc -l)"
check "generation stopped by the context says so" 1 \
  "$("$HIFP8" generate --model "$WORK/tiny-hif8" --tokens 1,2,3 --max-tokens 50 --max-context 8 --print-ids 2>&1 >/dev/null | grep -c 'stopped at the context limit (8 positions) after 6 tokens')"
expect_error "quantize into an existing dir" "already exists" "$HIFP8" quantize "$WORK/tiny" "$WORK/tiny-hif8" --quiet
expect_error "unknown scheme" "unknown scheme 'fp4'" "$HIFP8" quantize "$WORK/tiny" "$WORK/x" --scheme fp4
expect_error "not a model dir" "not a model directory" "$HIFP8" quantize "$WORK/nope" "$WORK/x"
expect_error "unknown synth config" "unknown synthetic config" "$HIFP8" synth --config gpt5 --out "$WORK/y"
expect_error "inspect a missing tensor" "no tensor named" "$HIFP8" inspect "$WORK/tiny" --tensor nope --dequant-out "$WORK/z"
check "no partial outputs" "" "$(ls -A "$WORK" | grep -E '^(x|y|z|\.)' | tr '\n' ' ')"

# generate / logits on the shared models (CLI tests need ../shared like the unit tests)
SHARED=$(cd "$(dirname "$0")/../../.." && pwd)/shared
if [[ ! -d $SHARED/models/stories260K || ! -d $SHARED/models/pd-llama-15M ]]; then
  failed=$((failed + 1))
  echo "FAIL: ../shared models not found at $SHARED"
else
  ids1=$("$HIFP8" generate --model "$SHARED/models/stories260K" --tokens 1,403,407 --max-tokens 12 --print-ids)
  ids2=$("$HIFP8" generate --model "$SHARED/models/stories260K" --tokens 1,403,407 --max-tokens 12 --print-ids --threads 1)
  check "generate greedy prints 12 ids" 12 "$(wc -w <<<"$ids1")"
  check "generate greedy is deterministic across thread counts" "$ids1" "$ids2"
  s1=$("$HIFP8" generate --model "$SHARED/models/stories260K" --tokens 1,403 --max-tokens 12 --print-ids --temperature 1 --top-k 40 --seed 7)
  s2=$("$HIFP8" generate --model "$SHARED/models/stories260K" --tokens 1,403 --max-tokens 12 --print-ids --temperature 1 --top-k 40 --seed 7)
  check "sampling with a seed repeats" "$s1" "$s2"
  check "logits --json has one row per token" 3 \
    "$("$HIFP8" logits --model "$SHARED/models/stories260K" --tokens 1,403,407 --json | grep -o '\[' | wc -l | awk '{print $1 - 1}')"
  text=$("$HIFP8" generate --model "$SHARED/models/pd-llama-15M" --prompt "Once upon a time" --max-tokens 16)
  check "generate --prompt prints text" 1 "$([[ ${#text} -gt 10 ]] && echo 1 || echo 0)"
  "$HIFP8" quantize "$SHARED/models/pd-llama-15M" "$WORK/pd-fp8" --scheme fp8-dynamic --quiet >/dev/null
  fp8=$("$HIFP8" generate --model "$WORK/pd-fp8" --prompt "Once upon a time" --max-tokens 8 --kv-cache-dtype fp8_e4m3 --act-quant dynamic)
  check "generate on a quantized checkpoint with an fp8 KV cache" 1 "$([[ -n $fp8 ]] && echo 1 || echo 0)"
  mkdir -p "$WORK/st-notok" && cp "$SHARED/models/stories260K/"{config.json,model.safetensors} "$WORK/st-notok/"
  expect_error "generate without a tokenizer" "no tokenizer" "$HIFP8" generate --model "$WORK/st-notok" --prompt hi
  # transformers' greedy continuation (tests/data/stories260K_greedy.json, scripts/device/greedy_reference.py)
  want=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][1]; print(" ".join(map(str, r["ids"])))' \
         "$(dirname "$0")/../data/stories260K_greedy.json")
  got=$("$HIFP8" generate --model "$SHARED/models/stories260K" --prompt "Once upon a time" --max-tokens 64 --print-ids)
  check "stories260K greedy story equals transformers' ids" "$want" "$got"
  want_text=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][1]; print(r["text"])' \
              "$(dirname "$0")/../data/stories260K_greedy.json")
  got_text=$("$HIFP8" generate --model "$SHARED/models/stories260K" --prompt "Once upon a time" --max-tokens 64)
  check "stories260K greedy story equals transformers' text" "$want_text" "$got_text"
  expect_error "bad token list" "not a token id" "$HIFP8" logits --model "$SHARED/models/stories260K" --tokens 1,x
  expect_error "token outside the vocabulary" "outside the vocabulary" "$HIFP8" logits --model "$SHARED/models/stories260K" --tokens 1,99999
  expect_error "unknown KV cache dtype" "unknown KV cache dtype" "$HIFP8" generate --model "$SHARED/models/stories260K" --tokens 1 --print-ids --kv-cache-dtype fp4
  cp -r "$WORK/tiny-hif8" "$WORK/tiny-hif8-badarch"
  sed -i 's/LlamaForCausalLM/GPTNeoXForCausalLM/' "$WORK/tiny-hif8-badarch/config.json"
  expect_error "unknown architecture" "not supported" "$HIFP8" generate --model "$WORK/tiny-hif8-badarch" --tokens 1 --print-ids
  # eval
  check "eval ppl on stories260K (transformers gives 3.3056)" 1 \
    "$("$HIFP8" eval ppl --model "$SHARED/models/stories260K" --tokens-file "$SHARED/data/stories260K_samples.tokens" --quiet | grep -c 'ppl 3.305[56]')"
  check "eval ppl --baseline itself: KL 0, 100 % top-1" 1 \
    "$("$HIFP8" eval ppl --model "$SHARED/models/stories260K" --baseline "$SHARED/models/stories260K" --tokens-file "$SHARED/data/stories260K_samples.tokens" --quiet | grep -c 'mean KL 0.000000 .*top-1 agreement 100.00 %')"
  check "eval ppl --json" 1 "$("$HIFP8" eval ppl --model "$SHARED/models/stories260K" --tokens-file "$SHARED/data/stories260K_samples.tokens" --json --quiet | grep -c '"mean_nll"')"
  printf 'Once upon a time\nThe old man\n' > "$WORK/prompts.txt"
  check "diff-generate of a model with itself" 1 \
    "$("$HIFP8" eval diff-generate --baseline "$SHARED/models/pd-llama-15M" --model "$SHARED/models/pd-llama-15M" --prompts "$WORK/prompts.txt" --max-tokens 8 | grep -c '^2 of 2 greedy generations identical')"
  check "diff-generate --json" "2 2 None True" \
    "$("$HIFP8" eval diff-generate --baseline "$SHARED/models/pd-llama-15M" --model "$SHARED/models/pd-llama-15M" --prompts "$WORK/prompts.txt" --max-tokens 8 --json | python3 -c '
import json, sys; j = json.load(sys.stdin); g = j["generations"][0]
print(j["identical"], j["total"], g["first_difference"], g["model_tokens"] == g["baseline_tokens"] and g["model_text"] == g["baseline_text"])')"
  printf '{"question": "Once upon a", "choices": ["banana", "time"], "answer": 1}\n' > "$WORK/tasks.jsonl"
  check "eval mc" 1 "$("$HIFP8" eval mc --model "$SHARED/models/pd-llama-15M" --tasks "$WORK/tasks.jsonl" | grep -c '^items 1  acc 1.0000')"
  "$HIFP8" eval compare --baseline "$SHARED/models/stories260K" --models "$WORK/tiny-hif8" --tokens-file "$SHARED/data/stories260K_samples.tokens" --out "$WORK/cmp" --quiet >/dev/null 2>&1
  check "eval compare refuses a model of another vocabulary" 0 "$([[ -f $WORK/cmp/compare.png ]] && echo 1 || echo 0)"
  "$HIFP8" quantize "$SHARED/models/stories260K" "$WORK/st-int8" --scheme int8-dynamic --quiet >/dev/null
  "$HIFP8" eval compare --baseline "$SHARED/models/stories260K" --models "$WORK/st-int8" --tokens-file "$SHARED/data/stories260K_samples.tokens" --out "$WORK/cmp" --quiet >/dev/null
  check "eval compare writes md, json, png and the gnuplot script" "compare.gnuplot compare.json compare.md compare.png" "$(cd "$WORK/cmp" && ls compare.* | tr '\n' ' ' | sed 's/ $//')"
  # calibration, SmoothQuant and the mixed scheme on a synthetic model, measured against it
  "$HIFP8" quantize "$WORK/tiny" "$WORK/tiny-sq" --scheme fp8-dynamic --granularity tensor --calib "$SHARED/data/stories260K_samples.tokens" \
    --calib-samples 4 --seq-len 64 --smooth-alpha 0.5 --smooth-full --observer percentile:99.9 --quiet >/dev/null
  check "static fp8 (tensor/tensor) with SmoothQuant validates" 1 "$("$HIFP8" inspect "$WORK/tiny-sq" --validate | grep -c 'validate: OK')"
  check "calibrated model measured against the synthetic original" 1 \
    "$("$HIFP8" eval ppl --model "$WORK/tiny-sq" --baseline "$WORK/tiny" --tokens-file "$SHARED/data/stories260K_samples.tokens" --act-quant static --kv-cache-dtype fp8_e4m3 --quiet | grep -c 'top-1 agreement')"
  "$HIFP8" quantize "$WORK/tiny" "$WORK/tiny-mixed" --scheme mixed --calib "$SHARED/data/stories260K_samples.tokens" --calib-samples 4 --seq-len 64 --keep-bf16 1 --quiet >/dev/null
  check "mixed records a format per linear" 14 "$(grep -o '"model.layers[^"]*": "[a-z0-9_]*"' "$WORK/tiny-mixed/config.json" | wc -l)"
  expect_error "mixed without calibration" "give --calib" "$HIFP8" quantize "$WORK/tiny" "$WORK/tiny-m2" --scheme mixed
  expect_error "eval ppl without input" "exactly one of --text and --tokens-file" "$HIFP8" eval ppl --model "$SHARED/models/stories260K"
  expect_error "eval ppl bad stride" "--stride must be" "$HIFP8" eval ppl --model "$SHARED/models/stories260K" --tokens-file "$SHARED/data/stories260K_samples.tokens" --ctx 8 --stride 9
fi

# tokenize / detokenize: the tokenizer alone (gpt2-bpe is a directory with tokenizer files only)
GPT2=$SHARED/tokenizers/gpt2-bpe
check "tokenize --ids-only" "15496 995" "$("$HIFP8" tokenize --model "$GPT2" --text "Hello world" --ids-only)"
check "tokenize --json" '{"ids":[15496,995],"tokens":["Hello","Ġworld"]}' "$("$HIFP8" tokenize --model "$GPT2" --text "Hello world" --json)"
check "tokenize lists id and piece" '   995 "Ġworld"' "$("$HIFP8" tokenize --model "$GPT2" --text "Hello world" | tail -1)"
check "detokenize" "Hello world" "$("$HIFP8" detokenize --model "$GPT2" --ids 15496,995)"
printf 'h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c' > "$WORK/utf8.txt"
ids=$("$HIFP8" tokenize --model "$GPT2" --file "$WORK/utf8.txt" --ids-only | tr ' ' ',')
check "tokenize --file then detokenize round-trips" "$(cat "$WORK/utf8.txt")" "$("$HIFP8" detokenize --model "$GPT2" --ids "$ids")"
echo '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]' > "$WORK/chat.json"
check "tokenize --chat --print-text" "$(printf '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n')" \
  "$("$HIFP8" tokenize --model "$GPT2" --chat "$WORK/chat.json" --chat-format chatml --add-generation-prompt --print-text)"
expect_error "tokenize without text" "exactly one of" "$HIFP8" tokenize --model "$GPT2"
expect_error "detokenize a bad id" "outside the vocabulary" "$HIFP8" detokenize --model "$GPT2" --ids 1,99999999
expect_error "tokenize without a tokenizer" "no tokenizer" "$HIFP8" tokenize --model "$WORK" --text hi

# scripts read relative paths against the caller's directory, not the repository's
REPO=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -x $REPO/build/hifp8 ]]; then
  mkdir -p "$WORK/caller" && cp -r "$WORK/tiny" "$WORK/caller/model"
  printf 'one two three four five six seven eight nine ten\n%.0s' {1..20} > "$WORK/caller/text.txt"
  (cd "$WORK/caller" && bash "$REPO/scripts/compare_formats.sh" model text.txt out fp8-dynamic > table.md 2>/dev/null)
  check "compare_formats.sh with relative paths" 1 "$(ls "$WORK/caller/out/fp8-dynamic.eval.json" 2>/dev/null | wc -l)"
  check "compare_formats.sh wrote nothing into the repository" 0 "$(ls -d "$REPO/out" "$REPO/model" 2>/dev/null | wc -l)"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
