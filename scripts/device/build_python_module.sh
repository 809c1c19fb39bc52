#!/usr/bin/env bash
# Sourced by the device scripts (device-data/ from prepare_python.sh present): compiles hifp8._core
# against the lent machine's Python and pybind11 into /tmp/hifp8-python (once per machine; the Python
# files are refreshed every time), and exports PYTHONPATH, LD_LIBRARY_PATH, HIFP8_CLI and
# HIFP8_SHARED_DIR for the tests, and defines run_python_suites. $out is the caller's log folder.
repo=$PWD
export LD_LIBRARY_PATH=$repo/device-data/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
pkg=/tmp/hifp8-python/hifp8
suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
if [[ ! -f $pkg/_core$suffix ]]; then
  echo "== build hifp8._core" >&2
  objs=/tmp/hifp8-python/obj
  rm -rf /tmp/hifp8-python && mkdir -p "$pkg" "$objs"
  version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
  flags=(-O2 -std=c++20 -fPIC -fvisibility=hidden -DHIFP8_HAVE_CUDA "-DHIFP8_VERSION=\"$version\"" -Iinclude
         -Idevice-data/include $(python3 -m pybind11 --includes))
  for src in python/src/*.cpp; do
    g++ "${flags[@]}" -c "$src" -o "$objs/$(basename "$src" .cpp).o" &
  done
  wait
  g++ -shared -o "$pkg/_core$suffix" "$objs"/*.o -Wl,--as-needed device-data/lib/libhifp8_cuda.a device-data/lib/libhifp8.a \
    -Ldevice-data/lib -l:libhwy.so.1 -l:libsentencepiece.so.0 -l:libpcre2-8.so.0 -l:libutf8proc.so.2 -l:libsimdjson.so.14 -L/usr/local/cuda/lib64 \
    -lcudart_static -ldl -lrt -lpthread 2>&1 | tee "$out/build.log"
fi
cp python/hifp8/*.py python/hifp8/*.pyi python/hifp8/py.typed "$pkg/"
[[ -f $pkg/_core$suffix ]] || { echo "build of hifp8._core failed" >&2; exit 1; }
export PYTHONPATH=/tmp/hifp8-python HIFP8_CLI=$repo/device-data/bin/hifp8 HIFP8_SHARED_DIR=$repo/device-data/shared

# run_python_suites SUITE...: python/tests/run.py for each, its log in $out and its tail shown; sets
# the caller's status=1 when one fails.
run_python_suites() {
  local suite rc
  for suite in "$@"; do
    echo "== python $suite tests" >&2
    python3 python/tests/run.py "$suite" > "$out/python_$suite.log" 2>&1
    rc=$?
    tail -4 "$out/python_$suite.log"
    [[ $rc == 0 ]] || { echo "python $suite: exit $rc" >&2; status=1; }
  done
}
