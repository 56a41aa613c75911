/* irc-eval: PSNR/SSIM (RGB and Y, BasicSR's definitions) of a model on paired
 * folders or on clean folders degraded with a fixed seed, and of one folder
 * against another; a table on stdout, CSV, side-by-side PNGs. */
#include "degrade-probe.h"
#include "io/degrade.h"
#include "io/image.h"
#include "io/metrics.h"
#include "irc/runner.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* White gap between the panels of a side-by-side image. */
#define PANEL_GAP 4

/* task=auto's confidence rule as the element applies it */
static float
default_route_confidence (void)
{
  const irc_runner_params defaults = IRC_RUNNER_DEFAULTS;
  return defaults.route_confidence;
}

static void
usage (FILE *fp)
{
  fprintf (fp,
      "Usage: irc-eval --model FILE --pairs INPUT_DIR TARGET_DIR [OPTIONS]\n"
      "       irc-eval --model FILE --clean DIR --degrade TASK [--sigma S]\n"
      "                [--kernel FILE] [--seed N] [OPTIONS]\n"
      "       irc-eval --compare DIR_A DIR_B [--csv OUT.csv] [--side-by-side DIR]\n"
      "                [--limit N]\n"
      "       irc-eval probe --model FILE --set TRUTH=DIR[@TASK] ... (the degradation\n"
      "                the style code reads; 'irc-eval probe --help')\n"
      "\n"
      "Measures a restoration model: PSNR and SSIM of its input and of its output\n"
      "against the clean target, per image and averaged, as BasicSR computes them\n"
      "(the authors' test code): both images quantised to 8 bits (clamp to [0,1],\n"
      "x255, round); PSNR over all samples; SSIM with an 11x11 Gaussian window\n"
      "(sigma 1.5) over the valid region, averaged over channels; Y = 16 + 65.481 R\n"
      "+ 128.553 G + 24.966 B, not rounded. Identical images give PSNR 100 dB (the\n"
      "cap; BasicSR prints inf). The model sees each image at its own size: the\n"
      "network pads it to a multiple of 8 and crops back, and the metrics are taken\n"
      "on the original size (the authors' script measured the padded images).\n"
      "\n"
      "Modes:\n"
      "  --pairs INPUT_DIR TARGET_DIR\n"
      "                     degraded inputs and their clean targets. A target is found\n"
      "                     by the same name, the same name with another extension, or\n"
      "                     the input's leading ID before '_' (SOTS: 0004_0.9_0.12.jpg\n"
      "                     -> 0004.png); failing that for any input, folders with\n"
      "                     equally many images pair in sorted order\n"
      "  --clean DIR --degrade TASK\n"
      "                     clean images degraded here, reproducibly: image i (in\n"
      "                     sorted order) draws from --seed on stream i, the draws\n"
      "                     of 'irc-degrade --seed N' on the folder (which saves 8\n"
      "                     bits: --quantize matches it), except noise with\n"
      "                     --sigma. TASK: rain, rain-light, rain-heavy, haze,\n"
      "                     noise, blur, mix\n"
      "  --compare DIR_A DIR_B\n"
      "                     no model: A measured against B (paired as above)\n"
      "\n"
      "Options:\n"
      "  -m, --model FILE     the model (.safetensors)\n"
      "      --sigma S        noise: plain Gaussian noise of std S (0-255 units)\n"
      "                       added in float, not clipped (the benchmark protocol);\n"
      "                       without it noise draws sigma in 0-50 as in training.\n"
      "                       mix: the noise step's sigma\n"
      "      --kernel FILE    blur (or mix): blur with this kernel (text, one row per\n"
      "                       line, e.g. a Levin kernel)\n"
      "  -s, --seed N         degradation seed (default 0)\n"
      "      --quantize       round degraded inputs to 8 bits before the model, as a\n"
      "                       saved image or a video frame would be\n"
      "      --jpeg Q         then compress each degraded input to a JPEG of quality\n"
      "                       Q (1-100, 4:2:0) and decode it, as a codec would (the\n"
      "                       input becomes 8-bit); the same draws as without it\n"
      "      --csv FILE       also write the table as CSV (written whole at the end)\n"
      "      --side-by-side DIR\n"
      "                       write input | output | target as DIR/NAME.png\n"
      "                       (--compare: A | B)\n"
      "  -b, --backend NAME   cpu (default), reference, vulkan or auto\n"
      "  -j, --threads N      CPU threads (default 0: all cores)\n"
      "      --tlc N          channel-attention pooling window in pixels (0: global,\n"
      "                       as the paper; default: the model's own, as the\n"
      "                       element runs it: its tlc_window metadata, else 1.5x\n"
      "                       its training patch, else global)\n"
      "  -n, --limit N        only the first N images (sorted order)\n"
      "      --route DIR      task=auto as the element runs it: each image is one\n"
      "                       scene, read by the detector (DIR/detect.safetensors, or\n"
      "                       the model's own degradation head) and restored by\n"
      "                       DIR/derain, dehaze, denoise or deblur.safetensors when\n"
      "                       read as that kind alone with confidence at least\n"
      "                       --route-confidence, else (clean, mixtures, doubt) by\n"
      "                       --model\n"
      "      --route-confidence C\n"
      "                       with --route: the element's rule (default %.2g)\n"
      "      --route-clean    with --route: leave images read as clean as they are\n"
      "  -h, --help           this help\n"
      "\n"
      "Columns: in_* are the degraded input against the target, out_* the model's\n"
      "output; psnr/ssim on RGB, *_y on the Y channel. The last row is the mean\n"
      "over the images.\n"
      "\n"
      "Exit status: 0 success, 1 runtime error (unreadable files, images that do\n"
      "not pair or differ in size, model errors), 2 usage error.\n",
      (double) default_route_confidence ());
}

static int
usage_error (const char *fmt, const char *arg)
{
  fprintf (stderr, "irc-eval: ");
  fprintf (stderr, fmt, arg);
  fprintf (stderr, "\nTry 'irc-eval --help'.\n");
  return EXIT_USAGE;
}

static int
parse_long (const char *s, long long lo, long long hi, long long *out)
{
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int
parse_float (const char *s, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return -1;
  *out = v;
  return 0;
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------- pairing */

/* One image to measure: its display name, the degraded input file (NULL when
 * degraded here) and the clean target (or B of --compare). */
typedef struct {
  const char *name;     /* points into input's or target's path */
  const char *input;
  const char *target;
  size_t index;         /* position in the sorted list: the degradation stream */
} item;

/* @path relative to the listed folder @dir. */
static const char *
rel_name (const char *path, const char *dir)
{
  size_t prefix = strlen (dir);
  while (prefix > 1 && dir[prefix - 1] == '/')
    prefix--;
  const char *rel = path + prefix;
  while (*rel == '/')
    rel++;
  return rel;
}

/* Length of @rel without its extension. */
static size_t
stem_len (const char *rel)
{
  const char *slash = strrchr (rel, '/');
  const char *dot = strrchr (rel, '.');
  if (dot && (!slash || dot > slash))
    return (size_t) (dot - rel);
  return strlen (rel);
}

/* Length of @rel's leading ID: its stem up to the first '_' of the file name
 * (SOTS and RESIDE name hazy images ID_airlight_beta). */
static size_t
id_len (const char *rel)
{
  const char *slash = strrchr (rel, '/');
  const char *base = slash ? slash + 1 : rel;
  size_t n = stem_len (rel);
  const char *us = memchr (base, '_', n - (size_t) (base - rel));
  return us ? (size_t) (us - rel) : n;
}

/* The target for input @a among @b[0..nb): same relative name, then the same
 * stem, then a target whose stem is @a's leading ID. -1 when none. */
static long
find_target (const char *a, const char *const *b, size_t nb)
{
  for (size_t j = 0; j < nb; j++)
    if (strcmp (a, b[j]) == 0)
      return (long) j;
  size_t sa = stem_len (a);
  for (size_t j = 0; j < nb; j++)
    if (stem_len (b[j]) == sa && strncmp (a, b[j], sa) == 0)
      return (long) j;
  size_t ia = id_len (a);
  if (ia < sa)
    for (size_t j = 0; j < nb; j++)
      if (stem_len (b[j]) == ia && strncmp (a, b[j], ia) == 0)
        return (long) j;
  return -1;
}

typedef struct {
  char **a, **b;        /* listed paths */
  size_t na, nb;
  item *items;
  size_t n;
} item_list;

static void
item_list_clear (item_list *l)
{
  irc_image_list_free (l->a, l->na);
  irc_image_list_free (l->b, l->nb);
  free (l->items);
  memset (l, 0, sizeof *l);
}

/* Pairs the images of @dir_a with those of @dir_b (see --help). */
static int
pair_folders (const char *dir_a, const char *dir_b, item_list *l)
{
  irc_error err = { 0 };
  if (irc_image_list_dir (dir_a, &l->a, &l->na, &err) != IRC_OK
      || irc_image_list_dir (dir_b, &l->b, &l->nb, &err) != IRC_OK) {
    fprintf (stderr, "irc-eval: %s\n", err.message);
    return EXIT_RUNTIME;
  }
  const char **rb = malloc (l->nb * sizeof *rb);
  l->items = calloc (l->na, sizeof *l->items);
  if (!rb || !l->items) {
    free (rb);
    fprintf (stderr, "irc-eval: out of memory\n");
    return EXIT_RUNTIME;
  }
  for (size_t j = 0; j < l->nb; j++)
    rb[j] = rel_name (l->b[j], dir_b);
  const char *unmatched = NULL;
  for (size_t i = 0; i < l->na; i++) {
    const char *ra = rel_name (l->a[i], dir_a);
    long j = find_target (ra, rb, l->nb);
    if (j < 0) {
      unmatched = ra;
      break;
    }
    l->items[i] = (item) { ra, l->a[i], l->b[j], i };
  }
  free (rb);
  if (unmatched) {
    if (l->na != l->nb) {
      fprintf (stderr, "irc-eval: cannot pair %s/%s: no file of the same name or leading ID"
          " in %s, and the folders hold different numbers of images (%zu and %zu)\n",
          dir_a, unmatched, dir_b, l->na, l->nb);
      return EXIT_RUNTIME;
    }
    /* Benchmarks like Rain100H name the two sides differently (rain-001,
     * norain-001) but in parallel: sorted order pairs them. */
    fprintf (stderr, "irc-eval: note: names differ (%s has no match in %s); pairing the"
        " %zu images in sorted order\n", unmatched, dir_b, l->na);
    for (size_t i = 0; i < l->na; i++)
      l->items[i] = (item) { rel_name (l->a[i], dir_a), l->a[i], l->b[i], i };
  }
  l->n = l->na;
  return 0;
}

static int
list_clean (const char *dir, item_list *l)
{
  irc_error err = { 0 };
  if (irc_image_list_dir (dir, &l->b, &l->nb, &err) != IRC_OK) {
    fprintf (stderr, "irc-eval: %s\n", err.message);
    return EXIT_RUNTIME;
  }
  l->items = calloc (l->nb, sizeof *l->items);
  if (!l->items) {
    fprintf (stderr, "irc-eval: out of memory\n");
    return EXIT_RUNTIME;
  }
  for (size_t i = 0; i < l->nb; i++)
    l->items[i] = (item) { rel_name (l->b[i], dir), NULL, l->b[i], i };
  l->n = l->nb;
  return 0;
}

/* --------------------------------------------------------- degradation */

typedef struct {
  irc_task task;
  irc_plan_options opts;
  double sigma;          /* < 0: not given */
  uint64_t seed;
  int quantize;
  int jpeg_quality;      /* 0: no compression */
} degrade_spec;

/* Degrades @img (the clean target's copy) for image @index: every draw comes
 * from (seed, stream @index), so a seed always gives the same inputs. */
static irc_status
degrade_image (const degrade_spec *d, size_t index, irc_image *img, irc_error *err)
{
  irc_rng rng;
  irc_rng_seed (&rng, d->seed, (uint64_t) index);
  irc_plan plan;
  irc_status st;
  if (d->task == IRC_TASK_NOISE && d->sigma >= 0.0) {
    /* The denoising benchmarks' protocol (the authors' test script too):
     * Gaussian noise added in float, no clipping, no shot noise. */
    memset (&plan, 0, sizeof plan);
    plan.use[IRC_DEG_NOISE] = 1;
    irc_noise_preset (&plan.noise, (float) d->sigma);
    plan.noise.clip = 0;
    plan.noise.quantize = 0;
    st = IRC_OK;
  } else {
    st = irc_plan_sample (&plan, d->task, &d->opts, &rng, err);
  }
  if (st == IRC_OK)
    st = irc_plan_apply (&plan, img->data, img->width, img->height, &rng, err);
  irc_plan_clear (&plan);
  if (st == IRC_OK && d->quantize) {
    size_t n = (size_t) 3 * img->width * img->height;
    for (size_t i = 0; i < n; i++) {
      float x = img->data[i];
      x = x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f;
      img->data[i] = rintf (x * 255.0f) / 255.0f;
    }
  }
  if (st == IRC_OK && d->jpeg_quality > 0)
    st = irc_image_jpeg_roundtrip (img, d->jpeg_quality, err);
  return st;
}

/* ------------------------------------------------------------- output */

/* The columns of a model run: input vs target, output vs target. */
typedef struct {
  irc_metrics in, out;
} row;

static void
print_header (FILE *fp, int width, int compare)
{
  if (compare)
    fprintf (fp, "%-*s %9s %8s %9s %8s\n", width, "name", "psnr", "ssim", "psnr_y", "ssim_y");
  else
    fprintf (fp, "%-*s %9s %8s %9s %8s %9s %10s %9s %10s\n", width, "name", "in_psnr",
        "in_ssim", "out_psnr", "out_ssim", "in_psnr_y", "out_psnr_y", "in_ssim_y",
        "out_ssim_y");
}

static void
print_row (FILE *fp, int width, const char *name, const row *r, int compare)
{
  if (compare)
    fprintf (fp, "%-*s %9.3f %8.4f %9.3f %8.4f\n", width, name, r->in.psnr_rgb,
        r->in.ssim_rgb, r->in.psnr_y, r->in.ssim_y);
  else
    fprintf (fp, "%-*s %9.3f %8.4f %9.3f %8.4f %9.3f %10.3f %9.4f %10.4f\n", width, name,
        r->in.psnr_rgb, r->in.ssim_rgb, r->out.psnr_rgb, r->out.ssim_rgb, r->in.psnr_y,
        r->out.psnr_y, r->in.ssim_y, r->out.ssim_y);
}

/* A CSV field: quoted when it holds a separator, a quote or a line break. */
static void
csv_name (FILE *fp, const char *s)
{
  if (!strpbrk (s, ",\"\n\r")) {
    fputs (s, fp);
    return;
  }
  fputc ('"', fp);
  for (; *s; s++) {
    if (*s == '"')
      fputc ('"', fp);
    fputc (*s, fp);
  }
  fputc ('"', fp);
}

static void
csv_row (FILE *fp, const char *name, const row *r, int compare)
{
  csv_name (fp, name);
  if (compare)
    fprintf (fp, ",%.6f,%.6f,%.6f,%.6f\n", r->in.psnr_rgb, r->in.ssim_rgb, r->in.psnr_y,
        r->in.ssim_y);
  else
    fprintf (fp, ",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", r->in.psnr_rgb,
        r->in.ssim_rgb, r->out.psnr_rgb, r->out.ssim_rgb, r->in.psnr_y, r->out.psnr_y,
        r->in.ssim_y, r->out.ssim_y);
}

/* The CSV goes under a temporary name, renamed when complete: a failed or
 * interrupted run never leaves a truncated table that looks whole. It is
 * opened before the run so an unwritable path fails at once, not after an
 * hour of inference. */
typedef struct {
  const char *path;
  char *tmp;
  FILE *fp;
} csv_file;

static int
csv_open (csv_file *f, const char *path)
{
  size_t need = strlen (path) + 8;
  f->path = path;
  f->fp = NULL;
  f->tmp = malloc (need);
  if (!f->tmp) {
    fprintf (stderr, "irc-eval: out of memory\n");
    return EXIT_RUNTIME;
  }
  snprintf (f->tmp, need, "%s.tmp", path);
  f->fp = fopen (f->tmp, "w");
  if (!f->fp) {
    fprintf (stderr, "irc-eval: cannot write %s: %s\n", f->tmp, strerror (errno));
    free (f->tmp);
    f->tmp = NULL;
    return EXIT_RUNTIME;
  }
  return 0;
}

/* Removes the temporary file of a run that failed. NULL-safe. */
static void
csv_abandon (csv_file *f)
{
  if (f->fp) {
    fclose (f->fp);
    remove (f->tmp);
  }
  free (f->tmp);
  memset (f, 0, sizeof *f);
}

static int
csv_finish (csv_file *f, const item *items, const row *rows, size_t n, const row *mean,
    int compare)
{
  FILE *fp = f->fp;
  fputs (compare ? "name,psnr,ssim,psnr_y,ssim_y\n"
      : "name,in_psnr,in_ssim,out_psnr,out_ssim,in_psnr_y,out_psnr_y,in_ssim_y,out_ssim_y\n",
      fp);
  for (size_t i = 0; i < n; i++)
    csv_row (fp, items[i].name, &rows[i], compare);
  csv_row (fp, "mean", mean, compare);
  int bad = ferror (fp);
  f->fp = NULL;
  if (fclose (fp) != 0 || bad || rename (f->tmp, f->path) != 0) {
    fprintf (stderr, "irc-eval: cannot write %s: %s\n", f->path, strerror (errno));
    remove (f->tmp);
    free (f->tmp);
    f->tmp = NULL;
    return EXIT_RUNTIME;
  }
  free (f->tmp);
  f->tmp = NULL;
  return 0;
}

static int
make_dir (const char *p)
{
  struct stat sb;
  if (mkdir (p, 0755) == 0 || (errno == EEXIST && stat (p, &sb) == 0 && S_ISDIR (sb.st_mode)))
    return 0;
  fprintf (stderr, "irc-eval: cannot create folder %s: %s\n", p,
      errno == EEXIST ? "a file is in the way" : strerror (errno));
  return -1;
}

/* Writes the @n panels (same size) side by side as DIR/NAME.png, with the
 * name's folder separators flattened so one folder holds them all. */
static int
save_side_by_side (const char *dir, const char *name, const float *const *panels, int n,
    int w, int h)
{
  irc_error err = { 0 };
  irc_image out = { 0 };
  int W = n * w + (n - 1) * PANEL_GAP;
  if (irc_image_alloc (&out, W, h, &err) != IRC_OK) {
    fprintf (stderr, "irc-eval: %s\n", err.message);
    return EXIT_RUNTIME;
  }
  size_t plane = (size_t) W * h;
  for (size_t i = 0; i < 3 * plane; i++)
    out.data[i] = 1.0f;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int p = 0; p < n; p++)
        memcpy (out.data + c * plane + (size_t) y * W + (size_t) p * (w + PANEL_GAP),
            panels[p] + ((size_t) c * h + y) * w, (size_t) w * sizeof (float));

  size_t need = strlen (dir) + strlen (name) + 8;
  char *path = malloc (need);
  int rc = 0;
  if (!path) {
    fprintf (stderr, "irc-eval: out of memory\n");
    rc = EXIT_RUNTIME;
  } else {
    int len = snprintf (path, need, "%s/", dir);
    size_t stem = stem_len (name);
    for (size_t i = 0; i < stem; i++)
      path[len++] = name[i] == '/' ? '_' : name[i];
    strcpy (path + len, ".png");
    if (irc_image_save (path, &out, 0, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: %s\n", err.message);
      rc = EXIT_RUNTIME;
    }
  }
  free (path);
  irc_image_clear (&out);
  return rc;
}

/* ----------------------------------------------------------------- main */

typedef struct {
  const char *model_path;
  const char *side_dir;
  const char *csv_path;
  csv_file csv;         /* open when csv_path is set */
  irc_net_params net;
  int compare;
  int clean;
  degrade_spec deg;
  /* --route: task=auto as the element runs it */
  const char *route_dir;
  irc_model *detector;          /* DIR/detect.safetensors, or the model itself */
  irc_model *routes[IRC_DEGRADATION_KINDS];
  size_t routed[IRC_DEGRADATION_KINDS + 2];     /* images per route, -1 last */
  int route_clean;              /* --route-clean: pass clean readings through */
  double route_confidence;      /* --route-confidence */
} run_opts;

static const char *const route_names[IRC_DEGRADATION_KINDS] = { "derain", "dehaze", "denoise",
  "deblur" };

/* --route: loads the detector and the per-task models of @dir. */
static int
load_routes (run_opts *o, irc_model *model)
{
  irc_error err = { 0 };
  char path[4096];
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  if (irc_model_has_degradation_head (model)) {
    o->detector = NULL;
  } else {
    snprintf (path, sizeof path, "%s/detect.safetensors", o->route_dir);
    if (irc_model_load (path, &lp, &o->detector, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: --route: %s\n", err.message);
      return EXIT_RUNTIME;
    }
    if (!irc_model_has_degradation_head (o->detector)) {
      fprintf (stderr, "irc-eval: --route: %s has no degradation head\n", path);
      return EXIT_RUNTIME;
    }
  }
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++) {
    snprintf (path, sizeof path, "%s/%s.safetensors", o->route_dir, route_names[k]);
    if (irc_model_load (path, &lp, &o->routes[k], &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: --route: %s\n", err.message);
      return EXIT_RUNTIME;
    }
  }
  return 0;
}

static void
free_routes (run_opts *o)
{
  irc_model_free (&o->detector);
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
    irc_model_free (&o->routes[k]);
}

/* Grows @net to fit @w x @h (one instance serves every image that fits, so
 * the CBSD68 portrait and landscape images share two at most). */
static irc_status
ensure_net (const irc_model *model, const irc_net_params *np, int w, int h, irc_net **net,
    int *net_w, int *net_h, irc_error *err)
{
  if (*net && w <= *net_w && h <= *net_h)
    return IRC_OK;
  irc_net_free (net);
  *net_w = w > *net_w ? w : *net_w;
  *net_h = h > *net_h ? h : *net_h;
  return irc_net_new (model, *net_w, *net_h, np, net, err);
}

static int
evaluate (run_opts *o, const irc_model *model, item_list *l)
{
  const int compare = o->compare;
  row *rows = calloc (l->n ? l->n : 1, sizeof *rows);
  if (!rows) {
    fprintf (stderr, "irc-eval: out of memory\n");
    return EXIT_RUNTIME;
  }
  int width = 4;
  for (size_t i = 0; i < l->n; i++) {
    int len = (int) strlen (l->items[i].name);
    width = len > width ? len : width;
  }
  print_header (stdout, width, compare);
  fflush (stdout);

  irc_net *net = NULL;
  int net_w = 0, net_h = 0, rc = 0;
  /* --route: the detector's encoder and each route's network */
  irc_net *route_net[IRC_DEGRADATION_KINDS] = { NULL };
  int route_w[IRC_DEGRADATION_KINDS] = { 0 },
      route_h[IRC_DEGRADATION_KINDS] = { 0 };
  double infer_s = 0.0;
  row sum;
  memset (&sum, 0, sizeof sum);
  for (size_t i = 0; i < l->n && !rc; i++) {
    const item *it = &l->items[i];
    irc_error err = { 0 };
    irc_image target = { 0 }, input = { 0 }, output = { 0 };
    if (irc_image_load (it->target, &target, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: %s\n", err.message);
      rc = EXIT_RUNTIME;
      goto next;
    }
    int w = target.width, h = target.height;
    if (o->clean) {
      irc_status st = irc_image_alloc (&input, w, h, &err);
      if (st == IRC_OK) {
        memcpy (input.data, target.data, (size_t) 3 * w * h * sizeof (float));
        st = degrade_image (&o->deg, it->index, &input, &err);
      }
      if (st != IRC_OK) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->target, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
    } else {
      if (irc_image_load (it->input, &input, &err) != IRC_OK) {
        fprintf (stderr, "irc-eval: %s\n", err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
      if (input.width != w || input.height != h) {
        fprintf (stderr, "irc-eval: %s is %dx%d but %s is %dx%d; a pair must have one size\n",
            it->input, input.width, input.height, it->target, w, h);
        rc = EXIT_RUNTIME;
        goto next;
      }
    }
    row r;
    memset (&r, 0, sizeof r);
    if (irc_metrics_compute (input.data, target.data, w, h, &r.in, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
      rc = EXIT_RUNTIME;
      goto next;
    }
    int route = -1;
    if (!compare && o->route_dir) {
      /* one image is one scene: read it as the element's style pass does */
      const irc_model *det = o->detector ? o->detector : model;
      irc_degradation d;
      irc_detector *reader = NULL;
      const int read_ok = irc_detector_new (det, w, h, &o->net, &reader, &err) == IRC_OK
          && irc_detector_read (reader, input.data, w, h, &d, &err) == IRC_OK;
      irc_detector_free (&reader);
      if (!read_ok) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
      route = irc_degradation_route (&d, (float) o->route_confidence);
      if (route == IRC_DEGRADATION_KINDS && !o->route_clean)
        route = -1;   /* as the element: clean scenes go to the model */
      o->routed[route < 0 ? IRC_DEGRADATION_KINDS + 1 : route]++;
      char reading[64];
      irc_degradation_name (d.known, d.kinds, reading, sizeof reading);
      fprintf (stderr, "%s: read %s (confidence %.3f), restored by %s\n", it->name, reading,
          d.confidence, route == IRC_DEGRADATION_KINDS ? "nothing (clean)"
          : route >= 0 ? route_names[route] : "the model");
    }
    if (!compare && route == IRC_DEGRADATION_KINDS) {
      if (irc_image_alloc (&output, w, h, &err) != IRC_OK) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
      memcpy (output.data, input.data, (size_t) 3 * w * h * sizeof (float));
      if (irc_metrics_compute (output.data, target.data, w, h, &r.out, &err) != IRC_OK) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
    } else if (!compare && route >= 0) {
      const irc_model *rm = o->routes[route];
      irc_net_params rp = o->net;
      rp.tlc_window = irc_model_tlc_window (rm);
      if (irc_image_alloc (&output, w, h, &err) != IRC_OK
          || ensure_net (rm, &rp, w, h, &route_net[route], &route_w[route], &route_h[route],
              &err) != IRC_OK
          || irc_net_restore (route_net[route], output.data, input.data, w, h, &err) != IRC_OK
          || irc_metrics_compute (output.data, target.data, w, h, &r.out, &err) != IRC_OK) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
    } else if (!compare) {
      double t0 = now_s ();
      if (irc_image_alloc (&output, w, h, &err) != IRC_OK
          || ensure_net (model, &o->net, w, h, &net, &net_w, &net_h, &err) != IRC_OK
          || irc_net_restore (net, output.data, input.data, w, h, &err) != IRC_OK) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
      infer_s += now_s () - t0;
      if (irc_metrics_compute (output.data, target.data, w, h, &r.out, &err) != IRC_OK) {
        fprintf (stderr, "irc-eval: %s: %s\n", it->name, err.message);
        rc = EXIT_RUNTIME;
        goto next;
      }
    }
    rows[i] = r;
    sum.in.psnr_rgb += r.in.psnr_rgb;
    sum.in.ssim_rgb += r.in.ssim_rgb;
    sum.in.psnr_y += r.in.psnr_y;
    sum.in.ssim_y += r.in.ssim_y;
    sum.out.psnr_rgb += r.out.psnr_rgb;
    sum.out.ssim_rgb += r.out.ssim_rgb;
    sum.out.psnr_y += r.out.psnr_y;
    sum.out.ssim_y += r.out.ssim_y;
    print_row (stdout, width, it->name, &r, compare);
    fflush (stdout);
    if (o->side_dir) {
      const float *panels[3] = { input.data, compare ? target.data : output.data,
        target.data };
      rc = save_side_by_side (o->side_dir, it->name, panels, compare ? 2 : 3, w, h);
    }
  next:
    irc_image_clear (&target);
    irc_image_clear (&input);
    irc_image_clear (&output);
  }
  irc_net_free (&net);
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
    irc_net_free (&route_net[k]);
  if (o->route_dir) {
    printf ("# routes: ");
    for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
      printf ("%s %zu, ", route_names[k], o->routed[k]);
    printf ("passed through (clean) %zu, the model %zu\n", o->routed[IRC_DEGRADATION_KINDS],
        o->routed[IRC_DEGRADATION_KINDS + 1]);
  }

  if (!rc) {
    /* BasicSR's figure for a set: the mean of the per-image values. */
    double k = 1.0 / (double) l->n;
    row mean;
    mean.in.psnr_rgb = sum.in.psnr_rgb * k;
    mean.in.ssim_rgb = sum.in.ssim_rgb * k;
    mean.in.psnr_y = sum.in.psnr_y * k;
    mean.in.ssim_y = sum.in.ssim_y * k;
    mean.out.psnr_rgb = sum.out.psnr_rgb * k;
    mean.out.ssim_rgb = sum.out.ssim_rgb * k;
    mean.out.psnr_y = sum.out.psnr_y * k;
    mean.out.ssim_y = sum.out.ssim_y * k;
    print_row (stdout, width, "mean", &mean, compare);
    if (!compare)
      printf ("# %zu image%s, gain %+.3f dB RGB, %+.3f dB Y; inference %.2f s\n", l->n,
          l->n == 1 ? "" : "s", mean.out.psnr_rgb - mean.in.psnr_rgb,
          mean.out.psnr_y - mean.in.psnr_y, infer_s);
    fflush (stdout);
    if (o->csv.fp)
      rc = csv_finish (&o->csv, l->items, rows, l->n, &mean, compare);
  }
  free (rows);
  return rc;
}

static int
parse_backend (const char *s, irc_backend_kind *out)
{
  static const struct {
    const char *name;
    irc_backend_kind kind;
  } names[] = {
    { "cpu", IRC_BACKEND_CPU }, { "reference", IRC_BACKEND_REFERENCE },
    { "vulkan", IRC_BACKEND_VULKAN }, { "auto", IRC_BACKEND_AUTO },
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp (s, names[i].name) == 0) {
      *out = names[i].kind;
      return 0;
    }
  return -1;
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "probe") == 0)
    return irc_eval_probe_main (argc - 1, argv + 1);
  enum {
    OPT_PAIRS = 256, OPT_CLEAN, OPT_DEGRADE, OPT_COMPARE, OPT_SIGMA, OPT_KERNEL, OPT_CSV,
    OPT_SIDE, OPT_TLC, OPT_QUANTIZE, OPT_JPEG, OPT_ROUTE, OPT_ROUTE_CLEAN, OPT_ROUTE_CONFIDENCE,
  };
  static const struct option longopts[] = {
    { "model", required_argument, NULL, 'm' },
    { "pairs", required_argument, NULL, OPT_PAIRS },
    { "clean", required_argument, NULL, OPT_CLEAN },
    { "degrade", required_argument, NULL, OPT_DEGRADE },
    { "compare", required_argument, NULL, OPT_COMPARE },
    { "sigma", required_argument, NULL, OPT_SIGMA },
    { "kernel", required_argument, NULL, OPT_KERNEL },
    { "seed", required_argument, NULL, 's' },
    { "quantize", no_argument, NULL, OPT_QUANTIZE },
    { "jpeg", required_argument, NULL, OPT_JPEG },
    { "route", required_argument, NULL, OPT_ROUTE },
    { "route-clean", no_argument, NULL, OPT_ROUTE_CLEAN },
    { "route-confidence", required_argument, NULL, OPT_ROUTE_CONFIDENCE },
    { "csv", required_argument, NULL, OPT_CSV },
    { "side-by-side", required_argument, NULL, OPT_SIDE },
    { "backend", required_argument, NULL, 'b' },
    { "threads", required_argument, NULL, 'j' },
    { "tlc", required_argument, NULL, OPT_TLC },
    { "limit", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  run_opts o;
  memset (&o, 0, sizeof o);
  o.route_confidence = default_route_confidence ();
  o.net = (irc_net_params) IRC_NET_DEFAULTS;
  o.net.backend = IRC_BACKEND_CPU;
  o.deg.sigma = -1.0;
  irc_plan_options_init (&o.deg.opts);
  const char *pairs_in = NULL, *clean_dir = NULL, *task_name = NULL, *compare_a = NULL;
  const char *kernel_file = NULL, *second = NULL;
  long long seed = 0, threads = 0, tlc = -1, limit = 0;
  int c;
  opterr = 0;
  /* '+': stop at the first non-option, so that taking the second folder of
   * --pairs/--compare from argv cannot confuse GNU getopt's permutation. */
  while ((c = getopt_long (argc, argv, "+:m:s:b:j:n:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'm': o.model_path = optarg; break;
      case OPT_PAIRS:
      case OPT_COMPARE:
        /* Two-folder options: the second folder is the next argument. */
        if (optind >= argc || argv[optind][0] == '-')
          return usage_error ("%s needs two folders", c == OPT_PAIRS ? "--pairs" : "--compare");
        if (pairs_in || compare_a)
          return usage_error ("%s", "give one of --pairs and --compare, once");
        if (c == OPT_PAIRS)
          pairs_in = optarg;
        else
          compare_a = optarg;
        second = argv[optind++];
        break;
      case OPT_CLEAN: clean_dir = optarg; break;
      case OPT_DEGRADE: task_name = optarg; break;
      case OPT_SIGMA:
        if (parse_float (optarg, 0.0, 255.0, &o.deg.sigma))
          return usage_error ("--sigma wants a number in 0..255, not '%s'", optarg);
        break;
      case OPT_KERNEL: kernel_file = optarg; break;
      case 's':
        if (parse_long (optarg, 0, LLONG_MAX, &seed))
          return usage_error ("--seed wants a non-negative integer, not '%s'", optarg);
        break;
      case OPT_QUANTIZE: o.deg.quantize = 1; break;
      case OPT_ROUTE: o.route_dir = optarg; break;
      case OPT_ROUTE_CLEAN: o.route_clean = 1; break;
      case OPT_ROUTE_CONFIDENCE:
        if (parse_float (optarg, 0.0, 1.0, &o.route_confidence))
          return usage_error ("--route-confidence wants a number in 0..1, not '%s'", optarg);
        break;
      case OPT_JPEG: {
        long long q;
        if (parse_long (optarg, 1, 100, &q))
          return usage_error ("--jpeg wants a quality in 1..100, not '%s'", optarg);
        o.deg.jpeg_quality = (int) q;
        break;
      }
      case OPT_CSV: o.csv_path = optarg; break;
      case OPT_SIDE: o.side_dir = optarg; break;
      case 'b':
        if (parse_backend (optarg, &o.net.backend))
          return usage_error ("--backend wants cpu, reference, vulkan or auto, not '%s'", optarg);
        break;
      case 'j':
        if (parse_long (optarg, 0, 4096, &threads))
          return usage_error ("--threads wants an integer in 0..4096, not '%s'", optarg);
        break;
      case OPT_TLC:
        if (parse_long (optarg, 0, IRC_IMAGE_MAX_SIDE, &tlc))
          return usage_error ("--tlc wants a non-negative window in pixels, not '%s'", optarg);
        break;
      case 'n':
        if (parse_long (optarg, 1, LLONG_MAX, &limit))
          return usage_error ("--limit wants a positive integer, not '%s'", optarg);
        break;
      case 'h': usage (stdout); return 0;
      case ':': return usage_error ("option '%s' needs a value", argv[optind - 1]);
      default: return usage_error ("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error ("unexpected argument '%s'", argv[optind]);
  int modes = !!pairs_in + !!clean_dir + !!compare_a;
  if (modes != 1)
    return usage_error ("%s", modes ? "give one of --pairs, --clean and --compare"
        : "nothing to measure: give --pairs, --clean or --compare");
  o.compare = compare_a != NULL;
  o.clean = clean_dir != NULL;
  if (o.compare && o.model_path)
    return usage_error ("%s", "--compare measures two folders and takes no --model");
  if (!o.compare && !o.model_path)
    return usage_error ("%s", "--model is required with --pairs and --clean");
  if (o.clean != (task_name != NULL))
    return usage_error ("%s", o.clean ? "--clean needs --degrade TASK"
        : "--degrade goes with --clean");
  if (o.route_dir && (o.compare || !o.model_path))
    return usage_error ("%s", "--route goes with --model (the all-in-one model for mixtures)");
  if (!o.clean && (o.deg.sigma >= 0.0 || kernel_file || o.deg.quantize || o.deg.jpeg_quality))
    return usage_error ("%s", "--sigma, --kernel, --quantize and --jpeg go with --clean --degrade");
  irc_error err = { 0 };
  if (o.clean) {
    if (irc_task_from_name (task_name, &o.deg.task, &err) != IRC_OK)
      return usage_error ("%s", err.message);
    irc_task t = o.deg.task;
    if (o.deg.sigma >= 0.0 && t != IRC_TASK_NOISE && t != IRC_TASK_MIX)
      return usage_error ("--sigma has no effect on '%s' (noise, mix)", task_name);
    if (kernel_file && t != IRC_TASK_BLUR && t != IRC_TASK_MIX)
      return usage_error ("--kernel has no effect on '%s' (blur, mix)", task_name);
    if (o.deg.sigma >= 0.0)
      o.deg.opts.sigma_min = o.deg.opts.sigma_max = (float) o.deg.sigma;
  }
  o.deg.seed = (uint64_t) seed;
  o.net.threads = (int) threads;

  irc_kernel kernel = { 0, 0, NULL };
  irc_model *model = NULL;
  item_list l;
  memset (&l, 0, sizeof l);
  int rc = 0;
  if (kernel_file) {
    if (irc_kernel_load (kernel_file, &kernel, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: %s\n", err.message);
      return EXIT_RUNTIME;
    }
    o.deg.opts.fixed_kernel = &kernel;
  }
  if (o.model_path) {
    irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
    if (irc_model_load (o.model_path, &lp, &model, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval: %s\n", err.message);
      rc = EXIT_RUNTIME;
    } else {
      o.net.tlc_window = tlc >= 0 ? (int) tlc : irc_model_tlc_window (model);
      if (o.route_dir)
        rc = load_routes (&o, model);
    }
  }
  if (!rc)
    rc = o.clean ? list_clean (clean_dir, &l)
        : pair_folders (o.compare ? compare_a : pairs_in, second, &l);
  if (!rc && limit > 0 && (size_t) limit < l.n)
    l.n = (size_t) limit;
  if (!rc && o.side_dir && make_dir (o.side_dir))
    rc = EXIT_RUNTIME;
  if (!rc && o.csv_path)
    rc = csv_open (&o.csv, o.csv_path);

  if (!rc) {
    /* What was measured, so a saved table explains itself. */
    if (o.compare) {
      printf ("# %s against %s\n", compare_a, second);
    } else {
      const irc_config *cfg = irc_model_config (model);
      const char *task = irc_model_metadata (model, "task");
      printf ("# model %s (task %s, dim %d, %.0f MACs/pixel, ", o.model_path,
          task ? task : "?", cfg->dim, irc_config_macs_per_pixel (cfg));
      if (o.net.tlc_window > 0)
        printf ("attention window %d px)", o.net.tlc_window);
      else
        printf ("%s", "attention pooled globally)");
      if (o.clean) {
        printf ("; clean %s degraded by %s", clean_dir, task_name);
        if (o.deg.sigma >= 0.0)
          printf (" sigma %g", o.deg.sigma);
        if (kernel_file)
          printf (" kernel %s", kernel_file);
        printf (", seed %llu%s", (unsigned long long) seed,
            o.deg.quantize ? ", 8-bit inputs" : "");
        if (o.deg.jpeg_quality)
          printf (", then JPEG quality %d", o.deg.jpeg_quality);
        printf ("\n");
      } else {
        printf ("; pairs %s -> %s\n", pairs_in, second);
      }
    }
    rc = evaluate (&o, model, &l);
  }
  csv_abandon (&o.csv);
  item_list_clear (&l);
  free_routes (&o);
  irc_model_free (&model);
  irc_kernel_clear (&kernel);
  return rc;
}
