#!/usr/bin/env bash
# Builds the model-loader fuzzer with clang (libFuzzer + ASan + UBSan) in
# build-fuzz/ and runs it for SECONDS (default 60) from the committed seed
# corpus. New inputs go to build-fuzz/corpus, findings to build-fuzz/.
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
#   tests/fuzz/run.sh --make-corpus   regenerates tests/fuzz/corpus/
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build-fuzz"
mkdir -p "$out"
CC="${CC_FUZZ:-clang}"
lib_src=("$root/src/error.c" "$root/src/config.c" "$root/src/safetensors.c" "$root/src/model.c")
common=(-std=c11 -D_GNU_SOURCE -g -O1 -I"$root/include" -I"$root/src")

if [ "${1:-}" = "--make-corpus" ]; then
  "$CC" "${common[@]}" -o "$out/make_corpus" "$root/tests/fuzz/make_corpus.c" "${lib_src[@]}" \
    -ljansson -lm
  rm -rf "$root/tests/fuzz/corpus"
  mkdir -p "$root/tests/fuzz/corpus"
  "$out/make_corpus" "$root/tests/fuzz/corpus"
  du -sh "$root/tests/fuzz/corpus"
  exit 0
fi

seconds="${1:-60}"
shift || true
# the library too is instrumented, so coverage guides the fuzzer through it;
# jansson comes from the system, uninstrumented
"$CC" "${common[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -Wall -Wextra -o "$out/fuzz_model" \
  "$root/tests/fuzz/fuzz_model.c" "${lib_src[@]}" -ljansson -lm
mkdir -p "$out/corpus"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# a 1.5 GB RSS cap and a 256 MB single-allocation cap: the loader must never
# let a small file ask for more
exec "$out/fuzz_model" -max_total_time="$seconds" -rss_limit_mb=1536 -malloc_limit_mb=256 \
  -timeout=10 -dict="$root/tests/fuzz/model.dict" -artifact_prefix="$out/" \
  -print_final_stats=1 "$@" "$out/corpus" "$root/tests/fuzz/corpus"
