/* metrics: BasicSR's PSNR and SSIM (RGB and Y) on 8-bit quantised images.
 * Every rounding step copies basicsr/metrics and basicsr/utils so a figure
 * here is the figure the authors' test script would print. */
#include "io/metrics.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
irc_quantize_u8 (uint8_t *dst, const float *src, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    float x = src[i];
    /* The negated test also sends NaN to 0. */
    if (!(x > 0.0f))
      x = 0.0f;
    else if (x > 1.0f)
      x = 1.0f;
    /* float32 product, then numpy's round (half to even) = rintf in the
     * default rounding mode. */
    dst[i] = (uint8_t) rintf (x * 255.0f);
  }
}

static double
psnr_from_mse (double mse)
{
  if (mse <= 0.0)
    return IRC_PSNR_MAX;
  double p = 10.0 * log10 (255.0 * 255.0 / mse);
  return p < IRC_PSNR_MAX ? p : IRC_PSNR_MAX;
}

double
irc_psnr_u8 (const uint8_t *a, const uint8_t *b, size_t n)
{
  if (n == 0)
    return IRC_PSNR_MAX;
  /* Exact integer sum: no rounding until the division. */
  uint64_t sse = 0;
  for (size_t i = 0; i < n; i++) {
    int d = (int) a[i] - (int) b[i];
    sse += (uint64_t) (d * d);
  }
  return psnr_from_mse ((double) sse / (double) n);
}

/* cv2.getGaussianKernel (11, 1.5) in double: exp(-(i-5)^2 / (2 sigma^2)),
 * normalised to sum 1. The 2-D window is its outer product, so filtering
 * separably gives the same sums as cv2.filter2D up to the last bits. */
static void
gaussian_window (double g[IRC_SSIM_WINDOW])
{
  const int r = IRC_SSIM_WINDOW / 2;
  const double sigma = 1.5;
  double sum = 0.0;
  for (int i = 0; i < IRC_SSIM_WINDOW; i++) {
    double x = (double) (i - r);
    g[i] = exp (-(x * x) / (2.0 * sigma * sigma));
    sum += g[i];
  }
  for (int i = 0; i < IRC_SSIM_WINDOW; i++)
    g[i] /= sum;
}

enum { SSIM_A, SSIM_B, SSIM_AA, SSIM_BB, SSIM_AB, SSIM_N };

irc_status
irc_ssim_plane (const double *a, const double *b, int width, int height, double *ssim,
    irc_error *err)
{
  const int K = IRC_SSIM_WINDOW;
  if (!a || !b || !ssim)
    return irc_fail (err, IRC_ERR_INVALID, "ssim: NULL argument");
  if (width < K || height < K)
    return irc_fail (err, IRC_ERR_INVALID,
        "ssim: a %dx%d image is smaller than the %dx%d window", width, height, K, K);
  const double C1 = (0.01 * 255.0) * (0.01 * 255.0);
  const double C2 = (0.03 * 255.0) * (0.03 * 255.0);
  double g[IRC_SSIM_WINDOW];
  gaussian_window (g);

  /* Horizontal sums of the five maps for the K rows under the window, kept
   * in a ring so memory stays K rows however tall the image is. */
  const int ow = width - K + 1, oh = height - K + 1;
  double *ring = malloc ((size_t) K * SSIM_N * ow * sizeof *ring);
  if (!ring)
    return irc_fail (err, IRC_ERR_NOMEM, "ssim: out of memory for a %dx%d image",
        width, height);

  double total = 0.0;
  for (int y = 0; y < height; y++) {
    double *row = ring + (size_t) (y % K) * SSIM_N * ow;
    const double *pa = a + (size_t) y * width, *pb = b + (size_t) y * width;
    for (int x = 0; x < ow; x++) {
      double s[SSIM_N] = { 0 };
      for (int k = 0; k < K; k++) {
        double va = pa[x + k], vb = pb[x + k], w = g[k];
        s[SSIM_A] += w * va;
        s[SSIM_B] += w * vb;
        s[SSIM_AA] += w * va * va;
        s[SSIM_BB] += w * vb * vb;
        s[SSIM_AB] += w * va * vb;
      }
      for (int m = 0; m < SSIM_N; m++)
        row[(size_t) m * ow + x] = s[m];
    }
    if (y < K - 1)
      continue;
    /* Rows y-K+1 .. y are in the ring: one output row of the valid region. */
    const double *rows[IRC_SSIM_WINDOW];
    for (int k = 0; k < K; k++)
      rows[k] = ring + (size_t) ((y - K + 1 + k) % K) * SSIM_N * ow;
    double line = 0.0;
    for (int x = 0; x < ow; x++) {
      double s[SSIM_N] = { 0 };
      for (int k = 0; k < K; k++)
        for (int m = 0; m < SSIM_N; m++)
          s[m] += g[k] * rows[k][(size_t) m * ow + x];
      double mu1 = s[SSIM_A], mu2 = s[SSIM_B];
      double mu1_sq = mu1 * mu1, mu2_sq = mu2 * mu2, mu12 = mu1 * mu2;
      double s1 = s[SSIM_AA] - mu1_sq, s2 = s[SSIM_BB] - mu2_sq, s12 = s[SSIM_AB] - mu12;
      line += ((2.0 * mu12 + C1) * (2.0 * s12 + C2))
          / ((mu1_sq + mu2_sq + C1) * (s1 + s2 + C2));
    }
    total += line;
  }
  free (ring);
  *ssim = total / ((double) ow * (double) oh);
  return IRC_OK;
}

/* BasicSR's to_y_channel on an 8-bit RGB pixel: the channels go through
 * float32 (u8 / 255), the dot product is float64 (BGR order), the result is
 * divided by 255 and stored as float32, then scaled back by 255 in float32. */
static double
y_of (uint8_t r, uint8_t g, uint8_t b)
{
  float rf = (float) r / 255.0f, gf = (float) g / 255.0f, bf = (float) b / 255.0f;
  double y = (double) bf * 24.966 + (double) gf * 128.553 + (double) rf * 65.481 + 16.0;
  float t = (float) (y / 255.0);
  return (double) (t * 255.0f);
}

irc_status
irc_metrics_compute (const float *img, const float *ref, int width, int height,
    irc_metrics *out, irc_error *err)
{
  if (!img || !ref || !out)
    return irc_fail (err, IRC_ERR_INVALID, "metrics: NULL argument");
  if (width <= 0 || height <= 0)
    return irc_fail (err, IRC_ERR_INVALID, "metrics: bad size %dx%d", width, height);
  const size_t plane = (size_t) width * height;
  uint8_t *qa = malloc (plane * 3 * 2);
  double *da = malloc (plane * 2 * sizeof *da);
  if (!qa || !da) {
    free (qa);
    free (da);
    return irc_fail (err, IRC_ERR_NOMEM, "metrics: out of memory for a %dx%d image",
        width, height);
  }
  uint8_t *qb = qa + plane * 3;
  double *db = da + plane;
  irc_quantize_u8 (qa, img, plane * 3);
  irc_quantize_u8 (qb, ref, plane * 3);

  irc_metrics m;
  m.psnr_rgb = irc_psnr_u8 (qa, qb, plane * 3);

  irc_status st = IRC_OK;
  double sum = 0.0;
  for (int c = 0; c < 3 && st == IRC_OK; c++) {
    for (size_t i = 0; i < plane; i++) {
      da[i] = qa[c * plane + i];
      db[i] = qb[c * plane + i];
    }
    double s = 0.0;
    st = irc_ssim_plane (da, db, width, height, &s, err);
    sum += s;
  }
  m.ssim_rgb = sum / 3.0;

  if (st == IRC_OK) {
    double sse = 0.0;
    for (size_t i = 0; i < plane; i++) {
      da[i] = y_of (qa[i], qa[plane + i], qa[2 * plane + i]);
      db[i] = y_of (qb[i], qb[plane + i], qb[2 * plane + i]);
      double d = da[i] - db[i];
      sse += d * d;
    }
    m.psnr_y = psnr_from_mse (sse / (double) plane);
    st = irc_ssim_plane (da, db, width, height, &m.ssim_y, err);
  }
  free (qa);
  free (da);
  if (st == IRC_OK)
    *out = m;
  return st;
}
