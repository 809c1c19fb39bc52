#!/usr/bin/env bash
# Packs device-data/pack.tar.xz for scripts/device/transformers_check.sh: prepare_python.sh's files
# (binaries stripped) plus pd-llama-15M and the public-domain text, in one archive because the
# carried files are limited to 64 MiB. Carry `device-data/pack.tar.xz`.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/device/prepare_python.sh > /dev/null
strip device-data/bin/*
mkdir -p device-data/shared/models device-data/shared/data/corpus
cp -r ../shared/models/pd-llama-15M device-data/shared/models/
cp ../shared/data/valid_*.txt device-data/shared/data/
cp ../shared/data/corpus/*.txt device-data/shared/data/corpus/
tar cJf device-data/pack.tar.xz.tmp -C device-data bin lib include shared
mv device-data/pack.tar.xz.tmp device-data/pack.tar.xz
ls -la device-data/pack.tar.xz
