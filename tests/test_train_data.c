/* test_train_data: irc-train's batches. --clean-prob leaves that share of
 * synthetic crops undegraded (input = target); without it noise and haze
 * change every crop. Same seed, same choice. */
#include "common.h"
#include "io/image.h"
#include "train/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BATCH = 64, PATCH = 32 };

static void
write_scene (const char *file, int w, int h, int k)
{
  irc_image img = { 0, 0, NULL };
  irc_error err = { 0 };
  CHECK (irc_image_alloc (&img, w, h, &err) == IRC_OK);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        img.data[((size_t) c * h + y) * w + x] =
            0.5f + 0.3f * sinf (x / (5.0f + c + k)) * cosf (y / (9.0f - c));
  CHECK (irc_image_save (file, &img, 0, &err) == IRC_OK);
  irc_image_clear (&img);
}

/* How many crops of one batch came out with input == target. */
static int
undegraded (const char *dir, trd_task task, float clean_prob, uint64_t seed)
{
  irc_error err = { 0 };
  trd_degradation deg = { task, 0.0f, 50.0f, NULL, 0, 0.3f, clean_prob };
  trd_set s;
  trd_set_init (&s, BATCH, PATCH, &deg, seed);
  CHECK (trd_add_clean (&s, dir, NULL, &err) == IRC_OK);
  const size_t per = (size_t) 3 * PATCH * PATCH;
  float *lq = malloc (BATCH * per * sizeof (float)), *gt = malloc (BATCH * per * sizeof (float));
  CHECK (lq && gt);
  CHECK (trd_batch (&s, lq, gt, &err) == IRC_OK);
  int same = 0;
  for (int i = 0; i < BATCH; i++)
    same += memcmp (lq + i * per, gt + i * per, per * sizeof (float)) == 0;
  free (lq);
  free (gt);
  trd_set_clear (&s);
  return same;
}

int
main (void)
{
  char dir[] = "/tmp/irc-train-data-XXXXXX";
  CHECK (mkdtemp (dir));
  char file[64];
  for (int k = 0; k < 3; k++) {
    snprintf (file, sizeof file, "%s/%d.png", dir, k);
    write_scene (file, 80 + 8 * k, 72, k);
  }

  /* noise and haze change every crop by default (light rain may miss a
   * small crop altogether) */
  CHECK (undegraded (dir, TRD_DENOISE, 0.0f, 1) == 0);
  CHECK (undegraded (dir, TRD_DEHAZE, 0.0f, 1) == 0);
  const int rain_misses = undegraded (dir, TRD_DERAIN, 0.0f, 1);
  /* a quarter left clean, give or take the draw: 64 crops, p = 0.25 */
  const int clean = undegraded (dir, TRD_DERAIN, 0.25f, 1);
  fprintf (stderr, "crops with input = target: %d of %d at --clean-prob 0.25, %d at 0\n",
      clean, BATCH, rain_misses);
  CHECK (clean >= rain_misses + 6 && clean <= rain_misses + 28);
  CHECK (undegraded (dir, TRD_DENOISE, 0.25f, 1) > 0);
  /* same seed, same choice */
  CHECK (undegraded (dir, TRD_DERAIN, 0.25f, 1) == clean);

  for (int k = 0; k < 3; k++) {
    snprintf (file, sizeof file, "%s/%d.png", dir, k);
    unlink (file);
  }
  rmdir (dir);
  return 0;
}
