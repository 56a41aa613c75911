/* model: binding a safetensors file to the network's weights (official names),
 * configuration from metadata or inferred from shapes, and saving. */
#include "safetensors.h"
#include "weights.h"
#include "error.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

irc_status
irc_weights_init (irc_weights *w, const irc_config *cfg, irc_error *err)
{
  irc_status st = irc_config_validate (cfg, err);
  if (st != IRC_OK)
    return st;
  memset (w, 0, sizeof *w);
  w->cfg = *cfg;
  const int C = cfg->dim, ew = cfg->enc_width;
  const int enc[IRC_ENC_STAGES][3] = {
    {3, ew, 1}, {ew, ew, 1}, {ew, 2 * ew, 2}, {2 * ew, 2 * ew, 1}, {2 * ew, 4 * ew, 2},
    {4 * ew, 8 * ew, 1}, {8 * ew, 8 * ew, 2}, {8 * ew, 16 * ew, 1}, {16 * ew, 16 * ew, 2},
  };
  for (int i = 0; i < IRC_ENC_STAGES; i++) {
    w->enc.cin[i] = enc[i][0];
    w->enc.cout[i] = enc[i][1];
    w->enc.stride[i] = enc[i][2];
  }
  w->enc.lin_in[0] = 16 * ew;
  w->enc.lin_out[0] = cfg->code;
  w->enc.lin_in[1] = cfg->code;
  w->enc.lin_out[1] = cfg->code;
  for (int l = 0; l < 3; l++)
    w->lc[l] = C * (l + 1);
  /* UC3(3C, 6C, 4C), UC2(4C, 6C, 3C), UC1(3C, 4C, 2C); index = level - 1 */
  const int uc[3][3] = {{3, 4, 2}, {4, 6, 3}, {3, 6, 4}};
  for (int l = 0; l < 3; l++) {
    w->uc_n[l] = uc[l][0] * C;
    w->uc_a[l] = uc[l][1] * C;
    w->uc_b[l] = uc[l][2] * C;
    w->rc[l] = (l + 2) * C;
  }
  for (int l = 0; l < 3; l++) {
    w->left[l] = calloc ((size_t) cfg->left[l] + 1, sizeof (irc_nafblock_w));
    w->right[l] = calloc ((size_t) cfg->right[l] + 1, sizeof (irc_nafblock_w));
  }
  w->bottom = calloc ((size_t) cfg->bottom + 1, sizeof (irc_nafblock_w));
  if (!w->left[0] || !w->left[1] || !w->left[2] || !w->right[0] || !w->right[1]
      || !w->right[2] || !w->bottom) {
    irc_weights_clear (w);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the block tables");
  }
  return IRC_OK;
}

void
irc_weights_clear (irc_weights *w)
{
  for (int l = 0; l < 3; l++) {
    free (w->left[l]);
    free (w->right[l]);
    w->left[l] = w->right[l] = NULL;
  }
  free (w->bottom);
  w->bottom = NULL;
}

typedef struct {
  irc_tensor_desc *descs;
  size_t max, n;
} describer;

static void
add (describer *d, irc_tensor_kind kind, float **slot, int ndim, int64_t s0, int64_t s1,
    int64_t s2, int64_t s3, const char *fmt, ...) __attribute__ ((format (printf, 9, 10)));

static void
add (describer *d, irc_tensor_kind kind, float **slot, int ndim, int64_t s0, int64_t s1,
    int64_t s2, int64_t s3, const char *fmt, ...)
{
  if (d->descs && d->n < d->max) {
    irc_tensor_desc *t = &d->descs[d->n];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (t->name, sizeof t->name, fmt, ap);
    va_end (ap);
    t->kind = kind;
    t->ndim = ndim;
    const int64_t s[4] = {s0, s1, s2, s3};
    t->count = 1;
    for (int i = 0; i < 4; i++) {
      t->shape[i] = i < ndim ? s[i] : 0;
      if (i < ndim)
        t->count *= (size_t) s[i];
    }
    t->slot = slot;
  }
  d->n++;
}

#define P IRC_TENSOR_PARAM

static void
describe_block (describer *d, irc_nafblock_w *b, int c, const char *p, int i)
{
  b->c = c;
  add (d, P, &b->beta, 4, 1, c, 1, 1, "%s.%d.beta", p, i);
  add (d, P, &b->gamma, 4, 1, c, 1, 1, "%s.%d.gamma", p, i);
  add (d, P, &b->conv1_w, 4, 2 * c, c, 1, 1, "%s.%d.conv1.weight", p, i);
  add (d, P, &b->conv1_b, 1, 2 * c, 0, 0, 0, "%s.%d.conv1.bias", p, i);
  add (d, P, &b->conv2_w, 4, 2 * c, 1, 3, 3, "%s.%d.conv2.weight", p, i);
  add (d, P, &b->conv2_b, 1, 2 * c, 0, 0, 0, "%s.%d.conv2.bias", p, i);
  add (d, P, &b->conv3_w, 4, c, c, 1, 1, "%s.%d.conv3.weight", p, i);
  add (d, P, &b->conv3_b, 1, c, 0, 0, 0, "%s.%d.conv3.bias", p, i);
  add (d, P, &b->sca_w, 4, c, c, 1, 1, "%s.%d.sca.1.weight", p, i);
  add (d, P, &b->sca_b, 1, c, 0, 0, 0, "%s.%d.sca.1.bias", p, i);
  add (d, P, &b->conv4_w, 4, 2 * c, c, 1, 1, "%s.%d.conv4.weight", p, i);
  add (d, P, &b->conv4_b, 1, 2 * c, 0, 0, 0, "%s.%d.conv4.bias", p, i);
  add (d, P, &b->conv5_w, 4, c, c, 1, 1, "%s.%d.conv5.weight", p, i);
  add (d, P, &b->conv5_b, 1, c, 0, 0, 0, "%s.%d.conv5.bias", p, i);
  add (d, P, &b->norm1_w, 1, c, 0, 0, 0, "%s.%d.norm1.weight", p, i);
  add (d, P, &b->norm1_b, 1, c, 0, 0, 0, "%s.%d.norm1.bias", p, i);
  add (d, P, &b->norm2_w, 1, c, 0, 0, 0, "%s.%d.norm2.weight", p, i);
  add (d, P, &b->norm2_b, 1, c, 0, 0, 0, "%s.%d.norm2.bias", p, i);
}

size_t
irc_weights_describe (irc_weights *w, const char *ep, irc_tensor_desc *descs, size_t max)
{
  describer d = {descs, max, 0};
  irc_encoder_w *e = &w->enc;
  static const char *const stage[IRC_ENC_STAGES] = {
    "stage1.0", "stage1.1", "stage1.2", "stage2.0", "stage2.1",
    "stage3.0", "stage3.1", "stage4.0", "stage4.1",
  };
  for (int i = 0; i < IRC_ENC_STAGES; i++)
    add (&d, P, &e->conv_w[i], 4, e->cout[i], e->cin[i], 3, 3, "%s.%s.0.weight", ep, stage[i]);
  for (int i = 0; i < 2; i++) {
    const int o = e->lin_out[i];
    add (&d, P, &e->lin_w[i], 2, o, e->lin_in[i], 0, 0, "%s.mlp%d.0.weight", ep, i + 1);
    add (&d, P, &e->lin_b[i], 1, o, 0, 0, 0, "%s.mlp%d.0.bias", ep, i + 1);
    add (&d, P, &e->bn_w[i], 1, o, 0, 0, 0, "%s.mlp%d.1.weight", ep, i + 1);
    add (&d, P, &e->bn_b[i], 1, o, 0, 0, 0, "%s.mlp%d.1.bias", ep, i + 1);
    add (&d, IRC_TENSOR_BUFFER, &e->bn_mean[i], 1, o, 0, 0, 0, "%s.mlp%d.1.running_mean", ep, i + 1);
    add (&d, IRC_TENSOR_BUFFER, &e->bn_var[i], 1, o, 0, 0, 0, "%s.mlp%d.1.running_var", ep, i + 1);
    add (&d, IRC_TENSOR_COUNTER, NULL, 0, 0, 0, 0, 0, "%s.mlp%d.1.num_batches_tracked", ep, i + 1);
  }
  const irc_config *cfg = &w->cfg;
  const int C = cfg->dim, ew = cfg->enc_width;
  add (&d, P, &w->pre_w, 4, C, 3, 3, 3, "Preprocess_Module.0.weight");
  for (int l = 0; l < 3; l++) {
    char p[32];
    snprintf (p, sizeof p, "Process_Module_l%d", l + 1);
    for (int i = 0; i < cfg->left[l]; i++)
      describe_block (&d, &w->left[l][i], w->lc[l], p, i);
    add (&d, P, &w->dc_w[l], 4, w->lc[l] / 4, w->lc[l], 3, 3, "DC%d.down.0.weight", l + 1);
  }
  for (int i = 0; i < cfg->bottom; i++)
    describe_block (&d, &w->bottom[i], 4 * C, "Process_Module_bottom", i);
  add (&d, P, &w->local_fusion_w, 4, 3 * C, 8 * C, 1, 1, "local_fusion.weight");
  for (int l = 2; l >= 0; l--) {
    add (&d, P, &w->uc_up_w[l], 4, 4 * w->uc_n[l], w->uc_n[l], 3, 3, "UC%d.up.0.weight", l + 1);
    add (&d, P, &w->uc_down_w[l], 4, w->uc_b[l], w->uc_a[l], 1, 1, "UC%d.down.weight", l + 1);
    char p[32];
    snprintf (p, sizeof p, "Process_Module_r%d", l + 1);
    for (int i = 0; i < cfg->right[l]; i++)
      describe_block (&d, &w->right[l][i], w->rc[l], p, i);
  }
  add (&d, P, &w->fin_w, 4, 3, 2 * C, 3, 3, "Finetune_Module.0.weight");
  add (&d, P, &w->mlp_w, 2, 4 * C, cfg->code, 0, 0, "mlp.0.weight");
  add (&d, P, &w->mlp_b, 1, 4 * C, 0, 0, 0, "mlp.0.bias");
  add (&d, P, &w->at_w[2], 4, C, 8 * ew, 1, 1, "AffineTransform2.0.weight");
  add (&d, P, &w->at_w[1], 4, C, 4 * ew, 1, 1, "AffineTransform1.0.weight");
  add (&d, P, &w->at_w[0], 4, C, 2 * ew, 1, 1, "AffineTransform0.0.weight");
  if (cfg->degradation_head > 0) {
    add (&d, P, &w->head_w, 2, cfg->degradation_head, cfg->code, 0, 0,
        "ConStyle.degradation_head.weight");
    add (&d, P, &w->head_b, 1, cfg->degradation_head, 0, 0, 0, "ConStyle.degradation_head.bias");
  }
  return d.n;
}

#undef P

/* The widest NAFBlock's channels (at least 1) and all blocks' channels. */
static void
block_channels (const irc_weights *w, size_t *widest, size_t *total)
{
  const irc_config *cfg = &w->cfg;
  const irc_nafblock_w *lists[7] = {w->left[0], w->left[1], w->left[2], w->bottom,
    w->right[0], w->right[1], w->right[2]};
  const int counts[7] = {cfg->left[0], cfg->left[1], cfg->left[2], cfg->bottom,
    cfg->right[0], cfg->right[1], cfg->right[2]};
  *widest = 1;
  *total = 0;
  for (int l = 0; l < 7; l++)
    for (int i = 0; i < counts[l]; i++) {
      if ((size_t) lists[l][i].c > *widest)
        *widest = (size_t) lists[l][i].c;
      *total += (size_t) lists[l][i].c;
    }
}

size_t
irc_weights_widest_block (const irc_weights *w)
{
  size_t widest, total;
  block_channels (w, &widest, &total);
  return widest;
}

size_t
irc_weights_block_channels (const irc_weights *w)
{
  size_t widest, total;
  block_channels (w, &widest, &total);
  return total;
}

void
irc_fold_norm (float *w_out, float *b_out, const float *w, const float *b, int cout, int cin,
    const float *scale, const float *shift)
{
  for (int o = 0; o < cout; o++) {
    double acc = b[o];
    for (int i = 0; i < cin; i++) {
      w_out[o * cin + i] = w[o * cin + i] * scale[i];
      acc += (double) w[o * cin + i] * shift[i];
    }
    b_out[o] = (float) acc;
  }
}

/* ------------------------------------------------------------ model object */

/* The model's block tables and tensor descriptors, without tensor storage:
 * the loader checks a file against these before allocating what its
 * configuration claims, so a small hostile file cannot ask for gigabytes. */
static irc_status
model_alloc_tables (const irc_config *cfg, irc_model **out, irc_error *err)
{
  irc_model *m = calloc (1, sizeof *m);
  if (!m)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the model");
  irc_status st = irc_weights_init (&m->w, cfg, err);
  if (st != IRC_OK) {
    free (m);
    return st;
  }
  m->n_descs = irc_weights_describe (&m->w, "ConStyle.encoder_q", NULL, 0);
  m->descs = calloc (m->n_descs, sizeof *m->descs);
  if (!m->descs) {
    irc_model_free (&m);
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the model's tensor list");
  }
  irc_weights_describe (&m->w, "ConStyle.encoder_q", m->descs, m->n_descs);
  *out = m;
  return IRC_OK;
}

/* 64-byte aligned, zeroed storage for every float tensor of @m. On failure
 * the caller still owns (and frees) @m. */
static irc_status
model_alloc_arena (irc_model *m, irc_error *err)
{
  size_t total = 0;
  for (size_t i = 0; i < m->n_descs; i++)
    if (m->descs[i].slot)
      total += m->descs[i].count;
  m->arena = aligned_alloc (64, ((total * sizeof (float) + 63) / 64) * 64);
  if (!m->arena)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the model weights");
  memset (m->arena, 0, total * sizeof (float));
  m->arena_count = total;
  size_t off = 0;
  for (size_t i = 0; i < m->n_descs; i++) {
    if (m->descs[i].slot) {
      *m->descs[i].slot = m->arena + off;
      off += m->descs[i].count;
    }
  }
  return IRC_OK;
}

static irc_status
model_alloc (const irc_config *cfg, irc_model **out, irc_error *err)
{
  irc_model *m = NULL;
  irc_status st = model_alloc_tables (cfg, &m, err);
  if (st != IRC_OK)
    return st;
  st = model_alloc_arena (m, err);
  if (st != IRC_OK) {
    irc_model_free (&m);
    return st;
  }
  *out = m;
  return IRC_OK;
}

void
irc_model_free (irc_model **model)
{
  if (!model || !*model)
    return;
  irc_model *m = *model;
  irc_weights_clear (&m->w);
  free (m->descs);
  free (m->arena);
  for (size_t i = 0; i < 2 * m->n_meta; i++)
    free (m->meta[i]);
  free (m->meta);
  free (m);
  *model = NULL;
}

/* Scales of LayerNorm and BatchNorm start at one, as in PyTorch. */
static int
is_unit_init (const char *name)
{
  const size_t n = strlen (name);
  static const char *const sfx[] = {".running_var", "norm1.weight", "norm2.weight",
    ".1.weight"};
  for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
    const size_t k = strlen (sfx[i]);
    if (n >= k && strcmp (name + n - k, sfx[i]) == 0)
      return strstr (name, "mlp") != NULL || strstr (name, "norm") != NULL;
  }
  return 0;
}

irc_status
irc_model_new (const irc_config *cfg,
    void (*init) (void *user, const char *name, float *data, size_t count),
    void *user, irc_model **out, irc_error *err)
{
  irc_model *m = NULL;
  irc_status st = model_alloc (cfg, &m, err);
  if (st != IRC_OK)
    return st;
  for (size_t i = 0; i < m->n_descs; i++) {
    irc_tensor_desc *d = &m->descs[i];
    if (!d->slot)
      continue;
    if (init)
      init (user, d->name, *d->slot, d->count);
    else if (is_unit_init (d->name))
      for (size_t j = 0; j < d->count; j++)
        (*d->slot)[j] = 1.0f;
  }
  *out = m;
  return IRC_OK;
}

const irc_config *
irc_model_config (const irc_model *model)
{
  return &model->w.cfg;
}

const char *
irc_model_metadata (const irc_model *model, const char *key)
{
  for (size_t i = 0; i < model->n_meta; i++)
    if (strcmp (model->meta[2 * i], key) == 0)
      return model->meta[2 * i + 1];
  return NULL;
}

int
irc_model_tlc_window (const irc_model *model)
{
  const char *v = irc_model_metadata (model, "tlc_window");
  if (v && strcmp (v, "global") == 0)
    return 0;
  if (v && atoi (v) > 0)
    return atoi (v);
  v = irc_model_metadata (model, "train_patch");
  if (v && atoi (v) > 0)
    return atoi (v) * 3 / 2;
  return 0;   /* the paper's global pool, as the authors' code runs it */
}

size_t
irc_model_tensor_count (const irc_model *model)
{
  return model->n_descs;
}

const char *
irc_model_tensor_info (const irc_model *model, size_t index, size_t *count, int *ndim,
    int64_t shape[4], float **data)
{
  if (index >= model->n_descs)
    return NULL;
  const irc_tensor_desc *d = &model->descs[index];
  if (count)
    *count = d->slot ? d->count : 0;
  if (ndim)
    *ndim = d->ndim;
  if (shape)
    memcpy (shape, d->shape, sizeof d->shape);
  if (data)
    *data = d->slot ? *d->slot : NULL;
  return d->name;
}

float *
irc_model_tensor (irc_model *model, const char *name, size_t *count)
{
  for (size_t i = 0; i < model->n_descs; i++) {
    if (model->descs[i].slot && strcmp (model->descs[i].name, name) == 0) {
      if (count)
        *count = model->descs[i].count;
      return *model->descs[i].slot;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------ loading */

static void
shape_str (char *buf, size_t size, int ndim, const int64_t *shape)
{
  size_t n = (size_t) snprintf (buf, size, "[");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t) snprintf (buf + n, size - n, "%s%lld", i ? ", " : "", (long long) shape[i]);
  if (n < size)
    snprintf (buf + n, size - n, "]");
}

static int
json_int_field (json_t *obj, const char *key, int *out)
{
  json_t *v = json_object_get (obj, key);
  if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > 100000)
    return 0;
  *out = (int) json_integer_value (v);
  return 1;
}

static int
json_int3_field (json_t *obj, const char *key, int out[3])
{
  json_t *a = json_object_get (obj, key);
  if (!json_is_array (a) || json_array_size (a) != 3)
    return 0;
  for (size_t i = 0; i < 3; i++) {
    json_t *v = json_array_get (a, i);
    if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > 100000)
      return 0;
    out[i] = (int) json_integer_value (v);
  }
  return 1;
}

static irc_status
config_from_metadata (const char *fname, const char *text, irc_config *cfg, irc_error *err)
{
  json_error_t je;
  json_t *root = json_loads (text, 0, &je);
  /* jansson leaves the error text empty when its lexer cannot even allocate */
  if (!root && (json_error_code (&je) == json_error_out_of_memory || !je.text[0]))
    return irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory parsing __metadata__.config", fname);
  if (!root)
    return irc_fail (err, IRC_ERR_FORMAT, "%s: __metadata__.config is not valid JSON: %s",
        fname, je.text);
  int ok = json_is_object (root) && json_int_field (root, "dim", &cfg->dim)
      && json_int3_field (root, "left", cfg->left) && json_int_field (root, "bottom", &cfg->bottom)
      && json_int3_field (root, "right", cfg->right)
      && json_int_field (root, "enc_width", &cfg->enc_width)
      && json_int_field (root, "code", &cfg->code);
  /* optional: files from before the degradation head have none */
  cfg->degradation_head = 0;
  if (ok && json_object_get (root, "degradation_head"))
    ok = json_int_field (root, "degradation_head", &cfg->degradation_head);
  json_decref (root);
  if (!ok)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%s: __metadata__.config must hold integer dim, left[3], bottom, right[3], "
        "enc_width and code", fname);
  return IRC_OK;
}

/* Counts the distinct block indices under "<prefix>.<i>." */
static int
count_blocks (const irc_st_file *f, const char *prefix)
{
  const size_t pl = strlen (prefix);
  int max = -1;
  for (size_t i = 0; i < irc_st_count (f); i++) {
    const char *n = irc_st_at (f, i)->name;
    if (strncmp (n, prefix, pl) == 0 && n[pl] == '.') {
      char *end;
      long v = strtol (n + pl + 1, &end, 10);
      if (end != n + pl + 1 && *end == '.' && v >= 0 && v < 1000 && v > max)
        max = (int) v;
    }
  }
  return max + 1;
}

static irc_status
config_from_shapes (const irc_st_file *f, irc_config *cfg, irc_error *err)
{
  const char *fname = irc_st_name (f);
  const irc_st_tensor *pre = irc_st_find (f, "Preprocess_Module.0.weight");
  const irc_st_tensor *s1 = irc_st_find (f, "ConStyle.encoder_q.stage1.0.0.weight");
  const irc_st_tensor *mlp = irc_st_find (f, "mlp.0.weight");
  const char *missing = !pre ? "Preprocess_Module.0.weight"
      : !s1 ? "ConStyle.encoder_q.stage1.0.0.weight" : !mlp ? "mlp.0.weight" : NULL;
  if (missing)
    return irc_fail (err, IRC_ERR_MODEL,
        "%s: no __metadata__.config and missing tensor '%s' to infer the configuration from",
        fname, missing);
  if (pre->ndim < 1 || s1->ndim < 1 || mlp->ndim != 2)
    return irc_fail (err, IRC_ERR_MODEL,
        "%s: cannot infer the configuration: unexpected ranks of Preprocess_Module.0.weight, "
        "ConStyle.encoder_q.stage1.0.0.weight or mlp.0.weight", fname);
  cfg->dim = (int) (pre->shape[0] > 100000 ? 0 : pre->shape[0]);
  cfg->enc_width = (int) (s1->shape[0] > 100000 ? 0 : s1->shape[0]);
  cfg->code = (int) (mlp->shape[1] > 100000 ? 0 : mlp->shape[1]);
  for (int l = 0; l < 3; l++) {
    char p[32];
    snprintf (p, sizeof p, "Process_Module_l%d", l + 1);
    cfg->left[l] = count_blocks (f, p);
    snprintf (p, sizeof p, "Process_Module_r%d", l + 1);
    cfg->right[l] = count_blocks (f, p);
  }
  cfg->bottom = count_blocks (f, "Process_Module_bottom");
  const irc_st_tensor *head = irc_st_find (f, "ConStyle.degradation_head.weight");
  cfg->degradation_head = head && head->ndim == 2 && head->shape[0] <= 100000
      ? (int) head->shape[0] : 0;
  return IRC_OK;
}

static int
is_training_state (const char *name)
{
  return strncmp (name, "ConStyle.encoder_k.", 19) == 0 || strcmp (name, "ConStyle.queue") == 0
      || strcmp (name, "ConStyle.queue_ptr") == 0;
}

static int
desc_cmp (const void *a, const void *b)
{
  return strcmp ((*(const irc_tensor_desc * const *) a)->name,
      (*(const irc_tensor_desc * const *) b)->name);
}

/* Matches the file's tensors to @m's descriptors: names, shapes and dtypes
 * when @read is 0 (no storage needed yet), then the values when it is 1. */
static irc_status
bind_tensors (irc_model *m, const irc_st_file *f, const irc_model_load_params *params,
    int read, irc_error *err)
{
  const char *fname = irc_st_name (f);
  irc_status st = IRC_OK;
  char want[96], got[96];
  /* names sorted for lookup of each file tensor */
  const irc_tensor_desc **sorted = malloc (m->n_descs * sizeof *sorted);
  if (!sorted)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < m->n_descs; i++)
    sorted[i] = &m->descs[i];
  qsort (sorted, m->n_descs, sizeof *sorted, desc_cmp);

  const size_t ip_len = params->ignore_prefix ? strlen (params->ignore_prefix) : 0;
  for (size_t i = 0; i < irc_st_count (f) && st == IRC_OK; i++) {
    const irc_st_tensor *t = irc_st_at (f, i);
    irc_tensor_desc key;
    snprintf (key.name, sizeof key.name, "%s", t->name);
    const irc_tensor_desc *kp = &key;
    const irc_tensor_desc **hit = strlen (t->name) < sizeof key.name
        ? bsearch (&kp, sorted, m->n_descs, sizeof *sorted, desc_cmp) : NULL;
    if (!hit) {
      if (ip_len && strncmp (t->name, params->ignore_prefix, ip_len) == 0)
        continue;
      if (params->accept_training_state && is_training_state (t->name))
        continue;
      st = irc_fail (err, IRC_ERR_MODEL,
          "%s: unexpected tensor '%s' (not part of the configuration's network)", fname, t->name);
      break;
    }
    const irc_tensor_desc *d = *hit;
    if (d->kind == IRC_TENSOR_COUNTER) {
      if (t->dtype != IRC_DTYPE_I64 || t->count != 1)
        st = irc_fail (err, IRC_ERR_MODEL,
            "%s: tensor '%s': expected a single I64 counter", fname, t->name);
      continue;
    }
    int same = t->ndim == d->ndim;
    for (int k = 0; same && k < d->ndim; k++)
      same = t->shape[k] == d->shape[k];
    if (!same) {
      shape_str (want, sizeof want, d->ndim, d->shape);
      shape_str (got, sizeof got, t->ndim, t->shape);
      st = irc_fail (err, IRC_ERR_MODEL, "%s: tensor '%s': expected shape %s, found %s",
          fname, t->name, want, got);
      break;
    }
    if (t->dtype == IRC_DTYPE_I64) {
      st = irc_fail (err, IRC_ERR_MODEL,
          "%s: tensor '%s': expected a float tensor (F32 or F16), found I64", fname, t->name);
      break;
    }
    if (read)
      st = irc_st_read_f32 (f, t, *d->slot, err);
  }
  /* every float tensor the network needs must be present */
  for (size_t i = 0; i < m->n_descs && st == IRC_OK; i++) {
    const irc_tensor_desc *d = &m->descs[i];
    if (d->kind != IRC_TENSOR_COUNTER && !irc_st_find (f, d->name)) {
      shape_str (want, sizeof want, d->ndim, d->shape);
      st = irc_fail (err, IRC_ERR_MODEL, "%s: missing tensor '%s' (expected shape %s)",
          fname, d->name, want);
    }
  }
  free (sorted);
  return st;
}

static irc_status
load_from_file (irc_st_file *f, const irc_model_load_params *params, irc_model **out,
    irc_error *err)
{
  const irc_model_load_params defaults = IRC_MODEL_LOAD_DEFAULTS;
  if (!params)
    params = &defaults;
  irc_config cfg;
  const char *meta_cfg = irc_st_metadata (f, "config");
  irc_status st = meta_cfg ? config_from_metadata (irc_st_name (f), meta_cfg, &cfg, err)
      : config_from_shapes (f, &cfg, err);
  if (st != IRC_OK)
    return st;
  irc_error cerr = {0};
  if (irc_config_validate (&cfg, &cerr) != IRC_OK)
    return irc_fail (err, IRC_ERR_MODEL, "%s: %s", irc_st_name (f), cerr.message);
  irc_model *m = NULL;
  st = model_alloc_tables (&cfg, &m, err);
  if (st != IRC_OK)
    return st;
  /* the file must hold every tensor before we allocate for them: its bytes
   * then bound the storage (at least 2 per float) */
  st = bind_tensors (m, f, params, 0, err);
  if (st == IRC_OK)
    st = model_alloc_arena (m, err);
  if (st == IRC_OK)
    st = bind_tensors (m, f, params, 1, err);
  if (st == IRC_OK) {
    const size_t n = irc_st_metadata_count (f);
    m->meta = calloc (2 * n + 1, sizeof (char *));
    if (!m->meta)
      st = irc_fail (err, IRC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && st == IRC_OK; i++) {
      const char *k, *v;
      irc_st_metadata_at (f, i, &k, &v);
      m->meta[2 * i] = strdup (k);
      m->meta[2 * i + 1] = strdup (v);
      m->n_meta = i + 1;
      if (!m->meta[2 * i] || !m->meta[2 * i + 1])
        st = irc_fail (err, IRC_ERR_NOMEM, "out of memory");
    }
  }
  if (st != IRC_OK) {
    irc_model_free (&m);
    return st;
  }
  *out = m;
  return IRC_OK;
}

irc_status
irc_model_load (const char *path, const irc_model_load_params *params, irc_model **out,
    irc_error *err)
{
  irc_st_file *f = NULL;
  irc_status st = irc_st_open (path, &f, err);
  if (st != IRC_OK)
    return st;
  st = load_from_file (f, params, out, err);
  irc_st_close (&f);
  return st;
}

irc_status
irc_model_load_memory (const void *data, size_t size, const char *name,
    const irc_model_load_params *params, irc_model **out, irc_error *err)
{
  irc_st_file *f = NULL;
  irc_status st = irc_st_parse (data, size, name, &f, err);
  if (st != IRC_OK)
    return st;
  st = load_from_file (f, params, out, err);
  irc_st_close (&f);
  return st;
}

irc_status
irc_model_save (const irc_model *model, const char *path, int fp16,
    const char *const *meta_kv, size_t n_meta, irc_error *err)
{
  irc_st_writer *w = NULL;
  irc_status st = irc_st_writer_new (&w, err);
  if (st != IRC_OK)
    return st;
  char cfg[512];
  irc_config_to_json (&model->w.cfg, cfg, sizeof cfg);
  st = irc_st_writer_metadata (w, "config", cfg, err);
  for (size_t i = 0; i < n_meta && st == IRC_OK; i++)
    if (strcmp (meta_kv[2 * i], "config") != 0)
      st = irc_st_writer_metadata (w, meta_kv[2 * i], meta_kv[2 * i + 1], err);
  for (size_t i = 0; i < model->n_descs && st == IRC_OK; i++) {
    const irc_tensor_desc *d = &model->descs[i];
    if (d->kind == IRC_TENSOR_COUNTER) {
      const int64_t zero = 0;
      st = irc_st_writer_add_i64 (w, d->name, 0, d->shape, &zero, err);
    } else {
      /* BatchNorm statistics stay F32: they are not weights */
      st = irc_st_writer_add_f32 (w, d->name, d->ndim, d->shape, *d->slot,
          fp16 && d->kind == IRC_TENSOR_PARAM, err);
    }
  }
  if (st == IRC_OK)
    st = irc_st_writer_save (w, path, err);
  irc_st_writer_free (&w);
  return st;
}
