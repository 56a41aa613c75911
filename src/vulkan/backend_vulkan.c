/* backend_vulkan: the network's mid-level ops recorded as compute dispatches
 * into one command buffer (vk_record.c), submitted when the host needs a
 * result, so a frame with a cached style code is a single submission. */
#include "vk_backend.h"

#include <stdlib.h>
#include <string.h>

static void
vk_conv (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w, const float *b,
    int k, int stride, int leaky, const irc_tensor *residual)
{
  vk_backend *vb = (vk_backend *) be;
  const size_t plane = irc_tensor_plane (dst);
  irc_vk_args a = {
    .dst = irc_vk_addr_of (vb, dst.data, dst.c * plane, "conv output"),
    .src = irc_vk_addr_of (vb, src.data, src.c * irc_tensor_plane (src), "conv input"),
    .wt = irc_vk_addr_of (vb, w, (size_t) dst.c * src.c * k * k, "conv weight"),
    .bias = b ? irc_vk_addr_of (vb, b, dst.c, "conv bias") : 0,
    .res = residual ? irc_vk_addr_of (vb, residual->data, dst.c * plane, "conv residual") : 0,
    .cin = src.c, .cout = dst.c,
    .flags = (b ? IRC_VK_FLAG_BIAS : 0) | (leaky ? IRC_VK_FLAG_LEAKY : 0)
        | (residual ? IRC_VK_FLAG_RESIDUAL : 0),
    .hi = src.h, .wi = src.w, .ho = dst.h, .wo = dst.w, .stride = stride, .n = plane,
  };
  if (!(k == 3 || (k == 1 && stride == 1)))
    irc_vk_fail (vb, IRC_ERR_UNSUPPORTED, "vulkan: conv k %d stride %d is not implemented", k,
        stride);
  if (be->measuring)
    return;
  const uint32_t gz = div_up (dst.c, IRC_VK_OCB);
  if (k == 3)
    irc_vk_dispatch (vb, stride == 1 ? IRC_VK_CONV3 : IRC_VK_CONV3_S2, &a,
        div_up (dst.w, IRC_VK_CONV_TILE_W), div_up (dst.h, IRC_VK_CONV_TILE_H), gz);
  else
    irc_vk_dispatch_tiles (vb, IRC_VK_CONV1, &a, div_up (plane, IRC_VK_CONV1_TILE), gz);
}

static void
vk_down (irc_backend *be, irc_tensor dst, irc_tensor src, const float *w)
{
  vk_backend *vb = (vk_backend *) be;
  const int co = src.c / 4;
  irc_vk_args a = {
    .dst = irc_vk_addr_of (vb, dst.data, dst.c * irc_tensor_plane (dst), "down output"),
    .src = irc_vk_addr_of (vb, src.data, src.c * irc_tensor_plane (src), "down input"),
    .wt = irc_vk_addr_of (vb, w, (size_t) co * src.c * 9, "down weight"),
    .cin = src.c, .cout = co, .hi = src.h, .wi = src.w, .ho = src.h, .wo = src.w, .stride = 1,
  };
  if (!be->measuring)
    irc_vk_dispatch (vb, IRC_VK_CONV3_UNSHUFFLE, &a, div_up (src.w, IRC_VK_CONV_TILE_W),
        div_up (src.h, IRC_VK_CONV_TILE_H), div_up (co, IRC_VK_OCB));
}

/* UC: the 3x3 conv writes PixelShuffled into scratch; the 1x1 reads the
 * concatenation with the skip tensor in place (two sources). */
static void
vk_up (irc_backend *be, irc_tensor dst, irc_tensor src, irc_tensor skip, const float *up_w,
    const float *down_w)
{
  vk_backend *vb = (vk_backend *) be;
  const size_t dplane = irc_tensor_plane (dst);
  const int cat = src.c + skip.c;
  irc_vk_args c3 = {
    .dst = scratch (vb, 0),
    .src = irc_vk_addr_of (vb, src.data, src.c * irc_tensor_plane (src), "up input"),
    .wt = irc_vk_addr_of (vb, up_w, (size_t) 4 * src.c * src.c * 9, "up weight"),
    .cin = src.c, .cout = 4 * src.c, .hi = src.h, .wi = src.w, .ho = src.h, .wo = src.w,
    .stride = 1,
  };
  irc_vk_args c1 = {
    .dst = irc_vk_addr_of (vb, dst.data, dst.c * dplane, "up output"),
    .src = scratch (vb, 0),
    .src2 = irc_vk_addr_of (vb, skip.data, skip.c * irc_tensor_plane (skip), "up skip"),
    .wt = irc_vk_addr_of (vb, down_w, (size_t) dst.c * cat, "up 1x1 weight"),
    .cin = cat, .cin_a = src.c, .cout = dst.c, .n = dplane,
  };
  if (be->measuring) {
    need_scratch (vb, (size_t) src.c * dplane);
    return;
  }
  irc_vk_dispatch (vb, IRC_VK_CONV3_SHUFFLE, &c3, div_up (src.w, IRC_VK_CONV_TILE_W),
      div_up (src.h, IRC_VK_CONV_TILE_H), div_up (4 * src.c, IRC_VK_OCB));
  irc_vk_dispatch_tiles (vb, IRC_VK_CONV1_CAT, &c1, div_up (dplane, IRC_VK_CONV1_TILE),
      div_up (dst.c, IRC_VK_OCB));
}

static const vk_block *
find_block (vk_backend *vb, const irc_nafblock_w *bw)
{
  for (size_t i = 0; i < vb->n_blocks; i++)
    if (vb->blocks[i].src == bw)
      return &vb->blocks[i];
  return NULL;
}

/* Per-channel sums of @src (c x plane) into scratch at @part: returns the
 * number of chunks per channel. */
static uint32_t
chan_sum (vk_backend *vb, VkDeviceAddress src, int c, size_t plane, size_t part)
{
  const uint32_t chunks = div_up (plane, IRC_VK_SUM_CHUNK);
  irc_vk_args a = {.dst = scratch (vb, part), .src = src, .n = plane, .extra0 = chunks};
  if (!vb->base.measuring)
    irc_vk_dispatch (vb, IRC_VK_CHAN_SUM, &a, chunks, c, 1);
  return chunks;
}

/* The bits of @v, for a float travelling in a uint push constant. */
static uint32_t
float_bits (float v)
{
  uint32_t bits;
  memcpy (&bits, &v, sizeof bits);
  return bits;
}

/* TLC's attention: each pixel's local mean of t (two box passes into the
 * dead u area), sca as a 1x1 per pixel into smap, stored right after t so
 * that the gate-mode 1x1 computes conv3 (t * smap) in one pass. */
static void
sca_local (vk_backend *vb, irc_tensor x, const irc_nafblock_w *bw, const vk_block *fb,
    VkDeviceAddress xa, size_t u, size_t t)
{
  const irc_backend *be = &vb->base;
  const int c = x.c, k = be->sca_window;
  const size_t plane = irc_tensor_plane (x);
  const uint32_t kh = k < x.h ? k : x.h, kw = k < x.w ? k : x.w;
  const uint32_t gx = div_up (x.w, IRC_VK_BOX_TILE), gy = div_up (x.h, IRC_VK_BOX_TILE);
  if (be->sca_map) {
    /* each pixel's pool read from the frame's attention maps */
    irc_vk_args smp = {.dst = scratch (vb, u + c * plane),
        .src = irc_vk_addr_of (vb, be->sca_map, (size_t) c * be->sca_map_h * be->sca_map_w,
            "attention maps"),
        .hi = be->sca_map_h, .wi = be->sca_map_w, .ho = x.h, .wo = x.w,
        .extra0 = float_bits (be->sca_map_y0), .extra1 = float_bits (be->sca_map_x0),
        .stride = float_bits (be->sca_map_scale)};
    irc_vk_dispatch (vb, IRC_VK_BOX_SAMPLE, &smp, gx, gy, c);
  } else {
    irc_vk_args rows = {.dst = scratch (vb, u), .src = scratch (vb, t), .hi = x.h, .wi = x.w,
        .extra0 = kh, .extra1 = kw};
    irc_vk_dispatch (vb, IRC_VK_BOX_ROWS, &rows, gx, gy, c);
    irc_vk_args cols = rows;
    cols.src = scratch (vb, u);
    cols.dst = scratch (vb, u + c * plane);
    irc_vk_dispatch (vb, IRC_VK_BOX_COLS, &cols, gx, gy, c);
  }
  if (be->sca_map_out) {
    /* recorded: the pools copied out (a map of the tensor's own size at scale 1) */
    irc_vk_args rec = {.dst = irc_vk_addr_of (vb, be->sca_map_out, (size_t) c * plane,
            "attention maps"), .src = scratch (vb, u + c * plane),
        .hi = x.h, .wi = x.w, .ho = x.h, .wo = x.w, .stride = float_bits (1.0f)};
    irc_vk_dispatch (vb, IRC_VK_BOX_SAMPLE, &rec, gx, gy, c);
  }
  irc_vk_args sca = {.dst = scratch (vb, t + c * plane), .src = scratch (vb, u + c * plane),
      .wt = irc_vk_addr_of (vb, bw->sca_w, (size_t) c * c, "sca weight"),
      .bias = irc_vk_addr_of (vb, bw->sca_b, c, "sca bias"), .cin = c, .cout = c,
      .flags = IRC_VK_FLAG_BIAS, .n = plane};
  const size_t tiles = div_up (plane, IRC_VK_CONV1_TILE);
  irc_vk_dispatch_tiles (vb, IRC_VK_CONV1, &sca, tiles, div_up (c, IRC_VK_OCB));
  irc_vk_args c3 = {.dst = xa, .src = scratch (vb, t), .wt = fb->w3b, .bias = fb->b3b,
      .res = xa, .cin = c, .cout = c, .flags = IRC_VK_FLAG_BIAS | IRC_VK_FLAG_RESIDUAL,
      .n = plane};
  irc_vk_dispatch_tiles (vb, IRC_VK_CONV1_GATE, &c3, tiles, div_up (c, IRC_VK_OCB));
}

/* Seven dispatches: norm1+conv1, dw3x3+gate, pool, attention folded into
 * conv3 (+beta, residual), norm2+conv4, gate+conv5 (+gamma, residual). With a
 * TLC window the pool and fold become sca_local(). */
static void
vk_nafblock (irc_backend *be, irc_tensor x, const irc_nafblock_w *bw)
{
  vk_backend *vb = (vk_backend *) be;
  const int c = x.c, k = be->sca_window;
  /* attention maps read or written make every pixel's pool its own */
  const int local = (k > 0 && (k < x.h || k < x.w)) || be->sca_map || be->sca_map_out;
  const size_t plane = irc_tensor_plane (x);
  const vk_block *fb = find_block (vb, bw);
  /* scratch: u (2c planes), t (c planes), then the global pool's partial
   * sums (fp32) and folded conv3, or TLC's smap (c planes) */
  const size_t u = 0, t = align16 (2 * (size_t) c * plane), part = t + align16 (c * plane);
  const size_t chunks = div_up (plane, IRC_VK_SUM_CHUNK);
  const size_t w3 = part + align16 (f32_elems (vb, c * chunks));
  const VkDeviceAddress xa = irc_vk_addr_of (vb, x.data, c * plane, "nafblock tensor");
  if (!fb)
    irc_vk_fail (vb, IRC_ERR_INVALID, "vulkan: a NAFBlock the backend was not built with");
  if (c > IRC_VK_SCA_MAXC)
    irc_vk_fail (vb, IRC_ERR_UNSUPPORTED, "vulkan: NAFBlock of %d channels (at most %d)", c,
        IRC_VK_SCA_MAXC);
  if (be->measuring) {
    need_scratch (vb, w3 + (size_t) c * c);
    need_scratch (vb, t + (size_t) 2 * c * plane);
    return;
  }
  if (vb->failed.status != IRC_OK)
    return;
  const size_t tiles = div_up (plane, IRC_VK_CONV1_TILE);
  const uint32_t g1 = div_up (c, IRC_VK_OCB), g2 = div_up (2 * c, IRC_VK_OCB);
  irc_vk_args a1 = {.dst = scratch (vb, u), .src = xa, .wt = fb->w1, .bias = fb->b1,
      .cin = c, .cout = 2 * c, .flags = IRC_VK_FLAG_BIAS, .n = plane};
  irc_vk_dispatch_tiles (vb, IRC_VK_CONV1_LN, &a1, tiles, g2);
  irc_vk_args a2 = {.dst = scratch (vb, t), .src = scratch (vb, u),
      .wt = irc_vk_addr_of (vb, bw->conv2_w, 2 * (size_t) c * 9, "conv2 weight"),
      .bias = irc_vk_addr_of (vb, bw->conv2_b, 2 * (size_t) c, "conv2 bias"),
      .cout = c, .ho = x.h, .wo = x.w};
  irc_vk_dispatch (vb, IRC_VK_DWCONV3X3_GATE, &a2, div_up (x.w, IRC_VK_CONV_TILE_W),
      div_up (x.h, IRC_VK_CONV_TILE_H), c);
  if (local) {
    sca_local (vb, x, bw, fb, xa, u, t);
  } else {
    /* the pool's partial sums, or the scene's means as the sums of a
     * one-pixel plane (read through chan_sum, which gives them as fp32
     * whatever the storage) */
    size_t sums = chunks, pooled = plane;
    if (be->sca_means) {
      sums = chan_sum (vb, irc_vk_addr_of (vb, be->sca_means, c, "scene attention"), c, 1, part);
      pooled = 1;
    } else {
      chan_sum (vb, scratch (vb, t), c, plane, part);
    }
    if (be->sca_means_out) {
      irc_vk_args am = {.dst = irc_vk_addr_of (vb, be->sca_means_out, c, "pooled means"),
          .src = scratch (vb, part), .cout = c, .n = pooled, .extra0 = sums};
      irc_vk_dispatch (vb, IRC_VK_MEAN_FINAL, &am, 1, 1, 1);
    }
    irc_vk_args a3 = {.dst = scratch (vb, w3), .src = scratch (vb, part), .src2 = fb->w3b,
        .wt = irc_vk_addr_of (vb, bw->sca_w, (size_t) c * c, "sca weight"),
        .bias = irc_vk_addr_of (vb, bw->sca_b, c, "sca bias"), .cin = c, .n = pooled,
        .extra0 = sums};
    irc_vk_dispatch (vb, IRC_VK_SCA_FOLD, &a3, 1, 1, 1);
    irc_vk_args a4 = {.dst = xa, .src = scratch (vb, t), .wt = scratch (vb, w3),
        .bias = fb->b3b, .res = xa, .cin = c, .cout = c,
        .flags = IRC_VK_FLAG_BIAS | IRC_VK_FLAG_RESIDUAL, .n = plane};
    irc_vk_dispatch_tiles (vb, IRC_VK_CONV1, &a4, tiles, g1);
  }
  irc_vk_args a5 = {.dst = scratch (vb, u), .src = xa, .wt = fb->w4, .bias = fb->b4,
      .cin = c, .cout = 2 * c, .flags = IRC_VK_FLAG_BIAS, .n = plane};
  irc_vk_dispatch_tiles (vb, IRC_VK_CONV1_LN, &a5, tiles, g2);
  irc_vk_args a6 = {.dst = xa, .src = scratch (vb, u), .wt = fb->w5, .bias = fb->b5, .res = xa,
      .cin = c, .cout = c, .flags = IRC_VK_FLAG_BIAS | IRC_VK_FLAG_RESIDUAL, .n = plane};
  irc_vk_dispatch_tiles (vb, IRC_VK_CONV1_GATE, &a6, tiles, g1);
}

static void
vk_mean (irc_backend *be, float *dst, irc_tensor src)
{
  vk_backend *vb = (vk_backend *) be;
  const size_t plane = irc_tensor_plane (src);
  const VkDeviceAddress s = irc_vk_addr_of (vb, src.data, src.c * plane, "mean input");
  irc_vk_args a = {.dst = irc_vk_addr_of (vb, dst, src.c, "mean output"), .src = scratch (vb, 0),
      .cout = src.c, .n = plane};
  if (be->measuring) {
    need_scratch (vb, f32_elems (vb, (size_t) src.c * div_up (plane, IRC_VK_SUM_CHUNK)));
    return;
  }
  a.extra0 = chan_sum (vb, s, src.c, plane, 0);
  irc_vk_dispatch (vb, IRC_VK_MEAN_FINAL, &a, 1, 1, 1);
}

/* Uploads the weight arena and the folded blocks, once (as stored elements). */
static irc_status
upload_weights (vk_backend *vb, const irc_weights *w, irc_error *err)
{
  const irc_config *cfg = &w->cfg;
  const irc_nafblock_w *lists[7] = {w->left[0], w->left[1], w->left[2], w->bottom,
    w->right[0], w->right[1], w->right[2]};
  const int counts[7] = {cfg->left[0], cfg->left[1], cfg->left[2], cfg->bottom,
    cfg->right[0], cfg->right[1], cfg->right[2]};
  size_t n = 0, floats = 0;
  for (int l = 0; l < 7; l++)
    for (int i = 0; i < counts[l]; i++, n++)
      floats += align16 (6 * (size_t) lists[l][i].c * lists[l][i].c + 6 * lists[l][i].c);
  vb->blocks = calloc (n ? n : 1, sizeof *vb->blocks);
  float *fold = malloc ((floats ? floats : 1) * sizeof (float));
  irc_status st = IRC_OK;
  if (!vb->blocks || !fold)
    st = irc_fail (err, IRC_ERR_NOMEM, "vulkan: out of memory for folded weights");
  const size_t base = align16 (vb->wts_count);
  if (st == IRC_OK)
    st = irc_vk_buffer_new (vb->ctx, (base + floats) * vb->es, IRC_VK_MEM_DEVICE,
        "weights", &vb->wbuf, err);
  size_t off = 0;
  for (int l = 0; l < 7 && st == IRC_OK; l++)
    for (int i = 0; i < counts[l]; i++) {
      const irc_nafblock_w *bw = &lists[l][i];
      const int c = bw->c;
      vk_block *fb = &vb->blocks[vb->n_blocks++];
      float *p = fold + off;
      VkDeviceAddress d = vb->wbuf.addr + (base + off) * vb->es;
      fb->src = bw;
#define TAKE(field, count) \
      fb->field = d, d += (count) * vb->es, p += (count), off += (count)
      irc_fold_norm (p, p + 2 * c * c, bw->conv1_w, bw->conv1_b, 2 * c, c, bw->norm1_w, bw->norm1_b);
      TAKE (w1, 2 * c * c);
      TAKE (b1, 2 * c);
      irc_fold_norm (p, p + 2 * c * c, bw->conv4_w, bw->conv4_b, 2 * c, c, bw->norm2_w, bw->norm2_b);
      TAKE (w4, 2 * c * c);
      TAKE (b4, 2 * c);
      for (int o = 0; o < c; o++) {
        for (int k = 0; k < c; k++) {
          p[o * c + k] = bw->gamma[o] * bw->conv5_w[o * c + k];
          p[c * c + c + o * c + k] = bw->beta[o] * bw->conv3_w[o * c + k];
        }
        p[c * c + o] = bw->gamma[o] * bw->conv5_b[o];
        p[2 * c * c + c + o] = bw->beta[o] * bw->conv3_b[o];
      }
      TAKE (w5, c * c);
      TAKE (b5, c);
      TAKE (w3b, c * c);
      TAKE (b3b, c);
#undef TAKE
      off = align16 (off);
    }
  /* one staging buffer of the whole size, once: the frame-sized ring would
   * take many submissions for a large model at a small frame size */
  irc_vk_buffer tmp = {0};
  if (st == IRC_OK)
    st = irc_vk_buffer_new (vb->ctx, (base + floats) * vb->es, IRC_VK_MEM_UPLOAD,
        "weight staging", &tmp, err);
  if (st == IRC_OK) {
    irc_vk_pack (vb, tmp.map, vb->wts, vb->wts_count);
    irc_vk_pack (vb, (char *) tmp.map + base * vb->es, fold, floats);
    if (!tmp.coherent) {
      VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
          .memory = tmp.mem, .size = VK_WHOLE_SIZE};
      vb->ctx->f.vkFlushMappedMemoryRanges (vb->ctx->device, 1, &r);
    }
    if (irc_vk_begin (vb)) {
      irc_vk_barrier (vb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
      VkBufferCopy region = {0, 0, (base + floats) * vb->es};
      vb->ctx->f.vkCmdCopyBuffer (vb->ctx->cmd, tmp.buf, vb->wbuf.buf, 1, &region);
      vb->pend_stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
      vb->pend_access = VK_ACCESS_TRANSFER_WRITE_BIT;
    }
    st = irc_vk_submit_wait (vb) == IRC_OK ? IRC_OK : irc_vk_report (vb, err);
  }
  irc_vk_buffer_free (vb->ctx, &tmp);
  free (fold);
  return st;
}

static irc_status
vk_prepare (irc_backend *be, irc_error *err)
{
  vk_backend *vb = (vk_backend *) be;
  be->measuring = 0;
  if (vb->failed.status != IRC_OK)
    return irc_vk_report (vb, err);
  return irc_vk_buffer_new (vb->ctx, vb->need_scratch * vb->es, IRC_VK_MEM_DEVICE,
      "scratch", &vb->sbuf, err);
}

static void
vk_free (irc_backend *be)
{
  vk_backend *vb = (vk_backend *) be;
  irc_vk_context *ctx = vb->ctx;
  if (ctx) {
    if (ctx->device)
      ctx->f.vkDeviceWaitIdle (ctx->device);
    irc_vk_buffer *bufs[] = {&vb->wbuf, &vb->abuf, &vb->sbuf, &vb->up, &vb->down};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
      irc_vk_buffer_free (ctx, bufs[i]);
    irc_vk_pipelines_free (ctx, &vb->pl);
    irc_vk_context_free (ctx);
  }
  free (vb->blocks);
  free (vb);
}

irc_status
irc_backend_vulkan_new (const irc_weights *w, int cap_h, int cap_w,
    const irc_vulkan_params *params, irc_backend **out, irc_error *err)
{
  if (!params || !params->acts || !params->weights)
    return irc_fail (err, IRC_ERR_INVALID, "vulkan backend: no arenas given");
  vk_backend *vb = calloc (1, sizeof *vb);
  if (!vb)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  vb->wts = params->weights, vb->wts_count = params->weights_count;
  vb->acts = params->acts, vb->acts_count = params->acts_count;
  vb->base.kind = IRC_BACKEND_VULKAN;
  vb->base.name = "vulkan";
  vb->base.measuring = 1;
  vb->base.prepare = vk_prepare;
  vb->base.free = vk_free;
  vb->base.conv = vk_conv;
  vb->base.down = vk_down;
  vb->base.up = vk_up;
  vb->base.nafblock = vk_nafblock;
  vb->base.mean = vk_mean;
  vb->base.upload = irc_vk_upload;
  vb->base.download = irc_vk_download;
  /* the staging rings fit what a frame moves: the padded input and the
   * folded code weights up, the largest encoder feature map or the output
   * down; anything larger still works, in several submissions */
  const size_t l0 = (size_t) cap_h * cap_w, C = (size_t) w->cfg.dim;
  const size_t ew = (size_t) w->cfg.enc_width;
  vb->up_cap = align16 (3 * l0) + align16 (12 * C * C) + 4096;
  vb->down_cap = (3 * l0 > ew * l0 / 2 ? 3 * l0 : ew * l0 / 2) + 4096;
  irc_status st = irc_vk_context_new (params->device, params->gpu_only, params->fp16, &vb->ctx,
      err);
  vb->es = params->fp16 ? sizeof (uint16_t) : sizeof (float);
  if (st == IRC_OK)
    st = irc_vk_pipelines_new (vb->ctx, &vb->pl, err);
  if (st == IRC_OK)
    st = irc_vk_buffer_new (vb->ctx, vb->up_cap * vb->es, IRC_VK_MEM_UPLOAD,
        "upload staging", &vb->up, err);
  if (st == IRC_OK)
    st = irc_vk_buffer_new (vb->ctx, vb->down_cap * vb->es, IRC_VK_MEM_DOWNLOAD,
        "download staging", &vb->down, err);
  if (st == IRC_OK)
    st = irc_vk_buffer_new (vb->ctx, vb->acts_count * vb->es, IRC_VK_MEM_DEVICE,
        "activations", &vb->abuf, err);
  if (st == IRC_OK)
    st = upload_weights (vb, w, err);
  if (st != IRC_OK) {
    vk_free (&vb->base);
    return st;
  }
  *out = &vb->base;
  return IRC_OK;
}
