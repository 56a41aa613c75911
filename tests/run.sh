#!/usr/bin/env bash
# Installs what is needed, builds from scratch in build/ and runs every test.
# Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps || { echo "0 passed, 1 failed"; exit 1; }
if [ -d build ] && [ -f build/build.ninja ]; then
  meson setup --reconfigure build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
else
  rm -rf build
  meson setup build || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C build || { echo "0 passed, 1 failed"; exit 1; }
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@"
status=$?
python3 - build/meson-logs/testlog.json "$status" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        counts["passed"] += 1
    elif r == "SKIP":
        counts["skipped"] += 1
    else:
        counts["failed"] += 1
if counts["failed"] == 0 and int(sys.argv[2]) != 0:
    counts["failed"] = 1   # meson itself failed
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status
