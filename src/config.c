/* config: named network configurations, validation and cost figures. */
#include "error.h"

#include <stdio.h>
#include <string.h>

irc_status
irc_config_named (const char *name, irc_config *cfg, irc_error *err)
{
  static const struct {
    const char *name;
    irc_config cfg;
  } named[] = {
    {"paper", {48, {7, 8, 9}, 9, {7, 8, 9}, 16, 128, 0}},
    {"lite16", {16, {1, 1, 1}, 1, {1, 1, 1}, 16, 128, 0}},
    {"tiny8", {8, {1, 1, 1}, 1, {1, 1, 1}, 8, 64, 0}},
  };
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
    if (name && strcmp (name, named[i].name) == 0) {
      *cfg = named[i].cfg;
      return IRC_OK;
    }
  }
  return irc_fail (err, IRC_ERR_INVALID,
      "unknown configuration '%s' (known: paper, lite16, tiny8)", name ? name : "(null)");
}

irc_status
irc_config_validate (const irc_config *cfg, irc_error *err)
{
  /* dim must split into the DC convolutions' dim/4 outputs; the upper bounds
   * only keep sizes far from integer overflow. */
  if (cfg->dim < 4 || cfg->dim > 1024 || cfg->dim % 4 != 0)
    return irc_fail (err, IRC_ERR_INVALID,
        "config: dim %d must be a multiple of 4 between 4 and 1024", cfg->dim);
  if (cfg->enc_width < 1 || cfg->enc_width > 256)
    return irc_fail (err, IRC_ERR_INVALID,
        "config: enc_width %d must be between 1 and 256", cfg->enc_width);
  if (cfg->code < 1 || cfg->code > 4096)
    return irc_fail (err, IRC_ERR_INVALID,
        "config: code %d must be between 1 and 4096", cfg->code);
  for (int i = 0; i < 3; i++) {
    if (cfg->left[i] < 0 || cfg->left[i] > 64 || cfg->right[i] < 0 || cfg->right[i] > 64)
      return irc_fail (err, IRC_ERR_INVALID,
          "config: block counts must be between 0 and 64 (left[%d] %d, right[%d] %d)",
          i, cfg->left[i], i, cfg->right[i]);
  }
  if (cfg->bottom < 0 || cfg->bottom > 64)
    return irc_fail (err, IRC_ERR_INVALID,
        "config: bottom block count %d must be between 0 and 64", cfg->bottom);
  if (cfg->degradation_head != 0 && cfg->degradation_head != IRC_DEGRADATION_HEAD_OUTPUTS)
    return irc_fail (err, IRC_ERR_INVALID,
        "config: degradation_head %d must be 0 (none) or %d", cfg->degradation_head,
        IRC_DEGRADATION_HEAD_OUTPUTS);
  return IRC_OK;
}

/* NAFBlock(c) per pixel of its level: conv1 c->2c, depthwise 3x3 on 2c,
 * conv3 c->c, conv4 c->2c, conv5 c->c (SCA is per image, negligible). */
static double
nafblock_macs (double c)
{
  return 6 * c * c + 18 * c;
}

double
irc_config_macs_per_pixel (const irc_config *cfg)
{
  const double w = cfg->enc_width, C = cfg->dim;
  /* level k holds 1/4^k of the pixels */
  const double lv[5] = {1, 0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256};
  double m = 0;
  /* encoder: 3x3 convolutions, stride-2 outputs land on the next level */
  m += 9 * (3 * w + w * w) * lv[0] + 9 * w * 2 * w * lv[1];
  m += 9 * (2 * w * 2 * w) * lv[1] + 9 * 2 * w * 4 * w * lv[2];
  m += 9 * (4 * w * 8 * w) * lv[2] + 9 * 8 * w * 8 * w * lv[3];
  m += 9 * (8 * w * 16 * w) * lv[3] + 9 * 16 * w * 16 * w * lv[4];
  /* U-Net */
  m += 9 * 3 * C;                                   /* Preprocess */
  const double lc[3] = {C, 2 * C, 3 * C};
  for (int l = 0; l < 3; l++) {
    m += cfg->left[l] * nafblock_macs (lc[l]) * lv[l];
    m += 9 * lc[l] * lc[l] / 4 * lv[l];             /* DC */
  }
  m += (2 * w * C) * lv[1] + (4 * w * C) * lv[2] + (8 * w * C) * lv[3]; /* AffineTransforms */
  m += cfg->bottom * nafblock_macs (4 * C) * lv[3];
  m += 8 * C * 3 * C * lv[3];                       /* local_fusion */
  /* UC(n, a, b): 3x3 n->4n at the lower level, 1x1 a->b at the upper */
  m += 9 * 3 * C * 12 * C * lv[3] + 6 * C * 4 * C * lv[2];
  m += cfg->right[2] * nafblock_macs (4 * C) * lv[2];
  m += 9 * 4 * C * 16 * C * lv[2] + 6 * C * 3 * C * lv[1];
  m += cfg->right[1] * nafblock_macs (3 * C) * lv[1];
  m += 9 * 3 * C * 12 * C * lv[1] + 4 * C * 2 * C * lv[0];
  m += cfg->right[0] * nafblock_macs (2 * C) * lv[0];
  m += 9 * 2 * C * 3;                               /* Finetune */
  return m;
}

static size_t
nafblock_params (size_t c)
{
  /* beta, gamma, conv1 w+b, conv2 w+b, conv3 w+b, sca w+b, conv4 w+b, conv5 w+b, 2 norms */
  return 2 * c + (2 * c * c + 2 * c) + (18 * c + 2 * c) + (c * c + c) + (c * c + c)
      + (2 * c * c + 2 * c) + (c * c + c) + 4 * c;
}

size_t
irc_config_param_count (const irc_config *cfg)
{
  const size_t w = cfg->enc_width, C = cfg->dim, code = cfg->code;
  size_t n = 0;
  n += 9 * (3 * w + w * w + w * 2 * w + 4 * w * w + 8 * w * w + 32 * w * w + 64 * w * w
      + 128 * w * w + 256 * w * w);
  n += 16 * w * code + code + 2 * code;             /* mlp1 linear + BN affine */
  n += code * code + code + 2 * code;               /* mlp2 */
  n += 27 * C;
  const size_t lc[3] = {C, 2 * C, 3 * C};
  for (int l = 0; l < 3; l++)
    n += cfg->left[l] * nafblock_params (lc[l]) + 9 * lc[l] * lc[l] / 4;
  n += cfg->bottom * nafblock_params (4 * C);
  n += 8 * C * 3 * C;
  n += 9 * 3 * C * 12 * C + 6 * C * 4 * C + 9 * 4 * C * 16 * C + 6 * C * 3 * C
      + 9 * 3 * C * 12 * C + 4 * C * 2 * C;
  n += cfg->right[2] * nafblock_params (4 * C) + cfg->right[1] * nafblock_params (3 * C)
      + cfg->right[0] * nafblock_params (2 * C);
  n += 9 * 2 * C * 3;
  n += code * 4 * C + 4 * C;
  n += C * (8 * w + 4 * w + 2 * w);
  n += (size_t) cfg->degradation_head * (code + 1);
  return n;
}

int
irc_config_to_json (const irc_config *cfg, char *buf, size_t size)
{
  /* the head's key only when there is one: files without it keep the JSON
   * they always had */
  char head[48] = "";
  if (cfg->degradation_head)
    snprintf (head, sizeof head, ", \"degradation_head\": %d", cfg->degradation_head);
  return snprintf (buf, size,
      "{\"dim\": %d, \"left\": [%d, %d, %d], \"bottom\": %d, \"right\": [%d, %d, %d], "
      "\"enc_width\": %d, \"code\": %d%s}",
      cfg->dim, cfg->left[0], cfg->left[1], cfg->left[2], cfg->bottom,
      cfg->right[0], cfg->right[1], cfg->right[2], cfg->enc_width, cfg->code, head);
}

const char *
irc_version (void)
{
  return "0.1.0";
}
