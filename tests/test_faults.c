/* faults: allocation failure injected at every allocation of model loading and
 * runner configuration (the element's configure) gives an error status with a
 * message, never a crash, and leaves nothing allocated. The test links with
 * --wrap so that libirc's allocations pass through a counter that can fail
 * the Nth one, and tracks what is live (jansson's too, through its hooks). */
#include "common.h"
#include "irc/runner.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *__real_malloc (size_t n);
void *__real_calloc (size_t a, size_t b);
void *__real_realloc (void *p, size_t n);
void *__real_aligned_alloc (size_t a, size_t n);
void __real_free (void *p);

/* The injector: fail_at = N fails the Nth allocation counted from arming,
 * 0 fails none. Live pointers sit in an open-addressing table so that a leak
 * is seen exactly, whatever the sanitizers say. */
static long calls, fail_at;
static int armed, in_json;
static size_t largest;          /* the largest single request while armed */

#define LIVE_SLOTS (1 << 16)
static void *live[LIVE_SLOTS];
static long n_live;
static void *const TOMB = (void *) 1;

static size_t
slot_of (const void *p)
{
  uintptr_t h = (uintptr_t) p;
  h ^= h >> 17;
  h *= 0x9e3779b97f4a7c15ull;
  return (size_t) (h >> 20) & (LIVE_SLOTS - 1);
}

static void
live_add (void *p)
{
  if (!p || !armed)
    return;
  size_t i = slot_of (p);
  while (live[i] && live[i] != TOMB)
    i = (i + 1) & (LIVE_SLOTS - 1);
  live[i] = p;
  n_live++;
}

static void
live_remove (void *p)
{
  if (!p)
    return;
  for (size_t i = slot_of (p); live[i]; i = (i + 1) & (LIVE_SLOTS - 1)) {
    if (live[i] == p) {
      live[i] = TOMB;
      n_live--;
      return;
    }
  }
}

static int
should_fail (void)
{
  /* jansson's allocations are tracked but never failed: jansson 2.14
   * asserts in lex_scan_string when one fails (see RELIABILITY.md) */
  if (!armed || in_json)
    return 0;
  calls++;
  return fail_at > 0 && calls == fail_at;
}

static void
note_size (size_t n)
{
  if (armed && n > largest)
    largest = n;
}

void *
__wrap_malloc (size_t n)
{
  note_size (n);
  if (should_fail ())
    return NULL;
  void *p = __real_malloc (n);
  live_add (p);
  return p;
}

void *
__wrap_calloc (size_t a, size_t b)
{
  note_size (b && a > SIZE_MAX / b ? SIZE_MAX : a * b);
  if (should_fail ())
    return NULL;
  void *p = __real_calloc (a, b);
  live_add (p);
  return p;
}

void *
__wrap_realloc (void *p, size_t n)
{
  note_size (n);
  if (should_fail ())
    return NULL;
  void *q = __real_realloc (p, n);
  if (q) {
    live_remove (p);
    live_add (q);
  }
  return q;
}

void *
__wrap_aligned_alloc (size_t a, size_t n)
{
  note_size (n);
  if (should_fail ())
    return NULL;
  void *p = __real_aligned_alloc (a, n);
  live_add (p);
  return p;
}

void
__wrap_free (void *p)
{
  live_remove (p);
  __real_free (p);
}

/* strdup allocates inside libc, out of --wrap's reach: route it here */
char *
__wrap_strdup (const char *s)
{
  const size_t n = strlen (s) + 1;
  char *d = __wrap_malloc (n);
  if (d)
    memcpy (d, s, n);
  return d;
}

static void
arm (long n)
{
  memset (live, 0, sizeof live);
  n_live = 0;
  calls = 0;
  largest = 0;
  fail_at = n;
  armed = 1;
}

static void
disarm (void)
{
  armed = 0;
}

/* Runs @op with the Nth allocation failing for N = 1, 2, ... until one run
 * sees no failure. Every run must succeed or fail with a message, and leave
 * nothing live once @undo has freed what a success made. Returns the number
 * of allocation sites passed. */
typedef irc_status (*op_fn) (void *user, irc_error *err);
typedef void (*undo_fn) (void *user);

static long
inject_each (const char *what, op_fn op, undo_fn undo, void *user, int nomem_only)
{
  long n;
  int errors = 0;
  for (n = 1;; n++) {
    irc_error err = {0};
    arm (n);
    irc_status st = op (user, &err);
    const long seen = calls;
    if (st == IRC_OK)
      undo (user);
    disarm ();
    if (n_live != 0) {
      fprintf (stderr, "%s: failing allocation %ld of %ld: %ld block(s) leaked (status %s)\n",
          what, n, seen, n_live, irc_status_name (st));
      exit (1);
    }
    if (st != IRC_OK) {
      errors++;
      CHECK (err.status == st && err.message[0] != '\0');
      if (nomem_only && st != IRC_ERR_NOMEM) {
        fprintf (stderr, "%s: failing allocation %ld gave %s, not IRC_ERR_NOMEM: %s\n",
            what, n, irc_status_name (st), err.message);
        exit (1);
      }
      if (n <= 3 || n % 50 == 0)
        printf ("  %s, allocation %ld fails: %s: %s\n", what, n, irc_status_name (st),
            err.message);
    }
    if (seen < n)
      break;            /* the run made fewer than n allocations: none failed */
  }
  printf ("%s: %ld allocation sites, each failing cleanly (%d errors, no leak)\n",
      what, n - 1, errors);
  CHECK (n > 1);
  return n - 1;
}

/* ------------------------------------------------------------ operations */

typedef struct {
  const void *bytes;
  size_t size;
  irc_model *model;
} load_job;

static irc_status
do_load (void *user, irc_error *err)
{
  load_job *j = user;
  return irc_model_load_memory (j->bytes, j->size, "faults.safetensors", NULL, &j->model, err);
}

static void
undo_load (void *user)
{
  irc_model_free (&((load_job *) user)->model);
}

typedef struct {
  const char *path;
  irc_model *model;
} file_job;

static irc_status
do_load_file (void *user, irc_error *err)
{
  file_job *j = user;
  return irc_model_load (j->path, NULL, &j->model, err);
}

static void
undo_load_file (void *user)
{
  irc_model_free (&((file_job *) user)->model);
}

typedef struct {
  const irc_model *model;
  irc_runner_params p;
  irc_runner *runner;
  uint8_t *frame;
} runner_job;

static irc_status
do_runner (void *user, irc_error *err)
{
  runner_job *j = user;
  irc_status st = irc_runner_new (j->model, &j->p, &j->runner, err);
  if (st != IRC_OK)
    return st;
  /* a configured runner must also run: nothing half set up */
  irc_frame f = { {j->frame}, {j->p.width * 3} };
  return irc_runner_process (j->runner, &f, &f, NULL, err);
}

static void
undo_runner (void *user)
{
  irc_runner_free (&((runner_job *) user)->runner);
}

/* Model paths that are not regular files: endless devices are refused after
 * a few bytes, a pipe carrying a model still loads. */
static void
test_streams (const char *dir, const void *bytes, size_t size)
{
  const char *endless[] = {"/dev/zero", "/dev/urandom"};
  for (int i = 0; i < 2; i++) {
    irc_model *m = NULL;
    irc_error err = {0};
    const clock_t t0 = clock ();
    CHECK (irc_model_load (endless[i], NULL, &m, &err) == IRC_ERR_FORMAT && !m);
    printf ("%s refused in %.3f s: %s\n", endless[i],
        (double) (clock () - t0) / CLOCKS_PER_SEC, err.message);
  }
  char fifo[300];
  snprintf (fifo, sizeof fifo, "%s/pipe.safetensors", dir);
  CHECK (mkfifo (fifo, 0600) == 0);
  const pid_t pid = fork ();
  CHECK (pid >= 0);
  if (pid == 0) {
    FILE *w = fopen (fifo, "wb");
    const int ok = w && fwrite (bytes, 1, size, w) == size;
    _exit (w && fclose (w) == 0 && ok ? 0 : 1);
  }
  irc_model *m = NULL;
  irc_error err = {0};
  const irc_status st = irc_model_load (fifo, NULL, &m, &err);
  int wst = 0;
  CHECK (waitpid (pid, &wst, 0) == pid);
  if (st != IRC_OK)
    fprintf (stderr, "%s\n", err.message);
  CHECK (st == IRC_OK && WIFEXITED (wst) && WEXITSTATUS (wst) == 0);
  printf ("a model through a pipe loads (%zu bytes)\n", size);
  irc_model_free (&m);
  unlink (fifo);
}

/* Finite but absurd weights: the network overflows to Inf and NaN, which
 * the pixel conversion must still turn into defined bytes. */
static void
absurd_init (void *user, const char *name, float *data, size_t count)
{
  (void) user, (void) name;
  for (size_t i = 0; i < count; i++)
    data[i] = i % 2 ? 3e38f : -3e38f;
}

static void
test_absurd_model (void)
{
  irc_config cfg;
  irc_error err = {0};
  CHECK (irc_config_named ("tiny8", &cfg, &err) == IRC_OK);
  irc_model *m = NULL;
  CHECK (irc_model_new (&cfg, absurd_init, NULL, &m, &err) == IRC_OK);
  const irc_pixel_format fmts[] = {IRC_FORMAT_I420, IRC_FORMAT_RGBx};
  for (int f = 0; f < 2; f++) {
    irc_runner_params p = IRC_RUNNER_DEFAULTS;
    p.width = 24, p.height = 16, p.format = fmts[f], p.backend = IRC_BACKEND_CPU;
    irc_runner *r = NULL;
    CHECK (irc_runner_new (m, &p, &r, &err) == IRC_OK);
    uint8_t buf[24 * 16 * 4];
    memset (buf, 90, sizeof buf);
    irc_frame fr = { {buf, buf + 24 * 16, buf + 24 * 16 + 12 * 8}, {24, 12, 12} };
    if (fmts[f] == IRC_FORMAT_RGBx)
      fr.stride[0] = 24 * 4;
    CHECK (irc_runner_process (r, &fr, &fr, NULL, &err) == IRC_OK);
    irc_runner_free (&r);
  }
  irc_model_free (&m);
  printf ("absurd finite weights (+-3e38): frames restored to defined bytes\n");
}

static void *
json_malloc (size_t n)
{
  in_json = 1;
  void *p = __wrap_malloc (n);
  in_json = 0;
  return p;
}

static void
json_free (void *p)
{
  __wrap_free (p);
}

int
main (void)
{
  /* jansson's allocations too, so that what it leaks on our errors shows */
  json_set_alloc_funcs (json_malloc, json_free);

  irc_config cfg;
  irc_error err = {0};
  CHECK (irc_config_named ("tiny8", &cfg, &err) == IRC_OK);
  irc_model *m = NULL;
  CHECK (irc_model_new (&cfg, NULL, NULL, &m, &err) == IRC_OK);
  char dir[] = "/tmp/irc-faults-XXXXXX";
  CHECK (mkdtemp (dir) != NULL);
  char path[256];
  snprintf (path, sizeof path, "%s/m.safetensors", dir);
  const char *meta[] = {"task", "derain"};
  CHECK (irc_model_save (m, path, 1, meta, 1, &err) == IRC_OK);

  FILE *fp = fopen (path, "rb");
  CHECK (fp);
  fseek (fp, 0, SEEK_END);
  const size_t size = (size_t) ftell (fp);
  fseek (fp, 0, SEEK_SET);
  void *bytes = malloc (size);
  CHECK (fread (bytes, 1, size, fp) == size);
  fclose (fp);

  /* a few hundred bytes claiming the largest configuration: refused for its
   * missing tensors before anything is allocated for their gigabytes */
  {
    char cfgjson[512], header[1024], file[1100];
    const irc_config huge = {1024, {64, 64, 64}, 64, {64, 64, 64}, 256, 4096, 0};
    irc_config_to_json (&huge, cfgjson, sizeof cfgjson);
    json_t *meta = json_pack ("{s:{s:s}}", "__metadata__", "config", cfgjson);
    char *text = json_dumps (meta, JSON_COMPACT);
    json_decref (meta);
    const size_t hl = strlen (text);
    memcpy (header, text, hl);
    free (text);
    for (int i = 0; i < 8; i++)
      file[i] = (char) (((uint64_t) hl >> (8 * i)) & 0xff);
    memcpy (file + 8, header, hl);
    irc_model *hm = NULL;
    irc_error he = {0};
    arm (0);
    CHECK (irc_model_load_memory (file, 8 + hl, "huge.safetensors", NULL, &hm, &he)
        == IRC_ERR_MODEL);
    disarm ();
    printf ("huge config in %zu bytes: %s; largest allocation %zu bytes, %ld left live\n",
        8 + hl, he.message, largest, n_live);
    CHECK (strstr (he.message, "missing tensor") && largest < (4u << 20) && n_live == 0);
  }

  load_job lj = {bytes, size, NULL};
  inject_each ("irc_model_load_memory", do_load, undo_load, &lj, 1);
  file_job fj = {path, NULL};
  inject_each ("irc_model_load", do_load_file, undo_load_file, &fj, 1);

  /* configure: what the element does at each caps event */
  uint8_t *frame = calloc (3 * 200 * 120, 1);
  runner_job rj = {m, IRC_RUNNER_DEFAULTS, NULL, frame};
  rj.p.backend = IRC_BACKEND_CPU;
  rj.p.threads = 2;
  rj.p.width = 17, rj.p.height = 13;
  inject_each ("irc_runner_new 17x13 (cpu)", do_runner, undo_runner, &rj, 1);
  rj.p.width = 200, rj.p.height = 120, rj.p.tile_size = 64;
  inject_each ("irc_runner_new 200x120 tiled (cpu)", do_runner, undo_runner, &rj, 1);
  /* auto: the Vulkan probe's allocations too (a failure there may fall back
   * to the CPU, or fail with another status; either way nothing leaks) */
  rj.p.backend = IRC_BACKEND_AUTO;
  rj.p.width = 40, rj.p.height = 24, rj.p.tile_size = 512;
  inject_each ("irc_runner_new 40x24 (auto)", do_runner, undo_runner, &rj, 0);

  test_absurd_model ();
  test_streams (dir, bytes, size);
  free (frame);
  free (bytes);
  irc_model_free (&m);
  unlink (path);
  rmdir (dir);
  return 0;
}
