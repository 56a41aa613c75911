/* box_mean: NAFNet TLC's local average pool (irc_ref_local_mean): each
 * pixel's mean over the kh x kw window centred on it, windows clamped inside
 * the image. Two separable passes: PASS 0 sums kh rows for every valid window
 * row (vh x w), PASS 1 sums kw of those and divides. With fp16 storage (IRC_FP16)
 * PASS 0 keeps row means instead: half precision could not hold a sum of kh
 * values, and the divisions split as kh then kw.
 * PASS 2 reads those pools from attention maps instead (irc_ref_sample_map):
 * src is a map of hi x wi per channel, dst ho x wo, sampled bilinearly at
 * ((y0 + y + 0.5) * scale - 0.5, (x0 + x + 0.5) * scale - 0.5), the three
 * floats' bits in extra0 (y0), extra1 (x0) and stride (scale). With a map of
 * the output's size at scale 1 it is an exact copy (recording a map). */
#version 450
#include "common.glsl"

layout(local_size_x = 8, local_size_y = 8) in;
layout(constant_id = 0) const uint PASS = 0;

void
main ()
{
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y, c = gl_WorkGroupID.z;
  if (PASS == 2u) {
    if (x >= a.wo || y >= a.ho)
      return;
    const float scale = uintBitsToFloat (a.stride);
    const float ay = clamp ((uintBitsToFloat (a.extra0) + float (y) + 0.5) * scale - 0.5, 0.0,
        float (a.hi - 1u));
    const float ax = clamp ((uintBitsToFloat (a.extra1) + float (x) + 0.5) * scale - 0.5, 0.0,
        float (a.wi - 1u));
    const uint y0 = uint (ay), x0 = uint (ax);
    const uint y1 = min (y0 + 1u, a.hi - 1u), x1 = min (x0 + 1u, a.wi - 1u);
    const float fy = ay - float (y0), fx = ax - float (x0);
    const uint base = c * a.hi * a.wi;
    const float m00 = LD (a.src, base + y0 * a.wi + x0), m01 = LD (a.src, base + y0 * a.wi + x1);
    const float m10 = LD (a.src, base + y1 * a.wi + x0), m11 = LD (a.src, base + y1 * a.wi + x1);
    const float top = m00 + fx * (m01 - m00), bot = m10 + fx * (m11 - m10);
    ST (a.dst, (c * a.ho + y) * a.wo + x, top + fy * (bot - top));
    return;
  }
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
