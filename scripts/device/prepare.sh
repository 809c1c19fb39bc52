#!/usr/bin/env bash
# Fills the git-ignored device-data/ with what the device scripts need: the hifp8 binary and its
# Highway library (built here; the device machine has no Debian packages), a model, golden vectors.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh
rm -rf device-data && mkdir -p device-data
cp build/hifp8 device-data/
cp "$(ldconfig -p | awk '/libhwy.so.1 /{print $NF; exit}')" device-data/
cp -r ../shared/models/pd-llama-15M device-data/
cp ../shared/spec/vectors/hif8_decode.tsv device-data/
du -sh device-data
