/* graph: buffer plan of a training batch, and the U-Net's training forward
 * and backward (the encoder lives in encoder.c, the blocks in nafblock.c). */
#include "train/graph.h"
#include "train/ops.h"
#include "train/prof.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* A bump allocator walked twice: once to count, once to hand out views. */
typedef struct {
  float *base;
  size_t off;
} bump;

static float *
take (bump *b, size_t count)
{
  float *p = b->base ? b->base + b->off : NULL;
  b->off += (count + 15) / 16 * 16;   /* 64-byte aligned views */
  return p;
}

static size_t
max2 (size_t a, size_t b)
{
  return a > b ? a : b;
}

static void
plan_block (bump *b, irc_tr_block *a, int c, size_t p, int n)
{
  const size_t cp = (size_t) c * p;
  a->n1 = take (b, cp), a->mu1 = take (b, p), a->rs1 = take (b, p);
  a->t1 = take (b, 2 * cp), a->t2 = take (b, 2 * cp), a->g = take (b, cp);
  a->m = take (b, (size_t) c * n), a->s = take (b, (size_t) c * n);
  a->h = take (b, cp), a->t3 = take (b, cp), a->y = take (b, cp);
  a->n2 = take (b, cp), a->mu2 = take (b, p), a->rs2 = take (b, p);
  a->u = take (b, 2 * cp), a->v = take (b, cp), a->t5 = take (b, cp), a->out = take (b, cp);
}

static void
plan_encoder (bump *b, irc_tr_enc *e, const irc_tr_graph *g, const irc_weights *w)
{
  const irc_encoder_w *ew = &w->enc;
  for (int k = 0; k < IRC_ENC_STAGES; k++)
    e->st[k] = take (b, (size_t) ew->cout[k] * g->n * e->sh[k + 1] * e->sw[k + 1]);
  e->pooled = take (b, (size_t) g->n * ew->cout[IRC_ENC_STAGES - 1]);
  for (int i = 0; i < 2; i++) {
    const size_t v = (size_t) g->n * ew->lin_out[i];
    e->z[i] = take (b, v), e->bn[i] = take (b, v), e->code[i] = take (b, v);
    e->mean[i] = take (b, (size_t) ew->lin_out[i]);
    e->invstd[i] = take (b, (size_t) ew->lin_out[i]);
  }
}

/* Assigns every view; with b->base NULL only counts. */
static void
plan (irc_tr_graph *g, const irc_weights *w, bump *b)
{
  const irc_config *cfg = &g->cfg;
  const int n = g->n, C = cfg->dim;
  const size_t *p = g->p;
  size_t col = 0, tmp = 0, scratch = 0;

  /* encoder sizes and its im2col scratch */
  irc_tr_enc *encs[2] = {&g->eq, &g->ek};
  for (int i = 0; i < 2; i++) {
    irc_tr_enc *e = encs[i];
    e->sh[0] = g->h[0], e->sw[0] = g->w[0];
    for (int k = 0; k < IRC_ENC_STAGES; k++) {
      e->sh[k + 1] = irc_tr_conv_out (e->sh[k], w->enc.stride[k]);
      e->sw[k + 1] = irc_tr_conv_out (e->sw[k], w->enc.stride[k]);
      col = max2 (col, irc_tr_col_floats (w->enc.cin[k], e->sh[k + 1], e->sw[k + 1]));
    }
    plan_encoder (b, e, g, w);
  }
  g->img = take (b, 3 * p[0]);
  g->lvin[0] = take (b, (size_t) C * p[0]);
  for (int l = 0; l < 3; l++) {
    g->lvin[l + 1] = take (b, (size_t) (l + 2) * C * p[l + 1]);
    for (int i = 0; i < cfg->left[l]; i++)
      plan_block (b, &g->left[l][i], w->lc[l], p[l], n);
    col = max2 (col, irc_tr_col_floats (w->lc[l], g->h[l], g->w[l]));
    tmp = max2 (tmp, (size_t) w->lc[l] / 4 * p[l]);
    scratch = max2 (scratch, (size_t) w->lc[l] * p[l]);
  }
  for (int i = 0; i < cfg->bottom; i++)
    plan_block (b, &g->bottom[i], 4 * C, p[3], n);
  scratch = max2 (scratch, (size_t) 4 * C * p[3]);
  g->qv = take (b, (size_t) n * 4 * C), g->qvt = take (b, (size_t) n * 4 * C);
  g->xq = take (b, (size_t) 4 * C * p[3]);
  g->fus = take (b, (size_t) 3 * C * p[3]);
  size_t dsh = 0;
  for (int l = 2; l >= 0; l--) {
    g->sh[l] = take (b, (size_t) w->uc_n[l] * p[l]);
    g->rin[l] = take (b, (size_t) w->uc_b[l] * p[l]);
    for (int i = 0; i < cfg->right[l]; i++)
      plan_block (b, &g->right[l][i], w->rc[l], p[l], n);
    col = max2 (col, irc_tr_col_floats (w->uc_n[l], g->h[l + 1], g->w[l + 1]));
    tmp = max2 (tmp, (size_t) 4 * w->uc_n[l] * p[l + 1]);
    dsh = max2 (dsh, (size_t) w->uc_n[l] * p[l]);
    scratch = max2 (scratch, (size_t) w->rc[l] * p[l]);
  }
  g->out = take (b, 3 * p[0]);
  col = max2 (col, irc_tr_col_floats (2 * C, g->h[0], g->w[0]));
  g->tmp = take (b, tmp);
  g->col = take (b, col);

  g->dout = take (b, 3 * p[0]);
  for (int l = 0; l < 3; l++)
    g->dskip[l] = take (b, (size_t) w->lc[l] * p[l]);
  g->dbot = take (b, (size_t) 4 * C * p[3]);
  g->dxq = take (b, (size_t) 4 * C * p[3]);
  g->dr = take (b, max2 (scratch, (size_t) 3 * C * p[3]));
  g->dsh = take (b, dsh);
  g->dup = take (b, max2 (dsh, tmp));
  g->ba = take (b, 2 * scratch), g->bb = take (b, 2 * scratch);
  g->bc = take (b, scratch), g->bd = take (b, scratch);
  const size_t vec = (size_t) n * max2 (max2 ((size_t) 4 * C, (size_t) cfg->code),
      (size_t) w->enc.cout[IRC_ENC_STAGES - 1]);
  g->bs = take (b, vec), g->bm = take (b, vec);
  for (int i = 0; i < 2; i++) {
    g->dcode[i] = take (b, vec);
    g->dv[i] = take (b, vec);
  }
  g->dqv = take (b, vec), g->dqvt = take (b, vec);
  for (int l = 0; l < 3; l++)
    g->dfea[l] = take (b, (size_t) w->enc.cout[2 + 2 * l] * p[l + 1]);
  size_t de = 0;
  for (int k = 0; k < IRC_ENC_STAGES; k++)
    de = max2 (de, (size_t) w->enc.cout[k] * n * g->eq.sh[k + 1] * g->eq.sw[k + 1]);
  g->de[0] = take (b, de), g->de[1] = take (b, de);
}

irc_status
irc_tr_graph_new (const irc_config *cfg, int batch, int height, int width,
    irc_tr_graph **out, irc_error *err)
{
  if (batch < 2)
    return irc_fail (err, IRC_ERR_INVALID,
        "batch %d: training needs at least 2 images (BatchNorm uses batch statistics)", batch);
  if (height < 8 || width < 8 || height % 8 || width % 8 || height > 4096 || width > 4096)
    return irc_fail (err, IRC_ERR_INVALID,
        "patch %dx%d: sides must be multiples of 8 between 8 and 4096", width, height);
  irc_weights w;
  irc_status st = irc_weights_init (&w, cfg, err);
  if (st != IRC_OK)
    return st;
  irc_tr_graph *g = calloc (1, sizeof *g);
  if (!g) {
    irc_weights_clear (&w);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  }
  g->cfg = *cfg;
  g->n = batch;
  for (int l = 0; l < 4; l++) {
    g->h[l] = height >> l, g->w[l] = width >> l;
    g->p[l] = (size_t) batch * g->h[l] * g->w[l];
  }
  for (int l = 0; l < 3; l++) {
    g->left[l] = calloc ((size_t) cfg->left[l] + 1, sizeof (irc_tr_block));
    g->right[l] = calloc ((size_t) cfg->right[l] + 1, sizeof (irc_tr_block));
  }
  g->bottom = calloc ((size_t) cfg->bottom + 1, sizeof (irc_tr_block));
  int ok = g->bottom != NULL;
  for (int l = 0; l < 3; l++)
    ok = ok && g->left[l] && g->right[l];
  bump b = {NULL, 0};
  if (ok) {
    plan (g, &w, &b);
    g->arena_count = b.off;
    g->arena = aligned_alloc (64, b.off * sizeof (float));
    ok = g->arena != NULL;
  }
  if (!ok) {
    irc_weights_clear (&w);
    irc_tr_graph_free (&g);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for %zu MB of training activations",
        b.off * sizeof (float) >> 20);
  }
  memset (g->arena, 0, g->arena_count * sizeof (float));
  b.base = g->arena, b.off = 0;
  plan (g, &w, &b);
  irc_weights_clear (&w);
  *out = g;
  return IRC_OK;
}

void
irc_tr_graph_free (irc_tr_graph **gp)
{
  if (!gp || !*gp)
    return;
  irc_tr_graph *g = *gp;
  for (int l = 0; l < 3; l++) {
    free (g->left[l]);
    free (g->right[l]);
  }
  free (g->bottom);
  free (g->arena);
  free (g);
  *gp = NULL;
}

/* Runs @count blocks from @x; returns the last output (or @x). */
static const float *
blocks_fwd (irc_tr_graph *g, irc_tr_block *a, const irc_nafblock_w *w, int count,
    const float *x, int lvl)
{
  for (int i = 0; i < count; i++) {
    irc_tr_block_fwd (g, &a[i], &w[i], x, lvl);
    x = a[i].out;
  }
  return x;
}

static void
blocks_bwd (irc_tr_graph *g, irc_tr_block *a, const irc_nafblock_w *w, irc_nafblock_w *gw,
    int count, float *d, int lvl)
{
  for (int i = count - 1; i >= 0; i--)
    irc_tr_block_bwd (g, &a[i], &w[i], &gw[i], d, lvl);
}

static const float *
skip_of (irc_tr_graph *g, int l)
{
  const int nb = g->cfg.left[l];
  return nb ? g->left[l][nb - 1].out : g->lvin[l];
}

static const float *
bottom_of (irc_tr_graph *g)
{
  return g->cfg.bottom ? g->bottom[g->cfg.bottom - 1].out : g->lvin[3];
}

static const float *
right_of (irc_tr_graph *g, int l)
{
  const int nb = g->cfg.right[l];
  return nb ? g->right[l][nb - 1].out : g->rin[l];
}

void
irc_tr_unet_fwd (irc_tr_graph *g, const irc_weights *w)
{
  const irc_config *cfg = &g->cfg;
  const int n = g->n, C = cfg->dim;
  const size_t *p = g->p;
  irc_tr_linear_fwd_f (g->qv, g->eq.code[1], n, cfg->code, w->mlp_w, w->mlp_b, 4 * C);
  for (int c = 0; c < 4 * C; c++)
    for (int i = 0; i < n; i++)
      g->qvt[c * n + i] = g->qv[i * 4 * C + c];

  irc_tr_conv3x3_fwd_f (g->lvin[0], g->img, n, 3, g->h[0], g->w[0], w->pre_w, NULL, C, 1,
      g->col);
  for (int l = 0; l < 3; l++) {
    const float *x = blocks_fwd (g, g->left[l], w->left[l], cfg->left[l], g->lvin[l], l);
    /* next level: cat(unshuffle(DC(x)), LeakyReLU(AffineTransform(fea))) */
    const int lc = w->lc[l];
    irc_tr_conv3x3_fwd_f (g->tmp, x, n, lc, g->h[l], g->w[l], w->dc_w[l], NULL, lc / 4, 1,
        g->col);
    irc_tr_unshuffle_f (g->lvin[l + 1], g->tmp, lc / 4, n, g->h[l], g->w[l], 0);
    float *inj = g->lvin[l + 1] + (size_t) lc * p[l + 1];
    irc_tr_conv1x1_fwd_f (inj, g->eq.st[2 + 2 * l], p[l + 1], w->enc.cout[2 + 2 * l],
        w->at_w[l], w->enc.cout[2 + 2 * l], NULL, C, 0);
    irc_tr_leaky_fwd_f (inj, (size_t) C * p[l + 1], 0.1f);
  }
  const float *b = blocks_fwd (g, g->bottom, w->bottom, cfg->bottom, g->lvin[3], 3);
  /* local_fusion(cat(b, b * qv)) as two GEMMs on the halves of its weight */
  irc_tr_plane_scale_fwd_f (g->xq, b, g->qvt, (size_t) 4 * C * n, (size_t) g->h[3] * g->w[3]);
  irc_tr_conv1x1_fwd_f (g->fus, b, p[3], 4 * C, w->local_fusion_w, 8 * C, NULL, 3 * C, 0);
  irc_tr_conv1x1_fwd_f (g->fus, g->xq, p[3], 4 * C, w->local_fusion_w + 4 * C, 8 * C, NULL,
      3 * C, 1);
  const float *x = g->fus;
  for (int l = 2; l >= 0; l--) {
    /* UC: 3x3 up-conv at the coarse level, PixelShuffle, 1x1 on cat(up, skip) */
    const int un = w->uc_n[l], ua = w->uc_a[l], ub = w->uc_b[l];
    irc_tr_conv3x3_fwd_f (g->tmp, x, n, un, g->h[l + 1], g->w[l + 1], w->uc_up_w[l], NULL,
        4 * un, 1, g->col);
    irc_tr_shuffle_f (g->sh[l], g->tmp, un, n, g->h[l + 1], g->w[l + 1], 0);
    irc_tr_conv1x1_fwd_f (g->rin[l], g->sh[l], p[l], un, w->uc_down_w[l], ua, NULL, ub, 0);
    irc_tr_conv1x1_fwd_f (g->rin[l], skip_of (g, l), p[l], ua - un, w->uc_down_w[l] + un, ua,
        NULL, ub, 1);
    x = blocks_fwd (g, g->right[l], w->right[l], cfg->right[l], g->rin[l], l);
  }
  irc_tr_conv3x3_fwd_f (g->out, x, n, 2 * C, g->h[0], g->w[0], w->fin_w, NULL, 3, 1, g->col);
  for (size_t i = 0; i < 3 * p[0]; i++)
    g->out[i] += g->img[i];
}

void
irc_tr_unet_bwd (irc_tr_graph *g, const irc_weights *w, irc_weights *gw, int want_fea)
{
  const irc_config *cfg = &g->cfg;
  const int n = g->n, C = cfg->dim;
  const size_t *p = g->p;
  float *d = memset (g->dr, 0, (size_t) 2 * C * p[0] * sizeof (float));
  irc_tr_conv3x3_bwd_f (d, gw->fin_w, NULL, g->dout, right_of (g, 0), n, 2 * C, g->h[0],
      g->w[0], w->fin_w, 3, 1, g->col);
  for (int l = 0; l < 3; l++)
    memset (g->dskip[l], 0, (size_t) w->lc[l] * p[l] * sizeof (float));
  for (int l = 0; l < 3; l++) {
    blocks_bwd (g, g->right[l], w->right[l], gw->right[l], cfg->right[l], d, l);
    const int un = w->uc_n[l], ua = w->uc_a[l], ub = w->uc_b[l];
    float *dsh = memset (g->dsh, 0, (size_t) un * p[l] * sizeof (float));
    irc_tr_conv1x1_bwd_f (dsh, gw->uc_down_w[l], NULL, d, g->sh[l], p[l], un,
        w->uc_down_w[l], ua, ub);
    irc_tr_conv1x1_bwd_f (g->dskip[l], gw->uc_down_w[l] + un, NULL, d, skip_of (g, l), p[l],
        ua - un, w->uc_down_w[l] + un, ua, ub);
    irc_tr_unshuffle_f (g->dup, dsh, un, n, g->h[l], g->w[l], 0);
    const float *src = l < 2 ? right_of (g, l + 1) : g->fus;
    d = memset (g->dr, 0, (size_t) un * p[l + 1] * sizeof (float));
    irc_tr_conv3x3_bwd_f (d, gw->uc_up_w[l], NULL, g->dup, src, n, un, g->h[l + 1],
        g->w[l + 1], w->uc_up_w[l], 4 * un, 1, g->col);
  }
  /* d is dL/d(local_fusion output) */
  const float *b = bottom_of (g);
  memset (g->dbot, 0, (size_t) 4 * C * p[3] * sizeof (float));
  memset (g->dxq, 0, (size_t) 4 * C * p[3] * sizeof (float));
  irc_tr_conv1x1_bwd_f (g->dbot, gw->local_fusion_w, NULL, d, b, p[3], 4 * C,
      w->local_fusion_w, 8 * C, 3 * C);
  irc_tr_conv1x1_bwd_f (g->dxq, gw->local_fusion_w + 4 * C, NULL, d, g->xq, p[3], 4 * C,
      w->local_fusion_w + 4 * C, 8 * C, 3 * C);
  memset (g->dqvt, 0, (size_t) 4 * C * n * sizeof (float));
  irc_tr_plane_scale_bwd_f (g->dbot, g->dqvt, g->dxq, b, g->qvt, (size_t) 4 * C * n,
      (size_t) g->h[3] * g->w[3]);
  for (int c = 0; c < 4 * C; c++)
    for (int i = 0; i < n; i++)
      g->dqv[i * 4 * C + c] = g->dqvt[c * n + i];
  irc_tr_linear_bwd_f (g->dcode[1], gw->mlp_w, gw->mlp_b, g->dqv, g->eq.code[1], n, cfg->code,
      w->mlp_w, 4 * C);

  blocks_bwd (g, g->bottom, w->bottom, gw->bottom, cfg->bottom, g->dbot, 3);
  d = g->dbot;
  for (int l = 2; l >= 0; l--) {
    /* d is dL/d(level l+1 input) = [unshuffled DC output, AffineTransform output] */
    const int lc = w->lc[l], fc = w->enc.cout[2 + 2 * l];
    irc_tr_shuffle_f (g->dup, d, lc / 4, n, g->h[l + 1], g->w[l + 1], 0);
    irc_tr_conv3x3_bwd_f (g->dskip[l], gw->dc_w[l], NULL, g->dup, skip_of (g, l), n, lc,
        g->h[l], g->w[l], w->dc_w[l], lc / 4, 1, g->col);
    float *dinj = d + (size_t) lc * p[l + 1];
    const float *inj = g->lvin[l + 1] + (size_t) lc * p[l + 1];
    irc_tr_leaky_bwd_f (dinj, inj, (size_t) C * p[l + 1], 0.1f);
    if (want_fea)
      memset (g->dfea[l], 0, (size_t) fc * p[l + 1] * sizeof (float));
    irc_tr_conv1x1_bwd_f (want_fea ? g->dfea[l] : NULL, gw->at_w[l], NULL, dinj,
        g->eq.st[2 + 2 * l], p[l + 1], fc, w->at_w[l], fc, C);
    d = g->dskip[l];
    blocks_bwd (g, g->left[l], w->left[l], gw->left[l], cfg->left[l], d, l);
  }
  irc_tr_conv3x3_bwd_f (NULL, gw->pre_w, NULL, d, g->img, n, 3, g->h[0], g->w[0], w->pre_w, C,
      1, g->col);
}
