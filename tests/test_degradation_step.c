/* degradation_step: the degradation pre-training's gradients against finite
 * differences of its loss (tiny8 with a head, a small batch), that the head
 * reads a code through irc_model_degradation() as the step scores it, and
 * that a short pre-training on two kinds that differ plainly (noisy and
 * clean crops) learns to tell them apart; irc_detector reads a frame of its
 * crop's size exactly as the encoder does, reads large frames in crops, and
 * refuses a model without a head. */
#include "train/train.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf ("FAIL: " __VA_ARGS__); \
    printf ("\n"); } } while (0)

enum { BATCH = 4, PATCH = 32 };

static uint64_t lcg_state = 12345;

static float
uniform (void)
{
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float) ((lcg_state >> 40) / 16777216.0);
}

static void
init_weights (void *user, const char *name, float *data, size_t count)
{
  (void) user;
  const int stat = strstr (name, "running_var") != NULL;
  for (size_t i = 0; i < count; i++)
    data[i] = stat ? 1.0f : strstr (name, "running_mean") ? 0.0f : (uniform () - 0.5f) * 0.4f;
}

/* Smooth crops; odd ones with strong noise (target: noise present, strength
 * 0.5), even ones clean. */
static void
make_batch (float *lq, float *targets)
{
  const size_t per = (size_t) 3 * PATCH * PATCH;
  for (int b = 0; b < BATCH; b++) {
    const int noisy = b & 1;
    const float base = uniform ();
    for (size_t i = 0; i < per; i++) {
      const float v = base + 0.2f * sinf ((float) i * 0.01f);
      lq[b * per + i] = v + (noisy ? (uniform () - 0.5f) * 0.5f : 0.0f);
    }
    float *t = targets + (size_t) b * IRC_TRAIN_DEGRADATION_TARGETS;
    memset (t, 0, IRC_TRAIN_DEGRADATION_TARGETS * sizeof (float));
    t[2] = noisy ? 1.0f : 0.0f;
    t[6] = noisy ? 0.5f : 0.0f;
  }
}

/* The loss at the current weights; lr 0 and no weight decay leave them. */
static double
loss_at (irc_trainer *tr, const float *lq, const float *t)
{
  irc_train_losses L;
  irc_error err = { 0 };
  if (irc_trainer_degradation_step (tr, lq, t, &L, &err) != IRC_OK) {
    printf ("step: %s\n", err.message);
    failures++;
    return NAN;
  }
  return L.total;
}

int
main (void)
{
  irc_error err = { 0 };
  irc_config cfg;
  irc_config_named ("tiny8", &cfg, NULL);
  cfg.degradation_head = IRC_DEGRADATION_HEAD_OUTPUTS;
  irc_model *model = NULL;
  if (irc_model_new (&cfg, init_weights, NULL, &model, &err) != IRC_OK) {
    printf ("%s\n", err.message);
    return 1;
  }
  CHECK (irc_model_has_degradation_head (model), "no head on a model configured with one");
  irc_train_params tp = IRC_TRAIN_DEFAULTS;
  tp.batch = BATCH;
  tp.patch = PATCH;
  tp.queue_size = BATCH;
  tp.lr = 0.0;
  tp.weight_decay = 0.0;
  tp.bn_momentum = 0.0;    /* the running statistics stay put between evaluations */
  irc_trainer *tr = NULL;
  if (irc_trainer_new (model, &tp, &tr, &err) != IRC_OK) {
    printf ("%s\n", err.message);
    return 1;
  }
  float *lq = malloc ((size_t) BATCH * 3 * PATCH * PATCH * sizeof (float));
  float t[BATCH * IRC_TRAIN_DEGRADATION_TARGETS];
  make_batch (lq, t);

  /* analytic gradients of a few weights of the head and of the encoder,
   * against central differences in double-checked float */
  const struct { const char *name; size_t index; } probes[] = {
    { "ConStyle.degradation_head.weight", 3 },
    { "ConStyle.degradation_head.bias", 2 },
    { "ConStyle.degradation_head.bias", 6 },
    { "ConStyle.encoder_q.mlp2.0.weight", 17 },
    { "ConStyle.encoder_q.mlp1.0.bias", 5 },
    { "ConStyle.encoder_q.stage4.1.0.weight", 40 },
    { "ConStyle.encoder_q.stage1.0.0.weight", 7 },
  };
  loss_at (tr, lq, t);
  for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
    size_t n = 0, ng = 0;
    float *w = irc_trainer_tensor (tr, IRC_TRAIN_PARAM, probes[p].name, &n);
    float *g = irc_trainer_tensor (tr, IRC_TRAIN_GRAD, probes[p].name, &ng);
    CHECK (w && g && probes[p].index < n, "no tensor %s", probes[p].name);
    if (!w || !g || probes[p].index >= n)
      continue;
    loss_at (tr, lq, t);
    const double analytic = g[probes[p].index];
    const float keep = w[probes[p].index];
    const float eps = 2e-3f;
    w[probes[p].index] = keep + eps;
    const double up = loss_at (tr, lq, t);
    w[probes[p].index] = keep - eps;
    const double down = loss_at (tr, lq, t);
    w[probes[p].index] = keep;
    const double numeric = (up - down) / (2.0 * eps);
    const double tol = 2e-3 + 0.1 * fabs (numeric);
    printf ("%s[%zu]: analytic %.6g, numeric %.6g\n", probes[p].name, probes[p].index,
        analytic, numeric);
    CHECK (fabs (analytic - numeric) <= tol, "%s[%zu]: gradient %.6g, finite difference %.6g",
        probes[p].name, probes[p].index, analytic, numeric);
  }
  irc_trainer_free (&tr);

  /* a short pre-training tells noisy crops from clean ones, read back
   * through the library's head on the encoder's code */
  tp.lr = 1e-3;
  tp.lr_const_iters = 1000;
  tp.lr_cos_iters = 0;
  tp.bn_momentum = 0.1;
  if (irc_trainer_new (model, &tp, &tr, &err) != IRC_OK) {
    printf ("%s\n", err.message);
    return 1;
  }
  double first = 0, last = 0;
  for (int it = 0; it < 150; it++) {
    make_batch (lq, t);
    const double l = loss_at (tr, lq, t);
    if (it < 10)
      first += l / 10;
    if (it >= 140)
      last += l / 10;
  }
  printf ("loss: first 10 steps %.4f, last 10 %.4f\n", first, last);
  CHECK (last < 0.5 * first, "the loss did not halve (%.4f -> %.4f)", first, last);
  irc_trainer_free (&tr);
  free (lq);

  /* irc_detector: a frame of the crop's size is one crop, so its code is
   * the encoder's own; a large frame is shrunk and read in crops; a model
   * without a head is refused */
  {
    enum { SIDE = 128, BIG_W = 1400, BIG_H = 300 };
    float *img = malloc ((size_t) 3 * BIG_W * BIG_H * sizeof (float));
    for (size_t i = 0; i < (size_t) 3 * BIG_W * BIG_H; i++)
      img[i] = 0.5f + 0.3f * sinf ((float) i * 0.013f) * cosf ((float) i * 0.0007f);
    irc_net_params np = IRC_NET_DEFAULTS;
    np.backend = IRC_BACKEND_CPU;
    np.threads = 1;
    irc_detector *det = NULL;
    irc_degradation d;
    CHECK (irc_detector_new (model, SIDE, SIDE, &np, &det, &err) == IRC_OK, "%s", err.message);
    CHECK (irc_detector_crop (det) == SIDE, "crop %d without train_patch, not %d",
        irc_detector_crop (det), SIDE);
    CHECK (irc_detector_read (det, img, SIDE, SIDE, &d, &err) == IRC_OK, "%s", err.message);
    irc_net *net = NULL;
    np.encoder_only = 1;
    CHECK (irc_net_new (model, SIDE, SIDE, &np, &net, &err) == IRC_OK, "%s", err.message);
    CHECK (irc_net_encode (net, img, SIDE, SIDE, NULL, &err) == IRC_OK, "%s", err.message);
    double worst = 0;
    for (int k = 0; k < cfg.code; k++)
      worst = fmax (worst, fabs (irc_detector_code (det)[k] - irc_net_code (net)[k]));
    CHECK (worst < 1e-6, "one-crop frame: the detector's code differs by %g", worst);
    irc_net_free (&net);
    irc_detector_free (&det);
    CHECK (irc_detector_new (model, BIG_W, BIG_H, &np, &det, &err) == IRC_OK, "%s", err.message);
    CHECK (irc_detector_read (det, img, BIG_W, BIG_H, &d, &err) == IRC_OK, "%s", err.message);
    CHECK (d.known && d.confidence > 0.0f && d.confidence <= 1.0f, "large frame: no reading");
    irc_detector_free (&det);
    irc_config plain;
    irc_config_named ("tiny8", &plain, NULL);
    irc_model *headless = NULL;
    CHECK (irc_model_new (&plain, init_weights, NULL, &headless, &err) == IRC_OK, "%s",
        err.message);
    CHECK (irc_detector_new (headless, SIDE, SIDE, &np, &det, &err) == IRC_ERR_INVALID
        && det == NULL && strstr (err.message, "head"), "a model without a head was accepted");
    irc_model_free (&headless);
    free (img);
  }
  irc_model_free (&model);
  printf ("%s\n", failures ? "degradation_step: FAILED" : "degradation_step: ok");
  return failures ? 1 : 0;
}
