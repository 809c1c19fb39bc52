#!/usr/bin/env bash
# On the lent GPU machine with device-data/ carried (as cuda_tests.sh): eval ppl on the GPU engine
# against the CPU engine on the same windows — pd-llama-15M in bf16, and quantized to hif8 and
# fp8-dynamic with the bf16 model as baseline (delta-ppl, KL, top-1).
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH=$PWD/device-data/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
H=device-data/hifp8
M=device-data/shared/models/pd-llama-15M
TEXT=device-data/shared/data/valid_moby_dick.txt
W=$(mktemp -d)
for scheme in hif8 fp8-dynamic; do $H quantize "$M" "$W/$scheme" --scheme "$scheme" --quiet > /dev/null; done
for device in cpu cuda; do
  /usr/bin/time -f "%e s" $H eval ppl --model "$M" --text "$TEXT" --ctx 512 --stride 256 --device $device --json --quiet --threads 16 > "$W/bf16-$device.json" 2> "$W/t"
  echo "bf16 $device $(tail -1 "$W/t") $(python3 -c "import json; d=json.load(open('$W/bf16-$device.json')); print(d['tokens'], d['ppl'])")"
  for scheme in hif8 fp8-dynamic; do
    $H eval ppl --model "$W/$scheme" --baseline "$M" --text "$TEXT" --ctx 512 --stride 256 --device $device --json --quiet --threads 16 > "$W/$scheme-$device.json" || echo "eval failed: $scheme $device"
    python3 -c "import json; d=json.load(open('$W/$scheme-$device.json')); print('$scheme $device', d['ppl'], d['baseline_ppl'], d['mean_kl'], d['top1_agreement_pct'])"
  done
done
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
for name in ["bf16", "hif8", "fp8-dynamic"]:
    c, g = (json.load(open(f"{w}/{name}-{d}.json")) for d in ("cpu", "cuda"))
    print(f"{name}: ppl cpu {c['ppl']:.4f} cuda {g['ppl']:.4f} relative difference {abs(c['ppl'] - g['ppl']) / c['ppl']:.2e}")
PY
