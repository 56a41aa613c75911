/* conv1x1: a 1x1 convolution is a GEMM, out[o][p] = sum_k W[o][k] in[k][p],
 * one pixel and OCB outputs per invocation. MODE chooses what "in" is, so the
 * elementwise op before each 1x1 of the network costs no pass of its own:
 * the input itself, its LayerNorm2d (affine folded into W), SimpleGate of a
 * 2K-channel input, or the concatenation of two tensors (src, src2). */
#version 450
#include "common.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;   /* 0 plain, 1 layernorm, 2 gate, 3 concat */

#define OCB 8

float
load_in (uint k, uint p, uint plane)
{
  if (MODE == 2u)
    return a.src.v[k * plane + p] * a.src.v[(k + a.cin) * plane + p];
  if (MODE == 3u && k >= a.cin_a)
    return a.src2.v[(k - a.cin_a) * plane + p];
  return a.src.v[k * plane + p];
}

void
main ()
{
  const uint plane = a.n, p = tile_index () * 64u + gl_LocalInvocationID.x;
  const uint o0 = gl_WorkGroupID.z * OCB;
  if (p >= plane)
    return;
  float mu = 0.0, rstd = 1.0;
  if (MODE == 1u) {
    /* LayerNorm2d: biased variance over channels, eps 1e-6, two passes */
    float s = 0.0;
    for (uint k = 0u; k < a.cin; k++)
      s += a.src.v[k * plane + p];
    mu = s / float (a.cin);
    float v = 0.0;
    for (uint k = 0u; k < a.cin; k++) {
      const float d = a.src.v[k * plane + p] - mu;
      v += d * d;
    }
    rstd = 1.0 / sqrt (v / float (a.cin) + 1e-6);
  }
  float acc[OCB];
  uint wrow[OCB];
  for (uint j = 0u; j < OCB; j++) {
    acc[j] = 0.0;
    wrow[j] = min (o0 + j, a.cout - 1u) * a.cin;
  }
  for (uint k = 0u; k < a.cin; k++) {
    float xv = load_in (k, p, plane);
    if (MODE == 1u)
      xv = (xv - mu) * rstd;
    for (uint j = 0u; j < OCB; j++)
      acc[j] += a.wt.v[wrow[j] + k] * xv;
  }
  for (uint j = 0u; j < OCB; j++) {
    const uint o = o0 + j;
    if (o >= a.cout)
      break;
    const uint i = o * plane + p;
    a.dst.v[i] = epilogue (acc[j], o, i);
  }
}
