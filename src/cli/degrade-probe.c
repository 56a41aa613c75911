/* irc-eval probe: what a model's style code knows about the degradation.
 * Each image of each set (real degraded photos, or clean ones degraded here
 * with a fixed seed) is read as the element reads a scene (irc_detector:
 * training-size crops of the shrunk frame, their mean code through the
 * degradation head); the reading is
 * printed against the set's truth, then the accuracy and the confusion
 * matrix. --linear-probe also fits a linear classifier on the codes
 * themselves, cross-validated over held-out images, so what is measured is
 * the code and not only the head beside it. */
#include "degrade-probe.h"
#include "io/degrade.h"
#include "io/image.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, MAX_SETS = 32, MAX_CLASSES = 16 };

typedef struct {
  char truth[64];       /* canonical name: "clean", "rain", "rain+haze"... */
  unsigned kinds;
  const char *dir;
  int synthetic;        /* degrade the clean images of @dir with @task */
  irc_task task;
} probe_set;

typedef struct {
  int set;
  char *path;
  float *code;          /* config.code floats */
  irc_degradation d;
} probe_item;

static void
usage (FILE *fp)
{
  fprintf (fp,
      "Usage: irc-eval probe --model FILE --set TRUTH=DIR[@TASK] [--set ...] [OPTIONS]\n"
      "\n"
      "Reads the degradation of each image as the element does once per scene: the\n"
      "image shrunk to at most 640 pixels a side, the model's ConStyle encoder run\n"
      "on a grid of crops of its training size, and its degradation head reading\n"
      "their mean code says which kinds it holds (rain, haze, noise, blur, several\n"
      "joined by '+', or clean). Prints per image the truth, the reading and its\n"
      "confidence, then the accuracy (the whole answer must match) and the confusion\n"
      "matrix.\n"
      "\n"
      "  --set TRUTH=DIR      the images of DIR hold TRUTH (clean, rain, haze, noise,\n"
      "                       blur, or a mixture such as rain+haze); repeatable\n"
      "  --set TRUTH=DIR@TASK DIR holds clean images, degraded here with irc-degrade's\n"
      "                       TASK (rain, rain-light, rain-heavy, haze, noise, blur),\n"
      "                       image i drawing from --seed on stream i, then rounded to\n"
      "                       8 bits as a frame is\n"
      "  -m, --model FILE     the model (with a degradation head for the readings;\n"
      "                       any model for --linear-probe)\n"
      "  -s, --seed N         degradation seed (default 0)\n"
      "      --sigma S        noise sets: Gaussian noise of std S (0-255 units)\n"
      "                       instead of drawing sigma in 0-50\n"
      "  -n, --limit N        the first N images of each set (sorted order)\n"
      "      --whole-image    read one code of the whole image instead of the\n"
      "                       element's reading (the mean code of training-size\n"
      "                       crops of the frame shrunk to at most 640 pixels)\n"
      "      --holdout N      only every N-th image of each set in sorted order (the\n"
      "                       photos irc-train --labelled-holdout N left out)\n"
      "      --crop N         read only the centre N x N of each image (after the\n"
      "                       degradation), as training crops are seen\n"
      "      --linear-probe   also: a linear classifier on the codes (softmax\n"
      "                       regression), 5-fold cross-validated over the images,\n"
      "                       its accuracy and confusion matrix\n"
      "  -j, --threads N      CPU threads (default 0: all cores)\n"
      "  -h, --help           this help\n"
      "\n"
      "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static int
usage_error (const char *fmt, const char *arg)
{
  fprintf (stderr, "irc-eval probe: ");
  fprintf (stderr, fmt, arg);
  fprintf (stderr, "\nTry 'irc-eval probe --help'.\n");
  return EXIT_USAGE;
}

/* @s as a whole integer in [@lo, @hi] into *@out; -1 if it is not one. */
static int
parse_int (const char *s, long long lo, long long hi, long long *out)
{
  char *end;
  errno = 0;
  const long long v = strtoll (s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int
parse_set (const char *arg, probe_set *ps)
{
  const char *eq = strchr (arg, '=');
  if (!eq || irc_degradation_parse (arg, (size_t) (eq - arg), &ps->kinds) != 0)
    return -1;
  irc_degradation_name (1, ps->kinds, ps->truth, sizeof ps->truth);
  ps->dir = eq + 1;
  const char *at = strrchr (eq + 1, '@');
  ps->synthetic = 0;
  if (at) {
    if (irc_task_from_name (at + 1, &ps->task, NULL) != IRC_OK || ps->task == IRC_TASK_MIX)
      return -1;
    ps->synthetic = 1;
    char *dir = strndup (eq + 1, (size_t) (at - eq - 1));
    if (!dir)
      return -1;
    ps->dir = dir;   /* lives as long as the process */
  }
  return *ps->dir ? 0 : -1;
}

/* Degrades @img with @ps's task on stream @index of @seed and rounds it to
 * 8 bits, as irc-eval --clean --degrade --quantize does. */
static irc_status
degrade_image (irc_image *img, const probe_set *ps, uint64_t seed, size_t index,
    double sigma, irc_error *err)
{
  irc_rng rng;
  irc_rng_seed (&rng, seed, (uint64_t) index);
  irc_status st;
  if (ps->task == IRC_TASK_NOISE && sigma >= 0) {
    irc_noise_params np;
    irc_noise_preset (&np, (float) sigma);
    st = irc_degrade_noise (img->data, img->width, img->height, &np, &rng, err);
  } else {
    st = irc_degrade (img->data, img->width, img->height, ps->task, NULL, &rng, err);
  }
  const size_t n = (size_t) 3 * img->width * img->height;
  for (size_t i = 0; st == IRC_OK && i < n; i++) {
    const float v = img->data[i] < 0 ? 0 : img->data[i] > 1 ? 1 : img->data[i];
    img->data[i] = roundf (v * 255.0f) / 255.0f;
  }
  return st;
}

/* Keeps the centre @side x @side (at most) of @img. */
static irc_status
center_crop (irc_image *img, int side, irc_error *err)
{
  const int w = img->width < side ? img->width : side;
  const int h = img->height < side ? img->height : side;
  const int x0 = (img->width - w) / 2, y0 = (img->height - h) / 2;
  irc_image out = { 0 };
  irc_status st = irc_image_alloc (&out, w, h, err);
  if (st != IRC_OK)
    return st;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      memcpy (out.data + ((size_t) c * h + y) * w,
          img->data + ((size_t) c * img->height + y0 + y) * img->width + x0,
          (size_t) w * sizeof (float));
  irc_image_clear (img);
  *img = out;
  return IRC_OK;
}

/* Index of @name among @classes (adding it), or -1 when full. */
static int
class_index (char classes[][64], int *n, const char *name)
{
  for (int i = 0; i < *n; i++)
    if (strcmp (classes[i], name) == 0)
      return i;
  if (*n == MAX_CLASSES)
    return -1;
  snprintf (classes[*n], 64, "%.63s", name);
  return (*n)++;
}

static void
print_confusion (const char *title, char classes[][64], int nc, const int *conf, int other)
{
  printf ("\n%s (rows: truth, columns: reading)\n%-12s", title, "");
  for (int j = 0; j < nc; j++)
    printf (" %10.10s", classes[j]);
  if (other)
    printf (" %10s", "other");
  printf ("\n");
  for (int i = 0; i < nc; i++) {
    /* the readings outside the truths' classes sit in the last column */
    int row = conf[i * (MAX_CLASSES + 1) + MAX_CLASSES];
    for (int j = 0; j < nc; j++)
      row += conf[i * (MAX_CLASSES + 1) + j];
    if (!row)
      continue;
    printf ("%-12.12s", classes[i]);
    for (int j = 0; j < nc; j++)
      printf (" %10d", conf[i * (MAX_CLASSES + 1) + j]);
    if (other)
      printf (" %10d", conf[i * (MAX_CLASSES + 1) + MAX_CLASSES]);
    printf ("\n");
  }
}

/* Softmax regression on standardised codes, trained by full-batch gradient
 * descent, 5 folds by image (item i in fold i % 5). Fills @pred. */
static int
linear_probe (const probe_item *items, size_t n, int code, const int *label, int nc, int *pred)
{
  enum { FOLDS = 5, EPOCHS = 400 };
  const double lr = 0.5, l2 = 1e-3;
  double *mean = calloc ((size_t) code, sizeof (double));
  double *sd = calloc ((size_t) code, sizeof (double));
  double *w = malloc ((size_t) nc * (code + 1) * sizeof (double));
  double *g = malloc ((size_t) nc * (code + 1) * sizeof (double));
  double *x = malloc ((size_t) code * sizeof (double));
  double p[MAX_CLASSES];
  if (!mean || !sd || !w || !g || !x) {
    free (mean), free (sd), free (w), free (g), free (x);
    return -1;
  }
  for (int f = 0; f < FOLDS; f++) {
    /* standardise on the training folds only */
    size_t ntr = 0;
    memset (mean, 0, (size_t) code * sizeof (double));
    memset (sd, 0, (size_t) code * sizeof (double));
    for (size_t i = 0; i < n; i++)
      if ((int) (i % FOLDS) != f) {
        ntr++;
        for (int c = 0; c < code; c++)
          mean[c] += items[i].code[c];
      }
    if (!ntr)
      continue;
    for (int c = 0; c < code; c++)
      mean[c] /= (double) ntr;
    for (size_t i = 0; i < n; i++)
      if ((int) (i % FOLDS) != f)
        for (int c = 0; c < code; c++)
          sd[c] += (items[i].code[c] - mean[c]) * (items[i].code[c] - mean[c]);
    for (int c = 0; c < code; c++)
      sd[c] = sqrt (sd[c] / (double) ntr) + 1e-6;
    memset (w, 0, (size_t) nc * (code + 1) * sizeof (double));
    for (int e = 0; e < EPOCHS; e++) {
      memset (g, 0, (size_t) nc * (code + 1) * sizeof (double));
      for (size_t i = 0; i < n; i++) {
        if ((int) (i % FOLDS) == f)
          continue;
        for (int c = 0; c < code; c++)
          x[c] = (items[i].code[c] - mean[c]) / sd[c];
        double mx = -1e300, sum = 0;
        for (int k = 0; k < nc; k++) {
          double z = w[k * (code + 1) + code];
          for (int c = 0; c < code; c++)
            z += w[k * (code + 1) + c] * x[c];
          p[k] = z;
          mx = z > mx ? z : mx;
        }
        for (int k = 0; k < nc; k++)
          sum += (p[k] = exp (p[k] - mx));
        for (int k = 0; k < nc; k++) {
          const double d = p[k] / sum - (k == label[i]);
          for (int c = 0; c < code; c++)
            g[k * (code + 1) + c] += d * x[c];
          g[k * (code + 1) + code] += d;
        }
      }
      for (int k = 0; k < nc * (code + 1); k++)
        w[k] -= lr * (g[k] / (double) ntr + l2 * w[k]);
    }
    for (size_t i = 0; i < n; i++) {
      if ((int) (i % FOLDS) != f)
        continue;
      int best = 0;
      double bz = -1e300;
      for (int k = 0; k < nc; k++) {
        double z = w[k * (code + 1) + code];
        for (int c = 0; c < code; c++)
          z += w[k * (code + 1) + c] * (items[i].code[c] - mean[c]) / sd[c];
        if (z > bz)
          bz = z, best = k;
      }
      pred[i] = best;
    }
  }
  free (mean), free (sd), free (w), free (g), free (x);
  return 0;
}

int
irc_eval_probe_main (int argc, char **argv)
{
  enum { OPT_SIGMA = 256, OPT_LINEAR, OPT_CROP, OPT_HOLDOUT, OPT_WHOLE };
  static const struct option longopts[] = {
    { "model", required_argument, NULL, 'm' },
    { "set", required_argument, NULL, 'S' },
    { "seed", required_argument, NULL, 's' },
    { "sigma", required_argument, NULL, OPT_SIGMA },
    { "limit", required_argument, NULL, 'n' },
    { "linear-probe", no_argument, NULL, OPT_LINEAR },
    { "crop", required_argument, NULL, OPT_CROP },
    { "holdout", required_argument, NULL, OPT_HOLDOUT },
    { "whole-image", no_argument, NULL, OPT_WHOLE },
    { "threads", required_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *model_path = NULL;
  probe_set sets[MAX_SETS];
  int n_sets = 0, linear = 0, threads = 0, crop = 0, holdout = 0, whole_image = 0;
  long long seed = 0, limit = 0, v = 0;
  double sigma = -1;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "m:s:n:j:h", longopts, NULL)) != -1) {
    char *end;
    switch (c) {
      case 'm': model_path = optarg; break;
      case 'S':
        if (n_sets == MAX_SETS)
          return usage_error ("at most 32 sets, not more ('%s')", optarg);
        if (parse_set (optarg, &sets[n_sets]) != 0)
          return usage_error ("--set wants TRUTH=DIR or TRUTH=DIR@TASK (TRUTH: clean, rain, "
              "haze, noise, blur or a '+' mixture; TASK: rain, rain-light, rain-heavy, haze, "
              "noise, blur), not '%s'", optarg);
        n_sets++;
        break;
      case 's':
        if (parse_int (optarg, 0, LLONG_MAX, &seed))
          return usage_error ("--seed wants a non-negative integer, not '%s'", optarg);
        break;
      case 'n':
        if (parse_int (optarg, 1, LLONG_MAX, &limit))
          return usage_error ("--limit wants a positive count, not '%s'", optarg);
        break;
      case 'j':
        if (parse_int (optarg, 0, 1024, &v))
          return usage_error ("--threads wants 0..1024, not '%s'", optarg);
        threads = (int) v;
        break;
      case OPT_SIGMA:
        errno = 0;
        sigma = strtod (optarg, &end);
        if (errno || *end || end == optarg || !(sigma >= 0 && sigma <= 255))
          return usage_error ("--sigma wants 0..255, not '%s'", optarg);
        break;
      case OPT_LINEAR: linear = 1; break;
      case OPT_WHOLE: whole_image = 1; break;
      case OPT_CROP:
        if (parse_int (optarg, 16, 16384, &v))
          return usage_error ("--crop wants a side of 16 or more pixels, not '%s'", optarg);
        crop = (int) v;
        break;
      case OPT_HOLDOUT:
        if (parse_int (optarg, 2, 1000, &v))
          return usage_error ("--holdout wants a whole number in 2..1000, not '%s'", optarg);
        holdout = (int) v;
        break;
      case 'h': usage (stdout); return 0;
      default: return usage_error ("%s", "unknown option");
    }
  }
  if (optind < argc)
    return usage_error ("unexpected argument '%s'", argv[optind]);
  if (!model_path)
    return usage_error ("%s", "--model FILE is required");
  if (n_sets == 0)
    return usage_error ("%s", "at least one --set TRUTH=DIR is required");

  irc_error err = { 0 };
  irc_model *model = NULL;
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  if (irc_model_load (model_path, &lp, &model, &err) != IRC_OK) {
    fprintf (stderr, "irc-eval probe: %s\n", err.message);
    return EXIT_RUNTIME;
  }
  const int has_head = irc_model_has_degradation_head (model);
  if (!has_head && !linear) {
    fprintf (stderr, "irc-eval probe: %s has no degradation head (its readings would all be "
        "'unknown'); --linear-probe measures its code instead\n", model_path);
    irc_model_free (&model);
    return EXIT_USAGE;
  }
  const int code = irc_model_config (model)->code;
  probe_item *items = NULL;
  size_t n_items = 0, cap = 0;
  int rc = 0;
  printf ("%-10s %-28s %-12s %-12s %10s %s\n", "set", "image", "truth", "reading",
      "confidence", "ok");
  for (int s = 0; s < n_sets && !rc; s++) {
    char **paths = NULL;
    size_t np = 0;
    if (irc_image_list_dir (sets[s].dir, &paths, &np, &err) != IRC_OK) {
      fprintf (stderr, "irc-eval probe: --set %s: %s\n", sets[s].truth, err.message);
      rc = EXIT_RUNTIME;
      break;
    }
    if (limit && (size_t) limit < np)
      np = (size_t) limit;
    for (size_t i = 0; i < np && !rc; i++) {
      if (holdout && i % (size_t) holdout != (size_t) holdout - 1)
        continue;
      irc_image img = { 0 };
      irc_net *net = NULL;
      irc_detector *det = NULL;
      irc_degradation reading_d = { 0 };
      irc_net_params npar = IRC_NET_DEFAULTS;
      npar.backend = IRC_BACKEND_CPU;
      npar.threads = threads;
      npar.encoder_only = 1;
      irc_status st = irc_image_load (paths[i], &img, &err);
      if (st == IRC_OK && sets[s].synthetic)
        st = degrade_image (&img, &sets[s], (uint64_t) seed, i, sigma, &err);
      if (st == IRC_OK && crop && (img.width > crop || img.height > crop))
        st = center_crop (&img, crop, &err);
      /* the element's reading (irc_detector: crops of the shrunk frame);
       * --whole-image and models without a head: one code of the whole image */
      const int by_crops = has_head && !whole_image;
      if (st == IRC_OK && by_crops)
        st = irc_detector_new (model, img.width, img.height, &npar, &det, &err);
      if (st == IRC_OK && by_crops)
        st = irc_detector_read (det, img.data, img.width, img.height, &reading_d, &err);
      if (st == IRC_OK && !by_crops)
        st = irc_net_new (model, img.width, img.height, &npar, &net, &err);
      if (st == IRC_OK && !by_crops)
        st = irc_net_encode (net, img.data, img.width, img.height, NULL, &err);
      if (st == IRC_OK && n_items == cap) {
        cap = cap ? 2 * cap : 256;
        probe_item *m = realloc (items, cap * sizeof *m);
        if (!m)
          st = IRC_ERR_NOMEM, snprintf (err.message, sizeof err.message, "out of memory");
        else
          items = m;
      }
      if (st == IRC_OK) {
        probe_item *it = &items[n_items];
        memset (it, 0, sizeof *it);
        it->set = s;
        it->path = strdup (paths[i]);
        it->code = malloc ((size_t) code * sizeof (float));
        if (!it->path || !it->code) {
          free (it->path), free (it->code);
          st = IRC_ERR_NOMEM, snprintf (err.message, sizeof err.message, "out of memory");
        } else {
          memcpy (it->code, by_crops ? irc_detector_code (det) : irc_net_code (net),
              (size_t) code * sizeof (float));
          n_items++;
          if (by_crops)
            it->d = reading_d;
          else
            st = irc_model_degradation (model, it->code, &it->d, &err);
        }
      }
      irc_net_free (&net);
      irc_detector_free (&det);
      irc_image_clear (&img);
      if (st != IRC_OK) {
        fprintf (stderr, "irc-eval probe: %s: %s\n", paths[i], err.message);
        rc = EXIT_RUNTIME;
        break;
      }
      const probe_item *it = &items[n_items - 1];
      char reading[64];
      irc_degradation_name (it->d.known, it->d.kinds, reading, sizeof reading);
      const char *base = strrchr (paths[i], '/');
      printf ("%-10.10s %-28.28s %-12s %-12s %10.3f %s\n", sets[s].truth,
          base ? base + 1 : paths[i], sets[s].truth, reading, it->d.confidence,
          !has_head ? "-" : it->d.kinds == sets[s].kinds ? "yes" : "NO");
      fflush (stdout);
    }
    irc_image_list_free (paths, np > 0 ? np : 0);
  }

  if (!rc && n_items) {
    char classes[MAX_CLASSES][64];
    int nc = 0;
    int *label = malloc (n_items * sizeof (int)), *pred = malloc (n_items * sizeof (int));
    int *conf = calloc ((size_t) MAX_CLASSES * (MAX_CLASSES + 1), sizeof (int));
    if (!label || !pred || !conf) {
      fprintf (stderr, "irc-eval probe: out of memory\n");
      rc = EXIT_RUNTIME;
    }
    for (int s = 0; s < n_sets && !rc; s++)
      class_index (classes, &nc, sets[s].truth);
    for (size_t i = 0; i < n_items && !rc; i++)
      label[i] = class_index (classes, &nc, sets[items[i].set].truth);
    if (!rc && has_head) {
      size_t right = 0;
      printf ("\nreadings of the degradation head\n%-12s %8s %8s\n", "truth", "images",
          "correct");
      for (int s = 0; s < n_sets; s++) {
        size_t n = 0, ok = 0;
        for (size_t i = 0; i < n_items; i++)
          if (items[i].set == s) {
            n++;
            ok += items[i].d.kinds == sets[s].kinds;
          }
        /* the strength read for the set's own kinds: noise as sigma (x50),
         * the others on the head's 0-1 scale */
        char strength[160] = "";
        size_t sl = 0;
        for (int k = 0; k < IRC_DEGRADATION_KINDS && n; k++) {
          if (!(sets[s].kinds & (1u << k)))
            continue;
          double m = 0;
          for (size_t i = 0; i < n_items; i++)
            if (items[i].set == s)
              m += items[i].d.strength[k] / (double) n;
          char kind[16];
          irc_degradation_name (1, 1u << k, kind, sizeof kind);
          int w = 1u << k == IRC_DEGRADATION_NOISE
              ? snprintf (strength + sl, sizeof strength - sl, " noise sigma ~%.0f", 50.0 * m)
              : snprintf (strength + sl, sizeof strength - sl, " %s strength %.2f", kind, m);
          if (w > 0 && (size_t) w < sizeof strength - sl)
            sl += (size_t) w;
        }
        printf ("%-12s %8zu %7.1f%% %s (%s)\n", sets[s].truth, n, n ? 100.0 * ok / n : 0.0,
            strength, sets[s].dir);
      }
      int other = 0;
      for (size_t i = 0; i < n_items; i++) {
        char reading[64];
        irc_degradation_name (1, items[i].d.kinds, reading, sizeof reading);
        int j = -1;
        for (int k = 0; k < nc; k++)
          if (strcmp (classes[k], reading) == 0)
            j = k;
        if (j < 0)
          other = 1, j = MAX_CLASSES;
        conf[label[i] * (MAX_CLASSES + 1) + j]++;
        right += items[i].d.kinds == sets[items[i].set].kinds;
      }
      printf ("total: %zu of %zu images read right, %.1f%%\n", right, n_items,
          100.0 * right / n_items);
      print_confusion ("confusion of the head's readings", classes, nc, conf, other);
    }
    if (!rc && linear) {
      if (linear_probe (items, n_items, code, label, nc, pred) != 0) {
        fprintf (stderr, "irc-eval probe: out of memory\n");
        rc = EXIT_RUNTIME;
      } else {
        memset (conf, 0, (size_t) MAX_CLASSES * (MAX_CLASSES + 1) * sizeof (int));
        size_t right = 0;
        for (size_t i = 0; i < n_items; i++) {
          conf[label[i] * (MAX_CLASSES + 1) + pred[i]]++;
          right += pred[i] == label[i];
        }
        printf ("\nlinear probe on the code (softmax regression, 5-fold cross-validation "
            "over images): %zu of %zu right, %.1f%%\n", right, n_items,
            100.0 * right / n_items);
        print_confusion ("confusion of the linear probe", classes, nc, conf, 0);
      }
    }
    free (label), free (pred), free (conf);
  }
  for (size_t i = 0; i < n_items; i++)
    free (items[i].path), free (items[i].code);
  free (items);
  irc_model_free (&model);
  return rc;
}
