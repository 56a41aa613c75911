#!/usr/bin/env bash
# The element's temporal mode measured on a real rainy clip stored as JPEG
# frames (NTURain's ra1 in the project's shared data: 60 frames of 640x480,
# the camera panning about 2.8 pixels a frame): the clip goes through
# irconstyle task=derain once per temporal mode, and irc-video-stats prints
# the flicker (mean |frame t - frame t-1|) and the PSNR against the clip's
# per-pixel median, as is and motion-compensated (MODELS.md, Temporal
# mode), with the wall time per frame of each run.
#   bash pipelines/temporal-rain.sh [FRAMES_DIR] [MODE...]     (modes: off rain noise)
# BUILD=DIR picks the build tree (default build/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD:-$root/build}"
export GST_PLUGIN_PATH="$build/gst"
export IRCONSTYLE_MODEL_DIR="${IRCONSTYLE_MODEL_DIR:-$build/gst/models}"
stats="$build/src/cli/irc-video-stats"
if ! gst-inspect-1.0 irconstyle 2>/dev/null | grep -q "temporal"; then
  echo "no irconstyle plugin with the temporal property in $build: build it first" >&2
  exit 1
fi
frames="${1:-$root/../shared/data/eval/nturain_real/ra1}"
shift || true
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(off rain)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
n=$(ls "$frames" | grep -c '^[0-9]*\.jpg$')
size=$(gst-discoverer-1.0 "$frames/00001.jpg" | sed -n 's/.*Width: \([0-9]*\).*/\1/p;s/.*Height: \([0-9]*\).*/\1/p' \
  | head -2 | paste -sd x)
src="multifilesrc location=$frames/%05d.jpg start-index=1 stop-index=$n \
  caps=image/jpeg,framerate=25/1 ! jpegdec ! videoconvert ! video/x-raw,format=RGB"
gst-launch-1.0 -q $src ! filesink location="$out/input.rgb"
files=("$out/input.rgb")
for mode in "${modes[@]}"; do
  t0=$(date +%s%N)
  gst-launch-1.0 -q $src ! irconstyle task=derain temporal="$mode" \
    ! filesink location="$out/temporal-$mode.rgb"
  t1=$(date +%s%N)
  echo "temporal=$mode: $(( (t1 - t0) / 1000000 / n )) ms per frame (wall, the whole pipeline)"
  files+=("$out/temporal-$mode.rgb")
done
echo "$n frames of $size from $frames"
"$stats" "$size" "${files[@]}"
