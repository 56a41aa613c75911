/* kernels: every op of the optimised CPU backend against the reference
 * backend on awkward shapes (1x1 frames, odd sizes, channel counts that are
 * not multiples of 4), by normalised squared error. */
#include "common.h"
#include "backend.h"

#include <math.h>
#include <string.h>

/* fp32 with different summation orders: relative errors near 1e-7, so a
 * normalised squared error of 1e-10 leaves room without hiding a wrong index. */
#define NSE_TOL 1e-10

static unsigned seed = 12345;

static float
rnd (void)
{
  test_lcg (&seed);
  return (seed >> 8) / 16777216.0f - 0.5f;
}

static float *
random_buf (size_t n)
{
  float *p = malloc ((n ? n : 1) * sizeof (float));
  for (size_t i = 0; i < n; i++)
    p[i] = rnd ();
  return p;
}

static double
nse (const float *a, const float *ref, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += ((double) a[i] - ref[i]) * ((double) a[i] - ref[i]);
    den += (double) ref[i] * ref[i];
  }
  return den > 0 ? num / den : num;
}

static int failures;

static void
report (const char *what, const float *a, const float *ref, size_t n)
{
  const double e = nse (a, ref, n);
  const int ok = e <= NSE_TOL;
  printf ("%-48s nse %.2e %s\n", what, e, ok ? "ok" : "FAIL");
  failures += !ok;
}

/* One NAFBlock of c channels with random weights, wired into a weights
 * table the CPU backend folds at creation. */
typedef struct {
  irc_nafblock_w b;
  float *store;
} test_block;

static void
make_block (test_block *tb, int c)
{
  const size_t sizes[18] = {c, c, 2 * c * c, 2 * c, 18 * c, 2 * c, c * c, c, c * c, c,
    2 * c * c, 2 * c, c * c, c, c, c, c, c};
  float **slots[18] = {&tb->b.beta, &tb->b.gamma, &tb->b.conv1_w, &tb->b.conv1_b,
    &tb->b.conv2_w, &tb->b.conv2_b, &tb->b.conv3_w, &tb->b.conv3_b, &tb->b.sca_w,
    &tb->b.sca_b, &tb->b.conv4_w, &tb->b.conv4_b, &tb->b.conv5_w, &tb->b.conv5_b,
    &tb->b.norm1_w, &tb->b.norm1_b, &tb->b.norm2_w, &tb->b.norm2_b};
  size_t total = 0;
  for (int i = 0; i < 18; i++)
    total += sizes[i];
  tb->store = random_buf (total);
  float *p = tb->store;
  for (int i = 0; i < 18; i++) {
    *slots[i] = p;
    p += sizes[i];
  }
  for (int i = 0; i < c; i++)
    tb->b.norm1_w[i] += 1.0f, tb->b.norm2_w[i] += 1.0f;
  tb->b.c = c;
}

typedef struct {
  irc_backend *cpu, *ref;
} pair;

/* Runs op twice: once measuring on the CPU backend (first call of a shape),
 * then for real on both. */
#define BOTH(p, call_cpu, call_ref)                                            \
  do {                                                                       \
    irc_backend *be = (p)->cpu;                                              \
    be->measuring = 1;                                                       \
    call_cpu;                                                                \
    irc_error e_ = {0};                                                      \
    CHECK (be->prepare (be, &e_) == IRC_OK);                                 \
    call_cpu;                                                                \
    be = (p)->ref;                                                           \
    call_ref;                                                                \
  } while (0)

static pair
new_pair (irc_weights *w)
{
  pair p;
  irc_error err = {0};
  CHECK (irc_backend_cpu_new (w, 64, 64, 0, &p.cpu, &err) == IRC_OK);
  CHECK (irc_backend_ref_new (w, 64, 64, &p.ref, &err) == IRC_OK);
  return p;
}

static void
free_pair (pair *p)
{
  p->cpu->free (p->cpu);
  p->ref->free (p->ref);
}

static void
test_conv (pair *p, int cin, int cout, int h, int w, int k, int stride, int leaky, int res)
{
  const int ho = (h + 2 * (k / 2) - k) / stride + 1, wo = (w + 2 * (k / 2) - k) / stride + 1;
  float *src = random_buf ((size_t) cin * h * w), *wt = random_buf ((size_t) cout * cin * k * k);
  float *bias = random_buf (cout), *r = random_buf ((size_t) cout * ho * wo);
  float *a = calloc ((size_t) cout * ho * wo, sizeof (float));
  float *b = calloc ((size_t) cout * ho * wo, sizeof (float));
  irc_tensor ts = {src, cin, h, w}, ta = {a, cout, ho, wo}, tb = {b, cout, ho, wo};
  irc_tensor tr = {r, cout, ho, wo};
  BOTH (p, be->conv (be, ta, ts, wt, bias, k, stride, leaky, res ? &tr : NULL),
      be->conv (be, tb, ts, wt, bias, k, stride, leaky, res ? &tr : NULL));
  char what[128];
  snprintf (what, sizeof what, "conv k%d s%d %d->%d %dx%d%s%s", k, stride, cin, cout, w, h,
      leaky ? " leaky" : "", res ? " +res" : "");
  report (what, a, b, (size_t) cout * ho * wo);
  free (src), free (wt), free (bias), free (r), free (a), free (b);
}

static void
test_down (pair *p, int c, int h, int w)
{
  float *src = random_buf ((size_t) c * h * w), *wt = random_buf ((size_t) c / 4 * c * 9);
  const size_t n = (size_t) c * h * w / 4;
  float *a = calloc (n, sizeof (float)), *b = calloc (n, sizeof (float));
  irc_tensor ts = {src, c, h, w}, ta = {a, c, h / 2, w / 2}, tb = {b, c, h / 2, w / 2};
  BOTH (p, be->down (be, ta, ts, wt), be->down (be, tb, ts, wt));
  char what[128];
  snprintf (what, sizeof what, "down %d ch %dx%d", c, w, h);
  report (what, a, b, n);
  free (src), free (wt), free (a), free (b);
}

static void
test_up (pair *p, int n, int skip_c, int out_c, int h, int w)
{
  float *src = random_buf ((size_t) n * h * w), *skip = random_buf ((size_t) skip_c * 4 * h * w);
  float *uw = random_buf ((size_t) 4 * n * n * 9), *dw = random_buf ((size_t) out_c * (n + skip_c));
  const size_t cnt = (size_t) out_c * 4 * h * w;
  float *a = calloc (cnt, sizeof (float)), *b = calloc (cnt, sizeof (float));
  irc_tensor ts = {src, n, h, w}, tk = {skip, skip_c, 2 * h, 2 * w};
  irc_tensor ta = {a, out_c, 2 * h, 2 * w}, tb = {b, out_c, 2 * h, 2 * w};
  BOTH (p, be->up (be, ta, ts, tk, uw, dw), be->up (be, tb, ts, tk, uw, dw));
  char what[128];
  snprintf (what, sizeof what, "up %d+%d->%d %dx%d", n, skip_c, out_c, w, h);
  report (what, a, b, cnt);
  free (src), free (skip), free (uw), free (dw), free (a), free (b);
}

static void
test_nafblock_win (int c, int h, int w, int window)
{
  test_block tb;
  make_block (&tb, c);
  irc_weights wt;
  memset (&wt, 0, sizeof wt);
  wt.cfg.dim = 4;
  wt.cfg.left[0] = 1;
  wt.left[0] = &tb.b;
  pair p = new_pair (&wt);
  float *x = random_buf ((size_t) c * h * w);
  float *a = malloc ((size_t) c * h * w * sizeof (float));
  float *b = malloc ((size_t) c * h * w * sizeof (float));
  memcpy (a, x, (size_t) c * h * w * sizeof (float));
  memcpy (b, x, (size_t) c * h * w * sizeof (float));
  irc_tensor ta = {a, c, h, w}, tbb = {b, c, h, w};
  p.cpu->sca_window = p.ref->sca_window = window;
  irc_backend *be = p.cpu;
  be->measuring = 1;
  be->nafblock (be, ta, &tb.b);
  irc_error err = {0};
  CHECK (be->prepare (be, &err) == IRC_OK);
  be->nafblock (be, ta, &tb.b);
  p.ref->nafblock (p.ref, tbb, &tb.b);
  char what[128];
  snprintf (what, sizeof what, "nafblock c%d %dx%d window %d", c, w, h, window);
  report (what, a, b, (size_t) c * h * w);
  /* and the pooled mean */
  float ma[64], mb[64];
  p.cpu->mean (p.cpu, ma, ta);
  p.ref->mean (p.ref, mb, ta);
  snprintf (what, sizeof what, "mean c%d %dx%d", c, w, h);
  report (what, ma, mb, (size_t) c);
  free (x), free (a), free (b), free (tb.store);
  free_pair (&p);
}

static void
test_nafblock (int c, int h, int w)
{
  test_nafblock_win (c, h, w, 0);
  test_nafblock_win (c, h, w, 3);
  test_nafblock_win (c, h, w, 6);
}

int
main (void)
{
  irc_weights empty;
  memset (&empty, 0, sizeof empty);
  empty.cfg.dim = 4;
  const int sizes[][2] = {{1, 1}, {7, 5}, {5, 7}, {13, 9}, {64, 3}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const int w = sizes[s][0], h = sizes[s][1];
    pair p = new_pair (&empty);
    test_conv (&p, 3, 7, h, w, 3, 1, 1, 0);
    test_conv (&p, 5, 6, h, w, 3, 2, 1, 0);
    test_conv (&p, 10, 3, h, w, 3, 1, 0, 1);
    test_conv (&p, 9, 6, h, w, 1, 1, 1, 0);
    test_conv (&p, 6, 5, h, w, 1, 1, 0, 1);
    test_up (&p, 5, 3, 6, h, w);
    free_pair (&p);
    test_nafblock (5, h, w);
    test_nafblock (6, h, w);
  }
  const int even[][2] = {{2, 2}, {6, 10}, {14, 4}};
  for (size_t s = 0; s < sizeof even / sizeof even[0]; s++) {
    pair p = new_pair (&empty);
    test_down (&p, 12, even[s][1], even[s][0]);
    test_down (&p, 4, even[s][1], even[s][0]);
    free_pair (&p);
  }
  /* a frame tall enough that the NAFBlock runs in several bands */
  test_nafblock (3, 150, 33);
  test_nafblock_win (4, 40, 50, 45);
  test_nafblock (7, 1, 300);
  return failures ? 1 : 0;
}
