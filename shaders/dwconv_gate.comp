/* dwconv_gate: NAFBlock's depthwise 3x3 (conv2, with bias) on 2C channels
 * followed by SimpleGate: out[k] = dw(in)[k] * dw(in)[k + C], C = cout. */
#version 450
#include "common.glsl"

layout(local_size_x = 8, local_size_y = 8) in;

float
dw (uint ch, uint x, uint y)
{
  const uint plane = a.ho * a.wo;
  float acc = a.bias.v[ch];
  for (int ky = 0; ky < 3; ky++) {
    const int iy = int (y) + ky - 1;
    if (iy < 0 || iy >= int (a.ho))
      continue;
    for (int kx = 0; kx < 3; kx++) {
      const int ix = int (x) + kx - 1;
      if (ix >= 0 && ix < int (a.wo))
        acc += a.wt.v[ch * 9u + uint (ky * 3 + kx)] * a.src.v[ch * plane + uint (iy) * a.wo
            + uint (ix)];
    }
  }
  return acc;
}

void
main ()
{
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y, k = gl_WorkGroupID.z;
  if (x >= a.wo || y >= a.ho)
    return;
  a.dst.v[(k * a.ho + y) * a.wo + x] = dw (k, x, y) * dw (k + a.cout, x, y);
}
