/* checkpoint: irc-train's state and model files; see checkpoint.h. Official
 * names for what an official checkpoint holds, so irc_model_load() reads the
 * state (ignoring "train.") and a resume takes its configuration from it. */
#include "train/checkpoint.h"
#include "safetensors.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "ConStyle.encoder_k."
#define Q_PREFIX "ConStyle.encoder_q."

static int
ends_with (const char *s, const char *suffix)
{
  const size_t n = strlen (s), m = strlen (suffix);
  return n >= m && strcmp (s + n - m, suffix) == 0;
}

static int
starts_with (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

/* fan_in of a Conv2d/Linear weight: everything but the output dimension */
static size_t
fan_in (int ndim, const int64_t *shape)
{
  size_t f = 1;
  for (int d = 1; d < ndim; d++)
    f *= (size_t) shape[d];
  return f;
}

void
trc_init_default (irc_model *model, irc_rng *rng)
{
  const size_t n = irc_model_tensor_count (model);
  for (size_t i = 0; i < n; i++) {
    size_t count;
    int ndim;
    int64_t shape[4];
    float *data;
    const char *name = irc_model_tensor_info (model, i, &count, &ndim, shape, &data);
    if (!data)
      continue;   /* num_batches_tracked */
    float value = 0.0f, bound = 0.0f;
    if (ends_with (name, ".running_var"))
      value = 1.0f;
    else if (ends_with (name, ".running_mean") || ends_with (name, ".beta")
        || ends_with (name, ".gamma"))
      value = 0.0f;
    else if (ndim >= 2)
      bound = 1.0f / sqrtf ((float) fan_in (ndim, shape));   /* kaiming_uniform(a=sqrt 5) */
    else if (ends_with (name, ".weight"))
      value = 1.0f;   /* LayerNorm or BatchNorm scale */
    else if (ends_with (name, ".bias")) {
      /* a layer's bias: uniform when its weight is a Conv2d/Linear one */
      char wname[160];
      snprintf (wname, sizeof wname, "%.*s.weight", (int) (strlen (name) - 5), name);
      for (size_t j = 0; j < n; j++) {
        int wd;
        int64_t ws[4];
        const char *o = irc_model_tensor_info (model, j, NULL, &wd, ws, NULL);
        if (strcmp (o, wname) == 0 && wd >= 2)
          bound = 1.0f / sqrtf ((float) fan_in (wd, ws));
      }
    }
    for (size_t k = 0; k < count; k++)
      data[k] = bound > 0.0f ? irc_rng_range (rng, -bound, bound) : value;
  }
}

/* "ConStyle.encoder_q.X" -> "ConStyle.encoder_k.X" into @buf; 0 if @name is
 * not an encoder tensor. */
static int
key_name (char *buf, size_t size, const char *name)
{
  if (!starts_with (name, Q_PREFIX))
    return 0;
  snprintf (buf, size, KEY_PREFIX "%s", name + strlen (Q_PREFIX));
  return 1;
}

static irc_status
add_copy (irc_st_writer *w, irc_trainer *tr, irc_train_copy copy, const char *prefix,
    const char *name, int ndim, const int64_t *shape, irc_error *err)
{
  size_t count;
  const float *d = irc_trainer_tensor (tr, copy, name, &count);
  if (!d)
    return irc_fail (err, IRC_ERR_INVALID, "the trainer has no tensor %s", name);
  char full[256];
  snprintf (full, sizeof full, "%s%s", prefix, name);
  return irc_st_writer_add_f32 (w, full, ndim, shape, d, 0, err);
}

static void
rng_pack (int64_t out[4], const irc_rng *r)
{
  uint32_t bits;
  memcpy (&bits, &r->spare, sizeof bits);
  out[0] = (int64_t) r->state;
  out[1] = (int64_t) r->inc;
  out[2] = r->has_spare;
  out[3] = bits;
}

static void
rng_unpack (irc_rng *r, const int64_t in[4])
{
  const uint32_t bits = (uint32_t) in[3];
  r->state = (uint64_t) in[0];
  r->inc = (uint64_t) in[1];
  r->has_spare = (int) in[2];
  memcpy (&r->spare, &bits, sizeof bits);
}

irc_status
trc_save_state (const char *path, irc_trainer *tr, irc_model *model, const irc_rng *rngs,
    int n_rngs, const char *const *meta_kv, size_t n_meta, irc_error *err)
{
  irc_st_writer *w = NULL;
  irc_status st = irc_st_writer_new (&w, err);
  if (st != IRC_OK)
    return st;
  char cfg[512];
  irc_config_to_json (irc_model_config (model), cfg, sizeof cfg);
  st = irc_st_writer_metadata (w, "config", cfg, err);
  for (size_t i = 0; i < n_meta && st == IRC_OK; i++)
    st = irc_st_writer_metadata (w, meta_kv[2 * i], meta_kv[2 * i + 1], err);

  const size_t n = irc_model_tensor_count (model);
  const int64_t scalar_shape[1] = { 1 };
  char kname[256];
  /* the network and the key encoder, under official names */
  for (size_t i = 0; i < n && st == IRC_OK; i++) {
    size_t count;
    int ndim;
    int64_t shape[4];
    float *data;
    const char *name = irc_model_tensor_info (model, i, &count, &ndim, shape, &data);
    if (!data) {
      const int64_t *c = irc_trainer_counter (tr, name);
      if (!c)
        st = irc_fail (err, IRC_ERR_INVALID, "no counter %s", name);
      if (st == IRC_OK)
        st = irc_st_writer_add_i64 (w, name, 0, scalar_shape, c, err);
      continue;
    }
    st = irc_st_writer_add_f32 (w, name, ndim, shape, data, 0, err);
  }
  for (size_t i = 0; i < n && st == IRC_OK; i++) {
    int ndim;
    int64_t shape[4];
    float *data;
    const char *name = irc_model_tensor_info (model, i, NULL, &ndim, shape, &data);
    if (!key_name (kname, sizeof kname, name))
      continue;
    if (!data) {
      const int64_t *c = irc_trainer_counter (tr, kname);
      st = c ? irc_st_writer_add_i64 (w, kname, 0, scalar_shape, c, err)
          : irc_fail (err, IRC_ERR_INVALID, "no counter %s", kname);
    } else {
      st = add_copy (w, tr, IRC_TRAIN_KEY, "", kname, ndim, shape, err);
    }
  }
  int code, K;
  const float *queue = irc_trainer_queue (tr, &code, &K);
  if (queue && st == IRC_OK) {
    const int64_t qs[2] = { code, K };
    st = irc_st_writer_add_f32 (w, "ConStyle.queue", 2, qs, queue, 0, err);
    if (st == IRC_OK)
      st = irc_st_writer_add_i64 (w, "ConStyle.queue_ptr", 1, scalar_shape,
          irc_trainer_queue_ptr (tr), err);
  }
  /* the optimiser and the EMA */
  static const struct { irc_train_copy copy; const char *prefix; } extra[3] = {
    { IRC_TRAIN_ADAM_M, "train.adam_m." },
    { IRC_TRAIN_ADAM_V, "train.adam_v." },
    { IRC_TRAIN_EMA, "train.ema." },
  };
  for (int e = 0; e < 3; e++)
    for (size_t i = 0; i < n && st == IRC_OK; i++) {
      int ndim;
      int64_t shape[4];
      float *data;
      const char *name = irc_model_tensor_info (model, i, NULL, &ndim, shape, &data);
      if (data)
        st = add_copy (w, tr, extra[e].copy, extra[e].prefix, name, ndim, shape, err);
    }
  const int64_t iter = irc_trainer_iteration (tr);
  if (st == IRC_OK)
    st = irc_st_writer_add_i64 (w, "train.iteration", 1, scalar_shape, &iter, err);
  if (st == IRC_OK && n_rngs > 0) {
    int64_t *packed = malloc ((size_t) n_rngs * 4 * sizeof (int64_t));
    if (!packed)
      st = irc_fail (err, IRC_ERR_NOMEM, "out of memory");
    for (int r = 0; r < n_rngs && st == IRC_OK; r++)
      rng_pack (packed + 4 * r, &rngs[r]);
    const int64_t rs[2] = { n_rngs, 4 };
    if (st == IRC_OK)
      st = irc_st_writer_add_i64 (w, "train.rng", 2, rs, packed, err);
    free (packed);
  }
  if (st == IRC_OK)
    st = irc_st_writer_save (w, path, err);
  irc_st_writer_free (&w);
  return st;
}

static irc_status
find (const irc_st_file *f, const char *name, irc_dtype dtype, size_t count,
    const irc_st_tensor **out, irc_error *err)
{
  const irc_st_tensor *t = irc_st_find (f, name);
  if (!t)
    return irc_fail (err, IRC_ERR_FORMAT, "%s: no tensor %s (not a state of this run?)",
        irc_st_name (f), name);
  if ((dtype == IRC_DTYPE_I64) != (t->dtype == IRC_DTYPE_I64) || t->count != count)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%s: tensor %s has %zu elements of the wrong kind, the run expects %zu",
        irc_st_name (f), name, t->count, count);
  *out = t;
  return IRC_OK;
}

static irc_status
read_f32 (const irc_st_file *f, const char *name, float *dst, size_t count, irc_error *err)
{
  const irc_st_tensor *t = NULL;
  irc_status st = find (f, name, IRC_DTYPE_F32, count, &t, err);
  return st == IRC_OK ? irc_st_read_f32 (f, t, dst, err) : st;
}

static irc_status
read_i64 (const irc_st_file *f, const char *name, int64_t *dst, size_t count, irc_error *err)
{
  const irc_st_tensor *t = NULL;
  irc_status st = find (f, name, IRC_DTYPE_I64, count, &t, err);
  if (st != IRC_OK)
    return st;
  for (size_t i = 0; i < count; i++) {
    uint64_t v = 0;
    for (int b = 7; b >= 0; b--)
      v = (v << 8) | t->data[8 * i + b];   /* safetensors is little-endian */
    dst[i] = (int64_t) v;
  }
  return IRC_OK;
}

static irc_status
read_copy (const irc_st_file *f, irc_trainer *tr, irc_train_copy copy, const char *prefix,
    const char *name, irc_error *err)
{
  size_t count;
  float *d = irc_trainer_tensor (tr, copy, name, &count);
  if (!d)
    return irc_fail (err, IRC_ERR_INVALID, "the trainer has no tensor %s", name);
  char full[256];
  snprintf (full, sizeof full, "%s%s", prefix, name);
  return read_f32 (f, full, d, count, err);
}

irc_status
trc_load_state (const char *path, irc_trainer *tr, irc_model *model, irc_rng *rngs,
    int n_rngs, irc_error *err)
{
  irc_st_file *f = NULL;
  irc_status st = irc_st_open (path, &f, err);
  if (st != IRC_OK)
    return st;
  const size_t n = irc_model_tensor_count (model);
  char kname[256];
  for (size_t i = 0; i < n && st == IRC_OK; i++) {
    size_t count;
    float *data;
    const char *name = irc_model_tensor_info (model, i, &count, NULL, NULL, &data);
    const int key = key_name (kname, sizeof kname, name);
    if (!data) {
      int64_t *c = irc_trainer_counter (tr, name);
      int64_t *ck = key ? irc_trainer_counter (tr, kname) : NULL;
      st = c ? read_i64 (f, name, c, 1, err)
          : irc_fail (err, IRC_ERR_INVALID, "no counter %s", name);
      if (st == IRC_OK && ck)
        st = read_i64 (f, kname, ck, 1, err);
      continue;
    }
    st = read_f32 (f, name, data, count, err);
    if (st == IRC_OK && key)
      st = read_copy (f, tr, IRC_TRAIN_KEY, "", kname, err);
    if (st == IRC_OK)
      st = read_copy (f, tr, IRC_TRAIN_ADAM_M, "train.adam_m.", name, err);
    if (st == IRC_OK)
      st = read_copy (f, tr, IRC_TRAIN_ADAM_V, "train.adam_v.", name, err);
    if (st == IRC_OK)
      st = read_copy (f, tr, IRC_TRAIN_EMA, "train.ema.", name, err);
  }
  int code, K;
  float *queue = irc_trainer_queue (tr, &code, &K);
  if (st == IRC_OK && queue) {
    st = read_f32 (f, "ConStyle.queue", queue, (size_t) code * K, err);
    if (st == IRC_OK)
      st = read_i64 (f, "ConStyle.queue_ptr", irc_trainer_queue_ptr (tr), 1, err);
    if (st == IRC_OK && (*irc_trainer_queue_ptr (tr) < 0 || *irc_trainer_queue_ptr (tr) >= K))
      st = irc_fail (err, IRC_ERR_FORMAT, "%s: queue pointer %lld outside the queue of %d",
          path, (long long) *irc_trainer_queue_ptr (tr), K);
  }
  int64_t iter = 0;
  if (st == IRC_OK)
    st = read_i64 (f, "train.iteration", &iter, 1, err);
  if (st == IRC_OK)
    irc_trainer_set_iteration (tr, iter);
  if (st == IRC_OK && n_rngs > 0) {
    int64_t *packed = malloc ((size_t) n_rngs * 4 * sizeof (int64_t));
    st = packed ? read_i64 (f, "train.rng", packed, (size_t) n_rngs * 4, err)
        : irc_fail (err, IRC_ERR_NOMEM, "out of memory");
    for (int r = 0; r < n_rngs && st == IRC_OK; r++)
      rng_unpack (&rngs[r], packed + 4 * r);
    free (packed);
  }
  irc_st_close (&f);
  return st;
}

irc_status
trc_copy_ema (irc_trainer *tr, irc_model *dst, irc_error *err)
{
  const size_t n = irc_model_tensor_count (dst);
  for (size_t i = 0; i < n; i++) {
    size_t count, have;
    float *data;
    const char *name = irc_model_tensor_info (dst, i, &count, NULL, NULL, &data);
    if (!data)
      continue;
    const float *ema = irc_trainer_tensor (tr, IRC_TRAIN_EMA, name, &have);
    if (!ema || have != count)
      return irc_fail (err, IRC_ERR_INVALID, "the EMA copy has no tensor %s of %zu values",
          name, count);
    memcpy (data, ema, count * sizeof (float));
  }
  return IRC_OK;
}
