#!/usr/bin/env bash
# The main job on the bundled default, from a fresh Debian machine:
# installs the packages, builds, renders the project's own clean sample
# drive, degrades it (irc-degrade: sensor noise for the default denoise
# task, rain for derain...), restores the clip with the
# irconstyle element (irc-restore), then prints fps and PSNR against the
# clean source and writes a degraded | restored | clean side-by-side PNG.
#   bash pipelines/demo.sh [task]   (denoise, the default; derain, dehaze, deblur, auto)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
task="${1:-denoise}"
bash .ci/install-deps
if [ ! -f build/build.ninja ]; then
  meson setup build
fi
ninja -C build
source pipelines/env.sh

out="$root/demo-output"
rm -rf "$out"
mkdir -p "$out"
w=640 h=360 n=48
echo "== rendering a clean ${w}x${h} sample drive ($n frames)"
irc-sample --size "${w}x${h}" --frames "$n" "$out/clean"
case "$task" in
  derain) degrade=rain-heavy ;;
  dehaze) degrade=haze ;;
  denoise) degrade=noise ;;
  deblur) degrade=blur ;;
  *) degrade=mix ;;
esac
echo "== degrading it ($degrade)"
irc-degrade --task "$degrade" --frames --seed 7 "$out/clean" "$out/degraded"

encode() {   # PNG frames -> lossless-enough H.264 clip
  gst-launch-1.0 -q multifilesrc location="$1/%05d.png" start-index=1 \
    caps="image/png,framerate=24/1" ! pngdec ! videoconvert ! video/x-raw,format=I420 \
    ! x264enc pass=qual quantizer=10 ! h264parse ! mp4mux ! filesink location="$2"
}
decode() {   # clip -> PNG frames, to measure what a viewer sees
  mkdir -p "$2"
  gst-launch-1.0 -q filesrc location="$1" ! decodebin ! videoconvert ! video/x-raw,format=RGB \
    ! pngenc ! multifilesink location="$2/%05d.png" index=1
}
encode "$out/degraded" "$out/degraded.mp4"

echo "== restoring with: irc-restore --task $task degraded.mp4 restored.mp4"
irc-restore --task "$task" "$out/degraded.mp4" "$out/restored.mp4"

decode "$out/degraded.mp4" "$out/degraded-decoded"
decode "$out/restored.mp4" "$out/restored-decoded"
echo "== quality against the clean source (mean over $n frames)"
mean_of() { awk '/^mean/ { printf "PSNR %.2f dB, SSIM %.4f (RGB)", $2, $3 }'; }
before=$(irc-eval --compare "$out/degraded-decoded" "$out/clean" | mean_of)
after=$(irc-eval --compare "$out/restored-decoded" "$out/clean" | mean_of)
echo "degraded vs clean: $before"
echo "restored vs clean: $after"

mid=$(printf "%05d" $((n / 2)))
gst-launch-1.0 -q compositor name=c sink_1::xpos=$w sink_2::xpos=$((2 * w)) \
    ! videoconvert ! pngenc ! filesink location="$out/side-by-side.png" \
  filesrc location="$out/degraded-decoded/$mid.png" ! pngdec ! imagefreeze num-buffers=1 ! videoconvert ! c.sink_0 \
  filesrc location="$out/restored-decoded/$mid.png" ! pngdec ! imagefreeze num-buffers=1 ! videoconvert ! c.sink_1 \
  filesrc location="$out/clean/$mid.png" ! pngdec ! imagefreeze num-buffers=1 ! videoconvert ! c.sink_2
echo "== results in $out:"
echo "   degraded.mp4, restored.mp4, side-by-side.png (degraded | restored | clean, frame $mid)"
