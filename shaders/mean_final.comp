/* mean_final: second stage of the per-channel mean (x.mean(dim=(2,3))):
 * dst[c] = sum of partial[c][0..chunks) / plane. */
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;

void
main ()
{
  for (uint c = gl_LocalInvocationID.x; c < a.cout; c += 64u) {
    float s = 0.0;
    for (uint j = 0u; j < a.extra0; j++)
      s += AS_F32 (a.src).v[c * a.extra0 + j];
    ST (a.dst, c, s / float (a.n));
  }
}
