/* ops: forward and backward of every op of the network for training, side by
 * side (llm.c style): forward saves what backward needs, backward accumulates
 * (+=) into parameter and input gradients. Instantiated in float (training)
 * and double (the gradient checks), from the same source (ops_impl.h).
 *
 * Layout: activations are "CNHW": channel-major over the whole batch, so
 * channel c of image n is the plane at (c * N + n) * H * W and a 1x1
 * convolution of the batch is one GEMM over P = N * H * W columns. Codes and
 * other vectors are N x F row-major, as PyTorch holds them. */
#ifndef IRC_TRAIN_OPS_H
#define IRC_TRAIN_OPS_H

#include <stddef.h>

/* Declares the op set for real type T with name suffix S (_f or _d). */
#define IRC_TR_DECLARE_OPS(T, S)                                                        \
  /* 3x3 conv, padding 1, stride 1 or 2, no groups: dst (cout, N, ho, wo) =           \
   * W (cout x cin*9) * im2col(src (cin, N, h, w)) + bias. col holds                   \
   * irc_tr_col_floats() values. */                                                    \
  void irc_tr_conv3x3_fwd##S (T *dst, const T *src, int n, int cin, int h, int w,      \
      const T *wt, const T *bias, int cout, int stride, T *col);                       \
  /* dsrc (may be NULL), dwt, dbias (may be NULL) accumulate. */                       \
  void irc_tr_conv3x3_bwd##S (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, \
      int n, int cin, int h, int w, const T *wt, int cout, int stride, T *col);        \
  /* 1x1 conv on P columns: dst (cout x P) = W (cout x cin, row stride ldw) * src      \
   * (cin x P) + bias (may be NULL), added to dst when @acc. */                        \
  void irc_tr_conv1x1_fwd##S (T *dst, const T *src, size_t p, int cin, const T *wt,   \
      int ldw, const T *bias, int cout, int acc);                                      \
  void irc_tr_conv1x1_bwd##S (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src, \
      size_t p, int cin, const T *wt, int ldw, int cout);                              \
  /* depthwise 3x3, stride 1, padding 1, with bias, on c channels of N images */      \
  void irc_tr_dwconv3x3_fwd##S (T *dst, const T *src, int c, int n, int h, int w,     \
      const T *wt, const T *bias);                                                     \
  void irc_tr_dwconv3x3_bwd##S (T *dsrc, T *dwt, T *dbias, const T *dout,             \
      const T *src, int c, int n, int h, int w, const T *wt);                          \
  /* F.leaky_relu in place; backward from the output (same sign as the input          \
   * for a positive slope): dx = dy * (y > 0 ? 1 : slope), in place on dy. */          \
  void irc_tr_leaky_fwd##S (T *x, size_t count, T slope);                              \
  void irc_tr_leaky_bwd##S (T *dy, const T *y, size_t count, T slope);                 \
  /* LayerNorm2d over c channels (stride p) per column; saves mean and 1/std */        \
  void irc_tr_layernorm_fwd##S (T *dst, T *mean, T *rstd, const T *src, int c,         \
      size_t p, const T *wt, const T *bias, T eps);                                    \
  void irc_tr_layernorm_bwd##S (T *dsrc, T *dwt, T *dbias, const T *dout,              \
      const T *src, const T *mean, const T *rstd, int c, size_t p, const T *wt);       \
  /* SimpleGate: dst (c x p) = src[0:c] * src[c:2c]; dsrc (2c x p) accumulates */      \
  void irc_tr_gate_fwd##S (T *dst, const T *src, int c, size_t p);                     \
  void irc_tr_gate_bwd##S (T *dsrc, const T *dout, const T *src, int c, size_t p);     \
  /* per-plane spatial mean: dst[c * n + i] = mean of plane (c, i); this is also     \
   * the (c x N) input of the SCA 1x1 conv */                                          \
  void irc_tr_plane_mean_fwd##S (T *dst, const T *src, size_t planes, size_t hw);      \
  void irc_tr_plane_mean_bwd##S (T *dsrc, const T *dout, size_t planes, size_t hw);    \
  /* x * s per plane: dst = src * s[plane]; ds[plane] += sum dy * src */               \
  void irc_tr_plane_scale_fwd##S (T *dst, const T *src, const T *s, size_t planes,     \
      size_t hw);                                                                      \
  void irc_tr_plane_scale_bwd##S (T *dsrc, T *ds, const T *dout, const T *src,         \
      const T *s, size_t planes, size_t hw);                                           \
  /* NAFBlock residual: dst = a + b * s[c] over c x p; backward accumulates, da \
   * may be NULL */                                                                   \
  void irc_tr_scale_add_fwd##S (T *dst, const T *a, const T *b, const T *s, int c,     \
      size_t p);                                                                       \
  void irc_tr_scale_add_bwd##S (T *da, T *db, T *ds, const T *dout, const T *b,        \
      const T *s, int c, size_t p);                                                    \
  /* PixelUnshuffle(2) of @planes planes h x w into 4 planes each (the output of     \
   * channel c of image i goes to planes ((4c + k) * N + i)); the backward of one is   \
   * the other, accumulated */                                                         \
  void irc_tr_unshuffle##S (T *dst, const T *src, int c, int n, int h, int w, int acc); \
  void irc_tr_shuffle##S (T *dst, const T *src, int c, int n, int h, int w, int acc);  \
  /* F.linear on N rows: dst (N x out) = src (N x in) W^T + b, rounded as PyTorch's  \
   * CPU addmm (one fused multiply-add chain per element, torch_cpu.h) */              \
  void irc_tr_linear_fwd##S (T *dst, const T *src, int n, int in, const T *wt,        \
      const T *bias, int out);                                                         \
  void irc_tr_linear_bwd##S (T *dsrc, T *dwt, T *dbias, const T *dout, const T *src,  \
      int n, int in, const T *wt, int out);                                            \
  /* BatchNorm1d in training mode on N x c, with PyTorch's CPU arithmetic (see        \
   * ops_impl.h): batch statistics, saves mean and invstd; running statistics        \
   * (may be NULL) updated with @momentum, unbiased variance. n >= 2. */               \
  void irc_tr_batchnorm_fwd##S (T *dst, T *mean, T *invstd, const T *src, int n,       \
      int c, const T *wt, const T *bias, T *run_mean, T *run_var, double momentum,     \
      double eps);                                                                     \
  void irc_tr_batchnorm_bwd##S (T *dsrc, T *dwt, T *dbias, const T *dout,              \
      const T *src, const T *mean, const T *invstd, int n, int c, const T *wt);         \
  /* erf GELU: PyTorch's CPU approximation in float (torch_cpu.h), exact in double;  \
   * backward from the input */                                                        \
  void irc_tr_gelu_fwd##S (T *dst, const T *src, size_t count);                        \
  void irc_tr_gelu_bwd##S (T *dsrc, const T *dout, const T *src, size_t count);        \
  /* global average pool of (c, N, hw) into N x c rows */                              \
  void irc_tr_avgpool_fwd##S (T *dst, const T *src, int c, int n, size_t hw);          \
  void irc_tr_avgpool_bwd##S (T *dsrc, const T *dout, int c, int n, size_t hw);

IRC_TR_DECLARE_OPS (float, _f)
IRC_TR_DECLARE_OPS (double, _d)

/* Floats of im2col scratch a 3x3 conv of one image needs. */
size_t irc_tr_col_floats (int cin, int ho, int wo);

/* Output size of a 3x3, padding 1 convolution along one axis. */
static inline int
irc_tr_conv_out (int n, int stride)
{
  return (n - 1) / stride + 1;
}

#endif
