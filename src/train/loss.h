/* loss: the paper's training objective on a batch (its PyTorch reference step):
 * L1 pixel loss (or NAFNet's PSNR loss), MoCo InfoNCE on unnormalised codes, content MSE and the
 * negative style loss on code Gram matrices. Each returns its value and adds
 * its gradient (+=); float for training, double for the gradient checks. */
#ifndef IRC_TRAIN_LOSS_H
#define IRC_TRAIN_LOSS_H

#include <stddef.h>

#define IRC_TR_DECLARE_LOSSES(T, S)                                                    \
  /* mean |out - gt| over @count values; grad (if not NULL) += sign(out - gt) / count */\
  double irc_tr_l1##S (T *grad, const T *out, const T *gt, size_t count);             \
  /* NAFNet's PSNR loss: batch mean of 10 log10(mse_b + 1e-8) over the n samples   \
   * of a channel-major (c, n, hw) pair; grad += its gradient */                     \
  double irc_tr_psnr_loss##S (T *grad, const T *out, const T *gt, int n, int channels, \
      size_t hw);                                                                      \
  /* logits (n x (1+K)) = [q.k, q @ queue] / t, q and k n x d, queue d x K;            \
   * returns the cross-entropy with target 0 (batch mean) and adds its gradient        \
   * to dq (k and the queue are constants) */                                           \
  double irc_tr_infonce##S (T *dq, T *logits, const T *q, const T *k, const T *queue, \
      int n, int d, int K, double t);                                                  \
  /* mean((q - k)^2) over n x d; dq += its gradient */                                \
  double irc_tr_content##S (T *dq, const T *q, const T *k, int n, int d);             \
  /* one term of the style loss: -mean((q q^T / nn - g g^T / nn)^2) with the          \
   * negatives g (n x d) constant; dq += its gradient */                                \
  double irc_tr_style_term##S (T *dq, const T *q, const T *g, int n, int d, double nn);

IRC_TR_DECLARE_LOSSES (float, _f)
IRC_TR_DECLARE_LOSSES (double, _d)

#endif
