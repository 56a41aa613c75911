/* gradcheck: every training op's backward and every loss's gradient against
 * central differences, in double precision (the double instantiation of the
 * same source as the float ops), on small odd shapes. */
#include "common.h"
#include "train/loss.h"
#include "train/ops.h"

#include <math.h>
#include <string.h>

/* Central differences with step H in double: truncation ~H^2 |f'''| and
 * rounding ~1e-16 / H, both far below TOL relative to the largest gradient. */
#define H 1e-5
#define TOL 1e-6

typedef struct gcase gcase;
struct gcase {
  const char *name;
  int n_in;
  double *in[4];
  size_t in_n[4];
  size_t out_n;
  void (*fwd) (const gcase *c, double *out);
  /* adds dL/din[k] into grad[k] given dL/dout */
  void (*bwd) (const gcase *c, const double *dout, double **grad);
  int i[8];                  /* shape parameters */
  int n_check;               /* inputs whose gradient is checked (0: all) */
};

static unsigned rng = 12345;

static double
urand (void)
{
  test_lcg (&rng);
  return (double) (rng >> 8) / 16777216.0 * 2 - 1;
}

static double *
rand_array (size_t n, double scale, double offset)
{
  double *a = malloc (n * sizeof (double));
  CHECK (a);
  for (size_t i = 0; i < n; i++)
    a[i] = offset + scale * urand ();
  return a;
}

static int
run (gcase *c)
{
  double *r = rand_array (c->out_n, 1, 0), *out = malloc (c->out_n * sizeof (double));
  double *grad[4];
  for (int k = 0; k < c->n_in; k++)
    grad[k] = calloc (c->in_n[k], sizeof (double));
  c->bwd (c, r, grad);
  double worst = 0;
  const int n_check = c->n_check ? c->n_check : c->n_in;
  for (int k = 0; k < n_check; k++) {
    double gmax = 1e-12, err = 0;
    for (size_t j = 0; j < c->in_n[k]; j++) {
      const double keep = c->in[k][j];
      double lp = 0, lm = 0;
      c->in[k][j] = keep + H;
      c->fwd (c, out);
      for (size_t o = 0; o < c->out_n; o++)
        lp += out[o] * r[o];
      c->in[k][j] = keep - H;
      c->fwd (c, out);
      for (size_t o = 0; o < c->out_n; o++)
        lm += out[o] * r[o];
      c->in[k][j] = keep;
      const double num = (lp - lm) / (2 * H);
      gmax = fmax (gmax, fabs (num));
      err = fmax (err, fabs (num - grad[k][j]));
    }
    const double rel = err / gmax;
    worst = fmax (worst, rel);
    if (!(rel <= TOL))
      fprintf (stderr, "FAIL %s input %d: max error %.3e of max gradient %.3e\n", c->name, k,
          err, gmax);
  }
  for (int k = 0; k < c->n_in; k++)
    free (grad[k]);
  printf ("%-22s worst relative error %.2e\n", c->name, worst);
  free (r), free (out);
  for (int k = 0; k < c->n_in; k++)
    free (c->in[k]);
  return worst <= TOL ? 0 : 1;
}

/* ------------------------------------------------------------ op wrappers */

/* conv3x3: i = n, cin, h, w, cout, stride */
static void
conv3_fwd (const gcase *c, double *out)
{
  const int *i = c->i;
  double *col = malloc (irc_tr_col_floats (i[1], irc_tr_conv_out (i[2], i[5]),
      irc_tr_conv_out (i[3], i[5])) * sizeof (double));
  irc_tr_conv3x3_fwd_d (out, c->in[0], i[0], i[1], i[2], i[3], c->in[1], c->in[2], i[4], i[5],
      col);
  free (col);
}

static void
conv3_bwd (const gcase *c, const double *d, double **g)
{
  const int *i = c->i;
  double *col = malloc (irc_tr_col_floats (i[1], irc_tr_conv_out (i[2], i[5]),
      irc_tr_conv_out (i[3], i[5])) * sizeof (double));
  irc_tr_conv3x3_bwd_d (g[0], g[1], g[2], d, c->in[0], i[0], i[1], i[2], i[3], c->in[1], i[4],
      i[5], col);
  free (col);
}

static gcase
conv3_case (int n, int cin, int h, int w, int cout, int stride)
{
  gcase c = {stride == 1 ? "conv3x3 stride 1" : "conv3x3 stride 2", 3,
    {NULL}, {0}, 0, conv3_fwd, conv3_bwd, {n, cin, h, w, cout, stride}, 0};
  c.in_n[0] = (size_t) cin * n * h * w;
  c.in_n[1] = (size_t) cout * cin * 9;
  c.in_n[2] = (size_t) cout;
  c.out_n = (size_t) cout * n * irc_tr_conv_out (h, stride) * irc_tr_conv_out (w, stride);
  return c;
}

/* conv1x1 with a weight row stride wider than cin (the split concat GEMMs):
 * i = p, cin, cout, ldw */
static void
conv1_fwd (const gcase *c, double *out)
{
  irc_tr_conv1x1_fwd_d (out, c->in[0], (size_t) c->i[0], c->i[1], c->in[1], c->i[3], c->in[2],
      c->i[2], 0);
}

static void
conv1_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_conv1x1_bwd_d (g[0], g[1], g[2], d, c->in[0], (size_t) c->i[0], c->i[1], c->in[1],
      c->i[3], c->i[2]);
}

static void
dw_fwd (const gcase *c, double *out)
{
  irc_tr_dwconv3x3_fwd_d (out, c->in[0], c->i[0], c->i[1], c->i[2], c->i[3], c->in[1], c->in[2]);
}

static void
dw_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_dwconv3x3_bwd_d (g[0], g[1], g[2], d, c->in[0], c->i[0], c->i[1], c->i[2], c->i[3],
      c->in[1]);
}

static void
leaky_fwd (const gcase *c, double *out)
{
  memcpy (out, c->in[0], c->out_n * sizeof (double));
  irc_tr_leaky_fwd_d (out, c->out_n, 0.1);
}

static void
leaky_bwd (const gcase *c, const double *d, double **g)
{
  double *y = malloc (c->out_n * sizeof (double));
  leaky_fwd (c, y);
  memcpy (g[0], d, c->out_n * sizeof (double));
  irc_tr_leaky_bwd_d (g[0], y, c->out_n, 0.1);
  free (y);
}

/* layernorm: i = c, p */
static void
ln_fwd (const gcase *c, double *out)
{
  double *mu = malloc (c->i[1] * sizeof (double)), *rs = malloc (c->i[1] * sizeof (double));
  irc_tr_layernorm_fwd_d (out, mu, rs, c->in[0], c->i[0], (size_t) c->i[1], c->in[1], c->in[2],
      1e-6);
  free (mu), free (rs);
}

static void
ln_bwd (const gcase *c, const double *d, double **g)
{
  double *mu = malloc (c->i[1] * sizeof (double)), *rs = malloc (c->i[1] * sizeof (double));
  double *y = malloc (c->out_n * sizeof (double));
  irc_tr_layernorm_fwd_d (y, mu, rs, c->in[0], c->i[0], (size_t) c->i[1], c->in[1], c->in[2],
      1e-6);
  irc_tr_layernorm_bwd_d (g[0], g[1], g[2], d, c->in[0], mu, rs, c->i[0], (size_t) c->i[1],
      c->in[1]);
  free (mu), free (rs), free (y);
}

static void
gate_fwd (const gcase *c, double *out)
{
  irc_tr_gate_fwd_d (out, c->in[0], c->i[0], (size_t) c->i[1]);
}

static void
gate_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_gate_bwd_d (g[0], d, c->in[0], c->i[0], (size_t) c->i[1]);
}

/* SCA as the block uses it: s = conv1x1(mean(x)) over N columns, out = x * s.
 * i = c, n, hw */
static void
sca_fwd (const gcase *c, double *out)
{
  const int ch = c->i[0], n = c->i[1];
  double *m = malloc ((size_t) ch * n * sizeof (double)), *s = malloc ((size_t) ch * n * sizeof (double));
  irc_tr_plane_mean_fwd_d (m, c->in[0], (size_t) ch * n, (size_t) c->i[2]);
  irc_tr_conv1x1_fwd_d (s, m, (size_t) n, ch, c->in[1], ch, c->in[2], ch, 0);
  irc_tr_plane_scale_fwd_d (out, c->in[0], s, (size_t) ch * n, (size_t) c->i[2]);
  free (m), free (s);
}

static void
sca_bwd (const gcase *c, const double *d, double **g)
{
  const int ch = c->i[0], n = c->i[1];
  const size_t cn = (size_t) ch * n;
  double *m = malloc (cn * sizeof (double)), *s = malloc (cn * sizeof (double));
  double *ds = calloc (cn, sizeof (double)), *dm = calloc (cn, sizeof (double));
  irc_tr_plane_mean_fwd_d (m, c->in[0], cn, (size_t) c->i[2]);
  irc_tr_conv1x1_fwd_d (s, m, (size_t) n, ch, c->in[1], ch, c->in[2], ch, 0);
  irc_tr_plane_scale_bwd_d (g[0], ds, d, c->in[0], s, cn, (size_t) c->i[2]);
  irc_tr_conv1x1_bwd_d (dm, g[1], g[2], ds, m, (size_t) n, ch, c->in[1], ch, ch);
  irc_tr_plane_mean_bwd_d (g[0], dm, cn, (size_t) c->i[2]);
  free (m), free (s), free (ds), free (dm);
}

static void
sadd_fwd (const gcase *c, double *out)
{
  irc_tr_scale_add_fwd_d (out, c->in[0], c->in[1], c->in[2], c->i[0], (size_t) c->i[1]);
}

static void
sadd_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_scale_add_bwd_d (g[0], g[1], g[2], d, c->in[1], c->in[2], c->i[0], (size_t) c->i[1]);
}

/* unshuffle then shuffle are each other's adjoint: i = c (output of the
 * unshuffle has 4c), n, h, w */
static void
unsh_fwd (const gcase *c, double *out)
{
  irc_tr_unshuffle_d (out, c->in[0], c->i[0], c->i[1], c->i[2], c->i[3], 0);
}

static void
unsh_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_shuffle_d (g[0], d, c->i[0], c->i[1], c->i[2] / 2, c->i[3] / 2, 1);
}

static void
sh_fwd (const gcase *c, double *out)
{
  irc_tr_shuffle_d (out, c->in[0], c->i[0], c->i[1], c->i[2], c->i[3], 0);
}

static void
sh_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_unshuffle_d (g[0], d, c->i[0], c->i[1], 2 * c->i[2], 2 * c->i[3], 1);
}

/* linear: i = n, in, out */
static void
lin_fwd (const gcase *c, double *out)
{
  irc_tr_linear_fwd_d (out, c->in[0], c->i[0], c->i[1], c->in[1], c->in[2], c->i[2]);
}

static void
lin_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_linear_bwd_d (g[0], g[1], g[2], d, c->in[0], c->i[0], c->i[1], c->in[1], c->i[2]);
}

/* BatchNorm1d, training mode: i = n, c */
static void
bn_fwd (const gcase *c, double *out)
{
  double mu[16], is[16];
  irc_tr_batchnorm_fwd_d (out, mu, is, c->in[0], c->i[0], c->i[1], c->in[1], c->in[2], NULL, NULL,
      0.1, 1e-5);
}

static void
bn_bwd (const gcase *c, const double *d, double **g)
{
  double mu[16], is[16], *y = malloc (c->out_n * sizeof (double));
  irc_tr_batchnorm_fwd_d (y, mu, is, c->in[0], c->i[0], c->i[1], c->in[1], c->in[2], NULL, NULL,
      0.1, 1e-5);
  irc_tr_batchnorm_bwd_d (g[0], g[1], g[2], d, c->in[0], mu, is, c->i[0], c->i[1], c->in[1]);
  free (y);
}

static void
gelu_fwd (const gcase *c, double *out)
{
  irc_tr_gelu_fwd_d (out, c->in[0], c->out_n);
}

static void
gelu_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_gelu_bwd_d (g[0], d, c->in[0], c->out_n);
}

/* avgpool: i = c, n, hw */
static void
pool_fwd (const gcase *c, double *out)
{
  irc_tr_avgpool_fwd_d (out, c->in[0], c->i[0], c->i[1], (size_t) c->i[2]);
}

static void
pool_bwd (const gcase *c, const double *d, double **g)
{
  irc_tr_avgpool_bwd_d (g[0], d, c->i[0], c->i[1], (size_t) c->i[2]);
}

/* ------------------------------------------------------------ losses */

/* the pixel losses, dispatched on i[7]: 0 L1 over in_n[0] values; 1 PSNR,
 * in = out, gt (channel-major c, n, hw), i = n, channels, hw */
static double
pixloss (const gcase *c, double *grad)
{
  return c->i[7] == 0 ? irc_tr_l1_d (grad, c->in[0], c->in[1], c->in_n[0])
      : irc_tr_psnr_loss_d (grad, c->in[0], c->in[1], c->i[0], c->i[1], (size_t) c->i[2]);
}

static void
pix_fwd (const gcase *c, double *out)
{
  double *g = calloc (c->in_n[0], sizeof (double));
  out[0] = pixloss (c, g);
  free (g);
}

static void
pix_bwd (const gcase *c, const double *d, double **g)
{
  double *t = calloc (c->in_n[0], sizeof (double));
  pixloss (c, t);
  for (size_t j = 0; j < c->in_n[0]; j++)
    g[0][j] += d[0] * t[j];
  free (t);
}

/* InfoNCE: in = q, k, queue; i = n, d, K */
static double
nce (const gcase *c, double *dq)
{
  double *logits = malloc ((size_t) c->i[0] * (c->i[2] + 1) * sizeof (double));
  const double v = irc_tr_infonce_d (dq, logits, c->in[0], c->in[1], c->in[2], c->i[0], c->i[1],
      c->i[2], 0.07);
  free (logits);
  return v;
}

static double
content (const gcase *c, double *dq)
{
  return irc_tr_content_d (dq, c->in[0], c->in[1], c->i[0], c->i[1]);
}

static double
style (const gcase *c, double *dq)
{
  return irc_tr_style_term_d (dq, c->in[0], c->in[1], c->i[0], c->i[1],
      (double) c->i[0] * c->i[1]);
}

/* the loss functions of a q-only gradient, dispatched on i[7] */
static double
qloss (const gcase *c, double *dq)
{
  return c->i[7] == 0 ? nce (c, dq) : c->i[7] == 1 ? content (c, dq) : style (c, dq);
}

static void
q_fwd (const gcase *c, double *out)
{
  double *dq = calloc (c->in_n[0], sizeof (double));
  out[0] = qloss (c, dq);
  free (dq);
}

static void
q_bwd (const gcase *c, const double *d, double **g)
{
  double *dq = calloc (c->in_n[0], sizeof (double));
  qloss (c, dq);
  for (size_t j = 0; j < c->in_n[0]; j++)
    g[0][j] += d[0] * dq[j];
  free (dq);
}

/* conv3x3 on maps large enough for the banded column tiles (several tiles
 * of output rows per image), the direct forward of few output channels and
 * the transposed backward, against direct sums: inputs are multiples of
 * 2^-24 below 1/2 in magnitude, so the output and input-gradient sums are
 * exact in double whatever their order; dW sums many more terms. */
static int
conv3_large (int n, int cin, int h, int w, int cout, int stride)
{
  const int ho = irc_tr_conv_out (h, stride), wo = irc_tr_conv_out (w, stride);
  const size_t ni = (size_t) cin * n * h * w, no = (size_t) cout * n * ho * wo;
  const size_t nw = (size_t) cout * cin * 9;
  double *x = malloc (ni * sizeof (double)), *wt = malloc (nw * sizeof (double));
  double *dy = malloc (no * sizeof (double)), *y = malloc (no * sizeof (double));
  double *yr = malloc (no * sizeof (double)), *dx = malloc (ni * sizeof (double));
  double *dxr = malloc (ni * sizeof (double)), *dw = malloc (nw * sizeof (double));
  double *dwr = malloc (nw * sizeof (double));
  double *col = malloc (irc_tr_col_floats (cin, ho, wo) * sizeof (double));
  double *v[3] = {x, wt, dy};
  const size_t vn[3] = {ni, nw, no};
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < vn[k]; i++) {
      test_lcg (&rng);
      v[k][i] = (double) (rng >> 8) / 16777216.0 - 0.5;
    }
  for (size_t i = 0; i < ni; i++)
    dx[i] = dxr[i] = 0.25;
  for (size_t i = 0; i < nw; i++)
    dw[i] = dwr[i] = 0.5;
  irc_tr_conv3x3_fwd_d (y, x, n, cin, h, w, wt, NULL, cout, stride, col);
  irc_tr_conv3x3_bwd_d (dx, dw, NULL, dy, x, n, cin, h, w, wt, cout, stride, col);
  for (int co = 0; co < cout; co++)
    for (int i = 0; i < n; i++)
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++) {
          const size_t o = (((size_t) co * n + i) * ho + oy) * wo + ox;
          double acc = 0;
          for (int ci = 0; ci < cin; ci++)
            for (int k = 0; k < 9; k++) {
              const int iy = oy * stride + k / 3 - 1, ix = ox * stride + k % 3 - 1;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              const size_t xi = (((size_t) ci * n + i) * h + iy) * w + ix;
              const size_t wi = ((size_t) co * cin + ci) * 9 + k;
              acc += wt[wi] * x[xi];
              dxr[xi] += wt[wi] * dy[o];
              dwr[wi] += x[xi] * dy[o];
            }
          yr[o] = acc;
        }
  double ey = 0, edx = 0, edw = 0;
  for (size_t i = 0; i < no; i++)
    ey = fmax (ey, fabs (y[i] - yr[i]));
  for (size_t i = 0; i < ni; i++)
    edx = fmax (edx, fabs (dx[i] - dxr[i]));
  for (size_t i = 0; i < nw; i++)
    edw = fmax (edw, fabs (dw[i] - dwr[i]) / (fabs (dwr[i]) + 1));
  const int bad = ey != 0 || edx != 0 || edw > 1e-12;
  printf ("%-24s n %d, %d -> %d, %dx%d, stride %d: out %.1e, dsrc %.1e, dW %.1e%s\n",
      "conv3x3 large map", n, cin, cout, h, w, stride, ey, edx, edw, bad ? "  FAIL" : "");
  free (x), free (wt), free (dy), free (y), free (yr), free (dx), free (dxr), free (dw);
  free (dwr), free (col);
  return bad;
}

static void
fill (gcase *c, double scale)
{
  for (int k = 0; k < c->n_in; k++)
    c->in[k] = rand_array (c->in_n[k], scale, 0);
}

int
main (void)
{
  int fails = 0;
  gcase c;

  c = conv3_case (2, 3, 5, 7, 4, 1);
  fill (&c, 1);
  fails += run (&c);
  c = conv3_case (2, 3, 7, 5, 5, 2);
  fill (&c, 1);
  fails += run (&c);
  /* cout == cin: the transposed backward; cout 2: the direct forward */
  c = conv3_case (2, 4, 5, 6, 4, 1);
  fill (&c, 1);
  fails += run (&c);
  c = conv3_case (3, 5, 4, 7, 2, 1);
  fill (&c, 1);
  fails += run (&c);
  fails += conv3_large (2, 16, 97, 95, 16, 1);
  fails += conv3_large (2, 8, 95, 97, 32, 1);
  fails += conv3_large (3, 8, 97, 95, 16, 2);
  fails += conv3_large (2, 32, 96, 96, 3, 1);

  c = (gcase) {"conv1x1", 3, {NULL}, {33, 15, 5}, 55, conv1_fwd, conv1_bwd, {11, 3, 5, 3}, 0};
  fill (&c, 1);
  fails += run (&c);
  /* the first 3 of 5 weight columns, as local_fusion and UC.down use theirs */
  c = (gcase) {"conv1x1 (split weight)", 3, {NULL}, {33, 25, 5}, 55, conv1_fwd, conv1_bwd,
    {11, 3, 5, 5}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"dwconv3x3", 3, {NULL}, {3 * 2 * 5 * 4, 27, 3}, 3 * 2 * 5 * 4, dw_fwd, dw_bwd,
    {3, 2, 5, 4}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"leaky_relu", 1, {NULL}, {37}, 37, leaky_fwd, leaky_bwd, {0}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"layernorm2d", 3, {NULL}, {35, 5, 5}, 35, ln_fwd, ln_bwd, {5, 7}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"simple_gate", 1, {NULL}, {30}, 15, gate_fwd, gate_bwd, {3, 5}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"sca (mean, 1x1, scale)", 3, {NULL}, {3 * 2 * 7, 9, 3}, 42, sca_fwd, sca_bwd,
    {3, 2, 7}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"scale_add", 3, {NULL}, {21, 21, 3}, 21, sadd_fwd, sadd_bwd, {3, 7}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"pixel_unshuffle", 1, {NULL}, {3 * 2 * 4 * 6}, 3 * 2 * 4 * 6, unsh_fwd, unsh_bwd,
    {3, 2, 4, 6}, 0};
  fill (&c, 1);
  fails += run (&c);
  c = (gcase) {"pixel_shuffle", 1, {NULL}, {12 * 2 * 3 * 5}, 12 * 2 * 3 * 5, sh_fwd, sh_bwd,
    {3, 2, 3, 5}, 0};
  fill (&c, 1);
  fails += run (&c);

  c = (gcase) {"linear", 3, {NULL}, {15, 35, 7}, 21, lin_fwd, lin_bwd, {3, 5, 7}, 0};
  fill (&c, 1);
  fails += run (&c);

  /* batch statistics of 3 samples; spread well above sqrt(eps) */
  c = (gcase) {"batchnorm1d (train)", 3, {NULL}, {15, 5, 5}, 15, bn_fwd, bn_bwd, {3, 5}, 0};
  fill (&c, 1);
  fails += run (&c);
  /* batch of two, as the golden: the backward is a cancellation there */
  c = (gcase) {"batchnorm1d (batch 2)", 3, {NULL}, {10, 5, 5}, 10, bn_fwd, bn_bwd, {2, 5}, 0};
  fill (&c, 0.05);
  fails += run (&c);

  c = (gcase) {"gelu", 1, {NULL}, {29}, 29, gelu_fwd, gelu_bwd, {0}, 0};
  fill (&c, 3);
  fails += run (&c);

  c = (gcase) {"avgpool", 1, {NULL}, {3 * 2 * 5}, 6, pool_fwd, pool_bwd, {3, 2, 5}, 0};
  fill (&c, 1);
  fails += run (&c);

  /* L1 away from its kink: out - gt bounded away from 0 */
  c = (gcase) {"loss l1", 2, {NULL}, {23, 23}, 1, pix_fwd, pix_bwd, {0}, 0};
  fill (&c, 1);
  for (size_t j = 0; j < 23; j++)
    c.in[1][j] = c.in[0][j] + (j % 2 ? 0.3 : -0.3) + 0.1 * urand ();
  c.n_check = 1;
  fails += run (&c);

  /* PSNR loss: three samples whose errors differ by 100x in scale, so each
   * sample's own mse must divide its gradient */
  c = (gcase) {"loss psnr", 2, {NULL}, {3 * 3 * 4, 3 * 3 * 4}, 1, pix_fwd, pix_bwd,
    {3, 3, 4, 0, 0, 0, 0, 1}, 0};
  fill (&c, 1);
  for (size_t j = 0; j < 36; j++)
    c.in[1][j] = c.in[0][j] + (0.01 + urand ()) * (j / 4 % 3 == 0 ? 0.03 : j / 4 % 3 == 1 ? 0.3 : 3.0);
  c.n_check = 1;
  fails += run (&c);

  c = (gcase) {"loss infonce", 3, {NULL}, {3 * 5, 3 * 5, 5 * 6}, 1, q_fwd, q_bwd,
    {3, 5, 6, 0, 0, 0, 0, 0}, 0};
  fill (&c, 0.5);
  c.n_check = 1;
  fails += run (&c);
  c = (gcase) {"loss content", 2, {NULL}, {15, 15}, 1, q_fwd, q_bwd, {3, 5, 0, 0, 0, 0, 0, 1}, 0};
  fill (&c, 1);
  c.n_check = 1;
  fails += run (&c);
  c = (gcase) {"loss style term", 2, {NULL}, {15, 15}, 1, q_fwd, q_bwd, {3, 5, 0, 0, 0, 0, 0, 2}, 0};
  fill (&c, 1);
  c.n_check = 1;
  fails += run (&c);

  if (fails)
    fprintf (stderr, "%d gradient checks failed\n", fails);
  return fails ? 1 : 0;
}
