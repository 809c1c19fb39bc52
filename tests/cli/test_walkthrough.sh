#!/usr/bin/env bash
# The README's quick start, as a new user meets it: runs scripts/demo.sh (the main job scripts/setup.sh
# ends with, on the shipped stories260K) and checks the shape of what it prints; every "== hifp8 ..."
# command line the README quotes in its quick start must be one the demo really ran (paths as the
# README writes them), so the README cannot drift from the tool.
# Usage: test_walkthrough.sh PATH/TO/hifp8 (the demo uses the repository's build/hifp8: the same binary in CI)
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[[ -f $REPO/../shared/models/stories260K/config.json ]] || { echo "FAIL: missing ../shared/models/stories260K"; exit 1; }
[[ -x $REPO/build/hifp8 ]] || { echo "FAIL: no $REPO/build/hifp8 (scripts/build.sh)"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0 failed=0
check() {  # name expected actual
  if [[ "$2" == "$3" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1: expected [$2] got [$3]"; fi
}

(cd "$WORK" && bash "$REPO/scripts/demo.sh" > out.txt 2> err.txt)
check "demo exits 0" 0 $?
# Paths as the README writes them: relative to the repository.
sed -e "s|$REPO/../shared|../shared|g" -e "s|$REPO/||g" "$WORK/out.txt" > "$WORK/demo.txt"
out=$WORK/demo.txt
check "two quantize summaries" 2 "$(grep -c '^## hifp8 quantize: ' "$out")"
check "both outputs validate" 2 "$(grep -c '^validate: OK' "$out")"
check "two evaluations against the original" 2 \
  "$(grep -cE '^baseline ppl [0-9.]+  delta_ppl [-+][0-9.]+  mean KL [0-9.]+  max KL [0-9.]+  top-1 agreement [0-9.]+ %$' "$out")"
check "three stories" 3 "$(grep -A1 '^== hifp8 generate' "$out" | grep -c 'Lily\|little\|day')"
check "how to read the numbers" 1 "$(grep -c '^Reading the numbers' "$out")"

# The README's quick start: its "== hifp8" lines are lines the demo printed.
quoted=$(awk '/^## Quick start/ {on = 1} on && /^## / && !/^## Quick start/ && !/^## hifp8/ {on = 0} on' "$REPO/README.md" |
  grep '^== hifp8')
check "the README quotes demo commands" 1 "$([[ -n $quoted ]] && echo 1 || echo 0)"
while IFS= read -r line; do
  check "README line is one the demo ran: $line" 1 "$(grep -cxF -- "$line" "$out" | awk '{print ($1 >= 1)}')"
done <<< "$quoted"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
