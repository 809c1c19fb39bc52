#!/usr/bin/env bash
# On the lent GPU machine, with device-data/ carried (test_cuda, hifp8, their non-CUDA shared
# libraries under lib/, and the ../shared files the tests read under shared/): the C++ CUDA tests,
# then the server's end-to-end checks on the GPU engine (SERVE_DEVICE=cuda) where curl exists.
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH=$PWD/device-data/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export HIFP8_SHARED_DIR=$PWD/device-data/shared HIFP8_SOURCE_DIR=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
rc=0
device-data/test_cuda --gtest_brief=1 > cuda_tests.log 2>&1 || rc=1
tail -15 cuda_tests.log
if command -v curl > /dev/null; then
  SERVE_DEVICE=cuda bash tests/serve/test_serve.sh device-data/hifp8 2>&1 | tail -8 || rc=1
else
  echo "no curl on this machine: serve checks skipped"
fi
exit $rc
