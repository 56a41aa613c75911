/* conv1x1: a 1x1 convolution is a GEMM, out[o][p] = sum_k W[o][k] in[k][p];
 * each invocation computes PX consecutive pixels for OCB outputs, four input
 * channels at a time as short vectors. MODE chooses what "in" is, so the
 * elementwise op before each 1x1 of the network costs no pass of its own:
 * the input itself, its LayerNorm2d (affine folded into W), SimpleGate of a
 * 2K-channel input, or the concatenation of two tensors (src, src2).
 *
 * LayerNorm in one pass over the input: W (x - mu) rstd = rstd (W x - mu W 1),
 * so the GEMM runs on the raw input while the same loads gather the pixel's
 * sum and sum of squares and each output row's weight sum. Every workgroup
 * along z would otherwise read its pixels' channels three times (mean,
 * variance, GEMM): 72% of the paper configuration's GPU time. The sums are
 * taken about the pixel's first channel (x - x_0), which keeps the
 * cancellations in var = E[d^2] - E[d]^2 and in the correction of the order
 * of the spread across channels rather than of the mean. */
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
  /* LayerNorm2d (MODE 1): sums of d = x - x_0 and d^2, and of each weight row */
  const vec4 shift = MODE == 1u ? fetch (0u, p, n) : vec4 (0.0);
  vec4 s1 = vec4 (0.0), s2 = vec4 (0.0);
  float wsum[OCB];
  vec4 acc[OCB];
  uint wrow[OCB];
  [[unroll]] for (uint j = 0u; j < OCB; j++) {
    acc[j] = vec4 (0.0);
    wsum[j] = 0.0;
    wrow[j] = min (o0 + j, a.cout - 1u) * a.cin;
  }
  uint k = 0u;
  for (; k + 4u <= a.cin; k += 4u) {
    const vec4 x0 = fetch (k, p, n) - shift, x1 = fetch (k + 1u, p, n) - shift;
    const vec4 x2 = fetch (k + 2u, p, n) - shift, x3 = fetch (k + 3u, p, n) - shift;
    if (MODE == 1u) {
      s1 += (x0 + x1) + (x2 + x3);
      s2 += (x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3);
    }
    [[unroll]] for (uint j = 0u; j < OCB; j++) {
      const vec4 w = load4 (a.wt, wrow[j] + k);
      acc[j] += w.x * x0 + w.y * x1 + w.z * x2 + w.w * x3;
      if (MODE == 1u)
        wsum[j] += (w.x + w.y) + (w.z + w.w);
    }
  }
  for (; k < a.cin; k++) {
    const vec4 x = fetch (k, p, n) - shift;
    if (MODE == 1u) {
      s1 += x;
      s2 += x * x;
    }
    [[unroll]] for (uint j = 0u; j < OCB; j++) {
      const float w = LD (a.wt, wrow[j] + k);
      acc[j] += w * x;
      if (MODE == 1u)
        wsum[j] += w;
    }
  }
  if (MODE == 1u) {
    /* biased variance over channels, eps 1e-6; acc[j] held W (x - x_0) */
    const vec4 m = s1 / float (a.cin);
    const vec4 rstd = 1.0 / sqrt (max (s2 / float (a.cin) - m * m, 0.0) + 1e-6);
    [[unroll]] for (uint j = 0u; j < OCB; j++)
      acc[j] = (acc[j] - m * wsum[j]) * rstd;
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
