#!/usr/bin/env bash
# Installs what is needed, builds from scratch in build/ and runs every test.
# Then (RELIABILITY.md) the same suite in an ASan+UBSan build in
# build-asan/ (the 'sanitize' test setup; suite 'slow' skipped there) and a
# 60 s fuzz of the model loader. IRC_CI_STAGES picks stages (default
# "normal sanitize fuzz"). Ends with "N passed, N failed, N skipped" over all
# stages; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
stages="${IRC_CI_STAGES:-normal sanitize fuzz}"
bash .ci/install-deps || { echo "0 passed, 1 failed"; exit 1; }

# Configures (or reconfigures) build directory $1 with options $2...
setup () {
  local dir="$1"
  shift
  if [ -d "$dir" ] && [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}

logs=()
extra_failed=0
status=0

if [[ " $stages " == *" normal "* ]]; then
  if setup build && ninja -C build; then
    # our own log name: a developer's `meson test` in the same tree does not
    # then rewrite the file this summary reads
    meson test -C build --logbase ci --print-errorlogs --num-processes "$(nproc)" "$@" \
      || status=1
    logs+=(build/meson-logs/ci.json)
  else
    extra_failed=$((extra_failed + 1))
    status=1
  fi
fi

# --- sanitizer and fuzz stages ---
if [[ " $stages " == *" sanitize "* ]]; then
  echo "== sanitizers: the suite in an ASan+UBSan build (build-asan/) =="
  if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-asan; then
    # meson appends the setup's name: build-asan/meson-logs/ci-sanitize.json
    meson test -C build-asan --setup=sanitize --logbase ci --print-errorlogs \
      --num-processes "$(nproc)" "$@" || status=1
    logs+=(build-asan/meson-logs/ci-sanitize.json)
  else
    extra_failed=$((extra_failed + 1))
    status=1
  fi
fi
fuzz_passed=0
if [[ " $stages " == *" fuzz "* ]]; then
  echo "== fuzz: the model loader for 60 s (tests/fuzz/run.sh) =="
  mkdir -p build-fuzz
  if bash tests/fuzz/run.sh 60 > build-fuzz/ci.log 2>&1; then
    fuzz_passed=1
    grep -E '^(Done|stat::number_of_executed_units)' build-fuzz/ci.log
  else
    tail -n 60 build-fuzz/ci.log
    extra_failed=$((extra_failed + 1))
    status=1
  fi
fi
# --- end sanitizer and fuzz stages ---

python3 - "$status" "$extra_failed" "$fuzz_passed" "${logs[@]}" <<'PY'
import json, sys
counts = {"passed": int(sys.argv[3]), "failed": int(sys.argv[2]), "skipped": 0}
seen_failure = counts["failed"] > 0
for path in sys.argv[4:]:
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif r == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
            seen_failure = True
if not seen_failure and int(sys.argv[1]) != 0:
    counts["failed"] += 1   # meson itself failed
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status
