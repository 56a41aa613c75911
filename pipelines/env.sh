# env.sh: sourced by the example pipelines. Uses the plugin from the build
# tree (build/) when there is one, else the installed plugin.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -f "$root/build/gst/libgstirconstyle.so" ]; then
  export GST_PLUGIN_PATH="$root/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
  export IRCONSTYLE_MODEL_DIR="${IRCONSTYLE_MODEL_DIR:-$root/build/gst/models}"
  export PATH="$root/build/gst:$root/build/src/cli:$PATH"
fi
if ! gst-inspect-1.0 irconstyle >/dev/null 2>&1; then
  echo "irconstyle plugin not found: build it first (bash pipelines/demo.sh does)" >&2
  exit 1
fi
