/* pixel_shuffle: PixelShuffle(2) / PixelUnshuffle(2) on bands of rows. */
#include "kernels.h"

void
irc_k_pixel_unshuffle (float *dst, size_t d_plane, const float *src, size_t s_plane, int c,
    int rows, int w)
{
  const int wo = w / 2;
  for (int k = 0; k < c; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        float *d = dst + (size_t) (k * 4 + 2 * i + j) * d_plane;
        const float *s = src + (size_t) k * s_plane;
        for (int y = 0; y < rows / 2; y++) {
          const float *sr = s + (size_t) (2 * y + i) * w + j;
          float *dr = d + (size_t) y * wo;
          for (int x = 0; x < wo; x++)
            dr[x] = sr[2 * x];
        }
      }
}

void
irc_k_pixel_shuffle (float *dst, size_t d_plane, const float *src, size_t s_plane, int c,
    int rows, int w)
{
  for (int k = 0; k < c; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        const float *s = src + (size_t) (k * 4 + 2 * i + j) * s_plane;
        float *d = dst + (size_t) k * d_plane;
        for (int y = 0; y < rows; y++) {
          const float *sr = s + (size_t) y * w;
          float *dr = d + (size_t) (2 * y + i) * 2 * w + j;
          for (int x = 0; x < w; x++)
            dr[2 * x] = sr[x];
        }
      }
}
