#!/usr/bin/env bash
# On the GPU machine, in one command, the GPU table of docs/BENCHMARKS.md: a Llama-3-8B-shaped
# synthetic checkpoint (bf16) and its fp8-dynamic and hif8 quantizations through `hifp8 bench engine`
# (prefill 512, decode batch 1 and 16), the fp8 model also with --act-quant none (W8A16 prefill) and
# dynamic (W8A8 decode), transformers bf16 as the peer (bench/hf_engine_baseline.py), the kernel table
# (cuda_bench gemv-quick, with the copy bandwidth as the roof) and ncu summaries of the W8A16 kernel.
#   scripts/device/gpu_table.sh HIFP8_BINARY CUDA_BENCH_BINARY [OUT_DIR] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:?usage: gpu_table.sh HIFP8_BINARY CUDA_BENCH_BINARY [OUT_DIR] [WORK_DIR]}
cuda_bench=${2:?usage: gpu_table.sh HIFP8_BINARY CUDA_BENCH_BINARY [OUT_DIR] [WORK_DIR]}
out=${3:-gpu-table}
work=${4:-/tmp/hifp8-gpu-table}
mkdir -p "$work" "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
"$cuda_bench" gemv-quick --json "$out/gemv.jsonl" > "$out/gemv.txt" 2>&1
if command -v ncu > /dev/null; then
  ncu -k regex:w8a16 --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats \
    "$cuda_bench" gemv-profile > "$out/ncu_gemv.txt" 2>&1 || true
fi
[[ -f $work/bf16/config.json ]] || "$bin" synth --config llama3-8b --out "$work/bf16" --force > /dev/null
[[ -f $work/fp8/config.json ]] || "$bin" quantize "$work/bf16" "$work/fp8" --scheme fp8-dynamic --quiet > /dev/null
[[ -f $work/hif8/config.json ]] || "$bin" quantize "$work/bf16" "$work/hif8" --scheme hif8 --quiet > /dev/null
run() {  # name, then bench engine arguments
  local name=$1
  shift
  "$bin" bench engine "$@" --json "$out/engine_$name.jsonl" > "$out/engine_$name.txt" 2>&1
  echo "== $name" && grep -E "prefill|decode" "$out/engine_$name.txt"
}
run bf16 --model "$work/bf16"
run fp8 --model "$work/fp8"
run hif8 --model "$work/hif8"
run fp8_act_none --model "$work/fp8" --act-quant none
run fp8_act_dynamic --model "$work/fp8" --act-quant dynamic
if python3 -c 'import transformers' 2>/dev/null; then
  python3 bench/hf_engine_baseline.py "$work/bf16" --json "$out/hf.jsonl" > "$out/hf.txt" 2>&1 || true
  echo "== transformers" && tail -4 "$out/hf.txt"
fi
