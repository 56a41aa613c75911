/* make_corpus: writes the fuzzer's seed corpus (tests/fuzz/corpus/): small
 * valid models of tiny configurations, with and without the config metadata,
 * F32 and F16, plus truncated and corrupted variants. tiny4-f32 is also the
 * model of the valgrind test (tests/meson.build). */
#include "irc/irc.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;

static void
die (const char *what, const irc_error *err)
{
  fprintf (stderr, "make_corpus: %s: %s\n", what, err ? err->message : "");
  exit (1);
}

static void
ramp (void *user, const char *name, float *data, size_t count)
{
  (void) user;
  const int unit = strstr (name, "running_var") != NULL;
  for (size_t i = 0; i < count; i++)
    data[i] = unit ? 1.0f : (float) ((int) (i % 7) - 3) * 0.125f;
}

static char *
path_of (const char *name)
{
  static char buf[4096];
  snprintf (buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

/* Writes @m tensor by tensor, leaving the config out when @with_config is 0
 * (the loader then infers it from shapes) and adding @extra tensors. */
static void
save_raw (const irc_model *m, const char *name, int with_config, int extra)
{
  irc_error err = {0};
  irc_st_writer *w = NULL;
  if (irc_st_writer_new (&w, &err) != IRC_OK)
    die (name, &err);
  if (with_config) {
    char cfg[512];
    irc_config_to_json (irc_model_config (m), cfg, sizeof cfg);
    irc_st_writer_metadata (w, "config", cfg, &err);
  }
  irc_st_writer_metadata (w, "train_patch", "64", &err);
  for (size_t i = 0; i < irc_model_tensor_count (m); i++) {
    size_t count;
    int ndim;
    int64_t shape[4];
    float *data;
    const char *n = irc_model_tensor_info (m, i, &count, &ndim, shape, &data);
    irc_status st;
    if (!data) {
      const int64_t zero = 0;
      st = irc_st_writer_add_i64 (w, n, 0, shape, &zero, &err);
    } else {
      st = irc_st_writer_add_f32 (w, n, ndim, shape, data, 0, &err);
    }
    if (st != IRC_OK)
      die (n, &err);
  }
  if (extra) {
    /* what official checkpoints and golden files carry besides the network */
    const int64_t qs[2] = {4, 8}, ps[1] = {1};
    float q[32] = {0};
    const int64_t ptr = 0;
    irc_st_writer_add_f32 (w, "ConStyle.queue", 2, qs, q, 0, &err);
    irc_st_writer_add_i64 (w, "ConStyle.queue_ptr", 1, ps, &ptr, &err);
    irc_st_writer_add_f32 (w, "golden.input", 1, ps, q, 0, &err);
  }
  if (irc_st_writer_save (w, path_of (name), &err) != IRC_OK)
    die (name, &err);
  irc_st_writer_free (&w);
}

static unsigned char *
slurp (const char *name, size_t *size)
{
  FILE *f = fopen (path_of (name), "rb");
  if (!f)
    die (name, NULL);
  fseek (f, 0, SEEK_END);
  *size = (size_t) ftell (f);
  fseek (f, 0, SEEK_SET);
  unsigned char *b = malloc (*size);
  if (fread (b, 1, *size, f) != *size)
    die (name, NULL);
  fclose (f);
  return b;
}

static void
spit (const char *name, const unsigned char *b, size_t size)
{
  FILE *f = fopen (path_of (name), "wb");
  if (!f || fwrite (b, 1, size, f) != size || fclose (f) != 0)
    die (name, NULL);
}

int
main (int argc, char **argv)
{
  if (argc != 2) {
    fprintf (stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  dir = argv[1];
  irc_error err = {0};
  /* tiny8's shape at dim 4 with a 1-wide encoder: a few thousand floats */
  const irc_config tiny4 = {4, {1, 1, 1}, 1, {1, 1, 1}, 1, 4};
  const irc_config bare4 = {4, {0, 0, 0}, 0, {0, 0, 0}, 1, 2};
  const irc_config odd = {4, {2, 0, 1}, 0, {0, 2, 0}, 2, 3, 0};
  irc_model *m = NULL;

  if (irc_model_new (&tiny4, ramp, NULL, &m, &err) != IRC_OK)
    die ("tiny4", &err);
  const char *meta[] = {"task", "derain", "tlc_window", "96"};
  if (irc_model_save (m, path_of ("tiny4-f32.safetensors"), 0, meta, 2, &err) != IRC_OK
      || irc_model_save (m, path_of ("tiny4-f16.safetensors"), 1, NULL, 0, &err) != IRC_OK)
    die ("tiny4 save", &err);
  save_raw (m, "tiny4-inferred.safetensors", 0, 0);
  save_raw (m, "tiny4-training-state.safetensors", 1, 1);
  irc_model_free (&m);

  if (irc_model_new (&bare4, NULL, NULL, &m, &err) != IRC_OK)
    die ("bare4", &err);
  if (irc_model_save (m, path_of ("bare4-f16.safetensors"), 1, NULL, 0, &err) != IRC_OK)
    die ("bare4 save", &err);
  save_raw (m, "bare4-inferred.safetensors", 0, 0);
  irc_model_free (&m);

  if (irc_model_new (&odd, ramp, NULL, &m, &err) != IRC_OK)
    die ("odd", &err);
  save_raw (m, "odd-inferred.safetensors", 0, 0);
  irc_model_free (&m);

  /* damaged copies of bare4-f16: each hits a different refusal */
  size_t size;
  unsigned char *b = slurp ("bare4-f16.safetensors", &size);
  const size_t hlen = (size_t) b[0] | ((size_t) b[1] << 8) | ((size_t) b[2] << 16);
  spit ("cut-length.safetensors", b, 5);
  spit ("cut-header.safetensors", b, 8 + hlen / 2);
  spit ("cut-data.safetensors", b, 8 + hlen + (size - 8 - hlen) / 2);
  spit ("cut-last-byte.safetensors", b, size - 1);
  unsigned char *c = malloc (size);
  memcpy (c, b, size);
  c[size - 2] = 0x00, c[size - 1] = 0x7e;               /* a NaN in the last tensor */
  spit ("nan-last.safetensors", c, size);
  memcpy (c, b, size);
  c[0] = (unsigned char) (c[0] + 8);                     /* header length past the JSON */
  spit ("bad-length.safetensors", c, size);
  memcpy (c, b, size);
  char *s = memchr (c + 8, '[', hlen);                  /* the config's left[0] */
  if (s)
    s[1] = '9';
  spit ("bad-config.safetensors", c, size);
  memcpy (c, b, size);
  s = memmem (c + 8, hlen, "\"shape\":[", 9);            /* a tensor's first dimension */
  if (s)
    s[9] = '7';
  spit ("bad-shape.safetensors", c, size);
  spit ("header-only.safetensors", b, 8 + hlen);
  free (c);
  free (b);
  return 0;
}
