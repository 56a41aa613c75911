#!/usr/bin/env bash
# Dashcam footage shot through rain: remove the streaks, keep the audio.
#   bash pipelines/dashcam-derain.sh rainy-drive.mp4 clean-drive.mp4
# Any container decodebin reads in; H.264 in MP4 out. Audio, when present,
# is re-encoded to AAC next to the restored video (a muxer pad that never
# gets data would stall the mux, so the branch is added only when the file
# has audio). irc-restore does the same with a progress bar.
set -euo pipefail
source "$(dirname "$0")/env.sh"
in="${1:?usage: $0 INPUT OUTPUT.mp4}"
out="${2:?usage: $0 INPUT OUTPUT.mp4}"
audio=()
if gst-discoverer-1.0 "$in" | grep -q "audio #"; then
  audio=(dec. ! queue ! audioconvert ! audioresample ! avenc_aac ! mux.)
fi
gst-launch-1.0 -e filesrc location="$in" ! decodebin name=dec \
  dec. ! queue ! videoconvert ! irconstyle task=derain ! videoconvert \
    ! video/x-raw,format=I420 ! x264enc pass=qual quantizer=20 ! h264parse ! queue ! mp4mux name=mux \
    ! filesink location="$out" \
  "${audio[@]}"
