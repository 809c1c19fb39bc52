#!/usr/bin/env bash
# Fills the git-ignored device-data/ with what make_references.sh needs from ../shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf device-data && mkdir -p device-data
cp -r ../shared/models/stories260K ../shared/tokenizers/gpt2-bpe ../shared/tokenizers/llama2-spm device-data/
cp tests/data/tokenizer_cases.json ../shared/data/stories260K_samples.tokens device-data/
du -sh device-data
