/* degradation: the degradation head on the style code. A linear layer reads
 * the ConStyle code of a scene and says which degradations it holds (one
 * independent presence per kind, so mixtures are answers too) and how strong
 * each is. */
#include "error.h"
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static float
sigmoid (double x)
{
  return (float) (1.0 / (1.0 + exp (-x)));
}

int
irc_model_has_degradation_head (const irc_model *model)
{
  return model && model->w.cfg.degradation_head == IRC_DEGRADATION_HEAD_OUTPUTS
      && model->w.head_w && model->w.head_b;
}

irc_status
irc_model_degradation (const irc_model *model, const float *code, irc_degradation *out,
    irc_error *err)
{
  if (!out)
    return irc_fail (err, IRC_ERR_INVALID, "irc_model_degradation: no output given");
  memset (out, 0, sizeof *out);
  if (!model || !code)
    return irc_fail (err, IRC_ERR_INVALID, "irc_model_degradation: no model or no code");
  if (!irc_model_has_degradation_head (model))
    return IRC_OK;
  const irc_weights *w = &model->w;
  const int n = w->cfg.code;
  double logit[IRC_DEGRADATION_HEAD_OUTPUTS];
  for (int o = 0; o < IRC_DEGRADATION_HEAD_OUTPUTS; o++) {
    double acc = w->head_b[o];
    for (int i = 0; i < n; i++)
      acc += (double) w->head_w[(size_t) o * n + i] * code[i];
    if (!isfinite (acc))
      return irc_fail (err, IRC_ERR_INVALID,
          "degradation head: non-finite output %d (the code or the head's weights)", o);
    logit[o] = acc;
  }
  out->known = 1;
  out->confidence = 1.0f;
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++) {
    const float p = sigmoid (logit[k]);
    out->presence[k] = p;
    out->strength[k] = sigmoid (logit[IRC_DEGRADATION_KINDS + k]);
    if (p > 0.5f)
      out->kinds |= 1u << k;
    out->confidence *= p > 0.5f ? p : 1.0f - p;
  }
  return IRC_OK;
}

int
irc_degradation_route (const irc_degradation *d, float min_confidence)
{
  if (!d || !d->known || !(d->confidence >= min_confidence))
    return -1;
  if (d->kinds == 0)
    return IRC_DEGRADATION_KINDS;
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
    if (d->kinds == 1u << k)
      return k;
  return -1;
}

const char *
irc_degradation_name (int known, unsigned kinds, char *buf, size_t size)
{
  static const char *const names[IRC_DEGRADATION_KINDS] = { "rain", "haze", "noise", "blur" };
  if (!buf || size == 0)
    return buf;
  if (!known) {
    snprintf (buf, size, "unknown");
    return buf;
  }
  if (!(kinds & ((1u << IRC_DEGRADATION_KINDS) - 1))) {
    snprintf (buf, size, "clean");
    return buf;
  }
  size_t len = 0;
  buf[0] = 0;
  for (int k = 0; k < IRC_DEGRADATION_KINDS; k++)
    if (kinds & (1u << k)) {
      int w = snprintf (buf + len, size - len, "%s%s", len ? "+" : "", names[k]);
      if (w < 0 || (size_t) w >= size - len)
        break;
      len += (size_t) w;
    }
  return buf;
}

int
irc_degradation_parse (const char *text, size_t len, unsigned *kinds)
{
  *kinds = 0;
  if (!text)
    return -1;
  if (len == 5 && strncmp (text, "clean", 5) == 0)
    return 0;
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && text[j] != '+')
      j++;
    int found = 0;
    for (int k = 0; k < IRC_DEGRADATION_KINDS; k++) {
      char name[16];   /* the name of kind k alone */
      irc_degradation_name (1, 1u << k, name, sizeof name);
      if (strlen (name) == j - i && strncmp (text + i, name, j - i) == 0) {
        *kinds |= 1u << k;
        found = 1;
      }
    }
    if (!found)
      return -1;
    i = j + 1;
  }
  return *kinds ? 0 : -1;
}

/* ------------------------------------------------------------ detector */

#include <stdlib.h>

enum { DETECT_MAX_CROPS_PER_SIDE = 4, DETECT_DEFAULT_CROP = 128 };

struct irc_detector {
  const irc_model *model;
  irc_net *net;                 /* encoder only, crop x crop */
  int crop;
  float *small;                 /* the shrunk frame, 3 planes */
  size_t small_cap;             /* floats */
  float *tile;                  /* one crop, 3 planes */
  float *code;                  /* the mean code */
};

/* The crop side: the model's training patch, a multiple of 8 in 32..512. */
static int
detector_crop_for (const irc_model *model)
{
  const char *v = irc_model_metadata (model, "train_patch");
  long side = DETECT_DEFAULT_CROP;
  if (v) {
    char *end;
    const long parsed = strtol (v, &end, 10);
    if (end != v && *end == 0 && parsed >= 32 && parsed <= 512)
      side = parsed / 8 * 8;
  }
  return (int) side;
}

int
irc_box_shrink (const float *src, int width, int height, int max_side, float *dst,
    int *out_width, int *out_height)
{
  const int longer = width > height ? width : height;
  const int f = max_side > 0 && longer > max_side ? (longer + max_side - 1) / max_side : 1;
  const int sw = width / f, sh = height / f;
  *out_width = sw;
  *out_height = sh;
  if (!dst || f == 1)
    return f;
  const float scale = 1.0f / (float) (f * f);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < sh; y++)
      for (int x = 0; x < sw; x++) {
        float acc = 0.0f;
        for (int v = 0; v < f; v++) {
          const float *row = src + ((size_t) c * height + (size_t) y * f + v) * width
              + (size_t) x * f;
          for (int u = 0; u < f; u++)
            acc += row[u];
        }
        dst[((size_t) c * sh + y) * sw + x] = acc * scale;
      }
  return f;
}

void
irc_detector_free (irc_detector **dp)
{
  if (!dp || !*dp)
    return;
  irc_detector *d = *dp;
  irc_net_free (&d->net);
  free (d->small);
  free (d->tile);
  free (d->code);
  free (d);
  *dp = NULL;
}

irc_status
irc_detector_new (const irc_model *model, int max_width, int max_height,
    const irc_net_params *params, irc_detector **out, irc_error *err)
{
  if (!out)
    return irc_fail (err, IRC_ERR_INVALID, "irc_detector_new: no output given");
  *out = NULL;
  if (!irc_model_has_degradation_head (model))
    return irc_fail (err, IRC_ERR_INVALID, "the detector's model has no degradation head");
  if (max_width < 1 || max_height < 1)
    return irc_fail (err, IRC_ERR_INVALID, "detector for a %dx%d frame", max_width,
        max_height);
  irc_detector *d = calloc (1, sizeof *d);
  if (!d)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for the detector");
  d->model = model;
  d->crop = detector_crop_for (model);
  /* only frames longer than IRC_DETECT_MAX_SIDE are shrunk, to at most it */
  const int longer = max_width > max_height ? max_width : max_height;
  d->small_cap = longer > IRC_DETECT_MAX_SIDE
      ? (size_t) 3 * IRC_DETECT_MAX_SIDE * IRC_DETECT_MAX_SIDE : 0;
  d->small = d->small_cap ? malloc (d->small_cap * sizeof (float)) : NULL;
  d->tile = malloc ((size_t) 3 * d->crop * d->crop * sizeof (float));
  d->code = calloc ((size_t) model->w.cfg.code, sizeof (float));
  irc_status st = IRC_OK;
  if ((d->small_cap && !d->small) || !d->tile || !d->code)
    st = irc_fail (err, IRC_ERR_NOMEM, "out of memory for the detector");
  if (st == IRC_OK) {
    irc_net_params np = params ? *params : (irc_net_params) IRC_NET_DEFAULTS;
    np.encoder_only = 1;
    st = irc_net_new (model, d->crop, d->crop, &np, &d->net, err);
  }
  if (st != IRC_OK) {
    irc_detector_free (&d);
    return st;
  }
  *out = d;
  return IRC_OK;
}

/* The @k-th of @n crop origins along a side of @len for crops of @crop. */
static int
crop_origin (int k, int n, int len, int crop)
{
  if (len <= crop)
    return 0;
  if (n <= 1)
    return (len - crop) / 2;
  return (int) ((long long) k * (len - crop) / (n - 1));
}

irc_status
irc_detector_read (irc_detector *d, const float *rgb, int width, int height,
    irc_degradation *out, irc_error *err)
{
  if (!d || !rgb || !out)
    return irc_fail (err, IRC_ERR_INVALID, "irc_detector_read: missing argument");
  memset (out, 0, sizeof *out);
  if (width < 1 || height < 1)
    return irc_fail (err, IRC_ERR_INVALID, "detector: a %dx%d frame", width, height);
  int sw, sh;
  const int f = irc_box_shrink (rgb, width, height, IRC_DETECT_MAX_SIDE, NULL, &sw, &sh);
  if ((f > 1 && (size_t) 3 * sw * sh > d->small_cap) || sw < 1 || sh < 1)
    return irc_fail (err, IRC_ERR_INVALID, "detector: a %dx%d frame is larger than it was "
        "made for", width, height);
  const float *frame = rgb;
  if (f > 1) {
    irc_box_shrink (rgb, width, height, IRC_DETECT_MAX_SIDE, d->small, &sw, &sh);
    frame = d->small;
  }
  const int cw = sw < d->crop ? sw : d->crop, ch = sh < d->crop ? sh : d->crop;
  int nx = (sw + d->crop - 1) / d->crop, ny = (sh + d->crop - 1) / d->crop;
  nx = nx > DETECT_MAX_CROPS_PER_SIDE ? DETECT_MAX_CROPS_PER_SIDE : nx;
  ny = ny > DETECT_MAX_CROPS_PER_SIDE ? DETECT_MAX_CROPS_PER_SIDE : ny;
  const int code = d->model->w.cfg.code;
  memset (d->code, 0, (size_t) code * sizeof (float));
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) {
      const int x0 = crop_origin (i, nx, sw, d->crop), y0 = crop_origin (j, ny, sh, d->crop);
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < ch; y++)
          memcpy (d->tile + ((size_t) c * ch + y) * cw,
              frame + ((size_t) c * sh + y0 + y) * sw + x0, (size_t) cw * sizeof (float));
      irc_status st = irc_net_encode (d->net, d->tile, cw, ch, NULL, err);
      if (st != IRC_OK)
        return st;
      const float *crop_code = irc_net_code (d->net);
      for (int k = 0; k < code; k++)
        d->code[k] += crop_code[k] / (float) (nx * ny);
    }
  return irc_model_degradation (d->model, d->code, out, err);
}

const float *
irc_detector_code (const irc_detector *d)
{
  return d ? d->code : NULL;
}

int
irc_detector_crop (const irc_detector *d)
{
  return d ? d->crop : 0;
}
