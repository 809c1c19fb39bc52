#!/usr/bin/env bash
# Fuzzes hifp8's parsers with libFuzzer (Debian's clang; the library built with ASan + UBSan):
#   scripts/fuzz.sh [SECONDS] [TARGET...]   (default 600 s for each of: safetensors_header config
#                                            openai_request tokenizer_json detokenizer jinja_template)
# Each target starts from fuzz/corpus/TARGET and grows build-fuzz/corpus/TARGET; a crash lands in
# fuzz/crashes/TARGET/ (copy it into fuzz/corpus/TARGET/ once fixed, so CI replays it). Logs and the
# final statistics go to build-fuzz/TARGET.log; a summary line per target is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh fuzz
seconds=${1:-600}
shift || true
targets=("${@:-safetensors_header config openai_request tokenizer_json detokenizer jinja_template}")
read -r -a targets <<< "${targets[*]}"
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
[[ -f build-fuzz/CMakeCache.txt ]] || CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHIFP8_FUZZ=ON -DHIFP8_BUILD_TESTS=OFF -DHIFP8_CUDA=OFF -DHIFP8_PYTHON=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >&2
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "fuzz/crashes/$t"
  echo "fuzz $t for $seconds s" >&2
  build-fuzz/fuzz_"$t" "build-fuzz/corpus/$t" "fuzz/corpus/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=4096 -artifact_prefix="fuzz/crashes/$t/" -print_final_stats=1 > "build-fuzz/$t.log" 2>&1 || true
done
for t in "${targets[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/$t.log")
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1 s/p' "build-fuzz/$t.log")
  crashes=$(find "fuzz/crashes/$t" -type f | wc -l)
  echo "$t: ${runs:-?} inputs in ${took:-? s (stopped early: see build-fuzz/$t.log)}, corpus $(ls "build-fuzz/corpus/$t" | wc -l) files, crash files: $crashes"
done
