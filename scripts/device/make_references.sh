#!/usr/bin/env bash
# Run through the device tool with device-data/ carried (scripts/device/prepare_references.sh fills
# it): writes the reference data to $OUT/references, to be copied into tests/data.
#   make_references.sh [PARTS]   PARTS: comma-separated of stories, tiny, tokenizers, families,
#                                trained, chat (default all)
set -euo pipefail
ref=$OUT/references
parts=${1:-stories,tiny,tokenizers,families,trained,chat}
mkdir -p "$ref"
has() { [[ ",$parts," == *",$1,"* ]]; }
if has stories || has tiny || has tokenizers; then
  python3 scripts/device/make_references.py device-data "$ref" "$parts"
fi
if has stories; then
  python3 scripts/device/ppl_reference.py device-data/stories260K device-data/stories260K_samples.tokens "$ref/ppl_reference.json"
  python3 scripts/device/detok_reference.py device-data "$ref"
  python3 scripts/device/greedy_reference.py device-data/stories260K "$ref/stories260K_greedy.json"
fi
if has families || has chat; then
  mkdir -p device-data/families && tar xJf device-data/tok.tar.xz -C device-data/families
  cp -r device-data/gpt2-bpe device-data/stories260K device-data/families/
fi
if has families; then
  python3 scripts/device/family_tokenizer_reference.py device-data/families device-data/tokenizer_family_texts.json \
    "$ref/tokenizer_family_reference.json"
fi
if has trained; then
  python3 scripts/device/trained_tokenizers.py device-data/valid_moby_dick.txt device-data/tokenizer_family_texts.json "$ref"
fi
if has chat; then
  python3 scripts/device/chat_template_reference.py device-data/families device-data/chat_conversations.json \
    "$ref/chat_template_reference.json"
fi
