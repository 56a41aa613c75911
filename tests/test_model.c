/* model: loading model files by official tensor names, configuration from
 * metadata or shapes, and every way a model file can be wrong. */
#include "common.h"
#include "safetensors.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void
fill (void *user, const char *name, float *data, size_t count)
{
  unsigned *s = user;
  for (size_t i = 0; i < count; i++) {
    test_lcg (s);
    data[i] = ((*s >> 8) / 16777216.0f - 0.5f) * 0.1f;
  }
  if (strstr (name, "running_var"))
    for (size_t i = 0; i < count; i++)
      data[i] = 1.0f;
}

/* Writes every tensor of @m to @path through the writer, letting @edit drop
 * (return 0), rename or reshape tensors on the way. */
typedef int (*edit_fn) (char *name, int *ndim, int64_t *shape);

static void
write_edited (const irc_model *m, const char *path, edit_fn edit, int with_config,
    const char *extra_name)
{
  irc_error err = {0};
  irc_st_writer *w = NULL;
  CHECK (irc_st_writer_new (&w, &err) == IRC_OK);
  if (with_config) {
    char cfg[256];
    irc_config_to_json (irc_model_config (m), cfg, sizeof cfg);
    CHECK (irc_st_writer_metadata (w, "config", cfg, &err) == IRC_OK);
  }
  for (size_t i = 0; i < irc_model_tensor_count (m); i++) {
    size_t count;
    int ndim;
    int64_t shape[4];
    float *data;
    const char *n = irc_model_tensor_info (m, i, &count, &ndim, shape, &data);
    char name[128];
    snprintf (name, sizeof name, "%s", n);
    if (edit && !edit (name, &ndim, shape))
      continue;
    if (!data) {
      const int64_t zero = 0;
      CHECK (irc_st_writer_add_i64 (w, name, 0, shape, &zero, &err) == IRC_OK);
      continue;
    }
    size_t want = 1;
    for (int k = 0; k < ndim; k++)
      want *= (size_t) shape[k];
    float *buf = calloc (want + 1, sizeof (float));
    memcpy (buf, data, (want < count ? want : count) * sizeof (float));
    CHECK (irc_st_writer_add_f32 (w, name, ndim, shape, buf, 0, &err) == IRC_OK);
    free (buf);
  }
  if (extra_name) {
    const int64_t shape[1] = {2};
    const float v[2] = {1, 2};
    CHECK (irc_st_writer_add_f32 (w, extra_name, 1, shape, v, 0, &err) == IRC_OK);
  }
  CHECK (irc_st_writer_save (w, path, &err) == IRC_OK);
  irc_st_writer_free (&w);
}

static void
expect_refused (const char *path, irc_status status, const char *words1, const char *words2)
{
  irc_error err = {0};
  irc_model *m = NULL;
  irc_status st = irc_model_load (path, NULL, &m, &err);
  printf ("  %s -> %s: %s\n", strrchr (path, '/') + 1, irc_status_name (st), err.message);
  CHECK (st == status);
  CHECK (m == NULL);
  CHECK (strstr (err.message, words1));
  CHECK (!words2 || strstr (err.message, words2));
}

static int drop_dc2 (char *name, int *ndim, int64_t *shape)
{
  (void) ndim, (void) shape;
  return strcmp (name, "DC2.down.0.weight") != 0;
}

static int reshape_conv1 (char *name, int *ndim, int64_t *shape)
{
  (void) ndim;
  if (strcmp (name, "Process_Module_l1.0.conv1.weight") == 0)
    shape[0] = 7;
  return 1;
}

static int rename_pre (char *name, int *ndim, int64_t *shape)
{
  (void) ndim, (void) shape;
  if (strcmp (name, "Finetune_Module.0.weight") == 0)
    strcpy (name, "Finetune_Module.1.weight");
  return 1;
}

/* Overwrites float element @index of tensor @name in the file at @path. */
static void
poke_float (const char *path, const char *name, size_t index, float v)
{
  irc_error err = {0};
  irc_st_file *f = NULL;
  CHECK (irc_st_open (path, &f, &err) == IRC_OK);
  const irc_st_tensor *t = irc_st_find (f, name);
  CHECK (t && t->dtype == IRC_DTYPE_F32 && index < t->count);
  FILE *fp = fopen (path, "rb");
  uint64_t hl;
  CHECK (fread (&hl, 8, 1, fp) == 1);
  fclose (fp);
  const long off = (long) (8 + hl + t->begin + index * 4);
  irc_st_close (&f);
  fp = fopen (path, "r+b");
  CHECK (fp && fseek (fp, off, SEEK_SET) == 0 && fwrite (&v, 4, 1, fp) == 1);
  fclose (fp);
}

static void
test_bad_models (void)
{
  irc_config cfg;
  irc_error err = {0};
  CHECK (irc_config_named ("tiny8", &cfg, &err) == IRC_OK);
  irc_model *m = NULL;
  unsigned seed = 3;
  CHECK (irc_model_new (&cfg, fill, &seed, &m, &err) == IRC_OK);
  char path[512];

  /* the good file loads, with and without metadata, and round-trips */
  snprintf (path, sizeof path, "%s/good.safetensors", tmpdir);
  const char *meta[] = {"task", "test"};
  CHECK (irc_model_save (m, path, 0, meta, 1, &err) == IRC_OK);
  irc_model *back = NULL;
  CHECK (irc_model_load (path, NULL, &back, &err) == IRC_OK);
  CHECK (!memcmp (irc_model_config (back), &cfg, sizeof cfg));
  CHECK (strcmp (irc_model_metadata (back, "task"), "test") == 0);
  size_t n1, n2;
  float *a = irc_model_tensor (m, "UC1.up.0.weight", &n1);
  float *b = irc_model_tensor (back, "UC1.up.0.weight", &n2);
  CHECK (a && b && n1 == n2 && !memcmp (a, b, n1 * sizeof (float)));
  irc_model_free (&back);
  CHECK (back == NULL);

  /* the attention window a model runs with: its own, else 1.5x its patch,
   * else the global pool (0), as the paper authors' code runs a checkpoint */
  const char *windows[][5] = {
    { "tlc_window", "192", "train_patch", "96", "192" },
    { "tlc_window", "global", "train_patch", "96", "0" },
    { "train_patch", "96", NULL, NULL, "144" },
    { "task", "test", NULL, NULL, "0" },
  };
  for (size_t i = 0; i < sizeof windows / sizeof *windows; i++) {
    snprintf (path, sizeof path, "%s/window%zu.safetensors", tmpdir, i);
    CHECK (irc_model_save (m, path, 0, windows[i], windows[i][2] ? 2 : 1, &err) == IRC_OK);
    CHECK (irc_model_load (path, NULL, &back, &err) == IRC_OK);
    CHECK (irc_model_tlc_window (back) == atoi (windows[i][4]));
    irc_model_free (&back);
  }

  snprintf (path, sizeof path, "%s/nometa.safetensors", tmpdir);
  write_edited (m, path, NULL, 0, NULL);
  CHECK (irc_model_load (path, NULL, &back, &err) == IRC_OK);
  CHECK (!memcmp (irc_model_config (back), &cfg, sizeof cfg));   /* inferred from shapes */
  CHECK (irc_model_tlc_window (back) == 0);
  irc_model_free (&back);

  /* F16 storage loads within half precision */
  snprintf (path, sizeof path, "%s/half.safetensors", tmpdir);
  CHECK (irc_model_save (m, path, 1, NULL, 0, &err) == IRC_OK);
  CHECK (irc_model_load (path, NULL, &back, &err) == IRC_OK);
  b = irc_model_tensor (back, "UC1.up.0.weight", &n2);
  for (size_t i = 0; i < n1; i++)
    CHECK (fabsf (a[i] - b[i]) <= 1e-3f * fabsf (a[i]) + 1e-7f);
  irc_model_free (&back);

  snprintf (path, sizeof path, "%s/missing.safetensors", tmpdir);
  write_edited (m, path, drop_dc2, 1, NULL);
  expect_refused (path, IRC_ERR_MODEL, "missing tensor 'DC2.down.0.weight'", "[4, 16, 3, 3]");

  snprintf (path, sizeof path, "%s/unexpected.safetensors", tmpdir);
  write_edited (m, path, NULL, 1, "decoder.extra.weight");
  expect_refused (path, IRC_ERR_MODEL, "unexpected tensor 'decoder.extra.weight'", NULL);

  snprintf (path, sizeof path, "%s/renamed.safetensors", tmpdir);
  write_edited (m, path, rename_pre, 1, NULL);
  expect_refused (path, IRC_ERR_MODEL, "Finetune_Module", NULL);

  snprintf (path, sizeof path, "%s/shape.safetensors", tmpdir);
  write_edited (m, path, reshape_conv1, 1, NULL);
  expect_refused (path, IRC_ERR_MODEL, "Process_Module_l1.0.conv1.weight",
      "expected shape [16, 8, 1, 1], found [7, 8, 1, 1]");

  snprintf (path, sizeof path, "%s/nan.safetensors", tmpdir);
  CHECK (irc_model_save (m, path, 0, NULL, 0, &err) == IRC_OK);
  poke_float (path, "Process_Module_r2.0.conv4.weight", 5, NAN);
  expect_refused (path, IRC_ERR_MODEL, "Process_Module_r2.0.conv4.weight", "NaN");
  CHECK (irc_model_save (m, path, 0, NULL, 0, &err) == IRC_OK);
  poke_float (path, "mlp.0.bias", 0, INFINITY);
  expect_refused (path, IRC_ERR_MODEL, "mlp.0.bias", "Inf");

  /* metadata that disagrees with the tensors: the shapes name the problem */
  snprintf (path, sizeof path, "%s/wrongcfg.safetensors", tmpdir);
  irc_config other = cfg;
  other.dim = 12;
  irc_model *m12 = NULL;
  CHECK (irc_model_new (&other, NULL, NULL, &m12, &err) == IRC_OK);
  {
    irc_st_writer *w = NULL;
    CHECK (irc_st_writer_new (&w, &err) == IRC_OK);
    char cs[256];
    irc_config_to_json (&other, cs, sizeof cs);
    CHECK (irc_st_writer_metadata (w, "config", cs, &err) == IRC_OK);
    CHECK (irc_st_writer_save (w, path, &err) == IRC_OK);
    irc_st_writer_free (&w);
  }
  expect_refused (path, IRC_ERR_MODEL, "missing tensor", NULL);
  irc_model_free (&m12);

  snprintf (path, sizeof path, "%s/badcfg.safetensors", tmpdir);
  {
    irc_st_writer *w = NULL;
    CHECK (irc_st_writer_new (&w, &err) == IRC_OK);
    CHECK (irc_st_writer_metadata (w, "config", "{\"dim\": 6", &err) == IRC_OK);
    CHECK (irc_st_writer_save (w, path, &err) == IRC_OK);
    irc_st_writer_free (&w);
  }
  expect_refused (path, IRC_ERR_FORMAT, "__metadata__.config", NULL);

  snprintf (path, sizeof path, "%s/does-not-exist.safetensors", tmpdir);
  expect_refused (path, IRC_ERR_IO, "does-not-exist.safetensors", NULL);

  /* a truncated model file is refused as a file problem */
  snprintf (path, sizeof path, "%s/good.safetensors", tmpdir);
  FILE *fp = fopen (path, "rb");
  fseek (fp, 0, SEEK_END);
  const long size = ftell (fp);
  fseek (fp, 0, SEEK_SET);
  char *bytes = malloc ((size_t) size);
  CHECK (fread (bytes, 1, (size_t) size, fp) == (size_t) size);
  fclose (fp);
  for (long cut = 0; cut < size; cut += size / 7 + 1) {
    irc_model *t = NULL;
    irc_error e = {0};
    CHECK (irc_model_load_memory (bytes, (size_t) cut, "cut.safetensors", NULL, &t, &e)
        != IRC_OK);
    CHECK (t == NULL && strstr (e.message, "cut.safetensors"));
  }
  free (bytes);
  irc_model_free (&m);
}

/* A checkpoint with exactly the paper's names and shapes (paper_keys.json,
 * values made up here) loads with its configuration inferred and runs. */
static void
test_paper_keys (void)
{
  char path[512];
  snprintf (path, sizeof path, "%s/golden/paper_keys.json", test_data_dir ());
  json_error_t je;
  json_t *root = json_load_file (path, 0, &je);
  CHECK (root);
  json_t *tensors = json_object_get (root, "tensors");
  irc_error err = {0};
  irc_st_writer *w = NULL;
  CHECK (irc_st_writer_new (&w, &err) == IRC_OK);
  const char *name;
  json_t *shape;
  unsigned seed = 5;
  size_t n_tensors = 0, n_params = 0;
  json_object_foreach (tensors, name, shape) {
    int64_t s[8];
    int nd = (int) json_array_size (shape);
    size_t count = 1;
    for (int k = 0; k < nd; k++)
      count *= (size_t) (s[k] = json_integer_value (json_array_get (shape, (size_t) k)));
    if (strstr (name, "num_batches_tracked")) {
      const int64_t zero = 0;
      CHECK (irc_st_writer_add_i64 (w, name, nd, s, &zero, &err) == IRC_OK);
    } else {
      float *v = malloc (count * sizeof (float));
      fill (&seed, name, v, count);
      CHECK (irc_st_writer_add_f32 (w, name, nd, s, v, 0, &err) == IRC_OK);
      free (v);
      if (!strstr (name, "running_"))
        n_params += count;
    }
    n_tensors++;
  }
  CHECK (n_params == (size_t) json_integer_value (json_object_get (root, "params")));
  json_decref (root);
  snprintf (path, sizeof path, "%s/paper.safetensors", tmpdir);
  CHECK (irc_st_writer_save (w, path, &err) == IRC_OK);
  irc_st_writer_free (&w);

  irc_model *m = NULL;
  if (irc_model_load (path, NULL, &m, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    exit (1);
  }
  const irc_config *c = irc_model_config (m);
  irc_config paper;
  CHECK (irc_config_named ("paper", &paper, &err) == IRC_OK);
  CHECK (!memcmp (c, &paper, sizeof paper));
  CHECK (irc_model_tensor_count (m) == n_tensors);
  CHECK (irc_config_param_count (c) == n_params);
  printf ("paper checkpoint: %zu tensors, %zu parameters\n", n_tensors, n_params);

  irc_net *net = NULL;
  CHECK (irc_net_new (m, 64, 64, NULL, &net, &err) == IRC_OK);
  float *img = malloc (3 * 64 * 64 * sizeof (float));
  for (int i = 0; i < 3 * 64 * 64; i++)
    img[i] = (float) ((i * 37) % 101) / 100.0f;
  CHECK (irc_net_restore (net, img, img, 64, 64, &err) == IRC_OK);
  for (int i = 0; i < 3 * 64 * 64; i++)
    CHECK (isfinite (img[i]));
  free (img);
  irc_net_free (&net);
  irc_model_free (&m);
  unlink (path);
}

int
main (void)
{
  snprintf (tmpdir, sizeof tmpdir, "/tmp/irc-test-model-XXXXXX");
  CHECK (mkdtemp (tmpdir));
  test_bad_models ();
  test_paper_keys ();
  char cmd[300];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  CHECK (system (cmd) == 0);
  return 0;
}
