/* plugin: registers the irconstyle element. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstirconstyle.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (irconstyle, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, irconstyle,
    "Video restoration with IRConStyle (ConStyle-NAFNet): derain, dehaze, denoise, deblur",
    plugin_init, PACKAGE_VERSION, "LGPL", PACKAGE_NAME, PACKAGE_ORIGIN)
