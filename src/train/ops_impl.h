/* ops_impl: the body of every training op, included by ops.c once per real
 * type (T = float or double, FN() appends the suffix, GEMM is the BLAS call).
 * Reductions accumulate in double; BatchNorm follows PyTorch's CPU kernel
 * step by step because the golden step is ill-conditioned there. */

/* Below this many elements an op runs on one thread: each parallel region
 * costs a fork and a barrier, and a barrier waits for the slowest thread,
 * which on a busy machine may be descheduled. */
#define PAR_MIN 32768

/* ------------------------------------------------------------ convolution */

/* col (cin*9 x ho*wo) from one image whose channel planes are @plane apart. */
static void
FN (im2col) (T *col, const T *src, size_t plane, int cin, int h, int w, int stride, int ho,
    int wo)
{
  const size_t q = (size_t) ho * wo;
  for (int ci = 0; ci < cin; ci++) {
    const T *s = src + (size_t) ci * plane;
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        T *d = col + ((size_t) ci * 9 + ky * 3 + kx) * q;
        for (int oy = 0; oy < ho; oy++, d += wo) {
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
FN (col2im) (T *dst, const T *col, size_t plane, int cin, int h, int w, int stride, int ho,
    int wo)
{
  const size_t q = (size_t) ho * wo;
  for (int ci = 0; ci < cin; ci++) {
    T *s = dst + (size_t) ci * plane;
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        const T *d = col + ((size_t) ci * 9 + ky * 3 + kx) * q;
        for (int oy = 0; oy < ho; oy++, d += wo) {
          const int iy = oy * stride + ky - 1;
          if (iy < 0 || iy >= h)
            continue;
          T *row = s + (size_t) iy * w;
          for (int x = 0; x < wo; x++) {
            const int ix = x * stride + kx - 1;
            if (ix >= 0 && ix < w)
              row[ix] += d[x];
          }
        }
      }
  }
}

void
FN (irc_tr_conv3x3_fwd) (T *dst, const T *src, int n, int cin, int h, int w, const T *wt,
    const T *bias, int cout, int stride, T *col)
{
  const int ho = irc_tr_conv_out (h, stride), wo = irc_tr_conv_out (w, stride);
  const size_t q = (size_t) ho * wo, hw = (size_t) h * w;
  for (int i = 0; i < n; i++) {
    FN (im2col) (col, src + i * hw, n * hw, cin, h, w, stride, ho, wo);
    GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, (int) q, cin * 9, 1, wt, cin * 9,
        col, (int) q, 0, dst + i * q, (int) (n * q));
  }
  if (bias)
    for (size_t pl = 0; pl < (size_t) cout * n; pl++)
      for (size_t j = 0; j < q; j++)
        dst[pl * q + j] += bias[pl / n];
}

void
FN (irc_tr_conv3x3_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, int n,
    int cin, int h, int w, const T *wt, int cout, int stride, T *col)
{
  const int ho = irc_tr_conv_out (h, stride), wo = irc_tr_conv_out (w, stride);
  const size_t q = (size_t) ho * wo, hw = (size_t) h * w;
  for (int i = 0; i < n; i++) {
    FN (im2col) (col, src + i * hw, n * hw, cin, h, w, stride, ho, wo);
    GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, cout, cin * 9, (int) q, 1, dout + i * q,
        (int) (n * q), col, (int) q, 1, dwt, cin * 9);
    if (dsrc) {
      GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, cin * 9, (int) q, cout, 1, wt, cin * 9,
          dout + i * q, (int) (n * q), 0, col, (int) q);
      FN (col2im) (dsrc + i * hw, col, n * hw, cin, h, w, stride, ho, wo);
    }
  }
  if (dbias)
    for (int o = 0; o < cout; o++) {
      double s = 0;
      for (size_t j = 0; j < n * q; j++)
        s += dout[o * n * q + j];
      dbias[o] += (T) s;
    }
}

void
FN (irc_tr_conv1x1_fwd) (T *dst, const T *src, size_t p, int cin, const T *wt, int ldw,
    const T *bias, int cout, int acc)
{
  GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, (int) p, cin, 1, wt, ldw, src,
      (int) p, acc ? 1 : 0, dst, (int) p);
  if (bias)
#pragma omp parallel for if ((size_t) cout * p >= PAR_MIN)
    for (int o = 0; o < cout; o++)
      for (size_t j = 0; j < p; j++)
        dst[o * p + j] += bias[o];
}

void
FN (irc_tr_conv1x1_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, size_t p,
    int cin, const T *wt, int ldw, int cout)
{
  GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, cout, cin, (int) p, 1, dout, (int) p, src,
      (int) p, 1, dwt, ldw);
  if (dsrc)
    GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, cin, (int) p, cout, 1, wt, ldw, dout,
        (int) p, 1, dsrc, (int) p);
  if (dbias)
#pragma omp parallel for if ((size_t) cout * p >= PAR_MIN)
    for (int o = 0; o < cout; o++) {
      double s = 0;
      for (size_t j = 0; j < p; j++)
        s += dout[o * p + j];
      dbias[o] += (T) s;
    }
}

void
FN (irc_tr_dwconv3x3_fwd) (T *dst, const T *src, int c, int n, int h, int w, const T *wt,
    const T *bias)
{
  const size_t hw = (size_t) h * w;
#pragma omp parallel for if ((size_t) c * n * h * w >= PAR_MIN)
  for (size_t pl = 0; pl < (size_t) c * n; pl++) {
    const T *k = wt + pl / n * 9, *s = src + pl * hw;
    T *d = dst + pl * hw;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        T acc = bias[pl / n];
        for (int ky = 0; ky < 3; ky++) {
          const int iy = y + ky - 1;
          if (iy < 0 || iy >= h)
            continue;
          for (int kx = 0; kx < 3; kx++) {
            const int ix = x + kx - 1;
            if (ix >= 0 && ix < w)
              acc += k[ky * 3 + kx] * s[iy * w + ix];
          }
        }
        d[y * w + x] = acc;
      }
  }
}

void
FN (irc_tr_dwconv3x3_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, int c,
    int n, int h, int w, const T *wt)
{
  const size_t hw = (size_t) h * w;
#pragma omp parallel for if ((size_t) c * n * h * w >= PAR_MIN)
  for (int ch = 0; ch < c; ch++) {
    double gk[9] = {0}, gb = 0;
    const T *k = wt + ch * 9;
    for (int i = 0; i < n; i++) {
      const size_t pl = (size_t) ch * n + i;
      const T *s = src + pl * hw, *g = dout + pl * hw;
      T *ds = dsrc + pl * hw;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          const T gy = g[y * w + x];
          gb += gy;
          for (int ky = 0; ky < 3; ky++) {
            const int iy = y + ky - 1;
            if (iy < 0 || iy >= h)
              continue;
            for (int kx = 0; kx < 3; kx++) {
              const int ix = x + kx - 1;
              if (ix >= 0 && ix < w) {
                gk[ky * 3 + kx] += (double) gy * s[iy * w + ix];
                ds[iy * w + ix] += k[ky * 3 + kx] * gy;
              }
            }
          }
        }
    }
    for (int j = 0; j < 9; j++)
      dwt[ch * 9 + j] += (T) gk[j];
    dbias[ch] += (T) gb;
  }
}

/* ------------------------------------------------------------ elementwise */

void
FN (irc_tr_leaky_fwd) (T *x, size_t count, T slope)
{
#pragma omp parallel for if (count >= PAR_MIN)
  for (size_t i = 0; i < count; i++)
    if (x[i] < 0)
      x[i] *= slope;
}

void
FN (irc_tr_leaky_bwd) (T *dy, const T *y, size_t count, T slope)
{
#pragma omp parallel for if (count >= PAR_MIN)
  for (size_t i = 0; i < count; i++)
    if (!(y[i] > 0))
      dy[i] *= slope;
}

/* Columns are processed in blocks so that each channel row is read contiguously. */
#define LN_BLOCK 256

void
FN (irc_tr_layernorm_fwd) (T *dst, T *mean, T *rstd, const T *src, int c, size_t p,
    const T *wt, const T *bias, T eps)
{
#pragma omp parallel for if ((size_t) c * p >= PAR_MIN)
  for (size_t b0 = 0; b0 < p; b0 += LN_BLOCK) {
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
      rstd[b0 + j] = (T) (1.0 / sqrt (var[j] / c + eps));
    }
    for (int k = 0; k < c; k++)
      for (size_t j = 0; j < m; j++)
        dst[k * p + b0 + j] =
            wt[k] * ((src[k * p + b0 + j] - mean[b0 + j]) * rstd[b0 + j]) + bias[k];
  }
}

void
FN (irc_tr_layernorm_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src,
    const T *mean, const T *rstd, int c, size_t p, const T *wt)
{
#pragma omp parallel for if ((size_t) c * p >= PAR_MIN)
  for (int k = 0; k < c; k++) {
    double sw = 0, sb = 0;
    for (size_t j = 0; j < p; j++) {
      sw += (double) dout[k * p + j] * ((src[k * p + j] - mean[j]) * rstd[j]);
      sb += dout[k * p + j];
    }
    dwt[k] += (T) sw;
    dbias[k] += (T) sb;
  }
#pragma omp parallel for if ((size_t) c * p >= PAR_MIN)
  for (size_t b0 = 0; b0 < p; b0 += LN_BLOCK) {
    const size_t m = p - b0 < LN_BLOCK ? p - b0 : LN_BLOCK;
    double sg[LN_BLOCK] = {0}, sgx[LN_BLOCK] = {0};
    for (int k = 0; k < c; k++)
      for (size_t j = 0; j < m; j++) {
        const size_t i = k * p + b0 + j;
        const double g = (double) dout[i] * wt[k];
        sg[j] += g;
        sgx[j] += g * ((src[i] - mean[b0 + j]) * rstd[b0 + j]);
      }
    for (size_t j = 0; j < m; j++) {
      sg[j] /= c;
      sgx[j] /= c;
    }
    for (int k = 0; k < c; k++)
      for (size_t j = 0; j < m; j++) {
        const size_t i = k * p + b0 + j;
        const double xh = (src[i] - mean[b0 + j]) * (double) rstd[b0 + j];
        dsrc[i] += (T) (rstd[b0 + j] * ((double) dout[i] * wt[k] - sg[j] - xh * sgx[j]));
      }
  }
}

void
FN (irc_tr_gate_fwd) (T *dst, const T *src, int c, size_t p)
{
  const size_t n = (size_t) c * p;
#pragma omp parallel for if (n >= PAR_MIN)
  for (size_t i = 0; i < n; i++)
    dst[i] = src[i] * src[n + i];
}

void
FN (irc_tr_gate_bwd) (T *dsrc, const T *dout, const T *src, int c, size_t p)
{
  const size_t n = (size_t) c * p;
#pragma omp parallel for if (n >= PAR_MIN)
  for (size_t i = 0; i < n; i++) {
    dsrc[i] += dout[i] * src[n + i];
    dsrc[n + i] += dout[i] * src[i];
  }
}

void
FN (irc_tr_plane_mean_fwd) (T *dst, const T *src, size_t planes, size_t hw)
{
#pragma omp parallel for if (planes * hw >= PAR_MIN)
  for (size_t pl = 0; pl < planes; pl++) {
    double s = 0;
    for (size_t j = 0; j < hw; j++)
      s += src[pl * hw + j];
    dst[pl] = (T) (s / (double) hw);
  }
}

void
FN (irc_tr_plane_mean_bwd) (T *dsrc, const T *dout, size_t planes, size_t hw)
{
#pragma omp parallel for if (planes * hw >= PAR_MIN)
  for (size_t pl = 0; pl < planes; pl++) {
    const T g = (T) (dout[pl] / (double) hw);
    for (size_t j = 0; j < hw; j++)
      dsrc[pl * hw + j] += g;
  }
}

void
FN (irc_tr_plane_scale_fwd) (T *dst, const T *src, const T *s, size_t planes, size_t hw)
{
#pragma omp parallel for if (planes * hw >= PAR_MIN)
  for (size_t pl = 0; pl < planes; pl++)
    for (size_t j = 0; j < hw; j++)
      dst[pl * hw + j] = src[pl * hw + j] * s[pl];
}

void
FN (irc_tr_plane_scale_bwd) (T *dsrc, T *ds, const T *dout, const T *src, const T *s,
    size_t planes, size_t hw)
{
#pragma omp parallel for if (planes * hw >= PAR_MIN)
  for (size_t pl = 0; pl < planes; pl++) {
    double acc = 0;
    for (size_t j = 0; j < hw; j++) {
      acc += (double) dout[pl * hw + j] * src[pl * hw + j];
      dsrc[pl * hw + j] += dout[pl * hw + j] * s[pl];
    }
    ds[pl] += (T) acc;
  }
}

void
FN (irc_tr_scale_add_fwd) (T *dst, const T *a, const T *b, const T *s, int c, size_t p)
{
#pragma omp parallel for if ((size_t) c * p >= PAR_MIN)
  for (int k = 0; k < c; k++)
    for (size_t j = 0; j < p; j++)
      dst[k * p + j] = a[k * p + j] + b[k * p + j] * s[k];
}

void
FN (irc_tr_scale_add_bwd) (T *da, T *db, T *ds, const T *dout, const T *b, const T *s, int c,
    size_t p)
{
#pragma omp parallel for if ((size_t) c * p >= PAR_MIN)
  for (int k = 0; k < c; k++) {
    double acc = 0;
    for (size_t j = 0; j < p; j++) {
      const T g = dout[k * p + j];
      acc += (double) g * b[k * p + j];
      if (da)
        da[k * p + j] += g;
      db[k * p + j] += g * s[k];
    }
    ds[k] += (T) acc;
  }
}

void
FN (irc_tr_unshuffle) (T *dst, const T *src, int c, int n, int h, int w, int acc)
{
  const int ho = h / 2, wo = w / 2;
#pragma omp parallel for if ((size_t) c * n * h * w >= PAR_MIN)
  for (int k = 0; k < c; k++)
    for (int i = 0; i < n; i++) {
      const T *s = src + ((size_t) k * n + i) * h * w;
      for (int q = 0; q < 4; q++) {
        T *d = dst + (((size_t) k * 4 + q) * n + i) * ho * wo;
        const int di = q >> 1, dj = q & 1;
        for (int y = 0; y < ho; y++)
          for (int x = 0; x < wo; x++) {
            const T v = s[(size_t) (2 * y + di) * w + 2 * x + dj];
            d[y * wo + x] = acc ? d[y * wo + x] + v : v;
          }
      }
    }
}

/* src: 4c planes per image of h x w; dst: c planes of 2h x 2w. */
void
FN (irc_tr_shuffle) (T *dst, const T *src, int c, int n, int h, int w, int acc)
{
  const int ho = 2 * h, wo = 2 * w;
#pragma omp parallel for if ((size_t) c * n * h * w >= PAR_MIN)
  for (int k = 0; k < c; k++)
    for (int i = 0; i < n; i++) {
      T *d = dst + ((size_t) k * n + i) * ho * wo;
      for (int q = 0; q < 4; q++) {
        const T *s = src + (((size_t) k * 4 + q) * n + i) * h * w;
        const int di = q >> 1, dj = q & 1;
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++) {
            T *o = &d[(size_t) (2 * y + di) * wo + 2 * x + dj];
            *o = acc ? *o + s[y * w + x] : s[y * w + x];
          }
      }
    }
}

/* ------------------------------------------------------------ vectors */

void
FN (irc_tr_linear_fwd) (T *dst, const T *src, int n, int in, const T *wt, const T *bias,
    int out)
{
  for (int i = 0; i < n; i++)
    for (int o = 0; o < out; o++) {
      double acc = 0;
      for (int j = 0; j < in; j++)
        acc += (double) src[i * in + j] * wt[o * in + j];
      dst[i * out + o] = (T) ((T) acc + (bias ? bias[o] : 0));
    }
}

void
FN (irc_tr_linear_bwd) (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, int n,
    int in, const T *wt, int out)
{
  for (int o = 0; o < out; o++) {
    for (int j = 0; j < in; j++) {
      double acc = 0;
      for (int i = 0; i < n; i++)
        acc += (double) dout[i * out + o] * src[i * in + j];
      dwt[o * in + j] += (T) acc;
    }
    if (dbias) {
      double acc = 0;
      for (int i = 0; i < n; i++)
        acc += dout[i * out + o];
      dbias[o] += (T) acc;
    }
  }
  if (dsrc)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < in; j++) {
        double acc = 0;
        for (int o = 0; o < out; o++)
          acc += (double) dout[i * out + o] * wt[o * in + j];
        dsrc[i * in + j] += (T) acc;
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

void
FN (irc_tr_gelu_fwd) (T *dst, const T *src, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    const double x = src[i];
    dst[i] = (T) (0.5 * x * (1.0 + erf (x * M_SQRT1_2)));
  }
}

void
FN (irc_tr_gelu_bwd) (T *dsrc, const T *dout, const T *src, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    const double x = src[i];
    const double cdf = 0.5 * (1.0 + erf (x * M_SQRT1_2));
    const double pdf = exp (-0.5 * x * x) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
    dsrc[i] += (T) (dout[i] * (cdf + x * pdf));
  }
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

void
FN (irc_tr_avgpool_bwd) (T *dsrc, const T *dout, int c, int n, size_t hw)
{
#pragma omp parallel for if ((size_t) c * n * hw >= PAR_MIN)
  for (int k = 0; k < c; k++)
    for (int i = 0; i < n; i++) {
      const T g = (T) (dout[i * c + k] / (double) hw);
      for (size_t j = 0; j < hw; j++)
        dsrc[((size_t) k * n + i) * hw + j] += g;
    }
}
