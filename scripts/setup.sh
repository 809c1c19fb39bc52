#!/usr/bin/env bash
# The README's first command: install dependencies, build, and run the main job (scripts/demo.sh;
# its arguments, e.g. your own MODEL_DIR, are read against the directory this was called from).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$repo" && scripts/install-deps.sh && scripts/build.sh)
"$repo/scripts/demo.sh" "$@"
