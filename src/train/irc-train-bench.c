/* irc-train-bench: median wall time of one training step (forward, the four
 * losses, backward, AdamW) of a named configuration, to compare with
 * ../shared/bench/torch_peer.py --train in the same run. */
#include "train/train.h"

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

int
main (int argc, char **argv)
{
  const char *config = "lite16";
  int batch = 8, patch = 96, reps = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--config") == 0 && i + 1 < argc)
      config = argv[++i];
    else if (strcmp (argv[i], "--batch") == 0 && i + 1 < argc)
      batch = atoi (argv[++i]);
    else if (strcmp (argv[i], "--patch") == 0 && i + 1 < argc)
      patch = atoi (argv[++i]);
    else if (strcmp (argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi (argv[++i]);
    else {
      fprintf (stderr, "usage: %s [--config NAME] [--batch N] [--patch N] [--reps N]\n", argv[0]);
      return 2;
    }
  }
  if (reps < 1 || reps > 1000)
    reps = 5;
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
  double *t = malloc ((size_t) (reps + 1) * sizeof (double));
  irc_train_losses L;
  for (int r = 0; r <= reps; r++) {
    const double t0 = now ();
    if (irc_trainer_step (tr, lq, gt, &L, &err) != IRC_OK) {
      fprintf (stderr, "irc-train-bench: %s\n", err.message);
      return 1;
    }
    t[r] = now () - t0;   /* t[0] is the warm-up */
  }
  qsort (t + 1, (size_t) reps, sizeof (double), cmp_double);
  printf ("irc train step  %s batch %d patch %d: %.0f ms (median of %d)  loss %.4f\n", config,
      batch, patch, t[1 + reps / 2] * 1000, reps, L.total);
  free (t), free (lq), free (gt);
  irc_trainer_free (&tr);
  irc_model_free (&model);
  return 0;
}
