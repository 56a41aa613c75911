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
