#!/usr/bin/env bash
# Installs the Debian 12 packages hifp8 builds and tests with (see docs/dependencies.md).
# Idempotent: does nothing when they are all present. Runs apt-get through sudo when not root.
#   scripts/install-deps.sh          build and test dependencies
#   scripts/install-deps.sh fuzz     also clang and its libFuzzer/sanitizer runtimes (scripts/fuzz.sh)
set -euo pipefail
PACKAGES=(build-essential cmake pkg-config libhwy-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev
          libsentencepiece-dev libpcre2-dev libutf8proc-dev libsimdjson-dev gnuplot-nox libcpp-httplib-dev curl nodejs
          python3-dev python3-jinja2 pybind11-dev python3-numpy python3-torch python3-venv python3-pip)
[[ ${1:-} != fuzz ]] || PACKAGES+=(clang libclang-rt-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (the server test's openai client): Debian's nodejs lacks it, NodeSource's bundles it.
command -v npm > /dev/null || missing+=(npm)
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all packages present" >&2
  exit 0
fi
SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo)
echo "install-deps: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
