#!/usr/bin/env bash
# `pip install .` into a fresh virtual environment (with the system's site packages: Debian's numpy),
# offline (--no-index), reusing the configured build folder BUILD_DIR; then the installed package is
# imported from outside the source tree and checked. First, a venv that cannot see numpy must be refused
# before anything is built, with a message naming the fix.
#   python/tests/test_pip_install.sh PYTHON BUILD_DIR
set -euo pipefail
python=$1
build=$(cd "$2" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/bare"
if refusal=$("$tmp/bare/bin/python" -m pip install --no-index --no-cache-dir --config-settings "build-dir=$build" "$repo" 2>&1); then
  echo "FAIL: pip install . succeeded in a venv without numpy"; exit 1
fi
grep -q "numpy is not importable by .*/usr/bin/python3 -m venv --system-site-packages" <<< "$refusal" ||
  { echo "FAIL: the refusal does not name the fix:"; echo "$refusal" | tail -20; exit 1; }
echo "refused without numpy, naming the fix"
"$python" -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --no-index --no-cache-dir --config-settings "build-dir=$build" "$repo" 2>&1 | tail -3
cd "$tmp"
"$tmp/venv/bin/python" - <<'PY'
import importlib.metadata, pathlib, numpy as np, hifp8
location = pathlib.Path(hifp8.__file__).resolve()
assert "site-packages" in str(location), location
assert importlib.metadata.version("hifp8") == hifp8.__version__, (importlib.metadata.version("hifp8"), hifp8.__version__)
x = np.linspace(-3, 3, 1001, dtype=np.float32)
assert (hifp8.fake_quant(x, "e4m3") != 0).any()
assert (location.parent / "py.typed").exists() and (location.parent / "_core.pyi").exists()
print("installed", hifp8.__version__, "at", location.parent)
PY
