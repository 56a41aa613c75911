#!/bin/sh
# exe_wrapper of `meson test --setup=sanitize` (a -Db_sanitize=address,undefined
# build). Programs get the ASan runtime preloaded: gst-launch-1.0 is not built
# with it but loads our instrumented plugin, and a preloaded runtime is a no-op
# for the instrumented tests. The Vulkan driver (lavapipe) is preloaded too,
# so that it stays mapped after vkDestroyInstance: otherwise each probe's
# dlclose strands Mesa's pthread_once allocations where LSan cannot name them.
# Scripts (test_restore.sh) run uninstrumented tools whose leaks are not ours:
# they get nothing preloaded, and their irc-restore skips the Vulkan probe.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
asan_rt=${IRC_ASAN_RUNTIME:?the sanitize test setup sets IRC_ASAN_RUNTIME}
if [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; then
  preload="$asan_rt"
  if [ -n "${VK_ICD_FILENAMES:-}" ] && [ -f "$VK_ICD_FILENAMES" ]; then
    lib=$(sed -n 's/.*"library_path"[^"]*"\([^"]*\)".*/\1/p' "$VK_ICD_FILENAMES")
    [ -f "$lib" ] && preload="$preload $lib"
  fi
  export LD_PRELOAD="$preload${LD_PRELOAD:+ $LD_PRELOAD}"
else
  export IRC_VULKAN_LOADER=/nonexistent/libvulkan.so.1
fi
case "$(basename "$1")" in
  test_vulkan)
    # lavapipe's LLVM JIT registers its code's unwind tables under libgcc's
    # FDE lock, which mallocs: the slow unwinder would then re-enter the lock
    # and deadlock. Every allocation there is lavapipe's (preloaded above).
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=1" ;;
  test_element)
    # Its fp16 case would run lavapipe, which needs the fast unwinder above,
    # and the fast unwinder cuts GLib's one-time quark block off from its
    # _dl_init suppression. Without a loader the case takes its no-Vulkan
    # path (a warning naming the cause, CPU output); test_vulkan covers fp16
    # on lavapipe under the sanitizers.
    export IRC_VULKAN_LOADER=/nonexistent/libvulkan.so.1 ;;
esac
# the plugin scanner is a system binary: it too needs the runtime to load us
export GST_PLUGIN_SCANNER="$here/scanner.sh"
exec "$@"
