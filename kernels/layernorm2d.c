/* layernorm2d: per-pixel normalisation over channels, vectorised across
 * pixels (channels are planes in CHW, so a pixel's values are strided). */
#include "kernels.h"

#include <math.h>

#define LN_CHUNK 256

void
irc_k_layernorm2d (float *dst, size_t ldd, const float *src, size_t lds, int c, int n)
{
  float mean[LN_CHUNK], rstd[LN_CHUNK];
  for (int p0 = 0; p0 < n; p0 += LN_CHUNK) {
    const int m = n - p0 < LN_CHUNK ? n - p0 : LN_CHUNK;
    for (int i = 0; i < m; i++)
      mean[i] = 0, rstd[i] = 0;
    for (int k = 0; k < c; k++) {
      const float *s = src + k * lds + p0;
      for (int i = 0; i < m; i++)
        mean[i] += s[i];
    }
    const float inv_c = 1.0f / c;
    for (int i = 0; i < m; i++)
      mean[i] *= inv_c;
    /* two passes (mean, then squared deviations) as PyTorch's reference does:
     * E[x^2] - E[x]^2 loses precision when the mean is large */
    for (int k = 0; k < c; k++) {
      const float *s = src + k * lds + p0;
      for (int i = 0; i < m; i++) {
        const float d = s[i] - mean[i];
        rstd[i] += d * d;
      }
    }
    for (int i = 0; i < m; i++)
      rstd[i] = 1.0f / sqrtf (rstd[i] * inv_c + 1e-6f);
    for (int k = 0; k < c; k++) {
      const float *s = src + k * lds + p0;
      float *d = dst + k * ldd + p0;
      for (int i = 0; i < m; i++)
        d[i] = (s[i] - mean[i]) * rstd[i];
    }
  }
}
