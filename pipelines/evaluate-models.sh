#!/usr/bin/env bash
# Measures restoration models on the dev sets of MODELS.md with irc-eval and
# prints the rows of its results table (markdown). Every degradation is
# seeded (--seed 0), so a rerun gives the same inputs.
#   bash pipelines/evaluate-models.sh TASK MODEL.safetensors [OUT_DIR]
# TASK selects the sets: derain, dehaze, denoise, deblur, or auto (all of
# them). OUT_DIR (default eval-results/) receives one CSV per set, with
# per-image figures. THREADS in the environment caps irc-eval's threads
# (default: all cores). ROUTE=DIR measures task=auto as the element runs it
# (irc-eval --route: DIR's detector reads each image, which its per-task model
# restores; MODEL takes mixtures and doubt; ROUTE_CONFIDENCE=C sets the
# confidence a reading needs to be routed). QUICK=1 measures the headline
# sets only (noise sigma 25 without a codec, one blur kernel). Needs a build (build/) and
# ../shared/data/eval.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
task="${1:?usage: evaluate-models.sh TASK MODEL.safetensors [OUT_DIR]}"
model="${2:?usage: evaluate-models.sh TASK MODEL.safetensors [OUT_DIR]}"
out="${3:-eval-results}"
eval_bin="$root/build/src/cli/irc-eval"
data="$root/../shared/data/eval"
[ -x "$eval_bin" ] || { echo "evaluate-models: $eval_bin not built (meson setup build && ninja -C build)" >&2; exit 1; }
[ -d "$data" ] || { echo "evaluate-models: $data not found (the shared dev sets)" >&2; exit 1; }
[ -f "$model" ] || { echo "evaluate-models: model $model not found" >&2; exit 1; }
mkdir -p "$out"
name="$(basename "$model" .safetensors)"

# One set: a label for the table, then irc-eval's arguments. Prints
# | label | in PSNR / SSIM | out PSNR / SSIM | gain | in / out PSNR (Y) |
measure() {
  local label="$1"; shift
  local csv="$out/$name-$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-').csv"
  local route=()
  [ -n "${ROUTE:-}" ] && route=(--route "$ROUTE")
  [ -n "${ROUTE:-}" ] && [ -n "${ROUTE_CONFIDENCE:-}" ] && route+=(--route-confidence "$ROUTE_CONFIDENCE")
  "$eval_bin" --model "$model" --threads "${THREADS:-0}" --seed 0 --csv "$csv" "${route[@]}" "$@" \
    >/dev/null 2>"$csv.log" || { cat "$csv.log" >&2; return 1; }
  # the CSV's last row is the mean over the images
  tail -n 1 "$csv" | awk -F, -v label="$label" '{
    printf "| %s | %.2f dB / %.3f | %.2f dB / %.3f | %+.2f dB | %.2f / %.2f dB (%+.2f) |\n",
      label, $2, $3, $4, $5, $4 - $2, $6, $7, $7 - $6 }'
}

cbsd="$data/cbsd68"
if [ "$task" = derain ] || [ "$task" = auto ]; then
  measure "CBSD68 light rain" --clean "$cbsd" --degrade rain-light --quantize
  measure "CBSD68 heavy rain" --clean "$cbsd" --degrade rain-heavy --quantize
  measure "rain100l_val10 (real)" --pairs "$data/rain100l_val10/input" "$data/rain100l_val10/target"
fi
if [ "$task" = dehaze ] || [ "$task" = auto ]; then
  measure "sots5 (real haze)" --pairs "$data/sots5/input" "$data/sots5/target"
  measure "CBSD68 haze" --clean "$cbsd" --degrade haze --quantize
  measure "dense_haze5 (real dense haze)" --pairs "$data/dense_haze5/input" "$data/dense_haze5/target"
fi
if [ "$task" = denoise ] || [ "$task" = auto ]; then
  for sigma in $([ -n "${QUICK:-}" ] && echo 25 || echo 15 25 50); do
    measure "CBSD68 sigma $sigma" --clean "$cbsd" --degrade noise --sigma "$sigma"
  done
  # noise as footage carries it: through a codec (4:2:0 chroma, quantised)
  for q in $([ -n "${QUICK:-}" ] || echo 90 50); do
    measure "CBSD68 sigma 25, JPEG $q" --clean "$cbsd" --degrade noise --sigma 25 --jpeg "$q"
  done
fi
if [ "$task" = deblur ] || [ "$task" = auto ]; then
  measure "reds_blur (real blur)" --pairs "$data/reds_blur/input" "$data/reds_blur/target"
  for k in "$root"/../shared/data/kernels/levin09/kernel_0$([ -n "${QUICK:-}" ] && echo 1 || echo "[1-8]").txt; do
    measure "CBSD68 blur $(basename "$k" .txt)" --clean "$cbsd" --degrade blur --kernel "$k" --quantize
  done
fi
