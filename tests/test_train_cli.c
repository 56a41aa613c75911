/* test_train_cli: irc-train end to end on generated images: a short denoising
 * run learns, a resumed run equals an uninterrupted one exactly, Ctrl-C and
 * NaN stop with a checkpoint, bad data folders are clear errors. */
#include "io/image.h"
#include "irc/irc.h"
#include "train_tool.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tool[4096];

/* Runs irc-train with @argv (NULL-terminated, no program name), its output
 * into @log; returns the exit status (128 + signal when killed). When
 * @interrupt_rows > 0, sends SIGINT once @csv has that many data rows. */
static int
run_tool (const char *log, const char *csv, int interrupt_rows, const char *const *argv)
{
  const char *args[64];
  int n = 0;
  args[n++] = tool;
  for (; argv[n - 1] && n < 63; n++)
    args[n] = argv[n - 1];
  args[n] = NULL;
  const pid_t pid = fork ();
  if (pid == 0) {
    const int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2 (fd, 1);
      dup2 (fd, 2);
    }
    execv (tool, (char *const *) args);
    _exit (127);
  }
  int status = 0, sent = 0;
  for (;;) {
    const pid_t r = waitpid (pid, &status, interrupt_rows > 0 && !sent ? WNOHANG : 0);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR)
      return -1;
    /* wait for enough rows, then Ctrl-C */
    FILE *f = fopen (csv, "r");
    int rows = -1;
    char line[1024];
    while (f && fgets (line, sizeof line, f))
      rows++;
    if (f)
      fclose (f);
    if (rows >= interrupt_rows) {
      kill (pid, SIGINT);
      sent = 1;
    }
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep (&ts, NULL);
  }
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static int
log_has (const char *log, const char *needle)
{
  FILE *f = fopen (log, "r");
  char line[4096];
  int found = 0;
  while (f && !found && fgets (line, sizeof line, f))
    found = strstr (line, needle) != NULL;
  if (f)
    fclose (f);
  return found;
}

static void
dump (const char *log)
{
  FILE *f = fopen (log, "r");
  char line[4096];
  fprintf (stderr, "---- %s\n", log);
  while (f && fgets (line, sizeof line, f))
    fputs (line, stderr);
  if (f)
    fclose (f);
}

/* The CSV rows: iteration and the six loss/lr columns as text, the
 * objective (the loss column), the L1 pixel loss, the PSNR. */
typedef struct {
  long long iter;
  char losses[512];
  double loss, l_pix, psnr;
} row;

static int
read_csv (const char *file, row *rows, int max)
{
  FILE *f = fopen (file, "r");
  char line[1024];
  int n = 0;
  if (!f)
    return 0;
  while (n < max && fgets (line, sizeof line, f)) {
    if (line[0] < '0' || line[0] > '9')
      continue;
    row *r = &rows[n];
    r->iter = strtoll (line, NULL, 10);
    /* columns 1..7 (iteration to lr) must match exactly between runs */
    const char *p = line;
    for (int c = 0; c < 7 && p; c++)
      p = strchr (p + 1, ',');
    snprintf (r->losses, sizeof r->losses, "%.*s", p ? (int) (p - line) : 0, line);
    const char *q = strchr (line, ',');
    r->loss = q ? strtod (q + 1, NULL) : NAN;
    q = q ? strchr (q + 1, ',') : NULL;
    r->l_pix = q ? strtod (q + 1, NULL) : NAN;
    const char *last = strrchr (line, ',');
    r->psnr = last && last[1] != '\n' && last[1] ? strtod (last + 1, NULL) : NAN;
    n++;
  }
  fclose (f);
  return n;
}

/* Runs @argv and checks its exit status and that its output names @needle;
 * shows the output when not. */
static void
expect (int line, int want, const char *needle, const char *const *argv)
{
  const char *log = path ("run.log");
  const int rc = run_tool (log, "", 0, argv);
  if (rc != want || (needle && !log_has (log, needle))) {
    failures++;
    fprintf (stderr, "FAIL line %d: exit %d (want %d)%s%s\n", line, rc, want,
        needle ? ", output should contain " : "", needle ? needle : "");
    dump (log);
  }
}

static double
model_meta (const char *file, const char *key)
{
  irc_model *m = NULL;
  irc_error err = { 0 };
  if (irc_model_load (file, NULL, &m, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return NAN;
  }
  const char *v = irc_model_metadata (m, key);
  const double d = v ? strtod (v, NULL) : NAN;
  irc_model_free (&m);
  return d;
}

static void
test_errors (void)
{
  const char *help[] = { "--help", NULL };
  expect (__LINE__, 0, "--resume", help);

  const char *missing[] = { "--task", "denoise", "--data", path ("no-such-folder"), "--out",
    path ("o1"), NULL };
  expect (__LINE__, 1, "no-such-folder", missing);

  mkdir (path ("empty"), 0755);
  const char *empty[] = { "--task", "denoise", "--data", path ("empty"), "--out", path ("o2"),
    NULL };
  expect (__LINE__, 1, path ("empty"), empty);

  mkdir (path ("corrupt"), 0755);
  write_image (path ("corrupt/a.png"), 64, 64, 0);
  FILE *f = fopen (path ("corrupt/b.png"), "wb");
  fputs ("\x89PNG\r\n\x1a\nthis is not a png", f);
  fclose (f);
  const char *corrupt[] = { "--task", "denoise", "--data", path ("corrupt"), "--out",
    path ("o3"), NULL };
  expect (__LINE__, 1, "b.png", corrupt);

  mkdir (path ("small"), 0755);
  write_image (path ("small/a.png"), 24, 24, 0);
  const char *small[] = { "--task", "denoise", "--data", path ("small"), "--patch", "32",
    "--out", path ("o4"), NULL };
  expect (__LINE__, 1, "smaller than the", small);

  const char *bad_val[] = { "--task", "denoise", "--data", path ("train"), "--patch", "32", "--val",
    path ("no-val"), "--out", path ("o5"), NULL };
  expect (__LINE__, 1, "no-val", bad_val);

  const char *bad_task[] = { "--task", "sharpen", "--data", path ("corrupt"), "--out",
    path ("o6"), NULL };
  expect (__LINE__, 2, "sharpen", bad_task);

  const char *prob_alone[] = { "--task", "deblur", "--data", path ("train"), "--kernel-prob",
    "0.5", "--out", path ("o7"), NULL };
  expect (__LINE__, 2, "--kernel-prob goes with --kernels", prob_alone);
  const char *prob_range[] = { "--task", "deblur", "--data", path ("train"), "--kernels",
    path ("train"), "--kernel-prob", "1.5", "--out", path ("o8"), NULL };
  expect (__LINE__, 2, "'1.5'", prob_range);
  const char *all_clean[] = { "--task", "derain", "--data", path ("train"), "--clean-prob", "1",
    "--out", path ("o9"), NULL };
  expect (__LINE__, 2, "--clean-prob wants a probability in [0, 1)", all_clean);
  const char *quality_alone[] = { "--task", "denoise", "--data", path ("train"),
    "--compress-quality", "30,60", "--out", path ("o10"), NULL };
  expect (__LINE__, 2, "--compress-quality goes with --compress-prob", quality_alone);
  const char *quality_range[] = { "--task", "denoise", "--data", path ("train"),
    "--compress-prob", "0.5", "--compress-quality", "0,60", "--out", path ("o11"), NULL };
  expect (__LINE__, 2, "1 <= LO <= HI <= 100, not '0,60'", quality_range);
  const char *compress_range[] = { "--task", "denoise", "--data", path ("train"),
    "--compress-prob", "-0.1", "--out", path ("o12"), NULL };
  expect (__LINE__, 2, "--compress-prob wants a probability", compress_range);
  const char *heavy_task[] = { "--task", "denoise", "--data", path ("train"), "--heavy-prob",
    "0.3", "--out", path ("o13"), NULL };
  expect (__LINE__, 2, "--heavy-prob goes with --task derain or auto", heavy_task);
  const char *heavy_range[] = { "--task", "derain", "--data", path ("train"), "--heavy-prob",
    "1.2", "--out", path ("o14"), NULL };
  expect (__LINE__, 2, "--heavy-prob wants a probability in [0, 1], not '1.2'", heavy_range);
}

/* The common options of the short runs. */
#define SHORT "--task", "denoise", "--config", "tiny8", "--data", path ("train"), "--batch", \
    "4", "--patch", "32", "--queue", "16", "--threads", "1", "--sigma-range", "25,25"

static void
test_learns (void)
{
  const char *log = path ("learn.log");
  /* a short EMA: the paper's 0.999 would still hold the initial weights */
  const char *args[] = { SHORT, "--val", path ("val"), "--iters", "80", "--lr", "2e-3",
    "--ema-decay", "0.9",
    "--val-every", "40", "--save-every", "40", "--out", path ("learn"), NULL };
  const int rc = run_tool (log, "", 0, args);
  CHECK (rc == 0, "the short run exits 0, not %d", rc);
  if (rc) {
    dump (log);
    return;
  }
  CHECK (log_has (log, "skipping"), "the small training image is skipped with a note");
  row rows[200];
  const int n = read_csv (path ("learn/train.csv"), rows, 200);
  CHECK (n == 80, "80 CSV rows, not %d", n);
  if (n < 20)
    return;
  double first = 0, last = 0;
  for (int i = 0; i < 10; i++) {
    first += rows[i].l_pix / 10;
    last += rows[n - 10 + i].l_pix / 10;
  }
  fprintf (stderr, "pixel loss: first 10 %.4f, last 10 %.4f\n", first, last);
  CHECK (last < first, "the pixel loss falls: %.4f -> %.4f", first, last);
  const double psnr = model_meta (path ("learn/model.safetensors"), "val_psnr");
  const double input = model_meta (path ("learn/model.safetensors"), "val_input_psnr");
  fprintf (stderr, "validation: input %.2f dB, model %.2f dB (at 40: %.2f, at 80: %.2f)\n",
      input, psnr, rows[39].psnr, rows[79].psnr);
  CHECK (psnr > input + 1.0, "validation PSNR %.2f rises over the input's %.2f", psnr, input);
  CHECK (isfinite (rows[39].psnr) && isfinite (rows[79].psnr) && isnan (rows[40].psnr),
      "validation PSNR logged at 40 and 80 only");
  CHECK (model_meta (path ("learn/last.safetensors"), "iterations") == 80,
      "last.safetensors is the EMA at iteration 80");
  irc_model *m = NULL;
  irc_error err = { 0 };
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  lp.ignore_prefix = "train.";
  CHECK (irc_model_load (path ("learn/state.safetensors"), &lp, &m, &err) == IRC_OK,
      "the state loads as a model: %s", err.message);
  /* The saved (EMA) network averages the U-Net but carries the live ConStyle
   * encoder, weights and BatchNorm statistics, bit for bit. */
  irc_model *ema = NULL;
  CHECK (irc_model_load (path ("learn/last.safetensors"), NULL, &ema, &err) == IRC_OK,
      "last.safetensors loads: %s", err.message);
  int encoder_same = 0, encoder_differs = 0, unet_differs = 0;
  for (size_t i = 0; m && ema && i < irc_model_tensor_count (ema); i++) {
    size_t count = 0, live_count = 0;
    float *data = NULL;
    const char *name = irc_model_tensor_info (ema, i, &count, NULL, NULL, &data);
    const float *live = irc_model_tensor (m, name, &live_count);
    if (!name || !data || !live || live_count != count)
      continue;
    const int same = memcmp (data, live, count * sizeof (float)) == 0;
    if (strncmp (name, "ConStyle.encoder_q.", 19) == 0) {
      encoder_same += same;
      encoder_differs += !same;
    } else
      unet_differs += !same;
  }
  CHECK (encoder_same > 0 && encoder_differs == 0,
      "the EMA network's encoder is the live one (%d tensors same, %d differ)",
      encoder_same, encoder_differs);
  CHECK (unet_differs > 0, "the EMA network's U-Net is an average, not the live one");
  irc_model_free (&ema);
  irc_model_free (&m);
  FILE *f = fopen (path ("learn/train.png"), "rb");
  unsigned char sig[8] = { 0 };
  CHECK (f && fread (sig, 1, 8, f) == 8 && memcmp (sig, "\x89PNG", 4) == 0, "train.png is a PNG");
  if (f)
    fclose (f);
}

static void
test_resume (void)
{
  const char *log = path ("resume.log");
  /* crosses the end of the contrastive stage and the start of the cosine */
  const char *whole[] = { SHORT, "--iters", "20", "--constyle-iters", "14", "--lr-const", "8",
    "--save-every", "7", "--out", path ("whole"), NULL };
  CHECK (run_tool (log, "", 0, whole) == 0, "20 iterations");
  const char *half[] = { SHORT, "--iters", "10", "--constyle-iters", "14", "--lr-const", "8",
    "--lr-cos", "12", "--save-every", "7", "--out", path ("half"), NULL };
  CHECK (run_tool (log, "", 0, half) == 0, "10 iterations");
  /* the stored options are reused: --out and --resume are enough */
  const char *again[] = { "--out", path ("half"), "--iters", "20", "--resume", NULL };
  expect (__LINE__, 0, "resuming", again);
  expect (__LINE__, 0, "nothing to do", again);
  const char *exists[] = { SHORT, "--out", path ("half"), NULL };
  expect (__LINE__, 1, "--resume", exists);
  const char *differ[] = { SHORT, "--batch", "8", "--out", path ("half"), "--resume", NULL };
  expect (__LINE__, 2, "--batch", differ);
  const char *compress[] = { SHORT, "--compress-prob", "0.5", "--out", path ("half"), "--resume",
    NULL };
  expect (__LINE__, 2, "--compress-prob or --compress-quality", compress);
  row a[40], b[40];
  const int na = read_csv (path ("whole/train.csv"), a, 40);
  const int nb = read_csv (path ("half/train.csv"), b, 40);
  CHECK (na == 20 && nb == 20, "20 rows each (%d, %d)", na, nb);
  for (int i = 0; i < na && i < nb; i++)
    CHECK (strcmp (a[i].losses, b[i].losses) == 0, "row %d differs:\n  %s\n  %s", i + 1,
        a[i].losses, b[i].losses);
}

/* Whether @file's metadata @key contains @needle. */
static int
meta_has (const char *file, const char *key, const char *needle)
{
  irc_model *m = NULL;
  irc_error err = { 0 };
  if (irc_model_load (file, NULL, &m, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return 0;
  }
  const char *v = irc_model_metadata (m, key);
  const int has = v && strstr (v, needle);
  if (!has)
    fprintf (stderr, "%s: %s is \"%s\", without \"%s\"\n", file, key, v ? v : "(none)", needle);
  irc_model_free (&m);
  return has;
}

/* A model trained in stages (--init from the last stage's file, a stage
 * itself resumed) says so: total_iterations counts every stage and history
 * lists them. Runs after test_resume, whose 20-iteration run it continues. */
static void
test_history (void)
{
  const char *log = path ("history.log");
  const char *first = path ("whole/last.safetensors");
  CHECK (model_meta (first, "total_iterations") == 20, "one run: total_iterations 20");
  CHECK (meta_has (first, "history", "20 iterations (seed 10"), "one run's history");
  const char *second[] = { SHORT, "--iters", "6", "--seed", "3", "--init", first, "--out",
    path ("stage2"), NULL };
  CHECK (run_tool (log, "", 0, second) == 0, "a second stage from the first's weights");
  const char *f2 = path ("stage2/last.safetensors");
  CHECK (model_meta (f2, "iterations") == 6 && model_meta (f2, "total_iterations") == 26,
      "the second stage: 6 iterations, 26 in all");
  CHECK (meta_has (f2, "history", "20 iterations (seed 10, lr 0.0003); then 6 iterations "
      "(seed 3"), "the second stage's history");
  /* a third stage, interrupted by its schedule and resumed longer */
  const char *third[] = { SHORT, "--iters", "2", "--seed", "4", "--init", f2, "--out",
    path ("stage3"), NULL };
  CHECK (run_tool (log, "", 0, third) == 0, "a third stage");
  const char *more[] = { "--out", path ("stage3"), "--iters", "5", "--resume", NULL };
  CHECK (run_tool (log, "", 0, more) == 0, "the third stage resumed");
  const char *f3 = path ("stage3/last.safetensors");
  CHECK (model_meta (f3, "total_iterations") == 31, "three stages, 31 iterations");
  CHECK (meta_has (f3, "history", "then 6 iterations (seed 3, lr 0.0003); then 5 iterations "
      "(seed 4"), "the resumed stage keeps the history of its --init");
}

/* --heavy-prob shifts derain's draws between light and heavy rain (the
 * share itself: test_degrade); the file records it and a resume keeps it. */
static void
test_heavy_prob (void)
{
  const char *log = path ("heavy.log");
  const char *args[] = { "--task", "derain", "--config", "tiny8", "--data", path ("train"),
    "--batch", "4", "--patch", "32", "--queue", "16", "--threads", "1", "--heavy-prob", "0.2",
    "--iters", "4", "--save-every", "4", "--out", path ("heavy"), NULL };
  const int rc = run_tool (log, "", 0, args);
  CHECK (rc == 0 && log_has (log, "rain: 20% of draws heavy"), "a --heavy-prob run exits 0, "
      "not %d, and says its share", rc);
  if (rc) {
    dump (log);
    return;
  }
  CHECK (meta_has (path ("heavy/last.safetensors"), "heavy_prob", "0.2"),
      "the file records its share of heavy rain");
  const char *differ[] = { "--out", path ("heavy"), "--heavy-prob", "0.5", "--iters", "8",
    "--resume", NULL };
  expect (__LINE__, 2, "--heavy-prob differs", differ);
}

/* --loss psnr trains on minus the batch's mean PSNR: the loss column holds
 * it (negative dB) and falls, the L1 column is still logged, and the file
 * and the resume record which loss trained. */
static void
test_psnr_loss (void)
{
  const char *log = path ("psnr.log");
  const char *args[] = { SHORT, "--loss", "psnr", "--iters", "60", "--lr", "2e-3",
    "--save-every", "60", "--out", path ("psnr"), NULL };
  const int rc = run_tool (log, "", 0, args);
  CHECK (rc == 0 && log_has (log, "pixel loss: PSNR"), "a PSNR-loss run exits 0, not %d", rc);
  if (rc) {
    dump (log);
    return;
  }
  row rows[100];
  const int n = read_csv (path ("psnr/train.csv"), rows, 100);
  CHECK (n == 60, "60 CSV rows, not %d", n);
  if (n < 20)
    return;
  double first = 0, last = 0, l1_first = 0, l1_last = 0;
  for (int i = 0; i < 10; i++) {
    first += rows[i].loss / 10;
    last += rows[n - 10 + i].loss / 10;
    l1_first += rows[i].l_pix / 10;
    l1_last += rows[n - 10 + i].l_pix / 10;
  }
  fprintf (stderr, "PSNR loss: first 10 %.2f dB, last 10 %.2f dB; L1 %.4f -> %.4f\n", first,
      last, l1_first, l1_last);
  /* sigma 25 noise is about -20 dB of mse on these images */
  CHECK (first < -10 && first > -60, "the loss column is minus a PSNR: %.2f", first);
  CHECK (last < first, "the PSNR loss falls: %.2f -> %.2f", first, last);
  CHECK (l1_last < l1_first, "the logged L1 falls with it: %.4f -> %.4f", l1_first, l1_last);
  const char *f = path ("psnr/last.safetensors");
  CHECK (meta_has (f, "pixel_loss", "psnr"), "the file names its pixel loss");
  CHECK (meta_has (f, "history", "60 iterations (seed 10, lr 0.002, PSNR loss)"),
      "the history names the loss");
  const char *differ[] = { "--out", path ("psnr"), "--loss", "l1", "--iters", "80", "--resume",
    NULL };
  expect (__LINE__, 2, "--loss differs", differ);
  const char *bad[] = { SHORT, "--loss", "mse", "--out", path ("psnr-bad"), NULL };
  expect (__LINE__, 2, "--loss wants l1 or psnr, not 'mse'", bad);
}

/* Batches made one ahead on a worker thread (the default) are the batches
 * made in turn (IRC_TRAIN_PREFETCH=0), bit for bit and in the same order, and
 * a run interrupted while its next batch was being made resumes to the same
 * rows: the checkpoint holds the data RNGs after the batch its step trained
 * on, not after the one made ahead. */
static void
test_prefetch (void)
{
  const char *log = path ("prefetch.log");
#define AHEAD "--task", "auto", "--compress-prob", "0.5", "--config", "tiny8", "--data", \
    path ("train"), "--batch", "4", "--patch", "48", "--queue", "16", "--threads", "1", \
    "--constyle-iters", "6", "--lr-const", "6", "--lr-cos", "6"
  const char *ahead[] = { AHEAD, "--iters", "12", "--save-every", "5", "--out", path ("ahead"),
    NULL };
  CHECK (run_tool (log, "", 0, ahead) == 0, "12 iterations, batches made ahead");
  setenv ("IRC_TRAIN_PREFETCH", "0", 1);
  const char *turn[] = { AHEAD, "--iters", "12", "--save-every", "5", "--out", path ("turn"),
    NULL };
  CHECK (run_tool (log, "", 0, turn) == 0, "12 iterations, batches made in turn");
  unsetenv ("IRC_TRAIN_PREFETCH");
  /* Ctrl-C after 2 rows of a long run, then resumed to 12 iterations */
  const char *cut[] = { AHEAD, "--iters", "100000", "--save-every", "100000", "--out",
    path ("cut"), NULL };
  const int rc = run_tool (log, path ("cut/train.csv"), 2, cut);
  CHECK (rc == 130, "Ctrl-C exits 130, not %d", rc);
  const double saved = model_meta (path ("cut/last.safetensors"), "iterations");
  if (!(saved < 12))
    fprintf (stderr, "note: the interrupted run had reached iteration %g\n", saved);
  const char *resume[] = { "--out", path ("cut"), "--iters", "12", "--resume", NULL };
  CHECK (run_tool (log, "", 0, resume) == 0, "the interrupted run resumed");
  row a[16], b[16], c[16];
  const int na = read_csv (path ("ahead/train.csv"), a, 16);
  const int nb = read_csv (path ("turn/train.csv"), b, 16);
  const int nc = read_csv (path ("cut/train.csv"), c, 16);
  CHECK (na == 12 && nb == 12 && nc == 12, "12 rows each (%d, %d, %d)", na, nb, nc);
  for (int i = 0; i < na && i < nb && i < nc; i++) {
    CHECK (strcmp (a[i].losses, b[i].losses) == 0, "row %d, ahead / in turn:\n  %s\n  %s",
        i + 1, a[i].losses, b[i].losses);
    CHECK (strcmp (a[i].losses, c[i].losses) == 0,
        "row %d, uninterrupted / interrupted at %g and resumed:\n  %s\n  %s", i + 1, saved,
        a[i].losses, c[i].losses);
  }
#undef AHEAD
}

static void
test_interrupt_and_nan (void)
{
  const char *log = path ("int.log");
  const char *args[] = { SHORT, "--iters", "100000", "--save-every", "100000", "--out",
    path ("int"), NULL };
  const int rc = run_tool (log, path ("int/train.csv"), 3, args);
  CHECK (rc == 130 && log_has (log, "interrupted"), "Ctrl-C exits 130, not %d", rc);
  static row r[1000];
  const int n = read_csv (path ("int/train.csv"), r, 1000);
  const double saved = model_meta (path ("int/last.safetensors"), "iterations");
  CHECK (n >= 3 && saved == r[n - 1].iter,
      "the checkpoint holds the last step: %g vs %d rows", saved, n);

  const char *nan[] = { SHORT, "--iters", "50", "--lr", "1e30", "--save-every", "1", "--out",
    path ("nan"), NULL };
  const int rn = run_tool (log, "", 0, nan);
  CHECK (rn == 1 && log_has (log, "non-finite"), "a NaN loss stops with exit 1, not %d", rn);
  const double kept = model_meta (path ("nan/last.safetensors"), "iterations");
  CHECK (kept >= 1 && kept < 50, "the last good checkpoint is kept (iteration %g)", kept);
  if (rn != 1)
    dump (log);
}

int
main (void)
{
  const char *build = getenv ("IRC_BUILD_DIR");
  snprintf (tool, sizeof tool, "%s/src/train/irc-train", build ? build : "build");
  if (access (tool, X_OK) != 0) {
    fprintf (stderr, "FAIL: %s not built\n", tool);
    return 1;
  }
  snprintf (tmp, sizeof tmp, "/tmp/irc-train-test-XXXXXX");
  if (!mkdtemp (tmp)) {
    perror ("mkdtemp");
    return 1;
  }
  mkdir (path ("train"), 0755);
  mkdir (path ("val"), 0755);
  for (int k = 0; k < 6; k++)
    write_image (path ("train/%d.png", k), 80 + 8 * k, 72, k);
  write_image (path ("train/tiny.png"), 24, 20, 0);
  for (int k = 0; k < 3; k++)
    write_image (path ("val/%d.png", k), 72, 64, k + 6);

  const time_t t0 = time (NULL);
  test_errors ();
  fprintf (stderr, "errors: %lld s\n", (long long) (time (NULL) - t0));
  test_learns ();
  fprintf (stderr, "learns: %lld s\n", (long long) (time (NULL) - t0));
  test_resume ();
  test_history ();
  test_psnr_loss ();
  test_heavy_prob ();
  fprintf (stderr, "resume: %lld s\n", (long long) (time (NULL) - t0));
  test_interrupt_and_nan ();
  test_prefetch ();
  fprintf (stderr, "prefetch: %lld s\n", (long long) (time (NULL) - t0));
  fprintf (stderr, "%d failures in %lld s (files in %s)\n", failures,
      (long long) (time (NULL) - t0), tmp);
  if (!failures) {
    char cmd[4200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", tmp);
  }
  return failures ? 1 : 0;
}
