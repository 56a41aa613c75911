/* ref: the reference ops, written for clarity; accumulation in double where
 * PyTorch's order of summation would otherwise dominate the error. */
#include "ops/ref.h"

#include <math.h>

int
irc_ref_conv_out (int n, int k, int stride)
{
  return (n + 2 * (k / 2) - k) / stride + 1;
}

void
irc_ref_conv2d (float *dst, const float *src, int cin, int h, int w, const float *weight,
    const float *bias, int cout, int k, int stride, int groups)
{
  const int ho = irc_ref_conv_out (h, k, stride), wo = irc_ref_conv_out (w, k, stride);
  const int p = k / 2, cig = cin / groups, cog = cout / groups;
  for (int o = 0; o < cout; o++) {
    const int g = o / cog;
    for (int y = 0; y < ho; y++) {
      for (int x = 0; x < wo; x++) {
        double acc = bias ? bias[o] : 0.0;
        for (int ci = 0; ci < cig; ci++) {
          const float *s = src + (size_t) (g * cig + ci) * h * w;
          const float *wk = weight + ((size_t) o * cig + ci) * k * k;
          for (int ky = 0; ky < k; ky++) {
            const int iy = y * stride + ky - p;
            if (iy < 0 || iy >= h)
              continue;
            for (int kx = 0; kx < k; kx++) {
              const int ix = x * stride + kx - p;
              if (ix >= 0 && ix < w)
                acc += (double) wk[ky * k + kx] * s[(size_t) iy * w + ix];
            }
          }
        }
        dst[((size_t) o * ho + y) * wo + x] = (float) acc;
      }
    }
  }
}

void
irc_ref_leaky_relu (float *x, size_t n, float slope)
{
  for (size_t i = 0; i < n; i++)
    if (x[i] < 0)
      x[i] *= slope;
}

void
irc_ref_layernorm2d (float *dst, const float *src, int c, size_t hw, const float *weight,
    const float *bias, float eps)
{
  for (size_t i = 0; i < hw; i++) {
    double mu = 0, var = 0;
    for (int k = 0; k < c; k++)
      mu += src[k * hw + i];
    mu /= c;
    for (int k = 0; k < c; k++) {
      const double d = src[k * hw + i] - mu;
      var += d * d;
    }
    var /= c;
    const double r = 1.0 / sqrt (var + eps);
    for (int k = 0; k < c; k++)
      dst[k * hw + i] = (float) (weight[k] * (src[k * hw + i] - mu) * r + bias[k]);
  }
}

void
irc_ref_simple_gate (float *dst, const float *src, int c, size_t hw)
{
  for (size_t i = 0; i < (size_t) c * hw; i++)
    dst[i] = src[i] * src[(size_t) c * hw + i];
}

void
irc_ref_channel_mean (float *dst, const float *src, int c, size_t hw)
{
  for (int k = 0; k < c; k++) {
    double s = 0;
    for (size_t i = 0; i < hw; i++)
      s += src[k * hw + i];
    dst[k] = (float) (s / (double) hw);
  }
}

void
irc_ref_local_mean (float *dst, const float *src, int c, int h, int w, int k)
{
  const size_t hw = (size_t) h * w;
  if (k <= 0 || (k >= h && k >= w)) {
    for (int ch = 0; ch < c; ch++) {
      float m;
      irc_ref_channel_mean (&m, src + ch * hw, 1, hw);
      for (size_t i = 0; i < hw; i++)
        dst[ch * hw + i] = m;
    }
    return;
  }
  /* AvgPool2d(kernel k, stride 1) without padding, a side shorter than k
   * pooled whole, then replicate-padded as F.pad(..., 'replicate') */
  const int kh = k < h ? k : h, kw = k < w ? k : w;
  const int vh = h - kh + 1, vw = w - kw + 1;
  const int oy = (h - vh) / 2, ox = (w - vw) / 2;
  for (int ch = 0; ch < c; ch++) {
    const float *s = src + ch * hw;
    for (int y = 0; y < h; y++) {
      int vy = y - oy;
      vy = vy < 0 ? 0 : vy >= vh ? vh - 1 : vy;
      for (int x = 0; x < w; x++) {
        int vx = x - ox;
        vx = vx < 0 ? 0 : vx >= vw ? vw - 1 : vx;
        double acc = 0;
        for (int i = 0; i < kh; i++)
          for (int j = 0; j < kw; j++)
            acc += s[(size_t) (vy + i) * w + vx + j];
        dst[ch * hw + (size_t) y * w + x] = (float) (acc / ((double) kh * kw));
      }
    }
  }
}

/* One axis of irc_ref_sample_map: the two source indices and the weight
 * of the second. */
static void
sample_axis (float at, int n, int *i0, int *i1, float *frac)
{
  at = at < 0.0f ? 0.0f : at > (float) (n - 1) ? (float) (n - 1) : at;
  const int lo = (int) at;
  *i0 = lo;
  *i1 = lo + 1 < n ? lo + 1 : lo;
  *frac = at - (float) lo;
}

void
irc_ref_sample_map (float *dst, const float *map, int c, int h, int w, int map_h, int map_w,
    float y0, float x0, float scale)
{
  const size_t hw = (size_t) h * w, mhw = (size_t) map_h * map_w;
  for (int y = 0; y < h; y++) {
    int my0, my1;
    float fy;
    sample_axis ((y0 + (float) y + 0.5f) * scale - 0.5f, map_h, &my0, &my1, &fy);
    for (int x = 0; x < w; x++) {
      int mx0, mx1;
      float fx;
      sample_axis ((x0 + (float) x + 0.5f) * scale - 0.5f, map_w, &mx0, &mx1, &fx);
      for (int ch = 0; ch < c; ch++) {
        const float *m = map + ch * mhw;
        const float top = m[(size_t) my0 * map_w + mx0]
            + fx * (m[(size_t) my0 * map_w + mx1] - m[(size_t) my0 * map_w + mx0]);
        const float bot = m[(size_t) my1 * map_w + mx0]
            + fx * (m[(size_t) my1 * map_w + mx1] - m[(size_t) my1 * map_w + mx0]);
        dst[ch * hw + (size_t) y * w + x] = top + fy * (bot - top);
      }
    }
  }
}

void
irc_ref_scale_channels (float *x, int c, size_t hw, const float *s)
{
  for (int k = 0; k < c; k++)
    for (size_t i = 0; i < hw; i++)
      x[k * hw + i] *= s[k];
}

void
irc_ref_pixel_unshuffle (float *dst, const float *src, int c, int h, int w)
{
  const int ho = h / 2, wo = w / 2;
  for (int k = 0; k < c; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        for (int y = 0; y < ho; y++)
          for (int x = 0; x < wo; x++)
            dst[(((size_t) k * 4 + 2 * i + j) * ho + y) * wo + x] =
                src[((size_t) k * h + 2 * y + i) * w + 2 * x + j];
}

void
irc_ref_pixel_shuffle (float *dst, const float *src, int c, int h, int w)
{
  for (int k = 0; k < c; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++)
            dst[((size_t) k * 2 * h + 2 * y + i) * 2 * w + 2 * x + j] =
                src[(((size_t) k * 4 + 2 * i + j) * h + y) * w + x];
}

void
irc_ref_linear (float *dst, const float *src, int in, int out, const float *weight,
    const float *bias)
{
  for (int o = 0; o < out; o++) {
    double acc = bias ? bias[o] : 0.0;
    for (int i = 0; i < in; i++)
      acc += (double) weight[(size_t) o * in + i] * src[i];
    dst[o] = (float) acc;
  }
}

void
irc_ref_batchnorm_eval (float *x, int n, const float *weight, const float *bias,
    const float *mean, const float *var, float eps)
{
  for (int i = 0; i < n; i++)
    x[i] = (float) ((x[i] - mean[i]) / sqrt ((double) var[i] + eps) * weight[i] + bias[i]);
}

void
irc_ref_gelu (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) (0.5 * x[i] * (1.0 + erf (x[i] / sqrt (2.0))));
}

void
irc_ref_scale_add (float *dst, const float *a, const float *b, const float *s, int c,
    size_t hw)
{
  for (int k = 0; k < c; k++)
    for (size_t i = 0; i < hw; i++)
      dst[k * hw + i] = a[k * hw + i] + b[k * hw + i] * s[k];
}
