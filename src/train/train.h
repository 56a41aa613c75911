/* train: the training core of irc-train. One trainer holds the network being
 * trained (an irc_model, updated in place), its gradients, AdamW moments,
 * EMA copy, the MoCo key encoder and queue, all in the layout of
 * irc_weights_describe(), and runs the paper's joint step (its section 4). */
#ifndef IRC_TRAIN_TRAIN_H
#define IRC_TRAIN_TRAIN_H

#include "irc/irc.h"
#include "train/dist.h"

#include <stdint.h>

/** Hyper-parameters. Use IRC_TRAIN_DEFAULTS (the paper's, with a batch and
 * patch that fit a CPU) and change what you need. */
typedef struct {
  int batch;                /**< images per step (>= 2: BatchNorm needs batch statistics) */
  int patch;                /**< square patch side, a multiple of 8 */
  int queue_size;           /**< MoCo queue length K, a multiple of batch */
  double moco_m;            /**< key encoder momentum (0.999) */
  double moco_t;            /**< InfoNCE temperature (0.07) */
  double lr;                /**< base learning rate (3e-4) */
  double lr_min;            /**< end of the cosine (1e-6) */
  int64_t lr_const_iters;   /**< iterations at @lr before the cosine starts */
  int64_t lr_cos_iters;     /**< length of the cosine; 0: constant forever */
  double beta1, beta2, adam_eps, weight_decay;   /**< AdamW (0.9, 0.999, 1e-8, 1e-4) */
  double ema_decay;         /**< EMA of the parameters (0.999) */
  double bn_momentum;       /**< BatchNorm1d running statistics (0.1) */
  int64_t constyle_iters;   /**< joint stage length: contrastive losses on and the
                                 encoder trained while iteration <= this; frozen after */
  int no_constyle;          /**< ablation: L1 only from the start, no key encoder or
                                 queue; the encoder is trained by the pixel loss alone */
  int psnr_loss;            /**< pixel loss: 0 the paper's L1; 1 NAFNet's PSNR loss (minus
                                 the batch's mean PSNR), which weighs a lightly degraded
                                 crop as much as a heavily degraded one */
} irc_train_params;

#define IRC_TRAIN_DEFAULTS { 8, 96, 8 * 1024, 0.999, 0.07, 3e-4, 1e-6, 243312, 460320, \
    0.9, 0.999, 1e-8, 1e-4, 0.999, 0.1, 250000, 0, 0 }

/** Loss values of one step (l_ce, l_content, l_style are 0 outside the joint stage). */
typedef struct {
  double l_pix;             /**< mean |out - gt| of the batch, whichever pixel loss trains */
  double l_psnr;            /**< the PSNR loss (dB) when it trains, else 0 */
  double l_ce, l_content, l_style;
  double l_degradation;     /**< degradation head objective (irc_trainer_degradation_step) */
  double total;             /**< the objective: the pixel loss in use plus the others */
  double lr;                /**< learning rate the step used */
} irc_train_losses;

typedef struct irc_trainer irc_trainer;

/** A trainer for @model, whose weights it trains in place (the model must
 * outlive the trainer). The key encoder starts as a copy of encoder_q, the
 * EMA as a copy of the parameters; the queue is zero: fill it with
 * irc_trainer_queue() (the paper draws it from N(0, 1)). */
irc_status irc_trainer_new (irc_model *model, const irc_train_params *params,
    irc_trainer **out, irc_error *err);
void irc_trainer_free (irc_trainer **tr);

/** Data-parallel training over the processes of @dist (dist.h), before the
 * first step: each process steps on its own share of the global batch
 * (params.batch rows of the batch x size rows one process would take); the
 * encoder's BatchNorm uses the statistics of the global batch, the style
 * loss and the MoCo queue see the global batch's codes in rank order, and
 * the gradients are averaged over the processes before AdamW, so every
 * process holds the same state after each step. The queue size must be a
 * multiple of the global batch. @dist must outlive the trainer; NULL or a
 * world of one: a single process (the default). */
irc_status irc_trainer_set_dist (irc_trainer *tr, irc_dist *dist, irc_error *err);

/** One step on a batch: @lq (degraded) and @gt (clean) are batch x 3 x patch
 * x patch floats (NCHW). Momentum update of the key encoder, key pass, losses,
 * EMA update (before the optimiser, as the authors' code), backward, AdamW.
 * A non-finite loss returns IRC_ERR_INVALID before the optimiser touches
 * the parameters (BatchNorm statistics and the key encoder have moved). */
irc_status irc_trainer_step (irc_trainer *tr, const float *lq, const float *gt,
    irc_train_losses *losses, irc_error *err);

/** Targets of the degradation head for one crop: presence of rain, haze,
 * noise, blur (0 or 1), then each one's strength in [0, 1] (ignored where
 * absent). */
#define IRC_TRAIN_DEGRADATION_TARGETS 8

/** One step of the degradation pre-training: the ConStyle encoder (query)
 * and the model's degradation head learn to read from the code of @lq
 * (batch x 3 x patch x patch, NCHW) which degradations it holds and how
 * strong they are (@targets: batch x IRC_TRAIN_DEGRADATION_TARGETS). The
 * objective is binary cross-entropy per kind on presence, plus binary
 * cross-entropy on the strengths of the kinds present; the U-Net is not
 * run. AdamW on the encoder and head only, same schedule as the joint step.
 * The model must have a degradation head (config.degradation_head). */
irc_status irc_trainer_degradation_step (irc_trainer *tr, const float *lq,
    const float *targets, irc_train_losses *losses, irc_error *err);

/** Learning rate of 1-based iteration @iter (constant, then cosine). */
double irc_train_lr (const irc_train_params *params, int64_t iter);

/** Iterations done so far; setting it is for resuming. */
int64_t irc_trainer_iteration (const irc_trainer *tr);
void irc_trainer_set_iteration (irc_trainer *tr, int64_t iter);

/** The MoCo queue (code x K floats, column j = entry j) and its pointer. */
float *irc_trainer_queue (irc_trainer *tr, int *code, int *size);
int64_t *irc_trainer_queue_ptr (irc_trainer *tr);

/** The last step's outputs: the restored batch (NCHW) and the logits
 * (batch x (1 + K)); NULL before the first step or without ConStyle. */
const float *irc_trainer_output (const irc_trainer *tr);
const float *irc_trainer_logits (const irc_trainer *tr);

/** Which copy of the network irc_trainer_tensor() looks in. */
typedef enum {
  IRC_TRAIN_PARAM,          /**< the weights being trained (the model's storage) */
  IRC_TRAIN_GRAD,           /**< gradients of the last step */
  IRC_TRAIN_ADAM_M,         /**< AdamW first moment */
  IRC_TRAIN_ADAM_V,         /**< AdamW second moment */
  IRC_TRAIN_EMA,            /**< EMA of the parameters (BatchNorm buffers as loaded) */
  IRC_TRAIN_KEY,            /**< key encoder: names start with "ConStyle.encoder_k." */
} irc_train_copy;

/** Storage of tensor @name (official name) in @copy, or NULL; BatchNorm
 * counters (num_batches_tracked) are read with irc_trainer_counter(). */
float *irc_trainer_tensor (irc_trainer *tr, irc_train_copy copy, const char *name,
    size_t *count);

/** The num_batches_tracked counter called @name (encoder_q or encoder_k), or NULL. */
int64_t *irc_trainer_counter (irc_trainer *tr, const char *name);

/** Optional wall-time breakdown of irc_trainer_step (irc-train-bench). */
typedef enum {
  IRC_TRAIN_PHASE_KEY,        /**< key encoder: momentum update and its forward */
  IRC_TRAIN_PHASE_FORWARD,    /**< query encoder and U-Net forward */
  IRC_TRAIN_PHASE_LOSSES,     /**< pixel loss and the ConStyle losses */
  IRC_TRAIN_PHASE_BACKWARD,   /**< U-Net backward (into the codes and feature maps) */
  IRC_TRAIN_PHASE_ENCODER,    /**< ConStyle encoder backward */
  IRC_TRAIN_PHASE_OPTIMISER,  /**< EMA, AdamW, the EMA's encoder copy */
  IRC_TRAIN_PHASE_OTHER,      /**< layout changes, zeroing the gradients, the queue */
  IRC_TRAIN_PHASES
} irc_train_phase;

/** Op families inside a phase (the same order as train/prof.h). */
typedef enum {
  IRC_TRAIN_OPS_CONV3X3,      /**< dense 3x3 convolutions */
  IRC_TRAIN_OPS_GEMM,         /**< 1x1 convolutions and linear layers */
  IRC_TRAIN_OPS_DEPTHWISE,    /**< depthwise 3x3 convolutions */
  IRC_TRAIN_OPS_ELEMENTWISE,  /**< norms, gates, activations, pooling, shuffles */
  IRC_TRAIN_OPS_FAMILIES
} irc_train_op_family;

typedef struct {
  double phase[IRC_TRAIN_PHASES];                          /**< seconds, summed over steps */
  double ops[IRC_TRAIN_PHASES][IRC_TRAIN_OPS_FAMILIES];    /**< op seconds within each phase */
  int64_t steps;              /**< steps timed */
} irc_train_timing;

/** Makes irc_trainer_step add its wall time per phase and per op family to
 * @timing (zero it first); NULL (the default) stops. Timing only reads the
 * clock around the phases and the ops: the arithmetic is the same. */
void irc_trainer_set_timing (irc_trainer *tr, irc_train_timing *timing);

#endif
