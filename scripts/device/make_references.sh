#!/usr/bin/env bash
# Run through the device tool with device-data/ carried (scripts/device/prepare_references.sh fills
# it): writes the engine and tokenizer reference data to $OUT/references, to be copied into tests/data.
set -euo pipefail
python3 scripts/device/make_references.py device-data "$OUT/references"
