#!/usr/bin/env bash
# Run through the device tool with device-data/ carried (scripts/device/prepare_references.sh fills
# it): writes the engine, perplexity, tokenizer and detokenizer reference data to $OUT/references, to
# be copied into tests/data.   make_references.sh [PARTS]   (PARTS: stories,tiny,tokenizers; default all)
set -euo pipefail
ref=$OUT/references
python3 scripts/device/make_references.py device-data "$ref" "${1:-stories,tiny,tokenizers}"
python3 scripts/device/ppl_reference.py device-data/stories260K device-data/stories260K_samples.tokens "$ref/ppl_reference.json"
python3 scripts/device/detok_reference.py device-data "$ref"
python3 scripts/device/greedy_reference.py device-data/stories260K "$ref/stories260K_greedy.json"
