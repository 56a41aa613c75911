#!/usr/bin/env bash
# A real rainy clip stored as numbered JPEG frames (NTURain's ra1 in the
# project's shared data), restored and shown as rainy | restored side by side
# in an MP4.
#   bash pipelines/real-rain-frames.sh [FRAMES_DIR] [OUTPUT.mp4]
set -euo pipefail
source "$(dirname "$0")/env.sh"
frames="${1:-$root/../shared/data/eval/nturain_real/ra1}"
out="${2:-rain-side-by-side.mp4}"
w=$(gst-discoverer-1.0 "$frames/00001.jpg" | sed -n 's/.*Width: //p' | head -1)
gst-launch-1.0 -e multifilesrc location="$frames/%05d.jpg" start-index=1 \
  caps="image/jpeg,framerate=25/1" ! jpegdec ! videoconvert ! tee name=t \
  t. ! queue ! comp.sink_0 \
  t. ! queue ! irconstyle task=derain ! videoconvert ! comp.sink_1 \
  compositor name=comp sink_1::xpos="$w" ! videoconvert ! video/x-raw,format=I420 \
  ! x264enc pass=qual quantizer=18 ! h264parse ! mp4mux ! filesink location="$out"
echo "wrote $out"
