/* box_mean: NAFNet TLC's local average pool (irc_ref_local_mean): each
 * pixel's mean over the kh x kw window centred on it, windows clamped inside
 * the image. Two separable passes: PASS 0 sums kh rows for every valid window
 * row (vh x w), PASS 1 sums kw of those and divides. With fp16 storage (IRC_FP16)
 * PASS 0 keeps row means instead: half precision could not hold a sum of kh
 * values, and the divisions split as kh then kw. */
#version 450
#include "common.glsl"

layout(local_size_x = 8, local_size_y = 8) in;
layout(constant_id = 0) const uint PASS = 0;

void
main ()
{
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y, c = gl_WorkGroupID.z;
  const uint h = a.hi, w = a.wi, kh = a.extra0, kw = a.extra1;
  const uint vh = h - kh + 1u, vw = w - kw + 1u;
  if (PASS == 0u) {
    if (x >= w || y >= vh)
      return;
    float s = 0.0;
    for (uint i = 0u; i < kh; i++)
      s += LD (a.src, (c * h + y + i) * w + x);
#ifdef IRC_FP16
    s /= float (kh);
#endif
    ST (a.dst, (c * vh + y) * w + x, s);
  } else {
    if (x >= w || y >= h)
      return;
    const int oy = int (h - vh) / 2, ox = int (w - vw) / 2;
    const uint vy = uint (clamp (int (y) - oy, 0, int (vh) - 1));
    const uint vx = uint (clamp (int (x) - ox, 0, int (vw) - 1));
    float s = 0.0;
    for (uint j = 0u; j < kw; j++)
      s += LD (a.src, (c * vh + vy) * w + vx + j);
#ifdef IRC_FP16
    ST (a.dst, (c * h + y) * w + x, s / float (kw));
#else
    ST (a.dst, (c * h + y) * w + x, s / float (kh * kw));
#endif
  }
}
