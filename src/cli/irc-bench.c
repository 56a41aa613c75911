/* irc-bench: time the network on one frame size, for a named configuration or
 * a model file, optionally next to the PyTorch peer measured in the same run. */
#include "irc/irc.h"
#include "backend.h"   /* irc_backend_vulkan_counters */
#include "bench_sgemm.h"

#include <omp.h>

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
usage (FILE *f)
{
  fprintf (f,
      "usage: irc-bench [--config paper|lite16|tiny8 | --model FILE] [--size WxH]\n"
      "                 [--backend cpu|reference|vulkan] [--threads N] [--reps N] [--cached-code]\n"
      "                 [--fp16] [--peer PATH/torch_peer.py]\n"
      "Prints the median time of one frame, GFLOP/s and peak RSS; with --peer,\n"
      "also runs the PyTorch peer on the same configuration and size and prints the ratio.\n"
      "--cached-code times the per-frame pass of a video scene (style code reused).\n"
      "--fp16 (Vulkan) times fp32 storage, then fp16 storage, in the same run, and prints\n"
      "how far fp16's output is from fp32's (max abs error, PSNR on the 0-1 scale).\n");
}

/* Deterministic small weights so that activations stay in a normal range. */
static void
init_weights (void *user, const char *name, float *data, size_t count)
{
  unsigned *state = user;
  const int unit = strstr (name, "norm") && strstr (name, ".weight");
  for (size_t i = 0; i < count; i++) {
    *state = *state * 1664525u + 1013904223u;
    const float r = ((*state >> 8) / 16777216.0f - 0.5f) * 0.2f;
    data[i] = unit ? 1.0f + r : r;
  }
  if (strstr (name, "running_var"))
    for (size_t i = 0; i < count; i++)
      data[i] = 1.0f;
}

static double
run_peer (const char *peer, const char *config, int w, int h, int threads, double *tiled)
{
  char cmd[2048];
  snprintf (cmd, sizeof cmd, "/usr/bin/python3 '%s' --config %s --size %dx%d --threads %d 2>&1",
      peer, config, h, w, threads);
  FILE *p = popen (cmd, "r");
  if (!p)
    return -1;
  char line[512];
  double untiled = -1;
  *tiled = -1;
  while (fgets (line, sizeof line, p)) {
    fputs ("  peer: ", stdout);
    fputs (line, stdout);
    double ms;
    const char *c = strchr (line, ':');
    if (c && sscanf (c + 1, "%lf ms", &ms) == 1) {
      if (strncmp (line, "torch tiled", 11) == 0)
        *tiled = ms;
      else if (strncmp (line, "torch untiled", 13) == 0)
        untiled = ms;
    }
  }
  pclose (p);
  return untiled;
}

typedef struct {
  double med, min, max;             /* seconds per frame */
  double dispatches, submits;       /* per frame, Vulkan only */
  char device[256];
  irc_backend_kind backend;
  /* IRC_VULKAN_PROFILE: GPU milliseconds and dispatches per frame, per pipeline */
  double pipe_ms[IRC_VULKAN_MAX_PIPES], pipe_runs[IRC_VULKAN_MAX_PIPES];
  const char *pipe_name[IRC_VULKAN_MAX_PIPES];
} timing;

/* Times @reps frames (after one warm-up) of a net built with @np; the last
 * output is left in @out. */
static int
time_net (const irc_model *model, const irc_net_params *np, int w, int h, int reps, int cached,
    const float *img, float *out, timing *res)
{
  irc_error err = {0};
  irc_net *net = NULL;
  if (irc_net_new (model, w, h, np, &net, &err) != IRC_OK) {
    fprintf (stderr, "irc-bench: %s\n", err.message);
    return 1;
  }
  double *t = malloc ((size_t) (reps + 1) * sizeof (double));
  if (!t) {
    fprintf (stderr, "irc-bench: out of memory\n");
    irc_net_free (&net);
    return 1;
  }
  if (cached)
    irc_net_encode (net, img, w, h, NULL, &err);
  irc_vulkan_counters vk0, vk1;
  irc_status st = IRC_OK;
  for (int r = 0; r <= reps && st == IRC_OK; r++) {   /* the first run warms caches and Orc */
    if (r == 1)
      irc_backend_vulkan_counters (&vk0);
    const double t0 = now_s ();
    st = cached ? irc_net_restore_with_code (net, out, img, w, h, &err)
        : irc_net_restore (net, out, img, w, h, &err);
    t[r] = now_s () - t0;
  }
  if (st != IRC_OK) {
    fprintf (stderr, "irc-bench: %s\n", err.message);
    free (t);
    irc_net_free (&net);
    return 1;
  }
  irc_backend_vulkan_counters (&vk1);
  qsort (t + 1, (size_t) reps, sizeof (double), cmp_double);
  res->med = t[1 + reps / 2], res->min = t[1], res->max = t[reps];
  res->dispatches = (double) (vk1.dispatches - vk0.dispatches) / reps;
  res->submits = (double) (vk1.submits - vk0.submits) / reps;
  memcpy (res->device, vk1.device, sizeof res->device);
  for (int i = 0; i < IRC_VULKAN_MAX_PIPES; i++) {
    res->pipe_ms[i] = (double) (vk1.pipe_ns[i] - vk0.pipe_ns[i]) * 1e-6 / reps;
    res->pipe_runs[i] = (double) (vk1.pipe_runs[i] - vk0.pipe_runs[i]) / reps;
    res->pipe_name[i] = vk1.pipe_name[i];
  }
  res->backend = irc_net_backend (net);
  free (t);
  irc_net_free (&net);
  return 0;
}

static void
report (const char *name, const char *storage, int w, int h, int cached, int reps, int threads,
    double gflop, const timing *r)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("irconstyle %s %s%s %dx%d%s: median %.1f ms over %d runs (min %.1f, max %.1f), "
      "%.1f GFLOP/s, peak RSS %.0f MB, threads %d\n",
      name, r->backend == IRC_BACKEND_CPU ? "cpu" : r->backend == IRC_BACKEND_VULKAN ? "vulkan"
      : "reference", storage, w, h, cached ? " cached-code" : "", r->med * 1e3, reps,
      r->min * 1e3, r->max * 1e3, gflop / r->med, ru.ru_maxrss / 1024.0, threads);
  if (r->backend == IRC_BACKEND_VULKAN)
    printf ("vulkan device %s: %.1f dispatches and %.1f submits per frame\n", r->device,
        r->dispatches, r->submits);
  /* the profile, slowest pipeline first (a selection sort over a dozen) */
  double total = 0;
  int order[IRC_VULKAN_MAX_PIPES], n = 0;
  for (int i = 0; i < IRC_VULKAN_MAX_PIPES; i++)
    if (r->pipe_runs[i] > 0)
      order[n++] = i, total += r->pipe_ms[i];
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (r->pipe_ms[order[j]] > r->pipe_ms[order[i]]) {
        const int k = order[i];
        order[i] = order[j], order[j] = k;
      }
  if (n)
    printf ("GPU time per frame (IRC_VULKAN_PROFILE): %.2f ms in dispatches\n", total);
  for (int i = 0; i < n; i++)
    printf ("  %-20s %8.2f ms %5.1f%% %6.1f dispatches\n", r->pipe_name[order[i]],
        r->pipe_ms[order[i]], 100.0 * r->pipe_ms[order[i]] / total, r->pipe_runs[order[i]]);
}

int
main (int argc, char **argv)
{
  const char *config = "lite16", *model_path = NULL, *peer = NULL;
  int w = 1280, h = 720, threads = 0, reps = 5, cached = 0, fp16 = 0;
  irc_backend_kind backend = IRC_BACKEND_CPU;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
      usage (stdout);
      return 0;
    } else if (!strcmp (a, "--cached-code")) {
      cached = 1;
    } else if (!strcmp (a, "--fp16")) {
      fp16 = 1;
    } else if (!v) {
      usage (stderr);
      return 2;
    } else if (!strcmp (a, "--config")) {
      config = v, i++;
    } else if (!strcmp (a, "--model")) {
      model_path = v, i++;
    } else if (!strcmp (a, "--size")) {
      if (sscanf (v, "%dx%d", &w, &h) != 2 || w < 1 || h < 1) {
        fprintf (stderr, "irc-bench: --size wants WxH, got '%s'\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp (a, "--threads")) {
      threads = atoi (v), i++;
    } else if (!strcmp (a, "--reps")) {
      reps = atoi (v) > 0 ? atoi (v) : 1, i++;
    } else if (!strcmp (a, "--peer")) {
      peer = v, i++;
    } else if (!strcmp (a, "--backend")) {
      if (!strcmp (v, "cpu"))
        backend = IRC_BACKEND_CPU;
      else if (!strcmp (v, "reference"))
        backend = IRC_BACKEND_REFERENCE;
      else if (!strcmp (v, "vulkan"))
        backend = IRC_BACKEND_VULKAN;
      else {
        fprintf (stderr, "irc-bench: unknown backend '%s'\n", v);
        return 2;
      }
      i++;
    } else {
      usage (stderr);
      return 2;
    }
  }
  irc_error err = {0};
  irc_model *model = NULL;
  irc_status st;
  if (model_path) {
    st = irc_model_load (model_path, NULL, &model, &err);
  } else {
    irc_config cfg;
    unsigned seed = 1;
    st = irc_config_named (config, &cfg, &err);
    if (st == IRC_OK)
      st = irc_model_new (&cfg, init_weights, &seed, &model, &err);
  }
  if (st != IRC_OK) {
    fprintf (stderr, "irc-bench: %s\n", err.message);
    return 1;
  }
  if (fp16 && backend != IRC_BACKEND_VULKAN) {
    fprintf (stderr, "irc-bench: --fp16 is a Vulkan storage option (add --backend vulkan)\n");
    irc_model_free (&model);
    return 2;
  }
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = backend;
  np.threads = threads;
  const size_t n = (size_t) 3 * w * h;
  float *img = malloc (n * sizeof (float)), *out = malloc (n * sizeof (float));
  float *out16 = fp16 ? malloc (n * sizeof (float)) : NULL;
  if (!img || !out || (fp16 && !out16)) {
    fprintf (stderr, "irc-bench: out of memory\n");
    return 1;
  }
  unsigned s = 7;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    img[i] = (s >> 8) / 16777216.0f;
  }
  const char *name = model_path ? model_path : config;
  const irc_config *cfg = irc_model_config (model);
  const double gflop = 2.0 * irc_config_macs_per_pixel (cfg) * ((w + 7) / 8 * 8)
      * ((h + 7) / 8 * 8) * 1e-9;
  timing t32;
  if (time_net (model, &np, w, h, reps, cached, img, out, &t32)) {
    irc_model_free (&model);
    return 1;
  }
  report (name, fp16 ? " fp32" : "", w, h, cached, reps, threads, gflop, &t32);
  if (backend != IRC_BACKEND_VULKAN) {
    /* the machine's SGEMM ceiling on the CPU backend's threads, same run */
    const int nt = threads > 0 ? threads : omp_get_num_procs ();
    double best = 0;
    const double ceiling = irc_bench_sgemm_gflops (2048, nt, 5, &best);
    if (ceiling > 0)
      printf ("sgemm ceiling: OpenBLAS cblas_sgemm 2048x2048x2048, %d threads: %.1f GFLOP/s "
          "(median of 5; best %.1f); this frame %.1f GFLOP/s = %.2f of it\n", nt, ceiling,
          best, gflop / t32.med, gflop / t32.med / ceiling);
  }
  double med = t32.med;
  if (fp16) {
    timing t16;
    np.vulkan_fp16 = 1;
    if (time_net (model, &np, w, h, reps, cached, img, out16, &t16)) {
      irc_model_free (&model);
      return 1;
    }
    report (name, " fp16", w, h, cached, reps, threads, gflop, &t16);
    double worst = 0, se = 0;
    for (size_t i = 0; i < n; i++) {
      const double d = (double) out16[i] - out[i];
      se += d * d;
      if (!(fabs (d) <= worst))
        worst = fabs (d);
    }
    printf ("fp16 storage: %.2fx the fp32 time; output vs fp32 max abs %.2e, PSNR %.1f dB\n",
        t16.med / t32.med, worst, se > 0 ? 10 * log10 (n / se) : INFINITY);
    med = t16.med;
  }
  if (peer && !model_path) {
    double tiled = -1;
    const double untiled = run_peer (peer, config, w, h, threads > 0 ? threads : 2, &tiled);
    double best = tiled;
    if (untiled > 0 && (best < 0 || untiled < best))
      best = untiled;
    if (best > 0)
      printf ("ratio: PyTorch best %.1f ms / irconstyle %.1f ms = %.2fx\n", best, med * 1e3,
          best / (med * 1e3));
  }
  free (img);
  free (out);
  free (out16);
  irc_model_free (&model);
  return 0;
}
