/* irc-stream-bench: the streaming runner measured as the element uses it:
 * per-frame time with the scene's style code reused vs recomputed every
 * frame, peak RSS for large frames (tiling), and the flicker between
 * consecutive outputs on a static scene under fresh synthetic degradation. */
#include "irc/irc.h"
#include "irc/runner.h"
#include "io/degrade.h"
#include "io/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
init_weights (void *user, const char *name, float *data, size_t count)
{
  unsigned *s = user;
  const int unit = strstr (name, "norm") && strstr (name, ".weight");
  for (size_t i = 0; i < count; i++) {
    *s = *s * 1664525u + 1013904223u;
    data[i] = (unit ? 1.0f : 0.0f) + ((*s >> 8) / 16777216.0f - 0.5f) * 0.2f;
  }
  if (strstr (name, "running_var"))
    for (size_t i = 0; i < count; i++)
      data[i] = 1.0f;
}

static double
peak_rss_mb (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

/* A smooth synthetic scene as 8-bit RGB. */
static void
make_scene (float *rgb, int w, int h)
{
  const size_t plane = (size_t) w * h;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const float u = (float) x / w, v = (float) y / h;
      rgb[(size_t) y * w + x] = 0.5f + 0.3f * sinf (9 * u + 2 * v);
      rgb[plane + (size_t) y * w + x] = 0.45f + 0.3f * cosf (5 * v - 3 * u);
      rgb[2 * plane + (size_t) y * w + x] = 0.5f + 0.25f * sinf (13 * u * v + 1);
    }
}

static void
to_rgb8 (uint8_t *dst, const float *rgb, int w, int h)
{
  const size_t plane = (size_t) w * h;
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++) {
      float v = rgb[c * plane + i] * 255.0f + 0.5f;
      dst[i * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t) v;
    }
}

/* Runs @frames frames; returns the median seconds per frame (the first
 * frame, which always runs the style pass, excluded) and the flicker. */
static int
run (const irc_model *m, const irc_runner_params *p, int frames, const char *degrade,
    uint64_t seed, double *median, double *flicker, irc_error *err)
{
  irc_runner *r = NULL;
  if (irc_runner_new (m, p, &r, err) != IRC_OK)
    return 1;
  const int w = p->width, h = p->height;
  const size_t plane = (size_t) w * h;
  float *clean = malloc (3 * plane * sizeof (float)), *deg = malloc (3 * plane * sizeof (float));
  uint8_t *in = malloc (3 * plane), *out = malloc (3 * plane), *prev = malloc (3 * plane);
  double *t = malloc ((size_t) frames * sizeof (double));
  make_scene (clean, w, h);
  irc_task task = IRC_TASK_RAIN;
  if (degrade)
    irc_task_from_name (degrade, &task, err);
  irc_plan_options opts;
  irc_plan_options_init (&opts);
  irc_plan plan;
  irc_rng rng;
  irc_rng_seed (&rng, seed, 1);
  if (degrade && irc_plan_sample (&plan, task, &opts, &rng, err) != IRC_OK)
    return 1;
  double diff = 0;
  int ndiff = 0;
  for (int f = 0; f < frames; f++) {
    memcpy (deg, clean, 3 * plane * sizeof (float));
    if (degrade) {
      irc_rng frng;   /* the same static scene, fresh rain or noise each frame */
      irc_rng_seed (&frng, seed, 100 + (uint64_t) f);
      if (irc_plan_apply (&plan, deg, w, h, &frng, err) != IRC_OK)
        return 1;
    }
    to_rgb8 (in, deg, w, h);
    irc_frame fi = {{in}, {3 * w}}, fo = {{out}, {3 * w}};
    const double t0 = now_s ();
    if (irc_runner_process (r, &fi, &fo, NULL, err) != IRC_OK)
      return 1;
    t[f] = now_s () - t0;
    if (f > 0) {
      double s = 0;
      for (size_t i = 0; i < 3 * plane; i++)
        s += abs ((int) out[i] - (int) prev[i]);
      diff += s / (3.0 * plane);
      ndiff++;
    }
    memcpy (prev, out, 3 * plane);
  }
  qsort (t + 1, (size_t) frames - 1, sizeof (double), cmp_double);
  *median = frames > 1 ? t[1 + (frames - 1) / 2] : t[0];
  *flicker = ndiff ? diff / ndiff : 0;
  if (degrade)
    irc_plan_clear (&plan);
  free (clean), free (deg), free (in), free (out), free (prev), free (t);
  irc_runner_free (&r);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *config = "lite16", *model_path = NULL, *degrade = NULL;
  int w = 1280, h = 720, frames = 6, tile = 512, threads = 0;
  irc_backend_kind backend = IRC_BACKEND_CPU;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp (a, "--help")) {
      printf ("usage: irc-stream-bench [--config NAME | --model FILE] [--size WxH] [--frames N]\n"
          "                        [--tile N] [--threads N] [--degrade rain|noise|...]\n"
          "                        [--backend cpu|vulkan]\n"
          "Per-frame time through the runner with the style code reused (the element's\n"
          "default) and recomputed every frame, peak RSS, and with --degrade the flicker\n"
          "(mean absolute difference of consecutive 8-bit outputs) of a static scene\n"
          "under fresh synthetic degradation every frame, for both.\n");
      return 0;
    }
    if (!v) {
      fprintf (stderr, "irc-stream-bench: %s needs a value (see --help)\n", a);
      return 2;
    }
    if (!strcmp (a, "--config")) config = v;
    else if (!strcmp (a, "--model")) model_path = v;
    else if (!strcmp (a, "--size")) sscanf (v, "%dx%d", &w, &h);
    else if (!strcmp (a, "--frames")) frames = atoi (v);
    else if (!strcmp (a, "--tile")) tile = atoi (v);
    else if (!strcmp (a, "--threads")) threads = atoi (v);
    else if (!strcmp (a, "--degrade")) degrade = v;
    else if (!strcmp (a, "--backend") && !strcmp (v, "cpu")) backend = IRC_BACKEND_CPU;
    else if (!strcmp (a, "--backend") && !strcmp (v, "vulkan")) backend = IRC_BACKEND_VULKAN;
    else if (!strcmp (a, "--backend")) {
      fprintf (stderr, "irc-stream-bench: --backend is cpu or vulkan, not %s\n", v);
      return 2;
    } else {
      fprintf (stderr, "irc-stream-bench: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  if (frames < 2)
    frames = 2;
  irc_error err = {0};
  irc_model *m = NULL;
  irc_config cfg;
  unsigned seed = 1;
  if (model_path ? irc_model_load (model_path, NULL, &m, &err) != IRC_OK
      : irc_config_named (config, &cfg, &err) != IRC_OK
      || irc_model_new (&cfg, init_weights, &seed, &m, &err) != IRC_OK) {
    fprintf (stderr, "irc-stream-bench: %s\n", err.message);
    return 1;
  }
  irc_runner_params p = IRC_RUNNER_DEFAULTS;
  p.width = w, p.height = h, p.format = IRC_FORMAT_RGB, p.tile_size = tile, p.threads = threads;
  p.backend = backend;
  /* a named configuration has no metadata, so its own window would be the
   * global pool: run the 192-pixel window the figures in BENCHMARKS.md use */
  if (!model_path)
    p.tlc_window = 192;
  double t_reuse, t_every, fl_reuse, fl_every;
  if (run (m, &p, frames, degrade, 5, &t_reuse, &fl_reuse, &err)) {
    fprintf (stderr, "irc-stream-bench: %s\n", err.message);
    return 1;
  }
  const double rss = peak_rss_mb ();
  p.style_interval = 1;
  if (run (m, &p, frames, degrade, 5, &t_every, &fl_every, &err)) {
    fprintf (stderr, "irc-stream-bench: %s\n", err.message);
    return 1;
  }
  printf ("%s %s %dx%d tile %d, %d frames: per-scene code %.1f ms/frame, code every frame %.1f "
      "ms/frame (reuse saves %.1f ms, %.1f%%), peak RSS %.0f MB\n",
      model_path ? model_path : config, backend == IRC_BACKEND_VULKAN ? "vulkan" : "cpu", w, h,
      tile, frames, t_reuse * 1e3, t_every * 1e3,
      (t_every - t_reuse) * 1e3, 100 * (t_every - t_reuse) / t_every, rss);
  if (degrade)
    printf ("flicker on a static scene with fresh %s each frame: per-scene code %.3f, "
        "code every frame %.3f (mean |frame[t] - frame[t-1]|, 8-bit levels)\n", degrade,
        fl_reuse, fl_every);
  irc_model_free (&m);
  return 0;
}
