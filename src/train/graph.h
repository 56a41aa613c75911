/* graph: the training forward of the ConStyle encoder and the U-Net on a
 * batch, saving every activation the backward needs, and the backward that
 * turns the losses' gradients into parameter gradients. Internal to
 * irc-train; all buffers are planned once for (config, batch, patch). */
#ifndef IRC_TRAIN_GRAPH_H
#define IRC_TRAIN_GRAPH_H

#include "weights.h"
#include "train/dist.h"

/* Saved activations of one NAFBlock (c channels, P = N*h*w columns, CNHW). */
typedef struct {
  const float *x;                    /* input (the previous tensor, not owned) */
  float *n1, *mu1, *rs1;             /* norm1 output, its mean and 1/std per column */
  float *t1, *t2;                    /* conv1 (2c), depthwise conv2 (2c) */
  float *g;                          /* SimpleGate output (c) */
  float *m, *s;                      /* SCA pooled (c x N) and its 1x1 conv (c x N) */
  float *h, *t3, *y;                 /* g * s, conv3, y = x + t3 * beta */
  float *n2, *mu2, *rs2, *u, *v, *t5;
  float *out;                        /* y + t5 * gamma */
} irc_tr_block;

/* Encoder activations (training mode) for one batch. */
typedef struct {
  const float *x;                    /* input (3, N, H, W) */
  float *st[IRC_ENC_STAGES];         /* stage outputs after LeakyReLU(0.1) */
  int sh[IRC_ENC_STAGES + 1], sw[IRC_ENC_STAGES + 1];   /* [0]: input, [k+1]: stage k */
  float *pooled;                     /* N x 16w */
  float *z[2], *mean[2], *invstd[2], *bn[2];            /* linear, BN stats, BN output */
  float *code[2];                    /* GELU outputs, N x code: q[0], q[1] */
} irc_tr_enc;

/* Data-parallel training (set by irc_trainer_set_dist; NULL in a single
 * process): the encoder's BatchNorm then normalises over the whole global
 * batch, every rank's rows gathered in rank order, as PyTorch's
 * SyncBatchNorm. Every rank computes the same statistics and the same
 * backward over all rows and keeps its own rows' share. */
typedef struct {
  irc_dist *dist;
  float *z_all[2][2];                /* [query, key pass][head]: Linear outputs, all rows */
  float *rows_a, *rows_b;            /* scratch: global batch x the widest head */
  float *dwt, *dbias;                /* scratch: BatchNorm parameter gradients */
  irc_status status;                 /* the first failed communication, and why */
  irc_error err;
} irc_tr_sync;

typedef struct irc_tr_graph irc_tr_graph;

struct irc_tr_graph {
  irc_config cfg;
  int n, h[4], w[4];                 /* batch, level sizes (full, 1/2, 1/4, 1/8) */
  size_t p[4];                       /* columns per level: n * h * w */
  float *arena;
  size_t arena_count;

  irc_tr_enc eq, ek;                 /* query and key encoder passes */
  float *img;                        /* lq, (3, N, H, W) */
  float *lvin[4];                    /* level inputs: preprocess, cat(DC, AT) x3 */
  irc_tr_block *left[3], *bottom, *right[3];
  float *qv, *qvt;                   /* mlp(q[1]): N x 4C and transposed 4C x N */
  float *xq, *fus;                   /* bottom * qv, local_fusion output */
  float *sh[3], *rin[3];             /* UC: shuffled up-conv, 1x1 output (right level input) */
  float *out;                        /* restored image (3, N, H, W) */
  float *tmp, *col;                  /* forward scratch: conv outputs, im2col */

  /* backward */
  float *dout;                       /* dL/dout (3, N, H, W) */
  float *dskip[3], *dbot, *dxq, *dr, *dsh, *dup;
  float *ba, *bb, *bc, *bd, *bs, *bm;   /* NAFBlock scratch: 2c, 2c, c, c, c x N, c x N */
  float *dcode[2], *dqv, *dqvt, *dfea[3];
  float *de[2], *dv[2];              /* encoder: stage ping-pong, N x code vectors */

  irc_tr_sync *sync;                 /* data-parallel BatchNorm, or NULL (not owned) */
};

irc_status irc_tr_graph_new (const irc_config *cfg, int batch, int height, int width,
    irc_tr_graph **out, irc_error *err);
void irc_tr_graph_free (irc_tr_graph **g);

/* Encoder in training mode on @x (3, N, H, W): batch statistics, running
 * statistics of @w updated (@bn_momentum). */
void irc_tr_encoder_fwd (irc_tr_graph *g, irc_tr_enc *e, const irc_encoder_w *w,
    const float *x, double bn_momentum);
/* Encoder backward from g->dcode[0..1] and g->dfea[0..2] into @gw. */
void irc_tr_encoder_bwd (irc_tr_graph *g, const irc_encoder_w *w, irc_encoder_w *gw);

/* U-Net forward on g->img with the query pass's codes and features. */
void irc_tr_unet_fwd (irc_tr_graph *g, const irc_weights *w);
/* U-Net backward from g->dout into @gw; adds to g->dcode[1] and, when
 * @want_fea, writes g->dfea (else the encoder is frozen and they are skipped). */
void irc_tr_unet_bwd (irc_tr_graph *g, const irc_weights *w, irc_weights *gw, int want_fea);

/* One NAFBlock, forward and backward (in place on @d: dL/dout -> dL/dx). */
void irc_tr_block_fwd (irc_tr_graph *g, irc_tr_block *a, const irc_nafblock_w *w,
    const float *x, int lvl);
void irc_tr_block_bwd (irc_tr_graph *g, irc_tr_block *a, const irc_nafblock_w *w,
    irc_nafblock_w *gw, float *d, int lvl);

#endif
