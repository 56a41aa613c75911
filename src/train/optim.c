/* optim: AdamW, EMA, MoCo momentum and the learning-rate schedule, with the
 * arithmetic of PyTorch 1.13 (float tensors, float scalars) so that the
 * golden step's updated parameters match to 1e-6. */
#include "train/optim.h"
#include "train/train.h"

#include <math.h>

void
irc_tr_adamw (float *param, float *m, float *v, const float *grad, size_t count, int64_t step,
    double lr, double beta1, double beta2, double eps, double weight_decay)
{
  /* torch/optim/adamw.py, _single_tensor_adamw: the scalars are Python
   * doubles, the tensors float */
  const float decay = (float) (1.0 - lr * weight_decay);
  const float b1 = (float) beta1, b2 = (float) beta2;
  const float a1 = (float) (1.0 - beta1), a2 = (float) (1.0 - beta2);
  const double bc1 = 1.0 - pow (beta1, (double) step);
  const double bc2 = 1.0 - pow (beta2, (double) step);
  const float step_size = (float) (lr / bc1);
  const float bc2_sqrt = (float) sqrt (bc2);
  const float e = (float) eps;
#pragma omp parallel for if (count >= 32768)
  for (size_t i = 0; i < count; i++) {
    const float g = grad[i];
    param[i] *= decay;
    m[i] = m[i] * b1 + g * a1;
    v[i] = v[i] * b2 + (g * g) * a2;
    const float denom = sqrtf (v[i]) / bc2_sqrt + e;
    param[i] += -step_size * (m[i] / denom);
  }
}

void
irc_tr_momentum (float *dst, const float *src, size_t count, double decay)
{
  const float d = (float) decay, a = (float) (1.0 - decay);
  for (size_t i = 0; i < count; i++)
    dst[i] = dst[i] * d + src[i] * a;
}

void
irc_tr_ema (float *dst, const float *src, size_t count, double decay)
{
  irc_tr_momentum (dst, src, count, decay);
}

/* BasicSR's CosineAnnealingRestartCyclicLR with periods (const, cos) and
 * eta_mins (lr, lr_min): the first period anneals from lr to lr, i.e. is
 * constant. It is stepped from iteration 2, so iteration i uses epoch i - 1. */
double
irc_train_lr (const irc_train_params *p, int64_t iter)
{
  const int64_t e = iter - 1;
  if (p->lr_cos_iters <= 0 || e <= p->lr_const_iters)
    return p->lr;
  int64_t t = e - p->lr_const_iters;
  if (t > p->lr_cos_iters)
    t = p->lr_cos_iters;
  return p->lr_min + 0.5 * (p->lr - p->lr_min)
      * (1.0 + cos (M_PI * (double) t / (double) p->lr_cos_iters));
}
