/* weights: the network's parameters as typed views, and the one list of every
 * tensor (official name, shape, storage) that loading, saving, training and
 * gradient buffers all walk in the same order. */
#ifndef IRC_WEIGHTS_H
#define IRC_WEIGHTS_H

#include "irc/irc.h"

typedef struct {
  int c;
  float *beta, *gamma;              /* (1,c,1,1) */
  float *conv1_w, *conv1_b;         /* 1x1 c -> 2c */
  float *conv2_w, *conv2_b;         /* depthwise 3x3 on 2c */
  float *conv3_w, *conv3_b;         /* 1x1 c -> c */
  float *sca_w, *sca_b;             /* 1x1 c -> c on the pooled vector */
  float *conv4_w, *conv4_b;         /* 1x1 c -> 2c */
  float *conv5_w, *conv5_b;         /* 1x1 c -> c */
  float *norm1_w, *norm1_b, *norm2_w, *norm2_b;
} irc_nafblock_w;

#define IRC_ENC_STAGES 9

typedef struct {
  float *conv_w[IRC_ENC_STAGES];    /* 3x3, no bias, LeakyReLU(0.1) after */
  int cin[IRC_ENC_STAGES], cout[IRC_ENC_STAGES], stride[IRC_ENC_STAGES];
  /* mlp{1,2}: Linear -> BatchNorm1d -> GELU */
  float *lin_w[2], *lin_b[2], *bn_w[2], *bn_b[2], *bn_mean[2], *bn_var[2];
  int lin_in[2], lin_out[2];
} irc_encoder_w;

typedef struct {
  irc_config cfg;
  irc_encoder_w enc;
  float *pre_w;                     /* Preprocess_Module.0: 3x3 3 -> C */
  irc_nafblock_w *left[3], *bottom, *right[3];
  float *dc_w[3];                   /* DC{l}.down.0: 3x3 n -> n/4 */
  float *local_fusion_w;            /* 1x1 8C -> 3C */
  float *uc_up_w[3];                /* UC{l}.up.0: 3x3 n -> 4n (index l-1) */
  float *uc_down_w[3];              /* UC{l}.down: 1x1 a -> b */
  float *fin_w;                     /* Finetune_Module.0: 3x3 2C -> 3 */
  float *mlp_w, *mlp_b;             /* Linear code -> 4C */
  float *at_w[3];                   /* AffineTransform{k}.0: 1x1, LeakyReLU(0.1) after */
  float *head_w, *head_b;           /* ConStyle.degradation_head: Linear code -> outputs
                                       (cfg.degradation_head; NULL without one) */
  /* channel plan, derived from cfg */
  int lc[3];                        /* left level channels C, 2C, 3C */
  int uc_n[3], uc_a[3], uc_b[3];    /* UC{l}(n, a, b) */
  int rc[3];                        /* right level channels 2C, 3C, 4C */
} irc_weights;

typedef enum {
  IRC_TENSOR_PARAM,                 /* trained float parameter */
  IRC_TENSOR_BUFFER,                /* float BatchNorm running statistic */
  IRC_TENSOR_COUNTER,               /* I64 num_batches_tracked, no storage */
} irc_tensor_kind;

typedef struct {
  char name[96];
  irc_tensor_kind kind;
  int ndim;
  int64_t shape[4];
  size_t count;
  float **slot;                     /* where the storage pointer goes (NULL for counters) */
} irc_tensor_desc;

/* Lists every tensor of @cfg into @w's slots, in the authors' state_dict
 * order, with the encoder under @enc_prefix ("ConStyle.encoder_q"). Returns
 * the number of descriptors; @descs may be NULL to count. The block arrays of
 * @w must have been allocated with irc_weights_alloc_blocks(). */
size_t irc_weights_describe (irc_weights *w, const char *enc_prefix,
    irc_tensor_desc *descs, size_t max);

/* Channels of the widest NAFBlock of @w (at least 1): what the channel
 * attention's per-channel mean and scale buffers must hold. */
size_t irc_weights_widest_block (const irc_weights *w);
/* The channels of all NAFBlocks together (one pooled mean each: the size
 * of a net's scene attention). */
size_t irc_weights_block_channels (const irc_weights *w);

/* Sets the channel plan of @w from @cfg and allocates its block arrays. */
irc_status irc_weights_init (irc_weights *w, const irc_config *cfg, irc_error *err);
void irc_weights_clear (irc_weights *w);

/* W' = W diag(scale), b' = b + W shift (accumulated in double): a
 * LayerNorm's affine folded into the 1x1 convolution (cout x cin) after it.
 * Every backend folds its NAFBlocks with this, so they agree bit for bit. */
void irc_fold_norm (float *w_out, float *b_out, const float *w, const float *b, int cout,
    int cin, const float *scale, const float *shift);

/* The model object (internal layout). */
struct irc_model {
  irc_weights w;
  irc_tensor_desc *descs;
  size_t n_descs;
  float *arena;                     /* every float tensor, in descriptor order */
  size_t arena_count;
  char **meta;                      /* key, value pairs */
  size_t n_meta;
};

#endif
