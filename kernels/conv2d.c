/* conv2d: dense convolutions as im2col + OpenBLAS SGEMM, one band at a time. */
#include "kernels.h"

#include <cblas.h>
#include <string.h>

void
irc_k_im2col3x3 (float *col, const float *src, int cin, int h, int w, int stride, int oy0,
    int oy1, int wo)
{
  const size_t n = (size_t) (oy1 - oy0) * wo;
  for (int ci = 0; ci < cin; ci++) {
    const float *s = src + (size_t) ci * h * w;
    for (int ky = 0; ky < 3; ky++) {
      for (int kx = 0; kx < 3; kx++) {
        float *d = col + ((size_t) ci * 9 + ky * 3 + kx) * n;
        for (int oy = oy0; oy < oy1; oy++, d += wo) {
          const int iy = oy * stride + ky - 1;
          if (iy < 0 || iy >= h) {
            memset (d, 0, (size_t) wo * sizeof (float));
            continue;
          }
          const float *row = s + (size_t) iy * w;
          if (stride == 1) {
            /* d[x] = row[x + kx - 1], zero outside */
            const int dx = kx - 1;
            int x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? wo - 1 : wo;
            if (x1 > w - dx)
              x1 = w - dx;
            for (int x = 0; x < x0; x++)
              d[x] = 0;
            if (x1 > x0)
              memcpy (d + x0, row + x0 + dx, (size_t) (x1 - x0) * sizeof (float));
            for (int x = x1 > x0 ? x1 : x0; x < wo; x++)
              d[x] = 0;
          } else {
            for (int x = 0; x < wo; x++) {
              const int ix = x * stride + kx - 1;
              d[x] = ix >= 0 && ix < w ? row[ix] : 0.0f;
            }
          }
        }
      }
    }
  }
}

void
irc_k_gemm (float *dst, size_t ldd, const float *weight, size_t ldw, int cout, int k,
    const float *src, size_t lds, int n, int accumulate)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, n, k, 1.0f, weight, (int) ldw, src,
      (int) lds, accumulate ? 1.0f : 0.0f, dst, (int) ldd);
}

void
irc_k_add_bias (float *dst, size_t ldd, int cout, int n, const float *bias)
{
  if (!bias)
    return;
  for (int o = 0; o < cout; o++)
    irc_orc_add_scalar_f32 (dst + (size_t) o * ldd, bias[o], n);
}
