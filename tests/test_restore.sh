#!/usr/bin/env bash
# irc-restore end to end: a small clip with audio restored to MP4 and MKV,
# an image to PNG; the input is never overwritten; a failure leaves no output.
set -euo pipefail
restore="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gst-launch-1.0 -q videotestsrc num-buffers=12 ! video/x-raw,width=96,height=64,framerate=12/1 \
  ! x264enc ! h264parse ! mp4mux name=m ! filesink location="$tmp/in.mp4" \
  audiotestsrc num-buffers=20 ! audioconvert ! avenc_aac ! m.
gst-launch-1.0 -q videotestsrc num-buffers=1 ! video/x-raw,width=33,height=21 ! pngenc \
  ! filesink location="$tmp/in.png"

"$restore" -q --task denoise "$tmp/in.mp4" "$tmp/out.mp4"
gst-discoverer-1.0 "$tmp/out.mp4" > "$tmp/info"; grep -q "H.264 (High Profile)" "$tmp/info"
gst-discoverer-1.0 "$tmp/out.mp4" > "$tmp/info"; grep -q "MPEG-4 AAC" "$tmp/info"
"$restore" -q "$tmp/in.mp4" "$tmp/out.mkv"
gst-discoverer-1.0 "$tmp/out.mkv" > "$tmp/info"; grep -q "Matroska" "$tmp/info"
# the temporal mode by name; an unknown one is refused
"$restore" -q --temporal rain "$tmp/in.mp4" "$tmp/out-temporal.mkv"
gst-discoverer-1.0 "$tmp/out-temporal.mkv" > "$tmp/info"; grep -q "Matroska" "$tmp/info"
if "$restore" -q --temporal sometimes "$tmp/in.mp4" "$tmp/out-bad.mkv" 2>"$tmp/err"; then exit 1; fi
grep -q "unknown temporal mode" "$tmp/err"
"$restore" -q --task dehaze "$tmp/in.png" "$tmp/out.png"
gst-discoverer-1.0 "$tmp/out.png" > "$tmp/info"; grep -q "Width: 33" "$tmp/info"

# refuses to overwrite the input, and an existing output without --force
if "$restore" -q "$tmp/in.mp4" "$tmp/in.mp4" 2>"$tmp/err"; then exit 1; fi
grep -q "refusing to overwrite the input" "$tmp/err"
if "$restore" -q "$tmp/in.mp4" "$tmp/out.mp4" 2>"$tmp/err"; then exit 1; fi
grep -q "exists" "$tmp/err"

# a bad model: clear error, non-zero exit, no output and no temporary file left
if "$restore" -q --model "$tmp/missing.safetensors" "$tmp/in.mp4" "$tmp/bad.mp4" 2>"$tmp/err"; then
  exit 1
fi
grep -q "missing.safetensors" "$tmp/err"
test ! -e "$tmp/bad.mp4"
test -z "$(find "$tmp" -name '.bad.mp4.*')"
echo "irc-restore: all checks passed"
