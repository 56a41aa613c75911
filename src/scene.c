/* scene: thumbnail statistics for scene cuts, robust to fades and slow pans. */
#include "scene.h"

#include <math.h>
#include <string.h>

void
irc_scene_init (irc_scene *s, int width, int height)
{
  memset (s, 0, sizeof *s);
  /* keep the frame's aspect, at most 32 cells a side, at least one */
  if (width >= height) {
    s->tw = width < IRC_THUMB_W ? width : IRC_THUMB_W;
    s->th = (int) lround ((double) s->tw * height / width);
  } else {
    s->th = height < IRC_THUMB_W ? height : IRC_THUMB_W;
    s->tw = (int) lround ((double) s->th * width / height);
  }
  s->tw = s->tw < 1 ? 1 : s->tw;
  s->th = s->th < 1 ? 1 : s->th;
}

void
irc_scene_reset (irc_scene *s)
{
  s->have_prev = 0;
}

float
irc_scene_score (irc_scene *s, const float *rgb, int width, int height)
{
  const size_t plane = (size_t) width * height;
  const int n = s->tw * s->th;
  /* area-average luma per cell (cells tile the frame; rounding spreads the
   * remainder rows and columns) */
  double mean = 0;
  for (int ty = 0; ty < s->th; ty++) {
    const int y0 = (int) ((long) ty * height / s->th), y1 = (int) ((long) (ty + 1) * height / s->th);
    for (int tx = 0; tx < s->tw; tx++) {
      const int x0 = (int) ((long) tx * width / s->tw), x1 = (int) ((long) (tx + 1) * width / s->tw);
      double acc = 0;
      for (int y = y0; y < y1; y++) {
        const float *r = rgb + (size_t) y * width, *g = r + plane, *b = g + plane;
        for (int x = x0; x < x1; x++)
          acc += 0.299f * r[x] + 0.587f * g[x] + 0.114f * b[x];
      }
      const int area = (y1 - y0) * (x1 - x0);
      s->cur[ty * s->tw + tx] = (float) (area ? acc / area : 0);
      mean += s->cur[ty * s->tw + tx];
    }
  }
  mean /= n;
  double var = 0;
  for (int i = 0; i < n; i++)
    var += (s->cur[i] - mean) * (s->cur[i] - mean);
  /* the floor keeps noise on a flat frame from looking like structure */
  const double inv = 1.0 / (sqrt (var / n) + 0.02);
  for (int i = 0; i < n; i++)
    s->cur[i] = (float) ((s->cur[i] - mean) * inv);
  float score = -1.0f;
  if (s->have_prev) {
    double d = 0;
    for (int i = 0; i < n; i++)
      d += fabs ((double) s->cur[i] - s->prev[i]);
    score = (float) (d / n / 2.0);
    const float dm = 2.0f * fabsf ((float) mean - s->prev_mean);
    if (dm > score)
      score = dm;
  }
  memcpy (s->prev, s->cur, (size_t) n * sizeof (float));
  s->prev_mean = (float) mean;
  s->have_prev = 1;
  return score;
}
