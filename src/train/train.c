/* train: the trainer object and the joint training step of the paper
 * (the paper's section 4.1): MoCo key encoder and queue,
 * the four losses, EMA, backward and AdamW, in the authors' order. */
#include "train/train.h"
#include "train/graph.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/prof.h"
#include "error.h"
#include "weights.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A copy of the network (or of its encoder) in its own arena, with the
 * layout of the model's descriptors. */
typedef struct {
  irc_weights w;
  irc_tensor_desc *descs;
  size_t n;
  float *arena;
  size_t count;            /* floats in @arena: one contiguous block */
} net_copy;

enum { COPY_GRAD, COPY_M, COPY_V, COPY_EMA, COPY_KEY, N_COPIES };

struct irc_trainer {
  irc_model *model;
  irc_train_params p;
  irc_tr_graph *g;
  net_copy c[N_COPIES];
  int64_t counters[4];     /* num_batches_tracked: q mlp1, q mlp2, k mlp1, k mlp2 */
  float *queue;            /* code x K */
  int64_t queue_ptr;
  float *logits, *gt, *out, *negs;
  int64_t iter;
  int have_out;
  irc_train_timing *tm;    /* irc_trainer_set_timing: NULL, or where the step's times go */
  int tm_phase;            /* the phase being timed */
  double tm_t0;            /* when it started */
  /* data-parallel training (irc_trainer_set_dist); NULL: a single process */
  irc_dist *dist;
  irc_tr_sync sync;        /* the encoder's BatchNorm over the global batch */
  float *dist_arena;
  float *codes_all;        /* q[0] then q[1] of every rank, global batch x code each */
  float *dcodes_all;       /* the style loss's gradients of those */
};

_Thread_local double *irc_tr_prof_fam;

/* Step timing (irc_trainer_set_timing): closes the phase being timed and
 * opens @phase, whose ops then add to its families; a negative @phase ends
 * the timing of the step. Nothing but a test when timing is off. */
static void
tm_phase (irc_trainer *tr, int phase)
{
  irc_train_timing *tm = tr->tm;
  if (!tm)
    return;
  const double t = irc_tr_prof_now ();
  if (tr->tm_phase >= 0)
    tm->phase[tr->tm_phase] += t - tr->tm_t0;
  tr->tm_phase = phase;
  tr->tm_t0 = t;
  irc_tr_prof_fam = phase >= 0 ? tm->ops[phase] : NULL;
}

void
irc_trainer_set_timing (irc_trainer *tr, irc_train_timing *timing)
{
  tr->tm = timing;
  tr->tm_phase = -1;
}

static int
is_encoder (const char *name, const char *prefix)
{
  return strncmp (name, prefix, strlen (prefix)) == 0;
}

static irc_status
copy_init (net_copy *c, const irc_config *cfg, const char *prefix, int enc_only,
    irc_error *err)
{
  irc_status st = irc_weights_init (&c->w, cfg, err);
  if (st != IRC_OK)
    return st;
  c->n = irc_weights_describe (&c->w, prefix, NULL, 0);
  c->descs = calloc (c->n, sizeof *c->descs);
  if (!c->descs)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  irc_weights_describe (&c->w, prefix, c->descs, c->n);
  size_t total = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->descs[i].slot && (!enc_only || is_encoder (c->descs[i].name, prefix)))
      total += c->descs[i].count;
  c->count = total;
  c->arena = calloc (total ? total : 1, sizeof (float));
  if (!c->arena)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for %zu MB of training state",
        total * sizeof (float) >> 20);
  size_t off = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->descs[i].slot && (!enc_only || is_encoder (c->descs[i].name, prefix))) {
      *c->descs[i].slot = c->arena + off;
      off += c->descs[i].count;
    }
  return IRC_OK;
}

static void
copy_clear (net_copy *c)
{
  irc_weights_clear (&c->w);
  free (c->descs);
  free (c->arena);
  memset (c, 0, sizeof *c);
}

void
irc_trainer_free (irc_trainer **trp)
{
  if (!trp || !*trp)
    return;
  irc_trainer *tr = *trp;
  for (int i = 0; i < N_COPIES; i++)
    copy_clear (&tr->c[i]);
  irc_tr_graph_free (&tr->g);
  free (tr->queue);
  free (tr->logits);
  free (tr->gt);
  free (tr->out);
  free (tr->negs);
  free (tr->dist_arena);
  free (tr);
  *trp = NULL;
}

irc_status
irc_trainer_new (irc_model *model, const irc_train_params *params, irc_trainer **out,
    irc_error *err)
{
  const irc_train_params defaults = IRC_TRAIN_DEFAULTS;
  const irc_train_params *p = params ? params : &defaults;
  if (!model)
    return irc_fail (err, IRC_ERR_INVALID, "irc_trainer_new: no model");
  if (!p->no_constyle && (p->queue_size < p->batch || p->queue_size % p->batch != 0))
    return irc_fail (err, IRC_ERR_INVALID,
        "queue size %d must be a positive multiple of the batch %d", p->queue_size, p->batch);
  if (!(p->moco_t > 0) || !(p->lr >= 0) || !(p->beta1 >= 0 && p->beta1 < 1)
      || !(p->beta2 >= 0 && p->beta2 < 1) || !(p->adam_eps > 0))
    return irc_fail (err, IRC_ERR_INVALID,
        "invalid hyper-parameters (temperature and eps must be positive, betas in [0, 1))");
  irc_trainer *tr = calloc (1, sizeof *tr);
  if (!tr)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  /* The ops' own thread pool (ops.c) runs the GEMMs one per thread, split
   * by images or columns; a second pool of OpenBLAS threads spinning between
   * GEMMs would compete with it for the cores (measured on 2 cores: 1.29 s
   * per lite16 step with both pools, 0.80 s with BLAS serial), and the ops
   * only split GEMMs themselves while OpenBLAS is serial */
  openblas_set_num_threads (1);
  tr->model = model;
  tr->p = *p;
  const irc_config *cfg = irc_model_config (model);
  irc_status st = irc_tr_graph_new (cfg, p->batch, p->patch, p->patch, &tr->g, err);
  for (int i = 0; i < N_COPIES && st == IRC_OK; i++)
    st = copy_init (&tr->c[i], cfg, i == COPY_KEY ? "ConStyle.encoder_k" : "ConStyle.encoder_q",
        i == COPY_KEY, err);
  const size_t img = (size_t) p->batch * 3 * p->patch * p->patch;
  const size_t K = p->no_constyle ? 1 : (size_t) p->queue_size;
  if (st == IRC_OK) {
    tr->queue = calloc ((size_t) cfg->code * K, sizeof (float));
    tr->logits = calloc ((size_t) p->batch * (K + 1), sizeof (float));
    tr->gt = malloc (img * sizeof (float));
    tr->out = malloc (img * sizeof (float));
    tr->negs = malloc ((size_t) 2 * p->batch * cfg->code * sizeof (float));
    if (!tr->queue || !tr->logits || !tr->gt || !tr->out || !tr->negs)
      st = irc_fail (err, IRC_ERR_NOMEM, "out of memory for the MoCo queue");
  }
  if (st != IRC_OK) {
    irc_trainer_free (&tr);
    return st;
  }
  /* the key encoder starts as encoder_q (MoCo), the EMA as the weights */
  for (size_t i = 0; i < model->n_descs; i++) {
    const irc_tensor_desc *d = &model->descs[i];
    if (!d->slot)
      continue;
    memcpy (*tr->c[COPY_EMA].descs[i].slot, *d->slot, d->count * sizeof (float));
    if (*tr->c[COPY_KEY].descs[i].slot)
      memcpy (*tr->c[COPY_KEY].descs[i].slot, *d->slot, d->count * sizeof (float));
  }
  *out = tr;
  return IRC_OK;
}

irc_status
irc_trainer_set_dist (irc_trainer *tr, irc_dist *dist, irc_error *err)
{
  tr->dist = NULL;
  tr->g->sync = NULL;
  if (!dist || dist->size <= 1)
    return IRC_OK;
  const irc_train_params *p = &tr->p;
  const int global = p->batch * dist->size;
  if (!p->no_constyle && p->queue_size % global != 0)
    return irc_fail (err, IRC_ERR_INVALID,
        "queue size %d must be a multiple of the global batch %d (%d processes x batch %d)",
        p->queue_size, global, dist->size, p->batch);
  const irc_encoder_w *enc = &tr->model->w.enc;
  const size_t code = (size_t) tr->model->w.cfg.code;
  const size_t widest = (size_t) (enc->lin_out[0] > enc->lin_out[1] ? enc->lin_out[0]
      : enc->lin_out[1]);
  const size_t codes = 2 * (size_t) global * code;
  const size_t heads = (size_t) global * (enc->lin_out[0] + enc->lin_out[1]);
  const size_t total = 2 * codes + 2 * heads + 2 * (size_t) global * widest + 2 * widest;
  float *arena = calloc (total, sizeof (float));
  /* the style loss's negatives: the global batch's queue rows */
  float *negs = malloc (codes * sizeof (float));
  if (!arena || !negs) {
    free (arena);
    free (negs);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the data-parallel buffers");
  }
  free (tr->dist_arena);
  free (tr->negs);
  tr->dist_arena = arena;
  tr->negs = negs;
  float *at = arena;
  tr->codes_all = at, at += codes;
  tr->dcodes_all = at, at += codes;
  irc_tr_sync *sync = &tr->sync;
  memset (sync, 0, sizeof *sync);
  sync->dist = dist;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < 2; i++)
      sync->z_all[pass][i] = at, at += (size_t) global * enc->lin_out[i];
  sync->rows_a = at, at += (size_t) global * widest;
  sync->rows_b = at, at += (size_t) global * widest;
  sync->dwt = at, at += widest;
  sync->dbias = at;
  tr->dist = dist;
  tr->g->sync = sync;
  return IRC_OK;
}

/* Data-parallel: the first failed communication of the step's passes. */
static irc_status
sync_status (irc_trainer *tr, irc_error *err)
{
  if (!tr->dist || tr->sync.status == IRC_OK)
    return IRC_OK;
  if (err)
    *err = tr->sync.err;
  return tr->sync.status;
}

/* Data-parallel: every rank's losses, gathered, become the global batch's
 * (the mean of the ranks' means, in rank order, so every rank holds the
 * same values; the style loss is already the global batch's), and a
 * non-finite loss on any rank stops every rank at the same step, naming
 * the ranks where it appeared. */
static irc_status
agree_losses (irc_trainer *tr, irc_train_losses *L, int64_t iter, int degradation,
    irc_error *err)
{
  enum { FIELDS = 6, MAX_NAMED = 8 };
  irc_dist *d = tr->dist;
  irc_status st = sync_status (tr, err);
  if (st != IRC_OK)
    return st;
  const double mine[FIELDS] = { isfinite (L->total) ? 0.0 : 1.0, L->l_pix, L->l_psnr,
    L->l_ce, L->l_content, L->l_degradation };
  double *all = malloc ((size_t) d->size * FIELDS * sizeof (double));
  if (!all)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  st = irc_dist_gather_d (d, mine, all, FIELDS, err);
  if (st != IRC_OK) {
    free (all);
    return st;
  }
  double sum[FIELDS] = { 0 };
  char ranks[128] = "";
  size_t used = 0;
  int bad = 0;
  for (int r = 0; r < d->size; r++) {
    for (int f = 0; f < FIELDS; f++)
      sum[f] += all[r * FIELDS + f];
    if (all[r * FIELDS] != 0.0 && bad++ < MAX_NAMED && used < sizeof ranks)
      used += snprintf (ranks + used, sizeof ranks - used, "%s%d", bad > 1 ? ", " : "", r);
  }
  free (all);
  L->l_pix = sum[1] / d->size;
  L->l_psnr = sum[2] / d->size;
  L->l_ce = sum[3] / d->size;
  L->l_content = sum[4] / d->size;
  L->l_degradation = sum[5] / d->size;
  if (degradation)
    L->total = L->l_degradation;
  else
    L->total = (tr->p.psnr_loss ? L->l_psnr : L->l_pix) + L->l_ce + L->l_content + L->l_style;
  if (bad)
    return irc_fail (err, IRC_ERR_INVALID,
        "iteration %lld: non-finite loss on rank %s%s (pixel %g, InfoNCE %g, content %g, "
        "style %g, degradation %g, means over the ranks)", (long long) iter, ranks,
        bad > MAX_NAMED ? " and more" : "", L->l_pix, L->l_ce, L->l_content, L->l_style,
        L->l_degradation);
  return IRC_OK;
}

/* Data-parallel: the gradients, summed over the ranks in one call over the
 * contiguous gradient block, become their mean: each rank's is the
 * gradient of the mean loss over its own rows, so the mean is the global
 * batch's. */
static irc_status
reduce_gradients (irc_trainer *tr, irc_error *err)
{
  irc_status st = sync_status (tr, err);
  net_copy *grad = &tr->c[COPY_GRAD];
  if (st == IRC_OK)
    st = irc_dist_sum_f (tr->dist, grad->arena, grad->count, err);
  if (st != IRC_OK)
    return st;
  const float scale = 1.0f / (float) tr->dist->size;
  for (size_t i = 0; i < grad->count; i++)
    grad->arena[i] *= scale;
  return IRC_OK;
}

/* NCHW (the caller's batch) to CNHW (the graph's layout) and back. */
static void
to_cnhw (float *dst, const float *src, int n, int c, size_t hw)
{
  for (int i = 0; i < n; i++)
    for (int k = 0; k < c; k++)
      memcpy (dst + ((size_t) k * n + i) * hw, src + ((size_t) i * c + k) * hw,
          hw * sizeof (float));
}

static void
to_nchw (float *dst, const float *src, int n, int c, size_t hw)
{
  for (int i = 0; i < n; i++)
    for (int k = 0; k < c; k++)
      memcpy (dst + ((size_t) i * c + k) * hw, src + ((size_t) k * n + i) * hw,
          hw * sizeof (float));
}

/* The queue entries [ptr, ptr + n) as n x code rows. */
static void
queue_rows (float *dst, const float *queue, int code, int K, int64_t ptr, int n)
{
  for (int i = 0; i < n; i++)
    for (int c = 0; c < code; c++)
      dst[i * code + c] = queue[(size_t) c * K + ptr + i];
}

/* Data-parallel: the style loss couples the batch's rows (Gram matrices of
 * the codes), so every rank computes it on the gathered codes of the whole
 * global batch against the global batch's queue rows, exactly as one
 * process at that batch, and keeps its own rows' gradient, scaled by the
 * rank count to the convention of the other losses (each rank's gradient
 * is that of a mean over its own rows; the trainer averages the ranks'). */
static double
style_loss_global (irc_trainer *tr, const float *q0, const float *q1, irc_error *err)
{
  irc_tr_graph *g = tr->g;
  irc_dist *d = tr->dist;
  const int n = tr->p.batch, code = tr->model->w.cfg.code, K = tr->p.queue_size;
  const int rows = n * d->size;
  const size_t mine = (size_t) n * code, all = (size_t) rows * code;
  float *q0_all = tr->codes_all, *q1_all = tr->codes_all + all;
  irc_status st = irc_dist_gather_f (d, q0, q0_all, mine, err);
  if (st == IRC_OK)
    st = irc_dist_gather_f (d, q1, q1_all, mine, err);
  if (st != IRC_OK) {
    if (tr->sync.status == IRC_OK) {
      tr->sync.status = st;
      if (err)
        tr->sync.err = *err;
    }
    return NAN;
  }
  const int64_t next = (tr->queue_ptr + rows) % K;
  float *neg_next = tr->negs, *neg_old = tr->negs + all;
  queue_rows (neg_next, tr->queue, code, K, next, rows);
  queue_rows (neg_old, tr->queue, code, K, tr->queue_ptr, rows);
  float *dq0_all = memset (tr->dcodes_all, 0, 2 * all * sizeof (float));
  float *dq1_all = dq0_all + all;
  const double nn = (double) code * rows;
  const double l_style = irc_tr_style_term_f (dq0_all, q0_all, neg_next, rows, code, nn)
      + irc_tr_style_term_f (dq1_all, q1_all, neg_old, rows, code, nn);
  const float ranks = (float) d->size;
  const size_t own = (size_t) d->rank * mine;
  for (size_t j = 0; j < mine; j++) {
    g->dcode[0][j] += ranks * dq0_all[own + j];
    g->dcode[1][j] += ranks * dq1_all[own + j];
  }
  return l_style;
}

irc_status
irc_trainer_step (irc_trainer *tr, const float *lq, const float *gt, irc_train_losses *losses,
    irc_error *err)
{
  if (!lq || !gt)
    return irc_fail (err, IRC_ERR_INVALID, "irc_trainer_step: no batch given");
  const irc_train_params *p = &tr->p;
  irc_tr_graph *g = tr->g;
  irc_weights *w = &tr->model->w;
  irc_weights *gw = &tr->c[COPY_GRAD].w;
  const irc_config *cfg = &w->cfg;
  const int n = p->batch, code = cfg->code, K = p->queue_size;
  const size_t hw = (size_t) p->patch * p->patch;
  const int64_t iter = tr->iter + 1;
  const int joint = !p->no_constyle && iter <= p->constyle_iters;
  const int enc_train = p->no_constyle || joint;
  irc_train_losses L = {0};
  L.lr = irc_train_lr (p, iter);

  tm_phase (tr, IRC_TRAIN_PHASE_OTHER);
  to_cnhw (g->img, lq, n, 3, hw);
  to_cnhw (tr->gt, gt, n, 3, hw);
  /* MoCo: momentum update of the key encoder's parameters (not its BatchNorm
   * buffers) before the key pass, which runs in training mode. After the
   * joint stage the key encoder and queue only feed losses that are off, so
   * they are not run. */
  net_copy *key = &tr->c[COPY_KEY];
  tm_phase (tr, IRC_TRAIN_PHASE_KEY);
  if (joint)
    for (size_t i = 0; i < key->n; i++)
      if (key->descs[i].kind == IRC_TENSOR_PARAM && *key->descs[i].slot)
        irc_tr_momentum (*key->descs[i].slot, *tr->model->descs[i].slot, key->descs[i].count,
            p->moco_m);
  tm_phase (tr, IRC_TRAIN_PHASE_FORWARD);
  irc_tr_encoder_fwd (g, &g->eq, &w->enc, g->img, p->bn_momentum);
  tr->counters[0]++, tr->counters[1]++;
  if (joint) {
    tm_phase (tr, IRC_TRAIN_PHASE_KEY);
    irc_tr_encoder_fwd (g, &g->ek, &key->w.enc, tr->gt, p->bn_momentum);
    tr->counters[2]++, tr->counters[3]++;
    tm_phase (tr, IRC_TRAIN_PHASE_FORWARD);
  }
  irc_tr_unet_fwd (g, w);

  tm_phase (tr, IRC_TRAIN_PHASE_LOSSES);
  memset (g->dout, 0, 3 * g->p[0] * sizeof (float));
  memset (g->dcode[0], 0, (size_t) n * code * sizeof (float));
  memset (g->dcode[1], 0, (size_t) n * code * sizeof (float));
  if (p->psnr_loss) {
    L.l_psnr = irc_tr_psnr_loss_f (g->dout, g->out, tr->gt, n, 3, hw);
    L.l_pix = irc_tr_l1_f (NULL, g->out, tr->gt, 3 * g->p[0]);
  } else {
    L.l_pix = irc_tr_l1_f (g->dout, g->out, tr->gt, 3 * g->p[0]);
  }
  tm_phase (tr, IRC_TRAIN_PHASE_OTHER);
  for (size_t i = 0; i < tr->c[COPY_GRAD].n; i++) {
    const irc_tensor_desc *d = &tr->c[COPY_GRAD].descs[i];
    if (d->slot)
      memset (*d->slot, 0, d->count * sizeof (float));
  }
  /* The U-Net's backward runs before the ConStyle losses add their gradients
   * to the codes: q[1]'s gradient is then summed in autograd's order (U-Net,
   * content, style, InfoNCE), which the encoder's BatchNorm can tell apart
   * (torch_cpu.h) */
  tm_phase (tr, IRC_TRAIN_PHASE_BACKWARD);
  irc_tr_unet_bwd (g, w, gw, enc_train);
  tm_phase (tr, IRC_TRAIN_PHASE_LOSSES);
  if (joint) {
    const float *q0 = g->eq.code[0], *q1 = g->eq.code[1], *k = g->ek.code[1];
    L.l_content = irc_tr_content_f (g->dcode[1], q1, k, n, code);
    if (tr->dist) {
      /* a failed gather leaves NaN here and its status for agree_losses */
      L.l_style = style_loss_global (tr, q0, q1, err);
    } else {
      /* negatives: the entries after this batch's slot and the ones it overwrites */
      const int64_t next = (tr->queue_ptr + n) % K;
      float *neg_next = tr->negs, *neg_old = tr->negs + (size_t) n * code;
      queue_rows (neg_next, tr->queue, code, K, next, n);
      queue_rows (neg_old, tr->queue, code, K, tr->queue_ptr, n);
      const double nn = (double) code * n;
      L.l_style = irc_tr_style_term_f (g->dcode[0], q0, neg_next, n, code, nn)
          + irc_tr_style_term_f (g->dcode[1], q1, neg_old, n, code, nn);
    }
    L.l_ce = irc_tr_infonce_f (g->dcode[1], tr->logits, q1, k, tr->queue, n, code, K,
        p->moco_t);
  }
  L.total = (p->psnr_loss ? L.l_psnr : L.l_pix) + L.l_ce + L.l_content + L.l_style;
  tm_phase (tr, IRC_TRAIN_PHASE_OTHER);
  to_nchw (tr->out, g->out, n, 3, hw);
  tr->have_out = 1;
  if (tr->dist) {
    const irc_status st = agree_losses (tr, &L, iter, 0, err);
    if (losses)
      *losses = L;
    if (st != IRC_OK) {
      tm_phase (tr, -1);
      return st;
    }
  }
  if (losses)
    *losses = L;
  if (!isfinite (L.total)) {
    tm_phase (tr, -1);
    return irc_fail (err, IRC_ERR_INVALID,
        "iteration %lld: non-finite loss (pixel %g, InfoNCE %g, content %g, style %g)",
        (long long) iter, L.l_pix, L.l_ce, L.l_content, L.l_style);
  }
  if (joint) {
    /* enqueue this batch's queries (the authors' code enqueues q, not k);
     * data-parallel, the whole global batch's, gathered in rank order */
    const float *q1 = tr->dist ? tr->codes_all + (size_t) n * tr->dist->size * code
        : g->eq.code[1];
    const int rows = tr->dist ? n * tr->dist->size : n;
    for (int i = 0; i < rows; i++)
      for (int c = 0; c < code; c++)
        tr->queue[(size_t) c * K + tr->queue_ptr + i] = q1[i * code + c];
    tr->queue_ptr = (tr->queue_ptr + rows) % K;
  }
  /* EMA before the optimiser step, as the authors' code (the EMA lags one
   * step), over the U-Net's parameters; the ConStyle encoder is copied
   * after the step (below). */
  tm_phase (tr, IRC_TRAIN_PHASE_OPTIMISER);
  net_copy *ema = &tr->c[COPY_EMA];
  for (size_t i = 0; i < ema->n; i++) {
    const irc_tensor_desc *d = &tr->model->descs[i];
    if (d->kind == IRC_TENSOR_PARAM && !is_encoder (d->name, "ConStyle."))
      irc_tr_ema (*ema->descs[i].slot, *d->slot, d->count, p->ema_decay);
  }

  tm_phase (tr, IRC_TRAIN_PHASE_ENCODER);
  if (enc_train)
    irc_tr_encoder_bwd (g, &w->enc, &gw->enc);

  tm_phase (tr, IRC_TRAIN_PHASE_OPTIMISER);
  if (tr->dist) {
    const irc_status st = reduce_gradients (tr, err);
    if (st != IRC_OK) {
      tm_phase (tr, -1);
      return st;
    }
  }
  for (size_t i = 0; i < tr->model->n_descs; i++) {
    const irc_tensor_desc *d = &tr->model->descs[i];
    if (d->kind != IRC_TENSOR_PARAM || (!enc_train && is_encoder (d->name, "ConStyle.")))
      continue;
    irc_tr_adamw (*d->slot, *tr->c[COPY_M].descs[i].slot, *tr->c[COPY_V].descs[i].slot,
        *tr->c[COPY_GRAD].descs[i].slot, d->count, iter, L.lr, p->beta1, p->beta2,
        p->adam_eps, p->weight_decay);
  }
  /* The EMA network takes the ConStyle encoder as it is now, weights and
   * BatchNorm buffers: an average of its weights is not an average of its
   * codes, and the live running statistics do not fit averaged weights.
   * While the encoder still moves (denoise trains it the whole run), an
   * averaged encoder gave codes the U-Net never saw: measured, sigma 25
   * gain +2.7 dB with it against +6.7 dB with the live encoder under the
   * same averaged U-Net. (The authors' EMA network averages the encoder
   * too and keeps its BatchNorm buffers at their initial 0/1.) */
  for (size_t i = 0; i < ema->n; i++) {
    const irc_tensor_desc *d = &tr->model->descs[i];
    if (d->kind == IRC_TENSOR_BUFFER || (d->kind == IRC_TENSOR_PARAM
          && is_encoder (d->name, "ConStyle.")))
      memcpy (*ema->descs[i].slot, *d->slot, d->count * sizeof (float));
  }
  tm_phase (tr, -1);
  if (tr->tm)
    tr->tm->steps++;
  tr->iter = iter;
  return IRC_OK;
}

int64_t
irc_trainer_iteration (const irc_trainer *tr)
{
  return tr->iter;
}

void
irc_trainer_set_iteration (irc_trainer *tr, int64_t iter)
{
  tr->iter = iter;
}

float *
irc_trainer_queue (irc_trainer *tr, int *code, int *size)
{
  if (code)
    *code = tr->model->w.cfg.code;
  if (size)
    *size = tr->p.no_constyle ? 0 : tr->p.queue_size;
  return tr->p.no_constyle ? NULL : tr->queue;
}

int64_t *
irc_trainer_queue_ptr (irc_trainer *tr)
{
  return &tr->queue_ptr;
}

const float *
irc_trainer_output (const irc_trainer *tr)
{
  return tr->have_out ? tr->out : NULL;
}

const float *
irc_trainer_logits (const irc_trainer *tr)
{
  return tr->have_out && !tr->p.no_constyle ? tr->logits : NULL;
}

float *
irc_trainer_tensor (irc_trainer *tr, irc_train_copy copy, const char *name, size_t *count)
{
  if (copy == IRC_TRAIN_PARAM)
    return irc_model_tensor (tr->model, name, count);
  const int idx = copy == IRC_TRAIN_GRAD ? COPY_GRAD : copy == IRC_TRAIN_ADAM_M ? COPY_M
      : copy == IRC_TRAIN_ADAM_V ? COPY_V : copy == IRC_TRAIN_EMA ? COPY_EMA : COPY_KEY;
  const net_copy *c = &tr->c[idx];
  for (size_t i = 0; i < c->n; i++)
    if (c->descs[i].slot && *c->descs[i].slot && strcmp (c->descs[i].name, name) == 0) {
      if (count)
        *count = c->descs[i].count;
      return *c->descs[i].slot;
    }
  return NULL;
}

int64_t *
irc_trainer_counter (irc_trainer *tr, const char *name)
{
  static const char *const names[4] = {
    "ConStyle.encoder_q.mlp1.1.num_batches_tracked", "ConStyle.encoder_q.mlp2.1.num_batches_tracked",
    "ConStyle.encoder_k.mlp1.1.num_batches_tracked", "ConStyle.encoder_k.mlp2.1.num_batches_tracked",
  };
  for (int i = 0; i < 4; i++)
    if (strcmp (name, names[i]) == 0)
      return &tr->counters[i];
  return NULL;
}

/* ------------------------------------------------- degradation pre-training */

static double
softplus (double x)
{
  return x > 0 ? x + log1p (exp (-x)) : log1p (exp (x));
}

irc_status
irc_trainer_degradation_step (irc_trainer *tr, const float *lq, const float *targets,
    irc_train_losses *losses, irc_error *err)
{
  if (!lq || !targets)
    return irc_fail (err, IRC_ERR_INVALID, "irc_trainer_degradation_step: no batch given");
  irc_weights *w = &tr->model->w;
  irc_weights *gw = &tr->c[COPY_GRAD].w;
  const irc_config *cfg = &w->cfg;
  if (cfg->degradation_head != IRC_DEGRADATION_HEAD_OUTPUTS || !w->head_w)
    return irc_fail (err, IRC_ERR_INVALID,
        "degradation pre-training needs a model with a degradation head");
  const irc_train_params *p = &tr->p;
  irc_tr_graph *g = tr->g;
  const int n = p->batch, code = cfg->code, K = IRC_DEGRADATION_KINDS;
  const int O = IRC_DEGRADATION_HEAD_OUTPUTS;
  const size_t hw = (size_t) p->patch * p->patch;
  const int64_t iter = tr->iter + 1;
  irc_train_losses L = {0};
  L.lr = irc_train_lr (p, iter);

  to_cnhw (g->img, lq, n, 3, hw);
  irc_tr_encoder_fwd (g, &g->eq, &w->enc, g->img, p->bn_momentum);
  tr->counters[0]++, tr->counters[1]++;
  for (size_t i = 0; i < tr->c[COPY_GRAD].n; i++) {
    const irc_tensor_desc *d = &tr->c[COPY_GRAD].descs[i];
    if (d->slot)
      memset (*d->slot, 0, d->count * sizeof (float));
  }
  /* head: logits = code W^T + b; dL/dlogit of a BCE is sigmoid - target */
  const float *q = g->eq.code[1];
  float *dq = g->dcode[1];
  memset (g->dcode[0], 0, (size_t) n * code * sizeof (float));
  memset (dq, 0, (size_t) n * code * sizeof (float));
  double total = 0;
  for (int b = 0; b < n; b++) {
    const float *t = targets + (size_t) b * IRC_TRAIN_DEGRADATION_TARGETS;
    for (int o = 0; o < O; o++) {
      const int kind = o % K, strength = o >= K;
      /* a strength is learned where the kind is present and known (>= 0) */
      const double weight = strength ? (t[kind] > 0.5f && t[o] >= 0.0f ? 1.0 : 0.0) : 1.0;
      if (weight == 0.0)
        continue;
      double z = w->head_b[o];
      for (int i = 0; i < code; i++)
        z += (double) w->head_w[(size_t) o * code + i] * q[(size_t) b * code + i];
      const double y = t[o];
      /* BCE with logits: softplus(z) - y z, stable for large |z| */
      total += weight * (softplus (z) - y * z);
      const float dz = (float) (weight * (1.0 / (1.0 + exp (-z)) - y) / n);
      gw->head_b[o] += dz;
      for (int i = 0; i < code; i++) {
        gw->head_w[(size_t) o * code + i] += dz * q[(size_t) b * code + i];
        dq[(size_t) b * code + i] += dz * w->head_w[(size_t) o * code + i];
      }
    }
  }
  L.l_degradation = total / n;
  L.total = L.l_degradation;
  if (tr->dist) {
    const irc_status st = agree_losses (tr, &L, iter, 1, err);
    if (losses)
      *losses = L;
    if (st != IRC_OK)
      return st;
  }
  if (losses)
    *losses = L;
  if (!isfinite (L.total))
    return irc_fail (err, IRC_ERR_INVALID, "iteration %lld: non-finite degradation loss %g",
        (long long) iter, L.total);
  /* the U-Net does not run: no gradient reaches the feature maps it takes */
  const int fea_stage[3] = { 2, 4, 6 };
  for (int f = 0; f < 3; f++) {
    const int s = fea_stage[f];
    memset (g->dfea[f], 0, (size_t) w->enc.cout[s] * n * g->eq.sh[s + 1] * g->eq.sw[s + 1]
        * sizeof (float));
  }
  irc_tr_encoder_bwd (g, &w->enc, &gw->enc);
  if (tr->dist) {
    const irc_status st = reduce_gradients (tr, err);
    if (st != IRC_OK)
      return st;
  }
  for (size_t i = 0; i < tr->model->n_descs; i++) {
    const irc_tensor_desc *d = &tr->model->descs[i];
    if (d->kind != IRC_TENSOR_PARAM || !is_encoder (d->name, "ConStyle."))
      continue;
    irc_tr_adamw (*d->slot, *tr->c[COPY_M].descs[i].slot, *tr->c[COPY_V].descs[i].slot,
        *tr->c[COPY_GRAD].descs[i].slot, d->count, iter, L.lr, p->beta1, p->beta2,
        p->adam_eps, p->weight_decay);
  }
  /* the EMA network takes encoder, head and BatchNorm buffers as they are */
  net_copy *ema = &tr->c[COPY_EMA];
  for (size_t i = 0; i < ema->n; i++) {
    const irc_tensor_desc *d = &tr->model->descs[i];
    if (d->kind == IRC_TENSOR_BUFFER || (d->kind == IRC_TENSOR_PARAM
          && is_encoder (d->name, "ConStyle.")))
      memcpy (*ema->descs[i].slot, *d->slot, d->count * sizeof (float));
  }
  tr->iter = iter;
  return IRC_OK;
}
