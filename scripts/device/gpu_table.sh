#!/usr/bin/env bash
# On the GPU machine, in one command, the GPU table of docs/BENCHMARKS.md: a Llama-3-8B-shaped
# synthetic checkpoint (bf16) and its fp8-dynamic and hif8 quantizations through `hifp8 bench engine`
# (prefill 512, decode batch 1 and 16; bf16 also at 4096 tokens of prompt and context), the fp8 model
# also with --act-quant none (W8A16) and dynamic (W8A8 decode), a previous binary on the same models
# as the "before" (optional), transformers bf16 as the peer (bench/hf_engine_baseline.py), the kernel
# table (cuda_bench gemv-quick, with the copy bandwidth as the roof), ncu summaries of the W8A16
# kernel, the fused prompt attention and the decoding attention against PyTorch's SDPA (cuda_bench
# attention, bench/attention_baseline.py), and sampled decoding drawn on the GPU against the host.
#   scripts/device/gpu_table.sh HIFP8 CUDA_BENCH [OUT_DIR] [WORK_DIR] [HIFP8_BEFORE]
# SKIP_KERNELS=1 leaves out the kernel table and ncu, SKIP_HF=1 transformers.
set -euo pipefail
usage="usage: gpu_table.sh HIFP8 CUDA_BENCH [OUT_DIR] [WORK_DIR] [HIFP8_BEFORE]"
# Paths are read against the caller's directory.
bin=$(realpath -m "${1:?$usage}")
cuda_bench=$(realpath -m "${2:?$usage}")
out=$(realpath -m "${3:-gpu-table}")
work=$(realpath -m "${4:-/tmp/hifp8-gpu-table}")
before=${5:+$(realpath -m "$5")}
cd "$(dirname "$0")/../.."
mkdir -p "$work" "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
if [[ ${SKIP_KERNELS:-0} != 1 ]]; then
  "$cuda_bench" gemv-quick --json "$out/gemv.jsonl" > "$out/gemv.txt" 2>&1
  if command -v ncu > /dev/null; then
    ncu -k regex:w8a16 --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats \
      "$cuda_bench" gemv-profile > "$out/ncu_gemv.txt" 2>&1 || true
  fi
fi
"$cuda_bench" attention | tee "$out/attention.txt"
python3 bench/attention_baseline.py 2>&1 | tee -a "$out/attention.txt" || true
[[ -f $work/bf16/config.json ]] || "$bin" synth --config llama3-8b --out "$work/bf16" --force > /dev/null
[[ -f $work/fp8/config.json ]] || "$bin" quantize "$work/bf16" "$work/fp8" --scheme fp8-dynamic --quiet > /dev/null
[[ -f $work/hif8/config.json ]] || "$bin" quantize "$work/bf16" "$work/hif8" --scheme hif8 --quiet > /dev/null
run() {  # name, binary, then bench engine arguments
  local name=$1 b=$2
  shift 2
  "$b" bench engine "$@" --json "$out/engine_$name.jsonl" > "$out/engine_$name.txt" 2>&1
  echo "== $name" && grep -E "prefill|decode" "$out/engine_$name.txt"
}
run bf16 "$bin" --model "$work/bf16"
run fp8 "$bin" --model "$work/fp8"
run hif8 "$bin" --model "$work/hif8"
if [[ -n $before ]]; then
  run before_bf16 "$before" --model "$work/bf16"
  run before_fp8 "$before" --model "$work/fp8"
fi
long=(--prompt-tokens 4096 --decode-context 4096 --decode-tokens 32)
run bf16_4k "$bin" --model "$work/bf16" "${long[@]}"
run fp8_4k "$bin" --model "$work/fp8" "${long[@]}"
[[ -z $before ]] || run before_bf16_4k "$before" --model "$work/bf16" "${long[@]}"
run fp8_act_none "$bin" --model "$work/fp8" --act-quant none
run fp8_act_dynamic "$bin" --model "$work/fp8" --act-quant dynamic
run fp8_sampling "$bin" --model "$work/fp8" --prompt-tokens 16 --sampling 0.8,40,0.95
if [[ ${SKIP_HF:-0} != 1 ]] && python3 -c 'import transformers' 2>/dev/null; then
  python3 bench/hf_engine_baseline.py "$work/bf16" --json "$out/hf.jsonl" > "$out/hf.txt" 2>&1 || true
  echo "== transformers" && tail -4 "$out/hf.txt"
fi
