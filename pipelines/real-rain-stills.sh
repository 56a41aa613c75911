#!/usr/bin/env bash
# Side-by-side crops of real rainy frames (no clean reference exists) for
# looking at: the rainy input, then the output of each model given, left to
# right, cropped to the same window. MODELS.md shows the ones it wrote.
#   bash pipelines/real-rain-stills.sh OUT.png FRAME.jpg CROP MODEL...
# CROP is WIDTHxHEIGHT+LEFT+TOP in the frame's pixels, e.g. 320x240+160+120.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="${1:?usage: real-rain-stills.sh OUT.png FRAME.jpg CROP MODEL...}"
frame="${2:?usage: real-rain-stills.sh OUT.png FRAME.jpg CROP MODEL...}"
crop="${3:?usage: real-rain-stills.sh OUT.png FRAME.jpg CROP MODEL...}"
shift 3
[ $# -ge 1 ] || { echo "real-rain-stills: give at least one model" >&2; exit 2; }
if ! [[ "$crop" =~ ^([0-9]+)x([0-9]+)\+([0-9]+)\+([0-9]+)$ ]]; then
  echo "real-rain-stills: crop '$crop' is not WIDTHxHEIGHT+LEFT+TOP" >&2; exit 2
fi
cw=${BASH_REMATCH[1]} ch=${BASH_REMATCH[2]} left=${BASH_REMATCH[3]} top=${BASH_REMATCH[4]}
frame_w=$(gst-discoverer-1.0 "$frame" | sed -n 's/.*Width: //p' | head -1)
frame_h=$(gst-discoverer-1.0 "$frame" | sed -n 's/.*Height: //p' | head -1)
if [ $((left + cw)) -gt "$frame_w" ] || [ $((top + ch)) -gt "$frame_h" ]; then
  echo "real-rain-stills: crop $crop leaves the ${frame_w}x${frame_h} frame" >&2; exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# the rainy input as PNG, then each model's restoration of the whole frame
# (the network sees the full frame, not the crop)
gst-launch-1.0 -q filesrc location="$frame" ! jpegdec ! videoconvert ! pngenc \
  ! filesink location="$tmp/0.png"
i=1
for model in "$@"; do
  irc-restore -q -m "$model" "$tmp/0.png" "$tmp/$i.png"
  i=$((i + 1))
done

# one compositor input per image, each cropped to the window
crop_args="left=$left top=$top right=$((frame_w - left - cw)) bottom=$((frame_h - top - ch))"
pipeline="compositor name=c"
for ((k = 1; k < i; k++)); do pipeline+=" sink_$k::xpos=$((k * cw))"; done
pipeline+=" ! videoconvert ! pngenc ! filesink location=$tmp/out.png"
for ((k = 0; k < i; k++)); do
  pipeline+=" filesrc location=$tmp/$k.png ! pngdec ! imagefreeze num-buffers=1"
  pipeline+=" ! videocrop $crop_args ! videoconvert ! c.sink_$k"
done
# shellcheck disable=SC2086  # the pipeline description is meant to split
gst-launch-1.0 -q $pipeline
mv "$tmp/out.png" "$out"
echo "wrote $out: rainy | $*"
