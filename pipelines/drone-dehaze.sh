#!/usr/bin/env bash
# Hazy drone footage: remove the haze. Large frames (4K) run in 512-pixel
# tiles with 32 pixels of blended context, which bounds memory; the haze
# style code is computed once per scene for the whole frame.
#   bash pipelines/drone-dehaze.sh hazy-flight.mp4 clear-flight.mp4
set -euo pipefail
source "$(dirname "$0")/env.sh"
in="${1:?usage: $0 INPUT OUTPUT.mp4}"
out="${2:?usage: $0 INPUT OUTPUT.mp4}"
gst-launch-1.0 -e filesrc location="$in" ! decodebin ! queue ! videoconvert \
  ! irconstyle task=dehaze tile-size=512 tile-overlap=32 ! videoconvert \
  ! video/x-raw,format=I420 ! x264enc pass=qual quantizer=20 ! h264parse ! mp4mux \
  ! filesink location="$out"
