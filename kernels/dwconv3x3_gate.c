/* dwconv3x3_gate: NAFBlock's depthwise 3x3 convolution fused with the
 * SimpleGate that follows it, so the 2c-channel result never reaches memory. */
#include "kernels.h"


/* One output row of a depthwise 3x3 on one channel; rows may be NULL (zero). */
static void
dw_row (float *out, const float *r0, const float *r1, const float *r2, int w,
    const float *k, float bias)
{
  for (int x = 0; x < w; x++)
    out[x] = bias;
  const float *rows[3] = {r0, r1, r2};
  for (int ky = 0; ky < 3; ky++) {
    const float *r = rows[ky];
    if (!r)
      continue;
    const float k0 = k[ky * 3], k1 = k[ky * 3 + 1], k2 = k[ky * 3 + 2];
    if (w == 1) {
      out[0] += k1 * r[0];
      continue;
    }
    out[0] += k1 * r[0] + k2 * r[1];
    for (int x = 1; x < w - 1; x++)
      out[x] += k0 * r[x - 1] + k1 * r[x] + k2 * r[x + 1];
    out[w - 1] += k0 * r[w - 2] + k1 * r[w - 1];
  }
}

void
irc_k_dwconv3x3_gate (float *dst, size_t d_plane, const float *u, size_t u_plane, int u_row0,
    int u_rows, int c, int rows, int w, const float *weight, const float *bias, float *tmp)
{
  float *a = tmp, *b = tmp + w;
  for (int k = 0; k < c; k++) {
    const float *ua = u + (size_t) k * u_plane, *ub = u + (size_t) (k + c) * u_plane;
    for (int y = 0; y < rows; y++) {
      const float *ra[3], *rb[3];
      for (int dy = -1; dy <= 1; dy++) {
        const int r = y + dy - u_row0;   /* row index inside u */
        const int ok = r >= 0 && r < u_rows;
        ra[dy + 1] = ok ? ua + (size_t) r * w : NULL;
        rb[dy + 1] = ok ? ub + (size_t) r * w : NULL;
      }
      dw_row (a, ra[0], ra[1], ra[2], w, weight + (size_t) k * 9, bias[k]);
      dw_row (b, rb[0], rb[1], rb[2], w, weight + (size_t) (k + c) * 9, bias[k + c]);
      irc_orc_mul_f32 (dst + (size_t) k * d_plane + (size_t) y * w, a, b, w);
    }
  }
}
