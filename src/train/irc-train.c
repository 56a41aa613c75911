/* irc-train: trains a ConStyle-NAFNet restoration model on folders of clean
 * images with synthetic degradations (or paired folders), with progress,
 * CSV log, plot, validation, atomic checkpoints and bit-exact resume. */
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/dist.h"
#include "train/plot.h"
#include "train/prefetch.h"
#include "train/train.h"
#include "io/image.h"
#include "io/metrics.h"
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

#define MAX_DIRS 64
/* --labelled photos come in any size (phone photos of 4288 px): shrunk as
 * the element's detector shrinks frames (the training photos' scale), so a
 * crop sees as much of the scene as a crop of those */
#define LABELLED_MAX_SIDE IRC_DETECT_MAX_SIDE
#define VAL_MAX_SIDE 256
/* The paper's schedule as fractions of its 703,632 iterations: constant
 * learning rate for 243,312, cosine after; contrastive stage 250,000
 * (derain, dehaze, deblur) or the whole run (denoise). */
#define PAPER_ITERS 703632.0
#define PAPER_LR_CONST 243312.0
#define PAPER_CONSTYLE 250000.0
#define ARG_SEP '\x1f'

/* ------------------------------------------------------------- options */

enum {
  O_TASK, O_DATA, O_PAIRS, O_OUT, O_CONFIG, O_DIM, O_BLOCKS, O_ENC_WIDTH, O_CODE, O_ITERS,
  O_BATCH, O_PATCH, O_LR, O_LR_MIN, O_LR_CONST, O_LR_COS, O_QUEUE, O_CONSTYLE_ITERS,
  O_NO_CONSTYLE, O_SIGMA_RANGE, O_KERNELS, O_VAL, O_VAL_PAIRS, O_VAL_EVERY, O_SAVE_EVERY,
  O_PLOT_EVERY, O_SEED, O_THREADS, O_RESUME, O_INIT, O_HELP, O_EMA_DECAY, O_KERNEL_PROB,
  O_CLEAN_PROB, O_COMPRESS_PROB, O_COMPRESS_QUALITY, O_LOSS, O_HEAVY_PROB, O_PAIRS_PROB, O_OBJECTIVE, O_DENSE_HAZE_PROB, O_NONUNIFORM_BLUR_PROB,
  O_LABELLED, O_LABELLED_PROB, O_LABELLED_HOLDOUT, O_MIX_WEIGHTS, O_ROLLING_SHUTTER_PROB, O_COUNT
};

static const struct {
  const char *name;
  int nargs;
} option_table[O_COUNT] = {
  [O_TASK] = { "task", 1 }, [O_DATA] = { "data", 1 }, [O_PAIRS] = { "pairs", 2 },
  [O_OUT] = { "out", 1 }, [O_CONFIG] = { "config", 1 }, [O_DIM] = { "dim", 1 },
  [O_BLOCKS] = { "blocks", 1 }, [O_ENC_WIDTH] = { "enc-width", 1 }, [O_CODE] = { "code", 1 },
  [O_ITERS] = { "iters", 1 }, [O_BATCH] = { "batch", 1 }, [O_PATCH] = { "patch", 1 },
  [O_LR] = { "lr", 1 }, [O_LR_MIN] = { "lr-min", 1 }, [O_LR_CONST] = { "lr-const", 1 },
  [O_LR_COS] = { "lr-cos", 1 }, [O_QUEUE] = { "queue", 1 },
  [O_CONSTYLE_ITERS] = { "constyle-iters", 1 }, [O_NO_CONSTYLE] = { "no-constyle", 0 },
  [O_SIGMA_RANGE] = { "sigma-range", 1 }, [O_KERNELS] = { "kernels", 1 },
  [O_VAL] = { "val", 1 }, [O_VAL_PAIRS] = { "val-pairs", 2 },
  [O_VAL_EVERY] = { "val-every", 1 }, [O_SAVE_EVERY] = { "save-every", 1 },
  [O_PLOT_EVERY] = { "plot-every", 1 }, [O_SEED] = { "seed", 1 },
  [O_THREADS] = { "threads", 1 }, [O_RESUME] = { "resume", 0 }, [O_INIT] = { "init", 1 },
  [O_HELP] = { "help", 0 }, [O_EMA_DECAY] = { "ema-decay", 1 },
  [O_KERNEL_PROB] = { "kernel-prob", 1 }, [O_CLEAN_PROB] = { "clean-prob", 1 },
  [O_COMPRESS_PROB] = { "compress-prob", 1 }, [O_COMPRESS_QUALITY] = { "compress-quality", 1 },
  [O_LOSS] = { "loss", 1 }, [O_HEAVY_PROB] = { "heavy-prob", 1 },
  [O_PAIRS_PROB] = { "pairs-prob", 1 }, [O_OBJECTIVE] = { "objective", 1 },
  [O_DENSE_HAZE_PROB] = { "dense-haze-prob", 1 },
  [O_NONUNIFORM_BLUR_PROB] = { "nonuniform-blur-prob", 1 }, [O_LABELLED] = { "labelled", 2 },
  [O_LABELLED_PROB] = { "labelled-prob", 1 }, [O_LABELLED_HOLDOUT] = { "labelled-holdout", 1 },
  [O_MIX_WEIGHTS] = { "mix-weights", 1 },
  [O_ROLLING_SHUTTER_PROB] = { "rolling-shutter-prob", 1 },
};

/* The command line as given: strings, before defaults. A resumed run
 * starts from the stored one and lays the new one over it. */
typedef struct {
  int given[O_COUNT];
  const char *v[O_COUNT][2];
  const char *data[MAX_DIRS];
  int n_data;
  const char *pairs[MAX_DIRS][2];
  int n_pairs;
  const char *labelled[MAX_DIRS][2];   /* folder, kinds */
  int n_labelled;
} raw_args;

/* The options in force. */
typedef struct {
  trd_task task;
  const char *out;
  irc_config cfg;
  char config_name[32];
  int64_t iters, lr_const, lr_cos, constyle_iters;
  int batch, patch, queue, no_constyle, psnr_loss, threads, resume;
  int degradation;                 /* --objective degradation */
  double lr, lr_min, ema_decay;
  float sigma_min, sigma_max, kernel_prob, clean_prob, compress_prob, heavy_prob;
  float pairs_prob;                /* 0: no rule (every image equally likely) */
  float dense_haze_prob;
  float nonuniform_blur_prob;
  float rolling_shutter_prob;
  float mix_weights[4];            /* auto: relative chance of rain, haze, noise, blur;
                                      all zero: equal */
  float labelled_prob;             /* 0: no rule */
  int labelled_holdout;
  unsigned labelled_kinds[MAX_DIRS];
  int compress_quality_min, compress_quality_max;
  const char *kernels, *val, *val_pairs[2], *init;
  int64_t val_every, save_every, plot_every;
  uint64_t seed;
} options;

/* --compress-quality's default: from blocky (a low-bitrate stream) to light
 * quantisation; even at the top the 4:2:0 chroma changes the noise's colour
 * statistics, which is what the first denoise model failed on (MODELS.md). */
enum { DEFAULT_COMPRESS_QUALITY_MIN = 30, DEFAULT_COMPRESS_QUALITY_MAX = 90 };

static void
usage (FILE *fp)
{
  irc_plan_options generator_defaults;   /* the defaults help states are the generator's own */
  irc_plan_options_init (&generator_defaults);
  fprintf (fp,
      "Usage: irc-train --task TASK --data DIR [--data DIR2 ...] --out DIR [OPTIONS]\n"
      "\n"
      "Trains a ConStyle-NAFNet restoration model (the paper's recipe) on the CPU from folders\n"
      "of clean images (PNG, JPEG; subfolders one level deep), each random crop\n"
      "degraded by the task's synthetic generator, and/or from paired folders.\n"
      "\n"
      "Tasks:\n"
      "  denoise   blind Gaussian noise, sigma uniform in --sigma-range, added in\n"
      "            float without clipping (the paper's)\n"
      "  derain    rain streaks and accumulation (irc-degrade's rain, light or heavy)\n"
      "  dehaze    atmospheric scattering over a depth proxy of the whole image\n"
      "  deblur    camera-shake trajectories, plus the kernels of --kernels\n"
      "  auto      one of the four per crop, sometimes two (the all-in-one model)\n"
      "\n"
      "Data:\n"
      "  --task TASK            what to learn (required)\n"
      "  --data DIR             clean training images; repeatable. Loaded once as\n"
      "                         8-bit; images smaller than the patch are skipped\n"
      "  --pairs IN TGT         paired degraded/clean folders, used as they are;\n"
      "                         repeatable. Each input pairs with the target of the\n"
      "                         same file name (extensions may differ); folders whose\n"
      "                         names all differ pair in sorted order. A name without\n"
      "                         its partner, unequal counts, a pair of two sizes or an\n"
      "                         unreadable file stops irc-train naming the file; grey\n"
      "                         images are taken as RGB; pairs smaller than the patch\n"
      "                         are skipped and counted\n"
      "  --pairs-prob P         with both --data and --pairs: chance that a sample is\n"
      "                         cut from the pairs rather than drawn synthetically\n"
      "                         (default: every image equally likely, so the share\n"
      "                         follows the folders' sizes); recorded as pairs_prob\n"
      "  --labelled DIR KINDS   --objective degradation: real photos known to hold\n"
      "                         KINDS (clean, rain, haze, noise, blur or a '+'\n"
      "                         mixture such as rain+haze) and no clean target, used\n"
      "                         as they are (mirrored, not rotated; shrunk to at most\n"
      "                         %d px on the longer side); repeatable\n"
      "  --labelled-prob P      chance that a sample is cut from the --labelled\n"
      "                         photos (default: every image equally likely)\n"
      "  --labelled-holdout N   leave every N-th --labelled photo (sorted by name) out\n"
      "                         of training, to measure on (irc-eval probe --holdout N)\n"
      "  --sigma-range LO,HI    noise sigma in 0-255 units (default 0,50; auto too)\n"
      "  --kernels DIR          also blur with the *.txt kernels in DIR (deblur, auto)\n"
      "  --kernel-prob P        chance that a blur uses a kernel of --kernels rather\n"
      "                         than a random trajectory (default %g)\n"
      "  --clean-prob P         chance that a synthetic crop is left undegraded, so\n"
      "                         the model learns to leave clean footage alone\n"
      "                         (default 0)\n"
      "  --heavy-prob P         derain, auto: chance that a rain draw is heavy rather\n"
      "                         than light (default %g)\n"
      "  --dense-haze-prob P    dehaze, auto: chance that a haze draw is dense fog\n"
      "                         (scattering 3-6x the RESIDE range, patchy, white to\n"
      "                         blue-grey) rather than RESIDE-like haze (default 0)\n"
      "  --nonuniform-blur-prob P\n"
      "                         deblur, auto: chance that a blur varies across the\n"
      "                         crop, its kernel turned and scaled from one side to\n"
      "                         the other (a camera that also rotates; depth)\n"
      "                         (default 0)\n"
      "  --rolling-shutter-prob P\n"
      "                         deblur, auto: chance that a random camera path is seen\n"
      "                         through a rolling shutter, the lower rows blurred by a\n"
      "                         later stretch of it (irc-degrade --task blur-rolling)\n"
      "                         (default 0)\n"
      "  --mix-weights R,H,N,B  auto: relative chances of rain, haze, noise and blur\n"
      "                         when a crop's degradation is drawn (default 1,1,1,1),\n"
      "                         e.g. to show a detector more of the kinds it misreads\n"
      "  --compress-prob P      chance that a degraded crop then goes through a JPEG,\n"
      "                         as footage goes through a codec after the sensor:\n"
      "                         noise and rain smoothed and blocked (default 0)\n"
      "  --compress-quality LO,HI\n"
      "                         its JPEG quality, uniform in LO..HI (default %d,%d)\n"
      "  --val DIR              clean validation images, center-cropped to at most\n"
      "                         256x256 and degraded once with a fixed seed (denoise:\n"
      "                         sigma at the middle of --sigma-range)\n"
      "  --val-pairs IN TGT     paired validation folders instead\n"
      "\n"
      "Model:\n"
      "  --config NAME          lite16 (default), tiny8 or paper\n"
      "  --dim N                U-Net base width (multiple of 4), over --config\n"
      "  --blocks L1,L2,L3,B,R1,R2,R3   NAFBlocks per level, over --config\n"
      "  --enc-width N          ConStyle encoder base width\n"
      "  --code N               latent code size\n"
      "  --init MODEL           start from these weights (its configuration)\n"
      "\n"
      "Schedule (paper recipe scaled to --iters):\n"
      "  --iters N              iterations (default 10000)\n"
      "  --batch N              crops per step, >= 2 (default 8)\n"
      "  --patch N              crop side, a multiple of 8 (default 96)\n"
      "  --lr X                 AdamW learning rate (default 3e-4)\n"
      "  --lr-min X             end of the cosine (default 1e-6)\n"
      "  --lr-const N           iterations at --lr first (default 34.6%% of --iters)\n"
      "  --lr-cos N             cosine length after that (default: the rest)\n"
      "  --queue N              MoCo queue size, a multiple of the batch (default the\n"
      "                         largest multiple of the batch up to 8192)\n"
      "  --constyle-iters N     contrastive stage length, encoder frozen after\n"
      "                         (default: the whole run for denoise, 35.5%% otherwise)\n"
      "  --no-constyle          the baseline: L1 only, no key encoder or queue\n"
      "  --loss l1|psnr         pixel loss: the paper's L1 (default), or NAFNet's PSNR\n"
      "                         loss (minus the batch's mean PSNR), which weighs a\n"
      "                         lightly degraded crop as much as a heavy one\n"
      "  --ema-decay X          decay of the U-Net weights' moving average that\n"
      "                         validation and the model files use (default 0.999;\n"
      "                         the ConStyle encoder is taken as it is)\n"
      "  --seed N               seeds weights, queue and data (default 10)\n"
      "  --objective restore|degradation\n"
      "                         restore (default): the restoration objective above.\n"
      "                         degradation: pre-trains the ConStyle encoder and a\n"
      "                         degradation head on its code (added to the model when\n"
      "                         --init has none) to tell rain, haze, noise, blur,\n"
      "                         their mixtures and clean crops apart, and each one's\n"
      "                         strength, from the generator's own draws (binary\n"
      "                         cross-entropy per kind); the U-Net is not run or\n"
      "                         changed. Use --task auto (with --clean-prob) so every\n"
      "                         kind is drawn; then train the U-Net on the frozen\n"
      "                         code with --init and --constyle-iters 0\n"
      "\n"
      "Run:\n"
      "  --out DIR              output folder (created): model.safetensors (EMA\n"
      "                         weights at the best validation PSNR, or the latest\n"
      "                         without validation), last.safetensors (latest EMA),\n"
      "                         state.safetensors (everything to resume), train.csv,\n"
      "                         train.png\n"
      "  --val-every N          validate every N iterations and at the end\n"
      "                         (default 500; 0: only at the end)\n"
      "  --save-every N         checkpoint every N iterations (default 500)\n"
      "  --plot-every N         redraw train.png every N iterations (default 200)\n"
      "  --threads N            CPU threads (default: all cores)\n"
      "  --resume               continue the run in --out bit for bit, with its stored\n"
      "                         options; --iters, --val*, --*-every, --threads and the\n"
      "                         schedule may change, the rest must agree\n"
      "  -h, --help             this help\n"
      "\n"
      "Ctrl-C (SIGINT or SIGTERM) finishes the step, writes a checkpoint and exits\n"
      "130 (a second one kills at once). A non-finite loss stops the run and keeps\n"
      "the last good checkpoint. On a busy machine, OMP_WAIT_POLICY=passive in the\n"
      "environment keeps idle threads from spinning against other processes.\n"
      "Each batch is prepared on a second thread while the step before it runs\n"
      "(IRC_TRAIN_PREFETCH=0: in turn, on one thread); the batches are the same.\n"
      "Exit status: 0 done, 1 runtime error, 2 usage error, 130 interrupted.\n",
      LABELLED_MAX_SIDE, (double) generator_defaults.kernel_prob, (double) generator_defaults.rain_heavy_prob,
      DEFAULT_COMPRESS_QUALITY_MIN,
      DEFAULT_COMPRESS_QUALITY_MAX);
}

/* Whether @task's crops can get rain, so --heavy-prob means something. */
static int
draws_rain (trd_task task)
{
  return task == TRD_DERAIN || task == TRD_AUTO;
}

static int
usage_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "irc-train: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\nTry 'irc-train --help'.\n");
  va_end (ap);
  return EXIT_USAGE;
}

/* Lays @argv (@argc words, no program name) over @r. Returns 0, or an exit
 * status after printing why. */
static int
parse_args (raw_args *r, int argc, char **argv)
{
  int seen_data = 0, seen_pairs = 0, seen_labelled = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    char name[64];
    const char *inline_val = NULL;
    if (strcmp (a, "-h") == 0)
      a = "--help";
    if (strncmp (a, "--", 2) != 0)
      return usage_error ("unexpected argument '%s'", a);
    const char *eq = strchr (a + 2, '=');
    const size_t len = eq ? (size_t) (eq - a - 2) : strlen (a + 2);
    snprintf (name, sizeof name, "%.*s", (int) (len < 63 ? len : 63), a + 2);
    if (eq)
      inline_val = eq + 1;
    int id = -1;
    for (int k = 0; k < O_COUNT; k++)
      if (strcmp (option_table[k].name, name) == 0)
        id = k;
    if (id < 0)
      return usage_error ("unknown option '%s'", a);
    const int nargs = option_table[id].nargs;
    const char *vals[2] = { NULL, NULL };
    if (nargs == 0 && inline_val)
      return usage_error ("--%s takes no value", name);
    for (int k = 0; k < nargs; k++) {
      if (k == 0 && inline_val)
        vals[k] = inline_val;
      else if (i + 1 < argc)
        vals[k] = argv[++i];
      else
        return usage_error ("--%s needs %s", name, nargs == 2 ? "two values" : "a value");
    }
    if (id == O_DATA) {
      if (!seen_data)
        r->n_data = 0;   /* a new command line's folders replace the stored ones */
      seen_data = 1;
      if (r->n_data == MAX_DIRS)
        return usage_error ("too many --data folders (at most %d)", MAX_DIRS);
      r->data[r->n_data++] = vals[0];
    } else if (id == O_PAIRS) {
      if (!seen_pairs)
        r->n_pairs = 0;
      seen_pairs = 1;
      if (r->n_pairs == MAX_DIRS)
        return usage_error ("too many --pairs (at most %d)", MAX_DIRS);
      r->pairs[r->n_pairs][0] = vals[0];
      r->pairs[r->n_pairs++][1] = vals[1];
    } else if (id == O_LABELLED) {
      if (!seen_labelled)
        r->n_labelled = 0;
      seen_labelled = 1;
      if (r->n_labelled == MAX_DIRS)
        return usage_error ("too many --labelled (at most %d)", MAX_DIRS);
      r->labelled[r->n_labelled][0] = vals[0];
      r->labelled[r->n_labelled++][1] = vals[1];
    }
    r->given[id] = 1;
    r->v[id][0] = vals[0];
    r->v[id][1] = vals[1];
  }
  return 0;
}

typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} strbuf;

/* Appends @word to @b, ARG_SEP-separated. */
static void
append_word (strbuf *b, const char *word)
{
  const size_t n = strlen (word);
  if (b->oom)
    return;
  if (b->len + n + 2 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 2 > cap)
      cap *= 2;
    char *t = realloc (b->s, cap);
    if (!t) {
      b->oom = 1;
      return;
    }
    b->s = t;
    b->cap = cap;
  }
  if (b->len)
    b->s[b->len++] = ARG_SEP;
  memcpy (b->s + b->len, word, n + 1);
  b->len += n;
}

/* @r as words separated by ARG_SEP, for the state's metadata: everything but
 * --out, --resume and --help. */
static char *
serialize_args (const raw_args *r)
{
  strbuf b = { NULL, 0, 0, 0 };
  append_word (&b, "");   /* an empty command line is still a string */
  b.len = 0;
#define APPEND(str) append_word (&b, (str))
  for (int id = 0; id < O_COUNT; id++) {
    if (!r->given[id] || id == O_OUT || id == O_RESUME || id == O_HELP)
      continue;
    char flag[64];
    snprintf (flag, sizeof flag, "--%s", option_table[id].name);
    if (id == O_DATA) {
      for (int k = 0; k < r->n_data; k++) {
        APPEND (flag);
        APPEND (r->data[k]);
      }
    } else if (id == O_PAIRS) {
      for (int k = 0; k < r->n_pairs; k++) {
        APPEND (flag);
        APPEND (r->pairs[k][0]);
        APPEND (r->pairs[k][1]);
      }
    } else if (id == O_LABELLED) {
      for (int k = 0; k < r->n_labelled; k++) {
        APPEND (flag);
        APPEND (r->labelled[k][0]);
        APPEND (r->labelled[k][1]);
      }
    } else {
      APPEND (flag);
      for (int k = 0; k < option_table[id].nargs; k++)
        APPEND (r->v[id][k]);
    }
  }
#undef APPEND
  if (b.oom) {
    free (b.s);
    return NULL;
  }
  return b.s;
}

static int
parse_i64 (const char *s, long long lo, long long hi, int64_t *out)
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
parse_int (const char *s, int lo, int hi, int *out)
{
  int64_t v;
  if (parse_i64 (s, lo, hi, &v))
    return -1;
  *out = (int) v;
  return 0;
}

static int
parse_double (const char *s, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  const double v = strtod (s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return -1;
  *out = v;
  return 0;
}

/* @n integers in [@lo, @hi] separated by commas, nothing else. */
static int
parse_int_list (const char *s, int n, long lo, long hi, int *out)
{
  for (int k = 0; k < n; k++) {
    char *end;
    errno = 0;
    const long x = strtol (s, &end, 10);
    if (errno || end == s || x < lo || x > hi)
      return -1;
    out[k] = (int) x;
    s = end;
    if (k + 1 < n && *s++ != ',')
      return -1;
  }
  return *s ? -1 : 0;
}

/* Options in force from @r, with the defaults. Returns 0 or an exit status. */
/* The probability option @id (0 when not given) of a draw that only
 * @task's own generator and the all-in-one one make. */
static int
task_prob (const raw_args *r, int id, trd_task task, trd_task own, float *out)
{
  const char *name = option_table[id].name, *val = r->v[id][0];
  double p = 0.0;
  if (r->given[id] && parse_double (val, 0, 1, &p))
    return usage_error ("--%s wants a probability in [0, 1], not '%s'", name, val);
  if (r->given[id] && task != own && task != TRD_AUTO)
    return usage_error ("--%s goes with --task %s or auto", name, trd_task_name (own));
  *out = (float) p;
  return 0;
}

static int
resolve (options *o, const raw_args *r)
{
  memset (o, 0, sizeof *o);
#define VAL(id) (r->v[id][0])
  if (!r->given[O_TASK])
    return usage_error ("--task is required (denoise, derain, dehaze, deblur or auto)");
  const int t = trd_task_from_name (VAL (O_TASK));
  if (t < 0)
    return usage_error ("unknown task '%s' (denoise, derain, dehaze, deblur, auto)",
        VAL (O_TASK));
  o->task = (trd_task) t;
  o->out = VAL (O_OUT);
  if (!o->out)
    return usage_error ("--out DIR is required");
  if (r->n_data == 0 && r->n_pairs == 0)
    return usage_error ("no training data: give --data DIR or --pairs IN TGT");

  irc_error err = { 0 };
  snprintf (o->config_name, sizeof o->config_name, "%s",
      r->given[O_CONFIG] ? VAL (O_CONFIG) : "lite16");
  if (irc_config_named (o->config_name, &o->cfg, &err) != IRC_OK)
    return usage_error ("unknown configuration '%s' (lite16, tiny8, paper)", o->config_name);
  if (r->given[O_DIM] && parse_int (VAL (O_DIM), 4, 1024, &o->cfg.dim))
    return usage_error ("--dim wants a width in 4..1024, not '%s'", VAL (O_DIM));
  if (r->given[O_ENC_WIDTH] && parse_int (VAL (O_ENC_WIDTH), 1, 1024, &o->cfg.enc_width))
    return usage_error ("--enc-width wants 1..1024, not '%s'", VAL (O_ENC_WIDTH));
  if (r->given[O_CODE] && parse_int (VAL (O_CODE), 1, 4096, &o->cfg.code))
    return usage_error ("--code wants 1..4096, not '%s'", VAL (O_CODE));
  if (r->given[O_BLOCKS]) {
    int b[7];
    if (parse_int_list (VAL (O_BLOCKS), 7, 0, 64, b))
      return usage_error ("--blocks wants seven counts L1,L2,L3,B,R1,R2,R3, not '%s'",
          VAL (O_BLOCKS));
    for (int k = 0; k < 3; k++) {
      o->cfg.left[k] = b[k];
      o->cfg.right[k] = b[4 + k];
    }
    o->cfg.bottom = b[3];
  }
  if (irc_config_validate (&o->cfg, &err) != IRC_OK)
    return usage_error ("%s", err.message);

  o->iters = 10000;
  if (r->given[O_ITERS] && parse_i64 (VAL (O_ITERS), 1, 1000000000, &o->iters))
    return usage_error ("--iters wants a positive count, not '%s'", VAL (O_ITERS));
  o->batch = 8;
  if (r->given[O_BATCH] && parse_int (VAL (O_BATCH), 2, 1024, &o->batch))
    return usage_error ("--batch wants 2..1024 (BatchNorm needs two), not '%s'", VAL (O_BATCH));
  o->patch = 96;
  if (r->given[O_PATCH] && (parse_int (VAL (O_PATCH), 16, 1024, &o->patch) || o->patch % 8))
    return usage_error ("--patch wants a multiple of 8 in 16..1024, not '%s'", VAL (O_PATCH));
  o->lr = 3e-4;
  if (r->given[O_LR] && (parse_double (VAL (O_LR), 0, HUGE_VAL, &o->lr) || !(o->lr > 0)))
    return usage_error ("--lr wants a positive number, not '%s'", VAL (O_LR));
  o->lr_min = 1e-6;
  if (r->given[O_LR_MIN] && parse_double (VAL (O_LR_MIN), 0, o->lr, &o->lr_min))
    return usage_error ("--lr-min wants a number in [0, lr], not '%s'", VAL (O_LR_MIN));
  o->lr_const = (int64_t) llround (o->iters * (PAPER_LR_CONST / PAPER_ITERS));
  if (r->given[O_LR_CONST] && parse_i64 (VAL (O_LR_CONST), 0, INT64_MAX / 2, &o->lr_const))
    return usage_error ("--lr-const wants a count, not '%s'", VAL (O_LR_CONST));
  o->lr_cos = o->iters > o->lr_const ? o->iters - o->lr_const : 0;
  if (r->given[O_LR_COS] && parse_i64 (VAL (O_LR_COS), 0, INT64_MAX / 2, &o->lr_cos))
    return usage_error ("--lr-cos wants a count (0: constant), not '%s'", VAL (O_LR_COS));
  o->no_constyle = r->given[O_NO_CONSTYLE];
  o->psnr_loss = 0;
  if (r->given[O_LOSS]) {
    if (strcmp (VAL (O_LOSS), "psnr") == 0)
      o->psnr_loss = 1;
    else if (strcmp (VAL (O_LOSS), "l1") != 0)
      return usage_error ("--loss wants l1 or psnr, not '%s'", VAL (O_LOSS));
  }
  o->degradation = 0;
  if (r->given[O_OBJECTIVE]) {
    if (strcmp (VAL (O_OBJECTIVE), "degradation") == 0)
      o->degradation = 1;
    else if (strcmp (VAL (O_OBJECTIVE), "restore") != 0)
      return usage_error ("--objective wants restore or degradation, not '%s'",
          VAL (O_OBJECTIVE));
  }
  for (int k = 0; k < r->n_labelled; k++) {
    unsigned kinds = 0;
    if (irc_degradation_parse (r->labelled[k][1], strlen (r->labelled[k][1]), &kinds))
      return usage_error ("--labelled %s: '%s' is not clean, rain, haze, noise, blur or a "
          "'+' mixture of them (rain+haze)", r->labelled[k][0], r->labelled[k][1]);
    o->labelled_kinds[k] = kinds;
  }
  if (r->n_labelled > 0 && !o->degradation)
    return usage_error ("%s", "--labelled photos have no clean target: they train the "
        "degradation head only (--objective degradation)");
  double labelled_prob = 0.0;
  if (r->given[O_LABELLED_PROB] && (parse_double (VAL (O_LABELLED_PROB), 0, 1, &labelled_prob)
        || !(labelled_prob > 0.0)))
    return usage_error ("--labelled-prob wants a probability in (0, 1], not '%s'",
        VAL (O_LABELLED_PROB));
  if (r->given[O_LABELLED_PROB] && r->n_labelled == 0)
    return usage_error ("%s", "--labelled-prob goes with --labelled");
  o->labelled_prob = (float) labelled_prob;
  o->labelled_holdout = 0;
  if (r->given[O_LABELLED_HOLDOUT] && (parse_int (VAL (O_LABELLED_HOLDOUT), 2, 1000,
          &o->labelled_holdout)))
    return usage_error ("--labelled-holdout wants a whole number in 2..1000, not '%s'",
        VAL (O_LABELLED_HOLDOUT));
  if (o->degradation && r->n_pairs > 0 && o->task == TRD_AUTO)
    return usage_error ("%s", "--objective degradation: pairs under --task auto carry no "
        "label (which degradation they hold); train on pairs with their own --task");
  o->ema_decay = 0.999;
  if (r->given[O_EMA_DECAY] && parse_double (VAL (O_EMA_DECAY), 0, 1, &o->ema_decay))
    return usage_error ("--ema-decay wants a number in [0, 1], not '%s'", VAL (O_EMA_DECAY));
  o->queue = 8192 / o->batch * o->batch;
  if (r->given[O_QUEUE] && (parse_int (VAL (O_QUEUE), 1, 1 << 24, &o->queue)
        || o->queue % o->batch))
    return usage_error ("--queue wants a positive multiple of the batch (%d), not '%s'",
        o->batch, VAL (O_QUEUE));
  o->constyle_iters = o->task == TRD_DENOISE ? o->iters
      : (int64_t) llround (o->iters * (PAPER_CONSTYLE / PAPER_ITERS));
  if (r->given[O_CONSTYLE_ITERS]
      && parse_i64 (VAL (O_CONSTYLE_ITERS), 0, INT64_MAX / 2, &o->constyle_iters))
    return usage_error ("--constyle-iters wants a count, not '%s'", VAL (O_CONSTYLE_ITERS));
  o->sigma_min = 0.0f;
  o->sigma_max = 50.0f;
  if (r->given[O_SIGMA_RANGE]) {
    char *end;
    const char *s = VAL (O_SIGMA_RANGE);
    errno = 0;
    const double lo = strtod (s, &end);
    const double hi = *end == ',' ? strtod (end + 1, &end) : NAN;
    if (errno || *end || !(lo >= 0 && hi >= lo && hi <= 255))
      return usage_error ("--sigma-range wants LO,HI with 0 <= LO <= HI <= 255, not '%s'", s);
    o->sigma_min = (float) lo;
    o->sigma_max = (float) hi;
  }
  o->kernels = VAL (O_KERNELS);
  irc_plan_options generator_defaults;   /* the degradation generator's own default */
  irc_plan_options_init (&generator_defaults);
  double kernel_prob = generator_defaults.kernel_prob;
  if (r->given[O_KERNEL_PROB] && parse_double (VAL (O_KERNEL_PROB), 0, 1, &kernel_prob))
    return usage_error ("--kernel-prob wants a probability in [0, 1], not '%s'",
        VAL (O_KERNEL_PROB));
  if (r->given[O_KERNEL_PROB] && !o->kernels)
    return usage_error ("%s", "--kernel-prob goes with --kernels");
  o->kernel_prob = (float) kernel_prob;
  double clean_prob = 0.0;
  if (r->given[O_CLEAN_PROB] && (parse_double (VAL (O_CLEAN_PROB), 0, 1, &clean_prob)
        || !(clean_prob < 1.0)))
    return usage_error ("--clean-prob wants a probability in [0, 1), not '%s'",
        VAL (O_CLEAN_PROB));
  o->clean_prob = (float) clean_prob;
  double compress_prob = 0.0;
  if (r->given[O_COMPRESS_PROB] && parse_double (VAL (O_COMPRESS_PROB), 0, 1, &compress_prob))
    return usage_error ("--compress-prob wants a probability in [0, 1], not '%s'",
        VAL (O_COMPRESS_PROB));
  o->compress_prob = (float) compress_prob;
  double heavy_prob = generator_defaults.rain_heavy_prob;
  if (r->given[O_HEAVY_PROB] && parse_double (VAL (O_HEAVY_PROB), 0, 1, &heavy_prob))
    return usage_error ("--heavy-prob wants a probability in [0, 1], not '%s'",
        VAL (O_HEAVY_PROB));
  if (r->given[O_HEAVY_PROB] && !draws_rain (o->task))
    return usage_error ("%s", "--heavy-prob goes with --task derain or auto");
  o->heavy_prob = (float) heavy_prob;
  double pairs_prob = 0.0;
  if (r->given[O_PAIRS_PROB] && (parse_double (VAL (O_PAIRS_PROB), 0, 1, &pairs_prob)
        || !(pairs_prob > 0.0)))
    return usage_error ("--pairs-prob wants a probability in (0, 1], not '%s'",
        VAL (O_PAIRS_PROB));
  if (r->given[O_PAIRS_PROB] && (r->n_pairs == 0 || r->n_data == 0))
    return usage_error ("%s", "--pairs-prob mixes --pairs with --data: give both");
  o->pairs_prob = (float) pairs_prob;
  int rc;
  if ((rc = task_prob (r, O_DENSE_HAZE_PROB, o->task, TRD_DEHAZE, &o->dense_haze_prob))
      || (rc = task_prob (r, O_NONUNIFORM_BLUR_PROB, o->task, TRD_DEBLUR,
          &o->nonuniform_blur_prob))
      || (rc = task_prob (r, O_ROLLING_SHUTTER_PROB, o->task, TRD_DEBLUR,
          &o->rolling_shutter_prob)))
    return rc;
  if (r->given[O_MIX_WEIGHTS]) {
    const char *s = VAL (O_MIX_WEIGHTS);
    const char *p = s;
    double sum = 0.0;
    int ok = 1;
    for (int k = 0; k < 4 && ok; k++) {
      char *end;
      errno = 0;
      const double w = strtod (p, &end);
      ok = !errno && end != p && w >= 0.0 && w <= 1e6 && *end == (k < 3 ? ',' : '\0');
      o->mix_weights[k] = (float) w;
      sum += w;
      p = end + 1;
    }
    if (!ok || !(sum > 0.0))
      return usage_error ("--mix-weights wants four weights R,H,N,B (rain, haze, noise, blur), "
          "none negative and not all zero, not '%s'", s);
    if (o->task != TRD_AUTO)
      return usage_error ("%s", "--mix-weights goes with --task auto");
  }
  o->compress_quality_min = DEFAULT_COMPRESS_QUALITY_MIN;
  o->compress_quality_max = DEFAULT_COMPRESS_QUALITY_MAX;
  if (r->given[O_COMPRESS_QUALITY]) {
    int q[2];
    if (parse_int_list (VAL (O_COMPRESS_QUALITY), 2, 1, 100, q) || q[0] > q[1])
      return usage_error ("--compress-quality wants LO,HI with 1 <= LO <= HI <= 100, not '%s'",
          VAL (O_COMPRESS_QUALITY));
    if (!r->given[O_COMPRESS_PROB])
      return usage_error ("%s", "--compress-quality goes with --compress-prob");
    o->compress_quality_min = q[0];
    o->compress_quality_max = q[1];
  }
  o->val = VAL (O_VAL);
  if (r->given[O_VAL_PAIRS]) {
    o->val_pairs[0] = r->v[O_VAL_PAIRS][0];
    o->val_pairs[1] = r->v[O_VAL_PAIRS][1];
  }
  if (o->val && o->val_pairs[0])
    return usage_error ("give --val or --val-pairs, not both");
  o->val_every = 500;
  if (r->given[O_VAL_EVERY] && parse_i64 (VAL (O_VAL_EVERY), 0, INT64_MAX / 2, &o->val_every))
    return usage_error ("--val-every wants a count, not '%s'", VAL (O_VAL_EVERY));
  o->save_every = 500;
  if (r->given[O_SAVE_EVERY]
      && parse_i64 (VAL (O_SAVE_EVERY), 1, INT64_MAX / 2, &o->save_every))
    return usage_error ("--save-every wants a positive count, not '%s'", VAL (O_SAVE_EVERY));
  o->plot_every = 200;
  if (r->given[O_PLOT_EVERY]
      && parse_i64 (VAL (O_PLOT_EVERY), 1, INT64_MAX / 2, &o->plot_every))
    return usage_error ("--plot-every wants a positive count, not '%s'", VAL (O_PLOT_EVERY));
  int64_t seed = 10;
  if (r->given[O_SEED] && parse_i64 (VAL (O_SEED), 0, INT64_MAX, &seed))
    return usage_error ("--seed wants a non-negative integer, not '%s'", VAL (O_SEED));
  o->seed = (uint64_t) seed;
  if (r->given[O_THREADS] && parse_int (VAL (O_THREADS), 1, 1024, &o->threads))
    return usage_error ("--threads wants 1..1024, not '%s'", VAL (O_THREADS));
  o->resume = r->given[O_RESUME];
  o->init = VAL (O_INIT);
#undef VAL
  return 0;
}

static int
same_str (const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

static int
same_config (const irc_config *a, const irc_config *b)
{
  return memcmp (a, b, sizeof *a) == 0;
}

/* The name of @cfg if it is a named configuration, else "custom". */
static void
config_label (const irc_config *cfg, char *buf, size_t size)
{
  static const char *const names[3] = { "lite16", "tiny8", "paper" };
  snprintf (buf, size, "custom");
  for (int k = 0; k < 3; k++) {
    irc_config c;
    if (irc_config_named (names[k], &c, NULL) == IRC_OK && same_config (&c, cfg))
      snprintf (buf, size, "%s", names[k]);
  }
}

/* A resumed run must keep what decides its bits; the schedule, validation
 * and outputs may change. Returns 0 or an exit status. */
static int
check_resume (const options *stored, const options *now, const raw_args *rs,
    const raw_args *rn)
{
  const char *what = NULL;
  if (stored->task != now->task)
    what = "--task";
  else if (stored->batch != now->batch)
    what = "--batch";
  else if (stored->patch != now->patch)
    what = "--patch";
  else if (stored->queue != now->queue)
    what = "--queue";
  else if (stored->no_constyle != now->no_constyle)
    what = "--no-constyle";
  else if (stored->psnr_loss != now->psnr_loss)
    what = "--loss";
  else if (stored->degradation != now->degradation)
    what = "--objective";
  else if (stored->lr != now->lr || stored->lr_min != now->lr_min)
    what = "--lr or --lr-min";
  else if (stored->ema_decay != now->ema_decay)
    what = "--ema-decay";
  else if (stored->sigma_min != now->sigma_min || stored->sigma_max != now->sigma_max)
    what = "--sigma-range";
  else if (!same_str (stored->kernels, now->kernels))
    what = "--kernels";
  else if (stored->kernel_prob != now->kernel_prob)
    what = "--kernel-prob";
  else if (stored->clean_prob != now->clean_prob)
    what = "--clean-prob";
  else if (stored->heavy_prob != now->heavy_prob)
    what = "--heavy-prob";
  else if (stored->pairs_prob != now->pairs_prob)
    what = "--pairs-prob";
  else if (stored->dense_haze_prob != now->dense_haze_prob)
    what = "--dense-haze-prob";
  else if (stored->nonuniform_blur_prob != now->nonuniform_blur_prob)
    what = "--nonuniform-blur-prob";
  else if (stored->rolling_shutter_prob != now->rolling_shutter_prob)
    what = "--rolling-shutter-prob";
  else if (memcmp (stored->mix_weights, now->mix_weights, sizeof now->mix_weights) != 0)
    what = "--mix-weights";
  else if (stored->compress_prob != now->compress_prob
      || stored->compress_quality_min != now->compress_quality_min
      || stored->compress_quality_max != now->compress_quality_max)
    what = "--compress-prob or --compress-quality";
  else if (stored->seed != now->seed)
    what = "--seed";
  else if (!same_config (&stored->cfg, &now->cfg))
    what = "the configuration";
  else if (stored->labelled_prob != now->labelled_prob
      || stored->labelled_holdout != now->labelled_holdout)
    what = "--labelled-prob or --labelled-holdout";
  else if (rs->n_data != rn->n_data || rs->n_pairs != rn->n_pairs
      || rs->n_labelled != rn->n_labelled)
    what = "the training folders";
  for (int k = 0; !what && k < rs->n_data; k++)
    if (strcmp (rs->data[k], rn->data[k]) != 0)
      what = "the training folders";
  for (int k = 0; !what && k < rs->n_pairs; k++)
    if (strcmp (rs->pairs[k][0], rn->pairs[k][0]) || strcmp (rs->pairs[k][1], rn->pairs[k][1]))
      what = "the training folders";
  for (int k = 0; !what && k < rs->n_labelled; k++)
    if (strcmp (rs->labelled[k][0], rn->labelled[k][0])
        || stored->labelled_kinds[k] != now->labelled_kinds[k])
      what = "the training folders";
  if (what) {
    fprintf (stderr, "irc-train: %s differs from the run being resumed in %s; resume with "
        "its options (irc-train --out %s --resume alone reuses them)\n", what, now->out,
        now->out);
    return EXIT_USAGE;
  }
  if (stored->lr_const != now->lr_const || stored->lr_cos != now->lr_cos
      || stored->constyle_iters != now->constyle_iters)
    fprintf (stderr, "note: the schedule changes at the resume (constant lr %lld -> %lld, "
        "cosine %lld -> %lld, contrastive stage %lld -> %lld iterations)\n",
        (long long) stored->lr_const, (long long) now->lr_const, (long long) stored->lr_cos,
        (long long) now->lr_cos, (long long) stored->constyle_iters,
        (long long) now->constyle_iters);
  return 0;
}

/* ---------------------------------------------------------------- files */

static int
mkdir_p (const char *path)
{
  char buf[4096];
  if (snprintf (buf, sizeof buf, "%s", path) >= (int) sizeof buf)
    return -1;
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir (buf, 0777) != 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  if (mkdir (buf, 0777) != 0 && errno != EEXIST)
    return -1;
  struct stat sb;
  return stat (buf, &sb) == 0 && S_ISDIR (sb.st_mode) ? 0 : -1;
}

static int
file_exists (const char *path)
{
  struct stat sb;
  return stat (path, &sb) == 0;
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --------------------------------------------------------------- the run */

static volatile sig_atomic_t stop_signal;

static void
on_signal (int sig)
{
  stop_signal = sig;
}

typedef struct {
  options o;
  raw_args raw;
  char *args_str;
  char path_state[4096], path_last[4096], path_model[4096], path_csv[4096], path_png[4096];
  irc_model *model, *ema_model;
  irc_trainer *tr;
  trd_set data;
  trd_val val;
  trp_history hist;
  irc_kernel *kernels;
  size_t n_kernels;
  FILE *csv;
  double elapsed_before, t_session;
  double val_input, last_val, best_val;
  int64_t best_iter, saved_iter, last_val_iter;
  char data_desc[8192], val_desc[4096];
  /* the --init model's own training (its "history" and "total_iterations",
   * or its single run), kept in the state across resumes */
  char prior_history[2048];
  int64_t prior_iters;
  int tty;
  /* data-parallel (dist.h): rank 0, the lead, alone writes files and
   * reports; the others train their share of each batch */
  irc_dist dist;
  int lead;
  int failed_together;             /* every rank stopped on the same failure */
} run;

/* --objective degradation from a model without a head: the same weights
 * in a model that has one, the head at PyTorch's initialisation. */
static irc_status
add_degradation_head (run *R, irc_rng *rng, irc_error *err)
{
  irc_config cfg = R->o.cfg;
  cfg.degradation_head = IRC_DEGRADATION_HEAD_OUTPUTS;
  irc_model *m = NULL;
  irc_status st = irc_model_new (&cfg, NULL, NULL, &m, err);
  if (st != IRC_OK)
    return st;
  trc_init_default (m, rng);
  for (size_t i = 0; i < irc_model_tensor_count (R->model); i++) {
    size_t count, have;
    float *src;
    const char *name = irc_model_tensor_info (R->model, i, &count, NULL, NULL, &src);
    float *dst = irc_model_tensor (m, name, &have);
    if (src && dst && have == count)
      memcpy (dst, src, count * sizeof (float));
  }
  /* metadata (the window, the history) stays with the file --init names */
  irc_model_free (&R->model);
  R->model = m;
  R->o.cfg = cfg;
  return IRC_OK;
}

static void
run_clear (run *R)
{
  if (R->csv)
    fclose (R->csv);
  irc_trainer_free (&R->tr);
  irc_model_free (&R->model);
  irc_model_free (&R->ema_model);
  trd_set_clear (&R->data);
  trd_val_clear (&R->val);
  trp_clear (&R->hist);
  irc_kernel_array_free (R->kernels, R->n_kernels);
  free (R->args_str);
}

static double
elapsed (const run *R)
{
  return R->elapsed_before + (now_s () - R->t_session);
}

/* Mean RGB PSNR of @model over the validation set (8-bit, as irc-eval). */
static irc_status
validate (run *R, irc_model *model, double *psnr, irc_error *err)
{
  const trd_val *v = &R->val;
  irc_net_params np = IRC_NET_DEFAULTS;
  np.backend = IRC_BACKEND_CPU;
  np.threads = R->o.threads;
  irc_net *net = NULL;
  irc_status st = irc_net_new (model, v->max_w, v->max_h, &np, &net, err);
  const size_t max = (size_t) 3 * v->max_w * v->max_h;
  float *out = malloc (max * sizeof (float));
  uint8_t *a = malloc (max), *b = malloc (max);
  if (st == IRC_OK && (!out || !a || !b)) {
    snprintf (err->message, sizeof err->message, "out of memory for validation");
    st = err->status = IRC_ERR_NOMEM;
  }
  double sum = 0;
  for (size_t i = 0; i < v->n && st == IRC_OK; i++) {
    const size_t n = (size_t) 3 * v->width[i] * v->height[i];
    st = irc_net_restore (net, out, v->lq[i], v->width[i], v->height[i], err);
    irc_quantize_u8 (a, out, n);
    irc_quantize_u8 (b, v->gt[i], n);
    sum += irc_psnr_u8 (a, b, n);
  }
  irc_net_free (&net);
  free (out);
  free (a);
  free (b);
  *psnr = v->n ? sum / (double) v->n : NAN;
  return st;
}

static double
input_psnr (const trd_val *v)
{
  double sum = 0;
  for (size_t i = 0; i < v->n; i++) {
    const size_t n = (size_t) 3 * v->width[i] * v->height[i];
    uint8_t *a = malloc (n), *b = malloc (n);
    if (!a || !b) {
      free (a);
      free (b);
      return NAN;
    }
    irc_quantize_u8 (a, v->lq[i], n);
    irc_quantize_u8 (b, v->gt[i], n);
    sum += irc_psnr_u8 (a, b, n);
    free (a);
    free (b);
  }
  return v->n ? sum / (double) v->n : NAN;
}

/* What --init's model went through, from its metadata: its "history" and
 * "total_iterations" when irc-train wrote them, else its one run described
 * by the keys every irc-train file has; a file from elsewhere (a converted
 * official checkpoint) counts no iterations and is named. */
static void
prior_training (run *R, const char *path)
{
  const irc_model *m = R->model;
  const char *hist = irc_model_metadata (m, "history");
  const char *total = irc_model_metadata (m, "total_iterations");
  const char *iters = irc_model_metadata (m, "iterations");
  const char *seed = irc_model_metadata (m, "seed"), *lr = irc_model_metadata (m, "lr");
  if (hist && total) {
    R->prior_iters = strtoll (total, NULL, 10);
    snprintf (R->prior_history, sizeof R->prior_history, "%s", hist);
  } else if (iters) {
    R->prior_iters = strtoll (iters, NULL, 10);
    snprintf (R->prior_history, sizeof R->prior_history, "%s iterations (seed %s, lr %s)",
        iters, seed ? seed : "?", lr ? lr : "?");
  } else {
    R->prior_iters = 0;
    snprintf (R->prior_history, sizeof R->prior_history, "weights of %.1900s (no training record)",
        path);
  }
}

/* Metadata of the model files: what a reader needs to know where the
 * weights come from. @kv receives pointers into @store. */
static size_t
model_metadata (const run *R, int64_t iter, double val_psnr, const char **kv,
    char store[][256], size_t max, char *history, size_t history_size)
{
  const options *o = &R->o;
  size_t n = 0;
  char date[64];
  const time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
#define META(key, ...) do { if (n < max) { snprintf (store[n], 256, __VA_ARGS__); \
    kv[2 * n] = key; kv[2 * n + 1] = store[n]; n++; } } while (0)
  META ("task", "%s", trd_task_name (o->task));
  META ("config_name", "%s", o->config_name);
  META ("iterations", "%lld", (long long) iter);
  META ("train_patch", "%d", o->patch);
  /* the batch the model trained on: data-parallel, every process's share */
  META ("batch", "%d", o->batch * R->dist.size);
  if (R->dist.size > 1)
    META ("processes", "%d", R->dist.size);
  META ("lr", "%g", o->lr);
  META ("lr_min", "%g", o->lr_min);
  META ("lr_const_iters", "%lld", (long long) o->lr_const);
  META ("lr_cos_iters", "%lld", (long long) o->lr_cos);
  META ("queue", "%d", o->no_constyle ? 0 : o->queue);
  META ("constyle_iters", "%lld", (long long) (o->no_constyle ? 0 : o->constyle_iters));
  META ("constyle", "%s", o->no_constyle ? "false" : "true");
  META ("pixel_loss", "%s", o->psnr_loss ? "psnr" : "l1");
  if (o->degradation)
    META ("objective", "%s", "degradation (encoder and degradation head; U-Net untouched)");
  META ("optimizer", "AdamW betas 0.9,0.999 eps 1e-8 weight_decay 1e-4");
  META ("ema_decay", "%g", o->ema_decay);
  META ("moco", "momentum 0.999 temperature 0.07");
  META ("seed", "%llu", (unsigned long long) o->seed);
  if (o->task == TRD_DENOISE || o->task == TRD_AUTO)
    META ("sigma_range", "%g,%g", o->sigma_min, o->sigma_max);
  if (o->kernels) {
    META ("kernels", "%s", o->kernels);
    META ("kernel_prob", "%g", o->kernel_prob);
  }
  if (o->clean_prob > 0)
    META ("clean_prob", "%g", o->clean_prob);
  if (draws_rain (o->task))
    META ("heavy_prob", "%g", o->heavy_prob);
  if (o->pairs_prob > 0)
    META ("pairs_prob", "%g", o->pairs_prob);
  if (o->dense_haze_prob > 0)
    META ("dense_haze_prob", "%g", o->dense_haze_prob);
  if (o->nonuniform_blur_prob > 0)
    META ("nonuniform_blur_prob", "%g", o->nonuniform_blur_prob);
  if (o->rolling_shutter_prob > 0)
    META ("rolling_shutter_prob", "%g", o->rolling_shutter_prob);
  if (o->mix_weights[0] + o->mix_weights[1] + o->mix_weights[2] + o->mix_weights[3] > 0)
    META ("mix_weights", "rain %g, haze %g, noise %g, blur %g", o->mix_weights[0],
        o->mix_weights[1], o->mix_weights[2], o->mix_weights[3]);
  if (o->labelled_prob > 0)
    META ("labelled_prob", "%g", o->labelled_prob);
  if (o->labelled_holdout > 0)
    META ("labelled_holdout", "every %d-th photo of each --labelled folder (sorted by name) "
        "left out", o->labelled_holdout);
  if (o->compress_prob > 0)
    META ("compress", "JPEG 4:2:0 with probability %g, quality %d-%d", o->compress_prob,
        o->compress_quality_min, o->compress_quality_max);
  if (o->init)
    META ("init", "%s", o->init);
  /* the whole training, this run after those of --init's chain */
  META ("total_iterations", "%lld", (long long) (R->prior_iters + iter));
  if (isfinite (val_psnr)) {
    META ("val_psnr", "%.3f", val_psnr);
    META ("val_input_psnr", "%.3f", R->val_input);
  }
  META ("date", "%s", date);
  META ("software", "irc-train (libirc %s)", irc_version ());
#undef META
  /* the folder lists and the history can be long: not through @store */
  snprintf (history, history_size, "%s%s%lld iterations (seed %llu, lr %g%s)", R->prior_history,
      R->prior_history[0] ? "; then " : "", (long long) iter, (unsigned long long) o->seed,
      o->lr, o->psnr_loss ? ", PSNR loss" : "");
  kv[2 * n] = "history";
  kv[2 * n + 1] = history;
  kv[2 * n + 2] = "training_data";
  kv[2 * n + 3] = R->data_desc;
  kv[2 * n + 4] = "val_set";
  kv[2 * n + 5] = R->val_desc[0] ? R->val_desc : "none";
  return n + 3;
}

static irc_status
save_model (run *R, const char *path, int64_t iter, double val_psnr, irc_error *err)
{
  const char *kv[2 * 40];
  char store[40][256], history[sizeof R->prior_history + 128];
  const size_t n = model_metadata (R, iter, val_psnr, kv, store, 37, history, sizeof history);
  irc_status st = trc_copy_ema (R->tr, R->ema_model, err);
  return st == IRC_OK ? irc_model_save (R->ema_model, path, 0, kv, n, err) : st;
}

/* state.safetensors, then last.safetensors, then (without validation)
 * model.safetensors: each written whole under a temporary name and renamed. */
static irc_status
checkpoint (run *R, irc_error *err)
{
  const int64_t iter = irc_trainer_iteration (R->tr);
  char el[32], best[32], besti[32], inp[32], prior[32], procs[16];
  snprintf (prior, sizeof prior, "%lld", (long long) R->prior_iters);
  snprintf (procs, sizeof procs, "%d", R->dist.size);
  snprintf (el, sizeof el, "%.3f", elapsed (R));
  snprintf (best, sizeof best, "%.17g", R->best_val);
  snprintf (besti, sizeof besti, "%lld", (long long) R->best_iter);
  snprintf (inp, sizeof inp, "%.17g", R->val_input);
  const char *meta[] = {
    "format", "irc-train state 1", "args", R->args_str, "task", trd_task_name (R->o.task),
    "elapsed_s", el, "best_val_psnr", best, "best_val_iter", besti, "val_input_psnr", inp,
    "prior_iterations", prior, "prior_history", R->prior_history, "processes", procs,
  };
  irc_rng rngs[2] = { R->data.crop_rng, R->data.deg_rng };
  /* "processes" (last) only for a data-parallel run: a single process's
   * state is what it always was */
  const size_t n_meta = sizeof meta / sizeof meta[0] / 2 - (R->dist.size > 1 ? 0 : 1);
  irc_status st = trc_save_state (R->path_state, R->tr, R->model, rngs, 2, meta, n_meta, err);
  if (st == IRC_OK)
    st = save_model (R, R->path_last, iter, R->last_val_iter == iter ? R->last_val : NAN, err);
  /* model.safetensors follows the best validation; until there is one, the latest */
  if (st == IRC_OK && (R->val.n == 0 || !isfinite (R->best_val)))
    st = save_model (R, R->path_model, iter, NAN, err);
  if (st == IRC_OK)
    R->saved_iter = iter;
  return st;
}

static void
plot (run *R)
{
  char title[512];
  irc_error err = { 0 };
  snprintf (title, sizeof title, "irc-train %s, %s, batch %d, patch %d: iteration %lld of %lld",
      trd_task_name (R->o.task), R->o.config_name, R->o.batch, R->o.patch,
      (long long) irc_trainer_iteration (R->tr), (long long) R->o.iters);
  if (trp_write_png (R->path_png, &R->hist, title, &err) != IRC_OK)
    fprintf (stderr, "%sirc-train: warning: %s\n", R->tty ? "\n" : "", err.message);
}

static const char csv_header[] =
    "iteration,loss,l_pix,l_ce,l_content,l_style,lr,time_s,val_psnr\n";

/* Opens the CSV log. On a resume, keeps the rows up to the checkpoint's
 * iteration (a killed run may have logged past it) and rebuilds the plot's
 * history from them. */
static irc_status
open_csv (run *R, int64_t start, irc_error *err)
{
  if (start > 0) {
    FILE *in = fopen (R->path_csv, "r");
    char tmp[4200];
    snprintf (tmp, sizeof tmp, "%s.tmp%ld", R->path_csv, (long) getpid ());
    FILE *out = fopen (tmp, "w");
    if (!out) {
      if (in)
        fclose (in);
      snprintf (err->message, sizeof err->message, "cannot write %.400s: %s", tmp,
          strerror (errno));
      return err->status = IRC_ERR_IO;
    }
    fputs (csv_header, out);
    char line[1024];
    while (in && fgets (line, sizeof line, in)) {
      char *end;
      const long long it = strtoll (line, &end, 10);
      if (end == line || *end != ',' || it < 1 || it > start)
        continue;   /* the header, or past the checkpoint */
      double f[8];
      const char *p = end + 1;
      int k = 0;
      for (; k < 8; k++) {
        char *e;
        f[k] = strtod (p, &e);
        if (e == p)
          f[k] = NAN;
        p = *e == ',' ? e + 1 : e;
        if (*e != ',')
          break;
      }
      const double losses[TRP_LOSSES] = { f[0], f[1], f[2], f[3], f[4] };
      if (trp_push (&R->hist, it, losses, err) != IRC_OK
          || (k == 7 && isfinite (f[7]) && trp_push_val (&R->hist, it, f[7], err) != IRC_OK)) {
        fclose (out);
        if (in)
          fclose (in);
        return err->status;
      }
      fputs (line, out);
    }
    if (in)
      fclose (in);
    if (fclose (out) != 0 || rename (tmp, R->path_csv) != 0) {
      snprintf (err->message, sizeof err->message, "cannot write %.400s: %s", R->path_csv,
          strerror (errno));
      return err->status = IRC_ERR_IO;
    }
  }
  R->csv = fopen (R->path_csv, start > 0 ? "a" : "w");
  if (!R->csv) {
    snprintf (err->message, sizeof err->message, "cannot write %.400s: %s", R->path_csv,
        strerror (errno));
    return err->status = IRC_ERR_IO;
  }
  if (start == 0)
    fputs (csv_header, R->csv);
  fflush (R->csv);
  return IRC_OK;
}

static void
fmt_duration (char *buf, size_t size, double s)
{
  if (!isfinite (s) || s < 0)
    snprintf (buf, size, "--:--");
  else if (s >= 3600)
    snprintf (buf, size, "%d:%02d:%02d", (int) (s / 3600), (int) fmod (s / 60, 60),
        (int) fmod (s, 60));
  else
    snprintf (buf, size, "%d:%02d", (int) (s / 60), (int) fmod (s, 60));
}

static void
progress (run *R, int64_t it, double rate, double eta_s, const irc_train_losses *L)
{
  char eta[32], val[48] = "";
  fmt_duration (eta, sizeof eta, eta_s);
  if (isfinite (R->last_val))
    snprintf (val, sizeof val, " | val %.2f dB", R->last_val);
  char bar[21];
  const int fill = (int) (20 * it / R->o.iters);
  for (int k = 0; k < 20; k++)
    bar[k] = k < fill ? '#' : '.';
  bar[20] = 0;
  fprintf (stderr, "%s%lld/%lld [%s] %.2f it/s ETA %s | loss %.4f pix %.4f ce %.3f con %.4f "
      "sty %.2e | lr %.2e%s%s",
      R->tty ? "\r\033[K" : "", (long long) it, (long long) R->o.iters, bar, rate, eta,
      L->total, L->l_pix, L->l_ce, L->l_content, L->l_style, L->lr, val, R->tty ? "" : "\n");
  fflush (stderr);
}

static int
fail (run *R, const char *what, const irc_error *err)
{
  char who[48] = "irc-train";
  if (R->dist.size > 1)
    snprintf (who, sizeof who, "irc-train (rank %d of %d)", R->dist.rank, R->dist.size);
  fprintf (stderr, "%s%s: %s%s%s\n", R->tty ? "\n" : "", who, what ? what : "",
      what ? ": " : "", err->message);
  return EXIT_RUNTIME;
}

/* The options of this run: the command line's, or for --resume the stored
 * command line with this one laid over it (checked against what a resume
 * may change), and what the stored run had reached. */
static int
resolve_run (run *R, const raw_args *cur, const char *out)
{
  irc_error err = { 0 };
  int rc;
  /* a resume: the stored command line, the new one laid over it */
  irc_st_file *state = NULL;
  static char stored_copy[65536];
  static char *stored_argv[4096];
  R->raw = *cur;
  if (cur->given[O_RESUME]) {
    if (irc_st_open (R->path_state, &state, &err) != IRC_OK) {
      fprintf (stderr, "irc-train: cannot resume: %s\n", err.message);
      return EXIT_RUNTIME;
    }
    const char *args = irc_st_metadata (state, "args");
    if (!args || strlen (args) >= sizeof stored_copy) {
      fprintf (stderr, "irc-train: cannot resume: %s has no irc-train command line\n",
          R->path_state);
      irc_st_close (&state);
      return EXIT_RUNTIME;
    }
    strcpy (stored_copy, args);
    int n = 0;
    for (char *p = stored_copy; *p && n < 4096;) {
      stored_argv[n++] = p;
      char *sep = strchr (p, ARG_SEP);
      if (!sep)
        break;
      *sep = 0;
      p = sep + 1;
    }
    raw_args stored;
    memset (&stored, 0, sizeof stored);
    stored.given[O_OUT] = 1;
    stored.v[O_OUT][0] = out;
    if (parse_args (&stored, n, stored_argv)) {
      irc_st_close (&state);
      return EXIT_RUNTIME;
    }
    options so;
    if ((rc = resolve (&so, &stored))) {
      irc_st_close (&state);
      return rc;
    }
    /* everything stored, overridden by what this command line gives */
    raw_args merged = stored;
    for (int id = 0; id < O_COUNT; id++)
      if (cur->given[id]) {
        merged.given[id] = 1;
        merged.v[id][0] = cur->v[id][0];
        merged.v[id][1] = cur->v[id][1];
      }
    if (cur->given[O_DATA] || cur->given[O_PAIRS] || cur->given[O_LABELLED]) {
      merged.n_data = cur->n_data;
      memcpy (merged.data, cur->data, sizeof cur->data);
      merged.n_pairs = cur->n_pairs;
      memcpy (merged.pairs, cur->pairs, sizeof cur->pairs);
      merged.n_labelled = cur->n_labelled;
      memcpy (merged.labelled, cur->labelled, sizeof cur->labelled);
    }
    R->raw = merged;
    if ((rc = resolve (&R->o, &R->raw)) || (rc = check_resume (&so, &R->o, &stored, &R->raw))) {
      irc_st_close (&state);
      return rc;
    }
    const char *v;
    R->elapsed_before = (v = irc_st_metadata (state, "elapsed_s")) ? strtod (v, NULL) : 0;
    R->best_val = (v = irc_st_metadata (state, "best_val_psnr")) ? strtod (v, NULL) : NAN;
    R->best_iter = (v = irc_st_metadata (state, "best_val_iter")) ? strtoll (v, NULL, 10) : 0;
    R->prior_iters = (v = irc_st_metadata (state, "prior_iterations")) ? strtoll (v, NULL, 10)
        : 0;
    snprintf (R->prior_history, sizeof R->prior_history, "%s",
        (v = irc_st_metadata (state, "prior_history")) ? v : "");
    /* each process's batch is a share of the global batch: another count of
     * processes would be another batch */
    const int procs = (v = irc_st_metadata (state, "processes")) ? atoi (v) : 1;
    irc_st_close (&state);
    if (procs != R->dist.size) {
      fprintf (stderr, "irc-train: the run in %s was trained by %d process%s, this one has "
          "%d: resume it with as many (mpirun -np %d), which keeps its global batch\n", out,
          procs, procs == 1 ? "" : "es", R->dist.size, procs);
      return EXIT_USAGE;
    }
  } else {
    if ((rc = resolve (&R->o, &R->raw)))
      return rc;
    if (file_exists (R->path_state)) {
      fprintf (stderr, "irc-train: %s already holds a run (%s): add --resume to continue "
          "it, or choose another --out\n", out, R->path_state);
      return EXIT_RUNTIME;
    }
  }
  return 0;
}

/* The degradation the options draw. */
static trd_degradation
degradation_of (const run *R)
{
  const options *o = &R->o;
  const trd_degradation deg = { .task = o->task, .sigma_min = o->sigma_min,
    .sigma_max = o->sigma_max, .kernels = R->kernels, .n_kernels = R->n_kernels,
    .kernel_prob = o->kernel_prob, .clean_prob = o->clean_prob,
    .compress_prob = o->compress_prob, .compress_quality_min = o->compress_quality_min,
    .compress_quality_max = o->compress_quality_max, .heavy_prob = o->heavy_prob,
    .pairs_prob = o->pairs_prob, .haze_dense_prob = o->dense_haze_prob,
    .labelled_prob = o->labelled_prob, .blur_nonuniform_prob = o->nonuniform_blur_prob,
    .mix_weights = { o->mix_weights[0], o->mix_weights[1], o->mix_weights[2],
      o->mix_weights[3] },
    .blur_rolling_prob = o->rolling_shutter_prob };
  return deg;
}

/* The training set (--data, --pairs, --labelled) and the validation set,
 * as the degradation @deg draws them. */
static int
load_data (run *R, const trd_degradation *deg)
{
  irc_error err = { 0 };
  const options *o = &R->o;
  trd_set_init (&R->data, o->batch, o->patch, deg, o->seed);
  R->data.share_index = R->dist.rank;
  R->data.shares = R->dist.size;
  FILE *notes = R->lead ? stderr : NULL;   /* one copy of each note, from rank 0 */
  size_t dl = 0;
  for (int k = 0; k < R->raw.n_data; k++) {
    if (trd_add_clean (&R->data, R->raw.data[k], notes, &err) != IRC_OK)
      return fail (R, "--data", &err);
    dl += snprintf (R->data_desc + dl, sizeof R->data_desc - dl, "%s%s", dl ? ";" : "",
        R->raw.data[k]);
    dl = dl < sizeof R->data_desc ? dl : sizeof R->data_desc - 1;
  }
  for (int k = 0; k < R->raw.n_pairs; k++) {
    if (trd_add_pairs (&R->data, R->raw.pairs[k][0], R->raw.pairs[k][1], notes, &err)
        != IRC_OK)
      return fail (R, "--pairs", &err);
    dl += snprintf (R->data_desc + dl, sizeof R->data_desc - dl, "%spairs:%s|%s",
        dl ? ";" : "", R->raw.pairs[k][0], R->raw.pairs[k][1]);
    dl = dl < sizeof R->data_desc ? dl : sizeof R->data_desc - 1;
  }
  for (int k = 0; k < R->raw.n_labelled; k++) {
    if (trd_add_labelled (&R->data, R->raw.labelled[k][0], o->labelled_kinds[k],
          LABELLED_MAX_SIDE, o->labelled_holdout, notes, &err) != IRC_OK)
      return fail (R, "--labelled", &err);
    dl += snprintf (R->data_desc + dl, sizeof R->data_desc - dl, "%slabelled:%s=%s",
        dl ? ";" : "", R->raw.labelled[k][0], R->raw.labelled[k][1]);
    dl = dl < sizeof R->data_desc ? dl : sizeof R->data_desc - 1;
  }
  size_t bytes = 0;
  for (size_t i = 0; i < R->data.n; i++)
    bytes += (size_t) 3 * R->data.img[i].width * R->data.img[i].height
        * (R->data.img[i].input ? 2 : 1);
  if (notes) {
    fprintf (notes, "training set: %zu images (%zu paired, %zu labelled), %.1f MB in memory\n",
        R->data.n, R->data.n_pairs, R->data.n_labelled, bytes / 1048576.0);
    if (o->pairs_prob > 0)
      fprintf (notes, "mixing: %g%% of samples from the pairs, the rest synthetic\n",
          100.0 * o->pairs_prob);
    if (o->labelled_prob > 0)
      fprintf (notes, "labelled photos: %g%% of samples\n", 100.0 * o->labelled_prob);
  }

  R->val_input = R->last_val = NAN;
  if (!o->resume)
    R->best_val = NAN;
  /* validation is rank 0's alone: the other ranks neither validate nor report */
  if (R->lead && o->val && trd_val_clean (&R->val, o->val, VAL_MAX_SIDE, deg, &err) != IRC_OK)
    return fail (R, "--val", &err);
  if (R->lead && o->val_pairs[0] && trd_val_pairs (&R->val, o->val_pairs[0], o->val_pairs[1],
        VAL_MAX_SIDE, &err) != IRC_OK)
    return fail (R, "--val-pairs", &err);
  if (R->val.n) {
    if (o->val)
      snprintf (R->val_desc, sizeof R->val_desc, "%s", o->val);
    else
      snprintf (R->val_desc, sizeof R->val_desc, "pairs:%s|%s", o->val_pairs[0],
          o->val_pairs[1]);
    R->val_input = input_psnr (&R->val);
    fprintf (stderr, "validation: %zu images of %s, center crops up to %dx%d; input PSNR "
        "%.2f dB\n", R->val.n, R->val_desc, VAL_MAX_SIDE, VAL_MAX_SIDE, R->val_input);
  }
  trp_init (&R->hist);
  R->hist.val_input = R->val_input;

  return 0;
}

/* The model: from the state, from --init, or PyTorch's initialisation
 * (drawn from @init_rng), and the EMA copy beside it. */
static int
make_model (run *R, irc_rng *init_rng)
{
  irc_error err = { 0 };
  options *o = &R->o;
  const int custom_cfg = R->raw.given[O_CONFIG] || R->raw.given[O_DIM]
      || R->raw.given[O_BLOCKS] || R->raw.given[O_ENC_WIDTH] || R->raw.given[O_CODE];
  if (o->resume || o->init) {
    irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
    lp.ignore_prefix = o->resume ? "train." : NULL;
    const char *from = o->resume ? R->path_state : o->init;
    if (irc_model_load (from, &lp, &R->model, &err) != IRC_OK)
      return fail (R, o->resume ? "cannot resume" : "--init", &err);
    if (!o->resume)
      prior_training (R, from);
    if (custom_cfg && !same_config (&o->cfg, irc_model_config (R->model))) {
      char a[512], b[512];
      irc_config_to_json (&o->cfg, a, sizeof a);
      irc_config_to_json (irc_model_config (R->model), b, sizeof b);
      fprintf (stderr, "irc-train: %s holds configuration %s, not the %s asked for\n", from,
          b, a);
      return EXIT_RUNTIME;
    }
    o->cfg = *irc_model_config (R->model);
    if (o->degradation && !o->cfg.degradation_head
        && add_degradation_head (R, init_rng, &err) != IRC_OK)
      return fail (R, "--init", &err);
  } else {
    if (o->degradation)
      o->cfg.degradation_head = IRC_DEGRADATION_HEAD_OUTPUTS;
    if (irc_model_new (&o->cfg, NULL, NULL, &R->model, &err) != IRC_OK)
      return fail (R, NULL, &err);
    trc_init_default (R->model, init_rng);
  }
  config_label (&o->cfg, o->config_name, sizeof o->config_name);
  if (irc_model_new (&o->cfg, NULL, NULL, &R->ema_model, &err) != IRC_OK)
    return fail (R, NULL, &err);

  return 0;
}

/* The trainer, its state restored on --resume or its queue drawn from
 * @init_rng. */
static int
make_trainer (run *R, irc_rng *init_rng)
{
  irc_error err = { 0 };
  const options *o = &R->o;
  irc_train_params tp = IRC_TRAIN_DEFAULTS;
  tp.batch = o->batch;
  tp.patch = o->patch;
  tp.queue_size = o->queue;
  tp.lr = o->lr;
  tp.lr_min = o->lr_min;
  tp.lr_const_iters = o->lr_const;
  tp.lr_cos_iters = o->lr_cos;
  tp.constyle_iters = o->constyle_iters;
  tp.no_constyle = o->no_constyle;
  tp.psnr_loss = o->psnr_loss;
  tp.ema_decay = o->ema_decay;
  if (irc_trainer_new (R->model, &tp, &R->tr, &err) != IRC_OK
      || irc_trainer_set_dist (R->tr, &R->dist, &err) != IRC_OK)
    return fail (R, NULL, &err);
  if (o->resume) {
    irc_rng rngs[2];
    if (trc_load_state (R->path_state, R->tr, R->model, rngs, 2, &err) != IRC_OK)
      return fail (R, "cannot resume", &err);
    R->data.crop_rng = rngs[0];
    R->data.deg_rng = rngs[1];
  } else {
    /* the paper fills the queue from N(0, 1) */
    int code, K;
    float *q = irc_trainer_queue (R->tr, &code, &K);
    for (size_t i = 0; q && i < (size_t) code * K; i++)
      q[i] = irc_rng_normal (init_rng);
  }
  return 0;
}

/* What the run will do, said once on stderr. */
static void
say_plan (const run *R, int64_t start)
{
  const options *o = &R->o;
  fprintf (stderr, "model: %s, %.2f M parameters, %.0f multiply-adds per pixel\n",
      o->config_name, irc_config_param_count (&o->cfg) / 1e6, irc_config_macs_per_pixel (&o->cfg));
  fprintf (stderr, "task %s: %lld iterations of batch %d x %dx%d, lr %g constant for %lld "
      "then cosine over %lld to %g%s\n", trd_task_name (o->task), (long long) o->iters,
      o->batch, o->patch, o->patch, o->lr, (long long) o->lr_const, (long long) o->lr_cos,
      o->lr_min, o->no_constyle ? ", no ConStyle (L1 only)" : "");
  if (!o->no_constyle)
    fprintf (stderr, "ConStyle: queue %d, contrastive losses for %lld iterations\n",
        o->queue, (long long) o->constyle_iters);
  if (o->psnr_loss)
    fprintf (stderr, "pixel loss: PSNR (NAFNet's), not L1\n");
  if (o->clean_prob > 0)
    fprintf (stderr, "clean crops: %g%% left undegraded\n", 100.0 * o->clean_prob);
  if (draws_rain (o->task))
    fprintf (stderr, "rain: %g%% of draws heavy, the rest light\n", 100.0 * o->heavy_prob);
  if (o->mix_weights[0] + o->mix_weights[1] + o->mix_weights[2] + o->mix_weights[3] > 0)
    fprintf (stderr, "mix: rain, haze, noise, blur drawn in proportion %g:%g:%g:%g\n",
        o->mix_weights[0], o->mix_weights[1], o->mix_weights[2], o->mix_weights[3]);
  if (o->compress_prob > 0)
    fprintf (stderr, "compression: %g%% of degraded crops through a JPEG of quality %d-%d\n",
        100.0 * o->compress_prob, o->compress_quality_min, o->compress_quality_max);
  if (o->resume)
    fprintf (stderr, "resuming %s at iteration %lld\n", o->out, (long long) start);
}

static int
setup (run *R, int argc, char **argv)
{
  raw_args cur;
  memset (&cur, 0, sizeof cur);
  int rc = parse_args (&cur, argc - 1, argv + 1);
  if (rc)
    return rc;
  if (cur.given[O_HELP]) {
    usage (stdout);
    exit (0);
  }
  if (!cur.given[O_OUT])
    return usage_error ("--out DIR is required");
  const char *out = cur.v[O_OUT][0];
  snprintf (R->path_state, sizeof R->path_state, "%s/state.safetensors", out);
  snprintf (R->path_last, sizeof R->path_last, "%s/last.safetensors", out);
  snprintf (R->path_model, sizeof R->path_model, "%s/model.safetensors", out);
  snprintf (R->path_csv, sizeof R->path_csv, "%s/train.csv", out);
  snprintf (R->path_png, sizeof R->path_png, "%s/train.png", out);

  if ((rc = resolve_run (R, &cur, out)))
    return rc;
  options *o = &R->o;
  R->args_str = serialize_args (&R->raw);
  if (!R->args_str)
    return EXIT_RUNTIME;
  if (R->lead && mkdir_p (o->out) != 0) {
    fprintf (stderr, "irc-train: cannot create the output folder %s: %s\n", o->out,
        strerror (errno));
    return EXIT_RUNTIME;
  }
  if (o->threads > 0)
    omp_set_num_threads (o->threads);

  irc_error err = { 0 };
  if (o->kernels && irc_kernel_load_dir (o->kernels, &R->kernels, &R->n_kernels, &err) != IRC_OK)
    return fail (R, "--kernels", &err);
  const trd_degradation deg = degradation_of (R);
  if ((rc = load_data (R, &deg)))
    return rc;
  irc_rng init_rng;
  irc_rng_seed (&init_rng, o->seed, 5);
  if ((rc = make_model (R, &init_rng)) || (rc = make_trainer (R, &init_rng)))
    return rc;
  const int64_t start = irc_trainer_iteration (R->tr);
  R->saved_iter = o->resume ? start : -1;
  if (!R->lead)
    return 0;
  if (open_csv (R, start, &err) != IRC_OK)
    return fail (R, NULL, &err);
  if (R->dist.size > 1)
    fprintf (stderr, "data-parallel: %d processes, batch %d each: global batch %d\n",
        R->dist.size, o->batch, o->batch * R->dist.size);

  say_plan (R, start);
  return 0;
}

/* The batches (prefetch.h): made one ahead on a worker thread while the
 * step runs (IRC_TRAIN_PREFETCH=0: in turn, on the loop's thread), from a
 * copy of the data set whose RNGs run one batch ahead of R->data's. As each
 * batch is taken, R->data takes the RNG states that followed it, so a
 * checkpoint holds the state after its step's batch, as when the batches
 * were made in turn, and a resumed run makes the same batches. */
typedef struct {
  trd_set set;                 /* R->data's images; its own RNGs, scratch and targets */
  float *lq[2], *gt[2], *targets[2];
  irc_rng rng[2][2];           /* per slot: crop and degradation RNGs after its batch */
} batches;

static irc_status
make_batch (void *user, int64_t index, int slot, irc_error *err)
{
  batches *b = user;
  (void) index;
  b->set.targets = b->targets[slot];
  const irc_status st = trd_batch (&b->set, b->lq[slot], b->gt[slot], err);
  b->rng[slot][0] = b->set.crop_rng;
  b->rng[slot][1] = b->set.deg_rng;
  return st;
}

static void
batches_clear (batches *b)
{
  for (int k = 0; k < 2; k++) {
    free (b->lq[k]);
    free (b->gt[k]);
    free (b->targets[k]);
  }
  free (b->set.scratch);
  memset (b, 0, sizeof *b);
}

static int
train (run *R)
{
  const options *o = &R->o;
  irc_error err = { 0 };
  const int64_t start = irc_trainer_iteration (R->tr);
  if (start >= o->iters) {
    if (R->lead) {
      fprintf (stderr, "nothing to do: %s is at iteration %lld of %lld (its plot redrawn)\n",
          o->out, (long long) start, (long long) o->iters);
      plot (R);
    }
    return 0;
  }
  const size_t img = (size_t) o->batch * 3 * o->patch * o->patch;
  batches B;
  memset (&B, 0, sizeof B);
  B.set = R->data;
  B.set.scratch = NULL;
  int ok = 1;
  for (int k = 0; k < 2; k++) {
    B.lq[k] = malloc (img * sizeof (float));
    B.gt[k] = malloc (img * sizeof (float));
    if (o->degradation)
      B.targets[k] = malloc ((size_t) o->batch * TRD_TARGETS * sizeof (float));
    ok = ok && B.lq[k] && B.gt[k] && (!o->degradation || B.targets[k]);
  }
  const char *prefetch = getenv ("IRC_TRAIN_PREFETCH");
  irc_tr_prefetch *pf = NULL;
  if (!ok || irc_tr_prefetch_new (make_batch, &B, o->iters - start,
        !(prefetch && strcmp (prefetch, "0") == 0), o->threads, &pf, &err) != IRC_OK) {
    batches_clear (&B);
    fprintf (stderr, "irc-train: out of memory for the batch\n");
    return EXIT_RUNTIME;
  }
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;   /* a second Ctrl-C kills at once */
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);

  /* it/s over the last steps (data and step only: validation and saving
   * would make it jump); the ETA adds the validations still to come */
  enum { WINDOW = 32 };
  double dur[WINDOW], val_secs = 0;
  const double t_loop = now_s ();
  const int64_t log_every = o->iters / 100 < 1 ? 1 : o->iters / 100 > 100 ? 100 : o->iters / 100;
  double last_draw = 0;
  int rc = 0;
  int64_t it = start;
  while (it < o->iters) {
    irc_train_losses L = { 0 };
    const double t_step = now_s ();
    int slot = 0;
    irc_status st = irc_tr_prefetch_next (pf, &slot, &err);
    if (st == IRC_OK) {
      R->data.crop_rng = B.rng[slot][0];
      R->data.deg_rng = B.rng[slot][1];
    }
    if (st == IRC_OK && o->degradation)
      st = irc_trainer_degradation_step (R->tr, B.lq[slot], B.targets[slot], &L, &err);
    else if (st == IRC_OK)
      st = irc_trainer_step (R->tr, B.lq[slot], B.gt[slot], &L, &err);
    if (st != IRC_OK) {
      if (!isfinite (L.total) && st == IRC_ERR_INVALID) {
        /* every rank took the same non-finite losses (irc_trainer_set_dist) */
        R->failed_together = 1;
        rc = EXIT_RUNTIME;
        if (!R->lead)
          break;
        char kept[96];
        if (R->saved_iter >= 0)
          snprintf (kept, sizeof kept, "the last good checkpoint (iteration %lld) is kept",
              (long long) R->saved_iter);
        else
          snprintf (kept, sizeof kept, "no checkpoint was written yet");
        fprintf (stderr, "%sirc-train: stopped: %s; %s in %s. Lower --lr or check the "
            "data.\n", R->tty ? "\n" : "", err.message, kept, o->out);
      } else {
        fail (R, NULL, &err);
      }
      rc = EXIT_RUNTIME;
      break;
    }
    it = irc_trainer_iteration (R->tr);
    /* a signal reaches the ranks at different steps: they stop together at
     * the first step after any rank has seen one */
    int stopping = stop_signal;
    if (irc_dist_max_i (&R->dist, &stopping, &err) != IRC_OK) {
      rc = fail (R, NULL, &err);
      break;
    }
    if (!R->lead) {
      if (stopping) {
        rc = EXIT_INTERRUPTED;
        break;
      }
      continue;
    }
    const int64_t done = it - start;
    dur[(done - 1) % WINDOW] = now_s () - t_step;
    const int span = done < WINDOW ? (int) done : WINDOW;
    double busy = 0;
    for (int k = 0; k < span; k++)
      busy += dur[k];
    const double rate = span / busy;

    double vpsnr = NAN;
    const int last = it == o->iters;
    if (R->val.n && ((o->val_every > 0 && it % o->val_every == 0) || last)) {
      const double t_val = now_s ();
      if (trc_copy_ema (R->tr, R->ema_model, &err) != IRC_OK
          || validate (R, R->ema_model, &vpsnr, &err) != IRC_OK) {
        rc = fail (R, "validation", &err);
        break;
      }
      R->last_val = vpsnr;
      R->last_val_iter = it;
      val_secs = now_s () - t_val;
      if (!R->tty)
        fprintf (stderr, "validation at %lld: %.3f dB (input %.3f dB)\n", (long long) it,
            vpsnr, R->val_input);
      if (!(vpsnr <= R->best_val)) {
        R->best_val = vpsnr;
        R->best_iter = it;
        if (save_model (R, R->path_model, it, vpsnr, &err) != IRC_OK) {
          rc = fail (R, "saving the model", &err);
          break;
        }
      }
      if (trp_push_val (&R->hist, it, vpsnr, &err) != IRC_OK) {
        rc = fail (R, NULL, &err);
        break;
      }
    }
    const double losses[TRP_LOSSES] = { L.total, L.l_pix, L.l_ce, L.l_content, L.l_style };
    if (trp_push (&R->hist, it, losses, &err) != IRC_OK) {
      rc = fail (R, NULL, &err);
      break;
    }
    fprintf (R->csv, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%.9g,%.3f,", (long long) it, L.total,
        L.l_pix, L.l_ce, L.l_content, L.l_style, L.lr, elapsed (R));
    if (isfinite (vpsnr))
      fprintf (R->csv, "%.4f", vpsnr);
    fputc ('\n', R->csv);
    fflush (R->csv);

    const double t = now_s ();
    if ((R->tty && (t - last_draw > 0.1 || last)) || (!R->tty && (done == 1 || it % log_every == 0
          || last))) {
      const int64_t vals_left = R->val.n && o->val_every > 0
          ? o->iters / o->val_every - it / o->val_every : 0;
      progress (R, it, rate, (double) (o->iters - it) / rate + vals_left * val_secs, &L);
      last_draw = t;
    }
    if (it % o->save_every == 0 || last || stopping) {
      if (checkpoint (R, &err) != IRC_OK) {
        rc = fail (R, "checkpoint", &err);
        break;
      }
    }
    if (it % o->plot_every == 0 || last || stopping)
      plot (R);
    if (stopping) {
      fprintf (stderr, "%sirc-train: %s at iteration %lld: checkpoint written to %s\n",
          R->tty ? "\n" : "", stopping == SIGTERM ? "terminated" : "interrupted",
          (long long) it, o->out);
      rc = EXIT_INTERRUPTED;
      break;
    }
  }
  irc_tr_prefetch_free (&pf);
  batches_clear (&B);
  if (rc == EXIT_INTERRUPTED)
    R->failed_together = 1;
  if (rc == 0 && R->lead) {
    const double secs = now_s () - t_loop;
    if (R->tty)
      fputc ('\n', stderr);
    fprintf (stderr, "done: %lld iterations in %.0f s (%.3f it/s, %.3f s per step)",
        (long long) (it - start), secs, (it - start) / secs, secs / (it - start));
    if (R->val.n)
      fprintf (stderr, "; validation %.3f dB at the end, best %.3f dB at %lld (input %.3f dB)",
          R->last_val, R->best_val, (long long) R->best_iter, R->val_input);
    if (R->dist.size > 1)
      fprintf (stderr, "\ndata-parallel: %d processes; rank 0 spent %.1f s of %.1f s (%.1f%%) "
          "communicating, waits for the other ranks included", R->dist.size, R->dist.comm_s,
          secs, 100.0 * R->dist.comm_s / secs);
    fprintf (stderr, "\n%s: model.safetensors, last.safetensors, state.safetensors, "
        "train.csv, train.png\n", o->out);
  }
  return rc;
}

/* FNV-1a over @len bytes, continuing @h. */
static uint64_t
fnv1a (uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* Data-parallel: every rank must run the same options on the same state
 * and data, or the ranks would train different models while averaging
 * their gradients. Rank 0's hash of them goes to every rank; a rank whose
 * own differs is named and every rank stops. */
static int
agree_options (run *R)
{
  if (R->dist.size <= 1)
    return 0;
  irc_error err = { 0 };
  const int64_t start = irc_trainer_iteration (R->tr);
  const uint64_t counts[3] = { (uint64_t) start, R->data.n, (uint64_t) R->o.threads };
  uint64_t mine = fnv1a (14695981039346656037ull, R->args_str, strlen (R->args_str) + 1);
  mine = fnv1a (mine, R->o.out, strlen (R->o.out) + 1);
  mine = fnv1a (mine, counts, sizeof counts);
  uint64_t lead = mine;
  int differing = 0;   /* 1 + the highest rank that differs from rank 0 */
  if (irc_dist_broadcast_u64 (&R->dist, &lead, &err) != IRC_OK)
    return fail (R, NULL, &err);
  if (lead != mine) {
    differing = R->dist.rank + 1;
    fprintf (stderr, "irc-train (rank %d of %d): these options, training images or resumed "
        "iteration differ from rank 0's\n", R->dist.rank, R->dist.size);
  }
  if (irc_dist_max_i (&R->dist, &differing, &err) != IRC_OK)
    return fail (R, NULL, &err);
  R->failed_together = 1;
  if (differing && R->lead)
    fprintf (stderr, "irc-train: refused: rank %d was started with other options, training "
        "images or state than rank 0 (every process of the job needs the same command line "
        "and the same files)\n", differing - 1);
  return differing ? EXIT_USAGE : 0;
}

int
main (int argc, char **argv)
{
  static run R;
  R.tty = isatty (2);
  R.t_session = now_s ();
  irc_error err = { 0 };
  if (irc_dist_init (&R.dist, &argc, &argv, &err) != IRC_OK) {
    fprintf (stderr, "irc-train: %s\n", err.message);
    return EXIT_USAGE;
  }
  R.lead = R.dist.rank == 0;
  int rc = setup (&R, argc, argv);
  if (rc == 0)
    rc = agree_options (&R);
  if (rc == 0)
    rc = train (&R);
  /* a failure of this rank alone (its files, its memory, a broken link)
   * would leave the others waiting in their next exchange: end them all;
   * the launcher names the rank */
  if (rc != 0 && !R.failed_together)
    irc_dist_abort (&R.dist, rc);
  run_clear (&R);
  irc_dist_finish (&R.dist);
  return rc;
}
