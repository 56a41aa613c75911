/* checkpoint: irc-train's files. The state file holds everything a run needs
 * to continue bit for bit (and loads as a model itself); the EMA weights are
 * written as a plain model with the official tensor names. */
#ifndef IRC_TRAIN_CHECKPOINT_H
#define IRC_TRAIN_CHECKPOINT_H

#include "train/train.h"
#include "io/degrade.h"

/* PyTorch's default initialisation (the paper's): Conv2d and Linear weights
 * and biases uniform in +-1/sqrt(fan_in), norm scales one, shifts zero,
 * NAFBlock beta and gamma zero, BatchNorm statistics 0 and 1. */
void trc_init_default (irc_model *model, irc_rng *rng);

/* Writes the trainer's whole state to @path (temporary file, then rename):
 * the parameters and BatchNorm statistics under their official names, the
 * key encoder (ConStyle.encoder_k.*), the queue and its pointer, the
 * counters, and under "train.": AdamW moments, EMA, the iteration and the
 * @n_rngs generators. @meta_kv: @n_meta key/value metadata pairs. */
irc_status trc_save_state (const char *path, irc_trainer *tr, irc_model *model,
    const irc_rng *rngs, int n_rngs, const char *const *meta_kv, size_t n_meta,
    irc_error *err);

/* Reads a state written by trc_save_state() for the same configuration and
 * hyper-parameters into @tr, @model (the trainer's) and @rngs. */
irc_status trc_load_state (const char *path, irc_trainer *tr, irc_model *model,
    irc_rng *rngs, int n_rngs, irc_error *err);

/* Copies the trainer's EMA weights (and BatchNorm statistics) into @dst, a
 * model of the same configuration. */
irc_status trc_copy_ema (irc_trainer *tr, irc_model *dst, irc_error *err);

#endif
