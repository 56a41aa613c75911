/* GstIrconstyle: the irconstyle video filter element. */
#ifndef __GST_IRCONSTYLE_H__
#define __GST_IRCONSTYLE_H__

#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_IRCONSTYLE (gst_irconstyle_get_type ())
G_DECLARE_FINAL_TYPE (GstIrconstyle, gst_irconstyle, GST, IRCONSTYLE, GstVideoFilter)

/**
 * GstIrconstyleTask:
 * @GST_IRCONSTYLE_TASK_DERAIN: remove rain streaks
 * @GST_IRCONSTYLE_TASK_DEHAZE: remove haze
 * @GST_IRCONSTYLE_TASK_DENOISE: remove sensor noise
 * @GST_IRCONSTYLE_TASK_DEBLUR: remove motion blur
 * @GST_IRCONSTYLE_TASK_AUTO: one model for all four degradations
 * @GST_IRCONSTYLE_TASK_DEFOG: remove dense fog
 *
 * Which bundled model restores the video.
 */
typedef enum {
  GST_IRCONSTYLE_TASK_DERAIN,
  GST_IRCONSTYLE_TASK_DEHAZE,
  GST_IRCONSTYLE_TASK_DENOISE,
  GST_IRCONSTYLE_TASK_DEBLUR,
  GST_IRCONSTYLE_TASK_AUTO,
  GST_IRCONSTYLE_TASK_DEFOG,
} GstIrconstyleTask;

/**
 * GstIrconstyleBackend:
 * @GST_IRCONSTYLE_BACKEND_AUTO: a Vulkan GPU when there is one, else the CPU
 * @GST_IRCONSTYLE_BACKEND_CPU: the CPU (OpenBLAS, Orc)
 * @GST_IRCONSTYLE_BACKEND_VULKAN: Vulkan compute
 */
typedef enum {
  GST_IRCONSTYLE_BACKEND_AUTO,
  GST_IRCONSTYLE_BACKEND_CPU,
  GST_IRCONSTYLE_BACKEND_VULKAN,
} GstIrconstyleBackend;

/**
 * GstIrconstylePreset:
 * @GST_IRCONSTYLE_PRESET_QUALITY: the full-size bundled models
 * @GST_IRCONSTYLE_PRESET_REALTIME: the small bundled models made for live
 *   video on a CPU (`TASK-realtime.safetensors`), where a task has one
 *
 * Which family of bundled models the task selects.
 */
typedef enum {
  GST_IRCONSTYLE_PRESET_QUALITY,
  GST_IRCONSTYLE_PRESET_REALTIME,
} GstIrconstylePreset;

GST_ELEMENT_REGISTER_DECLARE (irconstyle);

G_END_DECLS

#endif
