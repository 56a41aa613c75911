/* sca_fold: NAFBlock's simplified channel attention, s = sca(mean(t)), folded
 * into conv3 for this frame: W3'[o][k] = (beta[o] W3[o][k]) s[k], so that the
 * attention's multiply costs no pass over t. Inputs: the chan_sum partials
 * (src), sca weight/bias (wt, bias), beta*W3 (src2); output W3' (dst). */
#version 450
#include "common.glsl"

#define WG 256
#define MAXC 1024

layout(local_size_x = WG) in;

shared float mean[MAXC], s[MAXC];

void
main ()
{
  const uint c = a.cin, lid = gl_LocalInvocationID.x;
  for (uint k = lid; k < c; k += WG) {
    float acc = 0.0;
    for (uint j = 0u; j < a.extra0; j++)
      acc += AS_F32 (a.src).v[k * a.extra0 + j];
    mean[k] = acc / float (a.n);
  }
  barrier ();
  for (uint o = lid; o < c; o += WG) {
    float acc = LD (a.bias, o);
    for (uint k = 0u; k < c; k++)
      acc += LD (a.wt, o * c + k) * mean[k];
    s[o] = acc;
  }
  barrier ();
  for (uint i = lid; i < c * c; i += WG)
    ST (a.dst, i, LD (a.src2, i) * s[i % c]);
}
