/* degrade: the synthetic degradation generators the models are trained on.
 * Their realism decides real-world quality (MODELS.md measures it), so each
 * follows how the benchmark sets were made and how real footage looks. */
#include "io/degrade.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define DEG2RAD ((float) M_PI / 180.0f)

static inline float
clampf (float v, float lo, float hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

static inline float
smoothstepf (float e0, float e1, float x)
{
  float t = clampf ((x - e0) / (e1 - e0), 0.0f, 1.0f);
  return t * t * (3.0f - 2.0f * t);
}

static irc_status
check_image (const float *rgb, int width, int height, const char *what, irc_error *err)
{
  if (!rgb || width <= 0 || height <= 0)
    return irc_fail (err, IRC_ERR_INVALID, "%s: empty image (%dx%d)", what, width, height);
  if ((size_t) width * (size_t) height > ((size_t) 1 << 28))
    return irc_fail (err, IRC_ERR_INVALID, "%s: image %dx%d is too large", what, width,
        height);
  return IRC_OK;
}

/* ------------------------------------------------------------------ RNG */

void
irc_rng_seed (irc_rng *rng, uint64_t seed, uint64_t stream)
{
  /* The reference pcg32_srandom_r sequence. */
  rng->state = 0;
  rng->inc = (stream << 1) | 1u;
  rng->has_spare = 0;
  rng->spare = 0.0f;
  irc_rng_u32 (rng);
  rng->state += seed;
  irc_rng_u32 (rng);
}

uint32_t
irc_rng_u32 (irc_rng *rng)
{
  uint64_t old = rng->state;
  rng->state = old * 6364136223846793005ULL + rng->inc;
  uint32_t xorshifted = (uint32_t) (((old >> 18) ^ old) >> 27);
  uint32_t rot = (uint32_t) (old >> 59);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint64_t
irc_rng_u64 (irc_rng *rng)
{
  uint64_t hi = irc_rng_u32 (rng);
  return (hi << 32) | irc_rng_u32 (rng);
}

float
irc_rng_uniform (irc_rng *rng)
{
  return (float) (irc_rng_u32 (rng) >> 8) * (1.0f / 16777216.0f);
}

float
irc_rng_range (irc_rng *rng, float lo, float hi)
{
  return lo + (hi - lo) * irc_rng_uniform (rng);
}

uint32_t
irc_rng_below (irc_rng *rng, uint32_t n)
{
  if (n == 0)
    return 0;
  /* Rejection: drop the top partial bucket so every residue is equally likely. */
  uint32_t threshold = (uint32_t) (-n) % n;
  for (;;) {
    uint32_t r = irc_rng_u32 (rng);
    if (r >= threshold)
      return r % n;
  }
}

float
irc_rng_normal (irc_rng *rng)
{
  if (rng->has_spare) {
    rng->has_spare = 0;
    return rng->spare;
  }
  /* Box-Muller; u1 in (0, 1] so the log is finite. */
  float u1 = 1.0f - irc_rng_uniform (rng);
  float u2 = irc_rng_uniform (rng);
  float r = sqrtf (-2.0f * logf (u1));
  float a = 2.0f * (float) M_PI * u2;
  rng->spare = r * sinf (a);
  rng->has_spare = 1;
  return r * cosf (a);
}

/* Log-uniform in [lo, hi]: scale-like quantities (lengths, densities) whose
 * small values matter as much as large ones. */
static float
rng_log_range (irc_rng *rng, float lo, float hi)
{
  return expf (irc_rng_range (rng, logf (lo), logf (hi)));
}

/* ------------------------------------------------------------- helpers */

/* Box blur of one plane with radius @r (window 2r+1), edges replicated,
 * by running sums: O(pixels) whatever the radius. */
static irc_status
box_blur (float *plane, int w, int h, int r, irc_error *err)
{
  if (r <= 0)
    return IRC_OK;
  int n = w > h ? w : h;
  float *line = malloc (sizeof (float) * (n + 2 * r + 1));
  if (!line)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for a blur buffer");
  float inv = 1.0f / (2 * r + 1);
  for (int pass = 0; pass < 2; pass++) {
    int len = pass == 0 ? w : h, count = pass == 0 ? h : w;
    size_t stride = pass == 0 ? 1 : (size_t) w;
    for (int j = 0; j < count; j++) {
      float *p = plane + (pass == 0 ? (size_t) j * w : (size_t) j);
      for (int i = -r; i < len + r; i++) {
        int k = i < 0 ? 0 : i >= len ? len - 1 : i;
        line[i + r] = p[k * stride];
      }
      double acc = 0.0;
      for (int i = 0; i < 2 * r + 1; i++)
        acc += line[i];
      for (int i = 0; i < len; i++) {
        p[i * stride] = (float) (acc * inv);
        acc += line[i + 2 * r + 1 < len + 2 * r ? i + 2 * r + 1 : len + 2 * r - 1]
            - line[i];
      }
    }
  }
  free (line);
  return IRC_OK;
}

static inline float
luma (const float *rgb, size_t plane, size_t i)
{
  return 0.299f * rgb[i] + 0.587f * rgb[plane + i] + 0.114f * rgb[2 * plane + i];
}

/* Smooth random field in [0,1]: value noise on a lattice of @cell pixels
 * (two octaves), smoothstep-interpolated, min-max normalised. Depends only
 * on @seed and the size, so it is static over a video. */
static irc_status
random_field (float *out, int w, int h, float cell, uint64_t seed, irc_error *err)
{
  irc_rng rng;
  irc_rng_seed (&rng, seed, 0x5eedf1e1dULL);
  size_t plane = (size_t) w * h;
  memset (out, 0, plane * sizeof (float));
  float amp = 1.0f;
  for (int oct = 0; oct < 2; oct++, cell *= 0.5f, amp *= 0.5f) {
    if (cell < 2.0f)
      cell = 2.0f;
    int gw = (int) ceilf (w / cell) + 2, gh = (int) ceilf (h / cell) + 2;
    float *g = malloc (sizeof (float) * gw * gh);
    if (!g)
      return irc_fail (err, IRC_ERR_NOMEM, "out of memory for a random field");
    for (int i = 0; i < gw * gh; i++)
      g[i] = irc_rng_uniform (&rng);
    for (int y = 0; y < h; y++) {
      float fy = y / cell;
      int iy = (int) fy;
      float ty = smoothstepf (0.0f, 1.0f, fy - iy);
      for (int x = 0; x < w; x++) {
        float fx = x / cell;
        int ix = (int) fx;
        float tx = smoothstepf (0.0f, 1.0f, fx - ix);
        const float *r0 = g + (size_t) iy * gw, *r1 = r0 + gw;
        float a = r0[ix] + (r0[ix + 1] - r0[ix]) * tx;
        float b = r1[ix] + (r1[ix + 1] - r1[ix]) * tx;
        out[(size_t) y * w + x] += amp * (a + (b - a) * ty);
      }
    }
    free (g);
  }
  float lo = out[0], hi = out[0];
  for (size_t i = 1; i < plane; i++) {
    lo = out[i] < lo ? out[i] : lo;
    hi = out[i] > hi ? out[i] : hi;
  }
  float s = hi > lo ? 1.0f / (hi - lo) : 0.0f;
  for (size_t i = 0; i < plane; i++)
    out[i] = (out[i] - lo) * s;
  return IRC_OK;
}

/* ----------------------------------------------------------------- haze */

void
irc_haze_preset (irc_haze_params *p)
{
  p->beta = 0.12f;
  p->airlight[0] = p->airlight[1] = p->airlight[2] = 0.9f;
  p->depth_near = 1.5f;
  p->depth_far = 5.0f;
  p->w_vertical = 0.6f;
  p->w_field = 0.4f;
  p->w_sky = 0.7f;
  p->horizon = 0.3f;
  p->field_scale = 0.35f;
  p->field_seed = 1;
}

void
irc_haze_sample (irc_haze_params *p, irc_rng *rng)
{
  irc_haze_preset (p);
  p->beta = irc_rng_range (rng, 0.04f, 0.2f);
  float a = irc_rng_range (rng, 0.7f, 1.0f);
  /* A cast in one of three of draws: blue-ish (overcast, distance) or
   * yellow-ish (smog, low sun), a few percent per channel. */
  float cast = 0.0f;
  float u = irc_rng_uniform (rng);
  if (u < 0.33f)
    cast = irc_rng_range (rng, -0.06f, 0.06f);
  p->airlight[0] = clampf (a + cast, 0.0f, 1.0f);
  p->airlight[1] = clampf (a + 0.3f * cast, 0.0f, 1.0f);
  p->airlight[2] = clampf (a - cast, 0.0f, 1.0f);
  p->depth_near = irc_rng_range (rng, 1.0f, 2.5f);
  p->depth_far = p->depth_near + irc_rng_range (rng, 1.5f, 5.0f);
  p->w_vertical = irc_rng_range (rng, 0.2f, 1.0f);
  p->w_field = irc_rng_range (rng, 0.1f, 0.8f);
  p->w_sky = irc_rng_range (rng, 0.0f, 1.0f);
  p->horizon = irc_rng_range (rng, 0.0f, 0.6f);
  p->field_scale = irc_rng_range (rng, 0.15f, 0.6f);
  p->field_seed = irc_rng_u64 (rng);
}

void
irc_haze_sample_dense (irc_haze_params *p, irc_rng *rng)
{
  irc_haze_sample (p, rng);
  p->beta = irc_rng_range (rng, 0.35f, 0.9f);
  p->depth_near = irc_rng_range (rng, 1.5f, 3.0f);
  p->depth_far = p->depth_near + irc_rng_range (rng, 1.0f, 4.0f);
  const float a = irc_rng_range (rng, 0.75f, 0.95f);
  const float blue = irc_rng_range (rng, 0.0f, 0.08f);   /* fog scatters blue a little more */
  p->airlight[0] = clampf (a - blue, 0.0f, 1.0f);
  p->airlight[1] = clampf (a - 0.3f * blue, 0.0f, 1.0f);
  p->airlight[2] = clampf (a + 0.5f * blue, 0.0f, 1.0f);
  p->w_field = irc_rng_range (rng, 0.5f, 1.2f);
  p->field_scale = irc_rng_range (rng, 0.08f, 0.35f);
  p->w_vertical = irc_rng_range (rng, 0.0f, 0.6f);
}

irc_status
irc_depth_proxy (float *depth, const float *rgb, int width, int height,
    const irc_haze_params *p, irc_error *err)
{
  irc_status st = check_image (rgb, width, height, "depth proxy", err);
  if (st != IRC_OK)
    return st;
  size_t plane = (size_t) width * height;
  int side = width > height ? width : height;
  st = random_field (depth, width, height, fmaxf (2.0f, p->field_scale * side),
      p->field_seed, err);
  if (st != IRC_OK)
    return st;

  float wv = fmaxf (p->w_vertical, 0.0f), wf = fmaxf (p->w_field, 0.0f);
  float wsum = wv + wf > 0.0f ? wv + wf : 1.0f;
  float hz = clampf (p->horizon, 0.0f, 0.95f);
  for (int y = 0; y < height; y++) {
    /* 1 above the horizon, falling to 0 at the bottom row. */
    float v = clampf ((1.0f - (y + 0.5f) / height) / (1.0f - hz), 0.0f, 1.0f);
    float *row = depth + (size_t) y * width;
    for (int x = 0; x < width; x++)
      row[x] = (wv * v + wf * row[x]) / wsum;
  }

  if (p->w_sky > 0.0f) {
    /* Sky cue: bright and locally flat (low variance) regions are far away;
     * textured ones are near. Local statistics over a window ~1/20 of the
     * frame so the cue follows large structures, not pixels. */
    float *m = malloc (sizeof (float) * plane * 2);
    if (!m)
      return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the depth proxy");
    float *m2 = m + plane;
    for (size_t i = 0; i < plane; i++) {
      float l = luma (rgb, plane, i);
      m[i] = l;
      m2[i] = l * l;
    }
    int r = side / 40 > 1 ? side / 40 : 1;
    if ((st = box_blur (m, width, height, r, err)) != IRC_OK
        || (st = box_blur (m2, width, height, r, err)) != IRC_OK) {
      free (m);
      return st;
    }
    float ws = clampf (p->w_sky, 0.0f, 1.0f);
    for (size_t i = 0; i < plane; i++) {
      float sd = sqrtf (fmaxf (m2[i] - m[i] * m[i], 0.0f));
      float sky = smoothstepf (0.45f, 0.8f, m[i]) * (1.0f - smoothstepf (0.015f, 0.07f, sd));
      depth[i] += ws * sky * (1.0f - depth[i]);
    }
    free (m);
    /* Soften the cue's edges a little: real depth maps have halos, but not
     * blocky ones. */
    if ((st = box_blur (depth, width, height, r / 2, err)) != IRC_OK)
      return st;
  }
  return IRC_OK;
}

irc_status
irc_degrade_haze (float *rgb, int width, int height, const irc_haze_params *p,
    irc_error *err)
{
  irc_status st = check_image (rgb, width, height, "haze", err);
  if (st != IRC_OK)
    return st;
  if (!(p->beta >= 0.0f) || p->beta > 5.0f || !(p->depth_far >= p->depth_near)
      || p->depth_near < 0.0f)
    return irc_fail (err, IRC_ERR_INVALID,
        "haze: beta %g or depth range [%g, %g] out of range", p->beta, p->depth_near,
        p->depth_far);
  size_t plane = (size_t) width * height;
  float *d = malloc (sizeof (float) * plane);
  if (!d)
    return irc_fail (err, IRC_ERR_NOMEM, "haze: out of memory");
  st = irc_depth_proxy (d, rgb, width, height, p, err);
  if (st == IRC_OK) {
    for (size_t i = 0; i < plane; i++) {
      float depth = p->depth_near + (p->depth_far - p->depth_near) * d[i];
      float t = expf (-p->beta * depth);
      for (int c = 0; c < 3; c++) {
        float *v = rgb + c * plane + i;
        *v = clampf (*v * t + p->airlight[c] * (1.0f - t), 0.0f, 1.0f);
      }
    }
  }
  free (d);
  return st;
}

/* ----------------------------------------------------------------- rain */

void
irc_rain_preset_light (irc_rain_params *p)
{
  /* Tuned by eye and by the streak-map statistics (added intensity above
   * 0.01/0.1/0.3 on ~25%/8%/1% of pixels) of the Rain100L pairs. */
  p->style = IRC_RAIN_LEVELS;
  p->layers = 1;
  p->density = 0.55f;
  p->length_min = 20.0f;
  p->length_max = 50.0f;
  p->width_min = 1.3f;
  p->width_max = 2.0f;
  p->angle = 0.0f;
  p->angle_jitter = 1.5f;
  p->layer_spread = 0.0f;
  p->brightness = 0.5f;
  p->brightness_min = 0.2f;
  p->threshold = 0.4f;
  p->levels_range = 4.0f;
  p->levels_gamma = 1.5f;
  p->softness = 0.65f;
  p->depth_var = 0.0f;
  p->sky_follow = 0.0f;
  p->tint = 0.0f;
  p->veil = 0.0f;
  p->brighten = 0.0f;
  p->field_seed = 1;
}

void
irc_rain_preset_heavy (irc_rain_params *p)
{
  /* Rain100H-like: several dense layers of long, wide streaks at different
   * directions over a veil of accumulated rain. */
  p->style = IRC_RAIN_LEVELS;
  p->layers = 4;
  p->density = 0.6f;
  p->length_min = 25.0f;
  p->length_max = 70.0f;
  p->width_min = 1.5f;
  p->width_max = 3.0f;
  p->angle = 8.0f;
  p->angle_jitter = 2.0f;
  p->layer_spread = 10.0f;
  p->brightness = 0.8f;
  p->brightness_min = 0.2f;
  p->threshold = 0.3f;
  p->levels_range = 3.0f;
  p->levels_gamma = 1.3f;
  p->softness = 0.7f;
  p->depth_var = 0.7f;
  p->sky_follow = 0.3f;
  p->tint = 0.1f;
  p->veil = 0.3f;
  p->brighten = 0.04f;
  p->field_seed = 1;
}

void
irc_rain_sample (irc_rain_params *p, float heaviness, irc_rng *rng)
{
  int heavy = irc_rng_uniform (rng) < heaviness;
  int drops = irc_rng_uniform (rng) < 0.25f;
  if (!heavy) {
    /* Light rain, Rain100L-like and wider: input PSNR ~19-35 dB. */
    irc_rain_preset_light (p);
    p->layers = irc_rng_uniform (rng) < 0.2f ? 2 : 1;
    p->layer_spread = irc_rng_range (rng, 0.0f, 6.0f);
    if (drops) {
      p->density = rng_log_range (rng, 0.02f, 0.15f) / p->layers;
      p->length_min = irc_rng_range (rng, 4.0f, 15.0f);
      p->length_max = fminf (p->length_min * irc_rng_range (rng, 2.0f, 6.0f), 80.0f);
    } else {
      p->density = irc_rng_range (rng, 0.2f, 0.8f) / p->layers;
      p->length_min = irc_rng_range (rng, 8.0f, 40.0f);
      p->length_max = p->length_min * irc_rng_range (rng, 1.2f, 2.0f);
    }
    p->width_min = irc_rng_range (rng, 0.9f, 2.0f);
    p->width_max = p->width_min + irc_rng_range (rng, 0.2f, 1.0f);
    p->angle = clampf (12.0f * irc_rng_normal (rng), -30.0f, 30.0f);
    p->angle_jitter = irc_rng_range (rng, 0.5f, 3.0f);
    p->brightness = irc_rng_range (rng, 0.25f, 0.75f);
    p->brightness_min = irc_rng_range (rng, 0.1f, 0.5f);
    p->threshold = irc_rng_range (rng, 0.3f, 1.8f);
    p->levels_range = irc_rng_range (rng, 2.0f, 6.0f);
    p->levels_gamma = irc_rng_range (rng, 1.0f, 2.0f);
    p->softness = irc_rng_range (rng, 0.4f, 0.9f);
    p->depth_var = irc_rng_range (rng, 0.0f, 0.5f);
    p->sky_follow = irc_rng_range (rng, 0.0f, 0.6f);
    p->tint = irc_rng_range (rng, 0.0f, 0.3f);
    /* Rain100L's pairs differ by the streaks alone (the rainy image is
     * never darker, and away from streaks it equals the clean one), so
     * light rain rarely carries a veil or a global lift. A model trained
     * with them too often learns to strip contrast from every image and
     * loses several dB on real low-contrast scenes (measured). */
    p->veil = irc_rng_uniform (rng) < 0.1f ? irc_rng_range (rng, 0.0f, 0.05f) : 0.0f;
    p->brighten = irc_rng_uniform (rng) < 0.3f ? irc_rng_range (rng, 0.0f, 0.02f) : 0.0f;
  } else {
    /* Heavy rain, Rain100H/Rain1400-like: several layers, veil. */
    irc_rain_preset_heavy (p);
    p->layers = 2 + (int) irc_rng_below (rng, 4);
    p->layer_spread = irc_rng_range (rng, 3.0f, 15.0f);
    if (drops) {
      p->density = rng_log_range (rng, 0.03f, 0.12f) / sqrtf ((float) p->layers);
      p->length_min = irc_rng_range (rng, 8.0f, 25.0f);
      p->length_max = fminf (p->length_min * irc_rng_range (rng, 2.0f, 5.0f), 100.0f);
    } else {
      p->density = irc_rng_range (rng, 0.25f, 0.6f) / sqrtf ((float) p->layers);
      p->length_min = irc_rng_range (rng, 20.0f, 50.0f);
      p->length_max = fminf (p->length_min * irc_rng_range (rng, 1.2f, 2.5f), 120.0f);
    }
    p->width_min = irc_rng_range (rng, 1.2f, 2.5f);
    p->width_max = p->width_min + irc_rng_range (rng, 0.3f, 1.5f);
    p->angle = clampf (15.0f * irc_rng_normal (rng), -35.0f, 35.0f);
    p->angle_jitter = irc_rng_range (rng, 1.0f, 4.0f);
    p->brightness = irc_rng_range (rng, 0.45f, 0.95f);
    p->brightness_min = irc_rng_range (rng, 0.1f, 0.4f);
    p->threshold = irc_rng_range (rng, 0.2f, 1.2f);
    p->levels_range = irc_rng_range (rng, 2.0f, 5.0f);
    p->levels_gamma = irc_rng_range (rng, 1.0f, 1.8f);
    p->softness = irc_rng_range (rng, 0.5f, 1.2f);
    p->depth_var = irc_rng_range (rng, 0.3f, 1.0f);
    p->sky_follow = irc_rng_range (rng, 0.0f, 0.8f);
    p->tint = irc_rng_range (rng, 0.0f, 0.3f);
    p->veil = irc_rng_range (rng, 0.05f, 0.35f);
    p->brighten = irc_rng_range (rng, 0.0f, 0.08f);
    if (irc_rng_uniform (rng) < 0.5f) {
      /* Streaks without accumulation (Rain100H's look): the model has to
       * see heavy streaks over full contrast too, or it treats every
       * low-contrast scene as veiled (measured: with accumulation in most
       * heavy draws, a derain model took a clean, naturally flat savannah
       * photo of Rain100L to 25 dB against itself). */
      p->veil = 0.0f;
      p->brighten = 0.0f;
    }
    if (irc_rng_uniform (rng) < 0.3f) {
      /* Heavy rain as cameras see it (NTURain-like): fine, faint, dense
       * streaks, mostly visible against dark areas, in thick accumulation. */
      p->width_min = irc_rng_range (rng, 0.8f, 1.3f);
      p->width_max = p->width_min + irc_rng_range (rng, 0.1f, 0.6f);
      p->brightness = irc_rng_range (rng, 0.12f, 0.4f);
      p->threshold = irc_rng_range (rng, 0.0f, 0.8f);
      p->veil = irc_rng_range (rng, 0.15f, 0.45f);
      p->softness = irc_rng_range (rng, 0.4f, 0.9f);
    }
  }
  p->style = drops ? IRC_RAIN_DROPS : IRC_RAIN_LEVELS;
  if (!drops && p->layers > 1 && irc_rng_uniform (rng) < 0.3f)
    p->style = IRC_RAIN_MIXED;
  p->field_seed = irc_rng_u64 (rng);
}

static irc_status
check_rain (const irc_rain_params *p, irc_error *err)
{
  if (p->layers < 1 || p->layers > 8)
    return irc_fail (err, IRC_ERR_INVALID, "rain: %d layers (want 1..8)", p->layers);
  if (!(p->density >= 0.0f && p->density <= 2.0f))
    return irc_fail (err, IRC_ERR_INVALID, "rain: density %g out of range", p->density);
  if (!(p->length_min >= 1.0f && p->length_max >= p->length_min && p->length_max <= 1000.0f))
    return irc_fail (err, IRC_ERR_INVALID, "rain: length range [%g, %g] invalid",
        p->length_min, p->length_max);
  if (!(p->width_min > 0.0f && p->width_max >= p->width_min && p->width_max <= 50.0f))
    return irc_fail (err, IRC_ERR_INVALID, "rain: width range [%g, %g] invalid",
        p->width_min, p->width_max);
  if (!(p->softness >= 0.0f && p->softness <= 20.0f) || !(fabsf (p->angle) <= 90.0f))
    return irc_fail (err, IRC_ERR_INVALID, "rain: softness %g or angle %g invalid",
        p->softness, p->angle);
  return IRC_OK;
}

/* One streak: a segment centred at (cx, cy) along the unit vector (dx, dy).
 * Across it, a box of @width convolved with a Gaussian of std @sigma
 * (anti-aliased soft edges: a 1 px streak peaks at ~0.7, as a
 * motion-blurred dot does). Along it, ends fade over @taper of the half
 * length, and a smooth random variation of depth @mod through @nk knots
 * gives the uneven brightness of a motion-blurred noise grain. */
typedef struct {
  float cx, cy, dx, dy;
  float len, width, sigma, b;
  float taper;        /* 0 < taper <= 1 */
  float mod;          /* 0..1 */
  int nk;             /* 0 or 2..MAX_KNOTS */
  float knot[8];
} streak;

#define MAX_KNOTS 8
#define XLUT 32

/* Cost is the streak's own area: rows (or columns, when nearer horizontal)
 * times its width, never its bounding box. */
static void
draw_streak (float *map, int w, int h, const streak *sk)
{
  float reach = sk->width * 0.5f + 3.0f * sk->sigma + 0.5f;
  float lut[XLUT + 2];
  float k = 1.0f / (sqrtf (2.0f) * sk->sigma);
  for (int i = 0; i <= XLUT + 1; i++) {
    float s = reach * i / XLUT;
    lut[i] = 0.5f * (erff ((s + 0.5f * sk->width) * k) - erff ((s - 0.5f * sk->width) * k));
  }
  float lut_scale = XLUT / reach;
  float half = 0.5f * sk->len, inv_half = 1.0f / half, inv_taper = 1.0f / sk->taper;
  float kscale = 0.5f * (sk->nk - 1);

  /* Walk the major axis; transposing makes both cases one loop. */
  int vertical = fabsf (sk->dy) >= fabsf (sk->dx);
  float a0 = vertical ? sk->cy : sk->cx, b0 = vertical ? sk->cx : sk->cy;
  float da = vertical ? sk->dy : sk->dx, db = vertical ? sk->dx : sk->dy;
  int na = vertical ? h : w, nb = vertical ? w : h;
  float ext_a = half * fabsf (da) + reach;
  float a_lo_f = floorf (a0 - ext_a), a_hi_f = ceilf (a0 + ext_a);
  if (a_hi_f < 0.0f || a_lo_f > na - 1)
    return;
  int a_lo = a_lo_f < 0.0f ? 0 : (int) a_lo_f;
  int a_hi = a_hi_f > na - 1 ? na - 1 : (int) a_hi_f;
  float slope = db / da, half_b = reach / fabsf (da);
  for (int a = a_lo; a <= a_hi; a++) {
    float bc = b0 + (a - a0) * slope;
    float b_lo_f = floorf (bc - half_b), b_hi_f = ceilf (bc + half_b);
    if (b_hi_f < 0.0f || b_lo_f > nb - 1)
      continue;
    int b_lo = b_lo_f < 0.0f ? 0 : (int) b_lo_f;
    int b_hi = b_hi_f > nb - 1 ? nb - 1 : (int) b_hi_f;
    for (int bb = b_lo; bb <= b_hi; bb++) {
      float ra = a - a0, rb = bb - b0;
      float t = ra * da + rb * db;          /* along the streak */
      float s = fabsf (ra * db - rb * da);  /* across it */
      if (s >= reach || fabsf (t) >= half)
        continue;
      float fs = s * lut_scale;
      int is = (int) fs;
      float cross = lut[is] + (lut[is + 1] - lut[is]) * (fs - is);
      float u = t * inv_half;
      float e = clampf ((1.0f - fabsf (u)) * inv_taper, 0.0f, 1.0f);
      e = e * e * (3.0f - 2.0f * e);
      float g = 1.0f;
      if (sk->nk >= 2) {
        float fk = (u + 1.0f) * kscale;
        int ik = (int) fk;
        if (ik > sk->nk - 2)
          ik = sk->nk - 2;
        float tk = smoothstepf (0.0f, 1.0f, fk - ik);
        g = 1.0f - sk->mod + sk->mod * (sk->knot[ik] + (sk->knot[ik + 1] - sk->knot[ik]) * tk);
      }
      size_t idx = vertical ? (size_t) a * w + bb : (size_t) bb * w + a;
      map[idx] += sk->b * cross * e * g;
    }
  }
}

/* Layer depth z: 0 nearest .. 1 farthest. Near rain is sparser, longer,
 * wider, brighter and out of focus; far rain is dense, fine and dim. */
typedef struct {
  float lmin, lmax, wmin, wmax, soft, bright, density, angle;
} layer_geom;

static void
layer_setup (layer_geom *g, const irc_rain_params *p, int l, irc_rng *rng)
{
  float z = p->layers > 1 ? (float) l / (p->layers - 1) : 0.5f;
  float dv = clampf (p->depth_var, 0.0f, 1.0f), c = 0.5f - z;
  float len_s = 1.0f + 0.8f * dv * c;
  float wid_s = 1.0f + 0.9f * dv * c;
  g->bright = p->brightness * (1.0f + 0.5f * dv * c);
  g->density = p->density * (1.0f - 0.8f * dv * c);
  g->soft = fmaxf (p->softness, 0.3f) + 1.6f * dv * fmaxf (c, 0.0f);
  g->lmin = fmaxf (p->length_min * len_s, 2.0f);
  g->lmax = fmaxf (p->length_max * len_s, g->lmin);
  g->wmin = p->width_min * wid_s;
  g->wmax = p->width_max * wid_s;
  g->angle = p->angle + (p->layers > 1 ? p->layer_spread * irc_rng_normal (rng) : 0.0f);
}

/* Number of streaks for a coverage @density over the frame grown by
 * @margin: area / mean streak area (log-uniform lengths), randomly rounded. */
static long
streak_count (float density, int w, int h, float margin, float lmin, float lmax,
    float wmin, float wmax, irc_rng *rng)
{
  float area = (w + 2 * margin) * (h + 2 * margin);
  float mean_len = lmax > lmin * 1.001f ? (lmax - lmin) / logf (lmax / lmin) : lmin;
  double expect = (double) density * area / (mean_len * 0.5f * (wmin + wmax));
  if (expect > 4e6)
    expect = 4e6;
  long n = (long) expect;
  if (irc_rng_uniform (rng) < expect - n)
    n++;
  return n;
}

/* Photo-editor rain, as the Rain100L/H and Rain1400 streaks were made: grains
 * of noise motion-blurred into lines of one length (blur is linear, so
 * drawing every grain's line equals blurring the grain image, at the cost of
 * the lines only), then levels: the black point cuts the sum above its mean,
 * so only where bright grains or several aligned ones overlap does a streak
 * survive, with the uneven brightness and ragged lengths of the real sets. */
static void
layer_levels (float *map, float *tmp, int w, int h, const irc_rain_params *p,
    const layer_geom *g, irc_rng *rng)
{
  size_t plane = (size_t) w * h;
  memset (tmp, 0, plane * sizeof (float));
  float blur_len = rng_log_range (rng, g->lmin, g->lmax);
  float width = irc_rng_range (rng, g->wmin, g->wmax);
  float margin = 0.5f * blur_len * 1.3f;
  long n = streak_count (g->density, w, h, margin, blur_len, blur_len, width, width, rng);
  for (long i = 0; i < n; i++) {
    streak sk;
    sk.cx = irc_rng_range (rng, -margin, w + margin);
    sk.cy = irc_rng_range (rng, -margin, h + margin);
    float a = (g->angle + p->angle_jitter * 0.3f * irc_rng_normal (rng)) * DEG2RAD;
    sk.dx = sinf (a);
    sk.dy = cosf (a);
    sk.len = blur_len * irc_rng_range (rng, 0.8f, 1.25f);
    sk.width = width * irc_rng_range (rng, 0.85f, 1.15f);
    sk.sigma = g->soft;
    sk.b = irc_rng_uniform (rng);
    /* The grain's blur softens the line's ends over about its own size. */
    sk.taper = fminf (1.0f, (sk.width + 2.0f * sk.sigma) / (0.5f * sk.len));
    sk.mod = 0.0f;
    sk.nk = 0;
    draw_streak (tmp, w, h, &sk);
  }
  double s = 0.0, s2 = 0.0;
  for (size_t i = 0; i < plane; i++) {
    s += tmp[i];
    s2 += (double) tmp[i] * tmp[i];
  }
  float mean = (float) (s / plane);
  float sd = (float) sqrt (fmax (s2 / plane - (s / plane) * (s / plane), 1e-12));
  float lo = mean + p->threshold * sd;
  float range = fmaxf (p->levels_range, 0.1f) * sd;
  float inv_range = 1.0f / range;
  float gamma = clampf (p->levels_gamma, 0.2f, 5.0f);
  for (size_t i = 0; i < plane; i++) {
    float v = (tmp[i] - lo) * inv_range;
    if (v > 0.0f)
      map[i] += g->bright * (v < 1.0f ? (gamma == 1.0f ? v : powf (v, gamma)) : 1.0f);
  }
}

/* Individual drops: each streak its own length, width, direction and
 * brightness, with a random brightness profile along it. */
static void
layer_drops (float *map, int w, int h, const irc_rain_params *p, const layer_geom *g,
    irc_rng *rng)
{
  float margin = 0.5f * g->lmax;
  long n = streak_count (g->density, w, h, margin, g->lmin, g->lmax, g->wmin, g->wmax, rng);
  float bmin = clampf (p->brightness_min, 0.0f, 1.0f);
  for (long i = 0; i < n; i++) {
    streak sk;
    sk.cx = irc_rng_range (rng, -margin, w + margin);
    sk.cy = irc_rng_range (rng, -margin, h + margin);
    sk.len = rng_log_range (rng, g->lmin, g->lmax);
    /* Longer streaks are a little wider: they are nearer or faster. */
    float ul = g->lmax > g->lmin ? logf (sk.len / g->lmin) / logf (g->lmax / g->lmin) : 0.5f;
    float wu = clampf (0.6f * irc_rng_uniform (rng) + 0.4f * ul, 0.0f, 1.0f);
    sk.width = g->wmin + (g->wmax - g->wmin) * wu;
    float a = (g->angle + p->angle_jitter * irc_rng_normal (rng)) * DEG2RAD;
    sk.dx = sinf (a);
    sk.dy = cosf (a);
    /* Many faint streaks, few bright ones. */
    float ub = irc_rng_uniform (rng);
    sk.b = g->bright * (bmin + (1.0f - bmin) * ub * ub);
    sk.sigma = g->soft * irc_rng_range (rng, 0.8f, 1.25f);
    sk.taper = irc_rng_range (rng, 0.1f, 0.6f);
    sk.mod = irc_rng_range (rng, 0.2f, 0.8f);
    sk.nk = 2 + (int) fminf (sk.len / 10.0f, MAX_KNOTS - 2);
    for (int j = 0; j < sk.nk; j++)
      sk.knot[j] = irc_rng_uniform (rng);
    draw_streak (map, w, h, &sk);
  }
}

irc_status
irc_rain_streaks (float *map, int width, int height, const irc_rain_params *p,
    irc_rng *rng, irc_error *err)
{
  irc_status st = check_image (map, width, height, "rain", err);
  if (st != IRC_OK || (st = check_rain (p, err)) != IRC_OK)
    return st;
  float *tmp = NULL;
  if (p->style != IRC_RAIN_DROPS) {
    tmp = malloc ((size_t) width * height * sizeof (float));
    if (!tmp)
      return irc_fail (err, IRC_ERR_NOMEM, "rain: out of memory");
  }
  for (int l = 0; l < p->layers; l++) {
    layer_geom g;
    layer_setup (&g, p, l, rng);
    int drops = p->style == IRC_RAIN_DROPS;
    if (p->style == IRC_RAIN_MIXED && l == 0 && p->layers > 1) {
      /* Near drops in front of the streaks: a few short bright blobs, as
       * real footage shows them. LEVELS densities count overlapping
       * grains, individual drops far fewer. */
      drops = 1;
      g.density *= 0.1f;
      g.lmin = fmaxf (0.3f * g.lmin, 3.0f);
      g.lmax = fmaxf (0.5f * g.lmax, g.lmin);
    }
    if (drops)
      layer_drops (map, width, height, p, &g, rng);
    else
      layer_levels (map, tmp, width, height, p, &g, rng);
  }
  free (tmp);
  return IRC_OK;
}

/* Per-pixel light on the streaks from the low-frequency scene brightness:
 * block means on a coarse grid, bilinearly interpolated. */
static void
scene_light (float *out, const float *rgb, int w, int h)
{
  enum { G = 6 };
  float grid[G][G] = { { 0 } };
  int cnt[G][G] = { { 0 } };
  size_t plane = (size_t) w * h;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int gy = y * G / h, gx = x * G / w;
      grid[gy][gx] += luma (rgb, plane, (size_t) y * w + x);
      cnt[gy][gx]++;
    }
  for (int i = 0; i < G; i++)
    for (int j = 0; j < G; j++)
      grid[i][j] = cnt[i][j] ? grid[i][j] / cnt[i][j] : 0.5f;
  for (int y = 0; y < h; y++) {
    float fy = clampf ((y + 0.5f) * G / h - 0.5f, 0.0f, G - 1.0f);
    int iy = (int) fy < G - 1 ? (int) fy : G - 2;
    float ty = fy - iy;
    for (int x = 0; x < w; x++) {
      float fx = clampf ((x + 0.5f) * G / w - 0.5f, 0.0f, G - 1.0f);
      int ix = (int) fx < G - 1 ? (int) fx : G - 2;
      float tx = fx - ix;
      float a = grid[iy][ix] + (grid[iy][ix + 1] - grid[iy][ix]) * tx;
      float b = grid[iy + 1][ix] + (grid[iy + 1][ix + 1] - grid[iy + 1][ix]) * tx;
      out[(size_t) y * w + x] = a + (b - a) * ty;
    }
  }
}

irc_status
irc_degrade_rain (float *rgb, int width, int height, const irc_rain_params *p,
    irc_rng *rng, irc_error *err)
{
  irc_status st = check_image (rgb, width, height, "rain", err);
  if (st != IRC_OK || (st = check_rain (p, err)) != IRC_OK)
    return st;
  size_t plane = (size_t) width * height;
  float *map = calloc (plane * 2, sizeof (float));
  if (!map)
    return irc_fail (err, IRC_ERR_NOMEM, "rain: out of memory");
  float *aux = map + plane;

  double mean[3] = { 0, 0, 0 };
  for (int c = 0; c < 3; c++) {
    for (size_t i = 0; i < plane; i++)
      mean[c] += rgb[c * plane + i];
    mean[c] /= plane;
  }
  float mean_l = (float) (0.299 * mean[0] + 0.587 * mean[1] + 0.114 * mean[2]);

  /* Rain accumulation first: the veil is the far rain behind the streaks,
   * scattering grey-white light, denser higher up and in random patches. */
  float veil = clampf (p->veil, 0.0f, 0.95f);
  if (veil > 0.0f) {
    irc_haze_params hp;
    irc_haze_preset (&hp);
    hp.w_vertical = 0.5f;
    hp.w_field = 0.5f;
    hp.w_sky = 0.3f;
    hp.field_scale = 0.4f;
    hp.field_seed = p->field_seed;
    if ((st = irc_depth_proxy (aux, rgb, width, height, &hp, err)) != IRC_OK) {
      free (map);
      return st;
    }
    float va = clampf (0.75f + 0.3f * mean_l, 0.0f, 0.98f);
    for (size_t i = 0; i < plane; i++) {
      float k = veil * (0.55f + 0.45f * aux[i]);
      for (int c = 0; c < 3; c++) {
        float *v = rgb + c * plane + i;
        *v = *v * (1.0f - k) + va * k;
      }
    }
  }

  if ((st = irc_rain_streaks (map, width, height, p, rng, err)) != IRC_OK) {
    free (map);
    return st;
  }

  float sf = clampf (p->sky_follow, 0.0f, 1.0f);
  if (sf > 0.0f)
    scene_light (aux, rgb, width, height);
  float mx = (float) fmax (mean[0], fmax (mean[1], mean[2]));
  float tint = clampf (p->tint, 0.0f, 1.0f);
  for (int c = 0; c < 3; c++) {
    float col = (1.0f - tint) + tint * (mx > 0.0f ? (float) mean[c] / mx : 1.0f);
    float *pl = rgb + c * plane;
    for (size_t i = 0; i < plane; i++) {
      /* Light on the drops ~ light in the scene: dim scenes get dimmer
       * streaks, bright skies brighter ones. */
      float light = sf > 0.0f ? (1.0f - sf) + sf * clampf (0.3f + 1.4f * aux[i], 0.3f, 1.4f)
          : 1.0f;
      pl[i] = clampf (pl[i] + map[i] * col * light + p->brighten, 0.0f, 1.0f);
    }
  }
  free (map);
  return IRC_OK;
}

/* ---------------------------------------------------------------- noise */

void
irc_noise_preset (irc_noise_params *p, float sigma)
{
  p->sigma = sigma;
  p->sigma_max = sigma;
  p->shot = 0.0f;
  p->clip = 1;
  p->quantize = 0;
}

void
irc_noise_sample (irc_noise_params *p, irc_rng *rng)
{
  irc_noise_preset (p, irc_rng_range (rng, 0.0f, 50.0f));
  if (irc_rng_uniform (rng) < 0.3f)
    p->shot = rng_log_range (rng, 1e-4f, 0.02f);
  p->quantize = 1;
}

irc_status
irc_degrade_noise (float *rgb, int width, int height, const irc_noise_params *p,
    irc_rng *rng, irc_error *err)
{
  irc_status st = check_image (rgb, width, height, "noise", err);
  if (st != IRC_OK)
    return st;
  if (!(p->sigma >= 0.0f && p->sigma <= 255.0f) || !(p->shot >= 0.0f && p->shot <= 1.0f))
    return irc_fail (err, IRC_ERR_INVALID, "noise: sigma %g or shot %g out of range",
        p->sigma, p->shot);
  float sigma = p->sigma;
  if (p->sigma_max > p->sigma)
    sigma = irc_rng_range (rng, p->sigma, p->sigma_max);
  float var0 = (sigma / 255.0f) * (sigma / 255.0f);
  size_t n = (size_t) 3 * width * height;
  int clip = p->clip || p->quantize;
  for (size_t i = 0; i < n; i++) {
    float x = rgb[i];
    float sd = p->shot > 0.0f ? sqrtf (var0 + p->shot * fmaxf (x, 0.0f)) : sigma / 255.0f;
    x += sd * irc_rng_normal (rng);
    if (clip)
      x = clampf (x, 0.0f, 1.0f);
    if (p->quantize)
      x = floorf (x * 255.0f + 0.5f) / 255.0f;
    rgb[i] = x;
  }
  return IRC_OK;
}

/* ----------------------------------------------------------------- blur */

void
irc_kernel_clear (irc_kernel *k)
{
  if (!k)
    return;
  free (k->k);
  k->k = NULL;
  k->width = k->height = 0;
}

void
irc_kernel_array_free (irc_kernel *ks, size_t n)
{
  if (!ks)
    return;
  for (size_t i = 0; i < n; i++)
    irc_kernel_clear (&ks[i]);
  free (ks);
}

irc_status
irc_kernel_copy (irc_kernel *dst, const irc_kernel *src, irc_error *err)
{
  size_t n = (size_t) src->width * src->height;
  dst->k = malloc (n * sizeof (float));
  if (!dst->k) {
    dst->width = dst->height = 0;
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for a kernel copy");
  }
  memcpy (dst->k, src->k, n * sizeof (float));
  dst->width = src->width;
  dst->height = src->height;
  return IRC_OK;
}

/* Normalises @k to sum 1; fails on negative, non-finite or zero-sum data. */
static irc_status
kernel_normalise (irc_kernel *k, const char *name, irc_error *err)
{
  double sum = 0.0;
  size_t n = (size_t) k->width * k->height;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite (k->k[i]) || k->k[i] < 0.0f)
      return irc_fail (err, IRC_ERR_FORMAT, "%s: kernel has a negative or non-finite value",
          name);
    sum += k->k[i];
  }
  if (!(sum > 0.0))
    return irc_fail (err, IRC_ERR_FORMAT, "%s: kernel sums to zero", name);
  for (size_t i = 0; i < n; i++)
    k->k[i] = (float) (k->k[i] / sum);
  return IRC_OK;
}

irc_status
irc_kernel_load (const char *path, irc_kernel *out, irc_error *err)
{
  out->width = out->height = 0;
  out->k = NULL;
  FILE *fp = fopen (path, "r");
  if (!fp)
    return irc_fail (err, IRC_ERR_IO, "%s: cannot open kernel: %s", path, strerror (errno));
  size_t cap = 1024, n = 0;
  float *v = malloc (cap * sizeof (float));
  char *line = NULL;
  size_t line_cap = 0;
  int cols = -1, rows = 0, lineno = 0;
  irc_status st = v ? IRC_OK : irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", path);
  while (st == IRC_OK && getline (&line, &line_cap, fp) >= 0) {
    lineno++;
    int count = 0;
    char *s = line;
    for (;;) {
      while (*s == ' ' || *s == '\t' || *s == ',' || *s == '\r' || *s == '\n')
        s++;
      if (!*s)
        break;
      char *end;
      errno = 0;
      double d = strtod (s, &end);
      if (end == s) {
        st = irc_fail (err, IRC_ERR_FORMAT, "%s:%d: not a number: '%.20s'", path, lineno, s);
        break;
      }
      if (n == cap) {
        float *nv = realloc (v, cap * 2 * sizeof (float));
        if (!nv) {
          st = irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", path);
          break;
        }
        v = nv;
        cap *= 2;
      }
      v[n++] = (float) d;
      count++;
      s = end;
    }
    if (st != IRC_OK || count == 0)
      continue;   /* blank lines are allowed */
    if (cols < 0)
      cols = count;
    else if (count != cols)
      st = irc_fail (err, IRC_ERR_FORMAT, "%s:%d: %d values, previous rows had %d", path,
          lineno, count, cols);
    rows++;
    if (rows > 512 || cols > 512)
      st = irc_fail (err, IRC_ERR_FORMAT, "%s: kernel larger than 512x512", path);
  }
  free (line);
  if (st == IRC_OK && ferror (fp))
    st = irc_fail (err, IRC_ERR_IO, "%s: read error", path);
  fclose (fp);
  if (st == IRC_OK && rows == 0)
    st = irc_fail (err, IRC_ERR_FORMAT, "%s: no kernel values", path);
  if (st != IRC_OK) {
    free (v);
    return st;
  }
  out->k = v;
  out->width = cols;
  out->height = rows;
  if ((st = kernel_normalise (out, path, err)) != IRC_OK)
    irc_kernel_clear (out);
  return st;
}

static int
cmp_name (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

irc_status
irc_kernel_load_dir (const char *dir, irc_kernel **out, size_t *n, irc_error *err)
{
  *out = NULL;
  *n = 0;
  DIR *d = opendir (dir);
  if (!d)
    return irc_fail (err, IRC_ERR_IO, "%s: cannot open kernel folder: %s", dir,
        strerror (errno));
  char **names = NULL;
  size_t count = 0, cap = 0;
  irc_status st = IRC_OK;
  struct dirent *e;
  while ((e = readdir (d)) != NULL) {
    size_t l = strlen (e->d_name);
    if (e->d_name[0] == '.' || l < 5 || strcasecmp (e->d_name + l - 4, ".txt") != 0)
      continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      char **nn = realloc (names, cap * sizeof *nn);
      if (!nn) {
        st = irc_fail (err, IRC_ERR_NOMEM, "out of memory");
        break;
      }
      names = nn;
    }
    size_t need = strlen (dir) + l + 2;
    names[count] = malloc (need);
    if (!names[count]) {
      st = irc_fail (err, IRC_ERR_NOMEM, "out of memory");
      break;
    }
    snprintf (names[count], need, "%s/%s", dir, e->d_name);
    count++;
  }
  closedir (d);
  if (st == IRC_OK && count == 0)
    st = irc_fail (err, IRC_ERR_INVALID, "%s: no *.txt kernels in the folder", dir);
  irc_kernel *ks = NULL;
  if (st == IRC_OK) {
    qsort (names, count, sizeof *names, cmp_name);
    ks = calloc (count, sizeof *ks);
    if (!ks)
      st = irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; st == IRC_OK && i < count; i++)
    st = irc_kernel_load (names[i], &ks[i], err);
  for (size_t i = 0; i < count; i++)
    free (names[i]);
  free (names);
  if (st != IRC_OK) {
    irc_kernel_array_free (ks, count);
    return st;
  }
  *out = ks;
  *n = count;
  return IRC_OK;
}

/* A camera-shake path in the spirit of Boracchi & Foi's (as DeblurGAN
 * draws them): the heading has momentum (its turn rate wanders and decays,
 * so paths curve smoothly), a pull back toward the start keeps hand shake
 * compact, and now and then the hand jerks back on itself. The speed
 * wanders too; slow parts of the path collect more exposure (@wt, dwell
 * time), the bright knots of real kernels. @intensity scales turns, jerks
 * and speed changes. @n points over a length of @len pixels, every
 * SHAKE_STEPS of them the length of one exposure; expressed per unit
 * length of an exposure, so a longer path is the same hand held longer. */
enum { SHAKE_STEPS = 256 };

static void
shake_path (float *px, float *py, float *wt, int n, float len, float intensity, irc_rng *rng)
{
  const int T = SHAKE_STEPS;
  float step = len / (T - 1);
  /* Total heading change over an exposure ~ theta radians: the turn-rate
   * noise integrated twice (decay 0.97) grows as sqrt(T) / (1 - 0.97). */
  float theta = intensity * irc_rng_range (rng, 0.3f, 4.0f);
  float turn_sd = theta * (1.0f - 0.97f) / sqrtf ((float) T);
  float centripetal = 0.7f * irc_rng_uniform (rng) * intensity;
  float jerk_p = 1.5f * intensity * irc_rng_uniform (rng) / T;
  float speed_sd = 0.3f * intensity;
  float heading = 2.0f * (float) M_PI * irc_rng_uniform (rng);
  float omega = 0.0f, logspeed = 0.0f;
  px[0] = py[0] = 0.0f;
  for (int t = 0; t < n; t++) {
    float speed = expf (logspeed);
    wt[t] = 1.0f / speed;   /* dwell time */
    if (t == n - 1)
      break;
    omega = 0.97f * omega + turn_sd * irc_rng_normal (rng);
    heading += omega;
    if (irc_rng_uniform (rng) < jerk_p)
      heading += (float) M_PI + irc_rng_range (rng, -0.5f, 0.5f);
    logspeed = 0.95f * logspeed + speed_sd * 0.3f * irc_rng_normal (rng);
    float vx = cosf (heading), vy = sinf (heading);
    /* Pull toward the start, relative to the path's scale. */
    vx -= centripetal * px[t] / len;
    vy -= centripetal * py[t] / len;
    float nv = sqrtf (vx * vx + vy * vy);
    if (nv > 0.0f) {
      vx /= nv;
      vy /= nv;
    }
    px[t + 1] = px[t] + vx * step * speed;
    py[t + 1] = py[t] + vy * step * speed;
  }
}

/* The reach of path points [t0, t0 + n) from their centroid (*@cx, *@cy). */
static float
path_reach (const float *px, const float *py, int t0, int n, float *cx, float *cy)
{
  float minx = px[t0], maxx = px[t0], miny = py[t0], maxy = py[t0], sx = 0, sy = 0;
  for (int t = t0; t < t0 + n; t++) {
    minx = fminf (minx, px[t]); maxx = fmaxf (maxx, px[t]);
    miny = fminf (miny, py[t]); maxy = fmaxf (maxy, py[t]);
    sx += px[t]; sy += py[t];
  }
  *cx = sx / n;
  *cy = sy / n;
  return fmaxf (fmaxf (maxx - *cx, *cx - minx), fmaxf (maxy - *cy, *cy - miny));
}

/* Path points [t0, t0 + n) splatted into a @size kernel, centred on their
 * centroid (the blur does not shift the image) at @scale. */
static irc_status
splat_path (irc_kernel *out, int size, const float *px, const float *py, const float *wt,
    int t0, int n, float scale, irc_error *err)
{
  float sx, sy;
  path_reach (px, py, t0, n, &sx, &sy);
  out->k = calloc ((size_t) size * size, sizeof (float));
  if (!out->k)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for a kernel");
  out->width = out->height = size;
  float c = 0.5f * (size - 1);
  for (int t = t0; t < t0 + n; t++) {
    float x = c + (px[t] - sx) * scale, y = c + (py[t] - sy) * scale;
    int ix = (int) floorf (x), iy = (int) floorf (y);
    float fx = x - ix, fy = y - iy;
    /* Bilinear splat: sub-pixel positions keep thin paths smooth. */
    for (int j = 0; j < 2; j++)
      for (int i = 0; i < 2; i++) {
        int xx = ix + i, yy = iy + j;
        if (xx < 0 || yy < 0 || xx >= size || yy >= size)
          continue;
        out->k[yy * size + xx] += wt[t] * (i ? fx : 1 - fx) * (j ? fy : 1 - fy);
      }
  }
  return kernel_normalise (out, "random kernel", err);
}

irc_status
irc_kernel_random (irc_kernel *out, int size, float intensity, irc_rng *rng,
    irc_error *err)
{
  out->width = out->height = 0;
  out->k = NULL;
  if (size < 3 || size > 63 || size % 2 == 0)
    return irc_fail (err, IRC_ERR_INVALID, "random kernel size %d (want odd 3..63)", size);
  intensity = clampf (intensity, 0.0f, 1.0f);
  float px[SHAKE_STEPS], py[SHAKE_STEPS], wt[SHAKE_STEPS];
  float len = (size - 1) * irc_rng_range (rng, 0.5f, 1.3f);
  shake_path (px, py, wt, SHAKE_STEPS, len, intensity, rng);
  /* Fit the path into the canvas (one pixel of border for the splats). */
  float cx, cy;
  float half = 0.5f * (size - 1) - 1.0f;
  float reach = path_reach (px, py, 0, SHAKE_STEPS, &cx, &cy);
  return splat_path (out, size, px, py, wt, 0, SHAKE_STEPS, reach > half ? half / reach : 1.0f,
      err);
}

irc_status
irc_kernel_random_rolling (irc_kernel *top, irc_kernel *bottom, int size, float intensity,
    float readout, irc_rng *rng, irc_error *err)
{
  top->width = top->height = bottom->width = bottom->height = 0;
  top->k = bottom->k = NULL;
  if (size < 3 || size > 63 || size % 2 == 0)
    return irc_fail (err, IRC_ERR_INVALID, "random kernel size %d (want odd 3..63)", size);
  if (!(readout > 0.0f && readout <= 4.0f))
    return irc_fail (err, IRC_ERR_INVALID, "rolling shutter readout %g (want 0..4 exposures)",
        readout);
  intensity = clampf (intensity, 0.0f, 1.0f);
  const int T = SHAKE_STEPS, lag = (int) lroundf (readout * T), n = T + lag;
  float px[5 * SHAKE_STEPS], py[5 * SHAKE_STEPS], wt[5 * SHAKE_STEPS];   /* readout <= 4 */
  float len = (size - 1) * irc_rng_range (rng, 0.5f, 1.3f);
  shake_path (px, py, wt, n, len, intensity, rng);
  /* one scale for both, so that they are the same hand's motion */
  float cx, cy;
  float half = 0.5f * (size - 1) - 1.0f;
  float reach = fmaxf (path_reach (px, py, 0, T, &cx, &cy), path_reach (px, py, lag, T, &cx,
          &cy));
  const float scale = reach > half ? half / reach : 1.0f;
  irc_status st = splat_path (top, size, px, py, wt, 0, T, scale, err);
  if (st == IRC_OK)
    st = splat_path (bottom, size, px, py, wt, lag, T, scale, err);
  if (st != IRC_OK) {
    irc_kernel_clear (top);
    irc_kernel_clear (bottom);
  }
  return st;
}

irc_status
irc_kernel_warp (const irc_kernel *src, float angle_deg, float scale, irc_kernel *out,
    irc_error *err)
{
  out->width = out->height = 0;
  out->k = NULL;
  if (!src || !src->k || src->width < 1 || src->height < 1)
    return irc_fail (err, IRC_ERR_INVALID, "kernel warp: no kernel");
  if (!(scale >= 0.25f && scale <= 4.0f) || !isfinite (angle_deg))
    return irc_fail (err, IRC_ERR_INVALID, "kernel warp: angle %g, scale %g out of range",
        angle_deg, scale);
  /* the canvas holds the source's diagonal at the new scale */
  const float diag = sqrtf ((float) (src->width * src->width + src->height * src->height));
  int size = (int) ceilf (diag * scale) | 1;
  size = size < 3 ? 3 : size > 63 ? 63 : size;
  out->k = calloc ((size_t) size * size, sizeof (float));
  if (!out->k)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for a kernel");
  out->width = out->height = size;
  const float a = angle_deg * (float) M_PI / 180.0f, ca = cosf (a), sa = sinf (a);
  const float c = 0.5f * (size - 1), scx = 0.5f * (src->width - 1), scy = 0.5f * (src->height - 1);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++) {
      /* the inverse map: turn back, shrink back, sample bilinearly */
      const float dx = (x - c) / scale, dy = (y - c) / scale;
      const float u = scx + ca * dx + sa * dy, v = scy - sa * dx + ca * dy;
      const int iu = (int) floorf (u), iv = (int) floorf (v);
      const float fu = u - iu, fv = v - iv;
      float acc = 0.0f;
      for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
          const int uu = iu + i, vv = iv + j;
          if (uu < 0 || vv < 0 || uu >= src->width || vv >= src->height)
            continue;
          acc += src->k[vv * src->width + uu] * (i ? fu : 1 - fu) * (j ? fv : 1 - fv);
        }
      out->k[y * size + x] = acc;
    }
  irc_status st = kernel_normalise (out, "warped kernel", err);
  if (st != IRC_OK)
    irc_kernel_clear (out);
  return st;
}

/* The taps of @k (its non-negligible entries, weights summing to 1), as
 * offsets for out(x) = sum w in(x + offset): convolution flips the kernel.
 * @tx holds x then y offsets (2 x cells); returns the tap count. */
static size_t
kernel_taps (const irc_kernel *k, int *tx, float *tw)
{
  const size_t nk = (size_t) k->width * k->height;
  int *ty = tx + nk;
  float kmax = 0.0f;
  for (size_t i = 0; i < nk; i++)
    kmax = fmaxf (kmax, k->k[i]);
  size_t ntap = 0;
  double wsum = 0.0;
  const int cx = k->width / 2, cy = k->height / 2;
  for (int j = 0; j < k->height; j++)
    for (int i = 0; i < k->width; i++) {
      const float v = k->k[j * k->width + i];
      if (v <= kmax * 1e-5f)
        continue;
      tx[ntap] = cx - i;
      ty[ntap] = cy - j;
      tw[ntap] = v;
      wsum += v;
      ntap++;
    }
  for (size_t t = 0; t < ntap; t++)
    tw[t] = (float) (tw[t] / wsum);
  return ntap;
}

/* One output row of the padded plane @pad (@pw wide, padding @px, @py)
 * blurred by @ntap taps. */
static void
blur_row (float *out, const float *pad, int pw, int px, int py, int y, int width,
    const int *tx, const int *ty, const float *tw, size_t ntap)
{
  for (int x = 0; x < width; x++)
    out[x] = 0.0f;
  for (size_t t = 0; t < ntap; t++) {
    const float *src = pad + (size_t) (y + py + ty[t]) * pw + px + tx[t];
    const float wgt = tw[t];
    for (int x = 0; x < width; x++)
      out[x] += wgt * src[x];
  }
}

/* Mirror index into [0, n) without repeating the edge (reflect-101),
 * folding as often as needed for kernels larger than the image. */
static inline int
reflect (int i, int n)
{
  if (n == 1)
    return 0;
  int period = 2 * (n - 1);
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - i;
}

irc_status
irc_degrade_blur (float *rgb, int width, int height, const irc_blur_params *p,
    irc_rng *rng, irc_error *err)
{
  irc_status st = check_image (rgb, width, height, "blur", err);
  if (st != IRC_OK)
    return st;
  const irc_kernel *k = p->kernel, *kf = p->kernel_far;
  if (!k || !k->k || k->width <= 0 || k->height <= 0)
    return irc_fail (err, IRC_ERR_INVALID, "blur: no kernel");
  if (kf && (!kf->k || kf->width <= 0 || kf->height <= 0))
    return irc_fail (err, IRC_ERR_INVALID, "blur: the far kernel is empty");
  if (kf && !(fabsf (p->ramp_x) + fabsf (p->ramp_y) > 0.0f && isfinite (p->ramp_x)
        && isfinite (p->ramp_y)))
    return irc_fail (err, IRC_ERR_INVALID, "blur: non-uniform blur without a direction");
  if (!(p->gamma > 0.1f && p->gamma < 10.0f))
    return irc_fail (err, IRC_ERR_INVALID, "blur: gamma %g out of range", p->gamma);

  /* Sparse taps: trajectory kernels are mostly zeros. */
  const size_t nk = (size_t) k->width * k->height;
  const size_t nkf = kf ? (size_t) kf->width * kf->height : 0;
  int px = k->width, py = k->height;   /* padding on each side */
  if (kf) {
    px = px > kf->width ? px : kf->width;
    py = py > kf->height ? py : kf->height;
  }
  const int pw = width + 2 * px, ph = height + 2 * py;
  int *tx = malloc ((nk + nkf) * sizeof (int) * 2);
  float *tw = malloc ((nk + nkf) * sizeof (float));
  float *pad = malloc ((size_t) pw * ph * sizeof (float));
  float *far_row = kf ? malloc ((size_t) width * sizeof (float)) : NULL;
  if (!tx || !tw || !pad || (kf && !far_row)) {
    free (tx); free (tw); free (pad); free (far_row);
    return irc_fail (err, IRC_ERR_NOMEM, "blur: out of memory");
  }
  const size_t ntap = kernel_taps (k, tx, tw);
  int *txf = tx + 2 * nk;
  float *twf = tw + nk;
  const size_t ntapf = kf ? kernel_taps (kf, txf, twf) : 0;
  /* the blend weight of the far kernel runs 0..1 over the frame's extent
   * along the ramp */
  float rx = 0.0f, ry = 0.0f, r0 = 0.0f;
  if (kf) {
    const float n = sqrtf (p->ramp_x * p->ramp_x + p->ramp_y * p->ramp_y);
    const float ux = p->ramp_x / n, uy = p->ramp_y / n;
    const float extent = fabsf (ux) * (width - 1) + fabsf (uy) * (height - 1);
    const float inv = extent > 0.0f ? 1.0f / extent : 0.0f;
    rx = ux * inv;
    ry = uy * inv;
    r0 = (ux < 0 ? -ux * (width - 1) : 0.0f) * inv + (uy < 0 ? -uy * (height - 1) : 0.0f) * inv;
  }

  int lin = fabsf (p->gamma - 1.0f) > 1e-6f;
  float inv_gamma = 1.0f / p->gamma;
  size_t plane = (size_t) width * height;
  for (int c = 0; c < 3; c++) {
    float *pl = rgb + c * plane;
    for (int y = 0; y < ph; y++) {
      const float *src = pl + (size_t) reflect (y - py, height) * width;
      float *dst = pad + (size_t) y * pw;
      for (int x = 0; x < pw; x++) {
        float v = clampf (src[reflect (x - px, width)], 0.0f, 1.0f);
        dst[x] = lin ? powf (v, p->gamma) : v;
      }
    }
    for (int y = 0; y < height; y++) {
      float *out = pl + (size_t) y * width;
      blur_row (out, pad, pw, px, py, y, width, tx, tx + nk, tw, ntap);
      if (kf) {
        blur_row (far_row, pad, pw, px, py, y, width, txf, txf + nkf, twf, ntapf);
        for (int x = 0; x < width; x++) {
          const float w = clampf (r0 + rx * x + ry * y, 0.0f, 1.0f);
          out[x] += w * (far_row[x] - out[x]);
        }
      }
      if (lin)
        for (int x = 0; x < width; x++)
          out[x] = powf (clampf (out[x], 0.0f, 1.0f), inv_gamma);
    }
  }
  free (tx);
  free (tw);
  free (pad);
  free (far_row);

  if (p->noise_sigma > 0.0f || p->quantize) {
    irc_noise_params np;
    irc_noise_preset (&np, p->noise_sigma);
    np.quantize = p->quantize;
    return irc_degrade_noise (rgb, width, height, &np, rng, err);
  }
  return IRC_OK;
}

/* ------------------------------------------------------ tasks and plans */

static const char *const task_names[] = {
  "rain", "rain-light", "rain-heavy", "haze", "noise", "blur", "mix", "haze-dense",
  "blur-nonuniform", "blur-rolling",
};

irc_status
irc_task_from_name (const char *name, irc_task *task, irc_error *err)
{
  for (size_t i = 0; i < sizeof task_names / sizeof *task_names; i++)
    if (name && strcmp (name, task_names[i]) == 0) {
      *task = (irc_task) i;
      return IRC_OK;
    }
  return irc_fail (err, IRC_ERR_INVALID,
      "unknown task '%s' (rain, rain-light, rain-heavy, haze, haze-dense, noise, blur, "
      "blur-nonuniform, blur-rolling, mix)",
      name ? name : "(null)");
}

const char *
irc_task_name (irc_task task)
{
  if ((unsigned) task < sizeof task_names / sizeof *task_names)
    return task_names[task];
  return "unknown";
}

void
irc_plan_options_init (irc_plan_options *o)
{
  memset (o, 0, sizeof *o);
  o->kernel_prob = 0.3f;
  o->sigma_min = 0.0f;
  o->sigma_max = 50.0f;
  o->mix_two_prob = 0.2f;
  o->rain_heavy_prob = 0.5f;
}

void
irc_plan_clear (irc_plan *plan)
{
  if (!plan)
    return;
  irc_kernel_clear (&plan->kernel);
  irc_kernel_clear (&plan->kernel_far);
  memset (plan, 0, sizeof *plan);
}

static irc_status
plan_step (irc_plan *plan, int kind, float heaviness, const irc_plan_options *o,
    irc_rng *rng, irc_error *err)
{
  plan->use[kind] = 1;
  switch (kind) {
    case IRC_DEG_RAIN:
      irc_rain_sample (&plan->rain, heaviness, rng);
      return IRC_OK;
    case IRC_DEG_HAZE:
      if (o->haze_dense_prob > 0.0f && irc_rng_uniform (rng) < o->haze_dense_prob)
        irc_haze_sample_dense (&plan->haze, rng);
      else
        irc_haze_sample (&plan->haze, rng);
      return IRC_OK;
    case IRC_DEG_NOISE:
      irc_noise_sample (&plan->noise, rng);
      if (o->sigma_max >= o->sigma_min)
        plan->noise.sigma = o->sigma_min + (o->sigma_max - o->sigma_min) * irc_rng_uniform (rng);
      plan->noise.sigma_max = plan->noise.sigma;
      return IRC_OK;
    case IRC_DEG_BLUR: {
      plan->blur.kernel = NULL;
      plan->blur.gamma = irc_rng_uniform (rng) < 0.8f ? 2.2f : 1.0f;
      plan->blur.noise_sigma = irc_rng_range (rng, 0.0f, 2.0f);
      plan->blur.quantize = 1;
      irc_kernel_clear (&plan->kernel);
      irc_kernel_clear (&plan->kernel_far);
      irc_status st;
      if (o->fixed_kernel)
        st = irc_kernel_copy (&plan->kernel, o->fixed_kernel, err);
      else if (o->kernels && o->n_kernels > 0 && irc_rng_uniform (rng) < o->kernel_prob)
        st = irc_kernel_copy (&plan->kernel,
            &o->kernels[irc_rng_below (rng, (uint32_t) o->n_kernels)], err);
      else {
        int size = 7 + 2 * (int) irc_rng_below (rng, 13);   /* 7..31 */
        const float intensity = irc_rng_uniform (rng);
        if (o->blur_rolling_prob > 0.0f && irc_rng_uniform (rng) < o->blur_rolling_prob) {
          /* a rolling shutter: the shake's later stretch blurs the lower rows */
          const float readout = irc_rng_range (rng, 0.3f, 1.5f);
          st = irc_kernel_random_rolling (&plan->kernel, &plan->kernel_far, size, intensity,
              readout, rng, err);
          plan->blur.ramp_x = 0.0f;
          plan->blur.ramp_y = 1.0f;
          return st;
        }
        st = irc_kernel_random (&plan->kernel, size, intensity, rng, err);
      }
      if (st == IRC_OK && o->blur_nonuniform_prob > 0.0f
          && irc_rng_uniform (rng) < o->blur_nonuniform_prob) {
        /* the camera also turns about its axis (the shake's path turns
         * across the frame) and the scene's depth varies (its extent) */
        const float angle = irc_rng_range (rng, 10.0f, 60.0f) * (irc_rng_uniform (rng) < 0.5f
            ? -1.0f : 1.0f);
        const float scale = expf (irc_rng_range (rng, -0.7f, 0.7f));
        const float dir = 2.0f * (float) M_PI * irc_rng_uniform (rng);
        st = irc_kernel_warp (&plan->kernel, angle, scale, &plan->kernel_far, err);
        plan->blur.ramp_x = cosf (dir);
        plan->blur.ramp_y = sinf (dir);
      }
      return st;
    }
  }
  return irc_fail (err, IRC_ERR_INVALID, "unknown degradation step %d", kind);
}

/* A mix's step, other than @skip (-1: none), by @o->kind_weight. Equal
 * weights draw as uniform draws always have, so that the default keeps
 * every earlier run's sequence. */
static int
mix_pick (const irc_plan_options *o, int skip, irc_rng *rng)
{
  int uniform = 1;
  for (int k = 1; k < IRC_DEG_COUNT; k++)
    uniform &= o->kind_weight[k] == o->kind_weight[0];
  if (uniform || !(o->kind_weight[0] >= 0.0f))
    return skip < 0 ? (int) irc_rng_below (rng, IRC_DEG_COUNT)
        : (skip + 1 + (int) irc_rng_below (rng, IRC_DEG_COUNT - 1)) % IRC_DEG_COUNT;
  float total = 0.0f;
  for (int k = 0; k < IRC_DEG_COUNT; k++)
    total += k == skip ? 0.0f : fmaxf (o->kind_weight[k], 0.0f);
  if (!(total > 0.0f))   /* only @skip has weight: any other */
    return (skip + 1 + (int) irc_rng_below (rng, IRC_DEG_COUNT - 1)) % IRC_DEG_COUNT;
  float u = irc_rng_uniform (rng) * total;
  int last = 0;
  for (int k = 0; k < IRC_DEG_COUNT; k++) {
    float w = k == skip ? 0.0f : fmaxf (o->kind_weight[k], 0.0f);
    if (w <= 0.0f)
      continue;
    last = k;
    if (u < w)
      return k;
    u -= w;
  }
  return last;
}

irc_status
irc_plan_sample (irc_plan *plan, irc_task task, const irc_plan_options *o,
    irc_rng *rng, irc_error *err)
{
  irc_plan_options defaults;
  if (!o) {
    irc_plan_options_init (&defaults);
    o = &defaults;
  }
  memset (plan, 0, sizeof *plan);
  irc_status st;
  switch (task) {
    case IRC_TASK_RAIN: st = plan_step (plan, IRC_DEG_RAIN, o->rain_heavy_prob, o, rng, err); break;
    case IRC_TASK_RAIN_LIGHT: st = plan_step (plan, IRC_DEG_RAIN, 0.0f, o, rng, err); break;
    case IRC_TASK_RAIN_HEAVY: st = plan_step (plan, IRC_DEG_RAIN, 1.0f, o, rng, err); break;
    case IRC_TASK_HAZE: st = plan_step (plan, IRC_DEG_HAZE, 0.0f, o, rng, err); break;
    case IRC_TASK_HAZE_DENSE: {
      irc_plan_options dense = *o;
      dense.haze_dense_prob = 1.0f;
      st = plan_step (plan, IRC_DEG_HAZE, 0.0f, &dense, rng, err);
      break;
    }
    case IRC_TASK_NOISE: st = plan_step (plan, IRC_DEG_NOISE, 0.0f, o, rng, err); break;
    case IRC_TASK_BLUR: st = plan_step (plan, IRC_DEG_BLUR, 0.0f, o, rng, err); break;
    case IRC_TASK_BLUR_NONUNIFORM: {
      irc_plan_options varying = *o;
      varying.blur_nonuniform_prob = 1.0f;
      st = plan_step (plan, IRC_DEG_BLUR, 0.0f, &varying, rng, err);
      break;
    }
    case IRC_TASK_BLUR_ROLLING: {
      irc_plan_options rolling = *o;
      rolling.blur_rolling_prob = 1.0f;
      rolling.kernel_prob = 0.0f;   /* a camera path, not a fixed kernel */
      st = plan_step (plan, IRC_DEG_BLUR, 0.0f, &rolling, rng, err);
      break;
    }
    case IRC_TASK_MIX: {
      int first = mix_pick (o, -1, rng);
      st = plan_step (plan, first, o->rain_heavy_prob, o, rng, err);
      if (st == IRC_OK && irc_rng_uniform (rng) < o->mix_two_prob) {
        int second = mix_pick (o, first, rng);
        st = plan_step (plan, second, o->rain_heavy_prob, o, rng, err);
      }
      break;
    }
    default:
      st = irc_fail (err, IRC_ERR_INVALID, "unknown task %d", (int) task);
  }
  if (st != IRC_OK)
    irc_plan_clear (plan);
  return st;
}

irc_status
irc_plan_apply (const irc_plan *plan, float *rgb, int width, int height, irc_rng *rng,
    irc_error *err)
{
  irc_status st = IRC_OK;
  if (plan->use[IRC_DEG_HAZE] && st == IRC_OK)
    st = irc_degrade_haze (rgb, width, height, &plan->haze, err);
  if (plan->use[IRC_DEG_RAIN] && st == IRC_OK)
    st = irc_degrade_rain (rgb, width, height, &plan->rain, rng, err);
  if (plan->use[IRC_DEG_BLUR] && st == IRC_OK) {
    irc_blur_params bp = plan->blur;
    bp.kernel = &plan->kernel;
    bp.kernel_far = plan->kernel_far.k ? &plan->kernel_far : NULL;
    st = irc_degrade_blur (rgb, width, height, &bp, rng, err);
  }
  if (plan->use[IRC_DEG_NOISE] && st == IRC_OK)
    st = irc_degrade_noise (rgb, width, height, &plan->noise, rng, err);
  return st;
}

irc_status
irc_degrade (float *rgb, int width, int height, irc_task task, const irc_plan_options *o,
    irc_rng *rng, irc_error *err)
{
  irc_plan plan;
  irc_status st = irc_plan_sample (&plan, task, o, rng, err);
  if (st != IRC_OK)
    return st;
  st = irc_plan_apply (&plan, rgb, width, height, rng, err);
  irc_plan_clear (&plan);
  return st;
}
