#!/usr/bin/env bash
# bundled-models: every model the element ships under gst/models is a trained
# one for its task (metadata names the task and its training, no pass-through
# placeholder) and restores its own degradation: on the first two CBSD68
# images, degraded with a fixed seed, the output is closer to the clean image
# than the input by at least a margin well below what MODELS.md records, so
# a broken or swapped model fails while run-to-run noise does not. Each
# names the attention window it runs with (tlc_window, chosen by measuring
# it), and irc-eval measures at that window, as the element runs it: the
# derain model also has to gain on the real Rain100L pairs there.
#   test_bundled_models.sh IRC_EVAL MODEL_DIR
# Skips (77) without ../shared/data/eval/cbsd68.
set -euo pipefail
irc_eval="$1"
models="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
cbsd="$root/../shared/data/eval/cbsd68"
kernel="$root/../shared/data/kernels/levin09/kernel_03.txt"
[ -d "$cbsd" ] || { echo "SKIP: $cbsd not found"; exit 77; }

failed=0
# task, minimum gain in dB (RGB), irc-eval degradation arguments
check() {
  local stem="$1" min_gain="$2"; shift 2
  local task="${stem%-realtime}"   # preset=realtime's TASK-realtime files are TASK models
  local file="$models/$stem.safetensors"
  # the safetensors header is JSON at the start of the file; metadata lives there
  local header
  header="$(head -c 65536 "$file" | tr -d "\0")"
  if ! grep -q "\"task\":\"$task\"" <<<"$header"; then
    echo "FAIL $stem: $file does not say task $task in its metadata"; failed=1; return
  fi
  if grep -q '"placeholder"' <<<"$header" || ! grep -q '"iterations"' <<<"$header"; then
    echo "FAIL $stem: $file is not a trained model (no iterations in its metadata)"; failed=1; return
  fi
  # trained in stages: the whole training is on record, not only the last stage
  if ! grep -q '"total_iterations":"[0-9]' <<<"$header" || ! grep -q '"history":"[0-9]' <<<"$header"; then
    echo "FAIL $stem: $file's metadata lacks total_iterations or history"; failed=1; return
  fi
  # the window was measured for this file (MODELS.md), not left to the default
  if ! grep -q '"tlc_window":"\(global\|[0-9]\+\)"' <<<"$header"; then
    echo "FAIL $stem: $file's metadata lacks its tlc_window"; failed=1; return
  fi
  local summary gain
  summary="$("$irc_eval" --model "$file" --limit 2 --seed 0 --threads 0 "$@" | tail -n 1)"
  gain="$(sed -n 's/.*gain \([-+0-9.]*\) dB RGB.*/\1/p' <<<"$summary")"
  if [ -z "$gain" ] || ! awk -v g="$gain" -v m="$min_gain" 'BEGIN { exit !(g >= m) }'; then
    echo "FAIL $stem: gain ${gain:-?} dB, expected at least $min_gain dB ($summary)"; failed=1
  else
    echo "ok   $stem: gain $gain dB (at least $min_gain) with $*"
  fi
}

check denoise 6.0 --clean "$cbsd" --degrade noise --sigma 25
# noise as footage carries it, through a codec: the shipped model was trained for it
check denoise 3.0 --clean "$cbsd" --degrade noise --sigma 25 --jpeg 90
check derain 1.0 --clean "$cbsd" --degrade rain-light --quantize
# real rain, all ten pairs (a later --limit wins): +3.7 dB at the model's
# window, +1.4 at the window NAFNet's rule gives it (144; MODELS.md)
rain100l="$root/../shared/data/eval/rain100l_val10"
check derain 2.5 --pairs "$rain100l/input" "$rain100l/target" --limit 10
check dehaze 3.0 --clean "$cbsd" --degrade haze --quantize
check deblur 2.5 --clean "$cbsd" --degrade blur --kernel "$kernel" --quantize
# the all-in-one model takes what routing leaves it: rain, haze and mixtures
# (noise and blur scenes go to their own models; MODELS.md, auto)
check auto 3.0 --clean "$cbsd" --degrade rain-heavy --quantize
check auto 3.0 --clean "$cbsd" --degrade haze --quantize
check derain-realtime 1.0 --clean "$cbsd" --degrade rain-light --quantize
check denoise-realtime 6.0 --clean "$cbsd" --degrade noise --sigma 25
exit $failed
