#!/usr/bin/env bash
# grow-model: pipelines/grow-model.py adds NAFBlocks that start as the
# identity, so the grown model restores exactly as the one it came from.
# Grows the shipped derain model, runs both on two synthetic frames in light
# rain and wants the same output PSNR to the last digit irc-eval prints, a
# new configuration in the grown file's metadata and the new blocks' tensors.
# Refuses to shrink a level and to overwrite the source with a bad --blocks.
#   test_grow_model.sh IRC_EVAL IRC_SAMPLE MODEL_DIR
set -euo pipefail
irc_eval="$1"
irc_sample="$2"
models="$3"
root="$(cd "$(dirname "$0")/.." && pwd)"
grow="$root/pipelines/grow-model.py"
# the first python3 with numpy: PATH's, else the system's (a pyenv shim may
# shadow Debian's python3-numpy)
py=""
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c "import numpy" 2>/dev/null; then py="$candidate"; break; fi
done
[ -n "$py" ] || { echo "SKIP: no python3 with numpy (python3-numpy)"; exit 77; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

src="$models/derain.safetensors"
"$py" "$grow" "$src" "$tmp/grown.safetensors" --blocks 2,1,1,3,2,1,1 \
  || { echo "FAIL: grow-model exited $?"; exit 1; }
header="$(head -c 65536 "$tmp/grown.safetensors" | tr -d "\0")"
grep -q '"left\\": \[2, 1, 1\], \\"bottom\\": 3, \\"right\\": \[2, 1, 1\]' <<<"$header" \
  || fail "the grown file's config does not say blocks 2,1,1,3,2,1,1"
grep -q '"Process_Module_bottom.2.gamma"' <<<"$header" || fail "no third bottom block"
grep -q 'the new NAFBlocks start as the identity' <<<"$header" || fail "the history does not say how it grew"

"$irc_sample" --size 160x120 --frames 2 "$tmp/clean" >/dev/null
for m in "$src" "$tmp/grown.safetensors"; do
  "$irc_eval" --model "$m" --clean "$tmp/clean" --degrade rain-light --quantize --seed 0 \
    --threads 1 --csv "$tmp/$(basename "$m" .safetensors).csv" >/dev/null
done
# columns: name, in PSNR, in SSIM, out PSNR, out SSIM, ...
if ! cmp -s <(cut -d, -f1-5 "$tmp/derain.csv") <(cut -d, -f1-5 "$tmp/grown.csv"); then
  fail "the grown model restores differently:"; paste -d'|' "$tmp/derain.csv" "$tmp/grown.csv"
fi

cp "$src" "$tmp/keep.safetensors"
if "$py" "$grow" "$tmp/keep.safetensors" "$tmp/keep.safetensors" --blocks 1,1,1,0,1,1,1 \
     2>"$tmp/err"; then
  fail "shrinking the bottom was accepted"
fi
grep -q "each at least the source's 1,1,1,1,1,1,1" "$tmp/err" || { fail "unclear error:"; cat "$tmp/err"; }
cmp -s "$src" "$tmp/keep.safetensors" || fail "a refused grow changed its source"
[ "$failed" = 0 ] && echo "grow-model: identical restoration, config and history recorded"
exit "$failed"
