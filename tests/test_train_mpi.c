/* test_train_mpi: irc-train data-parallel under mpirun (2 processes,
 * oversubscribed on a small machine). Two processes at --batch 2 train the
 * same model as one process at --batch 4; a stopped 2-process run resumes
 * to the same weights as an uninterrupted one; a NaN, a killed rank and
 * mismatched options stop the whole job with a message naming the rank,
 * and the last checkpoint stays valid. Skips (77) without mpirun or
 * without MPI in the build. */
#include "io/image.h"
#include "irc/irc.h"
#include "train_tool.h"

#include <dirent.h>
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

/* the equivalence runs: learning rate and steps */
#define LR 3e-4
#define ITERS 8

static char tool[4096], mpirun[4096];

/* Starts @argv (NULL-terminated, argv[0] the program) with its output into @log. */
static pid_t
spawn (const char *log, const char *const *argv)
{
  const pid_t pid = fork ();
  if (pid == 0) {
    const int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2 (fd, 1);
      dup2 (fd, 2);
    }
    execv (argv[0], (char *const *) argv);
    _exit (127);
  }
  return pid;
}

/* Waits up to @timeout_s for @pid; its exit status (128 + signal when
 * killed), or -1 after killing it on timeout. */
static int
wait_for (pid_t pid, double timeout_s)
{
  int status = 0;
  for (double waited = 0;; waited += 0.05) {
    const pid_t r = waitpid (pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
    if (r < 0 && errno != EINTR)
      return -1;
    if (waited > timeout_s) {
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      return -1;
    }
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep (&ts, NULL);
  }
}

/* The command line: [mpirun --oversubscribe -np @np] irc-train @opts...
 * (@np 0: irc-train alone); @colon_opts, when given, for a second program
 * of one process (MPMD: "A : B"). */
static int
run_train (const char *log, int np, const char *const *opts, const char *const *colon_opts)
{
  const char *argv[160];
  char nps[16];
  int n = 0;
  if (np > 0) {
    snprintf (nps, sizeof nps, "%d", np);
    argv[n++] = mpirun;
    argv[n++] = "--oversubscribe";
    argv[n++] = "-np";
    argv[n++] = nps;
  }
  argv[n++] = tool;
  for (int k = 0; opts[k] && n < 120; k++)
    argv[n++] = opts[k];
  if (colon_opts) {
    argv[n++] = ":";
    argv[n++] = "-np";
    argv[n++] = "1";
    argv[n++] = tool;
    for (int k = 0; colon_opts[k] && n < 158; k++)
      argv[n++] = colon_opts[k];
  }
  argv[n] = NULL;
  return wait_for (spawn (log, argv), 240);
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

/* Tensors whose true gradient is zero: the Linear biases right before the
 * encoder's BatchNorm (it subtracts the batch mean, so a shift of the
 * Linear's output changes nothing), and the running means that track them. */
static int
bias_before_batchnorm (const char *name)
{
  return strstr (name, ".mlp1.0.bias") || strstr (name, ".mlp2.0.bias")
      || strstr (name, ".running_mean");
}

/* How far two model files' weights are apart. */
typedef struct {
  double worst;             /* largest absolute difference, zero-gradient tensors apart */
  char worst_name[256];
  size_t elements, over;    /* elements compared, and those more than 1e-4 apart */
  double zero_grad;         /* largest difference in the tensors of bias_before_batchnorm */
} model_diff;

/* 0, or -1 when the files do not load or their tensors differ in shape. */
static int
compare_models (const char *a_file, const char *b_file, model_diff *md)
{
  irc_model *a = NULL, *b = NULL;
  irc_error err = { 0 };
  memset (md, 0, sizeof *md);
  if (irc_model_load (a_file, NULL, &a, &err) != IRC_OK
      || irc_model_load (b_file, NULL, &b, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    irc_model_free (&a);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < irc_model_tensor_count (a); i++) {
    size_t count, have = 0;
    float *x;
    const char *name = irc_model_tensor_info (a, i, &count, NULL, NULL, &x);
    const float *y = irc_model_tensor (b, name, &have);
    if (!x)
      continue;
    if (!y || have != count) {
      rc = -1;
      break;
    }
    const int zero_grad = bias_before_batchnorm (name);
    for (size_t k = 0; k < count; k++) {
      const double d = fabs ((double) x[k] - y[k]);
      if (zero_grad) {
        md->zero_grad = fmax (md->zero_grad, d);
        continue;
      }
      md->elements++;
      md->over += d > 1e-4;
      if (d > md->worst) {
        md->worst = d;
        snprintf (md->worst_name, sizeof md->worst_name, "%s", name);
      }
    }
  }
  irc_model_free (&a);
  irc_model_free (&b);
  return rc;
}

/* Largest relative differences of the loss (@total) and L1 pixel loss
 * (@pixel) columns of two train.csv files; -1 when their rows differ in
 * number or iteration. */
static int
compare_losses (const char *a_file, const char *b_file, double *total, double *pixel)
{
  FILE *fa = fopen (a_file, "r"), *fb = fopen (b_file, "r");
  char la[1024], lb[1024];
  int rc = fa && fb ? 0 : -1, rows = 0;
  *total = *pixel = 0;
  while (rc == 0) {
    const int ga = fgets (la, sizeof la, fa) != NULL, gb = fgets (lb, sizeof lb, fb) != NULL;
    if (!ga || !gb) {
      rc = ga == gb ? 0 : -1;
      break;
    }
    if (rows++ == 0)
      continue;   /* the header */
    char *ea, *eb;
    const long long ia = strtoll (la, &ea, 10), ib = strtoll (lb, &eb, 10);
    if (ia != ib || *ea != ',' || *eb != ',') {
      rc = -1;
      break;
    }
    const double ta = strtod (ea + 1, &ea), tb = strtod (eb + 1, &eb);
    const double pa = strtod (ea + 1, NULL), pb = strtod (eb + 1, NULL);
    *total = fmax (*total, fabs (ta - tb) / fmax (fabs (ta), 1e-12));
    *pixel = fmax (*pixel, fabs (pa - pb) / fmax (fabs (pa), 1e-12));
  }
  if (fa)
    fclose (fa);
  if (fb)
    fclose (fb);
  return rc == 0 && rows == ITERS + 1 ? 0 : -1;
}

static double
model_meta (const char *file, const char *key)
{
  irc_model *m = NULL;
  irc_error err = { 0 };
  irc_model_load_params lp = IRC_MODEL_LOAD_DEFAULTS;
  lp.ignore_prefix = "train.";
  if (irc_model_load (file, &lp, &m, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    return NAN;
  }
  const char *v = irc_model_metadata (m, key);
  const double d = v ? strtod (v, NULL) : NAN;
  irc_model_free (&m);
  return d;
}

/* The common options: a tiny model, 8 steps that cross the end of the
 * contrastive stage (5) and the start of the cosine (4) */
#define COMMON "--task", "denoise", "--config", "tiny8", "--data", path ("train"), "--patch", \
    "32", "--queue", "16", "--threads", "1", "--sigma-range", "15,35", "--seed", "11", \
    "--lr", "3e-4", "--lr-const", "4", "--lr-cos", "4", "--constyle-iters", "5"

static void
test_equivalence (void)
{
  char log[4096];
  snprintf (log, sizeof log, "%s", path ("equiv.log"));
  const char *one[] = { COMMON, "--iters", "8", "--batch", "4", "--out", path ("one"), NULL };
  int rc = run_train (log, 0, one, NULL);
  CHECK (rc == 0, "one process at batch 4: exit %d", rc);
  if (rc)
    dump (log);
  const char *two[] = { COMMON, "--iters", "8", "--batch", "2", "--out", path ("two"), NULL };
  rc = run_train (log, 2, two, NULL);
  CHECK (rc == 0 && log_has (log, "global batch 4"), "two processes at batch 2: exit %d", rc);
  if (rc)
    dump (log);
  /* The allreduce sums each gradient in another order than one process's
   * GEMMs over 4 images, and the encoder's BatchNorm amplifies last-bit
   * differences (train/torch_cpu.h), so the runs are not bit-identical.
   * AdamW divides each gradient by its own running size: where the true
   * gradient is zero or at rounding level, the rounding moves a weight by
   * up to lr a step in either direction. Such are the Linear biases before
   * the BatchNorm (every step), and a few encoder weights whose gradient
   * cancels over the batch: all but 1 in 10^4 elements are within 1e-4,
   * none further than 2 lr a step. */
  model_diff md;
  rc = compare_models (path ("one/last.safetensors"), path ("two/last.safetensors"), &md);
  const double adam_bound = 2 * LR * ITERS + 1e-4;
  printf ("batch 4 alone vs 2 processes at batch 2, %d steps: %zu of %zu weights more than "
      "1e-4 apart, largest %.3g (%s); biases before BatchNorm and running means %.3g; "
      "bound 2 lr steps %.3g\n", ITERS, md.over, md.elements, md.worst, md.worst_name,
      md.zero_grad, 2 * LR * ITERS);
  CHECK (rc == 0 && md.elements > 0 && md.over * 10000 <= md.elements,
      "%zu of %zu weights more than 1e-4 apart", md.over, md.elements);
  CHECK (rc == 0 && md.worst <= adam_bound && md.zero_grad <= adam_bound,
      "weights differ by %g in %s, biases before BatchNorm by %g (bound %g)", md.worst,
      md.worst_name, md.zero_grad, adam_bound);
  /* the pixel loss follows the U-Net, which is well conditioned; the
   * InfoNCE on unnormalised codes at temperature 0.07 amplifies the
   * encoder's differences */
  double total, pixel;
  rc = compare_losses (path ("one/train.csv"), path ("two/train.csv"), &total, &pixel);
  printf ("losses of each step: largest relative difference %.3g, pixel loss %.3g\n", total,
      pixel);
  CHECK (rc == 0 && total <= 2e-3 && pixel <= 1e-6,
      "the losses of the two runs differ by %g, the pixel losses by %g", total, pixel);
  /* only rank 0 writes: one header and one row per step in the log */
  FILE *f = fopen (path ("two/train.csv"), "r");
  int lines = 0;
  char line[1024];
  while (f && fgets (line, sizeof line, f))
    lines++;
  if (f)
    fclose (f);
  CHECK (lines == ITERS + 1, "train.csv of the 2-process run has %d lines, not %d", lines,
      ITERS + 1);
}

static void
test_resume (void)
{
  char log[4096];
  snprintf (log, sizeof log, "%s", path ("resume.log"));
  const char *half[] = { COMMON, "--iters", "3", "--batch", "2", "--out", path ("half"), NULL };
  int rc = run_train (log, 2, half, NULL);
  CHECK (rc == 0, "2 processes, 3 steps: exit %d", rc);
  const char *rest[] = { "--out", path ("half"), "--iters", "8", "--resume", NULL };
  rc = run_train (log, 2, rest, NULL);
  CHECK (rc == 0 && log_has (log, "resuming"), "resumed under 2 processes: exit %d", rc);
  if (rc)
    dump (log);
  model_diff md;
  rc = compare_models (path ("two/last.safetensors"), path ("half/last.safetensors"), &md);
  CHECK (rc == 0 && md.worst == 0 && md.zero_grad == 0,
      "stopped at 3 and resumed vs uninterrupted: differ by %g (%s), %g", md.worst,
      md.worst_name, md.zero_grad);
  /* another process count would be another global batch */
  const char *alone[] = { "--out", path ("half"), "--iters", "9", "--resume", NULL };
  rc = run_train (log, 0, alone, NULL);
  CHECK (rc == 2 && log_has (log, "trained by 2 processes"),
      "resuming a 2-process run alone is refused: exit %d", rc);
  if (rc != 2)
    dump (log);
}

static void
test_faults (void)
{
  char log[4096];
  snprintf (log, sizeof log, "%s", path ("faults.log"));
  /* options that differ between the ranks (MPMD: "A : B") */
  const char *a[] = { COMMON, "--iters", "4", "--batch", "2", "--out", path ("mismatch"), NULL };
  const char *b[] = { COMMON, "--iters", "5", "--batch", "2", "--out", path ("mismatch"), NULL };
  int rc = run_train (log, 1, a, b);
  CHECK (rc != 0 && log_has (log, "rank 1 was started with other options"),
      "mismatched options refused: exit %d", rc);
  if (rc == 0)
    dump (log);

  /* a NaN stops every rank; the last good checkpoint stays */
  const char *nan[] = { COMMON, "--iters", "50", "--batch", "2", "--lr", "1e30",
    "--save-every", "1", "--out", path ("nan"), NULL };
  rc = run_train (log, 2, nan, NULL);
  CHECK (rc != 0 && log_has (log, "non-finite loss on rank"),
      "a NaN stops the job naming the rank: exit %d", rc);
  if (rc == 0 || !log_has (log, "non-finite loss on rank"))
    dump (log);
  const double kept = model_meta (path ("nan/last.safetensors"), "iterations");
  CHECK (kept >= 1 && kept < 50, "the last good checkpoint is kept (iteration %g)", kept);
  CHECK (model_meta (path ("nan/state.safetensors"), "prior_iterations") == 0,
      "the state of the stopped run loads");

  /* rank 1 killed mid-run: the launcher ends the job and names the rank;
   * rank 0's last checkpoint loads and resumes */
  char kill_log[4096];
  snprintf (kill_log, sizeof kill_log, "%s", path ("kill.log"));
  const char *longrun[] = { mpirun, "--oversubscribe", "-np", "2", tool, COMMON, "--iters",
    "100000", "--batch", "2", "--save-every", "2", "--out", path ("killed"), NULL };
  const pid_t job = spawn (kill_log, longrun);
  pid_t victim = 0;
  for (int t = 0; t < 1200 && !victim; t++) {
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep (&ts, NULL);
    if (access (path ("killed/last.safetensors"), F_OK) != 0
        || model_meta (path ("killed/last.safetensors"), "iterations") < 4)
      continue;
    /* rank 1: the irc-train whose environment says OMPI_COMM_WORLD_RANK=1 */
    DIR *d = opendir ("/proc");
    struct dirent *e;
    while (d && (e = readdir (d)) && !victim) {
      char file[300], env[65536];
      snprintf (file, sizeof file, "/proc/%s/environ", e->d_name);
      FILE *f = fopen (file, "rb");
      if (!f)
        continue;
      const size_t n = fread (env, 1, sizeof env - 1, f);
      fclose (f);
      env[n] = 0;
      char exe[4096] = "", link[300];
      snprintf (link, sizeof link, "/proc/%s/exe", e->d_name);
      const ssize_t len = readlink (link, exe, sizeof exe - 1);
      exe[len > 0 ? len : 0] = 0;
      if (!strstr (exe, "irc-train"))
        continue;
      int mine = 0, rank1 = 0;
      for (size_t k = 0; k < n; k += strlen (env + k) + 1)
        rank1 |= strcmp (env + k, "OMPI_COMM_WORLD_RANK=1") == 0;
      /* this job's, by its --out on the command line */
      snprintf (file, sizeof file, "/proc/%s/cmdline", e->d_name);
      f = fopen (file, "rb");
      if (f) {
        const size_t m = fread (env, 1, sizeof env - 1, f);
        fclose (f);
        env[m] = 0;
        for (size_t k = 0; k < m; k += strlen (env + k) + 1)
          mine |= strcmp (env + k, path ("killed")) == 0;
      }
      if (mine && rank1)
        victim = (pid_t) atoi (e->d_name);
    }
    if (d)
      closedir (d);
  }
  CHECK (victim > 0, "rank 1 of the long run found");
  if (victim > 0)
    kill (victim, SIGKILL);
  rc = wait_for (job, 60);
  CHECK (rc != 0 && rc != -1 && log_has (kill_log, "rank 1"),
      "a killed rank ends the job (exit %d) naming it", rc);
  if (rc == 0 || rc == -1 || !log_has (kill_log, "rank 1"))
    dump (kill_log);
  const double at = model_meta (path ("killed/last.safetensors"), "iterations");
  CHECK (at >= 4, "the checkpoint of the killed run is valid (iteration %g)", at);
  char more[32];
  snprintf (more, sizeof more, "%d", (int) at + 2);
  const char *resume[] = { "--out", path ("killed"), "--iters", more, "--resume", NULL };
  rc = run_train (log, 2, resume, NULL);
  CHECK (rc == 0, "the killed run resumes: exit %d", rc);
  if (rc)
    dump (log);
}

/* mpirun on the PATH, or 0 */
static int
find_mpirun (void)
{
  const char *p = getenv ("PATH");
  while (p && *p) {
    const char *end = strchr (p, ':');
    const size_t len = end ? (size_t) (end - p) : strlen (p);
    snprintf (mpirun, sizeof mpirun, "%.*s/mpirun", (int) len, p);
    if (len && access (mpirun, X_OK) == 0)
      return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

int
main (void)
{
  const char *build = getenv ("IRC_BUILD_DIR");
  const char *with_mpi = getenv ("IRC_TRAIN_MPI");
  snprintf (tool, sizeof tool, "%s/src/train/irc-train", build ? build : "build");
  if (!with_mpi || strcmp (with_mpi, "1") != 0) {
    printf ("SKIP: irc-train built without MPI (-Dmpi, libopenmpi-dev)\n");
    return 77;
  }
  if (!find_mpirun ()) {
    printf ("SKIP: no mpirun on the PATH (openmpi-bin)\n");
    return 77;
  }
  if (access (tool, X_OK) != 0) {
    fprintf (stderr, "FAIL: %s not built\n", tool);
    return 1;
  }
  /* OpenMPI refuses root unless told; CI containers run as root */
  if (geteuid () == 0) {
    setenv ("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  /* no network probing on a machine without one: the processes share it */
  setenv ("OMPI_MCA_btl", "self,vader", 0);
  snprintf (tmp, sizeof tmp, "/tmp/irc-train-mpi-XXXXXX");
  if (!mkdtemp (tmp)) {
    perror ("mkdtemp");
    return 1;
  }
  mkdir (path ("train"), 0755);
  for (int k = 0; k < 6; k++)
    write_image (path ("train/%d.png", k), 80 + 8 * k, 72, k);

  const time_t t0 = time (NULL);
  test_equivalence ();
  test_resume ();
  fprintf (stderr, "equivalence and resume: %lld s\n", (long long) (time (NULL) - t0));
  test_faults ();
  fprintf (stderr, "faults: %lld s\n", (long long) (time (NULL) - t0));
  if (failures == 0) {
    char cmd[4200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system (cmd) != 0)
      fprintf (stderr, "note: %s left behind\n", tmp);
  }
  printf ("%s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
