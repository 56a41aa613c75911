/* encoder: the ConStyle encoder in training mode (BatchNorm on batch
 * statistics, running statistics updated) and its backward, for the query
 * pass; the key pass runs the same forward on the key encoder's weights. */
#include "train/graph.h"
#include "train/ops.h"
#include "train/prof.h"

#include <string.h>

/* Records the first failed communication of a pass; the trainer reports it
 * after the pass (the arithmetic goes on, on whatever the buffers hold). */
static void
sync_check (irc_tr_sync *s, irc_status st)
{
  if (st != IRC_OK && s->status == IRC_OK)
    s->status = st;
}

/* BatchNorm1d forward of head @i: on this batch alone, or (data-parallel)
 * on every rank's rows, gathered in rank order, of which this rank keeps its
 * own; the arithmetic is then the single process's at the global batch. */
static void
bn_fwd (irc_tr_graph *g, irc_tr_enc *e, const irc_encoder_w *w, int i, double bn_momentum)
{
  const int n = g->n, c = w->lin_out[i];
  irc_tr_sync *s = g->sync;
  if (!s) {
    irc_tr_batchnorm_fwd_f (e->bn[i], e->mean[i], e->invstd[i], e->z[i], n, c, w->bn_w[i],
        w->bn_b[i], w->bn_mean[i], w->bn_var[i], bn_momentum, 1e-5);
    return;
  }
  const size_t mine = (size_t) n * c;
  float *z_all = s->z_all[e == &g->ek][i];
  sync_check (s, irc_dist_gather_f (s->dist, e->z[i], z_all, mine, &s->err));
  irc_tr_batchnorm_fwd_f (s->rows_a, e->mean[i], e->invstd[i], z_all, n * s->dist->size, c,
      w->bn_w[i], w->bn_b[i], w->bn_mean[i], w->bn_var[i], bn_momentum, 1e-5);
  memcpy (e->bn[i], s->rows_a + s->dist->rank * mine, mine * sizeof (float));
}

/* BatchNorm1d backward of head @i into @dz (zeroed) and the parameter
 * gradients. Data-parallel: each rank's gradient is its own loss's (a mean
 * over its own rows); the backward over all rows gives every rank the
 * gradient of the ranks' summed losses, of which it keeps its rows, and the
 * scale and shift gradients are added on rank 0 only, since the trainer
 * sums the gradients of all ranks. */
static void
bn_bwd (irc_tr_graph *g, const irc_encoder_w *w, irc_encoder_w *gw, int i, float *dz,
    const float *dbn)
{
  irc_tr_enc *e = &g->eq;
  const int n = g->n, c = w->lin_out[i];
  irc_tr_sync *s = g->sync;
  if (!s) {
    irc_tr_batchnorm_bwd_f (dz, gw->bn_w[i], gw->bn_b[i], dbn, e->z[i], e->mean[i],
        e->invstd[i], n, c, w->bn_w[i]);
    return;
  }
  const size_t mine = (size_t) n * c;
  const int rows = n * s->dist->size;
  sync_check (s, irc_dist_gather_f (s->dist, dbn, s->rows_a, mine, &s->err));
  memset (s->rows_b, 0, (size_t) rows * c * sizeof (float));
  memset (s->dwt, 0, (size_t) c * sizeof (float));
  memset (s->dbias, 0, (size_t) c * sizeof (float));
  irc_tr_batchnorm_bwd_f (s->rows_b, s->dwt, s->dbias, s->rows_a, s->z_all[0][i], e->mean[i],
      e->invstd[i], rows, c, w->bn_w[i]);
  memcpy (dz, s->rows_b + s->dist->rank * mine, mine * sizeof (float));
  if (s->dist->rank == 0)
    for (int k = 0; k < c; k++) {
      gw->bn_w[i][k] += s->dwt[k];
      gw->bn_b[i][k] += s->dbias[k];
    }
}

void
irc_tr_encoder_fwd (irc_tr_graph *g, irc_tr_enc *e, const irc_encoder_w *w, const float *x,
    double bn_momentum)
{
  const int n = g->n;
  e->x = x;
  const float *in = x;
  for (int k = 0; k < IRC_ENC_STAGES; k++) {
    irc_tr_conv3x3_fwd_f (e->st[k], in, n, w->cin[k], e->sh[k], e->sw[k], w->conv_w[k], NULL,
        w->cout[k], w->stride[k], g->col);
    irc_tr_leaky_fwd_f (e->st[k], (size_t) w->cout[k] * n * e->sh[k + 1] * e->sw[k + 1], 0.1f);
    in = e->st[k];
  }
  const int last = IRC_ENC_STAGES - 1;
  irc_tr_avgpool_fwd_f (e->pooled, in, w->cout[last], n,
      (size_t) e->sh[IRC_ENC_STAGES] * e->sw[IRC_ENC_STAGES]);
  const float *v = e->pooled;
  for (int i = 0; i < 2; i++) {
    irc_tr_linear_fwd_f (e->z[i], v, n, w->lin_in[i], w->lin_w[i], w->lin_b[i], w->lin_out[i]);
    bn_fwd (g, e, w, i, bn_momentum);
    irc_tr_gelu_fwd_f (e->code[i], e->bn[i], (size_t) n * w->lin_out[i]);
    v = e->code[i];
  }
}

/* The stages whose outputs are the feature maps handed to the U-Net. */
static int
fea_index (int stage)
{
  return stage == 2 ? 0 : stage == 4 ? 1 : stage == 6 ? 2 : -1;
}

void
irc_tr_encoder_bwd (irc_tr_graph *g, const irc_encoder_w *w, irc_encoder_w *gw)
{
  irc_tr_enc *e = &g->eq;
  const int n = g->n;
  /* the MLP heads, mlp2 then mlp1; q[0] is mlp2's input, so its gradient
   * (from the style loss) meets the one coming back through mlp2 */
  for (int i = 1; i >= 0; i--) {
    const size_t cnt = (size_t) n * w->lin_out[i];
    float *dbn = memset (g->dv[0], 0, cnt * sizeof (float));
    irc_tr_gelu_bwd_f (dbn, g->dcode[i], e->bn[i], cnt);
    float *dz = memset (g->dv[1], 0, cnt * sizeof (float));
    bn_bwd (g, w, gw, i, dz, dbn);
    float *dsrc = i == 1 ? g->dcode[0] : g->dv[0];
    if (i == 0)
      memset (dsrc, 0, (size_t) n * w->lin_in[0] * sizeof (float));
    irc_tr_linear_bwd_f (dsrc, gw->lin_w[i], gw->lin_b[i], dz, i == 1 ? e->code[0] : e->pooled,
        n, w->lin_in[i], w->lin_w[i], w->lin_out[i]);
  }
  /* global pool, then the stages in reverse, ping-ponging two buffers */
  const int last = IRC_ENC_STAGES - 1;
  size_t count = (size_t) w->cout[last] * n * e->sh[IRC_ENC_STAGES] * e->sw[IRC_ENC_STAGES];
  float *d = memset (g->de[0], 0, count * sizeof (float));
  irc_tr_avgpool_bwd_f (d, g->dv[0], w->cout[last], n,
      (size_t) e->sh[IRC_ENC_STAGES] * e->sw[IRC_ENC_STAGES]);
  for (int k = last; k >= 0; k--) {
    irc_tr_leaky_bwd_f (d, e->st[k], count, 0.1f);
    float *dsrc = NULL;
    if (k > 0) {
      dsrc = g->de[(last - k + 1) & 1];
      count = (size_t) w->cout[k - 1] * n * e->sh[k] * e->sw[k];
      const int f = fea_index (k - 1);
      if (f >= 0)
        memcpy (dsrc, g->dfea[f], count * sizeof (float));
      else
        memset (dsrc, 0, count * sizeof (float));
    }
    irc_tr_conv3x3_bwd_f (dsrc, gw->conv_w[k], NULL, d, k > 0 ? e->st[k - 1] : e->x, n,
        w->cin[k], e->sh[k], e->sw[k], w->conv_w[k], w->cout[k], w->stride[k], g->col);
    d = dsrc;
  }
}
