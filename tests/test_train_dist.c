/* train_dist: the data-parallel training step (irc_trainer_set_dist) against
 * one process at the global batch, gradient by gradient. Run alone, it
 * starts itself under mpirun with 2 processes (skips, 77, without mpirun
 * or without MPI in the build). Every rank trains a tiny model on its 2
 * images of a batch of 4 and compares its averaged gradients, losses, queue
 * and BatchNorm statistics with a trainer that takes all 4 images in one
 * process; the learning rate is 0, so the second step compares gradients at
 * the same weights (its style loss takes the queue rows after the first
 * step's). Then a step of the degradation pre-training. */
#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RANKS = 2, LOCAL = 2, GLOBAL = RANKS * LOCAL, PATCH = 32, QUEUE = 16 };

/* Gradients: normalised squared error per tensor (the golden step's 1e-8;
 * measured 1.3e-12 at the first step, 4e-10 at the second, whose key
 * encoder and queue come out of the first step's rounding). The Linear
 * biases before the BatchNorm have a zero gradient in exact arithmetic:
 * both runs hold the rounding residue of a cancelling sum there, which is
 * not compared. */
#define TOL_GRAD 1e-8
#define TOL_LOSS 1e-5
#define TOL_ABS 1e-5

static int fails;
static irc_dist dist;

static void
expect (int ok, const char *what, const char *name, double value, double tol)
{
  if (!ok) {
    fprintf (stderr, "FAIL rank %d: %s %s: %.3e (tolerance %.0e)\n", dist.rank, what, name,
        value, tol);
    fails++;
  }
}

static double
nse (const float *a, const float *b, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
    den += (double) b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

static double
max_abs (const float *a, const float *b, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmax (m, fabs ((double) a[i] - b[i]));
  return m;
}

/* A model of @cfg at PyTorch's initialisation, the same on every rank. */
static irc_model *
make_model (const irc_config *cfg)
{
  irc_model *m = NULL;
  irc_error err = { 0 };
  if (irc_model_new (cfg, NULL, NULL, &m, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    exit (1);
  }
  irc_rng rng;
  irc_rng_seed (&rng, 5, 1);
  trc_init_default (m, &rng);
  return m;
}

static irc_trainer *
make_trainer (irc_model *m, int batch, int distributed)
{
  irc_train_params tp = IRC_TRAIN_DEFAULTS;
  tp.batch = batch;
  tp.patch = PATCH;
  tp.queue_size = QUEUE;
  tp.lr = 0;
  irc_trainer *tr = NULL;
  irc_error err = { 0 };
  if (irc_trainer_new (m, &tp, &tr, &err) != IRC_OK
      || (distributed && irc_trainer_set_dist (tr, &dist, &err) != IRC_OK)) {
    fprintf (stderr, "%s\n", err.message);
    exit (1);
  }
  int code, K;
  float *q = irc_trainer_queue (tr, &code, &K);
  irc_rng rng;
  irc_rng_seed (&rng, 9, 3);
  for (size_t i = 0; i < (size_t) code * K; i++)
    q[i] = irc_rng_normal (&rng);
  return tr;
}

/* The global batch of step @step: smooth fields (gt) with noise (lq), each
 * image of its own brightness, contrast and noise level, so that the
 * encoder's BatchNorm sees well-spread features (near-equal images make
 * it amplify last-bit differences, train/torch_cpu.h) */
static void
make_batch (float *lq, float *gt, int step)
{
  irc_rng rng;
  irc_rng_seed (&rng, 100 + step, 7);
  for (int b = 0; b < GLOBAL; b++) {
    const float base = 0.15f + 0.7f * irc_rng_uniform (&rng);
    const float contrast = 0.05f + 0.3f * irc_rng_uniform (&rng);
    const float freq = 2.0f + 10.0f * irc_rng_uniform (&rng);
    const float sigma = 0.02f + 0.3f * irc_rng_uniform (&rng);
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < PATCH; y++)
        for (int x = 0; x < PATCH; x++) {
          const size_t i = (((size_t) b * 3 + c) * PATCH + y) * PATCH + x;
          gt[i] = base + contrast * sinf (x / (freq + c) + step) * cosf (y / (freq + 3 - c) + b);
          lq[i] = gt[i] + sigma * irc_rng_normal (&rng);
        }
  }
}

/* Compares every gradient, parameter and BatchNorm statistic of @a (this
 * rank, data-parallel) with @b (one process). */
static void
compare_state (irc_trainer *a, irc_trainer *b, irc_model *model, const char *when)
{
  double worst_nse = 0;
  for (size_t i = 0; i < irc_model_tensor_count (model); i++) {
    size_t count;
    const char *name = irc_model_tensor_info (model, i, &count, NULL, NULL, NULL);
    size_t na = 0, nb = 0;
    const float *ga = irc_trainer_tensor (a, IRC_TRAIN_GRAD, name, &na);
    const float *gb = irc_trainer_tensor (b, IRC_TRAIN_GRAD, name, &nb);
    if (ga && gb && na == nb) {
      char label[300];
      snprintf (label, sizeof label, "%s %s", when, name);
      if (strstr (name, ".mlp1.0.bias") || strstr (name, ".mlp2.0.bias")) {
        /* rounding residue of a cancelling sum in either run: no check */
      } else {
        const double e = nse (ga, gb, na);
        worst_nse = fmax (worst_nse, e);
        expect (e <= TOL_GRAD, "gradient NSE", label, e, TOL_GRAD);
      }
    }
    const float *pa = irc_trainer_tensor (a, IRC_TRAIN_PARAM, name, &na);
    const float *pb = irc_trainer_tensor (b, IRC_TRAIN_PARAM, name, &nb);
    if (pa && pb && na == nb) {
      /* running statistics and the (unchanged) weights */
      const double d = max_abs (pa, pb, na);
      expect (d <= TOL_ABS, "parameter or statistic", name, d, TOL_ABS);
    }
  }
  if (dist.rank == 0)
    printf ("%s: worst gradient NSE %.2e\n", when, worst_nse);
}

static void
compare_losses (const irc_train_losses *a, const irc_train_losses *b, const char *when)
{
  const double va[] = { a->l_pix, a->l_ce, a->l_content, a->l_style, a->l_degradation,
    a->total };
  const double vb[] = { b->l_pix, b->l_ce, b->l_content, b->l_style, b->l_degradation,
    b->total };
  static const char *names[] = { "pixel", "InfoNCE", "content", "style", "degradation",
    "total" };
  for (int k = 0; k < 6; k++) {
    const double rel = fabs (va[k] - vb[k]) / fmax (fabs (vb[k]), 1e-12);
    char label[64];
    snprintf (label, sizeof label, "%s %s", when, names[k]);
    expect (rel <= TOL_LOSS, "loss", label, rel, TOL_LOSS);
  }
}

/* mpirun on the PATH into @out, or 0 */
static int
find_mpirun (char *out, size_t size)
{
  const char *p = getenv ("PATH");
  while (p && *p) {
    const char *end = strchr (p, ':');
    const size_t len = end ? (size_t) (end - p) : strlen (p);
    snprintf (out, size, "%.*s/mpirun", (int) len, p);
    if (len && access (out, X_OK) == 0)
      return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

int
main (int argc, char **argv)
{
  if (!irc_dist_available ()) {
    printf ("SKIP: built without MPI (-Dmpi, libopenmpi-dev)\n");
    return 77;
  }
  if (!irc_dist_launcher ()) {
    /* alone: start 2 of us under mpirun */
    char mpirun[4096];
    if (!find_mpirun (mpirun, sizeof mpirun)) {
      printf ("SKIP: no mpirun on the PATH (openmpi-bin)\n");
      return 77;
    }
    if (geteuid () == 0) {
      setenv ("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
      setenv ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    setenv ("OMPI_MCA_btl", "self,vader", 0);
    char *args[] = { mpirun, "--oversubscribe", "-np", "2", argv[0], NULL };
    execv (mpirun, args);
    perror (mpirun);
    return 1;
  }
  (void) argc;
  irc_error err = { 0 };
  if (irc_dist_init (&dist, &argc, &argv, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  if (dist.size != RANKS) {
    fprintf (stderr, "FAIL: run with %d processes, not %d\n", RANKS, dist.size);
    irc_dist_finish (&dist);
    return 1;
  }
  irc_config cfg;
  if (irc_config_named ("tiny8", &cfg, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  cfg.degradation_head = IRC_DEGRADATION_HEAD_OUTPUTS;
  irc_model *m_one = make_model (&cfg), *m_dist = make_model (&cfg);
  irc_trainer *one = make_trainer (m_one, GLOBAL, 0);
  irc_trainer *par = make_trainer (m_dist, LOCAL, 1);
  const size_t img = (size_t) 3 * PATCH * PATCH;
  float *lq = malloc (GLOBAL * img * sizeof (float)), *gt = malloc (GLOBAL * img * sizeof (float));
  const size_t mine = (size_t) dist.rank * LOCAL * img;
  for (int step = 1; step <= 2; step++) {
    char when[32];
    snprintf (when, sizeof when, "step %d", step);
    make_batch (lq, gt, step);
    irc_train_losses l_one, l_par;
    if (irc_trainer_step (one, lq, gt, &l_one, &err) != IRC_OK
        || irc_trainer_step (par, lq + mine, gt + mine, &l_par, &err) != IRC_OK) {
      fprintf (stderr, "FAIL rank %d: %s\n", dist.rank, err.message);
      fails++;
      break;
    }
    compare_losses (&l_par, &l_one, when);
    compare_state (par, one, m_one, when);
    int code, K;
    const float *qa = irc_trainer_queue (par, &code, &K), *qb = irc_trainer_queue (one, NULL, NULL);
    const double dq = max_abs (qa, qb, (size_t) code * K);
    expect (dq <= TOL_ABS, "queue", when, dq, TOL_ABS);
    expect (*irc_trainer_queue_ptr (par) == *irc_trainer_queue_ptr (one), "queue pointer", when,
        (double) *irc_trainer_queue_ptr (par), 0);
    expect (*irc_trainer_counter (par, "ConStyle.encoder_q.mlp1.1.num_batches_tracked")
        == *irc_trainer_counter (one, "ConStyle.encoder_q.mlp1.1.num_batches_tracked"),
        "counter", when, 0, 0);
  }
  /* the degradation pre-training: encoder and head only */
  float targets[GLOBAL * IRC_TRAIN_DEGRADATION_TARGETS];
  for (int b = 0; b < GLOBAL; b++)
    for (int k = 0; k < IRC_TRAIN_DEGRADATION_TARGETS; k++)
      targets[b * IRC_TRAIN_DEGRADATION_TARGETS + k] = k < 4 ? (float) ((b + k) % 2)
          : 0.25f * (b % 4);
  irc_train_losses l_one, l_par;
  if (fails == 0) {
    if (irc_trainer_degradation_step (one, lq, targets, &l_one, &err) != IRC_OK
        || irc_trainer_degradation_step (par, lq + mine,
            targets + (size_t) dist.rank * LOCAL * IRC_TRAIN_DEGRADATION_TARGETS, &l_par,
            &err) != IRC_OK) {
      fprintf (stderr, "FAIL rank %d: %s\n", dist.rank, err.message);
      fails++;
    } else {
      compare_losses (&l_par, &l_one, "degradation step");
      compare_state (par, one, m_one, "degradation step");
    }
  }
  free (lq);
  free (gt);
  irc_trainer_free (&one);
  irc_trainer_free (&par);
  irc_model_free (&m_one);
  irc_model_free (&m_dist);
  /* every rank's verdict, so that rank 0's exit status speaks for the job */
  int any = fails;
  irc_dist_max_i (&dist, &any, &err);
  if (dist.rank == 0)
    printf ("%s\n", any ? "FAILED" : "ok");
  irc_dist_finish (&dist);
  return any ? 1 : 0;
}
