/* data: irc-train's in-memory image set and its seeded batches; see data.h.
 * Every sample draws its own sub-generator seeds in order before the batch
 * is degraded in parallel, so the bits do not depend on the thread count. */
#include "train/data.h"
#include "io/image.h"
#include "error.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Pixels around a crop that are degraded with it, so blur kernels (up to
 * 31 x 31) see real neighbours instead of the context's border. */
#define CTX_MARGIN 16
/* Haze needs the scene around the crop (its depth proxy reads height in the
 * frame and large bright regions): it is computed on up to this much. */
#define HAZE_CONTEXT 384
#define VAL_SEED 20240601u

static const char *const task_names[TRD_TASK_COUNT] = {
  "denoise", "derain", "dehaze", "deblur", "auto",
};

int
trd_task_from_name (const char *name)
{
  for (int i = 0; i < TRD_TASK_COUNT; i++)
    if (strcmp (name, task_names[i]) == 0)
      return i;
  return -1;
}

const char *
trd_task_name (trd_task task)
{
  return task >= 0 && task < TRD_TASK_COUNT ? task_names[task] : "?";
}

static irc_task
generator_task (trd_task t)
{
  switch (t) {
    case TRD_DERAIN: return IRC_TASK_RAIN;
    case TRD_DEHAZE: return IRC_TASK_HAZE;
    case TRD_DEBLUR: return IRC_TASK_BLUR;
    case TRD_AUTO: return IRC_TASK_MIX;
    default: return IRC_TASK_NOISE;
  }
}

static void
options_for (irc_plan_options *o, const trd_degradation *deg)
{
  irc_plan_options_init (o);
  o->sigma_min = deg->sigma_min;
  o->sigma_max = deg->sigma_max;
  o->kernels = deg->kernels;
  o->n_kernels = deg->kernels ? deg->n_kernels : 0;
  o->kernel_prob = deg->kernel_prob;
  o->rain_heavy_prob = deg->heavy_prob;
  o->haze_dense_prob = deg->haze_dense_prob;
  o->blur_nonuniform_prob = deg->blur_nonuniform_prob;
  o->kind_weight[IRC_DEG_RAIN] = deg->mix_weights[0];
  o->kind_weight[IRC_DEG_HAZE] = deg->mix_weights[1];
  o->kind_weight[IRC_DEG_NOISE] = deg->mix_weights[2];
  o->kind_weight[IRC_DEG_BLUR] = deg->mix_weights[3];
  o->blur_rolling_prob = deg->blur_rolling_prob;
}

void
trd_set_init (trd_set *s, int batch, int patch, const trd_degradation *deg, uint64_t seed)
{
  memset (s, 0, sizeof *s);
  s->batch = batch;
  s->patch = patch;
  s->deg = *deg;
  options_for (&s->opts, deg);
  irc_rng_seed (&s->crop_rng, seed, 1);
  irc_rng_seed (&s->deg_rng, seed, 2);
}

void
trd_set_clear (trd_set *s)
{
  for (size_t i = 0; i < s->n; i++) {
    free (s->img[i].clean);
    free (s->img[i].input);
  }
  free (s->img);
  free (s->scratch);
  free (s->targets);
  memset (s, 0, sizeof *s);
}

static uint8_t *
to_u8 (const irc_image *img)
{
  const size_t n = (size_t) 3 * img->width * img->height;
  uint8_t *u = malloc (n);
  if (u)
    for (size_t i = 0; i < n; i++) {
      const float v = img->data[i] * 255.0f + 0.5f;
      u[i] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t) v;
    }
  return u;
}

static irc_status
push (trd_set *s, const irc_image *clean, const irc_image *input, irc_error *err)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 256;
    trd_image *m = realloc (s->img, cap * sizeof *m);
    if (!m)
      return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the image list");
    s->img = m;
    s->cap = cap;
  }
  trd_image *t = &s->img[s->n];
  t->width = clean->width;
  t->height = clean->height;
  t->clean = to_u8 (clean);
  t->input = input ? to_u8 (input) : NULL;
  t->label = -1;
  if (!t->clean || (input && !t->input)) {
    free (t->clean);
    free (t->input);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for %zu training images", s->n + 1);
  }
  s->n++;
  if (input)
    s->n_pairs++;
  return IRC_OK;
}

static void
note_small (FILE *log, size_t *skipped, const char *path, int w, int h, int patch)
{
  if (log && *skipped < 5)
    fprintf (log, "note: skipping %s (%dx%d is smaller than the %d-pixel patch)\n",
        path, w, h, patch);
  (*skipped)++;
}

static void
note_summary (FILE *log, size_t skipped, size_t kept, const char *dir)
{
  if (log && skipped > 5)
    fprintf (log, "note: %zu images of %s skipped as smaller than the patch in all\n",
        skipped, dir);
  if (log)
    fprintf (log, "%s: %zu images\n", dir, kept);
}

/* Loads a degraded/clean pair into @a and @b (left for the caller to clear
 * on failure too): both must load and be the same size. */
static irc_status
load_pair (const char *input, const char *target, irc_image *a, irc_image *b, irc_error *err)
{
  irc_status st = irc_image_load (input, a, err);
  if (st == IRC_OK)
    st = irc_image_load (target, b, err);
  if (st == IRC_OK && (a->width != b->width || a->height != b->height))
    st = irc_fail (err, IRC_ERR_INVALID, "pair %s (%dx%d) and %s (%dx%d) differ in size",
        input, a->width, a->height, target, b->width, b->height);
  return st;
}

/* The file name of @path without folders and extension, into @out. */
static void
stem_of (const char *path, char *out, size_t size)
{
  const char *base = strrchr (path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr (base, '.');
  const size_t len = dot && dot > base ? (size_t) (dot - base) : strlen (base);
  snprintf (out, size, "%.*s", (int) (len < size ? len : size - 1), base);
}

/* Pairs go by name: the i-th input and target (sorted) must share their
 * file name up to the extension. Folders whose names all differ (a set with
 * naming of its own) pair in sorted order, with a note; a folder where some
 * names match and others do not has a file without its partner: an error
 * naming it, rather than a silently shifted pairing. */
static irc_status
check_pair_names (char **in, char **tg, size_t n, const char *input_dir, FILE *log,
    irc_error *err)
{
  char a[256], b[256];
  size_t same = 0, first_diff = n;
  for (size_t i = 0; i < n; i++) {
    stem_of (in[i], a, sizeof a);
    stem_of (tg[i], b, sizeof b);
    if (strcmp (a, b) == 0)
      same++;
    else if (first_diff == n)
      first_diff = i;
  }
  if (same == n)
    return IRC_OK;
  if (same == 0) {
    if (log)
      fprintf (log, "note: %s: no input shares its target's name; pairing in sorted order\n",
          input_dir);
    return IRC_OK;
  }
  return irc_fail (err, IRC_ERR_INVALID,
      "paired folders disagree: %s has no target of the same name (in sorted order it "
      "would pair with %s); %zu of %zu names match", in[first_diff], tg[first_diff], same, n);
}

irc_status
trd_add_pairs (trd_set *s, const char *input_dir, const char *target_dir, FILE *log,
    irc_error *err)
{
  char **in = NULL, **tg = NULL;
  size_t n_in = 0, n_tg = 0, skipped = 0, before = s->n;
  irc_status st = irc_image_list_dir (input_dir, &in, &n_in, err);
  if (st == IRC_OK)
    st = irc_image_list_dir (target_dir, &tg, &n_tg, err);
  if (st == IRC_OK && n_in != n_tg)
    st = irc_fail (err, IRC_ERR_INVALID,
        "paired folders disagree: %s has %zu images, %s has %zu (pairs are matched in "
        "sorted order)", input_dir, n_in, target_dir, n_tg);
  if (st == IRC_OK)
    st = check_pair_names (in, tg, n_in, input_dir, log, err);
  for (size_t i = 0; i < n_in && st == IRC_OK; i++) {
    irc_image a = { 0, 0, NULL }, b = { 0, 0, NULL };
    st = load_pair (in[i], tg[i], &a, &b, err);
    if (st == IRC_OK) {
      if (a.width < s->patch || a.height < s->patch)
        note_small (log, &skipped, in[i], a.width, a.height, s->patch);
      else
        st = push (s, &b, &a, err);
    }
    irc_image_clear (&a);
    irc_image_clear (&b);
  }
  irc_image_list_free (in, n_in);
  irc_image_list_free (tg, n_tg);
  if (st == IRC_OK && s->n == before)
    st = irc_fail (err, IRC_ERR_INVALID, "%s: no pair is at least %d x %d, the patch size",
        input_dir, s->patch, s->patch);
  if (st == IRC_OK)
    note_summary (log, skipped, s->n - before, input_dir);
  return st;
}

/* @img shrunk in place as the detector shrinks frames (irc_box_shrink). */
static irc_status
shrink (irc_image *img, int max_side, irc_error *err)
{
  int w, h;
  if (irc_box_shrink (img->data, img->width, img->height, max_side, NULL, &w, &h) == 1)
    return IRC_OK;
  float *d = malloc ((size_t) 3 * w * h * sizeof (float));
  if (!d)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory shrinking a %dx%d image",
        img->width, img->height);
  irc_box_shrink (img->data, img->width, img->height, max_side, d, &w, &h);
  free (img->data);
  img->data = d;
  img->width = w;
  img->height = h;
  return IRC_OK;
}

/* Every image of @dir as a clean image (@label -1) or a labelled one (the
 * kinds it holds), shrunk past @max_side (0: never), every @holdout-th left
 * out (0: none). */
static irc_status
add_folder (trd_set *s, const char *dir, int label, int max_side, int holdout, FILE *log,
    irc_error *err)
{
  char **paths = NULL;
  size_t n = 0, skipped = 0, before = s->n;
  irc_status st = irc_image_list_dir (dir, &paths, &n, err);
  if (st != IRC_OK)
    return st;   /* names the folder and says what is wrong with it */
  for (size_t i = 0; i < n && st == IRC_OK; i++) {
    if (holdout > 0 && i % (size_t) holdout == (size_t) holdout - 1)
      continue;
    irc_image img = { 0, 0, NULL };
    st = irc_image_load (paths[i], &img, err);
    if (st != IRC_OK)
      break;
    if (max_side > 0)
      st = shrink (&img, max_side, err);
    if (st == IRC_OK && (img.width < s->patch || img.height < s->patch))
      note_small (log, &skipped, paths[i], img.width, img.height, s->patch);
    else if (st == IRC_OK) {
      st = push (s, &img, NULL, err);
      if (st == IRC_OK && label >= 0) {
        s->img[s->n - 1].label = label;
        s->n_labelled++;
      }
    }
    irc_image_clear (&img);
  }
  irc_image_list_free (paths, n);
  if (st == IRC_OK && s->n == before)
    st = irc_fail (err, IRC_ERR_INVALID,
        "%s: none of its %zu images is at least %d x %d, the patch size", dir, n, s->patch,
        s->patch);
  if (st == IRC_OK)
    note_summary (log, skipped, s->n - before, dir);
  return st;
}

irc_status
trd_add_clean (trd_set *s, const char *dir, FILE *log, irc_error *err)
{
  return add_folder (s, dir, -1, 0, 0, log, err);
}

irc_status
trd_add_labelled (trd_set *s, const char *dir, unsigned kinds, int max_side, int holdout,
    FILE *log, irc_error *err)
{
  return add_folder (s, dir, (int) kinds, max_side, holdout, log, err);
}

/* The eight flips and rotations by 90 degrees: bit 0 mirrors left-right,
 * bit 1 top-bottom, bit 2 transposes. Maps a pixel of the augmented image
 * (@aw wide, @ah high) to the source. */
static inline size_t
src_index (int orient, int x, int y, int aw, int ah, int src_w)
{
  const int u = orient & 1 ? aw - 1 - x : x;
  const int v = orient & 2 ? ah - 1 - y : y;
  return orient & 4 ? (size_t) u * src_w + v : (size_t) v * src_w + u;
}

/* Copies the @w x @h window at (@x0, @y0) of the augmented image into @dst
 * as float, from 8-bit @src. */
static void
extract (float *dst, const uint8_t *src, int sw, int sh, int orient, int x0, int y0,
    int w, int h)
{
  const int aw = orient & 4 ? sh : sw, ah = orient & 4 ? sw : sh;
  const size_t plane = (size_t) sw * sh;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        dst[((size_t) c * h + y) * w + x] =
            src[c * plane + src_index (orient, x0 + x, y0 + y, aw, ah, sw)] * (1.0f / 255.0f);
}

/* The @p x @p square at (@x0, @y0) of a @w-wide planar image. */
static void
crop_planes (float *dst, const float *src, int w, int h, int x0, int y0, int p)
{
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < p; y++)
      memcpy (dst + ((size_t) c * p + y) * p, src + ((size_t) c * h + y0 + y) * w + x0,
          (size_t) p * sizeof (float));
}

static int
clampi (int v, int lo, int hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* --compress-prob: the degraded crop @lq goes through a JPEG at a drawn
 * quality, as footage goes through a codec after the sensor, so the model
 * meets noise and rain that compression has already smoothed and blocked.
 * The crop's origin is the 8x8 grid's, as a frame's is at inference. Its
 * own stream, so that runs without it keep their bits. */
static irc_status
maybe_compress (const trd_set *s, uint64_t deg_seed, float *lq, irc_error *err)
{
  if (!(s->deg.compress_prob > 0.0f))
    return IRC_OK;
  irc_rng rng;
  irc_rng_seed (&rng, deg_seed, 6);
  if (!(irc_rng_uniform (&rng) < s->deg.compress_prob))
    return IRC_OK;
  const int lo = s->deg.compress_quality_min, hi = s->deg.compress_quality_max;
  const int quality = lo + (int) irc_rng_below (&rng, (uint32_t) (hi - lo + 1));
  irc_image crop = { s->patch, s->patch, lq };
  return irc_image_jpeg_roundtrip (&crop, quality, err);
}

/* What @plan does to a crop, as the degradation head's targets (data.h):
 * presence, then a strength in [0, 1] on a scale that covers the
 * generator's range. */
static void
plan_targets (float *t, const irc_plan *plan)
{
  memset (t, 0, TRD_TARGETS * sizeof (float));
  if (!plan)
    return;
  if (plan->use[IRC_DEG_RAIN]) {
    t[0] = 1.0f;
    t[4] = fminf (1.0f, fmaxf (0.0f, (plan->rain.layers - 1) / 4.0f));
  }
  if (plan->use[IRC_DEG_HAZE]) {
    t[1] = 1.0f;
    t[5] = fminf (1.0f, fmaxf (0.0f, plan->haze.beta / 0.2f));
  }
  if (plan->use[IRC_DEG_NOISE]) {
    t[2] = 1.0f;
    t[6] = fminf (1.0f, fmaxf (0.0f, plan->noise.sigma / 50.0f));
  }
  if (plan->use[IRC_DEG_BLUR]) {
    const int side = plan->kernel.width > plan->kernel.height ? plan->kernel.width
        : plan->kernel.height;
    t[3] = 1.0f;
    t[7] = fminf (1.0f, fmaxf (0.0f, (side - 5) / 26.0f));
  }
}

/* A paired sample holds its task's degradation, a labelled one its label;
 * the strength of either is unknown (-1: the loss skips it). */
static void
known_targets (float *t, unsigned kinds)
{
  for (int k = 0; k < 4; k++) {
    t[k] = kinds & (1u << k) ? 1.0f : 0.0f;
    t[4 + k] = kinds & (1u << k) ? -1.0f : 0.0f;
  }
}

static void
pair_targets (float *t, trd_task task)
{
  const int kind = task == TRD_DERAIN ? 0 : task == TRD_DEHAZE ? 1 : task == TRD_DEBLUR ? 3
      : task == TRD_DENOISE ? 2 : -1;
  known_targets (t, kind >= 0 ? 1u << kind : 0u);
}

static irc_status
make_sample (trd_set *s, const trd_image *im, uint64_t geo_seed, uint64_t deg_seed,
    float *lq, float *gt, float *ctx, float *targets, irc_error *err)
{
  const int P = s->patch;
  irc_rng geo, deg;
  irc_rng_seed (&geo, geo_seed, 3);
  irc_rng_seed (&deg, deg_seed, 4);
  irc_plan plan;
  memset (&plan, 0, sizeof plan);
  const int synth = !im->input && im->label < 0 && s->deg.task != TRD_DENOISE;
  if (synth) {
    irc_status st = irc_plan_sample (&plan, generator_task (s->deg.task), &s->opts, &deg, err);
    if (st != IRC_OK)
      return st;
  }
  const int haze = synth && plan.use[IRC_DEG_HAZE];
  int orient = (int) irc_rng_below (&geo, 8);
  if (haze || im->label >= 0)
    orient &= 1;   /* haze lies thicker toward the top of the frame, real rain falls
                      down it: mirror only */
  const int aw = orient & 4 ? im->height : im->width;
  const int ah = orient & 4 ? im->width : im->height;
  const int px = (int) irc_rng_below (&geo, (uint32_t) (aw - P + 1));
  const int py = (int) irc_rng_below (&geo, (uint32_t) (ah - P + 1));

  if (targets)
    plan_targets (targets, synth ? &plan : NULL);
  if (im->label >= 0) {
    /* a real photo as it is: what it holds is its label */
    if (targets)
      known_targets (targets, (unsigned) im->label);
    extract (gt, im->clean, im->width, im->height, orient, px, py, P, P);
    memcpy (lq, gt, (size_t) 3 * P * P * sizeof (float));
    return IRC_OK;
  }
  if (im->input) {
    if (targets)
      pair_targets (targets, s->deg.task);
    extract (gt, im->clean, im->width, im->height, orient, px, py, P, P);
    extract (lq, im->input, im->width, im->height, orient, px, py, P, P);
    return IRC_OK;
  }
  if (s->deg.clean_prob > 0.0f) {
    /* its own stream, so that runs without clean crops keep their bits */
    irc_rng keep;
    irc_rng_seed (&keep, deg_seed, 5);
    if (irc_rng_uniform (&keep) < s->deg.clean_prob) {
      irc_plan_clear (&plan);
      extract (gt, im->clean, im->width, im->height, orient, px, py, P, P);
      memcpy (lq, gt, (size_t) 3 * P * P * sizeof (float));
      if (targets) {
        plan_targets (targets, NULL);
        return maybe_compress (s, deg_seed, lq, err);
      }
      return IRC_OK;
    }
  }
  if (!synth) {
    /* blind AWGN in float, unclipped, as the paper trains denoising */
    extract (gt, im->clean, im->width, im->height, orient, px, py, P, P);
    memcpy (lq, gt, (size_t) 3 * P * P * sizeof (float));
    if (targets) {
      /* the draw's sigma stays inside irc_degrade_noise: the range's middle */
      targets[2] = 1.0f;
      targets[6] = fminf (1.0f, (s->deg.sigma_min + s->deg.sigma_max) / 100.0f);
    }
    irc_noise_params np = { s->deg.sigma_min, s->deg.sigma_max, 0.0f, 0, 0 };
    irc_status st = irc_degrade_noise (lq, P, P, &np, &deg, err);
    return st == IRC_OK ? maybe_compress (s, deg_seed, lq, err) : st;
  }
  int cx0, cy0, cw, ch;
  if (haze) {
    cw = aw < HAZE_CONTEXT ? aw : HAZE_CONTEXT;
    ch = ah < HAZE_CONTEXT ? ah : HAZE_CONTEXT;
    cx0 = clampi (px + P / 2 - cw / 2, 0, aw - cw);
    cy0 = clampi (py + P / 2 - ch / 2, 0, ah - ch);
  } else {
    cx0 = px - CTX_MARGIN > 0 ? px - CTX_MARGIN : 0;
    cy0 = py - CTX_MARGIN > 0 ? py - CTX_MARGIN : 0;
    cw = (px + P + CTX_MARGIN < aw ? px + P + CTX_MARGIN : aw) - cx0;
    ch = (py + P + CTX_MARGIN < ah ? py + P + CTX_MARGIN : ah) - cy0;
  }
  extract (ctx, im->clean, im->width, im->height, orient, cx0, cy0, cw, ch);
  crop_planes (gt, ctx, cw, ch, px - cx0, py - cy0, P);
  irc_status st = irc_plan_apply (&plan, ctx, cw, ch, &deg, err);
  irc_plan_clear (&plan);
  if (st == IRC_OK)
    crop_planes (lq, ctx, cw, ch, px - cx0, py - cy0, P);
  return st == IRC_OK ? maybe_compress (s, deg_seed, lq, err) : st;
}

/* The index of the @k-th image that is paired (@paired) or clean, leaving
 * labelled images out. */
static size_t
nth_of_kind (const trd_set *s, int paired, size_t k)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->img[i].label < 0 && (s->img[i].input != NULL) == paired && k-- == 0)
      return i;
  return 0;
}

/* The index of the @k-th labelled image (@labelled) or of the others. */
static size_t
nth_labelled (const trd_set *s, int labelled, size_t k)
{
  for (size_t i = 0; i < s->n; i++)
    if ((s->img[i].label >= 0) == labelled && k-- == 0)
      return i;
  return 0;
}

irc_status
trd_batch (trd_set *s, float *lq, float *gt, irc_error *err)
{
  enum { MAX_BATCH = 1024 };
  const int B = s->batch, P = s->patch;
  if (s->n == 0)
    return irc_fail (err, IRC_ERR_INVALID, "no training images");
  if (B < 1 || B > MAX_BATCH)
    return irc_fail (err, IRC_ERR_INVALID, "batch %d out of range", B);
  if (!s->scratch) {
    /* only haze (dehaze, auto) looks beyond the crop's margin */
    const int hazy = s->deg.task == TRD_DEHAZE || s->deg.task == TRD_AUTO;
    const int side = hazy && HAZE_CONTEXT > P + 2 * CTX_MARGIN ? HAZE_CONTEXT
        : P + 2 * CTX_MARGIN;
    s->scratch_per = (size_t) 3 * side * side;
    s->scratch = malloc (s->scratch_per * B * sizeof (float));
    if (!s->scratch)
      return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the batch scratch");
  }
  const int drawn = B * (s->shares > 1 ? s->shares : 1), first = B * s->share_index;
  if (drawn > MAX_BATCH || s->share_index < 0 || first >= drawn)
    return irc_fail (err, IRC_ERR_INVALID, "batch share %d of %d out of range", s->share_index,
        s->shares);
  size_t item[MAX_BATCH];
  uint64_t gseed[MAX_BATCH], dseed[MAX_BATCH];
  /* --pairs-prob: the share of paired samples is a rule, not the accident of
   * how many files each kind of folder holds; without it (or without both
   * kinds) every image is equally likely, as before, with the same draws */
  const size_t n_plain = s->n - s->n_labelled;   /* clean and paired */
  const int mix = s->deg.pairs_prob > 0.0f && s->n_pairs > 0 && s->n_pairs < n_plain;
  /* --labelled-prob: the same rule for the labelled photos, drawn first */
  const int mix_labelled = s->deg.labelled_prob > 0.0f && s->n_labelled > 0 && n_plain > 0;
  for (int i = 0; i < drawn; i++) {
    if (mix_labelled && irc_rng_uniform (&s->crop_rng) < s->deg.labelled_prob) {
      item[i] = nth_labelled (s, 1,
          irc_rng_below (&s->crop_rng, (uint32_t) s->n_labelled));
    } else if (mix) {
      const int paired = irc_rng_uniform (&s->crop_rng) < s->deg.pairs_prob;
      const size_t k = irc_rng_below (&s->crop_rng,
          (uint32_t) (paired ? s->n_pairs : n_plain - s->n_pairs));
      item[i] = nth_of_kind (s, paired, k);
    } else if (mix_labelled) {
      item[i] = nth_labelled (s, 0, irc_rng_below (&s->crop_rng, (uint32_t) n_plain));
    } else {
      item[i] = irc_rng_below (&s->crop_rng, (uint32_t) s->n);
    }
    gseed[i] = irc_rng_u64 (&s->crop_rng);
    dseed[i] = irc_rng_u64 (&s->deg_rng);
  }
  irc_status status[MAX_BATCH];
  irc_error errs[MAX_BATCH];
  const size_t stride = (size_t) 3 * P * P;
#pragma omp parallel for schedule(dynamic, 1)
  for (int i = 0; i < B; i++) {
    errs[i].status = IRC_OK;
    errs[i].message[0] = 0;
    status[i] = make_sample (s, &s->img[item[first + i]], gseed[first + i], dseed[first + i],
        lq + i * stride, gt + i * stride, s->scratch + i * s->scratch_per,
        s->targets ? s->targets + (size_t) i * TRD_TARGETS : NULL, &errs[i]);
  }
  for (int i = 0; i < B; i++)
    if (status[i] != IRC_OK) {
      if (err)
        *err = errs[i];
      return status[i];
    }
  return IRC_OK;
}

/* ------------------------------------------------------------ validation */

void
trd_val_clear (trd_val *v)
{
  for (size_t i = 0; i < v->n; i++) {
    free (v->lq[i]);
    free (v->gt[i]);
  }
  free (v->lq);
  free (v->gt);
  free (v->width);
  free (v->height);
  memset (v, 0, sizeof *v);
}

static irc_status
val_alloc (trd_val *v, size_t n, irc_error *err)
{
  memset (v, 0, sizeof *v);
  v->lq = calloc (n, sizeof *v->lq);
  v->gt = calloc (n, sizeof *v->gt);
  v->width = calloc (n, sizeof *v->width);
  v->height = calloc (n, sizeof *v->height);
  if (!v->lq || !v->gt || !v->width || !v->height) {
    trd_val_clear (v);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the validation set");
  }
  return IRC_OK;
}

/* The centered crop of at most @max_side of @img, as a new buffer. */
static float *
center_crop (const irc_image *img, int max_side, int *w, int *h)
{
  *w = img->width < max_side ? img->width : max_side;
  *h = img->height < max_side ? img->height : max_side;
  const int x0 = (img->width - *w) / 2, y0 = (img->height - *h) / 2;
  float *d = malloc ((size_t) 3 * *w * *h * sizeof (float));
  if (!d)
    return NULL;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < *h; y++)
      memcpy (d + ((size_t) c * *h + y) * *w,
          img->data + ((size_t) c * img->height + y0 + y) * img->width + x0,
          (size_t) *w * sizeof (float));
  return d;
}

static void
val_extent (trd_val *v, int w, int h)
{
  if (w > v->max_w)
    v->max_w = w;
  if (h > v->max_h)
    v->max_h = h;
}

irc_status
trd_val_clean (trd_val *v, const char *dir, int max_side, const trd_degradation *deg,
    irc_error *err)
{
  char **paths = NULL;
  size_t n = 0;
  irc_status st = irc_image_list_dir (dir, &paths, &n, err);
  if (st != IRC_OK)
    return st;
  st = val_alloc (v, n, err);
  irc_plan_options o;
  options_for (&o, deg);
  for (size_t i = 0; i < n && st == IRC_OK; i++) {
    irc_image img = { 0, 0, NULL };
    st = irc_image_load (paths[i], &img, err);
    int w = 0, h = 0;
    if (st == IRC_OK) {
      v->gt[i] = center_crop (&img, max_side, &w, &h);
      v->lq[i] = malloc ((size_t) 3 * w * h * sizeof (float));
      v->n = i + 1;
      v->width[i] = w;
      v->height[i] = h;
      if (!v->gt[i] || !v->lq[i])
        st = irc_fail (err, IRC_ERR_NOMEM, "out of memory for the validation set");
    }
    irc_image_clear (&img);
    if (st != IRC_OK)
      break;
    memcpy (v->lq[i], v->gt[i], (size_t) 3 * w * h * sizeof (float));
    val_extent (v, w, h);
    /* a fixed seed per image, so every run and every resume sees the same set */
    irc_rng rng;
    irc_rng_seed (&rng, VAL_SEED, i);
    if (deg->task == TRD_DENOISE) {
      const float sigma = 0.5f * (deg->sigma_min + deg->sigma_max);
      irc_noise_params np = { sigma, sigma, 0.0f, 0, 0 };
      st = irc_degrade_noise (v->lq[i], w, h, &np, &rng, err);
    } else {
      st = irc_degrade (v->lq[i], w, h, generator_task (deg->task), &o, &rng, err);
    }
  }
  irc_image_list_free (paths, n);
  if (st != IRC_OK)
    trd_val_clear (v);
  return st;
}

irc_status
trd_val_pairs (trd_val *v, const char *input_dir, const char *target_dir, int max_side,
    irc_error *err)
{
  char **in = NULL, **tg = NULL;
  size_t n_in = 0, n_tg = 0;
  irc_status st = irc_image_list_dir (input_dir, &in, &n_in, err);
  if (st == IRC_OK)
    st = irc_image_list_dir (target_dir, &tg, &n_tg, err);
  if (st == IRC_OK && n_in != n_tg)
    st = irc_fail (err, IRC_ERR_INVALID,
        "validation folders disagree: %s has %zu images, %s has %zu", input_dir, n_in,
        target_dir, n_tg);
  if (st == IRC_OK)
    st = val_alloc (v, n_in, err);
  for (size_t i = 0; i < n_in && st == IRC_OK; i++) {
    irc_image a = { 0, 0, NULL }, b = { 0, 0, NULL };
    st = load_pair (in[i], tg[i], &a, &b, err);
    if (st == IRC_OK) {
      int w, h;
      v->lq[i] = center_crop (&a, max_side, &w, &h);
      v->gt[i] = center_crop (&b, max_side, &w, &h);
      v->n = i + 1;
      v->width[i] = w;
      v->height[i] = h;
      val_extent (v, w, h);
      if (!v->lq[i] || !v->gt[i])
        st = irc_fail (err, IRC_ERR_NOMEM, "out of memory for the validation set");
    }
    irc_image_clear (&a);
    irc_image_clear (&b);
  }
  irc_image_list_free (in, n_in);
  irc_image_list_free (tg, n_tg);
  if (st != IRC_OK)
    trd_val_clear (v);
  return st;
}
