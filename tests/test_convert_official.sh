#!/usr/bin/env bash
# A checkpoint shaped like the paper authors' (BasicSR params_ema, their
# tensor names), converted and restored by the element with its defaults,
# matches their code's output within one 8-bit level (convert_official.py).
# Skips (77) without the golden reference, gst-launch-1.0 or a python3 with torch.
set -euo pipefail
restore="$1"
here=$(cd "$(dirname "$0")" && pwd)
refdir="${IRC_SHARED_DIR:-}/golden"
if [ -z "${IRC_SHARED_DIR:-}" ] || [ ! -f "$refdir/reference.py" ]; then
  echo "SKIP: no golden reference (../shared/golden/reference.py)"; exit 77
fi
if ! command -v gst-launch-1.0 >/dev/null; then
  echo "SKIP: no gst-launch-1.0"; exit 77
fi
py=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then py="$p"; break; fi
done
if [ -z "$py" ]; then
  echo "SKIP: no python3 with torch (apt-get install python3-torch)"; exit 77
fi
exec "$py" "$here/convert_official.py" "$refdir" "$here/../src/cli/convert_checkpoint.py" "$restore"
