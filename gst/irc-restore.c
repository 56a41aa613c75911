/* irc-restore: restore a video or image file with the irconstyle element.
 * Builds the pipeline itself, keeps the audio, shows progress, writes the
 * output to a temporary file renamed into place only on success. */
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline, *filter, *mux;
  gboolean failed, is_image, quiet, tty;
  int last_decile;
  gint64 start_us;
  gchar *error;
} app;

static gboolean
has_suffix_ci (const gchar * s, const gchar * suffix)
{
  gchar *l = g_ascii_strdown (s, -1);
  const gboolean r = g_str_has_suffix (l, suffix);
  g_free (l);
  return r;
}

static gboolean
is_image_path (const gchar * p)
{
  return has_suffix_ci (p, ".png") || has_suffix_ci (p, ".jpg") || has_suffix_ci (p, ".jpeg");
}

/* decodebin's audio pad: encode to AAC into the same muxer, when we can */
static void
on_pad_added (GstElement * dec, GstPad * pad, gpointer user)
{
  app *a = user;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  const gchar *name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  GstElement *bin = a->pipeline;
  if (g_str_has_prefix (name, "video/")) {
    GstElement *q = gst_bin_get_by_name (GST_BIN (bin), "vq");
    GstPad *sink = gst_element_get_static_pad (q, "sink");
    if (!gst_pad_is_linked (sink))
      gst_pad_link (pad, sink);
    gst_object_unref (sink);
    gst_object_unref (q);
  } else if (g_str_has_prefix (name, "audio/") && a->mux) {
    GstElement *q = gst_element_factory_make ("queue", NULL);
    GstElement *conv = gst_element_factory_make ("audioconvert", NULL);
    GstElement *res = gst_element_factory_make ("audioresample", NULL);
    GstElement *enc = gst_element_factory_make ("avenc_aac", NULL);
    if (!enc)
      enc = gst_element_factory_make ("voaacenc", NULL);
    if (!q || !conv || !res || !enc) {
      g_printerr ("irc-restore: no AAC encoder (install gstreamer1.0-libav): audio dropped\n");
      for (GstElement **e = (GstElement *[]) {q, conv, res, enc, NULL}; *e; e++)
        gst_object_unref (*e);
    } else {
      gst_bin_add_many (GST_BIN (bin), q, conv, res, enc, NULL);
      gst_element_link_many (q, conv, res, enc, a->mux, NULL);
      GstPad *sink = gst_element_get_static_pad (q, "sink");
      gst_pad_link (pad, sink);
      gst_object_unref (sink);
      for (GstElement **e = (GstElement *[]) {q, conv, res, enc, NULL}; *e; e++)
        gst_element_sync_state_with_parent (*e);
    }
  }
  gst_caps_unref (caps);
  (void) dec;
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer user)
{
  app *a = user;
  (void) bus;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      g_main_loop_quit (a->loop);
      break;
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      a->error = g_strdup_printf ("%s%s%s", err->message, dbg ? "\n  " : "", dbg ? dbg : "");
      a->failed = TRUE;
      g_error_free (err);
      g_free (dbg);
      g_main_loop_quit (a->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *err = NULL;
      gst_message_parse_warning (msg, &err, NULL);
      g_printerr ("\nirc-restore: warning: %s\n", err->message);
      g_error_free (err);
      break;
    }
    default:
      break;
  }
  return TRUE;
}

static gboolean
on_progress (gpointer user)
{
  app *a = user;
  gint64 pos = -1, dur = -1;
  guint64 frames = 0;
  gst_element_query_position (a->pipeline, GST_FORMAT_TIME, &pos);
  gst_element_query_duration (a->pipeline, GST_FORMAT_TIME, &dur);
  g_object_get (a->filter, "frames-processed", &frames, NULL);
  const double secs = (g_get_monotonic_time () - a->start_us) / 1e6;
  const double fps = secs > 0 ? frames / secs : 0;
  if (!a->tty) {
    /* a log, not a terminal: a line at every tenth instead of a redrawn bar */
    const int decile = dur > 0 && pos >= 0 ? (int) (10.0 * pos / dur) : 0;
    if (decile > a->last_decile && decile <= 10) {
      a->last_decile = decile;
      g_printerr ("%3d%%  %" G_GUINT64_FORMAT " frames  %.2f fps\n", decile * 10, frames, fps);
    }
    return G_SOURCE_CONTINUE;
  }
  if (dur > 0 && pos >= 0) {
    const double frac = CLAMP ((double) pos / dur, 0.0, 1.0);
    const int width = 30, fill = (int) (frac * width);
    const double eta = frac > 0.001 ? secs * (1 - frac) / frac : 0;
    g_printerr ("\r[%.*s%*s] %5.1f%%  %6.2f fps  ETA %02d:%02d  ", fill,
        "##############################", width - fill, "", frac * 100, fps,
        (int) eta / 60, (int) eta % 60);
  } else {
    g_printerr ("\r%" G_GUINT64_FORMAT " frames  %6.2f fps  ", frames, fps);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
same_file (const gchar * a, const gchar * b)
{
  struct stat sa, sb;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
      && sa.st_ino == sb.st_ino;
}

/* Sets the enum property @prop of @filter to the value named @nick (NULL:
 * leaves it); an unknown name is reported with the names there are. */
static gboolean
set_enum (GstElement * filter, const gchar * prop, const gchar * what, const gchar * nick)
{
  if (!nick)
    return TRUE;
  GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (filter), prop);
  GEnumClass *values = ps ? G_PARAM_SPEC_ENUM (ps)->enum_class : NULL;
  GEnumValue *v = values ? g_enum_get_value_by_nick (values, nick) : NULL;
  if (v) {
    g_object_set (filter, prop, v->value, NULL);
    return TRUE;
  }
  GString *known = g_string_new (NULL);
  for (guint i = 0; values && i < values->n_values; i++)
    g_string_append_printf (known, "%s%s", i ? ", " : "", values->values[i].value_nick);
  g_printerr ("irc-restore: unknown %s '%s' (%s)\n", what, nick, known->str);
  g_string_free (known, TRUE);
  return FALSE;
}

int
main (int argc, char **argv)
{
  gchar *task = NULL, *model = NULL, *backend = NULL, *temporal = NULL, *preset = NULL;
  gint tile = -1, threads = -1;
  gboolean quiet = FALSE, force = FALSE;
  GOptionEntry entries[] = {
    {"task", 't', 0, G_OPTION_ARG_STRING, &task,
        "derain, dehaze, denoise, deblur, auto or defog (default derain)", "TASK"},
    {"preset", 'p', 0, G_OPTION_ARG_STRING, &preset,
        "quality (default) or realtime: the task's full-size or small model", "NAME"},
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "model file instead of the task's", "FILE"},
    {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend, "auto, cpu or vulkan", "NAME"},
    {"tile-size", 0, 0, G_OPTION_ARG_INT, &tile, "tile size in pixels (0 = whole frames)", "N"},
    {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "CPU threads (0 = all cores)", "N"},
    {"temporal", 0, 0, G_OPTION_ARG_STRING, &temporal,
        "off (default), rain or noise: also use the past frames (video only)", "MODE"},
    {"force", 'f', 0, G_OPTION_ARG_NONE, &force, "overwrite an existing output file", NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress bar", NULL},
    {NULL},
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("INPUT OUTPUT");
  g_option_context_set_summary (ctx,
      "Restores a video (.mp4, .mkv, .mov, .webm...) or an image (.png, .jpg) with the\n"
      "irconstyle element. Video output is H.264 in MP4 or Matroska (by the output's\n"
      "extension) with the audio kept; the output appears only when complete.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3) {
    g_printerr ("irc-restore: %s\n%s", error ? error->message : "need INPUT and OUTPUT",
        g_option_context_get_help (ctx, TRUE, NULL));
    return 2;
  }
  g_option_context_free (ctx);
  const gchar *in = argv[1], *out = argv[2];
  if (!g_file_test (in, G_FILE_TEST_IS_REGULAR)) {
    g_printerr ("irc-restore: %s: no such file\n", in);
    return 1;
  }
  if (g_strcmp0 (in, out) == 0 || same_file (in, out)) {
    g_printerr ("irc-restore: refusing to overwrite the input %s\n", in);
    return 1;
  }
  if (g_file_test (out, G_FILE_TEST_EXISTS) && !force) {
    g_printerr ("irc-restore: %s exists (use --force to overwrite)\n", out);
    return 1;
  }
  const gboolean image = is_image_path (out);
  if (is_image_path (in) != image) {
    g_printerr ("irc-restore: restore images to images and videos to videos (%s -> %s)\n",
        in, out);
    return 2;
  }
  /* the temporary output lives next to the final one so rename() is atomic */
  gchar *dir = g_path_get_dirname (out), *base = g_path_get_basename (out);
  gchar *tmp_template = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  gint fd = g_mkstemp (tmp_template);
  if (fd < 0) {
    g_printerr ("irc-restore: cannot write in %s: %s\n", dir, g_strerror (errno));
    return 1;
  }
  close (fd);
  gchar *in_q = g_strescape (in, NULL), *tmp_q = g_strescape (tmp_template, NULL);
  const gchar *mux = has_suffix_ci (out, ".mkv") || has_suffix_ci (out, ".webm")
      ? "matroskamux" : has_suffix_ci (out, ".mov") ? "qtmux" : "mp4mux";
  gchar *desc;
  if (image) {
    const gchar *enc = has_suffix_ci (out, ".png") ? "pngenc" : "jpegenc quality=95";
    desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! videoconvert ! "
        "irconstyle name=f ! videoconvert ! %s ! filesink location=\"%s\"", in_q, enc, tmp_q);
  } else {
    desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin name=dec "
        "queue name=vq ! videoconvert ! irconstyle name=f ! videoconvert ! "
        "video/x-raw,format=I420 ! x264enc speed-preset=medium pass=qual quantizer=20 ! h264parse ! queue ! %s name=mux ! "
        "filesink location=\"%s\"", in_q, mux, tmp_q);
  }
  app a = {0};
  a.is_image = image;
  a.quiet = quiet;
  a.tty = isatty (STDERR_FILENO);
  a.pipeline = gst_parse_launch (desc, &error);
  if (!a.pipeline || error) {
    /* a missing element (irconstyle not installed, no H.264 encoder) lands here */
    g_printerr ("irc-restore: cannot build the pipeline: %s\n", error ? error->message : "");
    if (error && strstr (error->message, "irconstyle"))
      g_printerr ("  (is the plugin installed? in the build tree, run through "
          "`meson devenv -C build`)\n");
    g_unlink (tmp_template);
    return 1;
  }
  a.filter = gst_bin_get_by_name (GST_BIN (a.pipeline), "f");
  if (!set_enum (a.filter, "task", "task", task) || !set_enum (a.filter, "preset", "preset",
          preset) || !set_enum (a.filter, "temporal", "temporal mode", temporal)) {
    g_unlink (tmp_template);
    return 2;
  }
  if (backend)
    gst_util_set_object_arg (G_OBJECT (a.filter), "backend", backend);
  if (model)
    g_object_set (a.filter, "model", model, NULL);
  if (tile >= 0)
    g_object_set (a.filter, "tile-size", tile, NULL);
  if (threads >= 0)
    g_object_set (a.filter, "threads", threads, NULL);
  if (!image) {
    a.mux = gst_bin_get_by_name (GST_BIN (a.pipeline), "mux");
    GstElement *dec = gst_bin_get_by_name (GST_BIN (a.pipeline), "dec");
    g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), &a);
    gst_object_unref (dec);
  }
  a.loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (a.pipeline);
  gst_bus_add_watch (bus, on_bus, &a);
  a.start_us = g_get_monotonic_time ();
  guint timer = quiet ? 0 : g_timeout_add (250, on_progress, &a);
  if (gst_element_set_state (a.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE
      && !a.failed) {
    a.failed = TRUE;
  }
  if (!a.failed || !a.error)
    g_main_loop_run (a.loop);
  if (!quiet && a.tty)
    on_progress (&a);
  if (timer)
    g_source_remove (timer);
  guint64 frames = 0;
  g_object_get (a.filter, "frames-processed", &frames, NULL);
  gst_element_set_state (a.pipeline, GST_STATE_NULL);
  const double secs = (g_get_monotonic_time () - a.start_us) / 1e6;
  int rc = 0;
  if (a.failed) {
    g_printerr ("\nirc-restore: failed: %s\n", a.error ? a.error : "the pipeline did not start");
    g_unlink (tmp_template);
    rc = 1;
  } else if (frames == 0) {
    g_printerr ("\nirc-restore: %s held no video frames\n", in);
    g_unlink (tmp_template);
    rc = 1;
  } else if (g_rename (tmp_template, out) != 0) {
    g_printerr ("\nirc-restore: cannot rename the result to %s: %s\n", out, g_strerror (errno));
    g_unlink (tmp_template);
    rc = 1;
  } else {
    g_chmod (out, 0644);
    g_printerr ("%s%s: %" G_GUINT64_FORMAT " frame%s in %.1f s (%.2f fps)\n",
        quiet || !a.tty ? "" : "\n",
        out, frames, frames == 1 ? "" : "s", secs, frames / (secs > 0 ? secs : 1));
  }
  gst_object_unref (bus);
  gst_object_unref (a.filter);
  if (a.mux)
    gst_object_unref (a.mux);
  gst_object_unref (a.pipeline);
  g_main_loop_unref (a.loop);
  g_free (desc), g_free (in_q), g_free (tmp_q), g_free (tmp_template), g_free (dir), g_free (base);
  g_free (a.error), g_free (task), g_free (model), g_free (backend), g_free (temporal);
  g_free (preset);
  return rc;
}
