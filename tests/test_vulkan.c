/* vulkan: the Vulkan backend against the reference backend op by op on odd
 * shapes, the golden files through the whole network, one submission per
 * cached-code frame, the same with fp16 storage at its own tolerance, the CPU
 * fallback. Skips (77) only when the machine has no Vulkan device at all; the
 * fp16 parts alone skip on a device without 16-bit storage.
 * `test_vulkan validation` (the test vulkan-validation) is the golden run
 * under the Khronos validation layer instead, and skips (77) where that
 * layer is not installed (Debian: vulkan-validationlayers). */
#include "backend.h"
#include "tensor_check.h"
#include "vulkan/vk_context.h"

#include <math.h>
#include <string.h>

/* fp32 accumulation in the shaders against the reference's double: each op's
 * relative error is a few ulp times sqrt(terms), far below this. */
#define OP_TOL 1e-10
/* PyTorch float32 against our float32 in another summation order (the golden
 * README's tolerance for every tensor). */
#define GOLDEN_TOL 1e-4
/* fp16 storage: inputs, weights and every stored result are rounded to half
 * (relative error up to 2^-11 = 4.9e-4 each, normalised squared error about
 * 2^-22 / 3 = 8e-8 per rounding); an op rounds three or four times. Measured
 * on lavapipe: at most 3.7e-7. */
#define OP_TOL_FP16 2e-6
/* Whole network with fp16 storage, max abs error on every golden tensor:
 * the output (values in -0.6 .. 1.3) is itself stored as half, which alone
 * costs up to 4.9e-4 at |x| >= 1, and each stored activation before it adds
 * rounding of the same relative size. Measured on lavapipe (round to
 * nearest): 7.9e-4 (infer_small), 1.0e-3 (infer_medium), 9.1e-4 (TLC run).
 * 3e-3 leaves room for a GPU that converts by truncation (twice the error);
 * a wrong index or a lost conversion is orders of magnitude above. */
#define FP16_GOLDEN_TOL 3e-3
/* fp16 output against the fp32 storage's output: 8-bit quantisation of an
 * image is itself noise at 10 log10 (12 * 255^2) = 58.9 dB, so above 60 dB
 * the fp16 error is smaller than the rounding of the 8-bit frame it ends in.
 * Measured on lavapipe: 74.0 dB (infer_small), 73.3 dB (infer_medium). */
#define FP16_PSNR 60.0

static unsigned rng = 12345;

/* The error of asking fp16 storage of a device without it. */
static int
lacks_fp16 (const irc_error *err)
{
  return err->status == IRC_ERR_UNSUPPORTED && strstr (err->message, "16-bit storage");
}

static float
rnd (void)
{
  test_lcg (&rng);
  return (rng >> 8) / 16777216.0f - 0.5f;
}

/* ---------------------------------------------------------------- per op */

/* Everything one op case needs lives in two bump-allocated arenas, like the
 * net's activations and the model's weights. */
typedef struct {
  float *base;
  size_t used, cap;
} arena;

static float *
take (arena *a, size_t n, int fill)
{
  CHECK (a->used + n + 16 <= a->cap);
  float *p = a->base + a->used;
  a->used += (n + 15) / 16 * 16;
  for (size_t i = 0; i < n; i++)
    p[i] = fill ? rnd () : 0.0f;
  return p;
}

typedef enum { OP_CONV, OP_DOWN, OP_UP, OP_NAF, OP_MEAN } op_kind;

typedef struct {
  op_kind op;
  const char *name;
  int cin, cout, h, w, k, stride, bias, leaky, res, skip, window;
  float offset;   /* added to every input value: a mean far above the spread */
  /* filled by setup */
  irc_tensor src, dst, skip_t, resid;
  float *wt, *b, *wt2, *mean_out;
  irc_nafblock_w *blk;
} op_case;

#define CONV(nm, ci, co, hh, ww, kk, s, b, l, r) {.op = OP_CONV, .name = nm, .cin = ci, \
    .cout = co, .h = hh, .w = ww, .k = kk, .stride = s, .bias = b, .leaky = l, .res = r}
#define DOWN(nm, c, hh, ww) {.op = OP_DOWN, .name = nm, .cin = c, .cout = c, .h = hh, .w = ww}
#define UP(nm, c, sk, co, hh, ww) {.op = OP_UP, .name = nm, .cin = c, .skip = sk, .cout = co, \
    .h = hh, .w = ww}
#define NAF(nm, c, hh, ww, win) {.op = OP_NAF, .name = nm, .cin = c, .cout = c, .h = hh, \
    .w = ww, .window = win}
/* the LayerNorms see inputs whose channel mean is far from zero: the Vulkan
 * conv1x1 computes them in one pass (sums about the first channel) */
#define NAF_OFFSET(nm, c, hh, ww, off) {.op = OP_NAF, .name = nm, .cin = c, .cout = c, \
    .h = hh, .w = ww, .offset = off}
#define MEAN(nm, c, hh, ww) {.op = OP_MEAN, .name = nm, .cin = c, .cout = c, .h = hh, .w = ww}

static op_case cases[] = {
  CONV ("conv3x3 3->5 7x5 bias leaky", 3, 5, 7, 5, 3, 1, 1, 1, 0),
  CONV ("conv3x3 5->3 1x1 residual", 5, 3, 1, 1, 3, 1, 0, 0, 1),
  CONV ("conv3x3 6->13 7x5 stride 2", 6, 13, 7, 5, 3, 2, 0, 1, 0),
  CONV ("conv3x3 1->1 1x1 stride 2", 1, 1, 1, 1, 3, 2, 1, 0, 0),
  CONV ("conv3x3 17->9 9x11 stride 2 bias", 17, 9, 9, 11, 3, 2, 1, 0, 0),
  CONV ("conv3x3 18->3 13x7 residual", 18, 3, 13, 7, 3, 1, 0, 0, 1),
  CONV ("conv3x3 7->10 33x41 bias residual", 7, 10, 33, 41, 3, 1, 1, 0, 1),
  CONV ("conv3x3 5->11 37x45 stride 2 leaky", 5, 11, 37, 45, 3, 2, 0, 1, 0),
  CONV ("conv1x1 5->7 7x5 bias leaky", 5, 7, 7, 5, 1, 1, 1, 1, 0),
  CONV ("conv1x1 10->9 29x31 bias residual", 10, 9, 29, 31, 1, 1, 1, 0, 1),
  CONV ("conv1x1 13->3 1x1 residual", 13, 3, 1, 1, 1, 1, 1, 0, 1),
  CONV ("conv1x1 9->19 11x9", 9, 19, 11, 9, 1, 1, 0, 0, 0),
  DOWN ("down 4 6x10", 4, 6, 10),
  DOWN ("down 12 2x2", 12, 2, 2),
  DOWN ("down 20 14x6", 20, 14, 6),
  UP ("up 5+3->7 1x1", 5, 3, 7, 1, 1),
  UP ("up 3+6->4 3x5", 3, 6, 4, 3, 5),
  UP ("up 9+5->13 4x3", 9, 5, 13, 4, 3),
  NAF ("nafblock 5 7x5", 5, 7, 5, 0),
  NAF ("nafblock 3 1x1", 3, 1, 1, 0),
  NAF ("nafblock 13 9x7", 13, 9, 7, 0),
  NAF ("nafblock 6 97x91", 6, 97, 91, 0),
  NAF ("nafblock 5 7x5 tlc 3", 5, 7, 5, 3),
  NAF ("nafblock 7 9x13 tlc 4", 7, 9, 13, 4),
  NAF ("nafblock 6 5x11 tlc 8", 6, 5, 11, 8),
  NAF ("nafblock 3 5x4 tlc 9 (global)", 3, 5, 4, 9),
  NAF_OFFSET ("nafblock 13 9x7 offset 50", 13, 9, 7, 50.0f),
  NAF_OFFSET ("nafblock 64 5x6 offset -300", 64, 5, 6, -300.0f),
  MEAN ("mean 5 7x5", 5, 7, 5),
  MEAN ("mean 3 1x1", 3, 1, 1),
  MEAN ("mean 2 100x97", 2, 100, 97),
};
#define N_CASES (sizeof cases / sizeof cases[0])

static irc_tensor
tensor (arena *a, int c, int h, int w, int fill)
{
  irc_tensor t = {take (a, (size_t) c * h * w, fill), c, h, w};
  return t;
}

static void
setup_block (arena *wa, irc_nafblock_w *b, int c)
{
  b->c = c;
  float **slots[] = {&b->beta, &b->gamma, &b->conv1_b, &b->conv2_b, &b->conv3_b, &b->sca_b,
    &b->conv4_b, &b->conv5_b, &b->norm1_b, &b->norm2_b};
  const int sizes[] = {c, c, 2 * c, 2 * c, c, c, 2 * c, c, c, c};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    *slots[i] = take (wa, sizes[i], 1);
  b->conv1_w = take (wa, 2 * c * c, 1);
  b->conv2_w = take (wa, 2 * c * 9, 1);
  b->conv3_w = take (wa, c * c, 1);
  b->sca_w = take (wa, c * c, 1);
  b->conv4_w = take (wa, 2 * c * c, 1);
  b->conv5_w = take (wa, c * c, 1);
  b->norm1_w = take (wa, c, 1);
  b->norm2_w = take (wa, c, 1);
  for (int i = 0; i < c; i++)
    b->norm1_w[i] += 1.0f, b->norm2_w[i] += 1.0f;
}

static void
setup_case (op_case *t, arena *aa, arena *wa)
{
  switch (t->op) {
    case OP_CONV: {
      const int ho = (t->h + 2 * (t->k / 2) - t->k) / t->stride + 1;
      const int wo = (t->w + 2 * (t->k / 2) - t->k) / t->stride + 1;
      t->src = tensor (aa, t->cin, t->h, t->w, 1);
      t->dst = tensor (aa, t->cout, ho, wo, 0);
      if (t->res)
        t->resid = tensor (aa, t->cout, ho, wo, 1);
      t->wt = take (wa, (size_t) t->cout * t->cin * t->k * t->k, 1);
      t->b = t->bias ? take (wa, t->cout, 1) : NULL;
      break;
    }
    case OP_DOWN:
      t->src = tensor (aa, t->cin, t->h, t->w, 1);
      t->dst = tensor (aa, t->cin, t->h / 2, t->w / 2, 0);
      t->wt = take (wa, (size_t) t->cin / 4 * t->cin * 9, 1);
      break;
    case OP_UP:
      t->src = tensor (aa, t->cin, t->h, t->w, 1);
      t->skip_t = tensor (aa, t->skip, 2 * t->h, 2 * t->w, 1);
      t->dst = tensor (aa, t->cout, 2 * t->h, 2 * t->w, 0);
      t->wt = take (wa, (size_t) 4 * t->cin * t->cin * 9, 1);
      t->wt2 = take (wa, (size_t) t->cout * (t->cin + t->skip), 1);
      break;
    case OP_NAF:
      t->src = t->dst = tensor (aa, t->cin, t->h, t->w, 1);
      for (size_t i = 0; i < (size_t) t->cin * t->h * t->w; i++)
        t->src.data[i] += t->offset;
      t->blk = calloc (1, sizeof *t->blk);
      setup_block (wa, t->blk, t->cin);
      break;
    case OP_MEAN:
      t->src = tensor (aa, t->cin, t->h, t->w, 1);
      t->mean_out = take (aa, t->cin, 0);
      t->dst.data = t->mean_out, t->dst.c = t->cin, t->dst.h = t->dst.w = 1;
      break;
  }
}

static void
run_case (irc_backend *be, op_case *t)
{
  be->sca_window = t->window;
  switch (t->op) {
    case OP_CONV:
      be->conv (be, t->dst, t->src, t->wt, t->b, t->k, t->stride, t->leaky,
          t->res ? &t->resid : NULL);
      break;
    case OP_DOWN: be->down (be, t->dst, t->src, t->wt); break;
    case OP_UP: be->up (be, t->dst, t->src, t->skip_t, t->wt, t->wt2); break;
    case OP_NAF: be->nafblock (be, t->src, t->blk); break;
    case OP_MEAN: be->mean (be, t->mean_out, t->src); break;
  }
}

static size_t
count_of (irc_tensor t)
{
  return (size_t) t.c * t.h * t.w;
}

/* Every op case against the reference; with @fp16 through half-precision
 * storage at OP_TOL_FP16. Returns the failures, or -1 when the device lacks
 * 16-bit storage. */
static int
test_ops (int fp16)
{
  rng = 12345;
  arena aa = {NULL, 0, 1 << 22}, wa = {NULL, 0, 1 << 20};
  aa.base = calloc (aa.cap, sizeof (float));
  wa.base = calloc (wa.cap, sizeof (float));
  CHECK (aa.base && wa.base);
  /* the NAFBlock cases are the blocks of a network the backend folds at creation */
  irc_weights w;
  memset (&w, 0, sizeof w);
  w.cfg.dim = 64;
  w.cfg.enc_width = 8;
  irc_nafblock_w *blocks = calloc (N_CASES, sizeof *blocks);
  for (size_t i = 0; i < N_CASES; i++) {
    setup_case (&cases[i], &aa, &wa);
    if (cases[i].op == OP_NAF) {
      blocks[w.cfg.left[0]++] = *cases[i].blk;
      free (cases[i].blk);
      cases[i].blk = &blocks[w.cfg.left[0] - 1];
    }
  }
  w.left[0] = blocks;
  irc_error err = {0};
  irc_backend *vk = NULL, *ref = NULL;
  const irc_vulkan_params vp = {wa.base, wa.cap, aa.base, aa.cap, -1, 0, fp16};
  if (irc_backend_vulkan_new (&w, 128, 128, &vp, &vk, &err) != IRC_OK) {
    const int skip = fp16 && lacks_fp16 (&err);
    fprintf (skip ? stdout : stderr, "%svulkan backend: %s\n", skip ? "SKIP fp16 ops: " : "",
        err.message);
    free (blocks), free (aa.base), free (wa.base);
    return skip ? -1 : 1;
  }
  CHECK (irc_backend_ref_new (&w, 128, 128, &ref, &err) == IRC_OK);
  for (size_t i = 0; i < N_CASES; i++)
    run_case (vk, &cases[i]);
  if (vk->prepare (vk, &err) != IRC_OK) {
    fprintf (stderr, "vulkan prepare: %s\n", err.message);
    return 1;
  }
  int fails = 0;
  for (size_t i = 0; i < N_CASES; i++) {
    op_case *t = &cases[i];
    if (fp16 && fabsf (t->offset) > 64.0f) {
      /* half floats keep -300 +- 1 only to 0.25: the input itself is lost in
       * storage, whatever the LayerNorm does with it */
      printf ("%-36s fp16 not run (offset beyond half precision)\n", t->name);
      continue;
    }
    const size_t n_in = count_of (t->src), n_out = count_of (t->dst);
    float *saved = malloc (n_in * sizeof (float)), *got = malloc (n_out * sizeof (float));
    memcpy (saved, t->src.data, n_in * sizeof (float));
    CHECK (vk->upload (vk, t->src.data, n_in, &err) == IRC_OK);
    if (t->op == OP_UP)
      CHECK (vk->upload (vk, t->skip_t.data, count_of (t->skip_t), &err) == IRC_OK);
    if (t->res)
      CHECK (vk->upload (vk, t->resid.data, count_of (t->resid), &err) == IRC_OK);
    run_case (vk, t);
    if (vk->download (vk, t->dst.data, n_out, &err) != IRC_OK) {
      fprintf (stderr, "%s: %s\n", t->name, err.message);
      return 1;
    }
    memcpy (got, t->dst.data, n_out * sizeof (float));
    memcpy (t->src.data, saved, n_in * sizeof (float));
    run_case (ref, t);
    double num = 0, den = 0;
    for (size_t j = 0; j < n_out; j++) {
      const double d = (double) got[j] - t->dst.data[j];
      num += d * d;
      den += (double) t->dst.data[j] * t->dst.data[j];
    }
    const double nse = den > 0 ? num / den : num;
    const int ok = nse < (fp16 ? OP_TOL_FP16 : OP_TOL);   /* false for NaN too */
    printf ("%-36s %s nse %.2e %s\n", t->name, fp16 ? "fp16" : "fp32", nse, ok ? "ok" : "FAIL");
    fails += !ok;
    free (saved);
    free (got);
  }
  vk->free (vk);
  ref->free (ref);
  free (blocks);
  free (aa.base);
  free (wa.base);
  return fails;
}

/* --------------------------------------------------------- whole network */

static uint64_t
submits (void)
{
  irc_vulkan_counters c;
  irc_backend_vulkan_counters (&c);
  return c.submits;
}

/* A golden file: its model and tensors. */
typedef struct {
  const char *name;
  irc_st_file *f;
  irc_model *model;
  int batch, h, w;
  float *input, *output, *code1, *code2, *fea[3];
} golden;

static void
golden_load (golden *g, const char *name)
{
  char path[1024];
  snprintf (path, sizeof path, "%s/golden/%s", test_data_dir (), name);
  irc_error err = {0};
  memset (g, 0, sizeof *g);
  g->name = name;
  CHECK (irc_st_open (path, &g->f, &err) == IRC_OK);
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  lp.ignore_prefix = "golden.";
  CHECK (irc_model_load (path, &lp, &g->model, &err) == IRC_OK);
  const irc_st_tensor *in = irc_st_find (g->f, "golden.input");
  CHECK (in && in->ndim == 4 && in->shape[1] == 3);
  g->batch = (int) in->shape[0], g->h = (int) in->shape[2], g->w = (int) in->shape[3];
  g->input = read_tensor (g->f, "golden.input", NULL);
  g->output = read_tensor (g->f, "golden.output", NULL);
  g->code1 = read_tensor (g->f, "golden.code1", NULL);
  g->code2 = read_tensor (g->f, "golden.code2", NULL);
  for (int i = 0; i < 3; i++) {
    char fname[32];
    snprintf (fname, sizeof fname, "golden.fea%d", i);
    g->fea[i] = read_tensor (g->f, fname, NULL);
  }
}

static void
golden_free (golden *g)
{
  free (g->input), free (g->output), free (g->code1), free (g->code2);
  for (int i = 0; i < 3; i++)
    free (g->fea[i]);
  irc_model_free (&g->model);
  irc_st_close (&g->f);
}

/* The golden file @name through the Vulkan backend (fp32 storage unless
 * @fp16): codes, feature maps and output within @tol, also written to
 * @outputs (batch images) when not NULL; a cached-code frame is one
 * submission. Returns the failures, or -1 when fp16 storage is missing. */
static int
run_golden (const golden *g, int fp16, double tol, float *outputs)
{
  irc_error err = {0};
  const irc_config *cfg = irc_model_config (g->model);
  const int h = g->h, w = g->w;
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = IRC_BACKEND_VULKAN;
  np.vulkan_fp16 = fp16;
  irc_net *net = NULL;
  if (irc_net_new (g->model, w, h, &np, &net, &err) != IRC_OK) {
    if (fp16 && lacks_fp16 (&err)) {
      printf ("SKIP %s fp16: %s\n", g->name, err.message);
      return -1;
    }
    fprintf (stderr, "%s: %s\n", g->name, err.message);
    return 1;
  }
  CHECK (irc_net_backend (net) == IRC_BACKEND_VULKAN);
  const char *storage = fp16 ? "fp16" : "fp32";
  const size_t img = (size_t) 3 * h * w;
  float *res = malloc (img * sizeof (float));
  double worst = 0;
  for (int b = 0; b < g->batch; b++) {
    irc_encoder_out eo;
    if (irc_net_encode (net, g->input + b * img, w, h, &eo, &err) != IRC_OK) {
      fprintf (stderr, "%s: %s\n", g->name, err.message);
      return 1;
    }
    double d[7];
    d[0] = max_abs_diff (eo.code1, g->code1 + (size_t) b * cfg->code, (size_t) cfg->code);
    d[1] = max_abs_diff (eo.code2, g->code2 + (size_t) b * cfg->code, (size_t) cfg->code);
    for (int i = 0; i < 3; i++) {
      const size_t n = (size_t) eo.fea_c[i] * eo.fea_h[i] * eo.fea_w[i];
      d[2 + i] = max_abs_diff (eo.fea[i], g->fea[i] + b * n, n);
    }
    CHECK (irc_net_restore (net, res, g->input + b * img, w, h, &err) == IRC_OK);
    d[5] = max_abs_diff (res, g->output + b * img, img);
    const uint64_t s0 = submits ();
    CHECK (irc_net_restore_with_code (net, res, g->input + b * img, w, h, &err) == IRC_OK);
    const uint64_t frame_submits = submits () - s0;
    d[6] = max_abs_diff (res, g->output + b * img, img);
    if (outputs)
      memcpy (outputs + b * img, res, img * sizeof (float));
    printf ("%s [%d] vulkan %s: code1 %.2e code2 %.2e fea0 %.2e fea1 %.2e fea2 %.2e "
        "output %.2e cached-code output %.2e, %llu submit(s)\n", g->name, b, storage, d[0],
        d[1], d[2], d[3], d[4], d[5], d[6], (unsigned long long) frame_submits);
    CHECK (frame_submits == 1);
    for (int i = 0; i < 7; i++)
      if (!(d[i] <= worst))
        worst = d[i];
  }
  free (res);
  irc_net_free (&net);
  if (!(worst <= tol)) {
    fprintf (stderr, "%s %s: max abs error %.3e above %.0e\n", g->name, storage, worst, tol);
    return 1;
  }
  return 0;
}

static int
test_golden (const char *name)
{
  golden g;
  golden_load (&g, name);
  const int fails = run_golden (&g, 0, GOLDEN_TOL, NULL);
  golden_free (&g);
  return fails;
}

/* PSNR of @a against @b on the 0-1 image scale (peak 1). */
static double
psnr (const float *a, const float *b, size_t n)
{
  double se = 0;
  for (size_t i = 0; i < n; i++)
    se += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  return se > 0 ? 10 * log10 (n / se) : INFINITY;
}

/* fp16 storage on a golden file: every golden tensor within
 * FP16_GOLDEN_TOL, and the output at least FP16_PSNR dB from the fp32
 * storage's output. Skips (0) when the device lacks 16-bit storage. */
static int
test_golden_fp16 (const char *name)
{
  golden g;
  golden_load (&g, name);
  const size_t n = (size_t) g.batch * 3 * g.h * g.w;
  float *out32 = malloc (n * sizeof (float)), *out16 = malloc (n * sizeof (float));
  int fails = run_golden (&g, 0, GOLDEN_TOL, out32);
  const int r = run_golden (&g, 1, FP16_GOLDEN_TOL, out16);
  if (r >= 0) {
    fails += r;
    const double p = psnr (out16, out32, n), d = max_abs_diff (out16, out32, n);
    printf ("%s: fp16 vs fp32 storage: output max abs %.2e, PSNR %.1f dB (limit %.0f dB)\n",
        name, d, p, FP16_PSNR);
    fails += !(p >= FP16_PSNR);
  }
  free (out32), free (out16);
  golden_free (&g);
  return fails;
}

/* TLC windows through the whole network: Vulkan (fp32 storage, then fp16)
 * against the CPU backend. */
/* The small golden network (tests/data/golden/infer_small.safetensors). */
static irc_model *
golden_small_model (void)
{
  char path[1024];
  snprintf (path, sizeof path, "%s/golden/infer_small.safetensors", test_data_dir ());
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  lp.ignore_prefix = "golden.";
  irc_model *model = NULL;
  irc_error err = {0};
  CHECK (irc_model_load (path, &lp, &model, &err) == IRC_OK);
  return model;
}

static int
test_tlc (void)
{
  irc_model *model = golden_small_model ();
  irc_error err = {0};
  const int w = 61, h = 45;
  const size_t n = (size_t) 3 * w * h;
  float *img = malloc (n * sizeof (float)), *out[3];
  for (size_t i = 0; i < n; i++)
    img[i] = rnd () + 0.5f;
  const irc_backend_kind kinds[3] = {IRC_BACKEND_CPU, IRC_BACKEND_VULKAN, IRC_BACKEND_VULKAN};
  int fails = 0;
  for (int k = 0; k < 3; k++) {
    irc_net_params np = IRC_NET_DEFAULTS;
    np.backend = kinds[k];
    np.vulkan_fp16 = k == 2;
    np.tlc_window = 20;
    irc_net *net = NULL;
    out[k] = malloc (n * sizeof (float));
    if (irc_net_new (model, w, h, &np, &net, &err) != IRC_OK) {
      CHECK (k == 2 && lacks_fp16 (&err));
      printf ("SKIP tlc fp16: %s\n", err.message);
      memcpy (out[k], out[0], n * sizeof (float));
      continue;
    }
    CHECK (irc_net_restore (net, out[k], img, w, h, &err) == IRC_OK);
    irc_net_free (&net);
  }
  const double d = max_abs_diff (out[0], out[1], n), d16 = max_abs_diff (out[0], out[2], n);
  printf ("tlc window 20, %dx%d: vulkan vs cpu max abs %.2e; fp16 storage %.2e\n", w, h, d,
      d16);
  fails += !(d <= GOLDEN_TOL) + !(d16 <= FP16_GOLDEN_TOL);
  free (out[0]), free (out[1]), free (out[2]), free (img);
  irc_model_free (&model);
  return fails;
}

/* The scene attention (irc_net_restore_recording / irc_net_set_attention)
 * on every backend: recording restores as a plain restore does; the
 * recorded attention fixed restores the same frame as pooling it did; a
 * crop restored with the frame's attention agrees across backends; a
 * windowed (TLC) net has none and says so. */
static int
test_scene_attention (void)
{
  irc_model *model = golden_small_model ();
  irc_error err = {0};
  const int w = 61, h = 45, cw = 33, ch = 29, cx = 17, cy = 9;
  const size_t n = (size_t) 3 * w * h, cn = (size_t) 3 * cw * ch;
  float *img = malloc (n * sizeof (float)), *crop = malloc (cn * sizeof (float));
  float *live = malloc (n * sizeof (float)), *rec = malloc (n * sizeof (float));
  float *fixed = malloc (n * sizeof (float)), *crops[4] = {NULL};
  for (size_t i = 0; i < n; i++)
    img[i] = rnd () + 0.5f;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < ch; y++)
      memcpy (crop + ((size_t) c * ch + y) * cw, img + ((size_t) c * h + cy + y) * w + cx,
          (size_t) cw * sizeof (float));
  const irc_backend_kind kinds[4] = {IRC_BACKEND_REFERENCE, IRC_BACKEND_CPU,
    IRC_BACKEND_VULKAN, IRC_BACKEND_VULKAN};
  const char *names[4] = {"reference", "cpu", "vulkan", "vulkan fp16"};
  float *means[4] = {NULL};
  size_t size = 0;
  int fails = 0;
  for (int k = 0; k < 4; k++) {
    irc_net_params np = IRC_NET_DEFAULTS;
    np.backend = kinds[k];
    np.vulkan_fp16 = k == 3;
    irc_net *net = NULL;
    if (irc_net_new (model, w, h, &np, &net, &err) != IRC_OK) {
      CHECK (k == 3 && lacks_fp16 (&err));
      printf ("SKIP scene attention fp16: %s\n", err.message);
      continue;
    }
    size = irc_net_attention_size (net);
    CHECK (size > 0);
    means[k] = malloc (size * sizeof (float));
    crops[k] = malloc (cn * sizeof (float));
    CHECK (irc_net_restore (net, live, img, w, h, &err) == IRC_OK);
    CHECK (irc_net_restore_recording (net, rec, img, w, h, 0, means[k], &err) == IRC_OK);
    CHECK (irc_net_set_attention (net, means[k], &err) == IRC_OK);
    CHECK (irc_net_restore_with_code (net, fixed, img, w, h, &err) == IRC_OK);
    CHECK (irc_net_restore_with_code (net, crops[k], crop, cw, ch, &err) == IRC_OK);
    const double d_rec = max_abs_diff (live, rec, n), d_fix = max_abs_diff (live, fixed, n);
    const double tol = k == 3 ? FP16_GOLDEN_TOL : GOLDEN_TOL;
    printf ("scene attention, %s: recording vs plain %.2e, fixed vs pooled %.2e", names[k],
        d_rec, d_fix);
    fails += !(d_rec == 0.0) + !(d_fix <= tol);
    if (k > 0 && means[0] && crops[0]) {
      const double dm = max_abs_diff (means[0], means[k], size);
      const double dc = max_abs_diff (crops[0], crops[k], cn);
      printf ("; vs reference: means %.2e, crop %.2e", dm, dc);
      fails += !(dm <= tol) + !(dc <= tol);
    }
    printf ("\n");
    irc_net_free (&net);
  }
  /* a windowed net pools each pixel's neighbourhood: no scene attention */
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = IRC_BACKEND_CPU;
  np.tlc_window = 20;
  irc_net *windowed = NULL;
  CHECK (irc_net_new (model, w, h, &np, &windowed, &err) == IRC_OK);
  CHECK (irc_net_attention_size (windowed) == 0);
  CHECK (irc_net_set_attention (windowed, means[1], &err) == IRC_ERR_UNSUPPORTED);
  CHECK (strstr (err.message, "windows (TLC)") != NULL);
  CHECK (irc_net_restore_recording (windowed, rec, img, w, h, 0, means[1], &err)
      == IRC_ERR_UNSUPPORTED);
  irc_net_free (&windowed);
  for (int k = 0; k < 4; k++)
    free (means[k]), free (crops[k]);
  free (img), free (crop), free (live), free (rec), free (fixed);
  irc_model_free (&model);
  return fails;
}

/* A tiny8 network with zero weights (norm scales one), for the tests of
 * the device's handling rather than of the maths; NULL (and a message) on
 * failure. */
static irc_model *
tiny8_model (void)
{
  irc_config cfg;
  irc_model *model = NULL;
  irc_error err = {0};
  if (irc_config_named ("tiny8", &cfg, &err) != IRC_OK
      || irc_model_new (&cfg, NULL, NULL, &model, &err) != IRC_OK)
    fprintf (stderr, "tiny8: %s\n", err.message);
  return model;
}

/* fp16 storage asked of a device without 16-bit storage buffers (simulated)
 * is an error naming the device, not a silent fp32 run; fp32 still works. */
static int
test_fp16_unsupported (void)
{
  irc_error err = {0};
  irc_model *model = tiny8_model ();
  CHECK (model);
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = IRC_BACKEND_VULKAN;
  np.vulkan_fp16 = 1;
  irc_net *net = NULL;
  setenv ("IRC_VULKAN_NO_16BIT_STORAGE", "1", 1);
  CHECK (irc_net_new (model, 16, 16, &np, &net, &err) == IRC_ERR_UNSUPPORTED && !net);
  printf ("fp16 without 16-bit storage: \"%s\"\n", err.message);
  irc_vulkan_counters c;
  irc_backend_vulkan_counters (&c);
  CHECK (lacks_fp16 (&err) && c.device[0] && strstr (err.message, c.device));
  np.vulkan_fp16 = 0;
  CHECK (irc_net_new (model, 16, 16, &np, &net, &err) == IRC_OK);
  irc_net_free (&net);
  unsetenv ("IRC_VULKAN_NO_16BIT_STORAGE");
  irc_model_free (&model);
  return 0;
}

/* Without a loader: auto falls back to the CPU, vulkan fails clearly; a bad
 * device index is an error, not a crash. */
static int
test_fallback (void)
{
  irc_error err = {0};
  irc_model *model = tiny8_model ();
  CHECK (model);
  irc_net_params np = IRC_NET_DEFAULTS;
  irc_net *net = NULL;
  setenv ("IRC_VULKAN_LOADER", "/nonexistent/libvulkan.so.1", 1);
  CHECK (irc_net_new (model, 16, 16, &np, &net, &err) == IRC_OK);
  CHECK (irc_net_backend (net) == IRC_BACKEND_CPU);
  irc_net_free (&net);
  np.backend = IRC_BACKEND_VULKAN;
  CHECK (irc_net_new (model, 16, 16, &np, &net, &err) == IRC_ERR_UNSUPPORTED && !net);
  printf ("no loader: auto -> cpu; vulkan -> \"%s\"\n", err.message);
  CHECK (strstr (err.message, "no Vulkan loader"));
  unsetenv ("IRC_VULKAN_LOADER");
  np.device = 99;
  CHECK (irc_net_new (model, 16, 16, &np, &net, &err) == IRC_ERR_INVALID && !net);
  printf ("device 99: \"%s\"\n", err.message);
  irc_model_free (&model);
  return 0;
}

/* IRC_VULKAN_PROFILE: every dispatch of a frame is timed under its
 * pipeline's name (when the device has compute timestamps), and nothing is
 * timed without it. */
static int
test_profile (void)
{
  irc_error err = {0};
  irc_model *model = tiny8_model ();
  CHECK (model);
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = IRC_BACKEND_VULKAN;
  const int w = 24, h = 16;
  float *img = calloc ((size_t) 3 * w * h, sizeof (float)), *out = calloc ((size_t) 3 * w * h,
      sizeof (float));
  /* the device the nets below choose: can it time compute work at all? */
  irc_vk_context *ctx = NULL;
  CHECK (irc_vk_context_new (-1, 0, 0, &ctx, &err) == IRC_OK);
  const int timestamps = ctx->props.limits.timestampComputeAndGraphics;
  irc_vk_context_free (ctx);
  int fails = 0;
  for (int profiled = 0; profiled < 2; profiled++) {
    if (profiled)
      setenv ("IRC_VULKAN_PROFILE", "1", 1);
    irc_net *net = NULL;
    CHECK (irc_net_new (model, w, h, &np, &net, &err) == IRC_OK);
    irc_vulkan_counters c0, c1;
    irc_backend_vulkan_counters (&c0);
    CHECK (irc_net_restore (net, out, img, w, h, &err) == IRC_OK);
    irc_backend_vulkan_counters (&c1);
    uint64_t runs = 0, ns = 0;
    for (int i = 0; i < IRC_VULKAN_MAX_PIPES; i++) {
      runs += c1.pipe_runs[i] - c0.pipe_runs[i], ns += c1.pipe_ns[i] - c0.pipe_ns[i];
      CHECK (c1.pipe_runs[i] == c0.pipe_runs[i] || c1.pipe_name[i]);
    }
    const uint64_t dispatches = c1.dispatches - c0.dispatches;
    irc_net_free (&net);
    printf ("profile %s: %llu of %llu dispatches timed, %.3f ms\n", profiled ? "on" : "off",
        (unsigned long long) runs, (unsigned long long) dispatches, ns * 1e-6);
    if (profiled && timestamps)
      fails += !(runs == dispatches && dispatches > 0 && ns > 0);
    else
      fails += runs != 0 || ns != 0;
  }
  unsetenv ("IRC_VULKAN_PROFILE");
  free (img), free (out);
  irc_model_free (&model);
  return fails;
}

/* the validation layer (with synchronisation validation) over the golden
 * run, timestamps on: any error message fails the submission that follows
 * it. A missing layer skips. */
static int
test_validation (void)
{
  irc_vk_context *ctx = NULL;
  irc_error err = {0};
  int fails = 0;
  setenv ("IRC_VULKAN_VALIDATION", "1", 1);
  setenv ("IRC_VULKAN_PROFILE", "1", 1);
  if (irc_vk_context_new (-1, 0, 0, &ctx, &err) != IRC_OK) {
    printf ("validation run not possible: %s\n", err.message);
    if (!strstr (err.message, "not installed"))
      fails++;
    else
      fails = -1;
  } else {
    irc_vk_context_free (ctx);
    irc_vulkan_counters before, after;
    irc_backend_vulkan_counters (&before);
    fails += test_golden ("infer_small.safetensors");
    fails += test_golden_fp16 ("infer_small.safetensors");
    irc_backend_vulkan_counters (&after);
    printf ("validation run: %llu error(s)\n",
        (unsigned long long) (after.validation_errors - before.validation_errors));
    fails += after.validation_errors != before.validation_errors;
  }
  unsetenv ("IRC_VULKAN_VALIDATION");
  unsetenv ("IRC_VULKAN_PROFILE");
  return fails;
}

/* Usage: test_vulkan [validation] */
int
main (int argc, char **argv)
{
  irc_vk_context *ctx = NULL;
  irc_error err = {0};
  if (irc_vk_context_new (-1, 0, 0, &ctx, &err) != IRC_OK) {
    if (err.status == IRC_ERR_UNSUPPORTED && (strstr (err.message, "no Vulkan loader")
        || strstr (err.message, "no Vulkan device"))) {
      printf ("SKIP: %s\n", err.message);
      return TEST_SKIP;
    }
    fprintf (stderr, "%s\n", err.message);
    return 1;
  }
  printf ("device: %s\n", ctx->props.deviceName);
  irc_vk_context_free (ctx);
  if (argc > 1 && !strcmp (argv[1], "validation")) {
    const int v = test_validation ();
    if (v < 0) {
      printf ("SKIP: the validation layer is not installed (vulkan-validationlayers)\n");
      return TEST_SKIP;
    }
    return v ? 1 : 0;
  }
  int fails = test_ops (0);
  const int fp16_ops = test_ops (1);
  fails += fp16_ops > 0 ? fp16_ops : 0;
  fails += test_golden ("infer_small.safetensors");
  fails += test_golden ("infer_medium.safetensors");
  fails += test_golden_fp16 ("infer_small.safetensors");
  fails += test_golden_fp16 ("infer_medium.safetensors");
  fails += test_tlc ();
  fails += test_scene_attention ();
  fails += test_fp16_unsupported ();
  fails += test_fallback ();
  fails += test_profile ();
  return fails ? 1 : 0;
}
