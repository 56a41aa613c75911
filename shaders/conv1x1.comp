/* conv1x1: a 1x1 convolution is a GEMM, out[o][p] = sum_k W[o][k] in[k][p];
 * each invocation computes PX consecutive pixels for OCB outputs, four input
 * channels at a time as short vectors. MODE chooses what "in" is, so the
 * elementwise op before each 1x1 of the network costs no pass of its own:
 * the input itself, its LayerNorm2d (affine folded into W), SimpleGate of a
 * 2K-channel input, or the concatenation of two tensors (src, src2). */
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;   /* 0 plain, 1 layernorm, 2 gate, 3 concat */

#define PX 4
#define OCB 8

/* channel k at pixels p..p+3, of which the first n exist */
vec4
fetch (uint k, uint p, uint n)
{
  const uint plane = a.n;
  Floats s = a.src;
  if (MODE == 3u && k >= a.cin_a) {
    s = a.src2;
    k -= a.cin_a;
  }
  const uint i = k * plane + p;
  vec4 x;
  if (n == PX) {
    x = load4 (s, i);
    if (MODE == 2u)
      x *= load4 (s, i + a.cin * plane);
  } else {
    [[unroll]] for (uint q = 0u; q < PX; q++) {
      x[q] = q < n ? LD (s, i + q) : 0.0;
      if (MODE == 2u)
        x[q] *= q < n ? LD (s, i + a.cin * plane + q) : 0.0;
    }
  }
  return x;
}

void
main ()
{
  const uint plane = a.n, p = (tile_index () * 64u + gl_LocalInvocationID.x) * PX;
  const uint o0 = gl_WorkGroupID.z * OCB;
  if (p >= plane)
    return;
  const uint n = min (PX, plane - p);
  vec4 mu = vec4 (0.0), rstd = vec4 (1.0);
  if (MODE == 1u) {
    /* LayerNorm2d: biased variance over channels, eps 1e-6, two passes */
    vec4 s = vec4 (0.0);
    for (uint k = 0u; k < a.cin; k++)
      s += fetch (k, p, n);
    mu = s / float (a.cin);
    vec4 v = vec4 (0.0);
    for (uint k = 0u; k < a.cin; k++) {
      const vec4 d = fetch (k, p, n) - mu;
      v += d * d;
    }
    rstd = 1.0 / sqrt (v / float (a.cin) + 1e-6);
  }
  vec4 acc[OCB];
  uint wrow[OCB];
  [[unroll]] for (uint j = 0u; j < OCB; j++) {
    acc[j] = vec4 (0.0);
    wrow[j] = min (o0 + j, a.cout - 1u) * a.cin;
  }
  uint k = 0u;
  for (; k + 4u <= a.cin; k += 4u) {
    const vec4 x0 = (fetch (k, p, n) - mu) * rstd, x1 = (fetch (k + 1u, p, n) - mu) * rstd;
    const vec4 x2 = (fetch (k + 2u, p, n) - mu) * rstd, x3 = (fetch (k + 3u, p, n) - mu) * rstd;
    [[unroll]] for (uint j = 0u; j < OCB; j++) {
      const vec4 w = load4 (a.wt, wrow[j] + k);
      acc[j] += w.x * x0 + w.y * x1 + w.z * x2 + w.w * x3;
    }
  }
  for (; k < a.cin; k++) {
    const vec4 x = (fetch (k, p, n) - mu) * rstd;
    [[unroll]] for (uint j = 0u; j < OCB; j++)
      acc[j] += LD (a.wt, wrow[j] + k) * x;
  }
  [[unroll]] for (uint j = 0u; j < OCB; j++) {
    const uint o = o0 + j;
    if (o >= a.cout)
      break;
    const uint i = o * plane + p;
    vec4 r = acc[j];
    if ((a.flags & FLAG_BIAS) != 0u)
      r += LD (a.bias, o);
    if ((a.flags & FLAG_LEAKY) != 0u)
      r = max (r, 0.1 * r);
    if (n == PX) {
      if ((a.flags & FLAG_RESIDUAL) != 0u)
        r += load4 (a.res, i);
      store4 (a.dst, i, r);
    } else {
      for (uint q = 0u; q < n; q++)
        ST (a.dst, i + q, r[q] + ((a.flags & FLAG_RESIDUAL) != 0u ? LD (a.res, i + q) : 0.0));
    }
  }
}
