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
  tcase_add_test (tc, test_tiling_warnings);
  return s;
}

GST_CHECK_MAIN (irconstyle);
