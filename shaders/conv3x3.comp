/* conv3x3: torch conv2d with a 3x3 kernel, padding 1, stride STRIDE. Each
 * invocation computes PX pixels along a row for OCB output channels (fp32
 * accumulation), reading each input row segment and weight row once as short
 * vectors; LAYOUT writes the result plain (with bias/LeakyReLU/residual),
 * PixelUnshuffled (the U-Net's DC) or PixelShuffled (UC). */
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x = 8, local_size_y = 8) in;
layout(constant_id = 0) const uint LAYOUT = 0;   /* 0 plain, 1 unshuffle, 2 shuffle */
layout(constant_id = 1) const uint STRIDE = 1;

#define PX 4
#define OCB 8
#define SPAN (3 * STRIDE + 3)                    /* input columns PX outputs need */

void
main ()
{
  const uint x0 = gl_GlobalInvocationID.x * PX, y = gl_GlobalInvocationID.y;
  const uint o0 = gl_WorkGroupID.z * OCB;
  if (x0 >= a.wo || y >= a.ho)
    return;
  const uint plane = a.hi * a.wi;
  const int xs = int (x0 * STRIDE) - 1;
  const bool inside = xs >= 0 && xs + int (SPAN) <= int (a.wi);
  vec4 acc[OCB];
  uint wrow[OCB];
  [[unroll]] for (uint j = 0u; j < OCB; j++) {
    acc[j] = vec4 (0.0);
    wrow[j] = min (o0 + j, a.cout - 1u) * a.cin * 9u;   /* past cout: never written */
  }
  for (uint ci = 0u; ci < a.cin; ci++) {
    [[unroll]] for (int ky = 0; ky < 3; ky++) {
      const int iy = int (y * STRIDE) + ky - 1;
      if (iy < 0 || iy >= int (a.hi))
        continue;
      const uint row = ci * plane + uint (iy) * a.wi;
      float v[9];
      if (inside) {
        const vec4 p = load4 (a.src, row + uint (xs));
        v[0] = p.x, v[1] = p.y, v[2] = p.z, v[3] = p.w;
        if (STRIDE == 1u) {
          const vec2 q = load2 (a.src, row + uint (xs) + 4u);
          v[4] = q.x, v[5] = q.y, v[6] = 0.0, v[7] = 0.0, v[8] = 0.0;
        } else {
          const vec4 q = load4 (a.src, row + uint (xs) + 4u);
          v[4] = q.x, v[5] = q.y, v[6] = q.z, v[7] = q.w;
          v[8] = LD (a.src, row + uint (xs) + 8u);
        }
      } else {
        [[unroll]] for (int i = 0; i < 9; i++) {
          const int ix = xs + i;
          v[i] = i < int (SPAN) && ix >= 0 && ix < int (a.wi) ? LD (a.src, row + uint (ix)) : 0.0;
        }
      }
      const uint wo = ci * 9u + uint (ky) * 3u;
      [[unroll]] for (uint j = 0u; j < OCB; j++) {
        const vec3 w = load3 (a.wt, wrow[j] + wo);
        [[unroll]] for (uint kx = 0u; kx < 3u; kx++)
          acc[j] += w[kx] * vec4 (v[kx], v[STRIDE + kx], v[2u * STRIDE + kx],
              v[3u * STRIDE + kx]);
      }
    }
  }
  const uint n = min (PX, a.wo - x0);
  [[unroll]] for (uint j = 0u; j < OCB; j++) {
    const uint o = o0 + j;
    if (o >= a.cout)
      break;
    vec4 r = acc[j];
    if (LAYOUT == 0u) {
      const uint i = (o * a.ho + y) * a.wo + x0;
      if ((a.flags & FLAG_BIAS) != 0u)
        r += LD (a.bias, o);
      if ((a.flags & FLAG_LEAKY) != 0u)
        r = max (r, 0.1 * r);
      if (n == PX) {
        if ((a.flags & FLAG_RESIDUAL) != 0u)
          r += load4 (a.res, i);
        store4 (a.dst, i, r);
      } else {
        for (uint px = 0u; px < n; px++)
          ST (a.dst, i + px, r[px] + ((a.flags & FLAG_RESIDUAL) != 0u ? LD (a.res, i + px) : 0.0));
      }
    } else if (LAYOUT == 1u) {
      /* out[o*4 + 2i + j][y/2][x/2] = conv[o][y][x] */
      const uint h2 = a.ho / 2u, w2 = a.wo / 2u;
      for (uint px = 0u; px < n; px++) {
        const uint x = x0 + px;
        ST (a.dst, ((o * 4u + 2u * (y & 1u) + (x & 1u)) * h2 + (y >> 1)) * w2 + (x >> 1), r[px]);
      }
    } else {
      /* out[k][2y + i][2x + j] = conv[k*4 + 2i + j][y][x] */
      const uint k = o >> 2, i = (o >> 1) & 1u, jj = o & 1u;
      for (uint px = 0u; px < n; px++)
        ST (a.dst, (k * 2u * a.ho + 2u * y + i) * 2u * a.wo + 2u * (x0 + px) + jj, r[px]);
    }
  }
}
