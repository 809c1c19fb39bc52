#!/usr/bin/env bash
# docs/evaluate.md's SmoothQuant numbers come from scripts/smoothquant_example.sh: run it and compare
# with the numbers the document quotes (read from it, so the two cannot drift). KL is compared to the
# 3 digits printed and top-1 to 0.05 points: another SIMD target sums in another order, which moves the
# last digit, while a changed result (2.58e-4 against 2.62e-4 once) fails.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[[ -f $REPO/../shared/models/pd-llama-15M/config.json ]] || { echo "FAIL: missing ../shared/models/pd-llama-15M"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
measured=$(bash "$REPO/scripts/smoothquant_example.sh" "$WORK") || { echo "FAIL: smoothquant_example.sh failed"; exit 1; }
echo "$measured"
# "mean KL 2.64e-4 / top-1 98.77 % without smoothing, 2.69e-4 / 98.74 % with α = 0.5"
documented=$(tr '\n' ' ' < "$REPO/docs/evaluate.md" |
  grep -oE 'mean KL [0-9.]+e-[0-9]+ / top-1 [0-9.]+ % without smoothing, [0-9.]+e-[0-9]+ / [0-9.]+ % with' |
  sed -E 's/mean KL ([^ ]+) \/ top-1 ([^ ]+) % without smoothing, ([^ ]+) \/ ([^ ]+) % with/\1 \2 \3 \4/')
[[ -n $documented ]] || { echo "FAIL: docs/evaluate.md quotes no SmoothQuant numbers in the expected form"; exit 1; }
echo "documented: $documented"
read -r kl0 top0 kl1 top1 <<< "$documented"
python3 - "$kl0" "$top0" "$kl1" "$top1" "$measured" <<'PY'
import re, sys
kl0, top0, kl1, top1, measured = sys.argv[1:]
got = dict((m[0], (float(m[1]), float(m[2]))) for m in re.findall(r"(\w+): mean KL (\S+) top-1 (\S+) %", measured))
failed = 0
for case, kl, top in (("unsmoothed", kl0, top0), ("smoothed", kl1, top1)):
    gkl, gtop = got[case]
    if abs(gkl - float(kl)) > 0.006 * float(kl) or abs(gtop - float(top)) > 0.05:
        print(f"FAIL: {case}: measured mean KL {gkl:.3e} top-1 {gtop:.2f} %, documented {kl} / {top} %")
        failed = 1
print("documented numbers reproduced" if not failed else "docs/evaluate.md: rerun scripts/smoothquant_example.sh and update")
sys.exit(failed)
PY
