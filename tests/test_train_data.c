/* test_train_data: irc-train's batches. --clean-prob leaves that share of
 * synthetic crops undegraded (input = target); without it noise and haze
 * change every crop. Same seed, same choice. --compress-prob sends that share
 * of degraded crops through a JPEG (8-bit, smoother) and leaves the others'
 * bits as they were without it. */
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

/* One batch of @deg from the images of @dir with @seed, into malloc'd *@lq
 * and *@gt. */
static void
batch_of (const char *dir, const trd_degradation *deg, uint64_t seed, float **lq, float **gt)
{
  irc_error err = { 0 };
  trd_set s;
  trd_set_init (&s, BATCH, PATCH, deg, seed);
  CHECK (trd_add_clean (&s, dir, NULL, &err) == IRC_OK);
  const size_t n = (size_t) BATCH * 3 * PATCH * PATCH;
  *lq = malloc (n * sizeof (float));
  *gt = malloc (n * sizeof (float));
  CHECK (*lq && *gt);
  CHECK (trd_batch (&s, *lq, *gt, &err) == IRC_OK);
  trd_set_clear (&s);
}

/* How many crops of one batch came out with input == target. */
static int
undegraded (const char *dir, trd_task task, float clean_prob, uint64_t seed)
{
  trd_degradation deg = { .task = task, .sigma_max = 50.0f, .kernel_prob = 0.3f,
      .clean_prob = clean_prob, .heavy_prob = 0.5f };
  float *lq, *gt;
  batch_of (dir, &deg, seed, &lq, &gt);
  const size_t per = (size_t) 3 * PATCH * PATCH;
  int same = 0;
  for (int i = 0; i < BATCH; i++)
    same += memcmp (lq + i * per, gt + i * per, per * sizeof (float)) == 0;
  free (lq);
  free (gt);
  return same;
}

/* One batch of @task with sigma fixed at 25 and --compress-prob @prob at
 * JPEG quality 30, into malloc'd *@lq and *@gt. */
static void
compressed_batch (const char *dir, trd_task task, float prob, float **lq, float **gt)
{
  trd_degradation deg = { .task = task, .sigma_min = 25.0f, .sigma_max = 25.0f,
      .kernel_prob = 0.3f, .compress_prob = prob, .compress_quality_min = 30,
      .compress_quality_max = 30, .heavy_prob = 0.5f };
  batch_of (dir, &deg, 3, lq, gt);
}

static int
is_8bit (const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!(x[i] >= 0.0f && x[i] <= 1.0f) || rintf (x[i] * 255.0f) != x[i] * 255.0f)
      return 0;
  return 1;
}

static double
sq_error (const float *a, const float *b, size_t n)
{
  double e = 0.0;
  for (size_t i = 0; i < n; i++)
    e += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  return e / (double) n;
}

static void
test_compress (const char *dir)
{
  const size_t per = (size_t) 3 * PATCH * PATCH;
  float *lq0, *gt0, *lq1, *gt1, *lqh, *gth;
  compressed_batch (dir, TRD_DENOISE, 0.0f, &lq0, &gt0);
  compressed_batch (dir, TRD_DENOISE, 1.0f, &lq1, &gt1);
  compressed_batch (dir, TRD_DENOISE, 0.5f, &lqh, &gth);
  /* the same crops; float noise without, 8-bit JPEG output with */
  CHECK (memcmp (gt0, gt1, BATCH * per * sizeof (float)) == 0);
  CHECK (memcmp (gt0, gth, BATCH * per * sizeof (float)) == 0);
  CHECK (!is_8bit (lq0, BATCH * per));
  CHECK (is_8bit (lq1, BATCH * per));
  /* quality 30 smooths most of sigma 25's noise away */
  const double e0 = sq_error (lq0, gt0, BATCH * per), e1 = sq_error (lq1, gt1, BATCH * per);
  fprintf (stderr, "sigma 25: error %.5f, after JPEG 30 %.5f\n", e0, e1);
  CHECK (e1 < 0.7 * e0);
  /* at 0.5 each crop is either its uncompressed self, bit for bit, or its
   * compressed self; about half of each */
  int compressed = 0;
  for (int i = 0; i < BATCH; i++) {
    const size_t o = i * per;
    if (memcmp (lqh + o, lq1 + o, per * sizeof (float)) == 0)
      compressed++;
    else
      CHECK (memcmp (lqh + o, lq0 + o, per * sizeof (float)) == 0);
  }
  fprintf (stderr, "compressed crops at --compress-prob 0.5: %d of %d\n", compressed, BATCH);
  CHECK (compressed >= 20 && compressed <= 44);
  free (lq0); free (gt0); free (lq1); free (gt1); free (lqh); free (gth);

  /* synthetic tasks too */
  compressed_batch (dir, TRD_DERAIN, 1.0f, &lq1, &gt1);
  CHECK (is_8bit (lq1, BATCH * per));
  free (lq1);
  free (gt1);
}

/* Paired folders: matched by name, a missing partner named, and
 * --pairs-prob's share of paired samples. */
static void
test_pairs (const char *clean_dir)
{
  char in[64], tg[64], file[96];
  snprintf (in, sizeof in, "%s/in", clean_dir);
  snprintf (tg, sizeof tg, "%s/tg", clean_dir);
  CHECK (mkdir (in, 0700) == 0 && mkdir (tg, 0700) == 0);
  for (int k = 0; k < 2; k++) {
    snprintf (file, sizeof file, "%s/p%d.png", in, k);
    irc_image flat = { 0, 0, NULL };
    irc_error ferr = { 0 };
    CHECK (irc_image_alloc (&flat, 96, 96, &ferr) == IRC_OK);
    for (size_t i = 0; i < (size_t) 3 * 96 * 96; i++)
      flat.data[i] = 0.05f;   /* nothing like its target */
    CHECK (irc_image_save (file, &flat, 0, &ferr) == IRC_OK);
    irc_image_clear (&flat);
    snprintf (file, sizeof file, "%s/p%d.png", tg, k);
    write_scene (file, 96, 96, k + 7);
  }
  trd_degradation deg = { .task = TRD_DEBLUR, .sigma_max = 50.0f, .kernel_prob = 0.3f,
      .heavy_prob = 0.5f, .pairs_prob = 0.5f };
  trd_set s;
  irc_error err = { 0 };
  trd_set_init (&s, BATCH, 32, &deg, 3);
  CHECK (trd_add_clean (&s, clean_dir, NULL, &err) == IRC_OK);
  CHECK (trd_add_pairs (&s, in, tg, NULL, &err) == IRC_OK);
  CHECK (s.n_pairs == 2);
  /* at --pairs-prob 0.5 about half of the samples are pairs, whose input
   * (a flat dark image) is nothing like their target (a scene):
   * count them by drawing the crop sources as trd_batch does */
  size_t paired = 0;
  for (int b = 0; b < 8; b++) {
    float *lq = malloc ((size_t) BATCH * 3 * 32 * 32 * sizeof (float));
    float *gt = malloc ((size_t) BATCH * 3 * 32 * 32 * sizeof (float));
    CHECK (trd_batch (&s, lq, gt, &err) == IRC_OK);
    for (int i = 0; i < BATCH; i++)
      paired += sq_error (lq + (size_t) i * 3 * 32 * 32, gt + (size_t) i * 3 * 32 * 32,
          (size_t) 3 * 32 * 32) > 0.02;
    free (lq);
    free (gt);
  }
  fprintf (stderr, "pairs-prob 0.5: %zu of %d samples far from their target\n", paired,
      8 * BATCH);
  CHECK (paired >= (size_t) 8 * BATCH / 4 && paired <= (size_t) 8 * BATCH * 3 / 4);
  trd_set_clear (&s);

  /* a target renamed: the input without its partner is named */
  snprintf (file, sizeof file, "%s/p1.png", tg);
  char renamed[96];
  snprintf (renamed, sizeof renamed, "%s/q1.png", tg);
  CHECK (rename (file, renamed) == 0);
  trd_set_init (&s, BATCH, 32, &deg, 3);
  CHECK (trd_add_pairs (&s, in, tg, NULL, &err) == IRC_ERR_INVALID);
  CHECK (strstr (err.message, "p1.png") != NULL);
  fprintf (stderr, "renamed target: %s\n", err.message);
  trd_set_clear (&s);
  unlink (renamed);
  for (int k = 0; k < 2; k++) {
    snprintf (file, sizeof file, "%s/p%d.png", in, k);
    unlink (file);
    snprintf (file, sizeof file, "%s/p%d.png", tg, k);
    unlink (file);
  }
  rmdir (in);
  rmdir (tg);
}

/* --labelled: real photos with a label and no target. Each sample cut from
 * them is the photo as it is (input = target), its targets the label's
 * kinds with the strength unknown (-1); large photos are shrunk; every
 * N-th photo is held out; --labelled-prob sets their share of samples. */
static void
test_labelled (const char *clean_dir)
{
  char lab[] = "/tmp/irc-train-labelled-XXXXXX";
  CHECK (mkdtemp (lab));
  char file[96];
  for (int k = 0; k < 3; k++) {
    snprintf (file, sizeof file, "%s/r%d.png", lab, k);
    write_scene (file, 256, 128, k + 3);
  }
  trd_degradation deg = { .task = TRD_AUTO, .sigma_max = 50.0f, .kernel_prob = 0.3f,
      .heavy_prob = 0.5f, .labelled_prob = 0.5f };
  trd_set s;
  irc_error err = { 0 };
  trd_set_init (&s, BATCH, PATCH, &deg, 5);
  CHECK (trd_add_clean (&s, clean_dir, NULL, &err) == IRC_OK);
  /* rain+haze; 256 wide shrinks by 2 to fit 128; r2 (index 2 of 3) held out */
  CHECK (trd_add_labelled (&s, lab, 3u, 128, 3, NULL, &err) == IRC_OK);
  CHECK (s.n_labelled == 2 && s.n == 5);
  CHECK (s.img[3].width == 128 && s.img[3].height == 64 && s.img[3].label == 3);
  s.targets = malloc ((size_t) BATCH * TRD_TARGETS * sizeof (float));
  float *lq = malloc ((size_t) BATCH * 3 * PATCH * PATCH * sizeof (float));
  float *gt = malloc ((size_t) BATCH * 3 * PATCH * PATCH * sizeof (float));
  CHECK (s.targets && lq && gt);
  CHECK (trd_batch (&s, lq, gt, &err) == IRC_OK);
  int labelled = 0;
  for (int i = 0; i < BATCH; i++) {
    const float *t = s.targets + (size_t) i * TRD_TARGETS;
    if (t[4] < 0.0f) {
      labelled++;
      CHECK (t[0] == 1.0f && t[1] == 1.0f && t[2] == 0.0f && t[3] == 0.0f);
      CHECK (t[5] == -1.0f && t[6] == 0.0f && t[7] == 0.0f);
      CHECK (sq_error (lq + (size_t) i * 3 * PATCH * PATCH, gt + (size_t) i * 3 * PATCH * PATCH,
          (size_t) 3 * PATCH * PATCH) == 0.0);
    }
  }
  fprintf (stderr, "labelled-prob 0.5: %d of %d samples from the labelled photos\n", labelled,
      BATCH);
  CHECK (labelled >= BATCH / 4 && labelled <= BATCH * 3 / 4);
  free (lq);
  free (gt);
  trd_set_clear (&s);
  for (int k = 0; k < 3; k++) {
    snprintf (file, sizeof file, "%s/r%d.png", lab, k);
    unlink (file);
  }
  rmdir (lab);
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

  test_compress (dir);
  test_pairs (dir);
  test_labelled (dir);

  for (int k = 0; k < 3; k++) {
    snprintf (file, sizeof file, "%s/%d.png", dir, k);
    unlink (file);
  }
  rmdir (dir);
  return 0;
}
