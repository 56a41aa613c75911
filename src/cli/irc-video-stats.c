/* irc-video-stats: temporal figures of raw RGB video streams, for footage
 * without a clean reference, such as a real rainy clip from a static camera.
 *
 *   irc-video-stats [--temporal MODE] [--frames N] WxH INPUT.rgb [OUTPUT.rgb...]
 *
 * Each file is packed 8-bit RGB frames of WxH back to back (gst-launch-1.0
 * ... ! video/x-raw,format=RGB ! filesink). For the input and each output:
 *  - flicker: the mean absolute difference between consecutive frames, in
 *    levels of 255 over all samples, and its ratio to the input's (on a
 *    static view mostly rain and noise);
 *  - PSNR of each frame against the input's per-pixel temporal median (a
 *    rain- and noise-free estimate of the static view), averaged over the
 *    frames, and its gain over the input's.
 * A static view makes both figures measures of rain and noise alone. When
 * the camera moves, consecutive frames differ by the motion too and the
 * per-pixel median is a smear of the whole pan, so both are also given
 * motion-compensated, with the view's global shift estimated on the input
 * (and used for every stream alike):
 *  - residual flicker: frame t against frame t-1 shifted onto it, over
 *    their overlap;
 *  - PSNR against the aligned median: the per-pixel median of the input's
 *    frames t-7 .. t+7, each shifted onto frame t (over the pixels all of
 *    them see), a rain- and noise-free estimate of frame t's own view, sharp
 *    where the view is: a filter that smears moving content loses here.
 * With --temporal MODE (rain or noise) the last stream given is also run
 * through libirc's temporal filter (irc/temporal.h) here, timed, and
 * reported as one more output: the element's result with that mode, as
 * the element runs the same filter on the network's output. --median N adds
 * the plain causal per-pixel median of the last N frames of the last stream
 * given (no motion handling), for comparison. */
#include "irc/temporal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const char *name;
  uint8_t *data;
  size_t frames;
} stream;

static int
load (const char *path, size_t frame_bytes, stream *s)
{
  FILE *f = fopen (path, "rb");
  if (!f) {
    fprintf (stderr, "irc-video-stats: cannot open %s\n", path);
    return -1;
  }
  fseek (f, 0, SEEK_END);
  const long size = ftell (f);
  fseek (f, 0, SEEK_SET);
  if (size <= 0 || (size_t) size % frame_bytes) {
    fprintf (stderr, "irc-video-stats: %s: %ld bytes is not a whole number of frames\n",
        path, size);
    fclose (f);
    return -1;
  }
  const char *slash = strrchr (path, '/');
  s->name = slash ? slash + 1 : path;
  s->frames = (size_t) size / frame_bytes;
  s->data = malloc ((size_t) size);
  if (!s->data || fread (s->data, 1, (size_t) size, f) != (size_t) size) {
    fprintf (stderr, "irc-video-stats: cannot read %s\n", path);
    fclose (f);
    return -1;
  }
  fclose (f);
  return 0;
}

/* per-sample temporal median of @s */
static uint8_t *
median_frame (const stream *s, size_t frame_bytes)
{
  uint8_t *med = malloc (frame_bytes);
  if (!med)
    return NULL;
  for (size_t i = 0; i < frame_bytes; i++) {
    unsigned hist[256] = {0};
    for (size_t t = 0; t < s->frames; t++)
      hist[s->data[t * frame_bytes + i]]++;
    unsigned acc = 0;
    int v = 0;
    while (v < 255 && (acc += hist[v]) * 2 < s->frames)
      v++;
    med[i] = (uint8_t) v;
  }
  return med;
}

static void
figures (const stream *s, const uint8_t *med, size_t frame_bytes, double *flicker,
    double *psnr)
{
  double diff = 0, p = 0;
  for (size_t t = 0; t < s->frames; t++) {
    const uint8_t *f = s->data + t * frame_bytes;
    double se = 0;
    for (size_t i = 0; i < frame_bytes; i++) {
      const double d = (double) f[i] - med[i];
      se += d * d;
    }
    const double mse = se / frame_bytes;
    p += mse > 0 ? 10.0 * log10 (255.0 * 255.0 / mse) : 99.0;
    if (t > 0) {
      const uint8_t *g = f - frame_bytes;
      long sum = 0;
      for (size_t i = 0; i < frame_bytes; i++)
        sum += abs ((int) f[i] - (int) g[i]);
      diff += (double) sum / frame_bytes;
    }
  }
  *flicker = s->frames > 1 ? diff / (double) (s->frames - 1) : 0;
  *psnr = p / (double) s->frames;
}

/* Mean |a(x, y) - b(x + dx, y + dy)| over R + G + B sums of two RGB
 * frames, sampled every @step pixels over their overlap. */
static double
shift_cost (const uint8_t *a, const uint8_t *b, int w, int h, int dx, int dy, int step)
{
  const int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w;
  const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? h - dy : h;
  if (x1 - x0 < w / 2 || y1 - y0 < h / 2)
    return 1e30;
  long sum = 0, n = 0;
  for (int y = y0; y < y1; y += step)
    for (int x = x0; x < x1; x += step) {
      const uint8_t *p = a + ((size_t) y * w + x) * 3;
      const uint8_t *q = b + ((size_t) (y + dy) * w + x + dx) * 3;
      sum += abs (p[0] + p[1] + p[2] - q[0] - q[1] - q[2]);
      n++;
    }
  return (double) sum / (double) n;
}

/* The integer shift within @rx x @ry of (@gx, @gy) that best maps @a onto @b. */
static void
find_shift (const uint8_t *a, const uint8_t *b, int w, int h, int gx, int gy, int rx, int ry,
    int step, int *sx, int *sy)
{
  double best = 1e31;
  for (int dy = gy - ry; dy <= gy + ry; dy++)
    for (int dx = gx - rx; dx <= gx + rx; dx++) {
      const double c = shift_cost (a, b, w, h, dx, dy, step);
      if (c < best || (c == best && abs (dx) + abs (dy) < abs (*sx) + abs (*sy)))
        best = c, *sx = dx, *sy = dy;
    }
}

#define HALF_WINDOW 7

/* The input's motion: for each frame t and each u within HALF_WINDOW, the
 * integer shift D such that frame t's pixel x shows what frame u shows at
 * x + D (chained estimates between neighbours, refined directly). */
typedef struct {
  int dx[2 * HALF_WINDOW + 1], dy[2 * HALF_WINDOW + 1];
} window_shifts;

static window_shifts *
estimate_motion (const stream *in, int w, int h)
{
  const size_t fb = (size_t) w * h * 3;
  window_shifts *ws = calloc (in->frames, sizeof *ws);
  if (!ws)
    return NULL;
  for (size_t t = 0; t < in->frames; t++) {
    for (int k = 1; k <= HALF_WINDOW; k++)
      for (int dir = -1; dir <= 1; dir += 2) {
        const long u = (long) t + dir * k;
        if (u < 0 || u >= (long) in->frames)
          continue;
        const int prev = HALF_WINDOW + dir * (k - 1), at = HALF_WINDOW + dir * k;
        /* guess: the shift to the neighbour one step nearer, extrapolated */
        int gx = ws[t].dx[prev], gy = ws[t].dy[prev];
        if (k > 1)
          gx += (ws[t].dx[prev] / (k - 1)), gy += (ws[t].dy[prev] / (k - 1));
        const int r = k == 1 ? 16 : 3;
        int sx = gx, sy = gy;
        find_shift (in->data + t * fb, in->data + (size_t) u * fb, w, h, gx, gy, r,
            k == 1 ? 8 : 3, k == 1 ? 4 : 2, &sx, &sy);
        ws[t].dx[at] = sx, ws[t].dy[at] = sy;
      }
  }
  return ws;
}

/* The aligned medians of the input: per frame, the reference and a mask of
 * the pixels every frame of its window sees. */
static int
aligned_medians (const stream *in, const window_shifts *ws, int w, int h, uint8_t **ref_out,
    uint8_t **mask_out)
{
  const size_t fb = (size_t) w * h * 3, plane = (size_t) w * h;
  uint8_t *ref = malloc (in->frames * fb), *mask = calloc (in->frames, plane);
  if (!ref || !mask)
    return -1;
  for (size_t t = 0; t < in->frames; t++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int v[3][2 * HALF_WINDOW + 1], n = 0, inside = 1;
        for (int k = 0; k <= 2 * HALF_WINDOW; k++) {
          const long u = (long) t + k - HALF_WINDOW;
          if (u < 0 || u >= (long) in->frames)
            continue;
          const int px = x + ws[t].dx[k], py = y + ws[t].dy[k];
          if (px < 0 || py < 0 || px >= w || py >= h) {
            inside = 0;
            break;
          }
          const uint8_t *q = in->data + (size_t) u * fb + ((size_t) py * w + px) * 3;
          for (int c = 0; c < 3; c++) {
            int j = n - 1;
            while (j >= 0 && v[c][j] > q[c]) {
              v[c][j + 1] = v[c][j];
              j--;
            }
            v[c][j + 1] = q[c];
          }
          n++;
        }
        if (!inside)
          continue;
        mask[t * plane + (size_t) y * w + x] = 1;
        for (int c = 0; c < 3; c++)
          ref[t * fb + ((size_t) y * w + x) * 3 + c] = (uint8_t) v[c][n / 2];
      }
  *ref_out = ref, *mask_out = mask;
  return 0;
}

/* The motion-compensated figures of @s: residual flicker and PSNR against
 * the aligned median. */
static void
compensated_figures (const stream *s, const window_shifts *ws, const uint8_t *ref,
    const uint8_t *mask, int w, int h, double *flicker, double *psnr)
{
  const size_t fb = (size_t) w * h * 3, plane = (size_t) w * h;
  double diff = 0, p = 0;
  for (size_t t = 0; t < s->frames; t++) {
    const uint8_t *f = s->data + t * fb;
    double se = 0;
    long n = 0;
    for (size_t i = 0; i < plane; i++)
      if (mask[t * plane + i])
        for (int c = 0; c < 3; c++) {
          const double d = (double) f[i * 3 + c] - ref[t * fb + i * 3 + c];
          se += d * d;
          n++;
        }
    const double mse = n ? se / n : 0;
    p += mse > 0 ? 10.0 * log10 (255.0 * 255.0 / mse) : 99.0;
    if (t > 0) {
      const uint8_t *g = f - fb;
      const int dx = ws[t].dx[HALF_WINDOW - 1], dy = ws[t].dy[HALF_WINDOW - 1];
      long sum = 0, m = 0;
      for (int y = dy < 0 ? -dy : 0; y < (dy > 0 ? h - dy : h); y++)
        for (int x = dx < 0 ? -dx : 0; x < (dx > 0 ? w - dx : w); x++)
          for (int c = 0; c < 3; c++) {
            sum += abs ((int) f[((size_t) y * w + x) * 3 + c]
                - (int) g[((size_t) (y + dy) * w + x + dx) * 3 + c]);
            m++;
          }
      diff += m ? (double) sum / m : 0;
    }
  }
  *flicker = s->frames > 1 ? diff / (double) (s->frames - 1) : 0;
  *psnr = p / (double) s->frames;
}

int
main (int argc, char **argv)
{
  irc_temporal_mode mode = IRC_TEMPORAL_OFF;
  int frames = 3, a = 1, verbose = 0, median_n = 0;
  for (; a < argc && !strncmp (argv[a], "--", 2); a++) {
    if (!strcmp (argv[a], "--temporal") && a + 1 < argc) {
      const char *m = argv[++a];
      mode = IRC_TEMPORAL_MODE_COUNT;
      for (int k = 0; k < IRC_TEMPORAL_MODE_COUNT; k++)
        if (!strcmp (m, irc_temporal_mode_name ((irc_temporal_mode) k)))
          mode = (irc_temporal_mode) k;
      if (mode == IRC_TEMPORAL_MODE_COUNT) {
        fprintf (stderr, "irc-video-stats: unknown temporal mode %s (off, rain, noise)\n", m);
        return 2;
      }
    } else if (!strcmp (argv[a], "--median") && a + 1 < argc) {
      median_n = atoi (argv[++a]);
      if (median_n < 1 || median_n > 64) {
        fprintf (stderr, "irc-video-stats: --median takes 1 to 64 frames\n");
        return 2;
      }
    } else if (!strcmp (argv[a], "--verbose")) {
      verbose = 1;
    } else if (!strcmp (argv[a], "--frames") && a + 1 < argc) {
      frames = atoi (argv[++a]);
    } else {
      break;
    }
  }
  int w = 0, h = 0;
  if (argc - a < 2 || sscanf (argv[a], "%dx%d", &w, &h) != 2 || w < 1 || h < 1) {
    fprintf (stderr, "usage: irc-video-stats [--temporal rain|noise] [--frames N] WxH "
        "INPUT.rgb [OUTPUT.rgb...]\n");
    return 2;
  }
  const size_t frame_bytes = (size_t) w * h * 3;
  const int nstreams = argc - a - 1;
  stream *s = calloc ((size_t) nstreams + 2, sizeof *s);
  if (!s)
    return 1;
  for (int k = 0; k < nstreams; k++)
    if (load (argv[a + 1 + k], frame_bytes, &s[k]) != 0)
      return 1;
  int total = nstreams;
  double ms = 0, cpu_ms = 0;
  if (mode != IRC_TEMPORAL_OFF) {
    /* the last stream through the filter, frame by frame, timed */
    const stream *src = &s[nstreams - 1];
    stream *dst = &s[total++];
    dst->name = irc_temporal_mode_name (mode);
    dst->frames = src->frames;
    dst->data = malloc (src->frames * frame_bytes);
    if (!dst->data)
      return 1;
    memcpy (dst->data, src->data, src->frames * frame_bytes);
    irc_temporal_params tp = IRC_TEMPORAL_DEFAULTS;
    tp.width = w, tp.height = h, tp.format = IRC_FORMAT_RGB, tp.mode = mode;
    tp.frames = frames;
    irc_temporal *t = NULL;
    irc_error err = {0};
    if (irc_temporal_new (&tp, &t, &err) != IRC_OK) {
      fprintf (stderr, "irc-video-stats: %s\n", err.message);
      return 1;
    }
    double replaced = 0, averaged = 0, moving = 0, tol = 0;
    for (size_t f = 0; f < dst->frames; f++) {
      irc_frame fr = {{dst->data + f * frame_bytes, NULL, NULL}, {w * 3, 0, 0}};
      irc_temporal_result r;
      struct timespec t0, t1, c0, c1;
      clock_gettime (CLOCK_MONOTONIC, &t0);
      clock_gettime (CLOCK_THREAD_CPUTIME_ID, &c0);
      if (irc_temporal_process (t, &fr, &r, &err) != IRC_OK) {
        fprintf (stderr, "irc-video-stats: %s\n", err.message);
        return 1;
      }
      clock_gettime (CLOCK_THREAD_CPUTIME_ID, &c1);
      clock_gettime (CLOCK_MONOTONIC, &t1);
      ms += (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6;
      cpu_ms += (c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) * 1e-6;
      replaced += r.replaced, averaged += r.averaged, moving += r.moving;
      if (verbose)
        printf ("frame %zu: shift %+.2f %+.2f, tolerance %.1f, %.1f%% replaced, %.1f%% averaged, "
            "%.1f%% motion\n", f, r.shift_x, r.shift_y, 765 * r.tolerance, 100 * r.replaced,
            100 * r.averaged, 100 * r.moving);
      tol += r.tolerance;
    }
    ms /= (double) dst->frames;
    cpu_ms /= (double) dst->frames;
    printf ("temporal %s over %s: %.2f ms per frame (%.2f ms of CPU time, one thread); per frame %.1f%% replaced, %.1f%% "
        "averaged, %.1f%% kept as motion; tolerance %.1f levels (of R+G+B)\n",
        dst->name, src->name, ms, cpu_ms, 100 * replaced / dst->frames, 100 * averaged / dst->frames,
        100 * moving / dst->frames, 765 * tol / dst->frames);
    irc_temporal_free (&t);
  }
  if (median_n) {
    const stream *src = &s[nstreams - 1];
    stream *dst = &s[total++];
    static char name[48];
    snprintf (name, sizeof name, "causal median of %d", median_n);
    dst->name = name;
    dst->frames = src->frames;
    dst->data = malloc (src->frames * frame_bytes);
    if (!dst->data)
      return 1;
    for (size_t t = 0; t < src->frames; t++) {
      const size_t t0 = t + 1 >= (size_t) median_n ? t + 1 - median_n : 0, n = t + 1 - t0;
      for (size_t i = 0; i < frame_bytes; i++) {
        uint8_t v[64];
        for (size_t k = 0; k < n; k++) {
          const uint8_t x = src->data[(t0 + k) * frame_bytes + i];
          size_t j = k;
          while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
          }
          v[j] = x;
        }
        dst->data[t * frame_bytes + i] = v[(n - 1) / 2];
      }
    }
  }
  uint8_t *med = median_frame (&s[0], frame_bytes);
  if (!med)
    return 1;
  window_shifts *ws = estimate_motion (&s[0], w, h);
  uint8_t *ref = NULL, *mask = NULL;
  if (!ws || aligned_medians (&s[0], ws, w, h, &ref, &mask) != 0)
    return 1;
  double mean_dx = 0, mean_dy = 0;
  for (size_t t = 1; t < s[0].frames; t++)
    mean_dx += ws[t].dx[HALF_WINDOW - 1], mean_dy += ws[t].dy[HALF_WINDOW - 1];
  if (s[0].frames > 1)
    printf ("view's mean shift between frames (input): %+.2f %+.2f px\n",
        mean_dx / (double) (s[0].frames - 1), mean_dy / (double) (s[0].frames - 1));
  double f0 = 0, p0 = 0, cf0 = 0, cp0 = 0;
  printf ("%-28s %6s | %-30s | %-30s\n", "", "", "as is (median of the clip)",
      "motion-compensated (aligned)");
  printf ("%-28s %6s | %7s %6s %8s %6s | %7s %6s %8s %6s\n", "stream", "frames", "flicker",
      "ratio", "PSNR", "gain", "flicker", "ratio", "PSNR", "gain");
  for (int k = 0; k < total; k++) {
    double fl, ps, cfl, cps;
    figures (&s[k], med, frame_bytes, &fl, &ps);
    compensated_figures (&s[k], ws, ref, mask, w, h, &cfl, &cps);
    if (k == 0)
      f0 = fl, p0 = ps, cf0 = cfl, cp0 = cps;
    printf ("%-28.28s %6zu | %7.3f %6.3f %8.2f %+6.2f | %7.3f %6.3f %8.2f %+6.2f\n",
        s[k].name, s[k].frames, fl, f0 > 0 ? fl / f0 : 0, ps, ps - p0, cfl,
        cf0 > 0 ? cfl / cf0 : 0, cps, cps - cp0);
  }
  free (ws);
  free (ref);
  free (mask);
  for (int k = 0; k < total; k++)
    free (s[k].data);
  free (s);
  free (med);
  return 0;
}
