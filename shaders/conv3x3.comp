/* conv3x3: torch conv2d with a 3x3 kernel, padding 1, stride 1 or 2. Each
 * invocation computes OCB output channels of one pixel (fp32 accumulation);
 * LAYOUT writes them plain (with bias/LeakyReLU/residual), PixelUnshuffled
 * (the U-Net's DC) or PixelShuffled (UC). */
#version 450
#include "common.glsl"

layout(local_size_x = 8, local_size_y = 8) in;
layout(constant_id = 0) const uint LAYOUT = 0;   /* 0 plain, 1 unshuffle, 2 shuffle */

#define OCB 8

void
main ()
{
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
  const uint o0 = gl_WorkGroupID.z * OCB;
  if (x >= a.wo || y >= a.ho)
    return;
  const uint plane = a.hi * a.wi, K = a.cin * 9u;
  const int iy0 = int (y * a.stride) - 1, ix0 = int (x * a.stride) - 1;
  float acc[OCB];
  uint wrow[OCB];
  for (uint j = 0u; j < OCB; j++) {
    acc[j] = 0.0;
    wrow[j] = min (o0 + j, a.cout - 1u) * K;   /* past cout: computed, never written */
  }
  for (uint ci = 0u; ci < a.cin; ci++) {
    const uint sb = ci * plane;
    for (int ky = 0; ky < 3; ky++) {
      const int iy = iy0 + ky;
      const bool vy = iy >= 0 && iy < int (a.hi);
      for (int kx = 0; kx < 3; kx++) {
        const int ix = ix0 + kx;
        float xv = 0.0;
        if (vy && ix >= 0 && ix < int (a.wi))
          xv = a.src.v[sb + uint (iy) * a.wi + uint (ix)];
        const uint t = ci * 9u + uint (ky * 3 + kx);
        for (uint j = 0u; j < OCB; j++)
          acc[j] += a.wt.v[wrow[j] + t] * xv;
      }
    }
  }
  for (uint j = 0u; j < OCB; j++) {
    const uint o = o0 + j;
    if (o >= a.cout)
      break;
    if (LAYOUT == 0u) {
      const uint i = (o * a.ho + y) * a.wo + x;
      a.dst.v[i] = epilogue (acc[j], o, i);
    } else if (LAYOUT == 1u) {
      /* out[o*4 + 2i + j][y/2][x/2] = conv[o][y][x] */
      const uint h2 = a.ho / 2u, w2 = a.wo / 2u;
      a.dst.v[((o * 4u + 2u * (y & 1u) + (x & 1u)) * h2 + (y >> 1)) * w2 + (x >> 1)] = acc[j];
    } else {
      /* out[k][2y + i][2x + j] = conv[k*4 + 2i + j][y][x] */
      const uint k = o >> 2, i = (o >> 1) & 1u, jj = o & 1u;
      a.dst.v[(k * 2u * a.ho + 2u * y + i) * 2u * a.wo + 2u * x + jj] = acc[j];
    }
  }
}
