/* runner: per-stream state around the network: pixel formats, the scene's
 * cached style code, and overlapping tiles blended into the frame. */
#include "irc/runner.h"
#include "error.h"
#include "scene.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct irc_runner {
  irc_runner_params p;
  const irc_model *model;
  irc_net *net;                 /* the per-frame (tile) network */
  irc_net *style_net;           /* the whole-frame encoder when tiling, else NULL */
  int tiled;
  int region_w, region_h;       /* largest processed region (tile + context) */
  int nx, ny;                   /* tiles across and down */
  float *rgb;                   /* the frame as planar float */
  float *acc, *wsum;            /* blending accumulators (tiled only) */
  float *tile_in, *tile_out;    /* one region, planar */
  irc_scene scene;
  int frames_in_scene;
  irc_runner_stats stats;
};

static void
runner_destroy (irc_runner *r)
{
  irc_net_free (&r->net);
  irc_net_free (&r->style_net);
  free (r->rgb);
  free (r->acc);
  free (r->wsum);
  free (r->tile_in);
  free (r->tile_out);
  free (r);
}

void
irc_runner_free (irc_runner **runner)
{
  if (runner && *runner) {
    runner_destroy (*runner);
    *runner = NULL;
  }
}

/* TLC window: the caller's, else the model's own (irc_model_tlc_window; 0
 * there pools globally). */
static int
tlc_window_for (const irc_model *m, int requested)
{
  return requested > 0 ? requested : irc_model_tlc_window (m);
}

/* Tile i of n along a side of @len: its core [c0, c1) and processed region
 * [r0, r1) with @ctx pixels of context where there is a neighbour. Every
 * boundary inside the frame falls on a multiple of 8, so a tile's pixel
 * (un)shuffle grids and its reflect padding at the frame's edge are the
 * whole frame's: only the missing context differs. */
static void
tile_span (int i, int n, int len, int ctx, int *c0, int *c1, int *r0, int *r1)
{
  *c0 = (int) ((long) i * len / n) / 8 * 8;
  *c1 = i == n - 1 ? len : (int) ((long) (i + 1) * len / n) / 8 * 8;
  *r0 = *c0 - ctx > 0 ? *c0 - ctx : 0;
  *r1 = *c1 + ctx < len ? *c1 + ctx : len;
}

irc_status
irc_runner_new (const irc_model *model, const irc_runner_params *params, irc_runner **out,
    irc_error *err)
{
  const irc_runner_params defaults = IRC_RUNNER_DEFAULTS;
  if (!params)
    params = &defaults;
  const irc_runner_params *p = params;
  if (!model)
    return irc_fail (err, IRC_ERR_INVALID, "runner: no model");
  if (p->width < 1 || p->height < 1 || p->width > 16384 || p->height > 16384)
    return irc_fail (err, IRC_ERR_INVALID, "runner: frame size %dx%d outside 1x1 .. 16384x16384",
        p->width, p->height);
  if (!irc_pixel_format_name (p->format))
    return irc_fail (err, IRC_ERR_INVALID, "runner: unknown pixel format %d", (int) p->format);
  if (p->tile_size < 0 || (p->tile_size > 0 && p->tile_size < 16) || p->tile_overlap < 0
      || p->tile_overlap > 1024)
    return irc_fail (err, IRC_ERR_INVALID,
        "runner: tile size %d (0 or 16 and more) or overlap %d (0-1024) out of range",
        p->tile_size, p->tile_overlap);
  if (!(p->scene_threshold >= 0.0f && p->scene_threshold <= 1.0f) || p->style_interval < 0)
    return irc_fail (err, IRC_ERR_INVALID,
        "runner: scene threshold %g must be within [0, 1], style interval %d not negative",
        p->scene_threshold, p->style_interval);
  irc_runner *r = calloc (1, sizeof *r);
  if (!r)
    return irc_fail (err, IRC_ERR_NOMEM, "runner: out of memory");
  r->p = *p;
  r->model = model;
  const int W = p->width, H = p->height, T = p->tile_size;
  /* context in whole 8-pixel steps, see tile_span() */
  const int O = (p->tile_overlap + 7) / 8 * 8;
  r->p.tile_overlap = O;
  r->tiled = T > 0 && (W > T || H > T);
  r->nx = r->tiled ? (W + T - 1) / T : 1;
  r->ny = r->tiled ? (H + T - 1) / T : 1;
  /* rounding cores to multiples of 8 can widen one by up to 8 pixels */
  r->region_w = r->tiled ? (W < T + 8 + 2 * O ? W : T + 8 + 2 * O) : W;
  r->region_h = r->tiled ? (H < T + 8 + 2 * O ? H : T + 8 + 2 * O) : H;
  r->stats.tiles_per_frame = r->nx * r->ny;
  irc_scene_init (&r->scene, W, H);

  const size_t plane = (size_t) W * H, rplane = (size_t) r->region_w * r->region_h;
  r->rgb = malloc (3 * plane * sizeof (float));
  if (r->tiled) {
    r->acc = malloc (3 * plane * sizeof (float));
    r->wsum = malloc (plane * sizeof (float));
    r->tile_in = malloc (3 * rplane * sizeof (float));
    r->tile_out = malloc (3 * rplane * sizeof (float));
  }
  if (!r->rgb || (r->tiled && (!r->acc || !r->wsum || !r->tile_in || !r->tile_out))) {
    runner_destroy (r);
    return irc_fail (err, IRC_ERR_NOMEM, "runner: out of memory for %dx%d frame buffers", W, H);
  }
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = p->backend;
  np.threads = p->threads;
  np.device = p->device;
  np.vulkan_fp16 = p->vulkan_fp16;
  np.tlc_window = tlc_window_for (model, p->tlc_window);
  irc_status st = irc_net_new (model, r->region_w, r->region_h, &np, &r->net, err);
  if (st == IRC_OK && r->tiled) {
    np.encoder_only = 1;
    st = irc_net_new (model, W, H, &np, &r->style_net, err);
  }
  if (st != IRC_OK) {
    runner_destroy (r);
    return st;
  }
  *out = r;
  return IRC_OK;
}

void
irc_runner_reset (irc_runner *r)
{
  if (r)
    irc_scene_reset (&r->scene);
}

void
irc_runner_get_stats (const irc_runner *r, irc_runner_stats *stats)
{
  *stats = r->stats;
}

irc_backend_kind
irc_runner_backend (const irc_runner *r)
{
  return irc_net_backend (r->net);
}

/* Weight of a region's pixel at distance @d from its start and @e from its
 * end along one side: 1 inside, ramping down over the context towards a
 * side that has a neighbour, so neighbouring tiles fade into each other. */
static float
ramp (int d, int e, int has_before, int has_after, int ctx)
{
  float w = 1.0f;
  if (has_before && d < ctx)
    w = (d + 0.5f) / ctx;
  if (has_after && e < ctx) {
    const float v = (e + 0.5f) / ctx;
    w = v < w ? v : w;
  }
  return w;
}

static irc_status
run_tiles (irc_runner *r, irc_error *err)
{
  const int W = r->p.width, H = r->p.height, O = r->p.tile_overlap;
  const size_t plane = (size_t) W * H;
  memset (r->acc, 0, 3 * plane * sizeof (float));
  memset (r->wsum, 0, plane * sizeof (float));
  for (int ty = 0; ty < r->ny; ty++) {
    int cy0, cy1, ry0, ry1;
    tile_span (ty, r->ny, H, O, &cy0, &cy1, &ry0, &ry1);
    for (int tx = 0; tx < r->nx; tx++) {
      int cx0, cx1, rx0, rx1;
      tile_span (tx, r->nx, W, O, &cx0, &cx1, &rx0, &rx1);
      const int rw = rx1 - rx0, rh = ry1 - ry0;
      const size_t rp = (size_t) rw * rh;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < rh; y++)
          memcpy (r->tile_in + c * rp + (size_t) y * rw,
              r->rgb + c * plane + (size_t) (ry0 + y) * W + rx0, (size_t) rw * sizeof (float));
      irc_status st = irc_net_restore_with_code (r->net, r->tile_out, r->tile_in, rw, rh, err);
      if (st != IRC_OK)
        return st;
      for (int y = 0; y < rh; y++) {
        const float wy = ramp (y, rh - 1 - y, ry0 > 0, ry1 < H, O);
        for (int x = 0; x < rw; x++) {
          const float wgt = wy * ramp (x, rw - 1 - x, rx0 > 0, rx1 < W, O);
          const size_t i = (size_t) (ry0 + y) * W + rx0 + x, j = (size_t) y * rw + x;
          r->wsum[i] += wgt;
          for (int c = 0; c < 3; c++)
            r->acc[c * plane + i] += wgt * r->tile_out[c * rp + j];
        }
      }
    }
  }
  for (size_t i = 0; i < plane; i++) {
    const float inv = 1.0f / r->wsum[i];
    for (int c = 0; c < 3; c++)
      r->rgb[c * plane + i] = r->acc[c * plane + i] * inv;
  }
  return IRC_OK;
}

irc_status
irc_runner_process (irc_runner *r, const irc_frame *in, irc_frame *out,
    irc_frame_result *result, irc_error *err)
{
  const irc_runner_params *p = &r->p;
  const int W = p->width, H = p->height;
  if (!in || !out)
    return irc_fail (err, IRC_ERR_INVALID, "runner: no input or output frame");
  irc_status st = irc_frame_to_float (r->rgb, in, W, H, p->format, p->matrix, p->full_range,
      err);
  if (st != IRC_OK)
    return st;
  const float score = irc_scene_score (&r->scene, r->rgb, W, H);
  const int cut = score < 0 || score > p->scene_threshold;
  const int style = cut || (p->style_interval > 0 && r->frames_in_scene >= p->style_interval);
  if (style) {
    st = r->tiled ? irc_net_encode (r->style_net, r->rgb, W, H, NULL, err) : IRC_OK;
    if (st == IRC_OK && r->tiled)
      st = irc_net_set_code (r->net, irc_net_code (r->style_net), err);
    if (st != IRC_OK)
      return st;
    r->frames_in_scene = 0;
    r->stats.style_passes++;
  }
  if (cut)
    r->stats.scenes++;
  if (r->tiled)
    st = run_tiles (r, err);
  else if (style)   /* the whole frame at once: the encoder runs once for both */
    st = irc_net_restore (r->net, r->rgb, r->rgb, W, H, err);
  else
    st = irc_net_restore_with_code (r->net, r->rgb, r->rgb, W, H, err);
  if (st != IRC_OK)
    return st;
  st = irc_frame_from_float (out, r->rgb, W, H, p->format, p->matrix, p->full_range, in, err);
  if (st != IRC_OK)
    return st;
  r->frames_in_scene++;
  r->stats.frames++;
  if (result) {
    result->scene_cut = cut;
    result->style_pass = style;
    result->scene_score = score;
  }
  return IRC_OK;
}
