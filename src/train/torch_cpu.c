/* torch_cpu: PyTorch 1.13's CPU float arithmetic for the ops whose last bit
 * the golden step amplifies (see torch_cpu.h). Sources: oneDNN 2.6
 * jit_uni_eltwise_injector.cpp (gelu_erf, exp), SLEEF 3.5 sleefsimdsp.c and
 * df.h with FMA (xexpf, xlogf_u1), ATen SumKernel.cpp and
 * functional_base.h (reduction orders of the AVX2 build). */
#include "train/torch_cpu.h"
#include "float_bits.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* every multiply-add below is meant to round twice unless written fmaf() */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* 2^q for q in the normal range */
static float
pow2i (int q)
{
  return bits_to_float ((uint32_t) (q + 0x7f) << 23);
}

/* ------------------------------------------------------------ SLEEF */

IRC_TR_FMA_CLONES float
irc_tr_torch_expf (float d)
{
  const int q = (int) nearbyintf (d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
  float s = fmaf ((float) q, -0.693145751953125f, d);
  s = fmaf ((float) q, -1.428606765330187045e-06f, s);
  float u = 0.000198527617612853646278381f;
  u = fmaf (u, s, 0.00139304355252534151077271f);
  u = fmaf (u, s, 0.00833336077630519866943359f);
  u = fmaf (u, s, 0.0416664853692054748535156f);
  u = fmaf (u, s, 0.166666671633720397949219f);
  u = fmaf (u, s, 0.5f);
  u = 1.0f + fmaf (s * s, u, s);
  u = u * pow2i (q >> 1) * pow2i (q - (q >> 1));
  if (d < -104)
    u = 0;
  if (d > 100)
    u = INFINITY;
  return u;
}

/* double-float (hi + lo) helpers of SLEEF's df.h, FMA variants */
typedef struct {
  float x, y;
} df;

static df
df_add2_ff (float x, float y)
{
  const float s = x + y, v = s - x;
  return (df) {s, (x - (s - v)) + (y - v)};
}

static df
df_add_dd (df x, df y)
{
  const float s = x.x + y.x;
  return (df) {s, (((x.x - s) + y.x) + x.y) + y.y};
}

static df
df_add_df (df x, float y)
{
  const float s = x.x + y;
  return (df) {s, ((x.x - s) + y) + x.y};
}

static df
df_mul_df (df x, float y)
{
  const float s = x.x * y;
  return (df) {s, fmaf (x.y, y, fmaf (x.x, y, -s))};
}

static df
df_div (df n, df d)
{
  const float t = 1.0f / d.x, s = n.x * t;
  const float u = fmaf (t, n.x, -s);
  const float v = fmaf (-d.y, t, fmaf (-d.x, t, 1.0f));
  return (df) {s, fmaf (s, v, fmaf (n.y, t, u))};
}

IRC_TR_FMA_CLONES float
irc_tr_torch_logf (float d)
{
  const int tiny = d < 1.17549435e-38f;
  if (tiny)
    d = d * 18446744073709551616.0f;
  int e = (int) ((float_to_bits (d * (1.0f / 0.75f)) >> 23) & 0xff) - 0x7f;
  const float m = bits_to_float (float_to_bits (d) - (uint32_t) e * (1u << 23));
  if (tiny)
    e -= 64;
  df s = df_mul_df ((df) {0.69314718246459960938f, -1.904654323148236017e-09f}, (float) e);
  const df x = df_div (df_add2_ff (-1.0f, m), df_add2_ff (1.0f, m));
  const float x2 = x.x * x.x;
  float t = 0.3027294874f;
  t = fmaf (t, x2, 0.3996108174f);
  t = fmaf (t, x2, 0.6666694880f);
  s = df_add_dd (s, (df) {x.x * 2.0f, x.y * 2.0f});
  s = df_add_df (s, x2 * x.x * t);
  float r = s.x + s.y;
  if (isinf (d) && d > 0)
    r = INFINITY;
  if (d < 0 || isnan (d))
    r = NAN;
  if (d == 0)
    r = -INFINITY;
  return r;
}

/* ------------------------------------------------------------ oneDNN */

/* oneDNN's exp: 2^n exp(r), r = x - n ln2, exp(r) by a degree-5 polynomial */
static float
onednn_expf (float x)
{
  static const uint32_t pol[5] = {0x3f7ffffb, 0x3efffee3, 0x3e2aad40, 0x3d2b9d0d, 0x3c07cfce};
  const float ln_min = bits_to_float (0xc2aeac50), ln_max = bits_to_float (0x42b17218);
  const int underflow = x < ln_min;
  x = fmaxf (fminf (x, ln_max), ln_min);
  const float fx = floorf (x * bits_to_float (0x3fb8aa3b) + 0.5f);
  const float r = fmaf (-fx, bits_to_float (0x3f317218), x);
  /* 2 * 2^(n-1), so that n = 128 stays representable */
  const float scale = underflow ? 0.0f : pow2i ((int) (fx - 1.0f));
  float p = bits_to_float (pol[4]);
  for (int i = 3; i >= 0; i--)
    p = fmaf (p, r, bits_to_float (pol[i]));
  p = fmaf (p, r, 1.0f);
  return p * scale * 2.0f;
}

/* erf(|x|) = 1 - r(t) t exp(-x^2), t = 1 / (1 + p |x|) (A&S 7.1.26), with
 * e = exp(-x^2) */
static float
onednn_erf_abs (float x, float e)
{
  static const uint32_t pol[5] = {0x3e827906, 0xbe91a98e, 0x3fb5f0e3, 0xbfba00e3, 0x3f87dc22};
  const float t = 1.0f / fmaf (bits_to_float (0x3ea7ba05), fabsf (x), 1.0f);
  float r = bits_to_float (pol[4]);
  for (int i = 3; i >= 0; i--)
    r = fmaf (r, t, bits_to_float (pol[i]));
  return fmaf (-e * t, r, 1.0f);
}

IRC_TR_FMA_CLONES float
irc_tr_torch_gelu (float s)
{
  const float x = s * bits_to_float (0x3f3504f3), half = s * 0.5f;
  const float erf_abs = onednn_erf_abs (x, onednn_expf (-(x * x)));
  return fmaf (signbit (x) ? -erf_abs : erf_abs, half, half);
}

/* Phi(s) + s phi(s) = 0.5 + 0.5 erf(x) + x exp(-x^2) / sqrt(pi), x = s / sqrt(2) */
IRC_TR_FMA_CLONES float
irc_tr_torch_gelu_grad (float s)
{
  const float x = s * bits_to_float (0x3f3504f3);
  const float e = onednn_expf (-(x * x));
  const float erf_abs = onednn_erf_abs (x, e);
  return fmaf (signbit (x) ? -erf_abs : erf_abs, 0.5f, x * bits_to_float (0x3f106eba) * e + 0.5f);
}

/* ------------------------------------------------------------ ATen */

static int
ceil_log2 (int64_t x)
{
  int r = 0;
  while (((int64_t) 1 << r) < x)
    r++;
  return r;
}

/* multi_row_sum<4>: @size rows of 4 accumulators (each @width lanes wide,
 * row i starting at x + 4 * width * i), summed in ATen's cascade of four
 * levels; returns the 4 x width partial sums in @acc0 */
static void
multi_row_sum (float acc0[4][8], const float *x, int64_t size, int width)
{
  float acc[4][4][8] = {{{0}}};
  const int power = ceil_log2 (size) / 4 > 4 ? ceil_log2 (size) / 4 : 4;
  const int64_t step = (int64_t) 1 << power, mask = step - 1;
  int64_t i = 0;
  while (i + step <= size) {
    for (int64_t j = 0; j < step; j++, i++)
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < width; l++)
          acc[0][k][l] += x[(4 * i + k) * width + l];
    for (int j = 1; j < 4; j++) {
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < width; l++) {
          acc[j][k][l] += acc[j - 1][k][l];
          acc[j - 1][k][l] = 0;
        }
      if ((i & (mask << (j * power))) != 0)
        break;
    }
  }
  for (; i < size; i++)
    for (int k = 0; k < 4; k++)
      for (int l = 0; l < width; l++)
        acc[0][k][l] += x[(4 * i + k) * width + l];
  for (int j = 1; j < 4; j++)
    for (int k = 0; k < 4; k++)
      for (int l = 0; l < width; l++)
        acc[0][k][l] += acc[j][k][l];
  memcpy (acc0, acc[0], sizeof acc[0]);
}

/* row_sum: 4 accumulators over the units (vectors of @width lanes) of a row,
 * the leftover units into the first, then the four added in order */
static void
row_sum (float out[8], const float *x, int64_t units, int width)
{
  float p[4][8];
  multi_row_sum (p, x, units / 4, width);
  for (int64_t i = units / 4 * 4; i < units; i++)
    for (int l = 0; l < width; l++)
      p[0][l] += x[i * width + l];
  for (int k = 1; k < 4; k++)
    for (int l = 0; l < width; l++)
      p[0][l] += p[k][l];
  memcpy (out, p[0], (size_t) width * sizeof (float));
}

float
irc_tr_torch_sum (const float *x, int n)
{
  float p[8];
  if (n < 8) {
    /* scalar_inner_sum: the same with one-lane units */
    row_sum (p, x, n, 1);
    return 0.0f + p[0];
  }
  const int nv = n / 8;
  row_sum (p, x, nv, 8);
  float s = 0;
  for (int t = nv * 8; t < n; t++)
    s += x[t];
  for (int l = 0; l < 8; l++)
    s += p[l];
  return s;
}

float
irc_tr_torch_reduce_sum (const float *x, int n)
{
  if (n < 8) {
    float s = n > 0 ? x[0] : 0.0f;
    for (int i = 1; i < n; i++)
      s += x[i];
    return s;
  }
  float a[8];
  memcpy (a, x, sizeof a);
  for (int j = 8; j < n; j++)
    a[j % 8] += x[j];
  /* the AVX2 tree: 128-bit halves, then pairs, then neighbours */
  float b[8], c[8];
  for (int l = 0; l < 8; l++)
    b[l] = a[l] + a[l ^ 4];
  for (int l = 0; l < 8; l++)
    c[l] = b[l] + b[l ^ 2];
  return c[0] + c[1];
}
