/* irc-train-bench: median wall time of one training step (forward, the four
 * losses, backward, AdamW) of a named configuration, and in the same run:
 * the PyTorch peer's same step (--peer ../shared/bench/torch_peer.py) and the
 * ratio, the machine's SGEMM ceiling next to the step's GFLOP/s, where the
 * step's time goes (data preparation, key pass, forward, losses, backward by
 * op family, optimiser), and the loop with the data prepared in turn against
 * prepared one batch ahead on a worker thread (as irc-train does). */
#include "train/train.h"
#include "train/data.h"
#include "train/prefetch.h"
#include "bench_sgemm.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (every thread), for a figure that a busy
 * machine's descheduling does not inflate */
static double
cpu_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Small uniform weights so the step runs on a network that computes something. */
static void
init_uniform (void *user, const char *name, float *data, size_t count)
{
  unsigned *s = user;
  const int unit = strstr (name, "norm") && strstr (name, "weight");
  for (size_t i = 0; i < count; i++) {
    *s = *s * 1664525u + 1013904223u;
    const float u = (float) (*s >> 8) / 16777216.0f - 0.5f;
    data[i] = unit ? 1.0f + 0.1f * u : 0.1f * u;
  }
}

/* Multiply-adds per input pixel of the ConStyle encoder alone (the key
 * pass): the encoder terms of irc_config_macs_per_pixel. */
static double
encoder_macs (const irc_config *cfg)
{
  const double w = cfg->enc_width;
  const double lv[5] = {1, 0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256};
  return 9 * (3 * w + w * w) * lv[0] + 9 * w * 2 * w * lv[1]
      + 9 * (2 * w * 2 * w) * lv[1] + 9 * 2 * w * 4 * w * lv[2]
      + 9 * (4 * w * 8 * w) * lv[2] + 9 * 8 * w * 8 * w * lv[3]
      + 9 * (8 * w * 16 * w) * lv[3] + 9 * 16 * w * 16 * w * lv[4];
}

/* Synthetic training images when no --data is given: smooth gradients,
 * edges and texture, 481x321 (BSDS's size). */
static int
synthetic_images (trd_set *s, int count)
{
  s->img = calloc ((size_t) count, sizeof *s->img);
  if (!s->img)
    return -1;
  s->cap = (size_t) count;
  unsigned seed = 99;
  for (int k = 0; k < count; k++) {
    const int W = 481, H = 321;
    uint8_t *px = malloc ((size_t) 3 * W * H);
    if (!px)
      return -1;
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          seed = seed * 1664525u + 1013904223u;
          const int edge = ((x / (17 + 3 * k) + y / (23 + c)) & 1) * 60;
          const int v = (x * (40 + 20 * c)) / W + (y * 90) / H + edge + (int) (seed >> 28);
          px[((size_t) c * H + y) * W + x] = (uint8_t) (v > 255 ? 255 : v);
        }
    s->img[k].width = W;
    s->img[k].height = H;
    s->img[k].clean = px;
    s->n = (size_t) k + 1;
  }
  return 0;
}

typedef struct {
  trd_set *set;
  float *lq[2], *gt[2];
} bench_batches;

static irc_status
make_batch (void *user, int64_t index, int slot, irc_error *err)
{
  bench_batches *b = user;
  (void) index;
  return trd_batch (b->set, b->lq[slot], b->gt[slot], err);
}

/* Runs the PyTorch peer's training step; its median in ms, or -1. */
static double
run_peer (const char *peer, const char *config, int batch, int patch, int threads)
{
  char cmd[2048];
  snprintf (cmd, sizeof cmd, "/usr/bin/python3 '%s' --config %s --train --batch %d --patch %d "
      "--threads %d 2>&1", peer, config, batch, patch, threads);
  FILE *p = popen (cmd, "r");
  if (!p)
    return -1;
  char line[512];
  double ms = -1;
  while (fgets (line, sizeof line, p)) {
    fputs ("  peer: ", stdout);
    fputs (line, stdout);
    const char *c = strchr (line, ':');
    if (c && strncmp (line, "torch train step", 16) == 0)
      sscanf (c + 1, "%lf ms", &ms);
  }
  pclose (p);
  return ms;
}

static double
median (double *t, int n)
{
  qsort (t, (size_t) n, sizeof (double), cmp_double);
  return t[n / 2];
}

static void
usage (FILE *f, const char *argv0)
{
  fprintf (f, "usage: %s [--config NAME] [--batch N] [--patch N] [--reps N] [--threads N]\n"
      "       [--data DIR] [--kernels DIR] [--task denoise|derain|dehaze|deblur|auto]\n"
      "       [--compress-prob P]\n"
      "       [--peer PATH/torch_peer.py]\n"
      "Median of N training steps after a warm-up, with the step's GFLOP/s against\n"
      "OpenBLAS's SGEMM ceiling (2048^3 on the same threads) and where the time goes;\n"
      "data preparation per task (images of --data, else synthetic ones); N loop\n"
      "iterations with the data prepared in turn and one batch ahead on a worker\n"
      "thread; with --peer, the PyTorch step in the same run and the ratio.\n", argv0);
}

int
main (int argc, char **argv)
{
  const char *config = "lite16", *peer = NULL, *data_dir = NULL, *kernel_dir = NULL;
  int batch = 8, patch = 96, reps = 5, threads = 0, task = TRD_AUTO;
  double compress_prob = 0.15;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp (argv[i], "--help") == 0) {
      usage (stdout, argv[0]);
      return 0;
    } else if (!v) {
      usage (stderr, argv[0]);
      return 2;
    } else if (strcmp (argv[i], "--config") == 0) {
      config = v, i++;
    } else if (strcmp (argv[i], "--batch") == 0) {
      batch = atoi (v), i++;
    } else if (strcmp (argv[i], "--patch") == 0) {
      patch = atoi (v), i++;
    } else if (strcmp (argv[i], "--reps") == 0) {
      reps = atoi (v), i++;
    } else if (strcmp (argv[i], "--threads") == 0) {
      threads = atoi (v), i++;
    } else if (strcmp (argv[i], "--peer") == 0) {
      peer = v, i++;
    } else if (strcmp (argv[i], "--data") == 0) {
      data_dir = v, i++;
    } else if (strcmp (argv[i], "--kernels") == 0) {
      kernel_dir = v, i++;
    } else if (strcmp (argv[i], "--compress-prob") == 0) {
      compress_prob = atof (v), i++;
    } else if (strcmp (argv[i], "--task") == 0) {
      task = trd_task_from_name (v), i++;
      if (task < 0) {
        fprintf (stderr, "irc-train-bench: unknown task '%s'\n", v);
        return 2;
      }
    } else {
      usage (stderr, argv[0]);
      return 2;
    }
  }
  if (reps < 1 || reps > 1000)
    reps = 5;
  if (threads > 0)
    omp_set_num_threads (threads);
  threads = omp_get_max_threads ();
  double load = -1;
  FILE *la = fopen ("/proc/loadavg", "r");
  if (la) {
    if (fscanf (la, "%lf", &load) != 1)
      load = -1;
    fclose (la);
  }
  printf ("irc-train-bench: %s, batch %d, patch %d, %d threads, load average %.2f at the "
      "start\n", config, batch, patch, threads, load);

  irc_error err = {0};
  irc_config cfg;
  irc_model *model = NULL;
  irc_trainer *tr = NULL;
  unsigned seed = 1;
  irc_train_params p = IRC_TRAIN_DEFAULTS;
  p.batch = batch;
  p.patch = patch;
  p.queue_size = 64 * batch;   /* as the peer */
  if (irc_config_named (config, &cfg, &err) != IRC_OK
      || irc_model_new (&cfg, init_uniform, &seed, &model, &err) != IRC_OK
      || irc_trainer_new (model, &p, &tr, &err) != IRC_OK) {
    fprintf (stderr, "irc-train-bench: %s\n", err.message);
    return 1;
  }
  int code, K;
  float *queue = irc_trainer_queue (tr, &code, &K);
  for (size_t i = 0; i < (size_t) code * K; i++) {
    seed = seed * 1664525u + 1013904223u;
    queue[i] = (float) (seed >> 8) / 16777216.0f - 0.5f;
  }
  const size_t img = (size_t) batch * 3 * patch * patch;
  float *lq = malloc (img * sizeof (float)), *gt = malloc (img * sizeof (float));
  for (size_t i = 0; i < img; i++) {
    seed = seed * 1664525u + 1013904223u;
    gt[i] = (float) (seed >> 8) / 16777216.0f;
    lq[i] = gt[i] * 0.8f + 0.1f;
  }

  /* 1. the step: median of @reps after a warm-up, timed by phase */
  double *t = malloc ((size_t) (reps + 1) * sizeof (double));
  double *tc = malloc ((size_t) (reps + 1) * sizeof (double));
  irc_train_timing tm;
  memset (&tm, 0, sizeof tm);
  irc_train_losses L;
  for (int r = 0; r <= reps; r++) {
    if (r == 1)
      irc_trainer_set_timing (tr, &tm);
    const double t0 = now (), c0 = cpu_now ();
    if (irc_trainer_step (tr, lq, gt, &L, &err) != IRC_OK) {
      fprintf (stderr, "irc-train-bench: %s\n", err.message);
      return 1;
    }
    t[r] = now () - t0;   /* t[0] is the warm-up */
    tc[r] = cpu_now () - c0;
  }
  irc_trainer_set_timing (tr, NULL);
  const double step = median (t + 1, reps);
  printf ("irc train step  %s batch %d patch %d: %.0f ms (median of %d)  loss %.4f\n", config,
      batch, patch, step * 1000, reps, L.total);
  /* with one thread this is the step's own work; with more it includes the
   * pool's brief spinning between jobs */
  printf ("  CPU time per step, all threads: %.0f ms (median of %d)\n",
      median (tc + 1, reps) * 1000, reps);
  free (tc);
  /* forward (query encoder and U-Net), key encoder forward, and a backward
   * of about twice the forward (input and weight gradients) */
  const double px = (double) batch * patch * patch;
  const double gflop = 2.0 * px * (3 * irc_config_macs_per_pixel (&cfg) + encoder_macs (&cfg))
      * 1e-9;

  /* 2. the ceiling: OpenBLAS SGEMM on the same threads */
  double best = 0;
  const double ceiling = irc_bench_sgemm_gflops (2048, threads, 5, &best);
  printf ("sgemm ceiling: OpenBLAS cblas_sgemm 2048x2048x2048, %d threads: %.1f GFLOP/s "
      "(median of 5; best %.1f)\n", threads, ceiling, best);
  printf ("our step: %.1f GFLOP (nominal: forward, key pass, backward 2x forward) in %.0f ms = "
      "%.1f GFLOP/s, %.2f of the ceiling\n", gflop, step * 1e3, gflop / step,
      gflop / step / ceiling);

  /* 3. data preparation per task, then the breakdown */
  trd_set set;
  irc_plan_options gen;
  irc_plan_options_init (&gen);
  irc_kernel *kernels = NULL;
  size_t n_kernels = 0;
  if (kernel_dir && irc_kernel_load_dir (kernel_dir, &kernels, &n_kernels, &err) != IRC_OK) {
    fprintf (stderr, "irc-train-bench: %s\n", err.message);
    return 1;
  }
  trd_degradation deg = { .task = task, .sigma_max = 50.0f, .kernels = kernels,
      .n_kernels = n_kernels, .kernel_prob = gen.kernel_prob,
      .compress_prob = (float) compress_prob, .compress_quality_min = 30,
      .compress_quality_max = 90, .heavy_prob = gen.rain_heavy_prob };
  double data_ms[TRD_TASK_COUNT];
  printf ("data preparation (trd_batch: crops, degradation, JPEG with p %.2f), %s%s%s, %d "
      "threads, median of %d:\n ", compress_prob, data_dir ? data_dir : "synthetic 481x321 images",
      kernel_dir ? ", kernels of " : "", kernel_dir ? kernel_dir : "", threads, reps);
  for (int k = 0; k < TRD_TASK_COUNT; k++) {
    deg.task = k;
    trd_set_init (&set, batch, patch, &deg, 10);
    if (data_dir ? trd_add_clean (&set, data_dir, NULL, &err) != IRC_OK
        : synthetic_images (&set, 16) != 0) {
      fprintf (stderr, "irc-train-bench: %s\n", data_dir ? err.message : "out of memory");
      return 1;
    }
    for (int r = 0; r <= reps; r++) {
      const double t0 = now ();
      if (trd_batch (&set, lq, gt, &err) != IRC_OK) {
        fprintf (stderr, "irc-train-bench: %s\n", err.message);
        return 1;
      }
      t[r] = now () - t0;
    }
    data_ms[k] = median (t + 1, reps) * 1e3;
    printf (" %s %.1f ms%s", trd_task_name (k), data_ms[k], k + 1 < TRD_TASK_COUNT ? "," : "\n");
    trd_set_clear (&set);
  }

  const double n = tm.steps > 0 ? (double) tm.steps : 1;
  double mean = 0;
  for (int ph = 0; ph < IRC_TRAIN_PHASES; ph++)
    mean += tm.phase[ph];
  mean /= n;
  const double in_turn = data_ms[task] + mean * 1e3;
  printf ("where a loop iteration goes (task %s; the step's phases are means over its %d timed "
      "steps, %.0f ms):\n", trd_task_name (task), (int) tm.steps, mean * 1e3);
  printf ("  %-34s %8.1f ms %5.1f%%\n", "data preparation (trd_batch)", data_ms[task],
      100 * data_ms[task] / in_turn);
  static const char *const phase_name[IRC_TRAIN_PHASES] = {
    "key pass (momentum, key encoder)", "forward (encoder, U-Net)", "losses",
    "backward, U-Net", "backward, ConStyle encoder", "optimiser (EMA, AdamW)",
    "other (layout, zeroing, queue)",
  };
  static const char *const fam_name[IRC_TRAIN_OPS_FAMILIES] = {
    "conv3x3", "1x1/GEMM", "depthwise", "norm/elementwise",
  };
  for (int ph = 0; ph < IRC_TRAIN_PHASES; ph++) {
    const double ms = tm.phase[ph] / n * 1e3;
    printf ("  %-34s %8.1f ms %5.1f%%", phase_name[ph], ms, 100 * ms / in_turn);
    double ops = 0;
    for (int f = 0; f < IRC_TRAIN_OPS_FAMILIES; f++)
      ops += tm.ops[ph][f];
    if (ops > 0) {
      fputs ("  (", stdout);
      for (int f = 0; f < IRC_TRAIN_OPS_FAMILIES; f++)
        printf ("%s %.1f, ", fam_name[f], tm.ops[ph][f] / n * 1e3);
      printf ("rest %.1f)", (tm.phase[ph] - ops) / n * 1e3);
    }
    putchar ('\n');
  }

  /* 4. the training loop's iteration (data, then the step), with the batch
   * made in turn and made one batch ahead on a worker thread, alternately so
   * that both meet the same load */
  trd_set sets[2];
  bench_batches bb[2];
  irc_tr_prefetch *pf[2] = { NULL, NULL };
  double *tl[2] = { malloc ((size_t) reps * sizeof (double)),
    malloc ((size_t) reps * sizeof (double)) };
  for (int a = 0; a < 2; a++) {
    trd_set_init (&sets[a], batch, patch, &deg, 10);
    sets[a].deg.task = task;
    bb[a].set = &sets[a];
    for (int k = 0; k < 2; k++) {
      bb[a].lq[k] = malloc (img * sizeof (float));
      bb[a].gt[k] = malloc (img * sizeof (float));
      if (!bb[a].lq[k] || !bb[a].gt[k] || !tl[a]) {
        fprintf (stderr, "irc-train-bench: out of memory\n");
        return 1;
      }
    }
    if (data_dir ? trd_add_clean (&sets[a], data_dir, NULL, &err) != IRC_OK
        : synthetic_images (&sets[a], 16) != 0) {
      fprintf (stderr, "irc-train-bench: %s\n", data_dir ? err.message : "out of memory");
      return 1;
    }
    if (irc_tr_prefetch_new (make_batch, &bb[a], reps + 1, a, threads, &pf[a], &err) != IRC_OK) {
      fprintf (stderr, "irc-train-bench: %s\n", err.message);
      return 1;
    }
  }
  for (int r = 0; r <= reps; r++)
    for (int a = 0; a < 2; a++) {
      const double t0 = now ();
      int slot = 0;
      if (irc_tr_prefetch_next (pf[a], &slot, &err) != IRC_OK
          || irc_trainer_step (tr, bb[a].lq[slot], bb[a].gt[slot], &L, &err) != IRC_OK) {
        fprintf (stderr, "irc-train-bench: %s\n", err.message);
        return 1;
      }
      if (r > 0)   /* the first round warms up (and starts the worker) */
        tl[a][r - 1] = now () - t0;
    }
  double loop[2];
  for (int a = 0; a < 2; a++) {
    irc_tr_prefetch_free (&pf[a]);
    trd_set_clear (&sets[a]);
    for (int k = 0; k < 2; k++)
      free (bb[a].lq[k]), free (bb[a].gt[k]);
    loop[a] = median (tl[a], reps);
    free (tl[a]);
  }
  printf ("loop iteration (data + step, task %s, median of %d, alternating): data in turn "
      "%.0f ms, prepared one batch ahead on a worker thread %.0f ms: %.2fx\n",
      trd_task_name (task), reps, loop[0] * 1e3, loop[1] * 1e3, loop[0] / loop[1]);

  if (peer) {
    const double ms = run_peer (peer, config, batch, patch, threads);
    if (ms > 0)
      printf ("ratio: PyTorch %.0f ms / irc %.0f ms = %.2fx (irc / PyTorch %.2f)\n", ms,
          step * 1e3, ms / (step * 1e3), step * 1e3 / ms);
  }
  free (t), free (lq), free (gt);
  irc_kernel_array_free (kernels, n_kernels);
  irc_trainer_free (&tr);
  irc_model_free (&model);
  return 0;
}
