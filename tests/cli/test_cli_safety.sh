#!/usr/bin/env bash
# No command may lose data (issue 14's adversarial trial): write failures (a full disk, simulated with
# `ulimit -f`), --force with an output that is or contains the input, outputs that are
# symlinks, FIFOs or devices, FIFOs as model files, interruption, stale temporary directories, and
# write errors on standard output. Every check is bounded by `timeout`.
# Usage: test_cli_safety.sh PATH/TO/hifp8
set -u
HIFP8=${1:?usage: test_cli_safety.sh PATH/TO/hifp8}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
trap '' XFSZ  # a write over `ulimit -f` fails with EFBIG instead of killing the process
passed=0
failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1: expected [$2] got [$3]"; fi
}
status() { timeout 60 "$@" > /dev/null 2>&1; echo $?; }
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }
hidden() { find "$1" -maxdepth 1 -name '.*.tmp-*' -o -maxdepth 1 -name '.*.old-*' | wc -l; }

"$HIFP8" synth --config tiny --dtype bf16 --out "$WORK/m" --layers 1 > /dev/null 2>&1
good=$(tree_sum "$WORK/m")

# ---- a full disk: every write is checked through close; nothing is left; --force keeps the old output
"$HIFP8" quantize "$WORK/m" "$WORK/q" --scheme fp8-dynamic --quiet > /dev/null
before=$(tree_sum "$WORK/q")
check "quantize on a full disk fails" 2 "$(ulimit -f 64; status "$HIFP8" quantize "$WORK/m" "$WORK/q2" --scheme fp8-dynamic --quiet)"
check "... and leaves no output" 0 "$(ls -d "$WORK/q2" 2> /dev/null | wc -l)"
check "quantize --force on a full disk fails" 2 "$(ulimit -f 64; status "$HIFP8" quantize "$WORK/m" "$WORK/q" --scheme fp8-dynamic --quiet --force)"
check "... and keeps the previous output" "$before" "$(tree_sum "$WORK/q")"
check "synth on a full disk fails" 2 "$(ulimit -f 64; status "$HIFP8" synth --config tiny --dtype bf16 --out "$WORK/s")"
check "... and leaves no output" 0 "$(ls -d "$WORK/s" 2> /dev/null | wc -l)"
"$HIFP8" quantize "$WORK/m" "$WORK/q3" --scheme fp8-dynamic --quiet --report "$WORK/report.json" > /dev/null
check "quantize --report on a full disk fails" 2 \
  "$(ulimit -f 1; status "$HIFP8" quantize "$WORK/m" "$WORK/q3" --scheme fp8-dynamic --quiet --force --report "$WORK/report.json")"
check "... and keeps the previous report" 1 "$(python3 -c 'import json,sys; json.load(open(sys.argv[1])); print(1)' "$WORK/report.json")"
check "no hidden temporary directories" 0 "$(hidden "$WORK")"
printf '\x00\x00\x80\x3f' > "$WORK/one.f32"
head -c 40000 /dev/zero > "$WORK/many.f32"
check "encode --out on a full disk fails" 2 "$(ulimit -f 1; status "$HIFP8" encode --format hif8 --in "$WORK/many.f32" --out "$WORK/enc")"
check "... and leaves nothing" 0 "$(ls "$WORK/enc" 2> /dev/null | wc -l)"

# ---- --force never deletes the input
check "output equal to the input is refused" 2 "$(status "$HIFP8" quantize "$WORK/m" "$WORK/m" --scheme fp8-dynamic --force)"
mkdir -p "$WORK/parent/in" "$WORK/parent/sibling" && cp "$WORK/m/"* "$WORK/parent/in/" && echo keep > "$WORK/parent/sibling/file"
check "output containing the input is refused" 2 "$(status "$HIFP8" quantize "$WORK/parent/in" "$WORK/parent" --scheme fp8-dynamic --force)"
check "output inside the input is refused" 2 "$(status "$HIFP8" quantize "$WORK/m" "$WORK/m/sub" --scheme fp8-dynamic --force)"
ln -s "$WORK/m" "$WORK/m-link"
check "output equal to the input through a symlink is refused" 2 "$(status "$HIFP8" quantize "$WORK/m-link" "$WORK/m/." --scheme fp8-dynamic --force)"
check "the input is intact" "$good" "$(tree_sum "$WORK/m")"
check "the sibling is intact" keep "$(cat "$WORK/parent/sibling/file")"

# ---- --out targets that are not regular files are written in place; symlinks are followed
printf 'old' > "$WORK/real" && ln -s "$WORK/real" "$WORK/link"
"$HIFP8" encode --format hif8 --in "$WORK/one.f32" --out "$WORK/link"
check "a symlink output stays a symlink" 1 "$([[ -L $WORK/link ]] && echo 1 || echo 0)"
check "... and its target gets the output" 08 "$(od -An -tx1 "$WORK/real" | tr -d ' ')"
mkfifo "$WORK/fifo"
(timeout 20 cat "$WORK/fifo" > "$WORK/from-fifo") &
reader=$!
check "encode --out FIFO" 0 "$(status "$HIFP8" encode --format hif8 --in "$WORK/one.f32" --out "$WORK/fifo")"
wait $reader
check "... the FIFO is still a FIFO" 1 "$([[ -p $WORK/fifo ]] && echo 1 || echo 0)"
check "... and the reader got the bytes" 08 "$(od -An -tx1 "$WORK/from-fifo" | tr -d ' ')"
# (Devices such as /dev/null take the same in-place path as the FIFO; the test does not write to real
# devices, which a regression run as root would replace.)

# ---- FIFOs where model files belong: a clear error at once, never a hang
mkdir -p "$WORK/fifo-model" && cp "$WORK/m/config.json" "$WORK/fifo-model/" && mkfifo "$WORK/fifo-model/model.safetensors"
check "FIFO as model.safetensors" 2 "$(status "$HIFP8" inspect "$WORK/fifo-model")"
rm "$WORK/fifo-model/config.json" && cp "$WORK/m/model.safetensors" "$WORK/fifo-model/x" && mkfifo "$WORK/fifo-model/config.json"
check "FIFO as config.json" 2 "$(status "$HIFP8" inspect "$WORK/fifo-model")"

# ---- interruption and stale temporary directories
"$HIFP8" synth --config llama-100m --dtype bf16 --out "$WORK/big-model" --layers 4 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [[ $(hidden "$WORK") -gt 0 ]] && break; sleep 0.05; done
kill -INT $pid
wait $pid
check "SIGINT during synth exits 130" 130 $?
check "... and leaves no temporary directory" 0 "$(hidden "$WORK")"
mkdir -p "$WORK/.q4.tmp-999999999" && echo x > "$WORK/.q4.tmp-999999999/junk"
"$HIFP8" quantize "$WORK/m" "$WORK/q4" --scheme fp8-dynamic --quiet > /dev/null 2>&1
check "a dead run's temporary directory is removed by the next run" 0 "$(hidden "$WORK")"

# ---- encode/decode stream with bounded memory: 768 MiB through a pipe, peak RSS read while the pipe
# is still open (the whole stream held in memory would be >= 768 MiB)
{ head -c 805306368 /dev/zero; sleep 3; } | "$HIFP8" encode --format hif8 > /dev/null &
sleep 2.5
enc=$(pgrep -n -f "$HIFP8 encode --format hif8")
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$enc/status" 2> /dev/null)
wait
check "encode streams in bounded memory (peak ${peak_kb:-?} KiB < 512 MiB)" 1 "$([[ -n $peak_kb && $peak_kb -lt 524288 ]] && echo 1 || echo 0)"

# ---- standard output that cannot be written
check "inspect > /dev/full" 2 "$(timeout 60 "$HIFP8" inspect "$WORK/q" > /dev/full 2> /dev/null; echo $?)"
check "formats --json > /dev/full" 2 "$(timeout 60 "$HIFP8" formats --json > /dev/full 2> /dev/null; echo $?)"
check "generate > /dev/full" 2 "$(timeout 60 "$HIFP8" generate --model "$WORK/m" --tokens 1,2 --max-tokens 2 --print-ids > /dev/full 2> /dev/null; echo $?)"

echo "cli safety: $passed passed, $failed failed"
[[ $failed == 0 ]]
