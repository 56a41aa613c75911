/* long_run: 3000 frames of 320x240 through the element with a scene cut every
 * 100 frames; the resident set after frame 3000 must be within 5% of the one
 * after frame 300 (nothing grows per frame or per scene). A benchmark:
 * `meson test -C build --benchmark --suite long`. Figures in RELIABILITY.md. */
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FRAMES 3000
#define SCENE 100
#define W 320
#define H 240

static double
rss_mb (void)
{
  FILE *f = fopen ("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f || fscanf (f, "%ld %ld", &size, &resident) != 2)
    resident = 0;
  if (f)
    fclose (f);
  return resident * (double) sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Scene @s: its own gradient direction, brightness and texture; frames of a
 * scene move a little, so that consecutive frames differ without a cut. */
static void
fill (guint8 * y, guint8 * u, guint8 * v, const GstVideoInfo * info, gint frame)
{
  const gint s = frame / SCENE, t = frame % SCENE;
  const gint base = 40 + (s * 53) % 150, dx = (s % 3) - 1, dy = ((s / 3) % 3) - 1;
  const gint sy = GST_VIDEO_INFO_PLANE_STRIDE (info, 0);
  const gint suv = GST_VIDEO_INFO_PLANE_STRIDE (info, 1);
  for (gint r = 0; r < H; r++)
    for (gint c = 0; c < W; c++) {
      const gint tex = ((c / (4 + s % 5)) + (r / (3 + s % 7))) % 2 ? 25 : -25;
      gint val = base + (dx * c + dy * r) / 4 + tex + (((c + t) * (r + 2 * t)) >> 11) % 9;
      y[r * sy + c] = (guint8) CLAMP (val, 16, 235);
    }
  for (gint r = 0; r < H / 2; r++)
    for (gint c = 0; c < W / 2; c++) {
      u[r * suv + c] = (guint8) (128 + ((s * 37) % 60) - 30);
      v[r * suv + c] = (guint8) (128 - ((s * 23) % 50) + 25);
    }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  GstHarness *h = gst_harness_new ("irconstyle");
  /* an application's bus, emptied as it would be: one message per cut */
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  guint messages = 0;
  gchar *caps = g_strdup_printf ("video/x-raw,format=I420,width=%d,height=%d,framerate=25/1",
      W, H);
  gst_harness_set_caps_str (h, caps, caps);
  GstVideoInfo info;
  GstCaps *c = gst_caps_from_string (caps);
  gst_video_info_from_caps (&info, c);
  gst_caps_unref (c);

  double rss300 = 0, rss3000 = 0;
  const gint64 t0 = g_get_monotonic_time ();
  for (gint i = 0; i < FRAMES; i++) {
    GstBuffer *b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_WRITE);
    fill (map.data + GST_VIDEO_INFO_PLANE_OFFSET (&info, 0),
        map.data + GST_VIDEO_INFO_PLANE_OFFSET (&info, 1),
        map.data + GST_VIDEO_INFO_PLANE_OFFSET (&info, 2), &info, i);
    gst_buffer_unmap (b, &map);
    GST_BUFFER_PTS (b) = gst_util_uint64_scale (i, GST_SECOND, 25);
    GST_BUFFER_DURATION (b) = GST_SECOND / 25;
    if (gst_harness_push (h, b) != GST_FLOW_OK) {
      fprintf (stderr, "long_run: frame %d refused\n", i);
      return 1;
    }
    gst_buffer_unref (gst_harness_pull (h));
    GstMessage *m;
    while ((m = gst_bus_pop (bus))) {
      const GstStructure *st = gst_message_get_structure (m);
      messages += st && gst_structure_has_name (st, "irconstyle-scene");
      gst_message_unref (m);
    }
    const gint n = i + 1;
    if (n == 300 || n % 500 == 0 || n == FRAMES) {
      const double r = rss_mb ();
      printf ("frame %4d: RSS %.1f MB, %.1f ms/frame so far\n", n, r,
          (g_get_monotonic_time () - t0) / 1000.0 / n);
      fflush (stdout);
      if (n == 300)
        rss300 = r;
      if (n == FRAMES)
        rss3000 = r;
    }
  }
  guint64 frames, scenes;
  g_object_get (h->element, "frames-processed", &frames, "scenes-detected", &scenes, NULL);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
  const double growth = (rss3000 - rss300) / rss300 * 100.0;
  printf ("%" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " scenes detected (%d cut), "
      "%u scene messages, RSS %.1f MB after frame 300, %.1f MB after frame %d: %+.2f%%\n",
      frames, scenes, FRAMES / SCENE, messages, rss300, rss3000, FRAMES, growth);
  if (frames != FRAMES || scenes != FRAMES / SCENE || messages != scenes) {
    fprintf (stderr, "long_run: expected %d frames and %d scenes\n", FRAMES, FRAMES / SCENE);
    return 1;
  }
  return growth > 5.0 || growth < -5.0 ? 1 : 0;
}
