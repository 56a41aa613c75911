/* nafblock: one NAFBlock forward for training (keeping every intermediate)
 * and its backward, which walks the block in reverse with the running
 * gradient updated in place (the residual paths make that natural). */
#include "train/graph.h"
#include "train/ops.h"
#include "train/prof.h"

#include <string.h>

void
irc_tr_block_fwd (irc_tr_graph *g, irc_tr_block *a, const irc_nafblock_w *w, const float *x,
    int lvl)
{
  const int c = w->c, n = g->n, h = g->h[lvl], wd = g->w[lvl];
  const size_t p = g->p[lvl], hw = (size_t) h * wd;
  a->x = x;
  irc_tr_layernorm_fwd_f (a->n1, a->mu1, a->rs1, x, c, p, w->norm1_w, w->norm1_b, 1e-6f);
  irc_tr_conv1x1_fwd_f (a->t1, a->n1, p, c, w->conv1_w, c, w->conv1_b, 2 * c, 0);
  irc_tr_dwconv3x3_fwd_f (a->t2, a->t1, 2 * c, n, h, wd, w->conv2_w, w->conv2_b);
  irc_tr_gate_fwd_f (a->g, a->t2, c, p);
  /* SCA: 1x1 conv on the per-image channel means (c x N), no sigmoid */
  irc_tr_plane_mean_fwd_f (a->m, a->g, (size_t) c * n, hw);
  irc_tr_conv1x1_fwd_f (a->s, a->m, (size_t) n, c, w->sca_w, c, w->sca_b, c, 0);
  irc_tr_plane_scale_fwd_f (a->h, a->g, a->s, (size_t) c * n, hw);
  irc_tr_conv1x1_fwd_f (a->t3, a->h, p, c, w->conv3_w, c, w->conv3_b, c, 0);
  irc_tr_scale_add_fwd_f (a->y, x, a->t3, w->beta, c, p);
  irc_tr_layernorm_fwd_f (a->n2, a->mu2, a->rs2, a->y, c, p, w->norm2_w, w->norm2_b, 1e-6f);
  irc_tr_conv1x1_fwd_f (a->u, a->n2, p, c, w->conv4_w, c, w->conv4_b, 2 * c, 0);
  irc_tr_gate_fwd_f (a->v, a->u, c, p);
  irc_tr_conv1x1_fwd_f (a->t5, a->v, p, c, w->conv5_w, c, w->conv5_b, c, 0);
  irc_tr_scale_add_fwd_f (a->out, a->y, a->t5, w->gamma, c, p);
}

static float *
zeroed (float *buf, size_t count)
{
  memset (buf, 0, count * sizeof (float));
  return buf;
}

/* out = y + t5 * gamma and y = x + t3 * beta: the running gradient @d passes
 * both residuals unchanged, so only the branches need scratch. */
void
irc_tr_block_bwd (irc_tr_graph *g, irc_tr_block *a, const irc_nafblock_w *w,
    irc_nafblock_w *gw, float *d, int lvl)
{
  const int c = w->c, n = g->n, h = g->h[lvl], wd = g->w[lvl];
  const size_t p = g->p[lvl], hw = (size_t) h * wd, cp = (size_t) c * p;
  const size_t cn = (size_t) c * n;
  float *dt = zeroed (g->bc, cp), *dv = zeroed (g->bd, cp);

  /* second half: d(t5) = d * gamma */
  irc_tr_scale_add_bwd_f (NULL, dt, gw->gamma, d, a->t5, w->gamma, c, p);
  irc_tr_conv1x1_bwd_f (dv, gw->conv5_w, gw->conv5_b, dt, a->v, p, c, w->conv5_w, c, c);
  float *du = zeroed (g->ba, 2 * cp);
  irc_tr_gate_bwd_f (du, dv, a->u, c, p);
  float *dn = zeroed (g->bc, cp);
  irc_tr_conv1x1_bwd_f (dn, gw->conv4_w, gw->conv4_b, du, a->n2, p, c, w->conv4_w, c, 2 * c);
  irc_tr_layernorm_bwd_f (d, gw->norm2_w, gw->norm2_b, dn, a->y, a->mu2, a->rs2, c, p,
      w->norm2_w);

  /* first half: d(t3) = d * beta */
  dt = zeroed (g->bc, cp);
  irc_tr_scale_add_bwd_f (NULL, dt, gw->beta, d, a->t3, w->beta, c, p);
  float *dh = zeroed (g->bd, cp);
  irc_tr_conv1x1_bwd_f (dh, gw->conv3_w, gw->conv3_b, dt, a->h, p, c, w->conv3_w, c, c);
  float *dg = zeroed (g->bc, cp), *ds = zeroed (g->bs, cn), *dm = zeroed (g->bm, cn);
  irc_tr_plane_scale_bwd_f (dg, ds, dh, a->g, a->s, cn, hw);
  irc_tr_conv1x1_bwd_f (dm, gw->sca_w, gw->sca_b, ds, a->m, (size_t) n, c, w->sca_w, c, c);
  irc_tr_plane_mean_bwd_f (dg, dm, cn, hw);
  float *dt2 = zeroed (g->ba, 2 * cp);
  irc_tr_gate_bwd_f (dt2, dg, a->t2, c, p);
  float *dt1 = zeroed (g->bb, 2 * cp);
  irc_tr_dwconv3x3_bwd_f (dt1, gw->conv2_w, gw->conv2_b, dt2, a->t1, 2 * c, n, h, wd,
      w->conv2_w);
  dn = zeroed (g->bc, cp);
  irc_tr_conv1x1_bwd_f (dn, gw->conv1_w, gw->conv1_b, dt1, a->n1, p, c, w->conv1_w, c, 2 * c);
  irc_tr_layernorm_bwd_f (d, gw->norm1_w, gw->norm1_b, dn, a->x, a->mu1, a->rs1, c, p,
      w->norm1_w);
}
