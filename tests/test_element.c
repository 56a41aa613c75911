/* element: the irconstyle element through GstHarness on tiny frames (the
 * task= models here are pass-through fixtures, tests/make_identity_model.c,
 * so output must equal input),
 * properties, errors, scene messages, flushes, renegotiation, state changes. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <string.h>

/* the element's backend enum: auto, cpu, vulkan */
#define GST_IRCONSTYLE_BACKEND_VULKAN_VALUE 2

static GstBuffer *
make_frame (const GstVideoInfo * info, guint seed)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) ((i * 131 + seed * 71) >> 2);
  gst_buffer_unmap (buf, &map);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT (info),
      info->width, info->height, GST_VIDEO_INFO_N_PLANES (info), (gsize *) info->offset,
      (gint *) info->stride);
  return buf;
}

/* The largest difference between two frames of @info, over every plane's
 * visible samples (alpha and padding bytes within a pixel included). */
static gint
frame_worst_difference (const GstVideoInfo * info, GstBuffer * a_buf, GstBuffer * b_buf)
{
  GstVideoFrame a, b;
  fail_unless (gst_video_frame_map (&a, (GstVideoInfo *) info, a_buf, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&b, (GstVideoInfo *) info, b_buf, GST_MAP_READ));
  gint worst = 0;
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&a); p++) {
    const gint rows = GST_VIDEO_FRAME_COMP_HEIGHT (&a, p == 0 ? 0 : 1);
    const gint bytes = GST_VIDEO_FRAME_COMP_WIDTH (&a, p == 0 ? 0 : 1)
        * GST_VIDEO_FRAME_COMP_PSTRIDE (&a, p == 0 ? 0 : 1);
    for (gint y = 0; y < rows; y++) {
      const guint8 *ra = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&a, p)
          + y * GST_VIDEO_FRAME_PLANE_STRIDE (&a, p);
      const guint8 *rb = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&b, p)
          + y * GST_VIDEO_FRAME_PLANE_STRIDE (&b, p);
      for (gint x = 0; x < bytes; x++)
        worst = MAX (worst, ABS (ra[x] - rb[x]));
    }
  }
  gst_video_frame_unmap (&a);
  gst_video_frame_unmap (&b);
  return worst;
}

/* Every format and some odd sizes: RGB-family frames come back bit-exact
 * through the pass-through model, YUV within one step, and
 * timestamps stay. */
GST_START_TEST (test_formats)
{
  const gchar *formats[] = {"RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "BGRA",
    "ARGB", "ABGR", "I420", "NV12"};
  const gint sizes[][2] = {{1, 1}, {2, 3}, {17, 13}};
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstHarness *h = gst_harness_new ("irconstyle");
      gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,framerate=25/1",
          formats[f], sizes[s][0], sizes[s][1]);
      gst_harness_set_caps_str (h, caps, caps);
      GstVideoInfo info;
      GstCaps *c = gst_caps_from_string (caps);
      fail_unless (gst_video_info_from_caps (&info, c));
      gst_caps_unref (c);
      GstBuffer *in = make_frame (&info, s);
      GST_BUFFER_PTS (in) = 40 * GST_MSECOND;
      GST_BUFFER_DURATION (in) = 40 * GST_MSECOND;
      GstBuffer *copy = gst_buffer_copy_deep (in);
      fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
      GstBuffer *out = gst_harness_pull (h);
      fail_unless (out != NULL);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 40 * GST_MSECOND);
      fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), 40 * GST_MSECOND);
      const gint worst = frame_worst_difference (&info, copy, out);
      /* YUV samples outside the RGB gamut clip on the way through RGB */
      if (!GST_VIDEO_INFO_IS_YUV (&info))
        fail_unless_equals_int (worst, 0);
      gst_buffer_unref (copy);
      gst_buffer_unref (out);
      g_free (caps);
      gst_harness_teardown (h);
    }
  }
}
GST_END_TEST;

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("irconstyle", NULL);
  fail_unless (e != NULL);
  g_object_set (e, "task", 2, "model", "/tmp/x.safetensors", "backend", 1, "device", 3,
      "tile-size", 256, "tile-overlap", 48, "scene-threshold", 0.5f, "style-interval", 12,
      "threads", 2, "fp16", TRUE, "tlc-window", -1, NULL);
  gint task, backend, device, tile, overlap, interval, threads, window;
  gboolean fp16;
  gfloat thr;
  gchar *model;
  guint64 frames, scenes;
  g_object_get (e, "task", &task, "model", &model, "backend", &backend, "device", &device,
      "tile-size", &tile, "tile-overlap", &overlap, "scene-threshold", &thr,
      "style-interval", &interval, "threads", &threads, "fp16", &fp16, "frames-processed", &frames,
      "scenes-detected", &scenes, "tlc-window", &window, NULL);
  fail_unless_equals_int (task, 2);
  fail_unless_equals_string (model, "/tmp/x.safetensors");
  fail_unless_equals_int (backend, 1);
  fail_unless_equals_int (device, 3);
  fail_unless_equals_int (tile, 256);
  fail_unless_equals_int (overlap, 48);
  fail_unless (thr == 0.5f);
  fail_unless_equals_int (interval, 12);
  fail_unless_equals_int (threads, 2);
  fail_unless (fp16);
  fail_unless_equals_int (window, -1);
  fail_unless_equals_uint64 (frames, 0);
  fail_unless_equals_uint64 (scenes, 0);
  g_free (model);
  gst_object_unref (e);
}
GST_END_TEST;

/* fp16=true with backend=vulkan: on a device with 16-bit storage (lavapipe
 * has it) the pass-through model gives the input back within one 8-bit step
 * (a half float holds 11 significant bits). Without a Vulkan device, or
 * without 16-bit storage, the element warns saying so and runs on the CPU. */
GST_START_TEST (test_fp16)
{
  GstHarness *h = gst_harness_new ("irconstyle");
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "backend", GST_IRCONSTYLE_BACKEND_VULKAN_VALUE, "fp16", TRUE, NULL);
  const gchar *caps = "video/x-raw,format=RGB,width=24,height=16,framerate=25/1";
  gst_harness_set_caps_str (h, caps, caps);
  GstVideoInfo info;
  GstCaps *c = gst_caps_from_string (caps);
  fail_unless (gst_video_info_from_caps (&info, c));
  gst_caps_unref (c);
  GstBuffer *in = make_frame (&info, 5);
  GstBuffer *copy = gst_buffer_copy_deep (in);
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  fail_unless (out != NULL);
  const gint worst = frame_worst_difference (&info, copy, out);
  fail_unless (worst <= 1, "fp16 pass-through differs by %d levels", worst);
  gchar *in_use = NULL;
  g_object_get (h->element, "backend-in-use", &in_use, NULL);
  if (!g_str_has_prefix (in_use, "vulkan")) {
    /* the fallback must say why: libirc's reason is the warning's debug text */
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
    fail_unless (msg != NULL, "ran on %s without a warning", in_use);
    GError *error = NULL;
    gchar *debug = NULL;
    gst_message_parse_warning (msg, &error, &debug);
    const gchar *why = debug ? debug : "";
    fail_unless (strstr (why, "no Vulkan device") || strstr (why, "16-bit storage")
        || strstr (why, "loader") || strstr (why, "no usable device"),
        "unexpected Vulkan failure: %s", why);
    GST_INFO ("no Vulkan device with 16-bit storage here: %s", why);
    g_error_free (error);
    g_free (debug);
    gst_message_unref (msg);
  }
  g_free (in_use);
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;


/* A pipeline ending in an error message (or EOS), returns the message. */
static GstMessage *
run_pipeline (const gchar * desc)
{
  GError *error = NULL;
  GstElement *pipe = gst_parse_launch (desc, &error);
  fail_unless (pipe != NULL, "%s", error ? error->message : "");
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  return msg;
}

static void
expect_error_containing (const gchar * desc, const gchar * words)
{
  GstMessage *msg = run_pipeline (desc);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *debug = NULL;
  gst_message_parse_error (msg, &err, &debug);
  GST_INFO ("error: %s (%s)", err->message, debug);
  fail_unless (strstr (debug, words) != NULL, "'%s' not in '%s'", words, debug);
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
}

GST_START_TEST (test_bad_models)
{
  expect_error_containing ("videotestsrc num-buffers=3 ! irconstyle model=/nonexistent/m.safetensors "
      "! fakesink", "/nonexistent/m.safetensors");
  gchar *path = g_build_filename (g_get_tmp_dir (), "irc-corrupt.safetensors", NULL);
  fail_unless (g_file_set_contents (path, "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13, NULL));
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=3 ! irconstyle model=%s ! fakesink",
      path);
  expect_error_containing (desc, "irc-corrupt.safetensors");
  g_unlink (path);
  g_free (desc);
  g_free (path);
}
GST_END_TEST;

static gint
count_scene_messages (GstBus * bus)
{
  gint n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (s && gst_structure_has_name (s, "irconstyle-scene")) {
      guint64 frame, rt;
      fail_unless (gst_structure_get_uint64 (s, "frame", &frame));
      fail_unless (gst_structure_get_uint64 (s, "running-time", &rt));
      /* the fixtures have no degradation head and there is no detector
       * beside them: the reading is 'unknown', confidence 0 */
      const gchar *d = gst_structure_get_string (s, "degradation");
      gdouble conf = -1;
      fail_unless (d != NULL && strcmp (d, "unknown") == 0, "degradation '%s'", d);
      fail_unless (gst_structure_get_double (s, "confidence", &conf) && conf == 0.0);
      fail_unless (gst_structure_get_string (s, "restored-by") != NULL);
      n++;
    }
    gst_message_unref (msg);
  }
  return n;
}

/* Two scenes: a cut message each; a flush starts a scene again. */
GST_START_TEST (test_scenes_and_flush)
{
  GstHarness *h = gst_harness_new ("irconstyle");
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  const gchar *caps = "video/x-raw,format=RGB,width=64,height=48,framerate=25/1";
  gst_harness_set_caps_str (h, caps, caps);
  GstVideoInfo info;
  GstCaps *c = gst_caps_from_string (caps);
  gst_video_info_from_caps (&info, c);
  gst_caps_unref (c);
  for (gint i = 0; i < 20; i++) {
    GstBuffer *b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_WRITE);
    for (gsize k = 0; k < map.size; k++) {
      const gsize x = (k / 3) % 64, y = k / 3 / 64;
      /* scene A: horizontal ramp; scene B: vertical bars, darker */
      map.data[k] = i < 10 ? (guint8) (x * 4) : (guint8) (((y / 8) % 2) * 200);
    }
    gst_buffer_unmap (b, &map);
    GST_BUFFER_PTS (b) = i * 40 * GST_MSECOND;
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless_equals_int (count_scene_messages (bus), 2);
  guint64 scenes, frames;
  g_object_get (h->element, "scenes-detected", &scenes, "frames-processed", &frames, NULL);
  fail_unless_equals_uint64 (scenes, 2);
  fail_unless_equals_uint64 (frames, 20);

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  GstBuffer *b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_memset (b, 0, 90, GST_VIDEO_INFO_SIZE (&info));
  fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
  fail_unless_equals_int (count_scene_messages (bus), 1);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Caps change mid-stream: the runner is rebuilt for the new size and format. */
GST_START_TEST (test_renegotiation)
{
  GstHarness *h = gst_harness_new ("irconstyle");
  const gchar *caps[] = {"video/x-raw,format=RGBA,width=32,height=24,framerate=25/1",
    "video/x-raw,format=I420,width=45,height=17,framerate=25/1",
    "video/x-raw,format=BGR,width=8,height=64,framerate=25/1"};
  for (gint round = 0; round < 6; round++) {
    const gchar *cs = caps[round % 3];
    gst_harness_set_caps_str (h, cs, cs);
    GstVideoInfo info;
    GstCaps *c = gst_caps_from_string (cs);
    gst_video_info_from_caps (&info, c);
    gst_caps_unref (c);
    for (gint i = 0; i < 2; i++) {
      fail_unless_equals_int (gst_harness_push (h, make_frame (&info, i)), GST_FLOW_OK);
      GstBuffer *out = gst_harness_pull (h);
      fail_unless_equals_uint64 (gst_buffer_get_size (out), GST_VIDEO_INFO_SIZE (&info));
      gst_buffer_unref (out);
    }
  }
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Interlaced input is refused with a clear error. */
GST_START_TEST (test_interlaced)
{
  expect_error_containing ("videotestsrc num-buffers=2 ! video/x-raw,interlace-mode=interleaved "
      "! irconstyle ! fakesink", "deinterlace");
}
GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  GstElement *pipe = gst_parse_launch ("videotestsrc is-live=false ! "
      "video/x-raw,width=24,height=16 ! irconstyle ! fakesink", NULL);
  fail_unless (pipe != NULL);
  for (gint i = 0; i < 10; i++) {
    fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_get_state (pipe, NULL, NULL, 10 * GST_SECOND)
        == GST_STATE_CHANGE_SUCCESS);
    fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (pipe);
}
GST_END_TEST;

/* Changing the model while playing: a bad path is refused with a warning and
 * the stream goes on with the old model; a good one is taken at the next frame. */
GST_START_TEST (test_change_while_playing)
{
  GstHarness *h = gst_harness_new ("irconstyle");
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  const gchar *caps = "video/x-raw,format=RGB,width=16,height=16,framerate=25/1";
  gst_harness_set_caps_str (h, caps, caps);
  GstVideoInfo info;
  GstCaps *c = gst_caps_from_string (caps);
  gst_video_info_from_caps (&info, c);
  gst_caps_unref (c);
  fail_unless_equals_int (gst_harness_push (h, make_frame (&info, 1)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
  g_object_set (h->element, "model", "/nonexistent.safetensors", NULL);
  fail_unless_equals_int (gst_harness_push (h, make_frame (&info, 2)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
  GstMessage *w = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  gboolean found = FALSE;
  while (w) {
    GError *err;
    gchar *dbg;
    gst_message_parse_warning (w, &err, &dbg);
    found |= strstr (err->message, "keeping the current one") != NULL;
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (w);
    w = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  }
  fail_unless (found);
  g_object_set (h->element, "model", NULL, "task", 3, "tile-size", 16, NULL);
  fail_unless_equals_int (gst_harness_push (h, make_frame (&info, 3)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Pushes one 64x48 RGB frame with the properties given (name, value, ...,
 * NULL) and returns the text of the warnings it posted, joined by " | "
 * (free with g_free), or NULL when there was none; the frame comes back
 * unchanged (pass-through model), tiled or not. */
static gchar *
tiling_warnings (const gchar * first_property, ...)
{
  GstHarness *h = gst_harness_new ("irconstyle");
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  va_list ap;
  va_start (ap, first_property);
  g_object_set_valist (G_OBJECT (h->element), first_property, ap);
  va_end (ap);
  const gchar *caps = "video/x-raw,format=RGB,width=64,height=48,framerate=25/1";
  gst_harness_set_caps_str (h, caps, caps);
  GstVideoInfo info;
  GstCaps *c = gst_caps_from_string (caps);
  fail_unless (gst_video_info_from_caps (&info, c));
  gst_caps_unref (c);
  GstBuffer *in = make_frame (&info, 9);
  GstBuffer *copy = gst_buffer_copy_deep (in);
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  fail_unless (out != NULL);
  fail_unless_equals_int (frame_worst_difference (&info, copy, out), 0);
  GString *text = NULL;
  GstMessage *w;
  while ((w = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_warning (w, &err, &dbg);
    if (!text)
      text = g_string_new (err->message);
    else
      g_string_append_printf (text, " | %s", err->message);
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (w);
  }
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  return text ? g_string_free (text, FALSE) : NULL;
}

static void
expect_warning (gchar * text, const gchar * words, const gchar * more)
{
  fail_unless (text != NULL, "no warning; expected '%s'", words);
  GST_INFO ("warning: %s", text);
  fail_unless (strstr (text, words) != NULL, "'%s' not in '%s'", words, text);
  fail_unless (!more || strstr (text, more) != NULL, "'%s' not in '%s'", more, text);
  g_free (text);
}

/* preset=realtime picks TASK-realtime.safetensors where the task has one
 * (this test's model folder has derain-realtime) and otherwise keeps the
 * task's quality model, saying so; a model file named by the model
 * property is taken as it is. */
GST_START_TEST (test_preset)
{
  GstElement *e = gst_element_factory_make ("irconstyle", NULL);
  gint preset = -1;
  g_object_get (e, "preset", &preset, NULL);
  fail_unless_equals_int (preset, 0);
  gst_util_set_object_arg (G_OBJECT (e), "preset", "realtime");
  g_object_get (e, "preset", &preset, NULL);
  fail_unless_equals_int (preset, 1);
  gst_object_unref (e);

  fail_unless (tiling_warnings ("task", 0, "preset", 1, NULL) == NULL);
  expect_warning (tiling_warnings ("task", 1, "preset", 1, NULL),
      "No realtime model for task dehaze", "using its quality model");
  gchar *dir = g_strdup (g_getenv ("IRCONSTYLE_MODEL_DIR"));
  fail_unless (dir != NULL);
  gchar *dehaze = g_build_filename (dir, "dehaze.safetensors", NULL);
  fail_unless (tiling_warnings ("model", dehaze, "preset", 1, NULL) == NULL);
  g_free (dehaze);
  g_free (dir);
}
GST_END_TEST;

/* Tiling settings the runner cannot take as given are said, with what the
 * element does instead, never silently: an overlap of half the tile or
 * more, an attention window wider than the tiles or (asked for) the frame. */
GST_START_TEST (test_tiling_warnings)
{
  /* sane settings: tiled, and untiled with the model's own window */
  fail_unless (tiling_warnings ("tile-size", 32, "tile-overlap", 8, NULL) == NULL);
  fail_unless (tiling_warnings ("tile-size", 0, "tlc-window", -1, NULL) == NULL);
  fail_unless (tiling_warnings ("tile-size", 32, "tile-overlap", 8, "tlc-window", 24, NULL)
      == NULL);
  expect_warning (tiling_warnings ("tile-size", 32, "tile-overlap", 16, NULL),
      "tile overlap 16 px is half the 32 px tile size or more", "using 8 px of overlap instead");
  expect_warning (tiling_warnings ("tile-size", 48, "tile-overlap", 100, NULL),
      "tile overlap 100 px (104 once rounded up to a multiple of 8)", "using 16 px");
  expect_warning (tiling_warnings ("tile-size", 32, "tile-overlap", 8, "tlc-window", 96, NULL),
      "requested attention (TLC) window of 96 px is larger than the tiles",
      "neighbouring tiles can disagree at their seams");
  expect_warning (tiling_warnings ("tile-size", 0, "tlc-window", 100, NULL),
      "window of 100 px is larger than the 64x48 frame", "the whole frame");
  expect_warning (tiling_warnings ("tile-size", 0, "tlc-window", 56, NULL),
      "larger than the 64x48 frame: it pools 56x48 px instead", NULL);
}
GST_END_TEST;

/* --- temporal mode (temporal=rain / noise): with the pass-through models
 * the element's output is the temporal filter's alone --- */

#define TMP_W 96
#define TMP_H 64
#define TMP_CAPS "video/x-raw,format=RGB,width=96,height=64,framerate=25/1"
#define TMP_FRAME (40 * GST_MSECOND)

/* a triangle wave of @period, 0 .. period / 2 */
static gint
tri (gint v, gint period)
{
  v = ((v % period) + period) % period;
  return ABS (v - period / 2);
}

/* View 0: smooth, textured both ways, at scene point (X, Y); view 1:
 * vertical bars (another scene). */
static gint
view_at (gint view, gint X, gint Y)
{
  return view == 0 ? 50 + 3 * tri (X, 40) + 2 * tri (Y + X / 2, 90) : ((X / 8) % 2 ? 210 : 40);
}

/* what frame @i shows (the view panned by @pan pixels a frame, @objects:
 * a bright square moving a pixel a frame, another three, a dark one two)
 * into @truth, and with rain (6 thin bright streaks, elsewhere every
 * frame) into the returned buffer, @rain marking the streaks */
static GstBuffer *
temporal_frame (gint view, gint i, gint pan, gboolean with_rain, gboolean objects,
    guint8 * truth, guint8 * rain)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, TMP_W * TMP_H * 3, NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memset (rain, 0, TMP_W * TMP_H);
  if (with_rain) {
    guint32 state = 12345u + 7919u * (guint32) i;
    for (gint s = 0; s < 6; s++) {
      state = state * 1664525u + 1013904223u;
      const gint sx = (gint) ((state >> 8) % TMP_W);
      state = state * 1664525u + 1013904223u;
      const gint sy = (gint) ((state >> 8) % (TMP_H - 6));
      for (gint k = 0; k < 6; k++)
        rain[(sy + k) * TMP_W + sx] = 1;
    }
  }
  for (gint y = 0; y < TMP_H; y++)
    for (gint x = 0; x < TMP_W; x++) {
      gint v = view_at (view, x + pan * i, y);
      if (objects) {
        const gint squares[3][4] = {{10 + i, 8, 250}, {40 + 3 * i, 30, 235}, {60 + 2 * i, 6, 15}};
        for (gint o = 0; o < 3; o++)
          if (x >= squares[o][0] && x < squares[o][0] + 14 && y >= squares[o][1]
              && y < squares[o][1] + 14)
            v = squares[o][2];
      }
      for (gint c = 0; c < 3; c++) {
        const gint tv = CLAMP (v + (c - 1) * 10, 0, 255);
        truth[(y * TMP_W + x) * 3 + c] = (guint8) tv;
        map.data[(y * TMP_W + x) * 3 + c] =
            (guint8) MIN (255, tv + (rain[y * TMP_W + x] ? 80 : 0));
      }
    }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = i * TMP_FRAME;
  GST_BUFFER_DURATION (buf) = TMP_FRAME;
  return buf;
}

/* Of @out against @truth, over columns [x0, x1): the share of the rain's
 * pixels left (off by more than 12 levels), and the largest difference
 * elsewhere. */
static void
temporal_compare (GstBuffer * out, const guint8 * truth, const guint8 * rain, gint x0, gint x1,
    gdouble * rain_left, gint * worst_elsewhere)
{
  GstMapInfo map;
  gst_buffer_map (out, &map, GST_MAP_READ);
  fail_unless_equals_int ((gint) map.size, TMP_W * TMP_H * 3);
  gint streak = 0, left = 0, worst = 0;
  for (gint y = 0; y < TMP_H; y++)
    for (gint x = x0; x < x1; x++) {
      gint d = 0;
      for (gint c = 0; c < 3; c++)
        d = MAX (d, ABS (map.data[(y * TMP_W + x) * 3 + c] - truth[(y * TMP_W + x) * 3 + c]));
      if (rain[y * TMP_W + x]) {
        streak++;
        left += d > 12;
      } else {
        worst = MAX (worst, d);
      }
    }
  gst_buffer_unmap (out, &map);
  *rain_left = streak ? (gdouble) left / streak : 0.0;
  *worst_elsewhere = worst;
}

static gint
temporal_history (GstHarness * h)
{
  gint n = -1;
  g_object_get (h->element, "temporal-history", &n, NULL);
  return n;
}

/* Rain on a still view and on a panning one (2 pixels a frame): the first
 * frame passes as it came; from the fourth on, most streaks are gone and
 * the rest stays within 2 levels. A streak stays where the last frame's
 * streaks, shifted, match it as well as the view does (on this smooth view
 * that happens: over the frames up to a third stay, in one frame more). Off
 * (the default) changes nothing. */
GST_START_TEST (test_temporal_rain)
{
  guint8 truth[TMP_W * TMP_H * 3], rain[TMP_W * TMP_H];
  for (gint pan = 0; pan <= 2; pan += 2) {
    GstHarness *h = gst_harness_new ("irconstyle");
    gint mode = -1;
    g_object_get (h->element, "temporal", &mode, NULL);
    fail_unless_equals_int (mode, 0);
    g_object_set (h->element, "temporal", 1, NULL);
    gst_harness_set_caps_str (h, TMP_CAPS, TMP_CAPS);
    gdouble total_left = 0;
    for (gint i = 0; i < 10; i++) {
      GstBuffer *in = temporal_frame (0, i, pan, TRUE, FALSE, truth, rain);
      GstBuffer *copy = gst_buffer_copy_deep (in);
      fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
      GstBuffer *out = gst_harness_pull (h);
      fail_unless_equals_int (temporal_history (h), MIN (i, 3));
      if (i == 0) {
        GstMapInfo a;
        gst_buffer_map (copy, &a, GST_MAP_READ);
        fail_unless_equals_int (gst_buffer_memcmp (out, 0, a.data, a.size), 0);
        gst_buffer_unmap (copy, &a);
      } else if (i >= 3) {
        /* the panning view: its edge columns were not in the past frames */
        gdouble left;
        gint worst;
        temporal_compare (out, truth, rain, pan ? 8 : 0, pan ? TMP_W - 8 : TMP_W, &left, &worst);
        GST_INFO ("pan %d frame %d: %.0f%% of the rain left, worst elsewhere %d", pan, i,
            100 * left, worst);
        fail_unless (left <= 0.6, "pan %d frame %d: %.0f%% of the rain left", pan, i, 100 * left);
        total_left += left;
        fail_unless (worst <= 2, "pan %d frame %d: off by %d away from the rain", pan, i, worst);
      }
      gst_buffer_unref (copy);
      gst_buffer_unref (out);
    }
    fail_unless (total_left / 7 <= 0.3, "pan %d: %.0f%% of the rain left", pan,
        100 * total_left / 7);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* Moving objects over a still view (bright squares moving 1 and 3 pixels
 * a frame, a dark one 2): nothing smeared, nothing removed, with or
 * without rain around them. */
GST_START_TEST (test_temporal_moving_objects)
{
  guint8 truth[TMP_W * TMP_H * 3], rain[TMP_W * TMP_H];
  for (gint with_rain = 0; with_rain <= 1; with_rain++) {
    GstHarness *h = gst_harness_new ("irconstyle");
    g_object_set (h->element, "temporal", 1, NULL);
    gst_harness_set_caps_str (h, TMP_CAPS, TMP_CAPS);
    for (gint i = 0; i < 12; i++) {
      fail_unless_equals_int (gst_harness_push (h, temporal_frame (0, i, 0, with_rain, TRUE,
                  truth, rain)), GST_FLOW_OK);
      GstBuffer *out = gst_harness_pull (h);
      gdouble left;
      gint worst;
      temporal_compare (out, truth, rain, 0, TMP_W, &left, &worst);
      GST_INFO ("rain %d frame %d: %.0f%% of the rain left, worst elsewhere %d", with_rain, i,
          100 * left, worst);
      fail_unless (worst <= 2, "rain %d frame %d: the view or an object off by %d", with_rain,
          i, worst);
      gst_buffer_unref (out);
    }
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* Pushes frame @i of the rainy still view (or of view 1) with @flags and
 * returns the temporal history it was compared with; @passed: whether the
 * frame came out exactly as it went in (the rain kept). */
static gint
temporal_push (GstHarness * h, gint view, gint i, GstBufferFlags flags, gboolean * passed)
{
  guint8 truth[TMP_W * TMP_H * 3], rain[TMP_W * TMP_H];
  GstBuffer *in = temporal_frame (view, i, 0, TRUE, FALSE, truth, rain);
  GST_BUFFER_FLAG_SET (in, flags);
  GstBuffer *copy = gst_buffer_copy_deep (in);
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  GstMapInfo a;
  gst_buffer_map (copy, &a, GST_MAP_READ);
  *passed = gst_buffer_memcmp (out, 0, a.data, a.size) == 0;
  gst_buffer_unmap (copy, &a);
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  return temporal_history (h);
}

/* The past frames never carry over a flush, a discontinuity, a gap in the
 * timestamps, a frame dropped for QoS, a scene cut, new caps or a mode
 * change: the next frame passes as it came, rain and all. */
GST_START_TEST (test_temporal_resets)
{
  GstHarness *h = gst_harness_new ("irconstyle");
  g_object_set (h->element, "temporal", 1, NULL);
  gst_harness_set_caps_str (h, TMP_CAPS, TMP_CAPS);
  gboolean passed;
  gint i = 0;
  for (; i < 4; i++)
    temporal_push (h, 0, i, 0, &passed);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 3);
  fail_if (passed, "the rain went through");

  /* flush (a seek) */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 0);
  fail_unless (passed);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 1);

  /* a discontinuity */
  fail_unless_equals_int (temporal_push (h, 0, i++, GST_BUFFER_FLAG_DISCONT, &passed), 0);
  fail_unless (passed);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 1);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 2);

  /* two frames missing upstream */
  i += 2;
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 0);
  fail_unless (passed);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 1);

  /* QoS: downstream says the next frame is late; the element drops it, and
   * the one after starts again */
  fail_unless (gst_harness_push_upstream_event (h, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW,
              1.0, 0, i * TMP_FRAME)));
  {
    guint8 truth[TMP_W * TMP_H * 3], rain[TMP_W * TMP_H];
    fail_unless_equals_int (gst_harness_push (h, temporal_frame (0, i++, 0, TRUE, FALSE, truth,
                rain)), GST_FLOW_OK);
    GstBuffer *dropped = gst_harness_try_pull (h);
    fail_unless (dropped == NULL, "the late frame was not dropped");
  }
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 0);
  fail_unless (passed);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 1);
  fail_unless_equals_int (temporal_push (h, 0, i++, 0, &passed), 2);

  /* a scene cut */
  fail_unless_equals_int (temporal_push (h, 1, i++, 0, &passed), 0);
  fail_unless (passed);
  fail_unless_equals_int (temporal_push (h, 1, i++, 0, &passed), 1);

  /* new caps (same size: only the renegotiation) */
  gst_harness_set_caps_str (h, "video/x-raw,format=RGB,width=96,height=64,framerate=30/1",
      "video/x-raw,format=RGB,width=96,height=64,framerate=30/1");
  fail_unless_equals_int (temporal_push (h, 1, i++, 0, &passed), 0);
  fail_unless (passed);

  /* off while playing, then on again: a new history */
  g_object_set (h->element, "temporal", 0, NULL);
  fail_unless_equals_int (temporal_push (h, 1, i++, 0, &passed), 0);
  fail_unless (passed);
  g_object_set (h->element, "temporal", 2, NULL);
  fail_unless_equals_int (temporal_push (h, 1, i++, 0, &passed), 0);
  fail_unless_equals_int (temporal_push (h, 1, i++, 0, &passed), 1);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Every format through the temporal mode: a still view (a fine, high-
 * contrast texture) comes back as the first frame did (as the network gave
 * it), within a step. */
GST_START_TEST (test_temporal_formats)
{
  const gchar *formats[] = {"RGB", "BGRx", "ARGB", "I420", "NV12"};
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstHarness *h = gst_harness_new ("irconstyle");
    g_object_set (h->element, "temporal", 1, NULL);
    gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=33,height=21,framerate=25/1",
        formats[f]);
    gst_harness_set_caps_str (h, caps, caps);
    GstVideoInfo info;
    GstCaps *c = gst_caps_from_string (caps);
    fail_unless (gst_video_info_from_caps (&info, c));
    gst_caps_unref (c);
    GstBuffer *first = NULL;
    for (gint i = 0; i < 5; i++) {
      GstBuffer *in = make_frame (&info, 7);
      GST_BUFFER_PTS (in) = i * TMP_FRAME;
      GST_BUFFER_DURATION (in) = TMP_FRAME;
      fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
      GstBuffer *out = gst_harness_pull (h);
      if (!first) {
        first = out;
        continue;
      }
      const gint worst = frame_worst_difference (&info, first, out);
      fail_unless (worst <= 1, "%s frame %d: off by %d", formats[f], i, worst);
      gst_buffer_unref (out);
    }
    gst_buffer_unref (first);
    fail_unless_equals_int (temporal_history (h), 3);
    g_free (caps);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* --- end temporal mode --- */

static Suite *
irconstyle_suite (void)
{
  Suite *s = suite_create ("irconstyle");
  TCase *tc = tcase_create ("element");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_fp16);
  tcase_add_test (tc, test_bad_models);
  tcase_add_test (tc, test_scenes_and_flush);
  tcase_add_test (tc, test_renegotiation);
  tcase_add_test (tc, test_interlaced);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_change_while_playing);
  tcase_add_test (tc, test_temporal_rain);
  tcase_add_test (tc, test_temporal_moving_objects);
  tcase_add_test (tc, test_temporal_resets);
  tcase_add_test (tc, test_temporal_formats);
  tcase_add_test (tc, test_tiling_warnings);
  tcase_add_test (tc, test_preset);
  return s;
}

GST_CHECK_MAIN (irconstyle);
