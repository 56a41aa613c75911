#!/bin/sh
# GST_PLUGIN_SCANNER of the sanitize setup: the system gst-plugin-scanner with
# the ASan runtime preloaded, so that it can load our instrumented plugin to
# read its features. It loads every plugin on the machine and exits; leaks of
# those are not ours to check, so LSan is off here (ASan and UBSan stay on).
export LD_PRELOAD="$IRC_ASAN_RUNTIME"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:fast_unwind_on_malloc=1"
exec "$IRC_GST_PLUGIN_SCANNER" "$@"
