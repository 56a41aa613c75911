/* backend_ref: the network's mid-level ops composed from the reference ops.
 * Slow and simple on purpose: it is the oracle for the other backends. */
#include "backend.h"
#include "error.h"
#include "ops/ref.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  irc_backend base;
  float *scratch;
  size_t scratch_count;
  /* the channel attention's per-channel mean and scale: the widest
   * NAFBlock's channels each, after the scratch in the same allocation */
  float *sca_mean, *sca_s;
} ref_backend;

static void
ref_free (irc_backend *be)
{
  ref_backend *r = (ref_backend *) be;
  free (r->scratch);
  free (r);
}

static void
ref_conv (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w, const float *b,
    int k, int stride, int leaky, const irc_tensor *residual)
{
  (void) be;
  irc_ref_conv2d (dst.data, src.data, src.c, src.h, src.w, w, b, dst.c, k, stride, 1);
  const size_t n = (size_t) dst.c * irc_tensor_plane (dst);
  if (leaky)
    irc_ref_leaky_relu (dst.data, n, 0.1f);
  if (residual)
    for (size_t i = 0; i < n; i++)
      dst.data[i] += residual->data[i];
}

static void
ref_down (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w)
{
  float *t = ((ref_backend *) be)->scratch;
  irc_ref_conv2d (t, src.data, src.c, src.h, src.w, w, NULL, src.c / 4, 3, 1, 1);
  irc_ref_pixel_unshuffle (dst.data, t, src.c / 4, src.h, src.w);
}

static void
ref_up (irc_backend *be, irc_tensor dst, irc_tensor src, irc_tensor skip, const float *up_w,
    const float *down_w)
{
  ref_backend *r = (ref_backend *) be;
  const size_t hw = irc_tensor_plane (src);
  float *conv = r->scratch;
  float *cat = conv + (size_t) 4 * src.c * hw;
  irc_ref_conv2d (conv, src.data, src.c, src.h, src.w, up_w, NULL, 4 * src.c, 3, 1, 1);
  irc_ref_pixel_shuffle (cat, conv, src.c, src.h, src.w);
  memcpy (cat + (size_t) src.c * 4 * hw, skip.data, (size_t) skip.c * 4 * hw * sizeof (float));
  irc_ref_conv2d (dst.data, cat, src.c + skip.c, dst.h, dst.w, down_w, NULL, dst.c, 1, 1, 1);
}

/* NAFBlock as in the authors' code (the paper's section 2.2). */
static void
ref_nafblock (irc_backend *be, irc_tensor x, const irc_nafblock_w *bw)
{
  ref_backend *r = (ref_backend *) be;
  const int c = x.c;
  const size_t hw = irc_tensor_plane (x);
  float *a = r->scratch, *b2 = a + 2 * c * hw, *g = b2 + 2 * c * hw;
  float *mean = r->sca_mean, *s = r->sca_s;
  irc_ref_layernorm2d (g, x.data, c, hw, bw->norm1_w, bw->norm1_b, 1e-6f);
  irc_ref_conv2d (a, g, c, x.h, x.w, bw->conv1_w, bw->conv1_b, 2 * c, 1, 1, 1);
  irc_ref_conv2d (b2, a, 2 * c, x.h, x.w, bw->conv2_w, bw->conv2_b, 2 * c, 3, 1, 2 * c);
  irc_ref_simple_gate (g, b2, c, hw);
  const int k = be->sca_window;
  if ((k > 0 && (k < x.h || k < x.w)) || be->sca_map || be->sca_map_out) {
    /* TLC: the attention sees each pixel's local mean, through sca.1 per pixel */
    float *local = b2, *smap = b2 + c * hw;
    if (be->sca_map)
      irc_ref_sample_map (local, be->sca_map, c, x.h, x.w, be->sca_map_h, be->sca_map_w,
          be->sca_map_y0, be->sca_map_x0, be->sca_map_scale);
    else
      irc_ref_local_mean (local, g, c, x.h, x.w, k);
    if (be->sca_map_out)
      memcpy (be->sca_map_out, local, (size_t) c * hw * sizeof (float));
    irc_ref_conv2d (smap, local, c, x.h, x.w, bw->sca_w, bw->sca_b, c, 1, 1, 1);
    for (size_t i = 0; i < (size_t) c * hw; i++)
      g[i] *= smap[i];
  } else {
    irc_ref_channel_mean (mean, g, c, hw);
    if (be->sca_means)
      memcpy (mean, be->sca_means, (size_t) c * sizeof (float));
    if (be->sca_means_out)
      memcpy (be->sca_means_out, mean, (size_t) c * sizeof (float));
    irc_ref_linear (s, mean, c, c, bw->sca_w, bw->sca_b);
    irc_ref_scale_channels (g, c, hw, s);
  }
  irc_ref_conv2d (a, g, c, x.h, x.w, bw->conv3_w, bw->conv3_b, c, 1, 1, 1);
  irc_ref_scale_add (x.data, x.data, a, bw->beta, c, hw);
  irc_ref_layernorm2d (g, x.data, c, hw, bw->norm2_w, bw->norm2_b, 1e-6f);
  irc_ref_conv2d (a, g, c, x.h, x.w, bw->conv4_w, bw->conv4_b, 2 * c, 1, 1, 1);
  irc_ref_simple_gate (b2, a, c, hw);
  irc_ref_conv2d (a, b2, c, x.h, x.w, bw->conv5_w, bw->conv5_b, c, 1, 1, 1);
  irc_ref_scale_add (x.data, x.data, a, bw->gamma, c, hw);
}

static void
ref_mean (irc_backend *be, float *dst, irc_tensor src)
{
  (void) be;
  irc_ref_channel_mean (dst, src.data, src.c, irc_tensor_plane (src));
}

irc_status
irc_backend_ref_new (const irc_weights *w, int cap_h, int cap_w, irc_backend **out,
    irc_error *err)
{
  ref_backend *r = calloc (1, sizeof *r);
  if (!r)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  /* the widest temporaries: a NAFBlock at level 0 of the decoder (2C channels,
   * 5 x 2C planes) and UC1's conv + concatenation (3C + 4C planes) */
  const size_t l0 = (size_t) cap_h * cap_w;
  const size_t C = (size_t) w->cfg.dim;
  size_t need = 10 * C * l0;
  if (7 * C * l0 > need)
    need = 7 * C * l0;
  /* the widest NAFBlock's channels, for the attention's mean and scale */
  const size_t max_c = irc_weights_widest_block (w);
  r->scratch = malloc ((need + 2 * max_c) * sizeof (float));
  if (!r->scratch) {
    free (r);
    return irc_fail (err, IRC_ERR_NOMEM, "reference backend: out of memory for %zu MB of scratch",
        need * sizeof (float) >> 20);
  }
  r->scratch_count = need;
  r->sca_mean = r->scratch + need;
  r->sca_s = r->sca_mean + max_c;
  r->base.kind = IRC_BACKEND_REFERENCE;
  r->base.name = "reference";
  r->base.free = ref_free;
  r->base.conv = ref_conv;
  r->base.down = ref_down;
  r->base.up = ref_up;
  r->base.nafblock = ref_nafblock;
  r->base.mean = ref_mean;
  *out = &r->base;
  return IRC_OK;
}
