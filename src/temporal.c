/* temporal: the causal, motion-aware temporal filter of irc/temporal.h.
 *
 * Frames are kept as 8-bit planar RGB in a ring of frames + 1 slots (the
 * past frames and the current one); luma is the sum R + G + B (0-765), so
 * the per-pixel work is integer. Each frame: its global shift against the
 * previous one (a panning camera), found on 4x4-block thumbnails and
 * refined at full resolution; then per-pixel flags (brighter / darker than
 * the temporal reference, disagreeing past) over the past frames aligned by
 * those shifts; their counts over a sliding 9x9 window (a column sum per
 * flag, updated row by row); and the output. */
#include "irc/temporal.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* per-pixel flags */
#define F_BRIGHT 1u
#define F_DARK 2u
#define F_DISAGREE 4u

/* the motion window: (2 RADIUS + 1)^2 pixels */
#define RADIUS 4

/* Motion around a pixel, as shares of its window: darker pixels (rain only
 * adds light), pixels whose past disagrees, and brighter pixels beyond what
 * thin streaks cover (a bright object entering). */
#define MAX_DARK 0.06f
#define MAX_DISAGREE 0.25f
#define MAX_BRIGHT 0.6f

/* global motion: 4x4-block thumbnails searched over +-COARSE_RANGE blocks,
 * then +-FINE_RANGE pixels at full resolution; none for frames whose
 * thumbnail is smaller than MIN_THUMB blocks a side */
#define BLOCK 4
#define COARSE_RANGE 10
#define FINE_RANGE 2
#define MIN_THUMB 8

/* automatic tolerance: this many robust standard deviations of the luma
 * noise, and at least this many levels of 255 */
#define NOISE_SIGMAS 3.0f
#define MIN_LEVELS 3

struct irc_temporal {
  irc_temporal_params p;
  size_t plane;
  int slots;                    /* frames + 1 */
  int newest;                   /* slot of the newest past frame */
  int count;                    /* past frames held, 0 .. frames */
  uint8_t *hist;                /* slots x 3 planes of 8-bit RGB */
  float *rgb;                   /* the caller's frame as float (irc_temporal_process) */
  uint8_t *flags;               /* per pixel */
  uint16_t *ref;                /* per-pixel temporal reference luma (0-765) */
  int *colsum;                  /* 3 x width: flag counts over the window's rows */
  /* global motion */
  int tw, th;                   /* thumbnail size in blocks, 0 = no motion search */
  uint16_t *thumb[2];           /* block sums of R + G + B: [cur_thumb] is the newest */
  int cur_thumb;
  int pos_x[IRC_TEMPORAL_MAX_FRAMES + 1], pos_y[IRC_TEMPORAL_MAX_FRAMES + 1];
                                /* each slot's view: its pixel (x, y) shows the scene
                                   point (x + pos_x, y + pos_y) */
};

static const char *const mode_names[IRC_TEMPORAL_MODE_COUNT] = {"off", "rain", "noise"};

const char *
irc_temporal_mode_name (irc_temporal_mode mode)
{
  return (unsigned) mode < IRC_TEMPORAL_MODE_COUNT ? mode_names[mode] : NULL;
}

static void
temporal_destroy (irc_temporal *t)
{
  free (t->hist);
  free (t->rgb);
  free (t->flags);
  free (t->ref);
  free (t->colsum);
  free (t->thumb[0]);
  free (t->thumb[1]);
  free (t);
}

void
irc_temporal_free (irc_temporal **temporal)
{
  if (temporal && *temporal) {
    temporal_destroy (*temporal);
    *temporal = NULL;
  }
}

void
irc_temporal_reset (irc_temporal *t)
{
  if (t)
    t->count = 0;
}

irc_status
irc_temporal_new (const irc_temporal_params *params, irc_temporal **out, irc_error *err)
{
  const irc_temporal_params defaults = IRC_TEMPORAL_DEFAULTS;
  const irc_temporal_params *p = params ? params : &defaults;
  if (!out)
    return irc_fail (err, IRC_ERR_INVALID, "temporal: no place for the filter");
  *out = NULL;
  if (p->width < 1 || p->height < 1 || p->width > 16384 || p->height > 16384)
    return irc_fail (err, IRC_ERR_INVALID,
        "temporal: frame size %dx%d outside 1x1 .. 16384x16384", p->width, p->height);
  if (!irc_pixel_format_name (p->format))
    return irc_fail (err, IRC_ERR_INVALID, "temporal: unknown pixel format %d", (int) p->format);
  if (p->matrix != IRC_MATRIX_BT601 && p->matrix != IRC_MATRIX_BT709)
    return irc_fail (err, IRC_ERR_INVALID, "temporal: unknown YUV matrix %d", (int) p->matrix);
  if (!irc_temporal_mode_name (p->mode))
    return irc_fail (err, IRC_ERR_INVALID, "temporal: unknown mode %d", (int) p->mode);
  if (p->frames < 1 || p->frames > IRC_TEMPORAL_MAX_FRAMES)
    return irc_fail (err, IRC_ERR_INVALID, "temporal: %d past frames, must be 1 to %d",
        p->frames, IRC_TEMPORAL_MAX_FRAMES);
  if (!(p->tolerance >= 0.0f && p->tolerance <= 1.0f))
    return irc_fail (err, IRC_ERR_INVALID, "temporal: tolerance %g must be within [0, 1]",
        p->tolerance);
  irc_temporal *t = calloc (1, sizeof *t);
  if (!t)
    return irc_fail (err, IRC_ERR_NOMEM, "temporal: out of memory");
  t->p = *p;
  t->plane = (size_t) p->width * p->height;
  t->slots = p->frames + 1;
  /* with the filter off nothing is kept: process() returns at once */
  if (p->mode != IRC_TEMPORAL_OFF) {
    t->hist = malloc ((size_t) t->slots * 3 * t->plane);
    t->rgb = malloc (3 * t->plane * sizeof (float));
    t->flags = malloc (t->plane);
    t->ref = malloc (t->plane * sizeof (uint16_t));
    t->colsum = malloc (3 * (size_t) p->width * sizeof (int));
    t->tw = p->width / BLOCK, t->th = p->height / BLOCK;
    if (t->tw < MIN_THUMB || t->th < MIN_THUMB)
      t->tw = t->th = 0;
    const size_t tn = (size_t) t->tw * t->th;
    t->thumb[0] = malloc ((tn ? tn : 1) * sizeof (uint16_t));
    t->thumb[1] = malloc ((tn ? tn : 1) * sizeof (uint16_t));
    if (!t->hist || !t->rgb || !t->flags || !t->ref || !t->colsum || !t->thumb[0]
        || !t->thumb[1]) {
      const int slots = t->slots;
      temporal_destroy (t);
      return irc_fail (err, IRC_ERR_NOMEM,
          "temporal: out of memory for %d frames of %dx%d", slots, p->width, p->height);
    }
  }
  *out = t;
  return IRC_OK;
}

static inline uint8_t
to_u8 (float v)
{
  v = v * 255.0f + 0.5f;
  return v > 0.0f ? (v < 255.0f ? (uint8_t) v : 255) : 0;  /* NaN gives 0 */
}

/* Plane @c of slot @s. */
static inline uint8_t *
slot_plane (const irc_temporal *t, int s, int c)
{
  return t->hist + ((size_t) s * 3 + c) * t->plane;
}

/* Luma (R + G + B) of slot @s at pixel @i. */
static inline int
luma_at (const irc_temporal *t, int s, size_t i)
{
  const uint8_t *p = t->hist + (size_t) s * 3 * t->plane + i;
  return p[0] + p[t->plane] + p[2 * t->plane];
}

/* The 4x4-block luma sums of slot @s into @thumb. */
static void
make_thumb (const irc_temporal *t, int s, uint16_t *thumb)
{
  const int W = t->p.width;
  for (int by = 0; by < t->th; by++)
    for (int bx = 0; bx < t->tw; bx++) {
      int sum = 0;
      for (int y = by * BLOCK; y < (by + 1) * BLOCK; y++)
        for (int x = bx * BLOCK; x < (bx + 1) * BLOCK; x++)
          sum += luma_at (t, s, (size_t) y * W + x);
      thumb[(size_t) by * t->tw + bx] = (uint16_t) sum;
    }
}

/* Mean absolute difference between @a at (x, y) and @b at (x + dx, y + dy)
 * over their overlap, sampled every @step pixels; a huge value when they
 * overlap by less than half of @w x @h. */
static double
shift_cost (const uint16_t *a, const uint16_t *b, int w, int h, int dx, int dy, int step)
{
  const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w;
  const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? h - dy : h;
  if (2 * (long) (x1 - x0) * (y1 - y0) < (long) w * h)
    return 1e30;
  long sum = 0, n = 0;
  for (int y = y0; y < y1; y += step) {
    const uint16_t *ra = a + (size_t) y * w, *rb = b + (size_t) (y + dy) * w + dx;
    for (int x = x0; x < x1; x += step) {
      sum += abs ((int) ra[x] - (int) rb[x]);
      n++;
    }
  }
  return n ? (double) sum / (double) n : 1e30;
}

/* The same at full resolution between slots @cur and @prev. */
static double
shift_cost_full (const irc_temporal *t, int cur, int prev, int dx, int dy)
{
  const int w = t->p.width, h = t->p.height, step = 2;
  const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w;
  const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? h - dy : h;
  if (2 * (long) (x1 - x0) * (y1 - y0) < (long) w * h)
    return 1e30;
  long sum = 0, n = 0;
  for (int y = y0; y < y1; y += step)
    for (int x = x0; x < x1; x += step) {
      sum += abs (luma_at (t, cur, (size_t) y * w + x)
          - luma_at (t, prev, (size_t) (y + dy) * w + x + dx));
      n++;
    }
  return n ? (double) sum / (double) n : 1e30;
}

/* The global shift of slot @cur against slot @prev, whose thumbnail is
 * t->thumb[!cur_thumb]: the (dx, dy) for which the current pixel (x, y)
 * best matches the previous frame's (x + dx, y + dy). Ties keep the
 * smaller shift, so a still or flat view gives (0, 0). */
static void
global_shift (irc_temporal *t, int cur, int prev, int *dx, int *dy)
{
  *dx = *dy = 0;
  if (!t->tw)
    return;
  const uint16_t *a = t->thumb[t->cur_thumb], *b = t->thumb[!t->cur_thumb];
  double best = shift_cost (a, b, t->tw, t->th, 0, 0, 1);
  int cx = 0, cy = 0;
  for (int r = 1; r <= COARSE_RANGE; r++)   /* rings of growing radius */
    for (int y = -r; y <= r; y++)
      for (int x = -r; x <= r; x++) {
        if (abs (x) != r && abs (y) != r)
          continue;
        const double c = shift_cost (a, b, t->tw, t->th, x, y, 1);
        if (c < best)
          best = c, cx = x, cy = y;
      }
  int fx = cx * BLOCK, fy = cy * BLOCK;
  best = shift_cost_full (t, cur, prev, fx, fy);
  int bx = fx, by = fy;
  for (int y = fy - FINE_RANGE; y <= fy + FINE_RANGE; y++)
    for (int x = fx - FINE_RANGE; x <= fx + FINE_RANGE; x++) {
      if (x == fx && y == fy)
        continue;
      const double c = shift_cost_full (t, cur, prev, x, y);
      if (c < best)
        best = c, bx = x, by = y;
    }
  *dx = bx, *dy = by;
}

/* The tolerance in luma sums (0-765): the caller's, else NOISE_SIGMAS
 * robust standard deviations of the noise, from the median absolute
 * difference to the (aligned) previous frame over a grid of pixels. */
static int
tolerance (const irc_temporal *t, int cur, int prev, int dx, int dy)
{
  if (t->p.tolerance > 0.0f)
    return (int) lroundf (t->p.tolerance * 765.0f);
  const int W = t->p.width, H = t->p.height;
  const int step = W * H >= 4096 ? 4 : 1;
  unsigned hist[766] = {0};
  unsigned n = 0;
  for (int y = dy < 0 ? -dy : 0; y < (dy > 0 ? H - dy : H); y += step)
    for (int x = dx < 0 ? -dx : 0; x < (dx > 0 ? W - dx : W); x += step) {
      const int d = luma_at (t, cur, (size_t) y * W + x)
          - luma_at (t, prev, (size_t) (y + dy) * W + x + dx);
      hist[d < 0 ? -d : d]++;
      n++;
    }
  unsigned acc = 0;
  int median = 0;
  while (median < 765 && (acc += hist[median]) * 2 < n)
    median++;
  /* |a - b| of two samples of the same level: its median is 0.6745 sqrt(2)
   * standard deviations of one */
  const float sigma = (float) median / (0.6745f * 1.41421356f);
  const int tol = (int) lroundf (NOISE_SIGMAS * sigma);
  return tol > 3 * MIN_LEVELS ? tol : 3 * MIN_LEVELS;
}

/* Sorts up to IRC_TEMPORAL_MAX_FRAMES + 1 values (insertion sort). */
static inline void
sort_small (int *v, int n)
{
  for (int i = 1; i < n; i++) {
    const int x = v[i];
    int j = i - 1;
    while (j >= 0 && v[j] > x) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
}

/* Adds (@sign 1) or removes (-1) row @y's flags to the column sums. */
static inline void
count_row (irc_temporal *t, int y, int sign)
{
  const int W = t->p.width;
  int *cs = t->colsum;
  const uint8_t *f = t->flags + (size_t) y * W;
  for (int x = 0; x < W; x++) {
    cs[x] += sign * (f[x] & F_BRIGHT ? 1 : 0);
    cs[W + x] += sign * (f[x] & F_DARK ? 1 : 0);
    cs[2 * W + x] += sign * (f[x] & F_DISAGREE ? 1 : 0);
  }
}

irc_status
irc_temporal_process_rgb (irc_temporal *t, float *rgb, irc_temporal_result *result,
    irc_error *err)
{
  if (!t || !rgb)
    return irc_fail (err, IRC_ERR_INVALID, "temporal: no filter or no frame");
  if (result)
    memset (result, 0, sizeof *result);
  if (t->p.mode == IRC_TEMPORAL_OFF)
    return IRC_OK;
  const int W = t->p.width, H = t->p.height;
  const size_t plane = t->plane;
  const int cur = (t->newest + 1) % t->slots;
  for (int c = 0; c < 3; c++) {
    uint8_t *d = slot_plane (t, cur, c);
    const float *s = rgb + c * plane;
    for (size_t i = 0; i < plane; i++)
      d[i] = to_u8 (s[i]);
  }
  t->cur_thumb = !t->cur_thumb;
  if (t->tw)
    make_thumb (t, cur, t->thumb[t->cur_thumb]);
  const int n = t->count;
  if (n == 0) {
    t->newest = cur;
    t->count = 1;
    t->pos_x[cur] = t->pos_y[cur] = 0;
    return IRC_OK;
  }
  int sx, sy;
  global_shift (t, cur, t->newest, &sx, &sy);
  t->pos_x[cur] = t->pos_x[t->newest] + sx;
  t->pos_y[cur] = t->pos_y[t->newest] + sy;
  /* the past frames, newest first: their slots and where the current
   * pixel (x, y) lies in each, (x + ox, y + oy) */
  int past[IRC_TEMPORAL_MAX_FRAMES], ox[IRC_TEMPORAL_MAX_FRAMES], oy[IRC_TEMPORAL_MAX_FRAMES];
  for (int k = 0; k < n; k++) {
    past[k] = (t->newest - k + t->slots) % t->slots;
    ox[k] = t->pos_x[cur] - t->pos_x[past[k]];
    oy[k] = t->pos_y[cur] - t->pos_y[past[k]];
  }
  const int tol = tolerance (t, cur, past[0], ox[0], oy[0]);
  const uint8_t *pc[3], *pp[IRC_TEMPORAL_MAX_FRAMES][3];
  for (int c = 0; c < 3; c++) {
    pc[c] = slot_plane (t, cur, c);
    for (int k = 0; k < n; k++)
      pp[k][c] = slot_plane (t, past[k], c);
  }

  /* pass 1: the reference and the flags, over the past frames that see
   * the pixel */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const size_t i = (size_t) y * W + x;
      int v[IRC_TEMPORAL_MAX_FRAMES + 1], lp[IRC_TEMPORAL_MAX_FRAMES];
      const int lc = pc[0][i] + pc[1][i] + pc[2][i];
      int m = 0;
      v[0] = lc;
      for (int k = 0; k < n; k++) {
        const int px = x + ox[k], py = y + oy[k];
        if (px < 0 || py < 0 || px >= W || py >= H)
          continue;
        const size_t j = (size_t) py * W + px;
        lp[m] = pp[k][0][j] + pp[k][1][j] + pp[k][2][j];
        v[m + 1] = lp[m];
        m++;
      }
      sort_small (v, m + 1);
      const int ref = v[m / 2];   /* the lower median */
      int agree = 0;
      for (int k = 0; k < m; k++)
        agree += abs (lp[k] - ref) <= tol;
      /* static: every past frame that sees it but at most one agrees */
      const int disagree = m == 0 || agree < (m > 1 ? m - 1 : 1);
      t->ref[i] = (uint16_t) ref;
      t->flags[i] = (uint8_t) ((lc > ref + tol ? F_BRIGHT : 0) | (lc < ref - tol ? F_DARK : 0)
          | (disagree ? F_DISAGREE : 0));
    }

  /* passes 2 and 3, row by row: the window's flag counts, then the output */
  memset (t->colsum, 0, 3 * (size_t) W * sizeof (int));
  for (int y = 0; y < RADIUS && y < H; y++)
    count_row (t, y, 1);
  const int *cs = t->colsum;
  size_t replaced = 0, averaged = 0, moving = 0;
  for (int y = 0; y < H; y++) {
    if (y + RADIUS < H)
      count_row (t, y + RADIUS, 1);
    if (y - RADIUS - 1 >= 0)
      count_row (t, y - RADIUS - 1, -1);
    const int rows = (y + RADIUS < H ? y + RADIUS : H - 1) - (y - RADIUS > 0 ? y - RADIUS : 0) + 1;
    int sb = 0, sd = 0, sm = 0;
    for (int x = 0; x < RADIUS && x < W; x++)
      sb += cs[x], sd += cs[W + x], sm += cs[2 * W + x];
    for (int x = 0; x < W; x++) {
      const int add = x + RADIUS, sub = x - RADIUS - 1;
      if (add < W)
        sb += cs[add], sd += cs[W + add], sm += cs[2 * W + add];
      if (sub >= 0)
        sb -= cs[sub], sd -= cs[W + sub], sm -= cs[2 * W + sub];
      const size_t i = (size_t) y * W + x;
      const unsigned f = t->flags[i];
      const float area = (float) rows
          * ((x + RADIUS < W ? x + RADIUS : W - 1) - (x - RADIUS > 0 ? x - RADIUS : 0) + 1);
      if ((f & F_DISAGREE) || sd > MAX_DARK * area || sm > MAX_DISAGREE * area
          || sb > MAX_BRIGHT * area) {
        moving++;
        continue;
      }
      if (f & F_DARK)
        continue;
      const int with_current = !(f & F_BRIGHT);
      if (!with_current && t->p.mode != IRC_TEMPORAL_RAIN)
        continue;
      /* the mean of the frames that agree with the reference */
      const int ref = t->ref[i];
      int sum[3] = {0, 0, 0}, m = 0;
      if (with_current) {
        sum[0] = pc[0][i], sum[1] = pc[1][i], sum[2] = pc[2][i];
        m = 1;
      }
      for (int k = 0; k < n; k++) {
        const int px = x + ox[k], py = y + oy[k];
        if (px < 0 || py < 0 || px >= W || py >= H)
          continue;
        const size_t j = (size_t) py * W + px;
        const int a = pp[k][0][j], b = pp[k][1][j], c = pp[k][2][j];
        if (abs (a + b + c - ref) <= tol) {
          sum[0] += a, sum[1] += b, sum[2] += c;
          m++;
        }
      }
      const float scale = 1.0f / (255.0f * (float) m);
      for (int c = 0; c < 3; c++)
        rgb[c * plane + i] = (float) sum[c] * scale;
      if (with_current)
        averaged++;
      else
        replaced++;
    }
  }
  t->newest = cur;
  t->count = n + 1 < t->p.frames ? n + 1 : t->p.frames;
  if (result) {
    result->history = n;
    result->shift_x = sx;
    result->shift_y = sy;
    result->tolerance = (float) tol / 765.0f;
    result->replaced = (float) ((double) replaced / (double) plane);
    result->averaged = (float) ((double) averaged / (double) plane);
    result->moving = (float) ((double) moving / (double) plane);
  }
  return IRC_OK;
}

irc_status
irc_temporal_process (irc_temporal *t, irc_frame *frame, irc_temporal_result *result,
    irc_error *err)
{
  if (!t || !frame)
    return irc_fail (err, IRC_ERR_INVALID, "temporal: no filter or no frame");
  if (result)
    memset (result, 0, sizeof *result);
  if (t->p.mode == IRC_TEMPORAL_OFF)
    return IRC_OK;
  const irc_temporal_params *p = &t->p;
  irc_status st = irc_frame_to_float (t->rgb, frame, p->width, p->height, p->format,
      p->matrix, p->full_range, err);
  if (st != IRC_OK)
    return st;
  irc_temporal_result r;
  st = irc_temporal_process_rgb (t, t->rgb, &r, err);
  if (st != IRC_OK)
    return st;
  /* untouched frames are left exactly as they came */
  if (r.replaced > 0.0f || r.averaged > 0.0f)
    st = irc_frame_from_float (frame, t->rgb, p->width, p->height, p->format, p->matrix,
        p->full_range, frame, err);
  if (st == IRC_OK && result)
    *result = r;
  return st;
}
