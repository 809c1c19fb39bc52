#!/usr/bin/env bash
# The CPU peer benchmark: hifp8's CPU engine beside llama.cpp on the same checkpoint, machine and
# thread count, interleaved, medians of per-round ratios (the CPU table of docs/BENCHMARKS.md).
#
#   bench/llama_cpp_peer.sh [--threads N] [--rounds R] [--hifp8 build/hifp8] [--work DIR] [--simd native|avx2]
#
# llama.cpp is built from source in a cache outside the tree (${HIFP8_CACHE:-~/.cache/hifp8}/llama.cpp;
# LLAMA_CPP_GIT names a clone source other than GitHub, e.g. a local mirror) at a pinned commit with
# -DGGML_NATIVE=ON, so both engines run the CPU's widest SIMD code; `--simd avx2` runs both on AVX2
# instead (llama.cpp built with AVX2/FMA/F16C only, in its own build folder; hifp8 with HIFP8_SIMD=avx2),
# to measure the AVX2 paths on an AVX-512 machine. The checkpoint is `hifp8 synth
# --config llama-100m` (124M parameters) with the Llama-2 tokenizer from ../shared; llama.cpp's own
# converter writes its bf16 GGUF (through bench/llama_cpp_shim: Debian 12 has no python3-safetensors
# and its PyTorch 1.13 lacks float8 dtypes) and llama-quantize its Q8_0. Needs the Debian packages
# python3-numpy, python3-torch, python3-sentencepiece and python3-tqdm (scripts/install-deps.sh does not install them:
# they serve this benchmark only).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
threads=2 rounds=3 hifp8="$here/build/hifp8" work="${TMPDIR:-/tmp}/hifp8-llama-cpp-peer" simd=native
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --hifp8) hifp8="$(realpath "$2")"; shift 2 ;;
    --work) work="$(realpath -m "$2")"; shift 2 ;;
    --simd) simd="$2"; shift 2 ;;
    *) echo "llama_cpp_peer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
commit=c392e5094  # llama.cpp of 2025-02 (the last snapshot of ggerganov/llama.cpp at hand)
cache="${HIFP8_CACHE:-$HOME/.cache/hifp8}/llama.cpp"
shared="$here/../shared"
[ -x "$hifp8" ] || { echo "llama_cpp_peer.sh: no hifp8 binary at $hifp8 (build first)" >&2; exit 1; }
[ -f "$shared/tokenizers/llama2-spm/tokenizer.model" ] || { echo "llama_cpp_peer.sh: ../shared is missing" >&2; exit 1; }
/usr/bin/python3 -c "import numpy, torch, sentencepiece, tqdm" 2>/dev/null || {
  echo "llama_cpp_peer.sh: needs apt-get install python3-numpy python3-torch python3-sentencepiece python3-tqdm" >&2; exit 1; }

if [ ! -d "$cache/src/.git" ]; then
  echo "llama_cpp_peer.sh: cloning llama.cpp into $cache/src" >&2
  mkdir -p "$cache"
  rm -rf "$cache/src"
  git clone -q --no-checkout "${LLAMA_CPP_GIT:-https://github.com/ggerganov/llama.cpp}" "$cache/src"
  # The vocabulary test files under models/ are not needed (and absent from some mirrors).
  git -C "$cache/src" sparse-checkout set --no-cone '/*' '!/models/*.gguf'
fi
git -C "$cache/src" checkout -q "$commit" 2>/dev/null || git -C "$cache/src" checkout -q "$commit"
case $simd in
  native) build="$cache/build" simd_flags=(-DGGML_NATIVE=ON) ;;
  avx2) build="$cache/build-avx2" simd_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
                                              -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF)
        export HIFP8_SIMD=avx2 ;;
  *) echo "llama_cpp_peer.sh: --simd native or avx2" >&2; exit 2 ;;
esac
if [ ! -x "$build/bin/llama-bench" ] || [ ! -x "$build/bin/llama-quantize" ]; then
  echo "llama_cpp_peer.sh: building llama.cpp $commit (${simd_flags[*]})" >&2
  cmake -S "$cache/src" -B "$build" -DCMAKE_BUILD_TYPE=Release "${simd_flags[@]}" -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DGGML_OPENMP=ON >"$build.log" 2>&1
  cmake --build "$build" --target llama-bench llama-quantize -j"$(nproc)" >>"$build.log" 2>&1
fi
bin="$build/bin"

mkdir -p "$work"
if [ ! -f "$work/q8_0.gguf" ] || [ ! -d "$work/hif8-lm" ]; then
  echo "llama_cpp_peer.sh: writing the checkpoints into $work" >&2
  rm -rf "$work/bf16"
  "$hifp8" synth --config llama-100m --out "$work/bf16" >/dev/null
  cp "$shared/tokenizers/llama2-spm/tokenizer.model" "$work/bf16/"
  # Each scheme twice: as `hifp8 quantize` defaults (lm_head bf16), and with lm_head 8-bit too (-lm)
  # as llama.cpp's Q8_0 stores its output tensor.
  for scheme in fp8-dynamic int8-dynamic hif8; do
    rm -rf "$work/$scheme" "$work/$scheme-lm"
    "$hifp8" quantize "$work/bf16" "$work/$scheme" --scheme "$scheme" --quiet >/dev/null
    "$hifp8" quantize "$work/bf16" "$work/$scheme-lm" --scheme "$scheme" --include-lm-head --quiet >/dev/null
  done
  PYTHONPATH="$here/bench/llama_cpp_shim:$cache/src/gguf-py" /usr/bin/python3 "$cache/src/convert_hf_to_gguf.py" \
    "$work/bf16" --outtype bf16 --outfile "$work/bf16.gguf" >"$work/convert.log" 2>&1
  "$bin/llama-quantize" "$work/bf16.gguf" "$work/q8_0.gguf.tmp" Q8_0 >/dev/null 2>&1
  mv "$work/q8_0.gguf.tmp" "$work/q8_0.gguf"
fi

# Prefill: one 128-token prompt; decode: 32 tokens (llama-bench pp128 / tg32; hifp8 after 32 tokens of
# context). Rounds interleave every engine, so drifts of the machine hit all of them alike.
results="$work/results.tsv"
: > "$results"
for round in $(seq 1 "$rounds"); do
  echo "llama_cpp_peer.sh: round $round of $rounds" >&2
  for g in bf16 q8_0; do
    "$bin/llama-bench" -m "$work/$g.gguf" -t "$threads" -p 128 -n 32 -r 3 -o csv 2>/dev/null |
      /usr/bin/python3 -c '
import csv, sys
for row in csv.DictReader(sys.stdin):
    kind = "prefill" if int(row["n_prompt"]) > 0 else "decode"
    print(sys.argv[1], sys.argv[2], kind, row["avg_ts"], sep="\t")' "$round" "llama.cpp-$g" >> "$results"
  done
  # int8 W8A8: the inputs quantized per token too (integer dot products), as Q8_0 quantizes them.
  for run in bf16 fp8-dynamic int8-dynamic hif8 fp8-dynamic-lm int8-dynamic-lm hif8-lm int8-dynamic-lm:dynamic; do
    m=${run%%:*} act=auto name=hifp8-$run
    [[ $run == *:* ]] && act=${run#*:} name=hifp8-$m-w8a8
    "$hifp8" bench engine --model "$work/$m" --device cpu --threads "$threads" --batch 1 --prompt-tokens 128 \
      --decode-context 32 --decode-tokens 32 --act-quant "$act" 2>/dev/null |
      awk -v r="$round" -v m="$name" '$1 == "prefill" || $1 == "decode" { print r "\t" m "\t" $1 "\t" $4 }' >> "$results"
  done
done

/usr/bin/python3 - "$results" "$threads" <<'EOF'
import collections, statistics, sys
rate = collections.defaultdict(dict)  # (engine, kind) -> round -> tokens/s
for line in open(sys.argv[1]):
    rnd, engine, kind, value = line.split("\t")
    rate[(engine, kind)][rnd] = float(value)
def median(engine, kind):
    return statistics.median(rate[(engine, kind)].values())
def ratio(a, b, kind):
    rounds = rate[(a, kind)].keys() & rate[(b, kind)].keys()
    return statistics.median(rate[(a, kind)][r] / rate[(b, kind)][r] for r in rounds)
print(f"threads {sys.argv[2]}, medians over rounds (tokens/s)")
print("engine\tprefill 128\tdecode")
for engine in sorted({e for e, _ in rate}):
    print(f"{engine}\t{median(engine, 'prefill'):.1f}\t{median(engine, 'decode'):.1f}")
print("ratio (median of per-round ratios)\tprefill 128\tdecode")
pairs = [("hifp8-int8-dynamic", "llama.cpp-q8_0"), ("hifp8-fp8-dynamic", "llama.cpp-q8_0"),
         ("hifp8-hif8", "llama.cpp-q8_0"), ("hifp8-int8-dynamic-lm", "llama.cpp-q8_0"),
         ("hifp8-fp8-dynamic-lm", "llama.cpp-q8_0"), ("hifp8-hif8-lm", "llama.cpp-q8_0"),
         ("hifp8-int8-dynamic-lm-w8a8", "llama.cpp-q8_0"), ("hifp8-bf16", "llama.cpp-bf16"),
         ("hifp8-fp8-dynamic", "llama.cpp-bf16"), ("hifp8-hif8", "llama.cpp-bf16"), ("hifp8-hif8", "hifp8-fp8-dynamic")]
for a, b in pairs:
    print(f"{a} / {b}\t{ratio(a, b, 'prefill'):.2f}\t{ratio(a, b, 'decode'):.2f}")
EOF
