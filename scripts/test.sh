#!/usr/bin/env bash
# The README's second command (and CI's): install dependencies if missing, build, run every test.
# Labels: unit (GoogleTest), exhaustive (all 2^32 float32 inputs, ~2 min on 2 cores), cli.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
