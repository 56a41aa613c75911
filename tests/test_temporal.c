/* temporal: libirc's temporal filter (irc/temporal.h) on its own: argument
 * checks, off and reset semantics, the view's shift measured on a panning
 * view, rain removed and noise averaged on a still one, moving objects and
 * YUV frames left exact, and no allocation per frame (counted through
 * --wrap). */
#include "common.h"
#include "irc/temporal.h"

#include <math.h>
#include <string.h>

static long allocs;
void *__real_malloc (size_t n);
void *__real_calloc (size_t a, size_t b);
void *__real_realloc (void *p, size_t n);
void *__wrap_malloc (size_t n) { allocs++; return __real_malloc (n); }
void *__wrap_calloc (size_t a, size_t b) { allocs++; return __real_calloc (a, b); }
void *__wrap_realloc (void *p, size_t n) { allocs++; return __real_realloc (p, n); }

#define W 120
#define H 80
#define PLANE (W * H)

/* a smooth view with detail at several scales, at scene point (x, y) */
static float
view (float x, float y)
{
  return 0.45f + 0.2f * sinf (x * 0.21f) * cosf (y * 0.17f) + 0.1f * sinf ((x + 2 * y) * 0.07f)
      + 0.08f * cosf (x * 0.53f + y * 0.11f);
}

/* frame @i: the view panned by @pan pixels a frame, @rain streaks (thin,
 * vertical, +0.3, elsewhere every frame) marked in @mask, Gaussian-ish
 * noise of @sigma, @object: a bright 12x12 square moving 2 pixels a frame */
static void
make (float *rgb, unsigned char *mask, int i, float pan, int rain, float sigma, int object)
{
  unsigned s = 99u + 131u * (unsigned) i;
  memset (mask, 0, PLANE);
  for (int k = 0; k < rain; k++) {
    test_lcg (&s);
    const int sx = (int) ((s >> 8) % W);
    test_lcg (&s);
    const int sy = (int) ((s >> 8) % (H - 6));
    for (int j = 0; j < 6; j++)
      mask[(sy + j) * W + sx] = 1;
  }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      float v = view (x + pan * i, y);
      if (object && x >= 20 + 2 * i && x < 32 + 2 * i && y >= 30 && y < 42)
        v = 0.95f;
      for (int c = 0; c < 3; c++) {
        float n = 0;
        if (sigma > 0) {
          for (int k = 0; k < 4; k++) {
            test_lcg (&s);
            n += (float) ((s >> 8) & 0xffff) / 65535.0f - 0.5f;
          }
          n *= sigma * 1.732f;   /* the sum of 4 uniforms has variance 1/3 */
        }
        rgb[c * PLANE + y * W + x] = v + (c - 1) * 0.03f + n + (mask[y * W + x] ? 0.3f : 0.0f);
      }
    }
}

static void
test_arguments (void)
{
  irc_temporal *t = NULL;
  irc_error err = {0};
  irc_temporal_params p = IRC_TEMPORAL_DEFAULTS;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID && !t);   /* 0x0 */
  CHECK (strstr (err.message, "frame size"));
  p.width = W, p.height = H;
  p.frames = 0;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID);
  p.frames = IRC_TEMPORAL_MAX_FRAMES + 1;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID);
  p.frames = 3;
  p.mode = IRC_TEMPORAL_MODE_COUNT;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID);
  p.mode = IRC_TEMPORAL_RAIN;
  p.tolerance = 2.0f;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID);
  p.tolerance = NAN;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID);
  p.tolerance = 0.0f;
  p.format = IRC_FORMAT_COUNT;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_ERR_INVALID);
  p.format = IRC_FORMAT_RGB;
  CHECK (irc_temporal_new (&p, NULL, &err) == IRC_ERR_INVALID);
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_OK && t);
  CHECK (irc_temporal_process_rgb (t, NULL, NULL, &err) == IRC_ERR_INVALID);
  CHECK (irc_temporal_process (t, NULL, NULL, &err) == IRC_ERR_INVALID);
  irc_frame bad = {{NULL, NULL, NULL}, {0, 0, 0}};
  CHECK (irc_temporal_process (t, &bad, NULL, &err) == IRC_ERR_INVALID);
  irc_temporal_free (&t);
  CHECK (!t);
  irc_temporal_free (&t);
  irc_temporal_free (NULL);
  irc_temporal_reset (NULL);
  CHECK (!strcmp (irc_temporal_mode_name (IRC_TEMPORAL_NOISE), "noise"));
  CHECK (!irc_temporal_mode_name (IRC_TEMPORAL_MODE_COUNT));
}

/* off: nothing changes, nothing is kept; reset: the next frame passes */
static void
test_off_and_reset (void)
{
  static float rgb[3 * PLANE], copy[3 * PLANE];
  static unsigned char mask[PLANE];
  irc_temporal_params p = IRC_TEMPORAL_DEFAULTS;
  p.width = W, p.height = H, p.mode = IRC_TEMPORAL_OFF;
  irc_temporal *t = NULL;
  irc_error err = {0};
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_OK);
  irc_temporal_result r;
  for (int i = 0; i < 4; i++) {
    make (rgb, mask, i, 0, 10, 0, 0);
    memcpy (copy, rgb, sizeof rgb);
    CHECK (irc_temporal_process_rgb (t, rgb, &r, &err) == IRC_OK);
    CHECK (!memcmp (copy, rgb, sizeof rgb) && r.history == 0);
  }
  irc_temporal_free (&t);
  p.mode = IRC_TEMPORAL_RAIN;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_OK);
  for (int i = 0; i < 5; i++) {
    make (rgb, mask, i, 0, 10, 0, 0);
    CHECK (irc_temporal_process_rgb (t, rgb, &r, &err) == IRC_OK);
    CHECK (r.history == (i < 3 ? i : 3));
  }
  irc_temporal_reset (t);
  make (rgb, mask, 5, 0, 10, 0, 0);
  memcpy (copy, rgb, sizeof rgb);
  CHECK (irc_temporal_process_rgb (t, rgb, &r, &err) == IRC_OK);
  CHECK (r.history == 0 && !memcmp (copy, rgb, sizeof rgb));
  irc_temporal_free (&t);
}

/* A still rainy, noisy view: the rain mostly goes, the noise shrinks
 * (noise mode: the noise only); a panning one (1.6 pixels a frame) the
 * same, its shift measured to a fifth of a pixel. No allocation after the
 * first frame. */
static void
test_still_and_panning (void)
{
  static float rgb[3 * PLANE], clean[3 * PLANE];
  static unsigned char mask[PLANE], none[PLANE];
  for (int mode = IRC_TEMPORAL_RAIN; mode <= IRC_TEMPORAL_NOISE; mode++)
    for (int panning = 0; panning <= 1; panning++) {
      const float pan = panning ? 1.6f : 0.0f;
      irc_temporal_params p = IRC_TEMPORAL_DEFAULTS;
      p.width = W, p.height = H, p.mode = (irc_temporal_mode) mode;
      irc_temporal *t = NULL;
      irc_error err = {0};
      CHECK (irc_temporal_new (&p, &t, &err) == IRC_OK);
      double in_noise = 0, out_noise = 0, rain_in = 0, rain_out = 0;
      long n = 0, streak = 0;
      long allocs_before = 0;
      for (int i = 0; i < 12; i++) {
        make (rgb, mask, i, pan, 10, 0.01f, 0);
        make (clean, none, i, pan, 0, 0, 0);
        if (i == 1)
          allocs_before = allocs;
        irc_temporal_result r;
        /* the input, away from the edges a pan brings in */
        double ie = 0, ir = 0;
        for (int c = 0; c < 3; c++)
          for (int y = 0; y < H; y++)
            for (int x = 0; x < W - 8; x++) {
              const int k = y * W + x;
              const double d = rgb[c * PLANE + k] - clean[c * PLANE + k];
              if (mask[k])
                ir += fabs (d);
              else
                ie += d * d;
            }
        CHECK (irc_temporal_process_rgb (t, rgb, &r, &err) == IRC_OK);
        if (i > 0)
          CHECK (fabsf (r.shift_x - pan) < 0.2f && fabsf (r.shift_y) < 0.2f);
        if (i < 4)
          continue;
        /* away from the edges a pan brings in */
        for (int c = 0; c < 3; c++)
          for (int y = 0; y < H; y++)
            for (int x = 0; x < W - 8; x++) {
              const int k = y * W + x;
              const double d = rgb[c * PLANE + k] - clean[c * PLANE + k];
              if (mask[k]) {
                rain_out += fabs (d);
                streak++;
              } else {
                out_noise += d * d;
                n++;
              }
            }
        in_noise += ie, rain_in += ir;
      }
      CHECK (allocs == allocs_before);
      const double in_rms = sqrt (in_noise / n), out_rms = sqrt (out_noise / n);
      const double in_rain = rain_in / streak, out_rain = rain_out / streak;
      printf ("%s, %s: noise %.4f -> %.4f, rain %.3f -> %.3f\n",
          irc_temporal_mode_name ((irc_temporal_mode) mode), panning ? "panning" : "still",
          in_rms, out_rms, in_rain, out_rain);
      CHECK (out_rms < 0.75 * in_rms);
      if (mode == IRC_TEMPORAL_RAIN)
        CHECK (out_rain < 0.35 * in_rain);
      else
        CHECK (out_rain > 0.9 * in_rain);
      irc_temporal_free (&t);
    }
}

/* A bright object moving over a still view comes through exactly; so do
 * still YUV frames (I420, through the frame API). */
static void
test_exact (void)
{
  static float rgb[3 * PLANE], copy[3 * PLANE];
  static unsigned char mask[PLANE];
  irc_temporal_params p = IRC_TEMPORAL_DEFAULTS;
  p.width = W, p.height = H;
  irc_temporal *t = NULL;
  irc_error err = {0};
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_OK);
  for (int i = 0; i < 10; i++) {
    make (rgb, mask, i, 0, 0, 0, 1);
    /* the 8-bit values the filter keeps */
    for (int k = 0; k < 3 * PLANE; k++)
      rgb[k] = roundf (rgb[k] * 255.0f) / 255.0f;
    memcpy (copy, rgb, sizeof rgb);
    CHECK (irc_temporal_process_rgb (t, rgb, NULL, &err) == IRC_OK);
    float worst = 0;
    for (int k = 0; k < 3 * PLANE; k++)
      worst = fmaxf (worst, fabsf (rgb[k] - copy[k]));
    CHECK (worst * 255.0f < 1.01f);
  }
  irc_temporal_free (&t);

  static unsigned char yuv[PLANE + 2 * (W / 2) * (H / 2)], yuv0[sizeof yuv];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      yuv0[y * W + x] = (unsigned char) (16 + 219 * view (x, y));
  for (int k = 0; k < (W / 2) * (H / 2); k++) {
    yuv0[PLANE + k] = (unsigned char) (k % 7 ? 128 : 150);
    yuv0[PLANE + (W / 2) * (H / 2) + k] = (unsigned char) (k % 5 ? 120 : 100);
  }
  p.format = IRC_FORMAT_I420;
  CHECK (irc_temporal_new (&p, &t, &err) == IRC_OK);
  for (int i = 0; i < 5; i++) {
    memcpy (yuv, yuv0, sizeof yuv);
    irc_frame f = {{yuv, yuv + PLANE, yuv + PLANE + (W / 2) * (H / 2)}, {W, W / 2, W / 2}};
    irc_temporal_result r;
    CHECK (irc_temporal_process (t, &f, &r, &err) == IRC_OK);
    int worst = 0;
    for (size_t k = 0; k < sizeof yuv; k++)
      worst = abs (yuv[k] - yuv0[k]) > worst ? abs (yuv[k] - yuv0[k]) : worst;
    CHECK (worst <= 1);
  }
  irc_temporal_free (&t);
}

int
main (void)
{
  test_arguments ();
  test_off_and_reset ();
  test_still_and_panning ();
  test_exact ();
  printf ("temporal: all passed\n");
  return 0;
}
