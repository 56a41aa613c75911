/* runner: per-stream state around the network: pixel formats, the scene's
 * cached style code, and overlapping tiles blended into the frame. */
#include "irc/runner.h"
#include "error.h"
#include "scene.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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
  /* the degradation reading and routing (irc_runner_params.detector, routes) */
  const irc_model *detector;    /* NULL: no reading */
  irc_detector *det;            /* reads each scene as the head was trained (crops) */
  irc_net *route_net[IRC_DEGRADATION_KINDS];    /* per-frame (tile) network of each route */
  irc_net *route_style[IRC_DEGRADATION_KINDS];  /* its whole-frame encoder when tiling */
  int active;                   /* what restores this scene: -1, a kind, IRC_ROUTE_CLEAN */
  irc_degradation degradation;  /* the scene's reading */
  /* the scene attention (irc_runner_params.per_frame_attention) */
  int att_w, att_h;             /* the view it is pooled on; 0: no network has one */
  float *att_view;              /* the shrunk frame, NULL when the view is the frame */
  float *att_means;             /* room for the largest network's attention */
  size_t att_size;
  irc_net *att_net;             /* pools for the runner's model when its own net is too small */
  irc_net *route_att[IRC_DEGRADATION_KINDS];    /* the same for each route */
  /* window nets (TLC): every block's per-pixel pool, recorded each frame on
   * the view by a net of the same model (att_net, route_att) whose windows
   * are shrunk alike, read by every tile at its place */
  int att_shrink;               /* the view's whole shrink factor */
  float *att_maps;              /* room for the largest network's maps */
  size_t att_maps_size;
  char warning[1024];           /* settings not honoured as given, or "" */
};

static void
runner_destroy (irc_runner *r)
{
  irc_net_free (&r->net);
  irc_net_free (&r->style_net);
  irc_net_free (&r->att_net);
  free (r->att_view);
  free (r->att_means);
  free (r->att_maps);
  irc_detector_free (&r->det);
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++) {
    irc_net_free (&r->route_net[k]);
    irc_net_free (&r->route_style[k]);
    irc_net_free (&r->route_att[k]);
  }
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

/* TLC window: the caller's (-1: the global pool), else the model's own
 * (irc_model_tlc_window; 0 there pools globally). */
static int
tlc_window_for (const irc_model *m, int requested)
{
  return requested > 0 ? requested : requested < 0 ? 0 : irc_model_tlc_window (m);
}

/* Appends one sentence to the runner's warning. */
static void
warn (irc_runner *r, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
warn (irc_runner *r, const char *fmt, ...)
{
  const size_t used = strlen (r->warning);
  if (used + 3 >= sizeof r->warning)
    return;
  char *at = r->warning + used;
  size_t room = sizeof r->warning - used;
  if (used) {
    memcpy (at, "; ", 3);
    at += 2, room -= 2;
  }
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (at, room, fmt, ap);
  va_end (ap);
  /* said once: a route may share the runner's model's window */
  if (used && strstr (r->warning, at) < at)
    *(at - 2) = '\0';
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

/* Whether a net of @tlc_window takes attention maps (irc_runner_params.
 * window_maps): where tiles would pool apart, or the frame is larger than
 * the view (so that tiled and whole frames pool alike). */
static int
maps_wanted (const irc_runner *r, int tlc_window)
{
  const irc_runner_params *p = &r->p;
  return p->window_maps && tlc_window > 0 && (r->tiled || p->width > IRC_RUNNER_ATTENTION_SIDE
      || p->height > IRC_RUNNER_ATTENTION_SIDE);
}

/* The view attention is pooled or recorded on: the frame shrunk by a whole
 * factor to at most IRC_RUNNER_ATTENTION_SIDE a side (returned), or itself. */
static int
attention_view (const irc_runner_params *p, int *w, int *h)
{
  const int f = irc_box_shrink (NULL, p->width, p->height, IRC_RUNNER_ATTENTION_SIDE, NULL, w,
      h);
  if (f <= 1) {
    *w = p->width;
    *h = p->height;
  }
  return f > 1 ? f : 1;
}

/* @np with room for the attention maps of the view when its net takes them. */
static irc_net_params
with_maps (const irc_runner *r, irc_net_params np)
{
  np.maps_width = np.maps_height = 0;
  if (maps_wanted (r, np.tlc_window) && !np.encoder_only)
    attention_view (&r->p, &np.maps_width, &np.maps_height);
  return np;
}

/* A window larger than the region processed at once pools all of that
 * region: along a tiled side, each tile then judges over itself and
 * neighbours can disagree at their seams; in an untiled frame it is cut to
 * the frame. Said when it happens, never silently. */
static void
window_warnings (irc_runner *r, int window)
{
  const irc_runner_params *p = &r->p;
  const int W = p->width, H = p->height, O = p->tile_overlap;
  if (window <= 0)
    return;
  const char *from = p->tlc_window > 0 ? "the requested" : "the model's";
  if (maps_wanted (r, window)) {
    /* the tiles read the frame's attention maps: no seams to warn of */
  } else if (r->tiled) {
    /* the narrowest region along each tiled side (edge tiles have context
     * on one side only) */
    int min_w = W, min_h = H;
    for (int i = 0; i < r->nx && r->nx > 1; i++) {
      int c0, c1, r0, r1;
      tile_span (i, r->nx, W, O, &c0, &c1, &r0, &r1);
      min_w = r1 - r0 < min_w ? r1 - r0 : min_w;
    }
    for (int i = 0; i < r->ny && r->ny > 1; i++) {
      int c0, c1, r0, r1;
      tile_span (i, r->ny, H, O, &c0, &c1, &r0, &r1);
      min_h = r1 - r0 < min_h ? r1 - r0 : min_h;
    }
    if ((r->nx > 1 && window > min_w) || (r->ny > 1 && window > min_h))
      warn (r, "%s attention (TLC) window of %d px is larger than the tiles it runs in "
          "(%dx%d px at the smallest, with their overlap): each tile pools over its "
          "whole self instead, so neighbouring tiles can disagree at their seams; use "
          "a larger tile size, tile size 0 (no tiles), attention maps or a smaller window",
          from, window,
          min_w, min_h);
  } else if (p->tlc_window > 0 && (window > W || window > H)) {
    warn (r, "the requested attention (TLC) window of %d px is larger than the %dx%d frame: "
        "it pools %dx%d px instead%s", window, W, H, window < W ? window : W,
        window < H ? window : H, window >= W && window >= H
        ? ", the whole frame, as the global pool does" : "");
  }
}

static irc_status setup_routing (irc_runner *r, irc_error *err);
static irc_status attention_setup (irc_runner *r, const irc_model *model, irc_net *net,
    const irc_net_params *np, irc_net **att_net, irc_error *err);

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
  if (p->tlc_window < -1 || p->tlc_window > 16384)
    return irc_fail (err, IRC_ERR_INVALID,
        "runner: attention window %d out of range (-1 global, 0 the model's, 1-16384 pixels)",
        p->tlc_window);
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
  int O = (p->tile_overlap + 7) / 8 * 8;
  r->tiled = T > 0 && (W > T || H > T);
  if (r->tiled && 2 * O >= T) {
    /* context on both sides of half the tile or more would process each
     * pixel four times or more (the whole frame per tile, at worst) */
    const int cut = (T - 1) / 2 / 8 * 8 > 8 ? (T - 1) / 2 / 8 * 8 : 8;
    char rounded[48] = "";
    if (O != p->tile_overlap)
      snprintf (rounded, sizeof rounded, " (%d once rounded up to a multiple of 8)", O);
    warn (r, "tile overlap %d px%s is half the %d px tile size or more; using %d px of "
        "overlap instead", p->tile_overlap, rounded, T, cut);
    O = cut;
  }
  r->p.tile_overlap = O;
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
  window_warnings (r, np.tlc_window);
  const irc_net_params mp = with_maps (r, np);
  irc_status st = irc_net_new (model, r->region_w, r->region_h, &mp, &r->net, err);
  if (st == IRC_OK)
    st = attention_setup (r, model, r->net, &np, &r->att_net, err);
  if (st == IRC_OK && r->tiled) {
    np.encoder_only = 1;
    st = irc_net_new (model, W, H, &np, &r->style_net, err);
  }
  if (st == IRC_OK && !(p->route_confidence >= 0.0f && p->route_confidence <= 1.0f))
    st = irc_fail (err, IRC_ERR_INVALID, "runner: route confidence %g must be within [0, 1]",
        p->route_confidence);
  if (st == IRC_OK)
    st = setup_routing (r, err);
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

const char *
irc_runner_warning (const irc_runner *r)
{
  return r && r->warning[0] ? r->warning : NULL;
}

/* Weight of a region's pixel at distance @d from its start and @e from its
 * end along one side: 1 inside; towards a side that has a neighbour, 0 over
 * the outer half of the context and ramping up over the inner half, so that
 * neighbouring tiles fade into each other and no tile's output is taken
 * where it had less than half its context (its least reliable pixels:
 * taking them even at a small weight put seams of several levels into
 * frames of trained models). */
static float
ramp (int d, int e, int has_before, int has_after, int ctx)
{
  const int half = ctx / 2;
  float w = 1.0f;
  if (has_before && d < ctx)
    w = d < half ? 0.0f : (d - half + 0.5f) / (ctx - half);
  if (has_after && e < ctx) {
    const float v = e < half ? 0.0f : (e - half + 0.5f) / (ctx - half);
    w = v < w ? v : w;
  }
  return w;
}

/* Readies the scene attention of @net (of @model): the view's buffers, and
 * a network that can pool on the view when @net's region is smaller than
 * it (into *@att_net). Nothing when attention is per frame or @net pools
 * in windows. */
static irc_status
attention_setup (irc_runner *r, const irc_model *model, irc_net *net,
    const irc_net_params *np, irc_net **att_net, irc_error *err)
{
  const irc_runner_params *p = &r->p;
  const size_t size = irc_net_attention_size (net);
  /* a window net needs maps where tiles would pool apart or the frame is
   * larger than the view (so that tiled and whole frames pool alike) */
  const int windowed = size == 0 && maps_wanted (r, np->tlc_window);
  if (size == 0 ? !windowed : p->per_frame_attention)
    return IRC_OK;
  if (r->att_w == 0) {
    r->att_shrink = attention_view (p, &r->att_w, &r->att_h);
    if (r->att_shrink > 1
        && !(r->att_view = malloc ((size_t) 3 * r->att_w * r->att_h * sizeof (float))))
      return irc_fail (err, IRC_ERR_NOMEM, "runner: out of memory for the attention's view");
  }
  if (windowed) {
    /* the view's windows cover what the frame's do */
    irc_net_params ap = *np;
    ap.encoder_only = 0;
    ap.maps_width = r->att_w;
    ap.maps_height = r->att_h;
    ap.tlc_window = (np->tlc_window + r->att_shrink / 2) / r->att_shrink;
    ap.tlc_window = ap.tlc_window > 0 ? ap.tlc_window : 1;
    irc_status st = irc_net_new (model, r->att_w, r->att_h, &ap, att_net, err);
    const size_t maps = st == IRC_OK
        ? irc_net_attention_maps_size (*att_net, r->att_w, r->att_h) : 0;
    if (st == IRC_OK && maps > r->att_maps_size) {
      free (r->att_maps);
      if (!(r->att_maps = calloc (maps, sizeof (float))))
        return irc_fail (err, IRC_ERR_NOMEM, "runner: out of memory for %zu MB of attention maps",
            maps * sizeof (float) >> 20);
      r->att_maps_size = maps;
    }
    return st;
  }
  if (size > r->att_size) {
    free (r->att_means);
    if (!(r->att_means = calloc (size, sizeof (float))))
      return irc_fail (err, IRC_ERR_NOMEM, "runner: out of memory for the scene attention");
    r->att_size = size;
  }
  if (r->region_w >= r->att_w && r->region_h >= r->att_h)
    return IRC_OK;   /* the per-frame network pools on the view itself */
  irc_net_params ap = *np;
  ap.encoder_only = 0;
  return irc_net_new (model, r->att_w, r->att_h, &ap, att_net, err);
}

/* The detector and the routes' networks, allocated with the runner's. */
static irc_status
setup_routing (irc_runner *r, irc_error *err)
{
  const irc_runner_params *p = &r->p;
  const irc_model *det = p->detector ? p->detector : r->model;
  r->active = -1;
  r->detector = irc_model_has_degradation_head (det) ? det : NULL;
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = p->backend;
  np.threads = p->threads;
  np.device = p->device;
  np.vulkan_fp16 = p->vulkan_fp16;
  irc_status st = IRC_OK;
  if (r->detector) {
    np.tlc_window = tlc_window_for (det, 0);
    st = irc_detector_new (det, p->width, p->height, &np, &r->det, err);
  }
  for (int k = 0; k < IRC_DEGRADATION_KINDS && st == IRC_OK; k++) {
    const irc_model *m = p->routes[k];
    if (!m)
      continue;
    np.encoder_only = 0;
    np.tlc_window = tlc_window_for (m, p->tlc_window);
    window_warnings (r, np.tlc_window);
    const irc_net_params mp = with_maps (r, np);
    st = irc_net_new (m, r->region_w, r->region_h, &mp, &r->route_net[k], err);
    if (st == IRC_OK)
      st = attention_setup (r, m, r->route_net[k], &np, &r->route_att[k], err);
    if (st == IRC_OK && r->tiled) {
      np.encoder_only = 1;
      st = irc_net_new (m, p->width, p->height, &np, &r->route_style[k], err);
    }
  }
  return st;
}

/* Which network restores a scene read as @d: the route of a single kind
 * read with enough confidence, the pass-through of a clean one, else the
 * runner's model (mixtures, doubt, kinds without a route). */
static int
choose_route (const irc_runner *r, const irc_degradation *d)
{
  const irc_runner_params *p = &r->p;
  const int k = irc_degradation_route (d, p->route_confidence);
  if (k == IRC_DEGRADATION_KINDS)
    return p->route_clean ? IRC_ROUTE_CLEAN : -1;
  return k >= 0 && r->route_net[k] ? k : -1;
}

/* The style pass of a scene: reads the degradation (when there is a
 * detector), picks what restores the scene, and computes that network's
 * code. *@coded is 1 when the per-frame network already holds the code
 * (else an untiled frame computes it in its whole-frame restore). */
static irc_status
style_pass (irc_runner *r, int *coded, irc_error *err)
{
  const int W = r->p.width, H = r->p.height;
  irc_status st = IRC_OK;
  *coded = 0;
  r->active = -1;
  memset (&r->degradation, 0, sizeof r->degradation);
  if (r->detector) {
    st = irc_detector_read (r->det, r->rgb, W, H, &r->degradation, err);
    if (st != IRC_OK)
      return st;
    r->active = choose_route (r, &r->degradation);
  }
  if (r->active == IRC_ROUTE_CLEAN)
    return IRC_OK;
  if (r->active >= 0) {
    const int k = r->active;
    if (r->tiled) {
      st = irc_net_encode (r->route_style[k], r->rgb, W, H, NULL, err);
      if (st == IRC_OK)
        st = irc_net_set_code (r->route_net[k], irc_net_code (r->route_style[k]), err);
      *coded = st == IRC_OK;
    }
    return st;
  }
  if (r->tiled) {
    st = irc_net_encode (r->style_net, r->rgb, W, H, NULL, err);
    if (st == IRC_OK)
      st = irc_net_set_code (r->net, irc_net_code (r->style_net), err);
    *coded = st == IRC_OK;
  }
  return st;
}

/* Pools the scene's attention for @net (whose code is set) on the view of
 * the frame, through @pool (@net itself, or a network of the same model
 * large enough for the view), and fixes it in @net. */
static irc_status
pool_scene_attention (irc_runner *r, irc_net *net, irc_net *pool, irc_error *err)
{
  const float *view = r->rgb;
  if (r->att_view) {
    int w, h;
    irc_box_shrink (r->rgb, r->p.width, r->p.height, IRC_RUNNER_ATTENTION_SIDE, r->att_view,
        &w, &h);
    view = r->att_view;
  }
  irc_status st = IRC_OK;
  if (pool != net)
    st = irc_net_set_code (pool, irc_net_code (net), err);
  if (st == IRC_OK)
    st = irc_net_restore_recording (pool, NULL, view, r->att_w, r->att_h, 1, r->att_means, err);
  if (st == IRC_OK)
    st = irc_net_set_attention (net, r->att_means, err);
  return st;
}

/* Records the attention maps of @net (window net, code set) on this
 * frame's view through @pool and fixes them in @net. */
static irc_status
record_attention_maps (irc_runner *r, irc_net *net, irc_net *pool, irc_error *err)
{
  const float *view = r->rgb;
  if (r->att_view) {
    /* every f-th pixel, not the f x f mean: averaging would take the noise
     * out of the view, and a denoiser's attention measures the noise (box
     * means cost it 3.7 dB at 1600x1200, sampling 0.1) */
    const int f = r->att_shrink, W = r->p.width, H = r->p.height, at = f / 2;
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < r->att_h; y++) {
        const float *row = r->rgb + ((size_t) c * H + (size_t) y * f + at) * W + at;
        float *dst = r->att_view + ((size_t) c * r->att_h + y) * r->att_w;
        for (int x = 0; x < r->att_w; x++)
          dst[x] = row[(size_t) x * f];
      }
    view = r->att_view;
  }
  irc_status st = irc_net_set_code (pool, irc_net_code (net), err);
  if (st == IRC_OK)
    st = irc_net_restore_recording_maps (pool, NULL, view, r->att_w, r->att_h, 1, r->att_maps,
        err);
  if (st == IRC_OK)
    st = irc_net_set_attention_maps (net, r->att_maps, r->att_w, r->att_h, r->att_shrink, err);
  irc_net_set_origin (net, 0, 0);
  return st;
}

static irc_status
run_tiles (irc_runner *r, irc_net *net, irc_error *err)
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
      irc_net_set_origin (net, rx0, ry0);
      irc_status st = irc_net_restore_with_code (net, r->tile_out, r->tile_in, rw, rh, err);
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
  int coded = 0;
  if (style) {
    st = style_pass (r, &coded, err);
    if (st != IRC_OK)
      return st;
    r->frames_in_scene = 0;
    r->stats.style_passes++;
  }
  if (cut)
    r->stats.scenes++;
  const int routed = r->active >= 0 && r->active < IRC_DEGRADATION_KINDS;
  irc_net *net = routed ? r->route_net[r->active] : r->net;
  irc_net *pool = routed ? r->route_att[r->active] : r->att_net;   /* NULL: net itself */
  const int scene_attention = r->att_w > 0 && irc_net_attention_size (net) > 0
      && r->active != IRC_ROUTE_CLEAN;
  /* pool is set for a window net only when it takes attention maps */
  const int maps = pool && irc_net_attention_size (net) == 0 && r->active != IRC_ROUTE_CLEAN;
  if (r->active == IRC_ROUTE_CLEAN) {
    st = IRC_OK;   /* a clean scene: the frame goes back as it came */
  } else if (maps) {
    if (style && !coded)
      st = irc_net_encode (net, r->rgb, W, H, NULL, err);
    if (st == IRC_OK)
      st = record_attention_maps (r, net, pool, err);
    if (st == IRC_OK && r->tiled)
      st = run_tiles (r, net, err);
    else if (st == IRC_OK)
      st = irc_net_restore_with_code (net, r->rgb, r->rgb, W, H, err);
  } else if (style && !coded && scene_attention && !r->att_view) {
    /* the view is the frame: one pass computes the code, pools the
     * attention and restores, as a still image is restored */
    st = irc_net_restore_recording (net, r->rgb, r->rgb, W, H, 0, r->att_means, err);
    if (st == IRC_OK)
      st = irc_net_set_attention (net, r->att_means, err);
  } else {
    if (style && !coded && scene_attention)
      st = irc_net_encode (net, r->rgb, W, H, NULL, err);
    if (st == IRC_OK && style && scene_attention)
      st = pool_scene_attention (r, net, pool ? pool : net, err);
    if (st == IRC_OK && r->tiled)
      st = run_tiles (r, net, err);
    else if (st == IRC_OK && style && !coded && !scene_attention)
      st = irc_net_restore (net, r->rgb, r->rgb, W, H, err);   /* one encoder run for both */
    else if (st == IRC_OK)
      st = irc_net_restore_with_code (net, r->rgb, r->rgb, W, H, err);
  }
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
    result->degradation = r->degradation;
    result->route = r->active;
  }
  return IRC_OK;
}
