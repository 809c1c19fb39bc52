#!/usr/bin/env bash
# On the lent GPU machine (device-data/ from prepare_python.sh carried): compile hifp8._core against
# that machine's Python and pybind11, run the Python suites (numpy, torch, cuda) with PyTorch there,
# the C++ CUDA tests, and the Python benchmarks. Logs and JSON go to OUT_DIR.
#   scripts/device/python_check.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-python-check}
mkdir -p "$out"
repo=$PWD
export LD_LIBRARY_PATH=$repo/device-data/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c 'import sys, torch, numpy; print(sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__)' | tee "$out/python.txt"

echo "== build hifp8._core" >&2
pkg=/tmp/hifp8-python/hifp8
objs=/tmp/hifp8-python/obj
rm -rf /tmp/hifp8-python && mkdir -p "$pkg" "$objs"
cp python/hifp8/* "$pkg/"
suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
flags=(-O2 -std=c++20 -fPIC -fvisibility=hidden -DHIFP8_HAVE_CUDA "-DHIFP8_VERSION=\"$version\"" -Iinclude
       -Idevice-data/include $(python3 -m pybind11 --includes))
for src in python/src/*.cpp; do
  g++ "${flags[@]}" -c "$src" -o "$objs/$(basename "$src" .cpp).o" &
done
wait
g++ -shared -o "$pkg/_core$suffix" "$objs"/*.o -Wl,--as-needed device-data/lib/libhifp8_cuda.a device-data/lib/libhifp8.a \
  -Ldevice-data/lib -l:libhwy.so.1 -l:libsentencepiece.so.0 -l:libpcre2-8.so.0 -L/usr/local/cuda/lib64 \
  -lcudart_static -ldl -lrt -lpthread 2>&1 | tee "$out/build.log"
ls -la "$pkg"
[[ -f $pkg/_core$suffix ]] || { echo "build of hifp8._core failed" >&2; exit 1; }

export PYTHONPATH=/tmp/hifp8-python HIFP8_CLI=$repo/device-data/bin/hifp8 HIFP8_SHARED_DIR=$repo/device-data/shared
status=0
for suite in numpy torch cuda; do
  echo "== python $suite tests" >&2
  python3 python/tests/run.py $suite > "$out/python_$suite.log" 2>&1
  rc=$?
  tail -4 "$out/python_$suite.log"
  [[ $rc == 0 ]] || { echo "python $suite: exit $rc" >&2; status=1; }
done

echo "== C++ CUDA tests" >&2
device-data/bin/test_cuda --gtest_brief=1 > "$out/test_cuda.log" 2>&1 || { echo "test_cuda FAILED" >&2; status=1; }
tail -3 "$out/test_cuda.log"

echo "== Python benchmarks" >&2
python3 bench/python_bench.py --json "$out/python_bench.jsonl" | tee "$out/python_bench.txt"
exit $status
