/* temporal: the causal, motion-aware temporal filter of irc/temporal.h.
 *
 * Frames are kept as 8-bit planar RGB in a ring of frames + 1 slots (the
 * past frames and the current one), with their luma, the sum R + G + B
 * (0-765). Each frame: its global shift against the previous one (a
 * panning camera), found on 4x4-block thumbnails and refined at full
 * resolution to a fraction of a pixel; then per-pixel flags (brighter /
 * darker than the temporal reference, disagreeing past, ...) over the past
 * frames read at those shifts; their counts over a sliding 9x9 window (a
 * column sum per flag, updated row by row); and the output, as a
 * correction of the caller's own values. */
#include "irc/temporal.h"
#include "error.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* per-pixel flags */
#define F_BRIGHT 1u
#define F_DARK 2u
#define F_DISAGREE 4u
#define F_THICK 8u      /* bright, and so is all of its 3x3 neighbourhood */
#define F_NEWEST_OFF 16u /* the newest past frame disagrees with the reference */

/* the motion window: (2 RADIUS + 1)^2 pixels */
#define RADIUS 4

/* Motion around a pixel, as shares of its window: darker pixels (rain only
 * adds light), pixels whose past disagrees, brighter pixels beyond what
 * thin streaks cover, and bright areas at least 3x3 pixels (an object
 * entering brighter than what was there; a streak is thinner). Chosen on
 * NTURain ra1 (MODELS.md, Temporal mode) and the element's moving-object
 * tests. */
#define MAX_DARK 0.1f
#define MAX_DISAGREE 0.25f
#define MAX_BRIGHT 0.6f
#define MAX_THICK 0.15f
/* how far (pixels) the block around a bright pixel is matched against the
 * newest past frame before it may count as a streak */
#define LOCAL_REACH 4

/* global motion: 4x4-block thumbnails searched over +-COARSE_RANGE blocks,
 * then +-FINE_RANGE pixels at full resolution; none for frames whose
 * thumbnail is smaller than MIN_THUMB blocks a side */
#define BLOCK 4
#define COARSE_RANGE 10
#define FINE_RANGE 2
#define MIN_THUMB 8
/* per-pixel differences of R + G + B count up to this much in the search,
 * so that moving objects and rain do not pull the view's shift */
#define SHIFT_CAP 48

/* automatic tolerance: this many robust standard deviations of the luma
 * noise, and at least this many levels of 255 */
#define NOISE_SIGMAS 3.5f
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
  uint16_t *ref;                /* per-pixel temporal reference luma (0-765), in 1/64 */
  int *colsum;                  /* 4 x width: flag counts over the window's rows */
  /* global motion */
  int tw, th;                   /* thumbnail size in blocks, 0 = no motion search */
  uint16_t *thumb[2];           /* block sums of R + G + B: [cur_thumb] is the newest */
  int cur_thumb;
  int last_cx, last_cy;         /* the last coarse shift, in blocks */
  float pos_x[IRC_TEMPORAL_MAX_FRAMES + 1], pos_y[IRC_TEMPORAL_MAX_FRAMES + 1];
                                /* each slot's view: its pixel (x, y) shows the scene
                                   point (x + pos_x, y + pos_y), to a fraction of a pixel */
  uint16_t *luma;               /* slots x plane: R + G + B of each slot */
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
  free (t->luma);
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
    t->colsum = malloc (4 * (size_t) p->width * sizeof (int));
    t->tw = p->width / BLOCK, t->th = p->height / BLOCK;
    if (t->tw < MIN_THUMB || t->th < MIN_THUMB)
      t->tw = t->th = 0;
    const size_t tn = (size_t) t->tw * t->th;
    t->thumb[0] = malloc ((tn ? tn : 1) * sizeof (uint16_t));
    t->thumb[1] = malloc ((tn ? tn : 1) * sizeof (uint16_t));
    t->luma = malloc ((size_t) t->slots * t->plane * sizeof (uint16_t));
    if (!t->luma || !t->hist || !t->rgb || !t->flags || !t->ref || !t->colsum || !t->thumb[0]
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
  return t->luma[(size_t) s * t->plane + i];
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

/* Mean absolute difference, each capped at @cap, between @a at (x, y) and
 * @b at (x + dx, y + dy) over their overlap, sampled every @step pixels; a
 * huge value when they overlap by less than half of @w x @h. */
static double
shift_cost (const uint16_t *a, const uint16_t *b, int w, int h, int dx, int dy, int step,
    int cap)
{
  const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w;
  const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? h - dy : h;
  if (2 * (long) (x1 - x0) * (y1 - y0) < (long) w * h)
    return 1e30;
  long sum = 0, n = 0;
  for (int y = y0; y < y1; y += step) {
    const uint16_t *ra = a + (size_t) y * w, *rb = b + (size_t) (y + dy) * w + dx;
    for (int x = x0; x < x1; x += step) {
      const int d = abs ((int) ra[x] - (int) rb[x]);
      sum += d < cap ? d : cap;
      n++;
    }
  }
  return n ? (double) sum / (double) n : 1e30;
}

/* The mean squared difference, each capped at SHIFT_CAP^2 (near its
 * minimum a paraboloid, for the fraction of a pixel), at full resolution
 * between slots @cur and @prev, over the
 * current frame's pixels @mx and @my or more from its sides (the same
 * pixels for every shift compared, up to @mx, @my), every other one. */
static double
shift_cost_full (const irc_temporal *t, int cur, int prev, int dx, int dy, int mx, int my)
{
  const int w = t->p.width, h = t->p.height, step = 2;
  if (abs (dx) > mx || abs (dy) > my)
    return 1e30;
  long sum = 0, n = 0;
  for (int y = my; y < h - my; y += step)
    for (int x = mx; x < w - mx; x += step) {
      const int d = abs (luma_at (t, cur, (size_t) y * w + x)
          - luma_at (t, prev, (size_t) (y + dy) * w + x + dx));
      sum += d < SHIFT_CAP ? d * d : SHIFT_CAP * SHIFT_CAP;
      n++;
    }
  return n ? (double) sum / (double) n : 1e30;
}

/* shift_cost_full() at a fractional shift (@dx, @dy), the previous frame
 * read bilinearly; @mx, @my bound |dx| + 1, |dy| + 1. */
static double
shift_cost_frac (const irc_temporal *t, int cur, int prev, float dx, float dy, int mx, int my)
{
  const int w = t->p.width, h = t->p.height, step = 2;
  const int ix = (int) floorf (dx), iy = (int) floorf (dy);
  const float fx = dx - (float) ix, fy = dy - (float) iy;
  if (abs (ix) + 1 > mx || abs (iy) + 1 > my)
    return 1e30;
  const float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
  const uint16_t *l = t->luma + (size_t) prev * t->plane;
  double sum = 0;
  long n = 0;
  for (int y = my; y < h - my; y += step)
    for (int x = mx; x < w - mx; x += step) {
      const size_t j = (size_t) (y + iy) * w + x + ix;
      const float v = w00 * l[j] + w01 * l[j + 1] + w10 * l[j + w] + w11 * l[j + w + 1];
      const float d = fabsf ((float) luma_at (t, cur, (size_t) y * w + x) - v);
      sum += d < SHIFT_CAP ? d * d : SHIFT_CAP * SHIFT_CAP;
      n++;
    }
  return n ? sum / (double) n : 1e30;
}

/* The global shift of slot @cur against slot @prev, whose thumbnail is
 * t->thumb[!cur_thumb]: the (dx, dy) for which the current pixel (x, y)
 * best matches the previous frame's (x + dx, y + dy), to a fraction of a
 * pixel (a paraboloid through the costs around the best whole shift). Ties
 * keep the smaller shift, so a still or flat view gives (0, 0). */
static void
global_shift (irc_temporal *t, int cur, int prev, float *dx, float *dy)
{
  *dx = *dy = 0.0f;
  if (!t->tw)
    return;
  const uint16_t *a = t->thumb[t->cur_thumb], *b = t->thumb[!t->cur_thumb];
  double best = shift_cost (a, b, t->tw, t->th, 0, 0, 1, BLOCK * BLOCK * SHIFT_CAP);
  int cx = 0, cy = 0;
  /* near-ties (a repetitive view) go to the previous frame's shift */
  const double prior = 0.5;
  best += prior * (abs (t->last_cx) + abs (t->last_cy));
  for (int r = 1; r <= COARSE_RANGE; r++)   /* rings of growing radius */
    for (int y = -r; y <= r; y++)
      for (int x = -r; x <= r; x++) {
        if (abs (x) != r && abs (y) != r)
          continue;
        const double c = shift_cost (a, b, t->tw, t->th, x, y, 1, BLOCK * BLOCK * SHIFT_CAP)
            + prior * (abs (x - t->last_cx) + abs (y - t->last_cy));
        if (c < best)
          best = c, cx = x, cy = y;
      }
  /* whole pixels around the coarse shift; costs kept for the fraction */
  enum { N = 2 * FINE_RANGE + 3 };
  double cost[N][N];
  t->last_cx = cx, t->last_cy = cy;
  const int fx = cx * BLOCK, fy = cy * BLOCK;
  const int mx = abs (fx) + FINE_RANGE + 1, my = abs (fy) + FINE_RANGE + 1;
  if (4 * mx >= t->p.width || 4 * my >= t->p.height) {
    *dx = (float) fx, *dy = (float) fy;   /* too little left to refine on */
    return;
  }
  for (int j = 0; j < N; j++)
    for (int i = 0; i < N; i++)
      cost[j][i] = 1e30;
  int bi = FINE_RANGE + 1, bj = FINE_RANGE + 1;
  best = 1e31;
  for (int j = 1; j < N - 1; j++)
    for (int i = 1; i < N - 1; i++) {
      const int x = fx + i - FINE_RANGE - 1, y = fy + j - FINE_RANGE - 1;
      cost[j][i] = shift_cost_full (t, cur, prev, x, y, mx, my);
      if (cost[j][i] < best
          || (cost[j][i] == best && abs (x) + abs (y) < abs (fx + bi - FINE_RANGE - 1)
              + abs (fy + bj - FINE_RANGE - 1)))
        best = cost[j][i], bi = i, bj = j;
    }
  const int bx = fx + bi - FINE_RANGE - 1, by = fy + bj - FINE_RANGE - 1;
  /* the 3x3 costs around the best (those on the grid's rim when it lies
   * there), and the minimum of the paraboloid through them: both axes at
   * once, since an error along one shifts a diagonal texture's minimum
   * along the other */
  double g[3][3];
  for (int j = -1; j <= 1; j++)
    for (int i = -1; i <= 1; i++) {
      double *c = &cost[bj + j][bi + i];
      if (*c >= 1e29)
        *c = shift_cost_full (t, cur, prev, bx + i, by + j, mx, my);
      g[j + 1][i + 1] = *c;
    }
  *dx = (float) bx, *dy = (float) by;
  const double gx = 0.5 * (g[1][2] - g[1][0]), gy = 0.5 * (g[2][1] - g[0][1]);
  const double hxx = g[1][2] + g[1][0] - 2 * g[1][1], hyy = g[2][1] + g[0][1] - 2 * g[1][1];
  const double hxy = 0.25 * (g[2][2] - g[0][2] - g[2][0] + g[0][0]);
  const double det = hxx * hyy - hxy * hxy;
  for (int j = 0; j < 3; j++)
    for (int i = 0; i < 3; i++)
      if (g[j][i] >= 1e29)
        return;
  if (hxx > 0 && det > 0) {
    double fx_ = (-gx * hyy + gy * hxy) / det, fy_ = (-gy * hxx + gx * hxy) / det;
    fx_ = fx_ < -0.5 ? -0.5 : fx_ > 0.5 ? 0.5 : fx_;
    fy_ = fy_ < -0.5 ? -0.5 : fy_ > 0.5 ? 0.5 : fy_;
    /* kept only where it matches better than the whole shift (a texture
     * finer than the paraboloid assumes can bias it) */
    if (shift_cost_frac (t, cur, prev, (float) (bx + fx_), (float) (by + fy_), mx + 1, my + 1)
        < shift_cost_frac (t, cur, prev, (float) bx, (float) by, mx + 1, my + 1))
      *dx += (float) fx_, *dy += (float) fy_;
  }
}

/* The tolerance in luma sums (0-765): the caller's, else NOISE_SIGMAS
 * robust standard deviations of the noise, from the median absolute
 * difference to the (aligned) previous frame over a grid of pixels. */
static int
tolerance (const irc_temporal *t, int cur, int prev, float fdx, float fdy)
{
  const int dx = (int) lroundf (fdx), dy = (int) lroundf (fdy);
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

/* Sum of absolute differences between the 5x5 block of @cur around (x, y)
 * and @prev's at (x + ox, y + oy), over the pixels inside both frames,
 * scaled to 25 pixels; -1 with fewer than 9 such pixels. With @against 0
 * or more, stops as soon as the sum cannot end below 3/4 of @against
 * (returning LONG_MAX): the scaled sum is never below the partial one. */
static long
block_sad (const uint16_t *cur, const uint16_t *prev, int W, int H, int x, int y, int ox,
    int oy, long against)
{
  long sad = 0;
  int cnt = 0;
  for (int by = -2; by <= 2; by++)
    for (int bx = -2; bx <= 2; bx++) {
      const int qx = x + bx, qy = y + by, nx = qx + ox, ny = qy + oy;
      if (qx < 0 || qy < 0 || qx >= W || qy >= H || nx < 0 || ny < 0 || nx >= W || ny >= H)
        continue;
      sad += abs (cur[(size_t) qy * W + qx] - prev[(size_t) ny * W + nx]);
      cnt++;
      if (against >= 0 && 4 * sad >= 3 * against)
        return LONG_MAX;
    }
  return cnt < 9 ? -1 : sad * 25 / cnt;
}

/* Sorts up to IRC_TEMPORAL_MAX_FRAMES + 1 values (insertion sort). */
static inline void
sort_small (float *v, int n)
{
  for (int i = 1; i < n; i++) {
    const float x = v[i];
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
    cs[3 * W + x] += sign * (f[x] & F_THICK ? 1 : 0);
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
  {
    uint16_t *l = t->luma + (size_t) cur * plane;
    const uint8_t *r = slot_plane (t, cur, 0), *g = slot_plane (t, cur, 1),
        *b = slot_plane (t, cur, 2);
    for (size_t i = 0; i < plane; i++)
      l[i] = (uint16_t) (r[i] + g[i] + b[i]);
  }
  t->cur_thumb = !t->cur_thumb;
  if (t->tw)
    make_thumb (t, cur, t->thumb[t->cur_thumb]);
  const int n = t->count;
  if (n == 0) {
    t->newest = cur;
    t->count = 1;
    t->pos_x[cur] = t->pos_y[cur] = 0.0f;
    t->last_cx = t->last_cy = 0;
    return IRC_OK;
  }
  float sx, sy;
  global_shift (t, cur, t->newest, &sx, &sy);
  t->pos_x[cur] = t->pos_x[t->newest] + sx;
  t->pos_y[cur] = t->pos_y[t->newest] + sy;
  /* the past frames, newest first: their slots and where the current
   * pixel (x, y) lies in each, (x + ix + fx, y + iy + fy) with the
   * fractions fx, fy in [0, 1): read bilinearly */
  int past[IRC_TEMPORAL_MAX_FRAMES], ix[IRC_TEMPORAL_MAX_FRAMES], iy[IRC_TEMPORAL_MAX_FRAMES];
  float w00[IRC_TEMPORAL_MAX_FRAMES], w01[IRC_TEMPORAL_MAX_FRAMES],
      w10[IRC_TEMPORAL_MAX_FRAMES], w11[IRC_TEMPORAL_MAX_FRAMES];
  for (int k = 0; k < n; k++) {
    past[k] = (t->newest - k + t->slots) % t->slots;
    float ox = t->pos_x[cur] - t->pos_x[past[k]], oy = t->pos_y[cur] - t->pos_y[past[k]];
    /* within 1/16 pixel of a whole shift: the whole shift (a still view
     * stays exact, its edge pixels included) */
    if (fabsf (ox - roundf (ox)) < 0.0625f)
      ox = roundf (ox);
    if (fabsf (oy - roundf (oy)) < 0.0625f)
      oy = roundf (oy);
    ix[k] = (int) floorf (ox), iy[k] = (int) floorf (oy);
    const float fx = ox - (float) ix[k], fy = oy - (float) iy[k];
    w00[k] = (1 - fx) * (1 - fy), w01[k] = fx * (1 - fy);
    w10[k] = (1 - fx) * fy, w11[k] = fx * fy;
  }
  const int tol = tolerance (t, cur, past[0], t->pos_x[cur] - t->pos_x[past[0]],
      t->pos_y[cur] - t->pos_y[past[0]]);
  const float ftol = (float) tol;
  const uint8_t *pc[3], *pp[IRC_TEMPORAL_MAX_FRAMES][3];
  const uint16_t *pl[IRC_TEMPORAL_MAX_FRAMES];
  for (int c = 0; c < 3; c++) {
    pc[c] = slot_plane (t, cur, c);
    for (int k = 0; k < n; k++)
      pp[k][c] = slot_plane (t, past[k], c);
  }
  for (int k = 0; k < n; k++)
    pl[k] = t->luma + (size_t) past[k] * plane;
  const uint16_t *lcur = t->luma + (size_t) cur * plane;

/* the four neighbours of past frame k's point for pixel (x, y), or skip it
 * (continue) when that point lies outside the frame; the last row and
 * column repeat */
#define PAST_POINT(k, x, y) \
  const int px_ = (x) + ix[k], py_ = (y) + iy[k]; \
  if (px_ < 0 || py_ < 0 || px_ >= W || py_ >= H) \
    continue; \
  const size_t j00 = (size_t) py_ * W + px_; \
  const size_t j01 = j00 + (px_ + 1 < W ? 1 : 0); \
  const size_t j10 = j00 + (py_ + 1 < H ? (size_t) W : 0), j11 = j10 + (j01 - j00)
#define BILINEAR(p, k) \
  (w00[k] * (p)[j00] + w01[k] * (p)[j01] + w10[k] * (p)[j10] + w11[k] * (p)[j11])

  /* pass 1: the reference and the flags, over the past frames that see
   * the pixel */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const size_t i = (size_t) y * W + x;
      float v[IRC_TEMPORAL_MAX_FRAMES + 1], lp[IRC_TEMPORAL_MAX_FRAMES];
      const float lc = lcur[i];
      int m = 0, newest_seen = 0;
      v[0] = lc;
      for (int k = 0; k < n; k++) {
        PAST_POINT (k, x, y);
        lp[m] = BILINEAR (pl[k], k);
        v[m + 1] = lp[m];
        m++;
        newest_seen |= k == 0;
      }
      sort_small (v, m + 1);
      const float ref = v[m / 2];   /* the lower median */
      int agree = 0, newest_off = 0;
      for (int k = 0; k < m; k++)
        agree += fabsf (lp[k] - ref) <= ftol;
      if (m > 0 && newest_seen)
        newest_off = fabsf (lp[0] - ref) > ftol;
      /* static: every past frame that sees it but at most one agrees */
      const int disagree = m == 0 || agree < (m > 1 ? m - 1 : 1);
      t->ref[i] = (uint16_t) lroundf (ref * 64.0f);
      t->flags[i] = (uint8_t) ((lc > ref + ftol ? F_BRIGHT : 0)
          | (lc < ref - ftol ? F_DARK : 0) | (disagree ? F_DISAGREE : 0)
          | (newest_off ? F_NEWEST_OFF : 0));
    }

  /* passes 2 and 3, row by row: the window's flag counts, then the output */
  /* bright areas three pixels wide and high or more: wider than a streak
   * (an object entering brighter than what was there) */
  for (int y = 1; y + 1 < H; y++)
    for (int x = 1; x + 1 < W; x++) {
      const uint8_t *f = t->flags + (size_t) y * W + x;
      if (f[-W - 1] & f[-W] & f[-W + 1] & f[-1] & f[0] & f[1] & f[W - 1] & f[W] & f[W + 1]
          & F_BRIGHT)
        t->flags[(size_t) y * W + x] |= F_THICK;
    }
  memset (t->colsum, 0, 4 * (size_t) W * sizeof (int));
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
    int sb = 0, sd = 0, sm = 0, sk = 0;
    for (int x = 0; x < RADIUS && x < W; x++)
      sb += cs[x], sd += cs[W + x], sm += cs[2 * W + x], sk += cs[3 * W + x];
    for (int x = 0; x < W; x++) {
      const int add = x + RADIUS, sub = x - RADIUS - 1;
      if (add < W)
        sb += cs[add], sd += cs[W + add], sm += cs[2 * W + add], sk += cs[3 * W + add];
      if (sub >= 0)
        sb -= cs[sub], sd -= cs[W + sub], sm -= cs[2 * W + sub], sk -= cs[3 * W + sub];
      const size_t i = (size_t) y * W + x;
      const unsigned f = t->flags[i];
      const float area = (float) rows
          * ((x + RADIUS < W ? x + RADIUS : W - 1) - (x - RADIUS > 0 ? x - RADIUS : 0) + 1);
      if ((f & F_DISAGREE) || sk > MAX_THICK * area || sd > MAX_DARK * area || sm > MAX_DISAGREE * area
          || sb > MAX_BRIGHT * area) {
        moving++;
        continue;
      }
      if (f & F_DARK)
        continue;
      const int with_current = !(f & F_BRIGHT);
      /* a streak is replaced only where the newest past frame agrees: one
       * that does not may show an object that arrived a frame ago (and so
       * never with a single past frame, which cannot tell) */
      if (!with_current && (t->p.mode != IRC_TEMPORAL_RAIN || (f & F_NEWEST_OFF) || n < 2))
        continue;
      /* nor within two pixels of a brighter pixel whose newest past frame
       * disagrees: the edge of something bright moving a pixel or two a
       * frame */
      if (!with_current) {
        int edge = 0;
        for (int dy = -2; dy <= 2 && !edge; dy++)
          for (int dx = -2; dx <= 2; dx++) {
            const int nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= W || ny >= H)
              continue;
            const unsigned g = t->flags[(size_t) ny * W + nx];
            if ((g & F_BRIGHT) && (g & F_NEWEST_OFF)) {
              edge = 1;
              break;
            }
          }
        if (edge)
          continue;
      }
      /* nor where the 5x5 block around the pixel matches the newest past
       * frame better elsewhere within LOCAL_REACH pixels than in place:
       * something bright that moved there on its own (a streak matches
       * nowhere, so the block's best match stays in place) */
      if (!with_current) {
        const int cx = x + ix[0] + (w01[0] + w11[0] >= 0.5f), cy = y + iy[0]
            + (w10[0] + w11[0] >= 0.5f);
        /* in place first; then, at each offset, stop adding once the block
         * cannot match better than 3/4 of that */
        const long in_place = block_sad (lcur, pl[0], W, H, x, y, cx - x, cy - y, -1);
        if (in_place < 0)
          continue;
        int moved = 0;
        for (int dy = -LOCAL_REACH; dy <= LOCAL_REACH && !moved; dy++)
          for (int dx = -LOCAL_REACH; dx <= LOCAL_REACH; dx++) {
            if (dx == 0 && dy == 0)
              continue;
            const long sad = block_sad (lcur, pl[0], W, H, x, y, cx - x + dx, cy - y + dy,
                in_place);
            if (sad >= 0 && sad != LONG_MAX && 4 * sad < 3 * in_place) {
              moved = 1;
              break;
            }
          }
        if (moved)
          continue;
      }
      /* the mean of the frames that agree with the reference */
      const float ref = t->ref[i] * (1.0f / 64.0f);
      float sum[3] = {0, 0, 0};
      int m = 0;
      if (with_current) {
        sum[0] = pc[0][i], sum[1] = pc[1][i], sum[2] = pc[2][i];
        m = 1;
      }
      for (int k = 0; k < n; k++) {
        PAST_POINT (k, x, y);
        if (fabsf (BILINEAR (pl[k], k) - ref) <= ftol) {
          sum[0] += BILINEAR (pp[k][0], k);
          sum[1] += BILINEAR (pp[k][1], k);
          sum[2] += BILINEAR (pp[k][2], k);
          m++;
        }
      }
      /* as a correction of the frame's own value, so agreeing frames that
       * equal it leave it exactly as it was (colours outside the 8-bit RGB
       * cube of a YUV frame included) */
      const float scale = 1.0f / (255.0f * (float) m);
      for (int c = 0; c < 3; c++)
        rgb[c * plane + i] += sum[c] * scale - pc[c][i] * (1.0f / 255.0f);
      if (with_current)
        averaged++;
      else
        replaced++;
    }
  }
#undef PAST_POINT
#undef BILINEAR
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
