#!/usr/bin/env bash
# Fills the git-ignored device-data/ for scripts/device/python_check.sh: the lent GPU machine has no
# Debian packages and a different Python (3.12), so the C++ libraries are built here (position-
# independent static archives), and the Python module is compiled there against its own Python.
#   bin/      hifp8, test_cuda, cuda_bench (built here)
#   lib/      libhifp8.a, libhifp8_cuda.a, and the shared libraries they need (Highway, SentencePiece, PCRE2, utf8proc, simdjson,
#             cpp-httplib and Brotli)
#   include/  nlohmann/ (header-only JSON, used by the public headers)
#   shared/   golden vectors and stories260K from ../shared
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh > /dev/null
rm -rf device-data && mkdir -p device-data/bin device-data/lib device-data/include device-data/shared/spec \
  device-data/shared/models device-data/shared/data
cp build/hifp8 build/test_cuda build/cuda_bench device-data/bin/
cp build/libhifp8.a build/libhifp8_cuda.a device-data/lib/
for lib in libhwy.so.1 libsentencepiece.so.0 libpcre2-8.so.0 libutf8proc.so.2 libsimdjson.so.14 libcpp-httplib.so.0.11 libbrotlicommon.so.1 libbrotlidec.so.1 libbrotlienc.so.1; do
  cp "$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')" device-data/lib/
done
cp -r /usr/include/nlohmann device-data/include/
cp -r ../shared/spec/vectors device-data/shared/spec/
cp -r ../shared/models/stories260K device-data/shared/models/
cp ../shared/data/stories260K_samples.tokens device-data/shared/data/
du -sh device-data
