#!/usr/bin/env bash
# How well a model's degradation head reads the dev images (MODELS.md,
# detect): rain100l_val10 = rain, sots5 + dense_haze5 = haze, reds_blur =
# blur, CBSD68 clean and with noise of sigma 25, with the linear probe on the
# code; then the real rainy photos that training left out (every 4th,
# irc-train --labelled-holdout 4).
#   bash pipelines/probe-detector.sh [MODEL]    (default gst/models/detect.safetensors)
# BUILD=DIR picks the build tree (default build/), THREADS=N the CPU threads.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD:-$root/build}"
model="${1:-$root/gst/models/detect.safetensors}"
eval_dir="$root/../shared/data/eval"
[ -d "$eval_dir" ] || { echo "no dev data in $eval_dir" >&2; exit 1; }
probe=("$build/src/cli/irc-eval" probe -m "$model" -j "${THREADS:-0}" ${PROBE_ARGS:-})
echo "== dev sets"
"${probe[@]}" --set rain="$eval_dir/rain100l_val10/input" --set haze="$eval_dir/sots5/input" \
  --set haze="$eval_dir/dense_haze5/input" --set blur="$eval_dir/reds_blur/input" \
  --set clean="$eval_dir/cbsd68" --set noise="$eval_dir/cbsd68@noise" --sigma 25 --linear-probe
echo "== real rainy photos left out of training"
"${probe[@]}" --set rain="$eval_dir/real_rain_photos" --holdout 4
