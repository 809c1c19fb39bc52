#!/usr/bin/env bash
# Configures (once) and builds hifp8 in build/ (Release). The CLI lands at build/hifp8.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f build/CMakeCache.txt ]] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
