/* torch_cpu: PyTorch 1.13's CPU float arithmetic, operation for operation,
 * where the training step depends on the last bit.
 *
 * Why: at batch 2 the encoder's BatchNorm1d sees two pooled feature vectors
 * that differ by a few ulps of their Linear outputs, and scales that
 * difference by 1/sqrt(eps) ~ 300; the InfoNCE gradient that comes back
 * into it cancels between the two images. A one-ulp change anywhere on that
 * path moves the codes, the InfoNCE loss and the encoder's gradients far past
 * the golden step's tolerances (exact arithmetic lands 1.2e-3 from the
 * golden InfoNCE loss). So the encoder head and the InfoNCE loss repeat what
 * PyTorch computes: GELU as oneDNN 2.6 (Abramowitz-Stegun erf and oneDNN's
 * exp), exp and log as SLEEF 3.5 (expf_u10, logf_u10), and the summation
 * orders of ATen's AVX2 kernels. Each function was checked bit for bit
 * against PyTorch on 1e5 to 2e6 inputs. */
#ifndef IRC_TRAIN_TORCH_CPU_H
#define IRC_TRAIN_TORCH_CPU_H

#include <math.h>

/* Functions built twice, for CPUs with and without FMA and picked at load
 * time (an ifunc): fmaf() is one instruction in the first and a libm call in
 * the second, with the same result either way. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__)
#define IRC_TR_FMA_CLONES __attribute__ ((target_clones ("fma", "default")))
#else
#define IRC_TR_FMA_CLONES
#endif

/* Loops built twice, for AVX2 (8 floats a vector) and baseline SSE2; the
 * same arithmetic (no contraction) either way. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__)
#define IRC_TR_VEC_CLONES __attribute__ ((target_clones ("avx2", "default")))
#else
#define IRC_TR_VEC_CLONES
#endif

/* exp and log as Vectorized<float>::exp() and ::log() (SLEEF, 1 ulp) */
float irc_tr_torch_expf (float x);
float irc_tr_torch_logf (float x);

/* F.gelu (exact, erf form) as oneDNN's eltwise_gelu_erf computes it, and its
 * derivative as oneDNN's backward (the gradient is dy * irc_tr_torch_gelu_grad) */
float irc_tr_torch_gelu (float x);
float irc_tr_torch_gelu_grad (float x);

/* torch.sum over a contiguous row of @n floats (ATen's vectorised inner
 * reduction, 8 lanes, 4 accumulators; exact order for n < 512) */
float irc_tr_torch_sum (const float *x, int n);

/* vec::reduce_all(+) over @n floats, the sum inside log_softmax and its
 * backward: 8 lanes, then a tree across them */
float irc_tr_torch_reduce_sum (const float *x, int n);

#endif
