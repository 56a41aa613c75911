/* hostile: what a video element meets in other people's pipelines. Odd and
 * huge frame sizes, caps changing every 10 frames, 100 start/stop cycles, two
 * instances behind a tee, the model file truncated or deleted while playing,
 * bad model files, and Vulkan missing. Pass-through models restore nothing,
 * so RGB output must equal the input bit for bit. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <irc/irc.h>
#include <string.h>
#include <unistd.h>

/* A pass-through (all-zero) model of the smallest configuration: the 8K frame
 * then costs seconds, not minutes, and still runs every tile. */
static gchar *
small_model (void)
{
  const irc_config cfg = {4, {0, 0, 0}, 0, {0, 0, 0}, 1, 2, 0};
  irc_model *m = NULL;
  irc_error err = { 0 };
  fail_unless (irc_model_new (&cfg, NULL, NULL, &m, &err) == IRC_OK, "%s", err.message);
  gchar *path = g_build_filename (g_get_tmp_dir (), "irc-hostile-XXXXXX.safetensors", NULL);
  gint fd = g_mkstemp (path);
  fail_unless (fd >= 0);
  close (fd);
  fail_unless (irc_model_save (m, path, 0, NULL, 0, &err) == IRC_OK, "%s", err.message);
  irc_model_free (&m);
  return path;
}

static GstBuffer *
make_frame (const GstVideoInfo * info, guint seed)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) ((i * 131 + seed * 71 + (i >> 9) * 7) >> 2);
  gst_buffer_unmap (buf, &map);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT (info),
      info->width, info->height, GST_VIDEO_INFO_N_PLANES (info), (gsize *) info->offset,
      (gint *) info->stride);
  return buf;
}

static void
info_from_string (GstVideoInfo * info, const gchar * caps)
{
  GstCaps *c = gst_caps_from_string (caps);
  fail_unless (gst_video_info_from_caps (info, c), "%s", caps);
  gst_caps_unref (c);
}

/* Pushes one frame of @info, pulls the result and checks its size; RGB-family
 * frames must come back unchanged (the pass-through models). */
static void
push_and_check (GstHarness * h, const GstVideoInfo * info, guint seed)
{
  GstBuffer *in = make_frame (info, seed);
  GstBuffer *copy = GST_VIDEO_INFO_IS_RGB (info) ? gst_buffer_copy_deep (in) : NULL;
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  fail_unless (out != NULL);
  fail_unless_equals_uint64 (gst_buffer_get_size (out), GST_VIDEO_INFO_SIZE (info));
  if (copy) {
    GstVideoFrame a, b;
    fail_unless (gst_video_frame_map (&a, info, copy, GST_MAP_READ));
    fail_unless (gst_video_frame_map (&b, info, out, GST_MAP_READ));
    const gint bytes = GST_VIDEO_FRAME_COMP_WIDTH (&a, 0) * GST_VIDEO_FRAME_COMP_PSTRIDE (&a, 0);
    for (gint y = 0; y < GST_VIDEO_FRAME_HEIGHT (&a); y++) {
      const guint8 *ra = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&a, 0)
          + y * GST_VIDEO_FRAME_PLANE_STRIDE (&a, 0);
      const guint8 *rb = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&b, 0)
          + y * GST_VIDEO_FRAME_PLANE_STRIDE (&b, 0);
      /* alpha and padding bytes are passed through as well */
      fail_unless (memcmp (ra, rb, bytes) == 0, "%dx%d: row %d changed", info->width,
          info->height, y);
    }
    gst_video_frame_unmap (&a);
    gst_video_frame_unmap (&b);
    gst_buffer_unref (copy);
  }
  gst_buffer_unref (out);
}

static void
run_sizes (const gint sizes[][2], guint n, const gchar * format, const gchar * launch)
{
  for (guint s = 0; s < n; s++) {
    GstHarness *h = gst_harness_new_parse (launch);
    gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,framerate=25/1",
        format, sizes[s][0], sizes[s][1]);
    gst_harness_set_caps_str (h, caps, caps);
    GstVideoInfo info;
    info_from_string (&info, caps);
    const gint64 t0 = g_get_monotonic_time ();
    /* the first frame runs the style pass, the second reuses the code */
    push_and_check (h, &info, 1);
    push_and_check (h, &info, 2);
    guint64 frames;
    g_object_get (gst_harness_find_element (h, "irconstyle"), "frames-processed", &frames, NULL);
    fail_unless_equals_uint64 (frames, 2);
    GST_INFO ("%s: 2 frames in %.1f s", caps, (g_get_monotonic_time () - t0) / 1e6);
    g_free (caps);
    gst_harness_teardown (h);
  }
}

GST_START_TEST (test_odd_sizes)
{
  const gint sizes[][2] = {{1, 1}, {2, 3}, {17, 13}};
  run_sizes (sizes, G_N_ELEMENTS (sizes), "RGB", "irconstyle");
  run_sizes (sizes, G_N_ELEMENTS (sizes), "I420", "irconstyle");
  /* 4095 wide and 7 high: eight tiles in a row, each shorter than a block */
  gchar *model = small_model ();
  gchar *launch = g_strdup_printf ("irconstyle model=%s", model);
  const gint wide[][2] = {{4095, 7}};
  run_sizes (wide, 1, "RGBx", launch);
  run_sizes (wide, 1, "NV12", launch);
  g_unlink (model);
  g_free (model);
  g_free (launch);
}
GST_END_TEST;

/* 7680x4320 through 135 tiles of 512 with the default overlap. */
GST_START_TEST (test_8k)
{
  gchar *model = small_model ();
  gchar *launch = g_strdup_printf ("irconstyle model=%s backend=cpu", model);
  const gint size[][2] = {{7680, 4320}};
  run_sizes (size, 1, "RGB", launch);
  g_unlink (model);
  g_free (model);
  g_free (launch);
}
GST_END_TEST;

/* Caps change every 10 frames, between sizes and formats, three rounds. */
GST_START_TEST (test_renegotiate_every_10)
{
  const gchar *caps[] = {
    "video/x-raw,format=RGB,width=64,height=48,framerate=25/1",
    "video/x-raw,format=I420,width=33,height=17,framerate=25/1",
    "video/x-raw,format=BGRA,width=7,height=5,framerate=25/1",
    "video/x-raw,format=NV12,width=130,height=66,framerate=25/1",
    "video/x-raw,format=xRGB,width=1,height=1,framerate=25/1",
    "video/x-raw,format=RGB,width=40,height=600,framerate=25/1",
  };
  GstHarness *h = gst_harness_new ("irconstyle");
  /* small tiles, so that some sizes tile and others do not */
  g_object_set (h->element, "tile-size", 128, NULL);
  guint frame = 0;
  for (gint round = 0; round < 3; round++) {
    for (guint c = 0; c < G_N_ELEMENTS (caps); c++) {
      gst_harness_set_caps_str (h, caps[c], caps[c]);
      GstVideoInfo info;
      info_from_string (&info, caps[c]);
      for (gint i = 0; i < 10; i++)
        push_and_check (h, &info, frame++);
    }
  }
  guint64 frames;
  g_object_get (h->element, "frames-processed", &frames, NULL);
  fail_unless_equals_uint64 (frames, frame);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* 100 cycles of NULL -> PLAYING (prerolled: a frame went through) -> NULL. */
GST_START_TEST (test_100_state_cycles)
{
  GstElement *pipe = gst_parse_launch ("videotestsrc ! video/x-raw,width=32,height=24 ! "
      "irconstyle name=f ! fakesink", NULL);
  fail_unless (pipe != NULL);
  GstElement *f = gst_bin_get_by_name (GST_BIN (pipe), "f");
  for (gint i = 0; i < 100; i++) {
    fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    fail_unless_equals_int (gst_element_get_state (pipe, NULL, NULL, 30 * GST_SECOND),
        GST_STATE_CHANGE_SUCCESS);
    guint64 frames;
    g_object_get (f, "frames-processed", &frames, NULL);
    fail_unless (frames >= 1, "cycle %d: no frame processed", i);
    fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (f);
  gst_object_unref (pipe);
}
GST_END_TEST;

/* A pipeline run to EOS or error; returns the message. */
static GstMessage *
run_to_end (GstElement * pipe)
{
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  return msg;
}

/* Two instances behind a tee, different tasks, each sees every frame. */
GST_START_TEST (test_tee)
{
  GstElement *pipe = gst_parse_launch ("videotestsrc num-buffers=30 pattern=ball ! "
      "video/x-raw,format=I420,width=96,height=64 ! tee name=t "
      "t. ! queue ! irconstyle name=a task=derain ! fakesink sync=false "
      "t. ! queue ! videoconvert ! video/x-raw,format=RGBx ! irconstyle name=b task=denoise "
      "tile-size=32 ! fakesink sync=false", NULL);
  fail_unless (pipe != NULL);
  GstMessage *msg = run_to_end (pipe);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  for (const gchar *n = "a"; n; n = g_str_equal (n, "a") ? "b" : NULL) {
    GstElement *e = gst_bin_get_by_name (GST_BIN (pipe), n);
    guint64 frames;
    g_object_get (e, "frames-processed", &frames, NULL);
    fail_unless_equals_uint64 (frames, 30);
    gst_object_unref (e);
  }
  gst_object_unref (pipe);
}
GST_END_TEST;

/* Warnings on @bus whose message or debug text contains @words. */
static gint
count_warnings (GstBus * bus, const gchar * words)
{
  gint n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err;
    gchar *dbg;
    gst_message_parse_warning (m, &err, &dbg);
    GST_INFO ("warning: %s (%s)", err->message, dbg);
    if (strstr (err->message, words) || (dbg && strstr (dbg, words)))
      n++;
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (m);
  }
  return n;
}

static gchar *
error_debug_of (GstElement * pipe)
{
  GstMessage *msg = run_to_end (pipe);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *debug = NULL;
  gst_message_parse_error (msg, &err, &debug);
  GST_INFO ("error: %s (%s)", err->message, debug);
  gchar *all = g_strdup_printf ("%s | %s", err->message, debug);
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
  return all;
}

/* Starts a pipeline on @model and expects an error naming @words. */
static void
expect_start_error (const gchar * model, const gchar * words)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=3 ! irconstyle model=%s ! fakesink",
      model);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  fail_unless (pipe != NULL);
  gchar *text = error_debug_of (pipe);
  fail_unless (strstr (text, words) != NULL, "'%s' not in '%s'", words, text);
  g_free (text);
  g_free (desc);
  gst_object_unref (pipe);
}

/* The model file truncated, then deleted, while playing: the loaded model
 * keeps running; a reload warns and keeps it; a new start fails clearly. */
GST_START_TEST (test_model_file_changes)
{
  gchar *src = g_build_filename (g_getenv ("IRCONSTYLE_MODEL_DIR"), "derain.safetensors", NULL);
  gchar *bytes;
  gsize size;
  fail_unless (g_file_get_contents (src, &bytes, &size, NULL));
  gchar *path = g_build_filename (g_get_tmp_dir (), "irc-hostile-live.safetensors", NULL);
  fail_unless (g_file_set_contents (path, bytes, size, NULL));

  GstHarness *h = gst_harness_new ("irconstyle");
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "model", path, NULL);
  const gchar *caps = "video/x-raw,format=RGB,width=48,height=32,framerate=25/1";
  gst_harness_set_caps_str (h, caps, caps);
  GstVideoInfo info;
  info_from_string (&info, caps);
  for (guint i = 0; i < 3; i++)
    push_and_check (h, &info, i);
  fail_unless_equals_int (count_warnings (bus, "keeping the current one"), 0);

  /* truncated in place (same inode, as a crashed copy would leave it) */
  fail_unless (truncate (path, (off_t) (size / 2)) == 0);
  for (guint i = 0; i < 3; i++)
    push_and_check (h, &info, 10 + i);
  g_object_set (h->element, "model", path, NULL);     /* the next load */
  push_and_check (h, &info, 20);
  fail_unless_equals_int (count_warnings (bus, "truncated"), 1);
  expect_start_error (path, "truncated");

  fail_unless (g_unlink (path) == 0);
  for (guint i = 0; i < 3; i++)
    push_and_check (h, &info, 30 + i);
  g_object_set (h->element, "model", path, NULL);
  push_and_check (h, &info, 40);
  fail_unless_equals_int (count_warnings (bus, "No such file"), 1);
  expect_start_error (path, "No such file");

  guint64 frames;
  g_object_get (h->element, "frames-processed", &frames, NULL);
  fail_unless_equals_uint64 (frames, 11);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (bytes);
  g_free (path);
  g_free (src);
}
GST_END_TEST;

/* Truncated, NaN-filled and non-safetensors model files are refused at start
 * with a message that says what is wrong. */
GST_START_TEST (test_bad_model_files)
{
  gchar *good = small_model ();
  gchar *bytes;
  gsize size;
  fail_unless (g_file_get_contents (good, &bytes, &size, NULL));
  guint64 hlen = 0;
  for (gint i = 7; i >= 0; i--)
    hlen = hlen << 8 | (guint8) bytes[i];
  gchar *path = g_build_filename (g_get_tmp_dir (), "irc-hostile-bad.safetensors", NULL);

  for (gsize cut = 3; cut < size; cut = cut * 4 + 1) {
    fail_unless (g_file_set_contents (path, bytes, (gssize) cut, NULL));
    expect_start_error (path, cut < 8 ? "too short" : "truncated");
  }
  /* every data byte 0xff: NaN in F32 and F16 alike */
  memset (bytes + 8 + hlen, 0xff, size - 8 - hlen);
  fail_unless (g_file_set_contents (path, bytes, (gssize) size, NULL));
  expect_start_error (path, "is NaN");
  /* not a model at all */
  fail_unless (g_file_set_contents (path, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, NULL));
  expect_start_error (path, "not a safetensors file");

  g_unlink (path);
  g_unlink (good);
  g_free (path);
  g_free (good);
  g_free (bytes);
}
GST_END_TEST;

/* Vulkan forced unavailable (no loader): backend=vulkan warns and runs on the
 * CPU; backend=auto quietly takes the CPU. */
GST_START_TEST (test_vulkan_unavailable)
{
  g_setenv ("IRC_VULKAN_LOADER", "/nonexistent/libvulkan.so.1", TRUE);
  for (gint want_vulkan = 1; want_vulkan >= 0; want_vulkan--) {
    GstHarness *h = gst_harness_new ("irconstyle");
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    gst_util_set_object_arg (G_OBJECT (h->element), "backend", want_vulkan ? "vulkan" : "auto");
    const gchar *caps = "video/x-raw,format=RGBA,width=40,height=30,framerate=25/1";
    gst_harness_set_caps_str (h, caps, caps);
    GstVideoInfo info;
    info_from_string (&info, caps);
    push_and_check (h, &info, 1);
    push_and_check (h, &info, 2);
    gchar *in_use = NULL;
    g_object_get (h->element, "backend-in-use", &in_use, NULL);
    fail_unless_equals_string (in_use, "cpu");
    g_free (in_use);
    fail_unless_equals_int (count_warnings (bus, "falling back to the CPU"), want_vulkan);
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
  g_unsetenv ("IRC_VULKAN_LOADER");
}
GST_END_TEST;

static Suite *
hostile_suite (void)
{
  Suite *s = suite_create ("hostile");
  TCase *tc = tcase_create ("hostile");
  /* generous: the sanitizer build runs several times slower */
  tcase_set_timeout (tc, 600);
  suite_add_tcase (s, tc);
  /* IRC_HOSTILE_8K=1 runs the 8K frame (its own meson test, suite 'slow') */
  if (g_getenv ("IRC_HOSTILE_8K")) {
    tcase_add_test (tc, test_8k);
    return s;
  }
  tcase_add_test (tc, test_odd_sizes);
  tcase_add_test (tc, test_renegotiate_every_10);
  tcase_add_test (tc, test_100_state_cycles);
  tcase_add_test (tc, test_tee);
  tcase_add_test (tc, test_model_file_changes);
  tcase_add_test (tc, test_bad_model_files);
  tcase_add_test (tc, test_vulkan_unavailable);
  return s;
}

GST_CHECK_MAIN (hostile);
