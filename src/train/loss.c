/* loss: instantiates the losses (loss_impl.h) in float, with PyTorch's
 * arithmetic (torch_cpu.h), and in double, exact, for the gradient checks. */
#include "train/loss.h"
#include "train/torch_cpu.h"

#include <math.h>
#include <stdlib.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static double
sum_d (const double *x, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += x[i];
  return s;
}

#define T float
#define FN(name) name##_f
#define FMA fmaf
#define EXP irc_tr_torch_expf
#define LOG irc_tr_torch_logf
#define ROW_SUM irc_tr_torch_sum
#define VEC_SUM irc_tr_torch_reduce_sum
#include "train/loss_impl.h"
#undef T
#undef FN
#undef FMA
#undef EXP
#undef LOG
#undef ROW_SUM
#undef VEC_SUM

#define T double
#define FN(name) name##_d
#define FMA fma
#define EXP exp
#define LOG log
#define ROW_SUM sum_d
#define VEC_SUM sum_d
#include "train/loss_impl.h"
