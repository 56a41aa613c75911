#!/usr/bin/env bash
# One photo (PNG or JPEG) through the element.
#   bash pipelines/still-image.sh noisy.jpg clean.png [task]
set -euo pipefail
source "$(dirname "$0")/env.sh"
in="${1:?usage: $0 INPUT OUTPUT.png [task]}"
out="${2:?usage: $0 INPUT OUTPUT.png [task]}"
task="${3:-denoise}"
gst-launch-1.0 filesrc location="$in" ! decodebin ! videoconvert \
  ! irconstyle task="$task" ! videoconvert ! pngenc ! filesink location="$out"
