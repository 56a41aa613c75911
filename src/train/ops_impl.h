/* ops_impl: the body of every training op, included by ops.c once per real
 * type (T = float or double, FN() appends the suffix, GEMM is the BLAS call).
 * Reductions accumulate in double; BatchNorm follows PyTorch's CPU kernel
 * step by step because the golden step is ill-conditioned there. */

/* Parallel loops: par_for() runs a->body (a, lo, hi) over a static split of
 * [0, a->count) on the pool (ops.c); the fields are whatever the op needs. */
typedef struct FN (pa) FN (pa);
struct FN (pa) {
  void (*body) (const FN (pa) *a, size_t lo, size_t hi);
  size_t count;
  T *d0, *d1, *d2;
  const T *s0, *s1, *s2;
  size_t n, hw;
  int c, nb, h, w, acc;
  T x;
};

static void
FN (pa_job) (void *v, int t, int nt)
{
  const FN (pa) *a = v;
  const size_t lo = a->count * t / nt, hi = a->count * (t + 1) / nt;
  if (hi > lo)
    a->body (a, lo, hi);
}

/* @work: elements touched, against PAR_MIN */
static void
FN (par_for) (const FN (pa) *a, size_t work)
{
  const int nt = par_threads (work);
  par_run ((size_t) nt <= a->count ? nt : a->count ? (int) a->count : 1, FN (pa_job), (void *) a);
}

/* ------------------------------------------------------------ convolution */

/* col (cin*9 x (oy1-oy0)*wo, row stride @ldc) from output rows [oy0, oy1)
 * of one image whose channel planes are @plane apart. */
static void
FN (im2col) (T *col, size_t ldc, const T *src, size_t plane, int cin, int h, int w, int stride,
    int oy0, int oy1, int wo)
{
  for (int ci = 0; ci < cin; ci++) {
    const T *s = src + (size_t) ci * plane;
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        T *d = col + ((size_t) ci * 9 + ky * 3 + kx) * ldc;
        for (int oy = oy0; oy < oy1; oy++, d += wo) {
          const int iy = oy * stride + ky - 1;
          if (iy < 0 || iy >= h) {
            memset (d, 0, (size_t) wo * sizeof (T));
            continue;
          }
          const T *row = s + (size_t) iy * w;
          if (stride == 1) {
            const int dx = kx - 1;
            const int x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? wo - 1 : wo;
            if (x0)
              d[0] = 0;
            memcpy (d + x0, row + x0 + dx, (size_t) (x1 - x0) * sizeof (T));
            if (x1 < wo)
              d[wo - 1] = 0;
          } else {
            for (int x = 0; x < wo; x++) {
              const int ix = x * stride + kx - 1;
              d[x] = ix >= 0 && ix < w ? row[ix] : 0;
            }
          }
        }
      }
  }
}

/* The adjoint of im2col: adds col back into the image. */
static void
FN (col2im) (T *dst, const T *col, size_t ldc, size_t plane, int cin, int h, int w, int stride,
    int oy0, int oy1, int wo)
{
  for (int ci = 0; ci < cin; ci++) {
    T *s = dst + (size_t) ci * plane;
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        const T *d = col + ((size_t) ci * 9 + ky * 3 + kx) * ldc;
        for (int oy = oy0; oy < oy1; oy++, d += wo) {
          const int iy = oy * stride + ky - 1;
          if (iy < 0 || iy >= h)
            continue;
          T *restrict row = s + (size_t) iy * w;
          if (stride == 1) {
            const int dx = kx - 1;
            const int x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? wo - 1 : wo;
            T *restrict r = row + dx;
            const T *restrict dd = d;
            for (int x = x0; x < x1; x++)
              r[x] += dd[x];
          } else
            for (int x = 0; x < wo; x++) {
              const int ix = x * stride + kx - 1;
              if (ix >= 0 && ix < w)
                row[ix] += d[x];
            }
        }
      }
  }
}

/* Convolutions run over runs of images: with CNHW, the columns of g
 * consecutive images are contiguous in every channel, so one GEMM covers
 * them (the weights are packed once per run, which matters on the small
 * maps). With several threads each takes a contiguous share of the images
 * (the same split every call, so results do not depend on scheduling), its
 * own im2col scratch and, for the weight gradient, its own partial sum. A
 * thread that cannot get scratch leaves its images to the serial pass after
 * the region, which uses the caller's @col one image at a time. */
#define CONV_RUN_COLS 4096

/* A column matrix is made and consumed in tiles of about this many values
 * (256 KB of floats), so that OpenBLAS packs it again from L2 rather than
 * from memory; on large maps a tile is a band of output rows of one image.
 * A tile keeps at least CONV_TILE_MIN columns, for the GEMM's sake. */
#define CONV_TILE_VALUES 65536
#define CONV_TILE_MIN 256

/* output rows per tile of a column matrix of @rows rows over wo columns */
static int
FN (conv_tile_rows) (int rows, int ho, int wo)
{
  int r = CONV_TILE_VALUES / (rows * wo);
  if (r * wo < CONV_TILE_MIN)
    r = (CONV_TILE_MIN + wo - 1) / wo;
  return r < 1 ? 1 : r > ho ? ho : r;
}

typedef struct {
  const T *src, *dout, *wt, *wf, *bias;
  T *dst, *dsrc;
  int n, cin, h, w, cout, stride, ho, wo, transposed, direct;
} FN (conv_args);

/* The direct forward: for a stride-1 convolution with few output channels
 * the column matrix is cin*9 rows written and packed again for only cout
 * multiply-adds per value (the final 2C->3 and the down-convolutions); here
 * each output row accumulates the nine taps of each input channel, the
 * input rows staying in L1 across the output channels. */
#define CONV_DIRECT_COUT 4

static IRC_TR_VEC_CLONES void
FN (conv_fwd_direct) (const FN (conv_args) *a, int i)
{
  const int h = a->h, w = a->w, cin = a->cin, cout = a->cout;
  const size_t hw = (size_t) h * w, plane = (size_t) a->n * hw;
  T zero[w];
  for (int x = 0; x < w; x++)
    zero[x] = 0;
  for (int oy = 0; oy < h; oy++) {
    for (int co = 0; co < cout; co++) {
      T *r = a->dst + co * plane + i * hw + (size_t) oy * w;
      const T b0 = a->bias ? a->bias[co] : 0;
      for (int x = 0; x < w; x++)
        r[x] = b0;
    }
    for (int ci = 0; ci < cin; ci++) {
      const T *s = a->src + ci * plane + i * hw;
      const T *restrict u = oy > 0 ? s + (size_t) (oy - 1) * w : zero;
      const T *restrict m = s + (size_t) oy * w;
      const T *restrict d = oy + 1 < h ? s + (size_t) (oy + 1) * w : zero;
      for (int co = 0; co < cout; co++) {
        const T *k = a->wt + ((size_t) co * cin + ci) * 9;
        const T k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6],
            k7 = k[7], k8 = k[8];
        T *restrict r = a->dst + co * plane + i * hw + (size_t) oy * w;
        r[0] += k1 * u[0] + k2 * u[1] + k4 * m[0] + k5 * m[1] + k7 * d[0] + k8 * d[1];
        for (int x = 1; x < w - 1; x++)
          r[x] += k0 * u[x - 1] + k1 * u[x] + k2 * u[x + 1] + k3 * m[x - 1] + k4 * m[x]
              + k5 * m[x + 1] + k6 * d[x - 1] + k7 * d[x] + k8 * d[x + 1];
        r[w - 1] += k0 * u[w - 2] + k1 * u[w - 1] + k3 * m[w - 2] + k4 * m[w - 1]
            + k6 * d[w - 2] + k7 * d[w - 1];
      }
    }
  }
}

/* images per GEMM for a thread holding @count images */
static int
FN (conv_run) (const FN (conv_args) *a, int count)
{
  const int q = a->ho * a->wo, g = CONV_RUN_COLS / q;
  return g < 1 ? 1 : g > count ? count : g;
}

/* Forward of images [i0, i0 + g) with col (cin*9 x g*q). */
static void
FN (conv_fwd_run) (const FN (conv_args) *a, int i0, int g, T *col)
{
  const size_t q = (size_t) a->ho * a->wo, hw = (size_t) a->h * a->w, nq = (size_t) a->n * q;
  if (a->direct) {
    for (int i = 0; i < g; i++)
      FN (conv_fwd_direct) (a, i0 + i);
    return;
  }
  if (g == 1) {
    const int rt = FN (conv_tile_rows) (a->cin * 9, a->ho, a->wo);
    for (int oy0 = 0; oy0 < a->ho; oy0 += rt) {
      const int oy1 = oy0 + rt < a->ho ? oy0 + rt : a->ho, cols = (oy1 - oy0) * a->wo;
      FN (im2col) (col, cols, a->src + i0 * hw, a->n * hw, a->cin, a->h, a->w, a->stride, oy0,
          oy1, a->wo);
      GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, a->cout, cols, a->cin * 9, 1, a->wt,
          a->cin * 9, col, cols, 0, a->dst + i0 * q + (size_t) oy0 * a->wo, (int) nq);
    }
  } else {
    for (int i = 0; i < g; i++)
      FN (im2col) (col + i * q, g * q, a->src + (i0 + i) * hw, a->n * hw, a->cin, a->h, a->w,
          a->stride, 0, a->ho, a->wo);
    GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, a->cout, (int) (g * q), a->cin * 9, 1,
        a->wt, a->cin * 9, col, (int) (g * q), 0, a->dst + i0 * q, (int) nq);
  }
  if (a->bias)
    for (int o = 0; o < a->cout; o++)
      for (size_t j = 0; j < g * q; j++)
        a->dst[o * nq + i0 * q + j] += a->bias[o];
}

/* Backward of images [i0, i0 + g), the direct way: dW (+)= dout col^T
 * (beta 0 or 1), then col = W^T dout and col2im into dsrc. */
static void
FN (conv_bwd_run) (const FN (conv_args) *a, int i0, int g, T *dwt, int beta, T *col)
{
  const size_t q = (size_t) a->ho * a->wo, hw = (size_t) a->h * a->w, nq = (size_t) a->n * q;
  const int k = a->cin * 9;
  if (g == 1) {
    const int rt = FN (conv_tile_rows) (k, a->ho, a->wo);
    for (int oy0 = 0; oy0 < a->ho; oy0 += rt) {
      const int oy1 = oy0 + rt < a->ho ? oy0 + rt : a->ho, cols = (oy1 - oy0) * a->wo;
      const T *dt = a->dout + i0 * q + (size_t) oy0 * a->wo;
      FN (im2col) (col, cols, a->src + i0 * hw, a->n * hw, a->cin, a->h, a->w, a->stride, oy0,
          oy1, a->wo);
      GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, a->cout, k, cols, 1, dt, (int) nq, col,
          cols, oy0 ? 1 : beta, dwt, k);
      if (a->dsrc) {
        GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, k, cols, a->cout, 1, a->wt, k, dt,
            (int) nq, 0, col, cols);
        FN (col2im) (a->dsrc + i0 * hw, col, cols, a->n * hw, a->cin, a->h, a->w, a->stride,
            oy0, oy1, a->wo);
      }
    }
    return;
  }
  for (int i = 0; i < g; i++)
    FN (im2col) (col + i * q, g * q, a->src + (i0 + i) * hw, a->n * hw, a->cin, a->h, a->w,
        a->stride, 0, a->ho, a->wo);
  GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, a->cout, k, (int) (g * q), 1, a->dout + i0 * q,
      (int) nq, col, (int) (g * q), beta, dwt, k);
  if (a->dsrc) {
    GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, k, (int) (g * q), a->cout, 1, a->wt, k,
        a->dout + i0 * q, (int) nq, 0, col, (int) (g * q));
    for (int i = 0; i < g; i++)
      FN (col2im) (a->dsrc + (i0 + i) * hw, col + i * q, g * q, a->n * hw, a->cin, a->h, a->w,
          a->stride, 0, a->ho, a->wo);
  }
}

/* Backward of images [i0, i0 + g) through the transposed convolution, for
 * stride 1 when cout <= cin: with D = im2col(dout) (cout*9 x g*q, no larger
 * than the input's column matrix),
 *   dW[co][ci][k] = sum D[co*9 + 8-k][.] src[ci][.]   (part (+)= D src^T)
 *   dsrc = Wf D,  Wf[ci][co*9 + j] = W[co][ci*9 + 8-j],
 * so no cin*9-row column matrix is written by a GEMM and read back by
 * col2im, and the input gradient's GEMM sums cout*9 terms rather than cout
 * (cout == cin: the encoder's 16->16 and 32->32 on the large maps). */
static void
FN (conv_bwd_run_t) (const FN (conv_args) *a, int i0, int g, T *part, int beta, T *col)
{
  const size_t hw = (size_t) a->h * a->w, nhw = (size_t) a->n * hw;
  if (g == 1) {
    const int rt = FN (conv_tile_rows) (a->cout * 9, a->h, a->w);
    for (int y0 = 0; y0 < a->h; y0 += rt) {
      const int y1 = y0 + rt < a->h ? y0 + rt : a->h, cols = (y1 - y0) * a->w;
      const size_t off = i0 * hw + (size_t) y0 * a->w;
      FN (im2col) (col, cols, a->dout + i0 * hw, nhw, a->cout, a->h, a->w, 1, y0, y1, a->w);
      GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, a->cout * 9, a->cin, cols, 1, col, cols,
          a->src + off, (int) nhw, y0 ? 1 : beta, part, a->cin);
      if (a->dsrc)
        GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, a->cin, cols, a->cout * 9, 1, a->wf,
            a->cout * 9, col, cols, 1, a->dsrc + off, (int) nhw);
    }
    return;
  }
  for (int i = 0; i < g; i++)
    FN (im2col) (col + i * hw, g * hw, a->dout + (i0 + i) * hw, nhw, a->cout, a->h, a->w, 1, 0,
        a->h, a->w);
  GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, a->cout * 9, a->cin, (int) (g * hw), 1, col,
      (int) (g * hw), a->src + i0 * hw, (int) nhw, beta, part, a->cin);
  if (a->dsrc)
    GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, a->cin, (int) (g * hw), a->cout * 9, 1,
        a->wf, a->cout * 9, col, (int) (g * hw), 1, a->dsrc + i0 * hw, (int) nhw);
}

/* A convolution job: thread t of nt takes images [n t / nt, n (t+1) / nt). */
typedef struct {
  const FN (conv_args) *a;
  T *col, *dwt;
  unsigned char *todo;
  int done[MAX_THREADS];
  T *part[MAX_THREADS];
  size_t nw;
  int nt;
} FN (conv_job);

static void
FN (conv_fwd_job) (void *v, int t, int nt)
{
  FN (conv_job) *j = v;
  const FN (conv_args) *a = j->a;
  const size_t q = (size_t) a->ho * a->wo;
  const int i0 = a->n * t / nt, i1 = a->n * (t + 1) / nt, g = FN (conv_run) (a, i1 - i0);
  T *c = (t == 0 && g == 1) || a->direct ? j->col
      : scratch (0, (size_t) a->cin * 9 * g * q * sizeof (T));
  if (c)
    for (int i = i0; i < i1; i += g) {
      const int m = i1 - i < g ? i1 - i : g;
      FN (conv_fwd_run) (a, i, m, c);
      memset (j->todo + i, 0, (size_t) m);
    }
}

void
FN (irc_tr_conv3x3_fwd) (T *dst, const T *src, int n, int cin, int h, int w, const T *wt,
    const T *bias, int cout, int stride, T *col)
{
  const FN (conv_args) a = {src, NULL, wt, NULL, bias, dst, NULL, n, cin, h, w, cout, stride,
    irc_tr_conv_out (h, stride), irc_tr_conv_out (w, stride), 0,
    stride == 1 && cout <= CONV_DIRECT_COUT && w >= 2};
  const size_t q = (size_t) a.ho * a.wo;
  unsigned char todo[n];
  memset (todo, 1, (size_t) n);
  FN (conv_job) j = {.a = &a, .col = col, .todo = todo};
  par_run (gemm_threads (n, (double) cout * cin * 9 * q * n), FN (conv_fwd_job), &j);
  for (int i = 0; i < n; i++)
    if (todo[i])
      FN (conv_fwd_run) (&a, i, 1, col);
}

static void
FN (conv_bwd_job) (void *v, int t, int nt)
{
  FN (conv_job) *j = v;
  const FN (conv_args) *a = j->a;
  const size_t q = (size_t) a->ho * a->wo;
  const int i0 = a->n * t / nt, i1 = a->n * (t + 1) / nt, g = FN (conv_run) (a, i1 - i0);
  const int rows = (a->transposed ? a->cout : a->cin) * 9;
  T *c = t == 0 && g == 1 ? j->col : scratch (0, (size_t) rows * g * q * sizeof (T));
  /* thread 0 of the direct form accumulates into dwt itself */
  T *pt = !a->transposed && t == 0 ? j->dwt : scratch (1, j->nw * sizeof (T));
  j->done[t] = c && pt && i1 > i0;
  j->part[t] = pt;
  if (j->done[t])
    for (int i = i0; i < i1; i += g) {
      const int m = i1 - i < g ? i1 - i : g, beta = i > i0 || pt == j->dwt;
      if (a->transposed)
        FN (conv_bwd_run_t) (a, i, m, pt, beta, c);
      else
        FN (conv_bwd_run) (a, i, m, pt, beta, c);
      memset (j->todo + i, 0, (size_t) m);
    }
}

/* adds the partial weight gradients into dwt, split over the weights */
static void
FN (conv_reduce_job) (void *v, int t, int nt)
{
  FN (conv_job) *j = v;
  const FN (conv_args) *a = j->a;
  const size_t lo = j->nw * t / nt, hi = j->nw * (t + 1) / nt;
  const size_t cin = (size_t) a->cin;
  for (size_t i = lo; i < hi; i++) {
    T acc = 0;
    if (a->transposed) {
      /* dW[co][ci][k] from part[(co*9 + 8-k) * cin + ci] */
      const size_t co = i / (cin * 9), ci = i / 9 % cin, k = i % 9;
      for (int u = 0; u < j->nt; u++)
        if (j->done[u])
          acc += j->part[u][(co * 9 + 8 - k) * cin + ci];
    } else
      for (int u = 1; u < j->nt; u++)
        if (j->done[u])
          acc += j->part[u][i];
    j->dwt[i] += acc;
  }
}

void
FN (irc_tr_conv3x3_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, int n,
    int cin, int h, int w, const T *wt, int cout, int stride, T *col)
{
  FN (conv_args) a = {src, dout, wt, NULL, NULL, NULL, dsrc, n, cin, h, w, cout, stride,
    irc_tr_conv_out (h, stride), irc_tr_conv_out (w, stride), stride == 1 && cout <= cin, 0};
  const size_t q = (size_t) a.ho * a.wo, nw = (size_t) cout * cin * 9;
  /* the transposed form needs the flipped weights and a partial dW per thread */
  T *wf = a.transposed ? scratch (2, nw * sizeof (T)) : NULL;
  if (a.transposed && !wf)
    a.transposed = 0;
  if (wf)
    for (int ci = 0; ci < cin; ci++)
      for (int co = 0; co < cout; co++)
        for (int k = 0; k < 9; k++)
          wf[((size_t) ci * cout + co) * 9 + k] = wt[((size_t) co * cin + ci) * 9 + 8 - k];
  a.wf = wf;
  unsigned char todo[n];
  memset (todo, 1, (size_t) n);
  FN (conv_job) j = {.a = &a, .col = col, .dwt = dwt, .todo = todo, .nw = nw};
  j.nt = gemm_threads (n, (double) cout * cin * 9 * q * n);
  /* par_run may run fewer threads than asked: the unused ones did nothing */
  for (int t = 0; t < j.nt; t++)
    j.done[t] = 0;
  par_run (j.nt, FN (conv_bwd_job), &j);
  if (a.transposed || j.nt > 1)
    par_run (nw >= PAR_MIN ? j.nt : 1, FN (conv_reduce_job), &j);
  a.transposed = 0;
  for (int i = 0; i < n; i++)
    if (todo[i])
      FN (conv_bwd_run) (&a, i, 1, dwt, 1, col);
  if (dbias)
    for (int o = 0; o < cout; o++) {
      double s = 0;
#pragma omp simd reduction (+ : s)
      for (size_t i = 0; i < n * q; i++)
        s += dout[o * n * q + i];
      dbias[o] += (T) s;
    }
}

/* 1x1 convolutions split the columns between threads: columns [j0, j1) of
 * thread t of nt, 16-aligned. */
static void
FN (col_range) (size_t p, int t, int nt, size_t *j0, size_t *j1)
{
  const size_t blocks = (p + 15) / 16;
  *j0 = blocks * t / nt * 16, *j1 = blocks * (t + 1) / nt * 16;
  if (*j1 > p)
    *j1 = p;
  if (*j0 > p)
    *j0 = p;
}

typedef struct {
  T *dst, *dsrc, *dwt, *dbias;
  const T *src, *dout, *wt, *bias;
  size_t p, nw;
  int cin, ldw, cout, acc, nt;
  T *part[MAX_THREADS];
} FN (c1_job);

static void
FN (c1_fwd_job) (void *v, int t, int nt)
{
  const FN (c1_job) *j = v;
  const size_t p = j->p;
  size_t j0, j1;
  FN (col_range) (p, t, nt, &j0, &j1);
  if (j1 <= j0)
    return;
  /* a fresh output starts as the bias rows: one pass instead of OpenBLAS
   * zeroing it and a second pass adding the bias */
  if (j->bias && !j->acc)
    for (int o = 0; o < j->cout; o++)
      for (size_t i = j0; i < j1; i++)
        j->dst[o * p + i] = j->bias[o];
  GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->cout, (int) (j1 - j0), j->cin, 1, j->wt,
      j->ldw, j->src + j0, (int) p, j->acc || j->bias ? 1 : 0, j->dst + j0, (int) p);
  if (j->bias && j->acc)
    for (int o = 0; o < j->cout; o++)
      for (size_t i = j0; i < j1; i++)
        j->dst[o * p + i] += j->bias[o];
}

void
FN (irc_tr_conv1x1_fwd) (T *dst, const T *src, size_t p, int cin, const T *wt, int ldw,
    const T *bias, int cout, int acc)
{
  FN (c1_job) j = {.dst = dst, .src = src, .wt = wt, .bias = bias, .p = p, .cin = cin,
    .ldw = ldw, .cout = cout, .acc = acc};
  par_run (gemm_threads ((int) (p / 1024 < MAX_THREADS ? p / 1024 : MAX_THREADS),
      (double) cout * cin * p), FN (c1_fwd_job), &j);
}

/* Thread t > 0 accumulates dW of its columns into part[t], thread 0 into dwt. */
static void
FN (c1_bwd_job) (void *v, int t, int nt)
{
  const FN (c1_job) *j = v;
  const size_t p = j->p;
  size_t j0, j1;
  FN (col_range) (p, t, nt, &j0, &j1);
  if (j1 <= j0)
    return;
  GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, j->cout, j->cin, (int) (j1 - j0), 1,
      j->dout + j0, (int) p, j->src + j0, (int) p, 1, t ? j->part[t] : j->dwt,
      t ? j->cin : j->ldw);
  if (j->dsrc)
    GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, j->cin, (int) (j1 - j0), j->cout, 1, j->wt,
        j->ldw, j->dout + j0, (int) p, 1, j->dsrc + j0, (int) p);
}

/* Adds the partials into dwt (split over the weights) and sums dbias (split
 * over the channels). */
static void
FN (c1_reduce_job) (void *v, int t, int nt)
{
  const FN (c1_job) *j = v;
  if (j->nt > 1) {
    const size_t lo = j->nw * t / nt, hi = j->nw * (t + 1) / nt;
    for (size_t i = lo; i < hi; i++) {
      T acc = 0;
      for (int u = 1; u < j->nt; u++)
        acc += j->part[u][i];
      j->dwt[i / j->cin * j->ldw + i % j->cin] += acc;
    }
  }
  if (j->dbias)
    for (int o = j->cout * t / nt; o < j->cout * (t + 1) / nt; o++) {
      double s = 0;
      const T *d = j->dout + o * j->p;
#pragma omp simd reduction (+ : s)
      for (size_t i = 0; i < j->p; i++)
        s += d[i];
      j->dbias[o] += (T) s;
    }
}

void
FN (irc_tr_conv1x1_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, size_t p,
    int cin, const T *wt, int ldw, int cout)
{
  FN (c1_job) j = {.dsrc = dsrc, .dwt = dwt, .dbias = dbias, .src = src, .dout = dout,
    .wt = wt, .p = p, .nw = (size_t) cout * cin, .cin = cin, .ldw = ldw, .cout = cout};
  j.nt = gemm_threads ((int) (p / 1024 < MAX_THREADS ? p / 1024 : MAX_THREADS),
      (double) cout * cin * p);
  for (int t = 1; t < j.nt; t++)
    if (!(j.part[t] = t == 1 ? scratch (1, (size_t) (j.nt - 1) * j.nw * sizeof (T))
                             : j.part[t - 1] + j.nw))
      j.nt = 1;
  /* partials of threads that par_run did not start stay zero */
  for (int t = 1; t < j.nt; t++)
    memset (j.part[t], 0, j.nw * sizeof (T));
  par_run (j.nt, FN (c1_bwd_job), &j);
  if (j.nt > 1 || dbias)
    par_run ((size_t) cout * p >= PAR_MIN ? (j.nt > 1 ? j.nt : pool_size ()) : 1,
        FN (c1_reduce_job), &j);
}

/* One output row of a depthwise 3x3 correlation: d[x] (+)= sum over the
 * rows present (NULL: outside the image) of k[r][0] s[x-1] + k[r][1] s[x]
 * + k[r][2] s[x+1], added term by term in the order ky, kx (so the forward
 * rounds as the plain loop), with the borders split off so the interior
 * vectorises. */
static void
FN (dw_row) (T *restrict d, const T *const rows[3], const T *k, int w)
{
  for (int r = 0; r < 3; r++) {
    const T *restrict s = rows[r];
    if (!s)
      continue;
    const T k0 = k[3 * r], k1 = k[3 * r + 1], k2 = k[3 * r + 2];
    if (w == 1) {
      d[0] = d[0] + k1 * s[0];
      continue;
    }
    d[0] = d[0] + k1 * s[0] + k2 * s[1];
    for (int x = 1; x < w - 1; x++)
      d[x] = d[x] + k0 * s[x - 1] + k1 * s[x] + k2 * s[x + 1];
    d[w - 1] = d[w - 1] + k0 * s[w - 2] + k1 * s[w - 1];
  }
}

/* sum a[x] b[x] over x < n, in 8 lanes of T (vectorisable), returned in double */
static double
FN (dot) (const T *restrict a, const T *restrict b, int n)
{
  T acc[8] = {0};
  int x = 0;
  for (; x + 8 <= n; x += 8)
    for (int l = 0; l < 8; l++)
      acc[l] += a[x + l] * b[x + l];
  double s = 0;
  for (; x < n; x++)
    s += (double) a[x] * b[x];
  for (int l = 0; l < 8; l++)
    s += acc[l];
  return s;
}

/* planes [lo, hi): d0 dst, s0 src, s1 wt, s2 bias, nb images */
static void
FN (dw_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const int h = a->h, w = a->w;
  const size_t hw = (size_t) h * w;
  for (size_t pl = lo; pl < hi; pl++) {
    const T *k = a->s1 + pl / a->nb * 9, *s = a->s0 + pl * hw;
    const T b = a->s2[pl / a->nb];
    T *d = a->d0 + pl * hw;
    for (int y = 0; y < h; y++) {
      const T *rows[3] = {y > 0 ? s + (size_t) (y - 1) * w : NULL, s + (size_t) y * w,
        y < h - 1 ? s + (size_t) (y + 1) * w : NULL};
      T *dr = d + (size_t) y * w;
      for (int x = 0; x < w; x++)
        dr[x] = b;
      FN (dw_row) (dr, rows, k, w);
    }
  }
}

void
FN (irc_tr_dwconv3x3_fwd) (T *dst, const T *src, int c, int n, int h, int w, const T *wt,
    const T *bias)
{
  const FN (pa) a = {.body = FN (dw_fwd_body), .count = (size_t) c * n, .d0 = dst, .s0 = src,
    .s1 = wt, .s2 = bias, .nb = n, .h = h, .w = w};
  FN (par_for) (&a, (size_t) c * n * h * w);
}

/* channels [lo, hi): d0 dsrc, d1 dwt, d2 dbias, s0 dout, s1 src, s2 wt */
static void
FN (dw_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const int n = a->nb, h = a->h, w = a->w;
  const size_t hw = (size_t) h * w;
  for (size_t ch = lo; ch < hi; ch++) {
    double gk[9] = {0}, gb = 0;
    const T *k = a->s2 + ch * 9;
    /* dsrc is the correlation of dout with the kernel turned 180 degrees */
    T kf[9];
    for (int j = 0; j < 9; j++)
      kf[j] = k[8 - j];
    for (int i = 0; i < n; i++) {
      const size_t pl = ch * n + i;
      const T *s = a->s1 + pl * hw, *g = a->s0 + pl * hw;
      T *ds = a->d0 + pl * hw;
      for (int y = 0; y < h; y++) {
        const T *gr = g + (size_t) y * w;
        const T *rows[3] = {y > 0 ? g + (size_t) (y - 1) * w : NULL, gr,
          y < h - 1 ? g + (size_t) (y + 1) * w : NULL};
        FN (dw_row) (ds + (size_t) y * w, rows, kf, w);
        /* dk[ky][kx] += sum_x g[y][x] s[y+ky-1][x+kx-1] */
        double rs = 0;
#pragma omp simd reduction (+ : rs)
        for (int x = 0; x < w; x++)
          rs += gr[x];
        gb += rs;
        for (int ky = 0; ky < 3; ky++) {
          const int iy = y + ky - 1;
          if (iy < 0 || iy >= h)
            continue;
          const T *sr = s + (size_t) iy * w;
          if (w > 1) {
            gk[ky * 3 + 0] += FN (dot) (gr + 1, sr, w - 1);
            gk[ky * 3 + 2] += FN (dot) (gr, sr + 1, w - 1);
          }
          gk[ky * 3 + 1] += FN (dot) (gr, sr, w);
        }
      }
    }
    for (int j = 0; j < 9; j++)
      a->d1[ch * 9 + j] += (T) gk[j];
    a->d2[ch] += (T) gb;
  }
}

void
FN (irc_tr_dwconv3x3_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, int c,
    int n, int h, int w, const T *wt)
{
  const FN (pa) a = {.body = FN (dw_bwd_body), .count = (size_t) c, .d0 = dsrc, .d1 = dwt,
    .d2 = dbias, .s0 = dout, .s1 = src, .s2 = wt, .nb = n, .h = h, .w = w};
  FN (par_for) (&a, (size_t) c * n * h * w);
}

/* ------------------------------------------------------------ elementwise */

static void
FN (leaky_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  T *x = a->d0;
  for (size_t i = lo; i < hi; i++) {
    const T v = x[i], m = v * a->x;   /* both computed: a select vectorises */
    x[i] = v < 0 ? m : v;
  }
}

void
FN (irc_tr_leaky_fwd) (T *x, size_t count, T slope)
{
  const FN (pa) a = {.body = FN (leaky_fwd_body), .count = count, .d0 = x, .x = slope};
  FN (par_for) (&a, count);
}

static void
FN (leaky_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  T *dy = a->d0;
  const T *y = a->s0;
  for (size_t i = lo; i < hi; i++) {
    const T g = dy[i], m = g * a->x;
    dy[i] = y[i] > 0 ? g : m;
  }
}

void
FN (irc_tr_leaky_bwd) (T *dy, const T *y, size_t count, T slope)
{
  const FN (pa) a = {.body = FN (leaky_bwd_body), .count = count, .d0 = dy, .s0 = y, .x = slope};
  FN (par_for) (&a, count);
}

/* Columns are processed in blocks so that each channel row is read contiguously. */
#define LN_BLOCK 256

/* column blocks [lo, hi): d0 dst, d1 mean, d2 rstd, s0 src, s1 wt, s2 bias,
 * c channels, n = p columns, x = eps */
static void
FN (ln_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const int c = a->c;
  const size_t p = a->n;
  const T *src = a->s0, *wt = a->s1, *bias = a->s2;
  T *dst = a->d0, *mean = a->d1, *rstd = a->d2;
  for (size_t b0 = lo * LN_BLOCK; b0 < p && b0 < hi * LN_BLOCK; b0 += LN_BLOCK) {
    const size_t m = p - b0 < LN_BLOCK ? p - b0 : LN_BLOCK;
    double mu[LN_BLOCK] = {0}, var[LN_BLOCK] = {0};
    for (int k = 0; k < c; k++)
      for (size_t j = 0; j < m; j++)
        mu[j] += src[k * p + b0 + j];
    for (size_t j = 0; j < m; j++)
      mu[j] /= c;
    for (int k = 0; k < c; k++)
      for (size_t j = 0; j < m; j++) {
        const double d = src[k * p + b0 + j] - mu[j];
        var[j] += d * d;
      }
    for (size_t j = 0; j < m; j++) {
      mean[b0 + j] = (T) mu[j];
      rstd[b0 + j] = (T) (1.0 / sqrt (var[j] / c + a->x));
    }
    for (int k = 0; k < c; k++)
      for (size_t j = 0; j < m; j++)
        dst[k * p + b0 + j] =
            wt[k] * ((src[k * p + b0 + j] - mean[b0 + j]) * rstd[b0 + j]) + bias[k];
  }
}

void
FN (irc_tr_layernorm_fwd) (T *dst, T *mean, T *rstd, const T *src, int c, size_t p,
    const T *wt, const T *bias, T eps)
{
  const FN (pa) a = {.body = FN (ln_fwd_body), .count = (p + LN_BLOCK - 1) / LN_BLOCK,
    .d0 = dst, .d1 = mean, .d2 = rstd, .s0 = src, .s1 = wt, .s2 = bias, .n = p, .c = c,
    .x = eps};
  FN (par_for) (&a, (size_t) c * p);
}

typedef struct {
  T *dsrc;
  const T *dout, *src, *mean, *rstd, *wt;
  int c;
  size_t p;
  double *red;             /* per thread: c weight sums, c bias sums */
} FN (ln_bwd_job);

/* One pass over the column blocks of thread t: the per-column sums of the
 * input gradient and, in the thread's partials, the per-channel weight and
 * bias gradients. */
static void
FN (ln_bwd_run) (void *v, int t, int nt)
{
  const FN (ln_bwd_job) *J = v;
  const int c = J->c;
  const size_t p = J->p, blocks = (p + LN_BLOCK - 1) / LN_BLOCK;
  const T *dout = J->dout, *src = J->src, *wt = J->wt;
  double *sw = J->red + (size_t) 2 * c * t, *sb = sw + c;
  for (size_t bl = blocks * t / nt; bl < blocks * (t + 1) / nt; bl++) {
    const size_t b0 = bl * LN_BLOCK, m = p - b0 < LN_BLOCK ? p - b0 : LN_BLOCK;
    const T *mu = J->mean + b0, *rs = J->rstd + b0;
    double sg[LN_BLOCK] = {0}, sgx[LN_BLOCK] = {0};
    for (int k = 0; k < c; k++) {
      const T *dk = dout + k * p + b0, *sk = src + k * p + b0;
      double a = 0, b = 0;
#pragma omp simd reduction (+ : a, b)
      for (size_t j = 0; j < m; j++) {
        const double g = (double) dk[j] * wt[k];
        sg[j] += g;
        sgx[j] += g * ((sk[j] - mu[j]) * (double) rs[j]);
        a += (double) dk[j] * ((sk[j] - mu[j]) * rs[j]);
        b += dk[j];
      }
      sw[k] += a;
      sb[k] += b;
    }
    for (size_t j = 0; j < m; j++) {
      sg[j] /= c;
      sgx[j] /= c;
    }
    for (int k = 0; k < c; k++) {
      const T *dk = dout + k * p + b0, *sk = src + k * p + b0;
      T *dsk = J->dsrc + k * p + b0;
      for (size_t j = 0; j < m; j++) {
        const double xh = (sk[j] - mu[j]) * (double) rs[j];
        dsk[j] += (T) (rs[j] * ((double) dk[j] * wt[k] - sg[j] - xh * sgx[j]));
      }
    }
  }
}

void
FN (irc_tr_layernorm_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src,
    const T *mean, const T *rstd, int c, size_t p, const T *wt)
{
  const int nt = par_threads ((size_t) c * p);
  double red[2 * (size_t) nt * c];
  memset (red, 0, sizeof red);
  FN (ln_bwd_job) J = {dsrc, dout, src, mean, rstd, wt, c, p, red};
  par_run (nt, FN (ln_bwd_run), &J);
  /* threads par_run did not start left their partials zero */
  for (int k = 0; k < c; k++) {
    double a = 0, b = 0;
    for (int t = 0; t < nt; t++)
      a += red[(size_t) 2 * c * t + k], b += red[(size_t) 2 * c * t + c + k];
    dwt[k] += (T) a;
    dbias[k] += (T) b;
  }
}

static void
FN (gate_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t n = a->n;
  for (size_t i = lo; i < hi; i++)
    a->d0[i] = a->s0[i] * a->s0[n + i];
}

void
FN (irc_tr_gate_fwd) (T *dst, const T *src, int c, size_t p)
{
  const size_t n = (size_t) c * p;
  const FN (pa) a = {.body = FN (gate_fwd_body), .count = n, .d0 = dst, .s0 = src, .n = n};
  FN (par_for) (&a, n);
}

static void
FN (gate_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t n = a->n;
  T *dsrc = a->d0;
  const T *dout = a->s0, *src = a->s1;
  for (size_t i = lo; i < hi; i++) {
    dsrc[i] += dout[i] * src[n + i];
    dsrc[n + i] += dout[i] * src[i];
  }
}

void
FN (irc_tr_gate_bwd) (T *dsrc, const T *dout, const T *src, int c, size_t p)
{
  const size_t n = (size_t) c * p;
  const FN (pa) a = {.body = FN (gate_bwd_body), .count = n, .d0 = dsrc, .s0 = dout,
    .s1 = src, .n = n};
  FN (par_for) (&a, n);
}

static void
FN (plane_mean_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t hw = a->hw;
  for (size_t pl = lo; pl < hi; pl++) {
    const T *src = a->s0 + pl * hw;
    double s = 0;
#pragma omp simd reduction (+ : s)
    for (size_t j = 0; j < hw; j++)
      s += src[j];
    a->d0[pl] = (T) (s / (double) hw);
  }
}

void
FN (irc_tr_plane_mean_fwd) (T *dst, const T *src, size_t planes, size_t hw)
{
  const FN (pa) a = {.body = FN (plane_mean_fwd_body), .count = planes, .d0 = dst, .s0 = src,
    .hw = hw};
  FN (par_for) (&a, planes * hw);
}

static void
FN (plane_mean_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t hw = a->hw;
  for (size_t pl = lo; pl < hi; pl++) {
    const T g = (T) (a->s0[pl] / (double) hw);
    T *d = a->d0 + pl * hw;
    for (size_t j = 0; j < hw; j++)
      d[j] += g;
  }
}

void
FN (irc_tr_plane_mean_bwd) (T *dsrc, const T *dout, size_t planes, size_t hw)
{
  const FN (pa) a = {.body = FN (plane_mean_bwd_body), .count = planes, .d0 = dsrc,
    .s0 = dout, .hw = hw};
  FN (par_for) (&a, planes * hw);
}

static void
FN (plane_scale_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t hw = a->hw;
  for (size_t pl = lo; pl < hi; pl++) {
    const T f = a->s1[pl], *src = a->s0 + pl * hw;
    T *d = a->d0 + pl * hw;
    for (size_t j = 0; j < hw; j++)
      d[j] = src[j] * f;
  }
}

void
FN (irc_tr_plane_scale_fwd) (T *dst, const T *src, const T *s, size_t planes, size_t hw)
{
  const FN (pa) a = {.body = FN (plane_scale_fwd_body), .count = planes, .d0 = dst, .s0 = src,
    .s1 = s, .hw = hw};
  FN (par_for) (&a, planes * hw);
}

/* d0 dsrc, d1 ds, s0 dout, s1 src, s2 s */
static void
FN (plane_scale_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t hw = a->hw;
  for (size_t pl = lo; pl < hi; pl++) {
    const T *g = a->s0 + pl * hw, *x = a->s1 + pl * hw, f = a->s2[pl];
    T *d = a->d0 + pl * hw;
    double acc = 0;
#pragma omp simd reduction (+ : acc)
    for (size_t j = 0; j < hw; j++) {
      acc += (double) g[j] * x[j];
      d[j] += g[j] * f;
    }
    a->d1[pl] += (T) acc;
  }
}

void
FN (irc_tr_plane_scale_bwd) (T *dsrc, T *ds, const T *dout, const T *src, const T *s,
    size_t planes, size_t hw)
{
  const FN (pa) a = {.body = FN (plane_scale_bwd_body), .count = planes, .d0 = dsrc, .d1 = ds,
    .s0 = dout, .s1 = src, .s2 = s, .hw = hw};
  FN (par_for) (&a, planes * hw);
}

/* channels [lo, hi): d0 dst, s0 a, s1 b, s2 s, n = p */
static void
FN (scale_add_fwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t p = a->n;
  for (size_t k = lo; k < hi; k++) {
    const T *x = a->s0 + k * p, *y = a->s1 + k * p, f = a->s2[k];
    T *d = a->d0 + k * p;
    for (size_t j = 0; j < p; j++)
      d[j] = x[j] + y[j] * f;
  }
}

void
FN (irc_tr_scale_add_fwd) (T *dst, const T *a, const T *b, const T *s, int c, size_t p)
{
  const FN (pa) A = {.body = FN (scale_add_fwd_body), .count = (size_t) c, .d0 = dst, .s0 = a,
    .s1 = b, .s2 = s, .n = p};
  FN (par_for) (&A, (size_t) c * p);
}

/* channels [lo, hi): d0 da (may be NULL), d1 db, d2 ds, s0 dout, s1 b, s2 s, n = p */
static void
FN (scale_add_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const size_t p = a->n;
  for (size_t k = lo; k < hi; k++) {
    const T *g = a->s0 + k * p, *bk = a->s1 + k * p, f = a->s2[k];
    T *dbk = a->d1 + k * p;
    double acc = 0;
#pragma omp simd reduction (+ : acc)
    for (size_t j = 0; j < p; j++) {
      acc += (double) g[j] * bk[j];
      dbk[j] += g[j] * f;
    }
    if (a->d0) {
      T *dak = a->d0 + k * p;
      for (size_t j = 0; j < p; j++)
        dak[j] += g[j];
    }
    a->d2[k] += (T) acc;
  }
}

void
FN (irc_tr_scale_add_bwd) (T *da, T *db, T *ds, const T *dout, const T *b, const T *s, int c,
    size_t p)
{
  const FN (pa) A = {.body = FN (scale_add_bwd_body), .count = (size_t) c, .d0 = da, .d1 = db,
    .d2 = ds, .s0 = dout, .s1 = b, .s2 = s, .n = p};
  FN (par_for) (&A, (size_t) c * p);
}

/* channels [lo, hi) of c: d0 dst, s0 src, nb images, h x w input, acc */
static void
FN (unshuffle_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const int n = a->nb, h = a->h, w = a->w, ho = h / 2, wo = w / 2, acc = a->acc;
  for (size_t k = lo; k < hi; k++)
    for (int i = 0; i < n; i++) {
      const T *s = a->s0 + (k * n + i) * h * w;
      for (int q = 0; q < 4; q++) {
        T *d = a->d0 + ((k * 4 + q) * n + i) * ho * wo;
        const int di = q >> 1, dj = q & 1;
        for (int y = 0; y < ho; y++)
          for (int x = 0; x < wo; x++) {
            const T v = s[(size_t) (2 * y + di) * w + 2 * x + dj];
            d[y * wo + x] = acc ? d[y * wo + x] + v : v;
          }
      }
    }
}

void
FN (irc_tr_unshuffle) (T *dst, const T *src, int c, int n, int h, int w, int acc)
{
  const FN (pa) a = {.body = FN (unshuffle_body), .count = (size_t) c, .d0 = dst, .s0 = src,
    .nb = n, .h = h, .w = w, .acc = acc};
  FN (par_for) (&a, (size_t) c * n * h * w);
}

/* src: 4c planes per image of h x w; dst: c planes of 2h x 2w. */
static void
FN (shuffle_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const int n = a->nb, h = a->h, w = a->w, ho = 2 * h, wo = 2 * w, acc = a->acc;
  for (size_t k = lo; k < hi; k++)
    for (int i = 0; i < n; i++) {
      T *d = a->d0 + (k * n + i) * ho * wo;
      for (int q = 0; q < 4; q++) {
        const T *s = a->s0 + ((k * 4 + q) * n + i) * h * w;
        const int di = q >> 1, dj = q & 1;
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++) {
            T *o = &d[(size_t) (2 * y + di) * wo + 2 * x + dj];
            *o = acc ? *o + s[y * w + x] : s[y * w + x];
          }
      }
    }
}

void
FN (irc_tr_shuffle) (T *dst, const T *src, int c, int n, int h, int w, int acc)
{
  const FN (pa) a = {.body = FN (shuffle_body), .count = (size_t) c, .d0 = dst, .s0 = src,
    .nb = n, .h = h, .w = w, .acc = acc};
  FN (par_for) (&a, (size_t) c * n * h * w);
}

/* ------------------------------------------------------------ vectors */

/* F.linear as PyTorch's addmm computes it through OpenBLAS's sgemm (Haswell
 * and Zen kernels) at batch 2, the golden step's: one fused multiply-add
 * chain per output element in the order of the summed index, then the bias.
 * The encoder's BatchNorm makes that last bit matter (torch_cpu.h). Larger
 * batches OpenBLAS blocks differently; the chain is as accurate. */
IRC_TR_FMA_CLONES void
FN (irc_tr_linear_fwd) (T *dst, const T *src, int n, int in, const T *wt, const T *bias,
    int out)
{
  for (int i = 0; i < n; i++)
    for (int o = 0; o < out; o++) {
      T acc = 0;
      for (int j = 0; j < in; j++)
        acc = FMA (src[i * in + j], wt[o * in + j], acc);
      dst[i * out + o] = bias ? acc + bias[o] : acc;
    }
}

/* addmm's backward: dW^T = x^T dy and dx = dy W (sgemm again), the bias
 * gradient a column sum in T */
IRC_TR_FMA_CLONES void
FN (irc_tr_linear_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, int n,
    int in, const T *wt, int out)
{
  T acc[in];
  for (int o = 0; o < out; o++) {
    for (int j = 0; j < in; j++)
      acc[j] = 0;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < in; j++)
        acc[j] = FMA (src[i * in + j], dout[i * out + o], acc[j]);
    for (int j = 0; j < in; j++)
      dwt[o * in + j] += acc[j];
  }
  if (dbias)
    for (int o = 0; o < out; o++) {
      T s = 0;
      for (int i = 0; i < n; i++)
        s += dout[i * out + o];
      dbias[o] += s;
    }
  if (dsrc)
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < in; j++)
        acc[j] = 0;
      for (int o = 0; o < out; o++)
        for (int j = 0; j < in; j++)
          acc[j] = FMA (dout[i * out + o], wt[o * in + j], acc[j]);
      for (int j = 0; j < in; j++)
        dsrc[i * in + j] += acc[j];
    }
}

/* With a batch of two nearly identical images, x - mean is a difference of
 * nearly equal numbers and BatchNorm multiplies it by 1/sqrt(eps) ~ 300: the
 * result depends on where PyTorch rounds. So this is PyTorch 1.13's CPU kernel
 * for (N, C) input (batch_norm_kernel.cpp, the channels-last path taken when
 * H*W is 1, one thread) operation for operation: sums in T, statistics
 * rounded to T, and the multiply-adds its AVX2 build contracts into FMAs
 * (checked bit for bit against torch.nn.functional.batch_norm). */
void
FN (irc_tr_batchnorm_fwd) (T *dst, T *mean, T *invstd, const T *src, int n, int c,
    const T *wt, const T *bias, T *run_mean, T *run_var, double momentum, double eps)
{
  const T mom = (T) momentum;
  for (int k = 0; k < c; k++) {
    T sum = 0;
    for (int i = 0; i < n; i++)
      sum += src[i * c + k];
    const T mu = (T) ((double) sum / n);
    T var_sum = 0;
    for (int i = 0; i < n; i++) {
      const T d = src[i * c + k] - mu;
      var_sum = FMA (d, d, var_sum);
    }
    mean[k] = mu;
    invstd[k] = (T) (1.0 / sqrt ((double) (T) (var_sum / (T) n) + eps));
    if (run_mean)
      run_mean[k] = mom * mu + (1 - mom) * run_mean[k];
    if (run_var) {
      const double unbiased = (T) (var_sum / (T) (n - 1));
      run_var[k] = (T) (mom * unbiased + (T) ((1 - mom) * run_var[k]));
    }
    const T alpha = invstd[k] * wt[k];
    const T beta = FMA (-mu, alpha, bias[k]);
    for (int i = 0; i < n; i++)
      dst[i * c + k] = FMA (src[i * c + k], alpha, beta);
  }
}

void
FN (irc_tr_batchnorm_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src,
    const T *mean, const T *invstd, int n, int c, const T *wt)
{
  for (int k = 0; k < c; k++) {
    T sum = 0, dotp = 0;
    for (int i = 0; i < n; i++) {
      sum += dout[i * c + k];
      dotp = FMA (src[i * c + k] - mean[k], dout[i * c + k], dotp);
    }
    const T kk = dotp * invstd[k] * invstd[k] / (T) n;
    const T grad_mean = sum / (T) n;
    for (int i = 0; i < n; i++) {
      const T r = FMA (-(src[i * c + k] - mean[k]), kk, dout[i * c + k] - grad_mean);
      dsrc[i * c + k] += r * invstd[k] * wt[k];
    }
    dwt[k] += dotp * invstd[k];
    dbias[k] += sum;
  }
}

/* GELU and GELU_GRAD are PyTorch's CPU float GELU for T = float, the exact
 * function for T = double (ops.c) */
void
FN (irc_tr_gelu_fwd) (T *dst, const T *src, size_t count)
{
  for (size_t i = 0; i < count; i++)
    dst[i] = GELU (src[i]);
}

void
FN (irc_tr_gelu_bwd) (T *dsrc, const T *dout, const T *src, size_t count)
{
  for (size_t i = 0; i < count; i++)
    dsrc[i] += GELU_GRAD (src[i]) * dout[i];
}

void
FN (irc_tr_avgpool_fwd) (T *dst, const T *src, int c, int n, size_t hw)
{
  /* summed in T in order, as PyTorch's mean over a few pixels (the golden's
   * 2x2 maps): these feed the ill-conditioned BatchNorm */
  for (int k = 0; k < c; k++)
    for (int i = 0; i < n; i++) {
      T s = 0;
      for (size_t j = 0; j < hw; j++)
        s += src[((size_t) k * n + i) * hw + j];
      dst[i * c + k] = s / (T) hw;
    }
}

/* channels [lo, hi): d0 dsrc, s0 dout, c channels, nb images, hw */
static void
FN (avgpool_bwd_body) (const FN (pa) *a, size_t lo, size_t hi)
{
  const int c = a->c, n = a->nb;
  const size_t hw = a->hw;
  for (size_t k = lo; k < hi; k++)
    for (int i = 0; i < n; i++) {
      const T g = (T) (a->s0[i * c + k] / (double) hw);
      T *d = a->d0 + (k * n + i) * hw;
      for (size_t j = 0; j < hw; j++)
        d[j] += g;
    }
}

void
FN (irc_tr_avgpool_bwd) (T *dsrc, const T *dout, int c, int n, size_t hw)
{
  const FN (pa) a = {.body = FN (avgpool_bwd_body), .count = (size_t) c, .d0 = dsrc,
    .s0 = dout, .c = c, .nb = n, .hw = hw};
  FN (par_for) (&a, (size_t) c * n * hw);
}
