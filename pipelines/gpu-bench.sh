#!/bin/bash
# The Vulkan backend on a real GPU (BENCHMARKS.md, "Vulkan backend on a GPU"):
# the Vulkan tests, then irc-bench --backend vulkan next to the PyTorch CUDA
# peer (pipelines/torch_gpu_peer.py) on the same GPU, in one run.
#
#   bash pipelines/gpu-bench.sh BUILD_DIR REFERENCE_DIR [LOG_DIR]
#
# BUILD_DIR holds the built irc-bench, irc-stream-bench, test_vulkan and
# test_runner (a meson build folder, or a flat folder of the four); REFERENCE_DIR is
# the golden data's folder holding the PyTorch reference network (reference.py,
# not part of this repository), for the peer. Needs a Vulkan loader and a
# GPU driver that the loader finds; python3 with CUDA PyTorch for the peer.
# Each step's output also goes to LOG_DIR (default: the current folder).
set -u
build=${1:?usage: gpu-bench.sh BUILD_DIR REFERENCE_DIR [LOG_DIR]}
reference=${2:?usage: gpu-bench.sh BUILD_DIR REFERENCE_DIR [LOG_DIR]}
logs=${3:-.}
mkdir -p "$logs"

find_tool () {
  for p in "$build/$1" "$build/src/cli/$1" "$build/tests/$1"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  echo "gpu-bench: no $1 under $build" >&2
  exit 1
}
bench=$(find_tool irc-bench)
stream_bench=$(find_tool irc-stream-bench)
test_vulkan=$(find_tool test_vulkan)
test_runner=$(find_tool test_runner)
failed=0
# the peer's PyTorch brings its own libraries; LD_LIBRARY_PATH may point at
# ones brought for our binaries (a Debian OpenBLAS, libgomp) on that machine
peer=(env -u LD_LIBRARY_PATH python3 pipelines/torch_gpu_peer.py --reference "$reference")

step () {  # step NAME SECONDS COMMAND...: run, log, and note a failure
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  timeout "$limit" "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || { echo "== $name: exit $rc"; failed=1; }
}

nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv 2>/dev/null
# correctness first: the same tests CI runs on lavapipe, on this device
step test-vulkan 240 "$test_vulkan"
step test-runner-vulkan 240 "$test_runner" vulkan
# (3840x2160 untiled needs one storage buffer over the 4 GB that drivers
# allow; the runner tiles it, irc-bench does not)
for size in 1280x720 1920x1080; do
  step "bench-lite16-$size" 120 "$bench" --config lite16 --size "$size" --backend vulkan --reps 20 --fp16
  step "bench-lite16-$size-cached" 120 "$bench" --config lite16 --size "$size" --backend vulkan --reps 20 --cached-code
  # where the time goes: GPU time per pipeline from timestamps around each dispatch
  IRC_VULKAN_PROFILE=1 step "profile-lite16-$size" 120 "$bench" --config lite16 --size "$size" \
    --backend vulkan --reps 20
  h=${size#*x} w=${size%x*}
  step "peer-lite16-$size" 180 "${peer[@]}" --config lite16 --size "${h}x${w}" --reps 20
done
step bench-paper-1920x1080 180 "$bench" --config paper --size 1920x1080 --backend vulkan --reps 5 --fp16
IRC_VULKAN_PROFILE=1 step profile-paper-1920x1080 180 "$bench" --config paper --size 1920x1080 \
  --backend vulkan --reps 3
step peer-paper-1920x1080 180 "${peer[@]}" --config paper --size 1080x1920 --reps 5
# the element's path: the streaming runner, in its default 512-pixel tiles
# and untiled (tile-size=0), 4K only in tiles
for size in 1280x720 1920x1080 3840x2160; do
  for tile in 512 0; do
    [ "$size" = 3840x2160 ] && [ "$tile" = 0 ] && continue
    step "stream-lite16-$size-tile$tile" 180 "$stream_bench" --config lite16 --size "$size" \
      --tile "$tile" --frames 10 --backend vulkan
  done
done
exit $failed
