#!/usr/bin/env bash
# Fuzzes the safetensors header/offset parser with libFuzzer (clang + ASan + UBSan, from Debian).
# usage: scripts/fuzz.sh [SECONDS]   (default 600). New crashes land in fuzz/crashes/; copy each into
# tests/io/safetensors_regressions/ so the unit tests replay it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh fuzz
seconds=${1:-600}
mkdir -p build-fuzz fuzz/crashes build-fuzz/corpus
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude \
  fuzz/fuzz_safetensors_header.cpp src/io/safetensors_reader.cpp src/io/tensor_dtype.cpp -o build-fuzz/fuzz_safetensors_header
build-fuzz/fuzz_safetensors_header build-fuzz/corpus fuzz/seeds -max_total_time="$seconds" -max_len=4096 \
  -artifact_prefix=fuzz/crashes/ -jobs=1 -print_final_stats=1
