/* GstIrconstyle: a GstVideoFilter around libirc's streaming runner. The
 * element only maps caps, properties, events and errors; the maths lives in
 * libirc. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstirconstyle.h"

#include <irc/irc.h>
#include <irc/runner.h>
#include <irc/temporal.h>

GST_DEBUG_CATEGORY_STATIC (gst_irconstyle_debug);
#define GST_CAT_DEFAULT gst_irconstyle_debug

#define DEFAULT_TASK GST_IRCONSTYLE_TASK_DERAIN
#define DEFAULT_BACKEND GST_IRCONSTYLE_BACKEND_AUTO
#define DEFAULT_DEVICE -1
#define DEFAULT_TILE_SIZE 512
#define DEFAULT_TILE_OVERLAP 48
#define DEFAULT_SCENE_THRESHOLD 0.3f
#define DEFAULT_STYLE_INTERVAL 0
#define DEFAULT_THREADS 0
#define DEFAULT_FP16 FALSE
#define DEFAULT_TLC_WINDOW 0
#define DEFAULT_TEMPORAL IRC_TEMPORAL_OFF

enum
{
  PROP_0,
  PROP_TASK,
  PROP_PRESET,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_DEVICE,
  PROP_TILE_SIZE,
  PROP_TILE_OVERLAP,
  PROP_SCENE_THRESHOLD,
  PROP_STYLE_INTERVAL,
  PROP_THREADS,
  PROP_FP16,
  PROP_TLC_WINDOW,
  PROP_PER_FRAME_ATTENTION,
  PROP_ATTENTION_MAPS,
  PROP_BACKEND_IN_USE,
  PROP_FRAMES_PROCESSED,
  PROP_SCENES_DETECTED,
  PROP_DEGRADATION,
  PROP_DEGRADATION_CONFIDENCE,
  PROP_TEMPORAL,
  PROP_TEMPORAL_HISTORY,
};

struct _GstIrconstyle
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  GstIrconstyleTask task;
  GstIrconstylePreset preset;
  gchar *model_path;
  GstIrconstyleBackend backend;
  gint device;
  gint tile_size;
  gint tile_overlap;
  gfloat scene_threshold;
  gint style_interval;
  gint threads;
  gboolean fp16;
  gint tlc_window;              /* 0 = the model's, -1 = global, N pixels */
  gboolean per_frame_attention;
  gboolean attention_maps;
  gboolean reload;              /* task, preset or model changed */
  gboolean reconfigure;         /* a runner setting changed */
  guint64 frames_processed;
  guint64 scenes_detected;
  gchar *backend_in_use;

  gchar *degradation;           /* the current scene's reading, "unknown" before one */
  gdouble degradation_confidence;

  /* streaming state, touched by the streaming thread and start/stop only */
  irc_model *detector;          /* reads each scene's degradation; NULL: none */
  irc_model *routes[IRC_DEGRADATION_KINDS];     /* task=auto: the per-task models */
  irc_model *model;
  irc_runner *runner;
  GstClockTime frame_time;      /* duration of the last frame's processing */

  /* temporal mode (libirc's irc/temporal.h), after the network */
  gint temporal;                /* irc_temporal_mode; property, under the object lock */
  gboolean temporal_changed;    /* property set since the filter was configured */
  gint temporal_history;        /* past frames the last frame was compared with */
  irc_temporal *tfilter;        /* NULL when off; streaming thread only */
  const irc_runner *t_runner;   /* the runner whose output the history holds */
  GstClockTime t_expected;      /* PTS the next frame should have, or NONE */
};

/* progressive frames of the runner's formats, up to its 16384-pixel sides */
#define CAPS "video/x-raw, format = (string) { RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, " \
    "BGRA, ARGB, ABGR, I420, NV12 }, width = (int) [ 1, 16384 ], height = (int) [ 1, 16384 ], " \
    "framerate = (fraction) [ 0, max ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS));

#define gst_irconstyle_parent_class parent_class
G_DEFINE_TYPE (GstIrconstyle, gst_irconstyle, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (irconstyle, "irconstyle", GST_RANK_NONE, GST_TYPE_IRCONSTYLE);

static const gchar *const task_names[] = {"derain", "dehaze", "denoise", "deblur", "auto",
  "defog"};

#define GST_TYPE_IRCONSTYLE_TASK (gst_irconstyle_task_get_type ())
static GType
gst_irconstyle_task_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_IRCONSTYLE_TASK_DERAIN, "Remove rain streaks", "derain"},
    {GST_IRCONSTYLE_TASK_DEHAZE, "Remove haze", "dehaze"},
    {GST_IRCONSTYLE_TASK_DENOISE, "Remove sensor noise", "denoise"},
    {GST_IRCONSTYLE_TASK_DEBLUR, "Remove motion blur", "deblur"},
    {GST_IRCONSTYLE_TASK_AUTO, "Whatever each scene holds: the degradation detector reads "
          "it once per scene and routes the scene to the model for that degradation; clean "
          "scenes, mixtures and doubtful readings go to the all-in-one model",
        "auto"},
    {GST_IRCONSTYLE_TASK_DEFOG, "Remove dense fog (thick, patchy, little of the scene left: "
          "the dehaze model trained on dense fog as well; on light haze dehaze is better)",
        "defog"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstIrconstyleTask", values));
  return type;
}

#define GST_TYPE_IRCONSTYLE_PRESET (gst_irconstyle_preset_get_type ())
static GType
gst_irconstyle_preset_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_IRCONSTYLE_PRESET_QUALITY, "The full-size models (lite16: 1.66 M parameters, "
          "76 k MAC per pixel; about 2.5 frames/s at 640x360 on 2 CPU cores)", "quality"},
    {GST_IRCONSTYLE_PRESET_REALTIME, "Smaller, faster models where the task has one "
          "(derain and denoise: 0.41 M parameters, 19 k MAC per pixel; about 7.5 frames/s "
          "at 640x360 on 2 CPU cores, for less of the quality gain: MODELS.md); other tasks "
          "keep their quality model, with a warning", "realtime"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstIrconstylePreset", values));
  return type;
}

#define GST_TYPE_IRCONSTYLE_BACKEND (gst_irconstyle_backend_get_type ())
static GType
gst_irconstyle_backend_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_IRCONSTYLE_BACKEND_AUTO, "A Vulkan GPU when there is one, else the CPU", "auto"},
    {GST_IRCONSTYLE_BACKEND_CPU, "The CPU", "cpu"},
    {GST_IRCONSTYLE_BACKEND_VULKAN, "Vulkan compute (falls back to the CPU with a warning)",
        "vulkan"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstIrconstyleBackend", values));
  return type;
}

#define GST_TYPE_IRCONSTYLE_TEMPORAL (gst_irconstyle_temporal_get_type ())
static GType
gst_irconstyle_temporal_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {IRC_TEMPORAL_OFF, "Each frame on its own", "off"},
    {IRC_TEMPORAL_RAIN, "Rain streaks on a static or panning view replaced from past frames; "
          "static pixels averaged over them", "rain"},
    {IRC_TEMPORAL_NOISE, "Static pixels averaged over past frames (noise only)", "noise"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstIrconstyleTemporal", values));
  return type;
}

/* Where the bundled model of @task lives: $IRCONSTYLE_MODEL_DIR (set by
 * `meson devenv` to the build tree) or the install directory. */
static gchar *
bundled_file_path (const gchar * stem)
{
  const gchar *dir = g_getenv ("IRCONSTYLE_MODEL_DIR");
  gchar *file = g_strdup_printf ("%s.safetensors", stem);
  gchar *path = g_build_filename (dir && *dir ? dir : IRC_MODEL_DIR, file, NULL);
  g_free (file);
  return path;
}

/* The bundled model of @task in @preset: TASK-realtime.safetensors for
 * the realtime preset where the task has one, else TASK.safetensors (then
 * @fell_back, when given, says the realtime preset had none). */
static gchar *
bundled_model_path (GstIrconstyleTask task, GstIrconstylePreset preset, gboolean * fell_back)
{
  if (fell_back)
    *fell_back = FALSE;
  if (preset == GST_IRCONSTYLE_PRESET_REALTIME) {
    gchar *stem = g_strdup_printf ("%s-realtime", task_names[task]);
    gchar *path = bundled_file_path (stem);
    g_free (stem);
    if (g_file_test (path, G_FILE_TEST_EXISTS))
      return path;
    g_free (path);
    if (fell_back)
      *fell_back = TRUE;
  }
  return bundled_file_path (task_names[task]);
}

/* Loads the model the properties name; on failure returns FALSE with a
 * message in @message. */
static gboolean
load_model (GstIrconstyle * self, irc_model ** out, gchar ** message)
{
  GST_OBJECT_LOCK (self);
  const GstIrconstyleTask task = self->task;
  gboolean fell_back = FALSE;
  gchar *path = self->model_path && *self->model_path ? g_strdup (self->model_path)
      : bundled_model_path (task, self->preset, &fell_back);
  GST_OBJECT_UNLOCK (self);
  if (fell_back)
    GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
        ("No realtime model for task %s; using its quality model", task_names[task]),
        ("no %s-realtime.safetensors among the bundled models", task_names[task]));
  irc_error err = { 0 };
  irc_status st = irc_model_load (path, NULL, out, &err);
  if (st != IRC_OK) {
    *message = g_strdup (err.message);
    g_free (path);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "loaded model %s", path);
  g_free (path);
  return TRUE;
}

/* The per-kind models task=auto routes scenes to, in the order of
 * irc_degradation_kind: rain, haze, noise, blur. */
static const GstIrconstyleTask route_tasks[IRC_DEGRADATION_KINDS] = {
  GST_IRCONSTYLE_TASK_DERAIN, GST_IRCONSTYLE_TASK_DEHAZE, GST_IRCONSTYLE_TASK_DENOISE,
  GST_IRCONSTYLE_TASK_DEBLUR,
};

static void
free_helpers (GstIrconstyle * self)
{
  irc_model_free (&self->detector);
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
    irc_model_free (&self->routes[k]);
}

/* The models beside the restoring one: the degradation detector (the
 * bundled detect.safetensors, unless the model has a head of its own), and
 * for task=auto with its bundled model the per-task models it routes
 * scenes to. A missing or broken helper is not fatal: the scene's reading
 * is then "unknown", or auto restores every scene with its own model. */
static void
load_helpers (GstIrconstyle * self)
{
  free_helpers (self);
  GST_OBJECT_LOCK (self);
  const GstIrconstyleTask task = self->task;
  const GstIrconstylePreset preset = self->preset;
  const gboolean bundled = !(self->model_path && *self->model_path);
  GST_OBJECT_UNLOCK (self);
  irc_error err = { 0 };
  if (!irc_model_has_degradation_head (self->model)) {
    gchar *path = bundled_file_path ("detect");
    if (irc_model_load (path, NULL, &self->detector, &err) != IRC_OK)
      GST_WARNING_OBJECT (self, "no degradation detector (%s): scenes read 'unknown'",
          err.message);
    else if (!irc_model_has_degradation_head (self->detector)) {
      GST_WARNING_OBJECT (self, "%s has no degradation head: scenes read 'unknown'", path);
      irc_model_free (&self->detector);
    }
    g_free (path);
  }
  if (task != GST_IRCONSTYLE_TASK_AUTO || !bundled)
    return;
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++) {
    gchar *path = bundled_model_path (route_tasks[k], preset, NULL);
    memset (&err, 0, sizeof err);
    if (irc_model_load (path, NULL, &self->routes[k], &err) != IRC_OK)
      GST_WARNING_OBJECT (self, "auto: no %s model to route to (%s)", task_names[route_tasks[k]],
          err.message);
    g_free (path);
  }
}

static irc_backend_kind
backend_kind (GstIrconstyleBackend b)
{
  return b == GST_IRCONSTYLE_BACKEND_CPU ? IRC_BACKEND_CPU
      : b == GST_IRCONSTYLE_BACKEND_VULKAN ? IRC_BACKEND_VULKAN : IRC_BACKEND_AUTO;
}

static const gchar *
backend_name (irc_backend_kind k)
{
  return k == IRC_BACKEND_VULKAN ? "vulkan" : k == IRC_BACKEND_REFERENCE ? "reference" : "cpu";
}

static gboolean
format_to_irc (GstVideoFormat f, irc_pixel_format * out)
{
  static const struct
  {
    GstVideoFormat gst;
    irc_pixel_format irc;
  } map[] = {
    {GST_VIDEO_FORMAT_RGB, IRC_FORMAT_RGB}, {GST_VIDEO_FORMAT_BGR, IRC_FORMAT_BGR},
    {GST_VIDEO_FORMAT_RGBx, IRC_FORMAT_RGBx}, {GST_VIDEO_FORMAT_BGRx, IRC_FORMAT_BGRx},
    {GST_VIDEO_FORMAT_xRGB, IRC_FORMAT_xRGB}, {GST_VIDEO_FORMAT_xBGR, IRC_FORMAT_xBGR},
    {GST_VIDEO_FORMAT_RGBA, IRC_FORMAT_RGBA}, {GST_VIDEO_FORMAT_BGRA, IRC_FORMAT_BGRA},
    {GST_VIDEO_FORMAT_ARGB, IRC_FORMAT_ARGB}, {GST_VIDEO_FORMAT_ABGR, IRC_FORMAT_ABGR},
    {GST_VIDEO_FORMAT_I420, IRC_FORMAT_I420}, {GST_VIDEO_FORMAT_NV12, IRC_FORMAT_NV12},
  };
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (map[i].gst == f) {
      *out = map[i].irc;
      return TRUE;
    }
  return FALSE;
}

/* (Re)creates the runner for @info with the current properties. */
static gboolean
configure_runner (GstIrconstyle * self, const GstVideoInfo * info)
{
  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  if (!format_to_irc (GST_VIDEO_INFO_FORMAT (info), &p.format)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Unsupported video format %s",
            gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (info))), (NULL));
    return FALSE;
  }
  p.width = GST_VIDEO_INFO_WIDTH (info);
  p.height = GST_VIDEO_INFO_HEIGHT (info);
  p.matrix = GST_VIDEO_INFO_COLORIMETRY (info).matrix == GST_VIDEO_COLOR_MATRIX_BT601
      ? IRC_MATRIX_BT601 : IRC_MATRIX_BT709;
  p.full_range = GST_VIDEO_INFO_COLORIMETRY (info).range == GST_VIDEO_COLOR_RANGE_0_255;
  GST_OBJECT_LOCK (self);
  const GstIrconstyleBackend requested = self->backend;
  p.backend = backend_kind (self->backend);
  p.device = self->device;
  /* the runner's smallest tile is 16 pixels */
  p.tile_size = self->tile_size > 0 && self->tile_size < 16 ? 16 : self->tile_size;
  p.tile_overlap = self->tile_overlap;
  p.scene_threshold = self->scene_threshold;
  p.style_interval = self->style_interval;
  p.threads = self->threads;
  p.vulkan_fp16 = self->fp16;
  p.tlc_window = self->tlc_window;
  p.per_frame_attention = self->per_frame_attention;
  p.window_maps = self->attention_maps;
  self->reconfigure = FALSE;
  p.detector = self->detector;
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
    p.routes[k] = self->routes[k];
  /* a scene read as clean still goes through the all-in-one model, which
   * leaves clean footage nearly as it is: passing it through untouched
   * would leave a misread degradation (haze read as clean, measured on the
   * real haze pairs) wholly in place */
  p.route_clean = 0;
  GST_OBJECT_UNLOCK (self);

  irc_runner_free (&self->runner);
  irc_error err = { 0 };
  irc_status st = irc_runner_new (self->model, &p, &self->runner, &err);
  if (st != IRC_OK && requested == GST_IRCONSTYLE_BACKEND_VULKAN) {
    GST_ELEMENT_WARNING (self, RESOURCE, FAILED,
        ("Vulkan is not available, falling back to the CPU"), ("%s", err.message));
    p.backend = IRC_BACKEND_CPU;
    memset (&err, 0, sizeof err);
    st = irc_runner_new (self->model, &p, &self->runner, &err);
  }
  if (st != IRC_OK) {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        ("Cannot set up restoration for %dx%d %s video", p.width, p.height,
            irc_pixel_format_name (p.format)), ("%s", err.message));
    return FALSE;
  }
  /* settings the runner could not take as given: what it does instead */
  const char *note = irc_runner_warning (self->runner);
  if (note)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Restoration settings adjusted for %dx%d video: %s", p.width, p.height, note), (NULL));
  const gint window = p.tlc_window > 0 ? p.tlc_window : p.tlc_window < 0 ? 0
      : irc_model_tlc_window (self->model);
  const gboolean tiled = p.tile_size > 0 && (p.width > p.tile_size || p.height > p.tile_size);
  GST_INFO_OBJECT (self, "attention window %d px (0: global pool%s)", window,
      tiled ? ", over each tile" : "");
  GST_OBJECT_LOCK (self);
  g_free (self->backend_in_use);
  self->backend_in_use = g_strdup (backend_name (irc_runner_backend (self->runner)));
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "configured %dx%d %s on %s", p.width, p.height,
      irc_pixel_format_name (p.format), backend_name (irc_runner_backend (self->runner)));
  return TRUE;
}

static gboolean
gst_irconstyle_start (GstBaseTransform * trans)
{
  GstIrconstyle *self = GST_IRCONSTYLE (trans);
  gchar *message = NULL;
  if (!load_model (self, &self->model, &message)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("Cannot load the restoration model"),
        ("%s", message));
    g_free (message);
    return FALSE;
  }
  load_helpers (self);
  GST_OBJECT_LOCK (self);
  self->reload = FALSE;
  self->frames_processed = 0;
  self->scenes_detected = 0;
  g_free (self->degradation);
  self->degradation = g_strdup ("unknown");
  self->degradation_confidence = 0.0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_irconstyle_stop (GstBaseTransform * trans)
{
  GstIrconstyle *self = GST_IRCONSTYLE (trans);
  irc_runner_free (&self->runner);
  irc_model_free (&self->model);
  free_helpers (self);
  irc_temporal_free (&self->tfilter);
  return TRUE;
}

static gboolean temporal_configure (GstIrconstyle * self, const GstVideoInfo * info);

static gboolean
gst_irconstyle_set_info (GstVideoFilter * filter, GstCaps * incaps, GstVideoInfo * in_info,
    GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstIrconstyle *self = GST_IRCONSTYLE (filter);
  (void) incaps, (void) outcaps;
  if (GST_VIDEO_INFO_IS_INTERLACED (in_info)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Interlaced video is not supported"),
        ("deinterlace first, e.g. with the deinterlace element"));
    return FALSE;
  }
  if (GST_VIDEO_INFO_FORMAT (in_info) != GST_VIDEO_INFO_FORMAT (out_info)
      || in_info->width != out_info->width || in_info->height != out_info->height) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Input and output caps must match"), (NULL));
    return FALSE;
  }
  return configure_runner (self, in_info) && temporal_configure (self, in_info);
}

/* Applies property changes made while playing: at the next frame, or
 * refused with a warning (the previous model stays). */
static gboolean
apply_pending (GstIrconstyle * self, GstVideoFilter * filter)
{
  GST_OBJECT_LOCK (self);
  const gboolean reload = self->reload, reconf = self->reconfigure;
  self->reload = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (reload) {
    irc_model *m = NULL;
    gchar *message = NULL;
    if (load_model (self, &m, &message)) {
      irc_runner_free (&self->runner);
      irc_model_free (&self->model);
      self->model = m;
      load_helpers (self);
    } else {
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ,
          ("Cannot load the new model; keeping the current one"), ("%s", message));
      g_free (message);
    }
  }
  if (reload || reconf || !self->runner)
    return configure_runner (self, &filter->in_info);
  return TRUE;
}

/* --- temporal mode: libirc's temporal filter on the network's output --- */

/* Forgets the past frames (the next frame starts a new history). */
static void
temporal_forget (GstIrconstyle * self, const gchar * why)
{
  if (self->tfilter) {
    GST_DEBUG_OBJECT (self, "temporal: %s, forgetting the past frames", why);
    irc_temporal_reset (self->tfilter);
  }
  self->t_expected = GST_CLOCK_TIME_NONE;
}

/* (Re)creates the temporal filter for @info with the current mode: new caps
 * or a new mode start with no history. */
static gboolean
temporal_configure (GstIrconstyle * self, const GstVideoInfo * info)
{
  irc_temporal_params p = IRC_TEMPORAL_DEFAULTS;
  GST_OBJECT_LOCK (self);
  p.mode = (irc_temporal_mode) self->temporal;
  self->temporal_changed = FALSE;
  self->temporal_history = 0;
  GST_OBJECT_UNLOCK (self);
  irc_temporal_free (&self->tfilter);
  self->t_runner = self->runner;
  self->t_expected = GST_CLOCK_TIME_NONE;
  if (p.mode == IRC_TEMPORAL_OFF)
    return TRUE;
  if (!format_to_irc (GST_VIDEO_INFO_FORMAT (info), &p.format))
    return FALSE;
  p.width = GST_VIDEO_INFO_WIDTH (info);
  p.height = GST_VIDEO_INFO_HEIGHT (info);
  p.matrix = GST_VIDEO_INFO_COLORIMETRY (info).matrix == GST_VIDEO_COLOR_MATRIX_BT601
      ? IRC_MATRIX_BT601 : IRC_MATRIX_BT709;
  p.full_range = GST_VIDEO_INFO_COLORIMETRY (info).range == GST_VIDEO_COLOR_RANGE_0_255;
  irc_error err = { 0 };
  if (irc_temporal_new (&p, &self->tfilter, &err) != IRC_OK) {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        ("Cannot set up the temporal mode for %dx%d video", p.width, p.height),
        ("%s", err.message));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "temporal mode %s", irc_temporal_mode_name (p.mode));
  return TRUE;
}

/* Runs the temporal filter on @out, the network's output for @inbuf (in
 * place). Past frames never carry over a scene cut, a discontinuity, a
 * gap in the timestamps (a frame dropped upstream or by QoS), a new
 * runner (model or settings changed) or, through the sink event handler, a
 * flush. */
static gboolean
temporal_apply (GstIrconstyle * self, GstVideoFilter * filter, GstBuffer * inbuf,
    irc_frame * out, const irc_frame_result * res)
{
  GST_OBJECT_LOCK (self);
  const gboolean changed = self->temporal_changed;
  GST_OBJECT_UNLOCK (self);
  if (changed && !temporal_configure (self, &filter->in_info))
    return FALSE;
  if (!self->tfilter)
    return TRUE;
  const GstClockTime pts = GST_BUFFER_PTS (inbuf);
  GstClockTime dur = GST_BUFFER_DURATION (inbuf);
  if (!GST_CLOCK_TIME_IS_VALID (dur) && filter->in_info.fps_n > 0)
    dur = gst_util_uint64_scale_int (GST_SECOND, filter->in_info.fps_d, filter->in_info.fps_n);
  if (res->scene_cut)
    temporal_forget (self, "scene cut");
  else if (GST_BUFFER_IS_DISCONT (inbuf))
    temporal_forget (self, "discontinuity");
  else if (self->runner != self->t_runner)
    temporal_forget (self, "restoration reconfigured");
  else if (GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (self->t_expected)
      && GST_CLOCK_TIME_IS_VALID (dur)
      && (pts > self->t_expected + dur / 2 || pts + dur / 2 < self->t_expected))
    temporal_forget (self, "gap in the timestamps (a dropped frame)");
  self->t_runner = self->runner;
  self->t_expected = GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (dur)
      ? pts + dur : GST_CLOCK_TIME_NONE;
  irc_temporal_result tr;
  irc_error err = { 0 };
  if (irc_temporal_process (self->tfilter, out, &tr, &err) != IRC_OK) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Temporal filtering failed"), ("%s", err.message));
    return FALSE;
  }
  GST_LOG_OBJECT (self, "temporal: %d past frames, shift %+.2f %+.2f, %.1f%% replaced, %.1f%% "
      "averaged, %.1f%% kept as motion", tr.history, tr.shift_x, tr.shift_y,
      100.0 * tr.replaced, 100.0 * tr.averaged, 100.0 * tr.moving);
  GST_OBJECT_LOCK (self);
  self->temporal_history = tr.history;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* --- end temporal mode --- */

static GstFlowReturn
gst_irconstyle_transform_frame (GstVideoFilter * filter, GstVideoFrame * inframe,
    GstVideoFrame * outframe)
{
  GstIrconstyle *self = GST_IRCONSTYLE (filter);
  if (!apply_pending (self, filter))
    return GST_FLOW_ERROR;
  irc_frame in = { {NULL}, {0} }, out = { {NULL}, {0} };
  for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES (inframe) && i < 3; i++) {
    in.data[i] = GST_VIDEO_FRAME_PLANE_DATA (inframe, i);
    in.stride[i] = GST_VIDEO_FRAME_PLANE_STRIDE (inframe, i);
    out.data[i] = GST_VIDEO_FRAME_PLANE_DATA (outframe, i);
    out.stride[i] = GST_VIDEO_FRAME_PLANE_STRIDE (outframe, i);
  }
  irc_frame_result res;
  irc_error err = { 0 };
  const gint64 t0 = g_get_monotonic_time ();
  if (irc_runner_process (self->runner, &in, &out, &res, &err) != IRC_OK) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Restoration failed"), ("%s", err.message));
    return GST_FLOW_ERROR;
  }
  if (!temporal_apply (self, filter, inframe->buffer, &out, &res))
    return GST_FLOW_ERROR;
  self->frame_time = (g_get_monotonic_time () - t0) * GST_USECOND;
  char reading[64];
  irc_degradation_name (res.degradation.known, res.degradation.kinds, reading, sizeof reading);
  GST_OBJECT_LOCK (self);
  const guint64 frame_no = self->frames_processed++;
  if (res.scene_cut)
    self->scenes_detected++;
  if (res.style_pass) {
    g_free (self->degradation);
    self->degradation = g_strdup (reading);
    self->degradation_confidence = res.degradation.confidence;
  }
  GST_OBJECT_UNLOCK (self);
  if (res.scene_cut) {
    GstBaseTransform *trans = GST_BASE_TRANSFORM (filter);
    const GstClockTime rt = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME,
        GST_BUFFER_PTS (inframe->buffer));
    GstStructure *s = gst_structure_new ("irconstyle-scene",
        "frame", G_TYPE_UINT64, frame_no,
        "running-time", G_TYPE_UINT64, (guint64) rt,
        "score", G_TYPE_FLOAT, res.scene_score,
        "degradation", G_TYPE_STRING, reading,
        "confidence", G_TYPE_DOUBLE, (gdouble) res.degradation.confidence,
        "restored-by", G_TYPE_STRING, res.route == IRC_ROUTE_CLEAN ? "passthrough"
        : res.route >= 0 ? task_names[route_tasks[res.route]] : "model", NULL);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
  return GST_FLOW_OK;
}

static gboolean
gst_irconstyle_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstIrconstyle *self = GST_IRCONSTYLE (trans);
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP && self->runner) {
    /* a seek: the next frame may be anywhere, so it starts a scene */
    GST_DEBUG_OBJECT (self, "flush: forgetting the scene");
    irc_runner_reset (self->runner);
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    temporal_forget (self, "flush");
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Our processing time adds to the pipeline's latency: a live pipeline needs
 * to know a frame leaves this element that much later. */
static gboolean
gst_irconstyle_query (GstBaseTransform * trans, GstPadDirection direction, GstQuery * query)
{
  GstIrconstyle *self = GST_IRCONSTYLE (trans);
  gboolean ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query);
  if (ret && direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency (query, &live, &min, &max);
    const GstClockTime ours = self->frame_time;
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += ours;
    gst_query_set_latency (query, live, min, max);
    GST_DEBUG_OBJECT (self, "latency: adding %" GST_TIME_FORMAT, GST_TIME_ARGS (ours));
  }
  return ret;
}

static void
gst_irconstyle_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstIrconstyle *self = GST_IRCONSTYLE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TASK:
      self->task = g_value_get_enum (value);
      self->reload = TRUE;
      break;
    case PROP_PRESET:
      self->preset = g_value_get_enum (value);
      self->reload = TRUE;
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      self->reload = TRUE;
      break;
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      self->reconfigure = TRUE;
      break;
    case PROP_DEVICE:
      self->device = g_value_get_int (value);
      self->reconfigure = TRUE;
      break;
    case PROP_FP16:
      self->fp16 = g_value_get_boolean (value);
      self->reconfigure = TRUE;
      break;
    case PROP_TLC_WINDOW:
      self->tlc_window = g_value_get_int (value);
      self->reconfigure = TRUE;
      break;
    case PROP_PER_FRAME_ATTENTION:
      self->per_frame_attention = g_value_get_boolean (value);
      self->reconfigure = TRUE;
      break;
    case PROP_ATTENTION_MAPS:
      self->attention_maps = g_value_get_boolean (value);
      self->reconfigure = TRUE;
      break;
    case PROP_TILE_SIZE:
      self->tile_size = g_value_get_int (value);
      self->reconfigure = TRUE;
      break;
    case PROP_TILE_OVERLAP:
      self->tile_overlap = g_value_get_int (value);
      self->reconfigure = TRUE;
      break;
    case PROP_SCENE_THRESHOLD:
      self->scene_threshold = g_value_get_float (value);
      self->reconfigure = TRUE;
      break;
    case PROP_STYLE_INTERVAL:
      self->style_interval = g_value_get_int (value);
      self->reconfigure = TRUE;
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      self->reconfigure = TRUE;
      break;
    case PROP_TEMPORAL:
      self->temporal = g_value_get_enum (value);
      self->temporal_changed = TRUE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_irconstyle_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstIrconstyle *self = GST_IRCONSTYLE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TASK:
      g_value_set_enum (value, self->task);
      break;
    case PROP_PRESET:
      g_value_set_enum (value, self->preset);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_DEVICE:
      g_value_set_int (value, self->device);
      break;
    case PROP_FP16:
      g_value_set_boolean (value, self->fp16);
      break;
    case PROP_TLC_WINDOW:
      g_value_set_int (value, self->tlc_window);
      break;
    case PROP_PER_FRAME_ATTENTION:
      g_value_set_boolean (value, self->per_frame_attention);
      break;
    case PROP_ATTENTION_MAPS:
      g_value_set_boolean (value, self->attention_maps);
      break;
    case PROP_TILE_SIZE:
      g_value_set_int (value, self->tile_size);
      break;
    case PROP_TILE_OVERLAP:
      g_value_set_int (value, self->tile_overlap);
      break;
    case PROP_SCENE_THRESHOLD:
      g_value_set_float (value, self->scene_threshold);
      break;
    case PROP_STYLE_INTERVAL:
      g_value_set_int (value, self->style_interval);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_TEMPORAL:
      g_value_set_enum (value, self->temporal);
      break;
    case PROP_TEMPORAL_HISTORY:
      g_value_set_int (value, self->temporal_history);
      break;
    case PROP_BACKEND_IN_USE:
      g_value_set_string (value, self->backend_in_use);
      break;
    case PROP_FRAMES_PROCESSED:
      g_value_set_uint64 (value, self->frames_processed);
      break;
    case PROP_SCENES_DETECTED:
      g_value_set_uint64 (value, self->scenes_detected);
      break;
    case PROP_DEGRADATION:
      g_value_set_string (value, self->degradation ? self->degradation : "unknown");
      break;
    case PROP_DEGRADATION_CONFIDENCE:
      g_value_set_double (value, self->degradation_confidence);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_irconstyle_finalize (GObject * object)
{
  GstIrconstyle *self = GST_IRCONSTYLE (object);
  irc_runner_free (&self->runner);
  irc_model_free (&self->model);
  free_helpers (self);
  irc_temporal_free (&self->tfilter);
  g_free (self->degradation);
  g_free (self->model_path);
  g_free (self->backend_in_use);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_irconstyle_class_init (GstIrconstyleClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_PLAYING;

  gobject_class->set_property = gst_irconstyle_set_property;
  gobject_class->get_property = gst_irconstyle_get_property;
  gobject_class->finalize = gst_irconstyle_finalize;

  g_object_class_install_property (gobject_class, PROP_TASK,
      g_param_spec_enum ("task", "Task",
          "Which degradation to remove; selects the bundled model trained for it "
          "(MODELS.md gives each one's measured quality)",
          GST_TYPE_IRCONSTYLE_TASK, DEFAULT_TASK, rw));
  g_object_class_install_property (gobject_class, PROP_PRESET,
      g_param_spec_enum ("preset", "Preset",
          "Which family of bundled models the task selects: full-size for quality, or "
          "smaller, faster ones meant for live video on a CPU (MODELS.md compares them); "
          "ignored when model is set",
          GST_TYPE_IRCONSTYLE_PRESET, GST_IRCONSTYLE_PRESET_QUALITY, rw));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model file",
          "Path of a safetensors model file (irc-train's output or a converted official "
          "checkpoint); overrides the task's bundled model", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend", "Where the network runs",
          GST_TYPE_IRCONSTYLE_BACKEND, DEFAULT_BACKEND, rw));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_int ("device", "Vulkan device",
          "Index of the Vulkan device to use (-1 = the best one)", -1, 64, DEFAULT_DEVICE, rw));
  g_object_class_install_property (gobject_class, PROP_FP16,
      g_param_spec_boolean ("fp16", "fp16 storage",
          "Vulkan only: keep weights and activations in 16-bit floats on the device "
          "(half the memory and traffic; arithmetic stays fp32; output within 1/255 "
          "of fp32). Needs a device with 16-bit storage buffers: without one the network "
          "runs on the CPU (with backend=vulkan after a warning saying why; with "
          "backend=auto silently, as when there is no GPU)",
          DEFAULT_FP16, rw));
  g_object_class_install_property (gobject_class, PROP_TILE_SIZE,
      g_param_spec_int ("tile-size", "Tile size",
          "Frames larger than this many pixels a side run in overlapping tiles, which bounds "
          "memory; 0 = never tile. A tile must be wider than the attention window "
          "(tlc-window) to agree with its neighbours; one that is not pools over itself, "
          "with a warning", 0, 16384, DEFAULT_TILE_SIZE, rw));
  g_object_class_install_property (gobject_class, PROP_TILE_OVERLAP,
      g_param_spec_int ("tile-overlap", "Tile overlap",
          "Pixels of context added around each tile (rounded up to a multiple of 8); "
          "neighbouring tiles are blended over its inner half. The default, 48, makes "
          "tiles of the global-pool models (derain) agree with the untiled frame within "
          "1/255 at 720p (32 left 2/255 on a few pixels). Half the tile size or more is "
          "cut to the largest multiple of 8 below half the tile, with a warning",
          0, 1024, DEFAULT_TILE_OVERLAP, rw));
  g_object_class_install_property (gobject_class, PROP_TLC_WINDOW,
      g_param_spec_int ("tlc-window", "Attention (TLC) window",
          "Window in pixels over which the channel attention pools, at full resolution "
          "(halved at each level of the network). 0 = the model's own: its tlc_window "
          "metadata (each bundled model's was chosen by measurement; set a file's with "
          "pipelines/model-metadata.py MODEL --set tlc_window=N or =global), else 1.5x "
          "the patch it was trained on, else the global pool, as the paper authors run "
          "their checkpoints. -1 = the global pool: over the whole frame, once per scene "
          "(see per-frame-attention). N = a window of N pixels (NAFNet's TLC)",
          -1, 16384, DEFAULT_TLC_WINDOW, rw));
  g_object_class_install_property (gobject_class, PROP_PER_FRAME_ATTENTION,
      g_param_spec_boolean ("per-frame-attention", "Per-frame attention",
          "With the global pool (derain, and checkpoints without a window): FALSE pools "
          "the channel attention once per scene, at its style pass, over the whole frame "
          "(seen at most 512 px on its longer side), and every tile of every frame of the "
          "scene takes it, so that tiles agree with each other and with the untiled frame; "
          "TRUE pools every frame, and every tile over itself (tiles then disagree at their "
          "seams). Frames up to 512 px restore alike either way on a scene's first frame",
          FALSE, rw));
  g_object_class_install_property (gobject_class, PROP_ATTENTION_MAPS,
      g_param_spec_boolean ("attention-maps", "Attention maps",
          "With a window (denoise, deblur, dehaze, defog, auto): TRUE reads every "
          "block's per-pixel attention from maps recorded each frame on a view of the whole "
          "frame (every f-th pixel, at most 512 px a side), so that tiles agree with each "
          "other and with the untiled frame within one level; it costs a pass on the view "
          "each frame, and on frames above 512 px the models see their attention at the "
          "view's scale: blur and haze are then restored less (MODELS.md). FALSE: every "
          "tile pools its own windows (tiles can differ at their seams by a few levels)",
          FALSE, rw));
  g_object_class_install_property (gobject_class, PROP_SCENE_THRESHOLD,
      g_param_spec_float ("scene-threshold", "Scene threshold",
          "Change between frames above which a new scene starts and the style code is "
          "recomputed (0 = every frame)", 0.0f, 1.0f, DEFAULT_SCENE_THRESHOLD, rw));
  g_object_class_install_property (gobject_class, PROP_STYLE_INTERVAL,
      g_param_spec_int ("style-interval", "Style interval",
          "Also recompute the style code every this many frames within a scene "
          "(0 = only at scene cuts)", 0, G_MAXINT, DEFAULT_STYLE_INTERVAL, rw));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads", "CPU worker threads (0 = all cores)",
          0, 1024, DEFAULT_THREADS, rw));
  g_object_class_install_property (gobject_class, PROP_TEMPORAL,
      g_param_spec_enum ("temporal", "Temporal mode",
          "Also use the past frames, after the network (no added latency). rain: where the "
          "view is static, or pans as a whole (the shift between frames is measured), a "
          "pixel brighter than the same point in the last 3 frames, which agree with each "
          "other, is a rain streak and takes their mean; pixels that agree are averaged "
          "over them (less noise and flicker). Moving objects, parallax and anything the "
          "past frames disagree on stay as the network gave them. noise: the averaging "
          "only. The past frames are forgotten at scene cuts, flushes, discontinuities, "
          "dropped frames and caps changes. Costs about 80 ms of one core per 640x480 frame "
          "(MODELS.md, Temporal mode)",
          GST_TYPE_IRCONSTYLE_TEMPORAL, DEFAULT_TEMPORAL, rw));
  g_object_class_install_property (gobject_class, PROP_TEMPORAL_HISTORY,
      g_param_spec_int ("temporal-history", "Temporal history",
          "Past frames the temporal mode compared the last frame with (0: off, or the first "
          "frame after a reset)", 0, IRC_TEMPORAL_MAX_FRAMES, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_BACKEND_IN_USE,
      g_param_spec_string ("backend-in-use", "Backend in use",
          "The backend actually running the network (cpu or vulkan)", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_FRAMES_PROCESSED,
      g_param_spec_uint64 ("frames-processed", "Frames processed",
          "Frames restored since the element started", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_DEGRADATION,
      g_param_spec_string ("degradation", "Degradation",
          "What the current scene holds, as the degradation detector read it at the scene's "
          "start: clean, rain, haze, noise, blur, or several joined by '+' (rain+haze); "
          "'unknown' before the first frame or without a detector (a model file without a "
          "degradation head, and no bundled detect.safetensors). Every irconstyle-scene "
          "message carries it too, with its confidence, whatever the task",
          "unknown", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_DEGRADATION_CONFIDENCE,
      g_param_spec_double ("degradation-confidence", "Degradation confidence",
          "Probability of the current scene's 'degradation' reading, 0-1 (0 when unknown)",
          0.0, 1.0, 0.0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_SCENES_DETECTED,
      g_param_spec_uint64 ("scenes-detected", "Scenes detected",
          "Scenes started since the element started (the first frame starts one); each "
          "posts an irconstyle-scene element message", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class, "IRConStyle video restoration",
      "Filter/Effect/Video",
      "Removes rain, haze, noise or motion blur with IRConStyle (ConStyle-NAFNet); the "
      "degradation style code is computed once per scene. Posts an 'irconstyle-scene' "
      "element message (frame, running-time, score) at each scene cut.",
      "irconstyle developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_irconstyle_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_irconstyle_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_irconstyle_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_irconstyle_query);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_irconstyle_set_info);
  filter_class->transform_frame = GST_DEBUG_FUNCPTR (gst_irconstyle_transform_frame);

  gst_type_mark_as_plugin_api (GST_TYPE_IRCONSTYLE_TASK, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_IRCONSTYLE_BACKEND, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_IRCONSTYLE_TEMPORAL, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_IRCONSTYLE_PRESET, 0);
  GST_DEBUG_CATEGORY_INIT (gst_irconstyle_debug, "irconstyle", 0, "IRConStyle restoration");
}

static void
gst_irconstyle_init (GstIrconstyle * self)
{
  self->task = DEFAULT_TASK;
  self->backend = DEFAULT_BACKEND;
  self->device = DEFAULT_DEVICE;
  self->fp16 = DEFAULT_FP16;
  self->tlc_window = DEFAULT_TLC_WINDOW;
  self->tile_size = DEFAULT_TILE_SIZE;
  self->tile_overlap = DEFAULT_TILE_OVERLAP;
  self->scene_threshold = DEFAULT_SCENE_THRESHOLD;
  self->style_interval = DEFAULT_STYLE_INTERVAL;
  self->threads = DEFAULT_THREADS;
  self->frame_time = 0;
  self->temporal = DEFAULT_TEMPORAL;
  self->t_expected = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
