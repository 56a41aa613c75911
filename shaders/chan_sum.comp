/* chan_sum: first stage of a per-channel spatial mean (the global pool of
 * the encoder and of NAFBlock's attention): each workgroup sums CHUNK values
 * of one channel in fp32 into partial[c][chunk]; the second stage
 * (mean_final, sca_fold) adds the chunks in order, so results do not depend
 * on scheduling. */
#version 450
#include "common.glsl"

#define WG 256
#define CHUNK 8192u

layout(local_size_x = WG) in;

shared float part[WG];

void
main ()
{
  const uint chunk = gl_WorkGroupID.x, ch = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
  const uint plane = a.n, start = chunk * CHUNK, end = min (start + CHUNK, plane);
  /* compensated (Kahan) so that a mean near zero keeps its digits; precise
   * stops the compiler from reassociating the compensation away */
  precise float s = 0.0, comp = 0.0;
  for (uint i = start + lid; i < end; i += WG) {
    precise float y = LD (a.src, ch * plane + i) - comp;
    precise float t = s + y;
    comp = (t - s) - y;
    s = t;
  }
  part[lid] = s;
  barrier ();
  for (uint w = WG / 2; w > 0u; w >>= 1) {
    if (lid < w)
      part[lid] += part[lid + w];
    barrier ();
  }
  if (lid == 0u)
    AS_F32 (a.dst).v[ch * a.extra0 + chunk] = part[0];
}
