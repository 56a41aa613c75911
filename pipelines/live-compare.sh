#!/usr/bin/env bash
# A live camera with the restored picture next to the original, for judging
# a model on the spot. QoS drops late frames when the CPU cannot keep up.
#   bash pipelines/live-compare.sh [/dev/video0] [task]
set -euo pipefail
source "$(dirname "$0")/env.sh"
dev="${1:-/dev/video0}"
task="${2:-denoise}"
gst-launch-1.0 v4l2src device="$dev" ! videoconvert ! videoscale \
  ! video/x-raw,width=640,height=360 ! tee name=t \
  t. ! queue leaky=downstream max-size-buffers=2 ! comp.sink_0 \
  t. ! queue leaky=downstream max-size-buffers=2 ! irconstyle task="$task" ! videoconvert ! comp.sink_1 \
  compositor name=comp sink_1::xpos=640 ! videoconvert ! autovideosink sync=false
