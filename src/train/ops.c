/* ops: instantiates the training ops (ops_impl.h) in float, for training,
 * and in double, for the gradient checks, so both run the same code. */
#include "train/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

size_t
irc_tr_col_floats (int cin, int ho, int wo)
{
  return (size_t) cin * 9 * ho * wo;
}

#define T float
#define FN(name) name##_f
#define GEMM cblas_sgemm
#define FMA fmaf
#include "train/ops_impl.h"
#undef T
#undef FN
#undef GEMM
#undef FMA
#undef LN_BLOCK
#undef PAR_MIN

#define T double
#define FN(name) name##_d
#define GEMM cblas_dgemm
#define FMA fma
#include "train/ops_impl.h"
