/* backend_vulkan_none: the Vulkan backend's entry points in a build without
 * glslc or the Vulkan headers: requesting it fails with a clear message. */
#include "backend.h"
#include "error.h"

#include <string.h>

irc_status
irc_backend_vulkan_new (const irc_weights *w, int cap_h, int cap_w,
    const irc_vulkan_params *params, irc_backend **out, irc_error *err)
{
  (void) w, (void) cap_h, (void) cap_w, (void) params, (void) out;
  return irc_fail (err, IRC_ERR_UNSUPPORTED,
      "vulkan: this libirc was built without the Vulkan backend (-Dvulkan=disabled, or glslc or the vulkan headers missing)");
}

void
irc_backend_vulkan_counters (irc_vulkan_counters *out)
{
  memset (out, 0, sizeof *out);
}
