/* optim: AdamW, the EMA of the weights, the MoCo momentum update of the key
 * encoder, and the learning-rate schedule; each walks tensor arrays that
 * share one layout (the descriptors of irc_weights_describe()). */
#ifndef IRC_TRAIN_OPTIM_H
#define IRC_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

/* One AdamW step (torch.optim.AdamW, decoupled weight decay, bias-corrected,
 * @step 1-based) on @count values. */
void irc_tr_adamw (float *param, float *m, float *v, const float *grad, size_t count,
    int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay);

/* dst = decay * dst + (1 - decay) * src, rounded as PyTorch's
 * dst.mul_(decay).add_(src * (1 - decay)) (the MoCo update) */
void irc_tr_momentum (float *dst, const float *src, size_t count, double decay);

/* dst = decay * dst + (1 - decay) * src, as BasicSR's EMA
 * (dst.mul_(decay).add_(src, alpha=1 - decay)) */
void irc_tr_ema (float *dst, const float *src, size_t count, double decay);

#endif
