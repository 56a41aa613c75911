/* data: irc-train's images, held in memory as 8-bit, and the batches cut from
 * them (seeded crops, flips and rot90, then the task's synthetic degradation,
 * or paired input/target crops); plus the fixed validation set. */
#ifndef IRC_TRAIN_DATA_H
#define IRC_TRAIN_DATA_H

#include "io/degrade.h"

#include <stdint.h>
#include <stdio.h>

/* What the model learns to undo. */
typedef enum {
  TRD_DENOISE = 0,   /* Gaussian noise in float, no clipping (the paper's) */
  TRD_DERAIN,        /* irc-degrade's rain sampler (light or heavy) */
  TRD_DEHAZE,        /* atmospheric scattering over a depth proxy */
  TRD_DEBLUR,        /* camera-shake trajectories, plus kernels when given */
  TRD_AUTO,          /* one or two of the four, drawn per crop */
  TRD_TASK_COUNT
} trd_task;

/* Parses "denoise", "derain", "dehaze", "deblur", "auto"; -1 if unknown. */
int trd_task_from_name (const char *name);
const char *trd_task_name (trd_task task);

typedef struct {
  trd_task task;
  float sigma_min, sigma_max;      /* noise sigma range, 0-255 units */
  const irc_kernel *kernels;       /* extra blur kernels (Levin set), not owned; may be NULL */
  size_t n_kernels;
  float kernel_prob;               /* chance of a kernel of @kernels over a random trajectory */
  float clean_prob;                /* chance of a synthetic crop left undegraded (input = target) */
  float compress_prob;             /* chance of a degraded crop then JPEG-compressed ... */
  int compress_quality_min;        /* ... at a quality drawn uniformly in [min, max] */
  int compress_quality_max;
  float heavy_prob;                /* derain, auto: chance of heavy rather than light rain */
  float pairs_prob;                /* chance that a sample is cut from the paired folders
                                      rather than a synthetic draw (0: no rule, every
                                      image equally likely, paired or clean) */
  float haze_dense_prob;           /* dehaze, auto: chance that a haze draw is dense */
  float labelled_prob;             /* chance that a sample is cut from the labelled images
                                      (0: no rule, every image equally likely) */
  float blur_nonuniform_prob;      /* deblur, auto: chance that a blur is non-uniform */
  float mix_weights[4];            /* auto: relative chance of rain, haze, noise, blur
                                      (the degradation head's order); all zero: equal */
  float blur_rolling_prob;         /* deblur, auto: chance of a rolling-shutter camera path */
} trd_degradation;

/* One training image: 3 planes of 8-bit samples. */
typedef struct {
  int width, height;
  uint8_t *clean;                  /* the target */
  uint8_t *input;                  /* paired degraded input, NULL: degrade synthetically */
  int label;                       /* -1: not a labelled image; else the degradations
                                      @clean holds as it is (bit k: IRC_DEGRADATION kind
                                      k, 0: clean), for the degradation pre-training */
} trd_image;

typedef struct {
  trd_image *img;
  size_t n, cap;
  size_t n_pairs;
  size_t n_labelled;
  int batch, patch;
  trd_degradation deg;
  irc_plan_options opts;
  irc_rng crop_rng;                /* which image and where: one draw per sample */
  irc_rng deg_rng;                 /* the degradation's draws: one seed per sample */
  float *scratch;                  /* a context window per sample */
  size_t scratch_per;
  /* When set (batch x TRD_TARGETS floats, malloc'd by the caller and freed
   * by trd_set_clear), trd_batch also
   * writes what each sample holds, for the degradation pre-training: presence
   * of rain, haze, noise, blur (0/1), then each one's strength in [0, 1].
   * Paired samples count as the task's own degradation, labelled images as
   * their label; the strength of either is unknown (-1: no strength loss).
   * Clean crops then also go through --compress-prob's JPEG, so that codec
   * artefacts alone are not taken for a degradation. */
  float *targets;
  /* Data-parallel training: the batch is share @share_index of @shares
   * (0 or 1: the whole batch). trd_batch draws the RNGs of all @shares x
   * batch samples, as one process at the global batch would, and makes
   * only samples share_index x batch onwards. */
  int share_index, shares;
} trd_set;

enum { TRD_TARGETS = 8 };

/* Empties @s and sets its batch geometry, degradation and seed. */
void trd_set_init (trd_set *s, int batch, int patch, const trd_degradation *deg,
    uint64_t seed);
void trd_set_clear (trd_set *s);

/* Loads every image of @dir (and its subfolders, one level). Images smaller
 * than the patch are skipped, with a note on @log. A missing or empty
 * folder, an unreadable image, or a folder with no image large enough is an
 * error naming it. */
irc_status trd_add_clean (trd_set *s, const char *dir, FILE *log, irc_error *err);

/* Loads @input_dir and @target_dir as pairs, matched in sorted order: the
 * counts and each pair's size must agree. */
irc_status trd_add_pairs (trd_set *s, const char *input_dir, const char *target_dir,
    FILE *log, irc_error *err);

/* Loads every image of @dir (and its subfolders) as a labelled image: a
 * real photo known to hold the degradations @kinds (bit k: kind k of
 * IRC_DEGRADATION; 0: clean) and nothing else, with no clean target. Only
 * the degradation pre-training reads them. Photos whose longer side
 * exceeds @max_side are shrunk by a whole factor (box average) so that a
 * crop sees as much of the scene as a crop of the training photos; with
 * @holdout > 0 every @holdout-th image in sorted order (index % holdout ==
 * holdout - 1) is left out, for measuring on it. */
irc_status trd_add_labelled (trd_set *s, const char *dir, unsigned kinds, int max_side,
    int holdout, FILE *log, irc_error *err);

/* The next batch: @lq (degraded) and @gt (clean), batch x 3 x patch x patch
 * floats in [0,1] (the noise may leave that range). The same seed and the
 * same RNG states give the same bits, whatever the thread count. */
irc_status trd_batch (trd_set *s, float *lq, float *gt, irc_error *err);

/* The validation set: images center-cropped to at most @max_side square,
 * degraded once with a fixed seed (denoise: sigma at the middle of the range). */
typedef struct {
  size_t n;
  int *width, *height;
  float **lq, **gt;                /* 3 x height x width each */
  int max_w, max_h;
} trd_val;

irc_status trd_val_clean (trd_val *v, const char *dir, int max_side,
    const trd_degradation *deg, irc_error *err);
irc_status trd_val_pairs (trd_val *v, const char *input_dir, const char *target_dir,
    int max_side, irc_error *err);
void trd_val_clear (trd_val *v);

#endif
