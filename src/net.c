/* net: the IRConStyle graph (ConStyle encoder + ConStyle-NAFNet), written once
 * over the backend's mid-level ops; activation buffers planned at creation
 * for the largest frame, padding to a multiple of 8 and cropping back. */
#include "backend.h"
#include "error.h"
#include "ops/ref.h"

#include <stdlib.h>
#include <string.h>

struct irc_net {
  const irc_model *model;
  const irc_weights *w;
  irc_backend *be;
  int cap_h, cap_w;              /* padded capacity */
  int tlc_window;                /* full-resolution TLC window, 0 = global pool */
  int encoder_only;
  float *arena;
  /* activations (capacity-sized; views are taken for the actual frame) */
  float *pad, *enc_a, *enc_b, *fea[3], *enc4a, *enc4b;
  float *mid;                    /* where stages 2.0 and 3.0 write (enc_a, or enc_b when aliased) */
  float *x1, *x2, *x3, *x4, *b, *r3, *r2, *r1, *out;
  /* the scene's latent code and what is derived from it */
  float *code1, *code2, *qv, *fusion_w, *pooled;
  int have_code;
  /* the scene's attention: every NAFBlock's pooled channel means, in the
   * order the blocks run (irc_net_attention_size() floats) */
  float *attention;
  size_t attention_size;
  int attention_fixed;           /* restores take @attention as the blocks' pools */
  int attention_record;          /* the next restore writes its pools into @attention */
  /* a window net's attention maps, in the arena (irc_net_params.maps_width) */
  float *maps;
  size_t maps_cap;
  int maps_fixed;                /* restores read their pools from @maps */
  int maps_record;               /* the next restore writes its pools there */
  int map_hp, map_wp, map_shrink; /* the padded view the maps were recorded on */
  int origin_x, origin_y;        /* the next restores' place in the frame */
  int fea_h[3], fea_w[3];        /* of the last encoder run */
};

/* Mirror index as F.pad(mode="reflect"), extended periodically so that pads
 * wider than the image (tiny frames) still work. */
static int
reflect_index (int i, int n)
{
  if (n == 1)
    return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - i;
}

static irc_status
sync_up (irc_net *n, const float *host, size_t count, irc_error *err)
{
  return n->be->upload && !n->be->measuring ? n->be->upload (n->be, host, count, err) : IRC_OK;
}

static irc_status
sync_down (irc_net *n, float *host, size_t count, irc_error *err)
{
  return n->be->download && !n->be->measuring ? n->be->download (n->be, host, count, err)
      : IRC_OK;
}

static int
pad8 (int n)
{
  return (n + 7) / 8 * 8;
}

static int
half_up (int n)
{
  return (n + 1) / 2;
}

static void encode_stages123 (irc_net *n, int hp, int wp);
static irc_status encode_head (irc_net *n, irc_error *err);
static void run_unet (irc_net *n, int hp, int wp);

irc_status
irc_net_new (const irc_model *model, int max_width, int max_height,
    const irc_net_params *params, irc_net **out, irc_error *err)
{
  const irc_net_params defaults = IRC_NET_DEFAULTS;
  if (!params)
    params = &defaults;
  if (!model)
    return irc_fail (err, IRC_ERR_INVALID, "irc_net_new: no model");
  if (max_width < 1 || max_height < 1 || max_width > 16384 || max_height > 16384)
    return irc_fail (err, IRC_ERR_INVALID,
        "irc_net_new: frame size %dx%d outside 1x1 .. 16384x16384", max_width, max_height);
  irc_net *n = calloc (1, sizeof *n);
  if (!n)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  n->model = model;
  n->w = &model->w;
  n->cap_h = pad8 (max_height);
  n->cap_w = pad8 (max_width);
  if (params->tlc_window < 0)
    return free (n), irc_fail (err, IRC_ERR_INVALID, "irc_net_new: negative TLC window %d",
        params->tlc_window);
  n->tlc_window = params->tlc_window;
  n->encoder_only = params->encoder_only != 0;
  const irc_config *cfg = &model->w.cfg;
  const size_t l0 = (size_t) n->cap_h * n->cap_w, l1 = l0 / 4, l2 = l0 / 16, l3 = l0 / 64;
  const size_t l4 = (size_t) half_up (n->cap_h / 8) * half_up (n->cap_w / 8);
  const size_t C = (size_t) cfg->dim, ew = (size_t) cfg->enc_width, code = (size_t) cfg->code;
  /* the U-Net's buffers are left empty on an encoder-only net */
  const size_t u = n->encoder_only ? 0 : 1;
  /* a scene attention only where the blocks pool globally */
  n->attention_size = !n->encoder_only && n->tlc_window == 0
      ? irc_weights_block_channels (&model->w) : 0;
  if (params->maps_width < 0 || params->maps_height < 0 || params->maps_width > 16384
      || params->maps_height > 16384) {
    free (n);
    return irc_fail (err, IRC_ERR_INVALID, "irc_net_new: attention maps of %dx%d",
        params->maps_width, params->maps_height);
  }
  n->maps_cap = irc_net_attention_maps_size (n, params->maps_width, params->maps_height);
  struct {
    float **slot;
    size_t count;
  } plan[] = {
    {&n->pad, 3 * l0}, {&n->enc_a, ew * l0}, {&n->enc_b, ew * l0},
    {&n->fea[0], u * 2 * ew * l1}, {&n->fea[1], u * 4 * ew * l2}, {&n->fea[2], u * 8 * ew * l3},
    {&n->enc4a, u * 16 * ew * l3}, {&n->enc4b, 16 * ew * l4},
    {&n->x1, u * C * l0}, {&n->x2, u * 2 * C * l1}, {&n->x3, u * 3 * C * l2},
    {&n->x4, u * 4 * C * l3}, {&n->b, u * 3 * C * l3}, {&n->r3, u * 4 * C * l2},
    {&n->r2, u * 3 * C * l1}, {&n->r1, u * 2 * C * l0}, {&n->out, u * 3 * l0},
    {&n->code1, code}, {&n->code2, code}, {&n->qv, 4 * C}, {&n->fusion_w, 3 * C * 4 * C},
    {&n->pooled, 16 * ew}, {&n->attention, n->attention_size}, {&n->maps, n->maps_cap},
  };
  size_t total = 0;
  for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++)
    total += (plan[i].count + 15) / 16 * 16;   /* 64-byte aligned views */
  n->arena = aligned_alloc (64, total * sizeof (float));
  if (!n->arena) {
    free (n);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for %zu MB of activations",
        total * sizeof (float) >> 20);
  }
  memset (n->arena, 0, total * sizeof (float));
  size_t off = 0;
  for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
    *plan[i].slot = n->arena + off;
    off += (plan[i].count + 15) / 16 * 16;
  }
  n->mid = n->enc_a;
  if (n->encoder_only) {
    /* only the code is wanted: the stages ping-pong between the two
     * full-resolution buffers (each output is at most w x H x W), which
     * keeps a 4K style pass near 1 GB; the feature maps are not kept */
    n->fea[0] = n->fea[1] = n->fea[2] = n->enc_a;
    n->mid = n->enc4a = n->enc_b;
  }
  irc_status st;
  switch (params->backend) {
    case IRC_BACKEND_REFERENCE:
      st = irc_backend_ref_new (n->w, n->cap_h, n->cap_w, &n->be, err);
      break;
    case IRC_BACKEND_VULKAN:
    case IRC_BACKEND_AUTO: {
      /* auto takes Vulkan only on a real GPU (or a device forced by
       * IRC_VULKAN_DEVICE); otherwise, or when that fails, the CPU */
      const irc_vulkan_params vp = {model->arena, model->arena_count, n->arena, total,
        params->device, params->backend == IRC_BACKEND_AUTO, params->vulkan_fp16 != 0};
      irc_error verr = {0};
      st = irc_backend_vulkan_new (n->w, n->cap_h, n->cap_w, &vp, &n->be,
          params->backend == IRC_BACKEND_VULKAN ? err : &verr);
      if (st == IRC_OK || params->backend == IRC_BACKEND_VULKAN)
        break;
    }
    /* fall through */
    case IRC_BACKEND_CPU:
      st = irc_backend_cpu_new (n->w, n->cap_h, n->cap_w, params->threads, &n->be, err);
      break;
    default:
      st = irc_fail (err, IRC_ERR_UNSUPPORTED,
          "backend %d is not available in this build", (int) params->backend);
  }
  if (st == IRC_OK && n->be->measuring) {
    /* walk the graph once at the largest size so the backend sizes its
     * buffers now, not during a frame */
    encode_stages123 (n, n->cap_h, n->cap_w);
    encode_head (n, err);
    if (!n->encoder_only)
      run_unet (n, n->cap_h, n->cap_w);
    n->have_code = 0;
    st = n->be->prepare (n->be, err);
  }
  if (st != IRC_OK) {
    irc_net_free (&n);
    return st;
  }
  *out = n;
  return IRC_OK;
}

void
irc_net_free (irc_net **net)
{
  if (!net || !*net)
    return;
  irc_net *n = *net;
  if (n->be)
    n->be->free (n->be);
  free (n->arena);
  free (n);
  *net = NULL;
}

irc_backend_kind
irc_net_backend (const irc_net *net)
{
  return net->be->kind;
}

static irc_tensor
view (float *data, int c, int h, int w)
{
  irc_tensor t = {data, c, h, w};
  return t;
}

static irc_status
check_frame (const irc_net *n, const void *src, int width, int height, irc_error *err)
{
  if (!src)
    return irc_fail (err, IRC_ERR_INVALID, "no image given");
  if (width < 1 || height < 1 || pad8 (width) > n->cap_w || pad8 (height) > n->cap_h)
    return irc_fail (err, IRC_ERR_INVALID,
        "frame %dx%d does not fit the network's configured size %dx%d",
        width, height, n->cap_w, n->cap_h);
  return IRC_OK;
}

/* Reflect-pad right and bottom to a multiple of 8, as the authors' test code. */
static irc_status
pad_input (irc_net *n, const float *src, int width, int height, irc_error *err)
{
  const int hp = pad8 (height), wp = pad8 (width);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < hp; y++) {
      const float *row = src + ((size_t) c * height + reflect_index (y, height)) * width;
      float *d = n->pad + ((size_t) c * hp + y) * wp;
      memcpy (d, row, (size_t) width * sizeof (float));
      for (int x = width; x < wp; x++)
        d[x] = row[reflect_index (x, width)];
    }
  return sync_up (n, n->pad, (size_t) 3 * hp * wp, err);
}

/* Encoder stages 1-3: the three feature maps. */
static void
encode_stages123 (irc_net *n, int hp, int wp)
{
  const irc_encoder_w *e = &n->w->enc;
  irc_backend *be = n->be;
  const int h1 = hp / 2, w1 = wp / 2, h2 = hp / 4, w2 = wp / 4, h3 = hp / 8, w3 = wp / 8;
  irc_tensor in = view (n->pad, 3, hp, wp);
  irc_tensor a = view (n->enc_a, e->cout[0], hp, wp);
  irc_tensor b = view (n->enc_b, e->cout[1], hp, wp);
  irc_tensor f1 = view (n->fea[0], e->cout[2], h1, w1);
  irc_tensor a2 = view (n->mid, e->cout[3], h1, w1);
  irc_tensor f2 = view (n->fea[1], e->cout[4], h2, w2);
  irc_tensor a3 = view (n->mid, e->cout[5], h2, w2);
  irc_tensor f3 = view (n->fea[2], e->cout[6], h3, w3);
  be->conv (be, a, in, e->conv_w[0], NULL, 3, 1, 1, NULL);
  be->conv (be, b, a, e->conv_w[1], NULL, 3, 1, 1, NULL);
  be->conv (be, f1, b, e->conv_w[2], NULL, 3, 2, 1, NULL);
  be->conv (be, a2, f1, e->conv_w[3], NULL, 3, 1, 1, NULL);
  be->conv (be, f2, a2, e->conv_w[4], NULL, 3, 2, 1, NULL);
  be->conv (be, a3, f2, e->conv_w[5], NULL, 3, 1, 1, NULL);
  be->conv (be, f3, a3, e->conv_w[6], NULL, 3, 2, 1, NULL);
  n->fea_h[0] = h1, n->fea_w[0] = w1;
  n->fea_h[1] = h2, n->fea_w[1] = w2;
  n->fea_h[2] = h3, n->fea_w[2] = w3;
}

/* Folds the code into local_fusion: conv1x1(cat(b, b * qv)) equals the 1x1
 * convolution with W[:, :4C] + W[:, 4C:] diag(qv). */
static irc_status
apply_code (irc_net *n, irc_error *err)
{
  const irc_weights *w = n->w;
  const int C = w->cfg.dim;
  irc_ref_linear (n->qv, n->code2, w->cfg.code, 4 * C, w->mlp_w, w->mlp_b);
  for (int o = 0; o < 3 * C; o++)
    for (int i = 0; i < 4 * C; i++)
      n->fusion_w[o * 4 * C + i] = w->local_fusion_w[(size_t) o * 8 * C + i]
          + w->local_fusion_w[(size_t) o * 8 * C + 4 * C + i] * n->qv[i];
  n->have_code = 1;
  return sync_up (n, n->fusion_w, (size_t) 3 * C * 4 * C, err);
}

/* Stage 4, global pool and the two MLP heads: the style code. */
static irc_status
encode_head (irc_net *n, irc_error *err)
{
  const irc_encoder_w *e = &n->w->enc;
  irc_backend *be = n->be;
  const int h3 = n->fea_h[2], w3 = n->fea_w[2];
  irc_tensor f3 = view (n->fea[2], e->cout[6], h3, w3);
  irc_tensor a = view (n->enc4a, e->cout[7], h3, w3);
  irc_tensor b = view (n->enc4b, e->cout[8], half_up (h3), half_up (w3));
  be->conv (be, a, f3, e->conv_w[7], NULL, 3, 1, 1, NULL);
  be->conv (be, b, a, e->conv_w[8], NULL, 3, 2, 1, NULL);
  be->mean (be, n->pooled, b);
  if (be->measuring)
    return IRC_OK;
  irc_status st = sync_down (n, n->pooled, (size_t) b.c, err);
  if (st != IRC_OK)
    return st;
  float *outs[2] = {n->code1, n->code2};
  const float *x = n->pooled;
  for (int i = 0; i < 2; i++) {
    irc_ref_linear (outs[i], x, e->lin_in[i], e->lin_out[i], e->lin_w[i], e->lin_b[i]);
    irc_ref_batchnorm_eval (outs[i], e->lin_out[i], e->bn_w[i], e->bn_b[i], e->bn_mean[i],
        e->bn_var[i], 1e-5f);
    irc_ref_gelu (outs[i], (size_t) e->lin_out[i]);
    x = outs[i];
  }
  return apply_code (n, err);
}

/* The blocks of one U-Net level (0 = full resolution); *@att is where the
 * next block's means lie in the scene attention, *@map_at where its map
 * lies in the attention maps given or written. */
static void
run_blocks (irc_net *n, int level, irc_tensor x, const irc_nafblock_w *blocks, int count,
    size_t *att, size_t *map_at)
{
  irc_backend *be = n->be;
  be->sca_window = n->tlc_window > 0 ? (n->tlc_window >> level > 0 ? n->tlc_window >> level : 1)
      : 0;
  const int reading = n->maps_fixed && !be->measuring, writing = n->maps_record && !be->measuring;
  be->sca_map_h = reading ? n->map_hp >> level : x.h;
  be->sca_map_w = reading ? n->map_wp >> level : x.w;
  be->sca_map_y0 = (float) n->origin_y / (float) (1 << level);
  be->sca_map_x0 = (float) n->origin_x / (float) (1 << level);
  be->sca_map_scale = reading ? 1.0f / (float) n->map_shrink : 1.0f;
  for (int i = 0; i < count; i++) {
    float *means = n->attention_size ? n->attention + *att : NULL;
    be->sca_means = n->attention_fixed && !be->measuring ? means : NULL;
    be->sca_means_out = n->attention_record && !be->measuring ? means : NULL;
    be->sca_map = reading ? n->maps + *map_at : NULL;
    be->sca_map_out = writing ? n->maps + *map_at : NULL;
    be->nafblock (be, x, &blocks[i]);
    *att += (size_t) blocks[i].c;
    *map_at += (size_t) blocks[i].c * be->sca_map_h * be->sca_map_w;
  }
  be->sca_means = NULL;
  be->sca_means_out = NULL;
  be->sca_map = NULL;
  be->sca_map_out = NULL;
}

/* The U-Net guided by the cached code and the encoder's feature maps. */
static void
run_unet (irc_net *n, int hp, int wp)
{
  const irc_weights *w = n->w;
  const irc_config *cfg = &w->cfg;
  irc_backend *be = n->be;
  const int C = cfg->dim;
  const int h[4] = {hp, hp / 2, hp / 4, hp / 8}, wd[4] = {wp, wp / 2, wp / 4, wp / 8};
  irc_tensor in = view (n->pad, 3, hp, wp);
  irc_tensor x1 = view (n->x1, C, h[0], wd[0]);
  irc_tensor x2 = view (n->x2, 2 * C, h[1], wd[1]);
  irc_tensor x3 = view (n->x3, 3 * C, h[2], wd[2]);
  irc_tensor x4 = view (n->x4, 4 * C, h[3], wd[3]);
  irc_tensor lv[4] = {x1, x2, x3, x4};
  size_t att = 0;   /* the blocks' means lie in the scene attention in the order they run */
  size_t map_at = 0;   /* and their maps in the attention maps */

  be->conv (be, x1, in, w->pre_w, NULL, 3, 1, 0, NULL);
  for (int l = 0; l < 3; l++) {
    run_blocks (n, l, lv[l], w->left[l], cfg->left[l], &att, &map_at);
    /* the next level is cat(unshuffle(DC(x)), AffineTransform(fea)) */
    irc_tensor main = irc_tensor_slice (lv[l + 1], 0, lv[l].c);
    irc_tensor inj = irc_tensor_slice (lv[l + 1], lv[l].c, C);
    irc_tensor fea = view (n->fea[l], n->w->enc.cout[2 + 2 * l], h[l + 1], wd[l + 1]);
    be->down (be, main, lv[l], w->dc_w[l]);
    be->conv (be, inj, fea, w->at_w[l], NULL, 1, 1, 1, NULL);
  }
  run_blocks (n, 3, x4, w->bottom, cfg->bottom, &att, &map_at);
  irc_tensor b = view (n->b, 3 * C, h[3], wd[3]);
  be->conv (be, b, x4, n->fusion_w, NULL, 1, 1, 0, NULL);

  irc_tensor r3 = view (n->r3, 4 * C, h[2], wd[2]);
  irc_tensor r2 = view (n->r2, 3 * C, h[1], wd[1]);
  irc_tensor r1 = view (n->r1, 2 * C, h[0], wd[0]);
  be->up (be, r3, b, x3, w->uc_up_w[2], w->uc_down_w[2]);
  run_blocks (n, 2, r3, w->right[2], cfg->right[2], &att, &map_at);
  be->up (be, r2, r3, x2, w->uc_up_w[1], w->uc_down_w[1]);
  run_blocks (n, 1, r2, w->right[1], cfg->right[1], &att, &map_at);
  be->up (be, r1, r2, x1, w->uc_up_w[0], w->uc_down_w[0]);
  run_blocks (n, 0, r1, w->right[0], cfg->right[0], &att, &map_at);
  irc_tensor o = view (n->out, 3, hp, wp);
  be->conv (be, o, r1, w->fin_w, NULL, 3, 1, 0, &in);
}

static irc_status
crop_output (irc_net *n, float *dst, int width, int height, irc_error *err)
{
  const int hp = pad8 (height), wp = pad8 (width);
  irc_status st = sync_down (n, n->out, (size_t) 3 * hp * wp, err);
  if (st != IRC_OK)
    return st;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < height; y++)
      memcpy (dst + ((size_t) c * height + y) * width, n->out + ((size_t) c * hp + y) * wp,
          (size_t) width * sizeof (float));
  return IRC_OK;
}

irc_status
irc_net_encode (irc_net *n, const float *src, int width, int height, irc_encoder_out *out,
    irc_error *err)
{
  irc_status st = check_frame (n, src, width, height, err);
  if (st == IRC_OK)
    st = pad_input (n, src, width, height, err);
  if (st != IRC_OK)
    return st;
  encode_stages123 (n, pad8 (height), pad8 (width));
  st = encode_head (n, err);
  if (st != IRC_OK || !out)
    return st;
  out->code1 = n->code1;
  out->code2 = n->code2;
  for (int i = 0; i < 3 && st == IRC_OK; i++) {
    out->fea[i] = n->encoder_only ? NULL : n->fea[i];
    out->fea_c[i] = n->w->enc.cout[2 + 2 * i];
    out->fea_h[i] = n->fea_h[i];
    out->fea_w[i] = n->fea_w[i];
    if (out->fea[i])
      st = sync_down (n, n->fea[i], (size_t) out->fea_c[i] * out->fea_h[i] * out->fea_w[i], err);
  }
  return st;
}

irc_status
irc_net_set_code (irc_net *n, const float *code2, irc_error *err)
{
  if (!code2)
    return irc_fail (err, IRC_ERR_INVALID, "irc_net_set_code: no code");
  memcpy (n->code2, code2, (size_t) n->w->cfg.code * sizeof (float));
  return apply_code (n, err);
}

/* Why @n has no scene attention to @what (record, fix). */
static irc_status
no_attention (const irc_net *n, const char *what, irc_error *err)
{
  return irc_fail (err, IRC_ERR_UNSUPPORTED, "this net has no scene attention to %s: %s", what,
      n->encoder_only ? "it was created encoder-only"
      : "its NAFBlocks pool in windows (TLC), not over the whole frame");
}

static irc_status
restore (irc_net *n, float *dst, const float *src, int width, int height, int with_code,
    float *means_out, irc_error *err)
{
  irc_status st = check_frame (n, src, width, height, err);
  if (st != IRC_OK)
    return st;
  if (!dst && !means_out && !n->maps_record)
    return irc_fail (err, IRC_ERR_INVALID, "no output image given");
  if (means_out && !n->attention_size)
    return no_attention (n, "record", err);
  if (n->encoder_only)
    return irc_fail (err, IRC_ERR_INVALID, "this net was created encoder-only");
  if (with_code && !n->have_code)
    return irc_fail (err, IRC_ERR_INVALID,
        "no style code yet: run irc_net_encode() or irc_net_set_code() first");
  st = pad_input (n, src, width, height, err);
  if (st != IRC_OK)
    return st;
  encode_stages123 (n, pad8 (height), pad8 (width));
  if (!with_code && (st = encode_head (n, err)) != IRC_OK)
    return st;
  /* recording pools this frame, whatever attention was fixed, and leaves
   * what it pooled as the net's attention */
  n->attention_record = means_out != NULL;
  run_unet (n, pad8 (height), pad8 (width));
  n->attention_record = 0;
  if (means_out) {
    st = sync_down (n, n->attention, n->attention_size, err);
    if (st != IRC_OK)
      return st;
    memcpy (means_out, n->attention, n->attention_size * sizeof (float));
  }
  return dst ? crop_output (n, dst, width, height, err) : IRC_OK;
}

size_t
irc_net_attention_size (const irc_net *n)
{
  return n ? n->attention_size : 0;
}

irc_status
irc_net_restore_recording (irc_net *n, float *dst, const float *src, int width, int height,
    int with_code, float *means, irc_error *err)
{
  if (!means)
    return irc_fail (err, IRC_ERR_INVALID, "irc_net_restore_recording: nowhere to record");
  if (with_code && !n->have_code)
    return irc_fail (err, IRC_ERR_INVALID,
        "no style code yet: run irc_net_encode() or irc_net_set_code() first");
  const int fixed = n->attention_fixed;
  n->attention_fixed = 0;
  irc_status st = restore (n, dst, src, width, height, with_code, means, err);
  n->attention_fixed = fixed && st == IRC_OK;
  return st;
}

size_t
irc_net_attention_maps_size (const irc_net *n, int width, int height)
{
  if (!n || n->encoder_only || n->tlc_window == 0 || width < 1 || height < 1)
    return 0;
  const irc_weights *w = n->w;
  const irc_config *cfg = &w->cfg;
  const size_t hp = (size_t) pad8 (height), wp = (size_t) pad8 (width);
  size_t total = 0;
  for (int l = 0; l < 3; l++) {
    const size_t plane = (hp >> l) * (wp >> l);
    for (int i = 0; i < cfg->left[l]; i++)
      total += (size_t) w->left[l][i].c * plane;
    for (int i = 0; i < cfg->right[l]; i++)
      total += (size_t) w->right[l][i].c * plane;
  }
  for (int i = 0; i < cfg->bottom; i++)
    total += (size_t) w->bottom[i].c * (hp >> 3) * (wp >> 3);
  return total;
}

/* Why @n cannot hold the attention maps of a @width x @height view, or NULL
 * when it can. */
static const char *
no_maps (const irc_net *n, int width, int height)
{
  if (n->encoder_only)
    return "it was created encoder-only";
  if (n->tlc_window == 0)
    return "its NAFBlocks pool over the whole frame (use the scene attention)";
  if (irc_net_attention_maps_size (n, width, height) > n->maps_cap)
    return n->maps_cap ? "the view is larger than irc_net_params.maps_width x maps_height"
        : "it was created without room for them (irc_net_params.maps_width, maps_height)";
  return NULL;
}

irc_status
irc_net_restore_recording_maps (irc_net *n, float *dst, const float *src, int width, int height,
    int with_code, float *maps, irc_error *err)
{
  if (!maps)
    return irc_fail (err, IRC_ERR_INVALID, "irc_net_restore_recording_maps: nowhere to record");
  const char *why = no_maps (n, width, height);
  if (why)
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "this net records no %dx%d attention maps: %s",
        width, height, why);
  /* recording pools this frame's own windows, over whatever was fixed */
  n->maps_fixed = 0;
  n->maps_record = 1;
  irc_status st = restore (n, dst, src, width, height, with_code, NULL, err);
  n->maps_record = 0;
  const size_t size = irc_net_attention_maps_size (n, width, height);
  if (st == IRC_OK)
    st = sync_down (n, n->maps, size, err);
  if (st == IRC_OK)
    memcpy (maps, n->maps, size * sizeof (float));
  return st;
}

irc_status
irc_net_set_attention_maps (irc_net *n, const float *maps, int map_width, int map_height,
    int shrink, irc_error *err)
{
  n->maps_fixed = 0;
  if (!maps)
    return IRC_OK;
  if (map_width < 1 || map_height < 1 || map_width > 16384 || map_height > 16384 || shrink < 1
      || shrink > 16384)
    return irc_fail (err, IRC_ERR_INVALID,
        "irc_net_set_attention_maps: view %dx%d or shrink factor %d out of range", map_width,
        map_height, shrink);
  const char *why = no_maps (n, map_width, map_height);
  if (why)
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "this net takes no %dx%d attention maps: %s",
        map_width, map_height, why);
  const size_t size = irc_net_attention_maps_size (n, map_width, map_height);
  memmove (n->maps, maps, size * sizeof (float));
  irc_status st = sync_up (n, n->maps, size, err);
  n->map_hp = pad8 (map_height);
  n->map_wp = pad8 (map_width);
  n->map_shrink = shrink;
  n->maps_fixed = st == IRC_OK;
  return st;
}

void
irc_net_set_origin (irc_net *n, int x, int y)
{
  if (n) {
    n->origin_x = x;
    n->origin_y = y;
  }
}

irc_status
irc_net_set_attention (irc_net *n, const float *means, irc_error *err)
{
  if (!means) {
    n->attention_fixed = 0;
    return IRC_OK;
  }
  if (!n->attention_size)
    return no_attention (n, "fix", err);
  memmove (n->attention, means, n->attention_size * sizeof (float));
  irc_status st = sync_up (n, n->attention, n->attention_size, err);
  n->attention_fixed = st == IRC_OK;
  return st;
}

const float *
irc_net_code (const irc_net *n)
{
  return n->have_code ? n->code2 : NULL;
}

irc_status
irc_net_restore_with_code (irc_net *n, float *dst, const float *src, int width, int height,
    irc_error *err)
{
  return restore (n, dst, src, width, height, 1, NULL, err);
}

irc_status
irc_net_restore (irc_net *n, float *dst, const float *src, int width, int height,
    irc_error *err)
{
  return restore (n, dst, src, width, height, 0, NULL, err);
}
