/* dwconv3x3_gate: NAFBlock's depthwise 3x3 (conv2, with bias) on 2C channels
 * followed by SimpleGate: out[k] = dw(in)[k] * dw(in)[k + C], C = cout; PX
 * pixels of a row per invocation, rows read as short vectors. */
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x = 8, local_size_y = 8) in;

#define PX 4

vec4
dw (uint ch, uint x0, uint y)
{
  const uint plane = a.ho * a.wo;
  const int xs = int (x0) - 1;
  const bool inside = xs >= 0 && xs + 6 <= int (a.wo);
  vec4 acc = vec4 (LD (a.bias, ch));
  [[unroll]] for (int ky = 0; ky < 3; ky++) {
    const int iy = int (y) + ky - 1;
    if (iy < 0 || iy >= int (a.ho))
      continue;
    const uint row = ch * plane + uint (iy) * a.wo;
    float v[6];
    if (inside) {
      const vec4 p = load4 (a.src, row + uint (xs));
      const vec2 q = load2 (a.src, row + uint (xs) + 4u);
      v[0] = p.x, v[1] = p.y, v[2] = p.z, v[3] = p.w, v[4] = q.x, v[5] = q.y;
    } else {
      [[unroll]] for (int i = 0; i < 6; i++) {
        const int ix = xs + i;
        v[i] = ix >= 0 && ix < int (a.wo) ? LD (a.src, row + uint (ix)) : 0.0;
      }
    }
    const vec3 w = load3 (a.wt, ch * 9u + uint (ky) * 3u);
    [[unroll]] for (uint kx = 0u; kx < 3u; kx++)
      acc += w[kx] * vec4 (v[kx], v[kx + 1u], v[kx + 2u], v[kx + 3u]);
  }
  return acc;
}

void
main ()
{
  const uint x0 = gl_GlobalInvocationID.x * PX, y = gl_GlobalInvocationID.y;
  const uint k = gl_WorkGroupID.z;
  if (x0 >= a.wo || y >= a.ho)
    return;
  const vec4 g = dw (k, x0, y) * dw (k + a.cout, x0, y);
  const uint i = (k * a.ho + y) * a.wo + x0, n = min (PX, a.wo - x0);
  if (n == PX)
    store4 (a.dst, i, g);
  else
    for (uint q = 0u; q < n; q++)
      ST (a.dst, i + q, g[q]);
}
