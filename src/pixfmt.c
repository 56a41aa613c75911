/* pixfmt: exact conversion between the caller's 8-bit frames (packed RGB
 * family, I420, NV12) and the network's planar float RGB in [0, 1]. */
#include "irc/runner.h"
#include "error.h"
#include "irc-orc.h"

#include <math.h>
#include <string.h>

/* rows are converted in pieces of this many pixels through stack buffers */
#define PIECE 512

typedef struct {
  const char *name;
  int bpp;            /* bytes per pixel, 0 for planar YUV */
  int r, g, b, a;     /* byte offsets, a = -1 when there is none (or padding) */
  int pad;            /* offset of an x padding byte, -1 when none */
} format_info;

static const format_info formats[IRC_FORMAT_COUNT] = {
  [IRC_FORMAT_RGB] = {"RGB", 3, 0, 1, 2, -1, -1},
  [IRC_FORMAT_BGR] = {"BGR", 3, 2, 1, 0, -1, -1},
  [IRC_FORMAT_RGBx] = {"RGBx", 4, 0, 1, 2, -1, 3},
  [IRC_FORMAT_BGRx] = {"BGRx", 4, 2, 1, 0, -1, 3},
  [IRC_FORMAT_xRGB] = {"xRGB", 4, 1, 2, 3, -1, 0},
  [IRC_FORMAT_xBGR] = {"xBGR", 4, 3, 2, 1, -1, 0},
  [IRC_FORMAT_RGBA] = {"RGBA", 4, 0, 1, 2, 3, -1},
  [IRC_FORMAT_BGRA] = {"BGRA", 4, 2, 1, 0, 3, -1},
  [IRC_FORMAT_ARGB] = {"ARGB", 4, 1, 2, 3, 0, -1},
  [IRC_FORMAT_ABGR] = {"ABGR", 4, 3, 2, 1, 0, -1},
  [IRC_FORMAT_I420] = {"I420", 0, 0, 0, 0, -1, -1},
  [IRC_FORMAT_NV12] = {"NV12", 0, 0, 0, 0, -1, -1},
};

const char *
irc_pixel_format_name (irc_pixel_format format)
{
  return (unsigned) format < IRC_FORMAT_COUNT ? formats[format].name : NULL;
}

/* Luma weights of the two matrices. */
static void
matrix_weights (irc_matrix m, float *kr, float *kb)
{
  if (m == IRC_MATRIX_BT601) {
    *kr = 0.299f;
    *kb = 0.114f;
  } else {
    *kr = 0.2126f;
    *kb = 0.0722f;
  }
}

static irc_status
check_args (const irc_frame *frame, int width, int height, irc_pixel_format format,
    irc_matrix matrix, irc_error *err)
{
  if ((unsigned) format >= IRC_FORMAT_COUNT)
    return irc_fail (err, IRC_ERR_INVALID, "unknown pixel format %d", (int) format);
  if (matrix != IRC_MATRIX_BT601 && matrix != IRC_MATRIX_BT709)
    return irc_fail (err, IRC_ERR_INVALID, "unknown YUV matrix %d", (int) matrix);
  if (!frame || width < 1 || height < 1)
    return irc_fail (err, IRC_ERR_INVALID, "no frame or empty size %dx%d", width, height);
  const int planes = formats[format].bpp ? 1 : format == IRC_FORMAT_I420 ? 3 : 2;
  const int cw = (width + 1) / 2;
  for (int p = 0; p < planes; p++) {
    const int need = formats[format].bpp ? width * formats[format].bpp
        : p == 0 ? width : format == IRC_FORMAT_NV12 ? 2 * cw : cw;
    if (!frame->data[p] || frame->stride[p] < need)
      return irc_fail (err, IRC_ERR_INVALID,
          "%s frame plane %d: missing or stride %d shorter than a row (%d bytes)",
          formats[format].name, p, frame->stride[p], need);
  }
  return IRC_OK;
}

irc_status
irc_frame_to_float (float *rgb, const irc_frame *frame, int width, int height,
    irc_pixel_format format, irc_matrix matrix, int full_range, irc_error *err)
{
  irc_status st = check_args (frame, width, height, format, matrix, err);
  if (st != IRC_OK)
    return st;
  const size_t plane = (size_t) width * height;
  const format_info *fi = &formats[format];
  if (fi->bpp) {
    uint8_t tmp[PIECE];
    const int off[3] = {fi->r, fi->g, fi->b};
    for (int y = 0; y < height; y++) {
      const uint8_t *row = frame->data[0] + (size_t) y * frame->stride[0];
      for (int x0 = 0; x0 < width; x0 += PIECE) {
        const int n = width - x0 < PIECE ? width - x0 : PIECE;
        for (int c = 0; c < 3; c++) {
          const uint8_t *s = row + (size_t) x0 * fi->bpp + off[c];
          for (int i = 0; i < n; i++)
            tmp[i] = s[i * fi->bpp];
          irc_orc_u8_to_f32 (rgb + c * plane + (size_t) y * width + x0, tmp, 1.0f / 255.0f, n);
        }
      }
    }
    return IRC_OK;
  }
  float kr, kb;
  matrix_weights (matrix, &kr, &kb);
  const float kg = 1.0f - kr - kb;
  const float ys = full_range ? 1.0f / 255.0f : 1.0f / 219.0f, yo = full_range ? 0.0f : 16.0f;
  const float cs = full_range ? 1.0f / 255.0f : 1.0f / 224.0f;
  for (int y = 0; y < height; y++) {
    const uint8_t *yr = frame->data[0] + (size_t) y * frame->stride[0];
    const uint8_t *ur = frame->data[1] + (size_t) (y / 2) * frame->stride[1];
    const uint8_t *vr = format == IRC_FORMAT_I420
        ? frame->data[2] + (size_t) (y / 2) * frame->stride[2] : ur + 1;
    const int cstep = format == IRC_FORMAT_I420 ? 1 : 2;
    float *r = rgb + (size_t) y * width, *g = r + plane, *b = g + plane;
    for (int x = 0; x < width; x++) {
      const float Y = (yr[x] - yo) * ys;
      const float cb = (ur[(x / 2) * cstep] - 128.0f) * cs;
      const float cr = (vr[(x / 2) * cstep] - 128.0f) * cs;
      const float R = Y + 2.0f * (1.0f - kr) * cr, B = Y + 2.0f * (1.0f - kb) * cb;
      r[x] = R;
      b[x] = B;
      g[x] = (Y - kr * R - kb * B) / kg;
    }
  }
  return IRC_OK;
}

/* NaN (a finite but absurd model can overflow to it) gives 0: converting it
 * to an integer would be undefined. */
static uint8_t
clamp_u8 (float v)
{
  v += 0.5f;
  return v > 0.0f ? (v < 255.0f ? (uint8_t) v : 255) : 0;
}

irc_status
irc_frame_from_float (irc_frame *frame, const float *rgb, int width, int height,
    irc_pixel_format format, irc_matrix matrix, int full_range, const irc_frame *alpha_src,
    irc_error *err)
{
  irc_status st = check_args (frame, width, height, format, matrix, err);
  if (st != IRC_OK)
    return st;
  const size_t plane = (size_t) width * height;
  const format_info *fi = &formats[format];
  if (fi->bpp) {
    uint8_t tmp[3][PIECE];
    const int off[3] = {fi->r, fi->g, fi->b};
    const int keep = fi->a >= 0 ? fi->a : fi->pad;
    for (int y = 0; y < height; y++) {
      uint8_t *row = frame->data[0] + (size_t) y * frame->stride[0];
      const uint8_t *arow = alpha_src ? alpha_src->data[0] + (size_t) y * alpha_src->stride[0]
          : NULL;
      for (int x0 = 0; x0 < width; x0 += PIECE) {
        const int n = width - x0 < PIECE ? width - x0 : PIECE;
        for (int c = 0; c < 3; c++)
          irc_orc_f32_to_u8 (tmp[c], rgb + c * plane + (size_t) y * width + x0, n);
        uint8_t *d = row + (size_t) x0 * fi->bpp;
        /* alpha/padding first: when the frame is its own alpha source the
         * byte is read before anything else of the pixel is written */
        if (keep >= 0)
          for (int i = 0; i < n; i++)
            d[i * fi->bpp + keep] = arow ? arow[(size_t) (x0 + i) * fi->bpp + keep] : 255;
        for (int c = 0; c < 3; c++)
          for (int i = 0; i < n; i++)
            d[i * fi->bpp + off[c]] = tmp[c][i];
      }
    }
    return IRC_OK;
  }
  float kr, kb;
  matrix_weights (matrix, &kr, &kb);
  const float kg = 1.0f - kr - kb;
  const float ys = full_range ? 255.0f : 219.0f, yo = full_range ? 0.0f : 16.0f;
  const float cs = full_range ? 255.0f : 224.0f;
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  for (int y = 0; y < height; y++) {
    uint8_t *yr = frame->data[0] + (size_t) y * frame->stride[0];
    const float *r = rgb + (size_t) y * width, *g = r + plane, *b = g + plane;
    for (int x = 0; x < width; x++)
      yr[x] = clamp_u8 ((kr * r[x] + kg * g[x] + kb * b[x]) * ys + yo);
  }
  /* chroma of each 2x2 block from its mean colour (pixels past an odd edge
   * are left out) */
  for (int cy = 0; cy < ch; cy++) {
    uint8_t *ur = frame->data[1] + (size_t) cy * frame->stride[1];
    uint8_t *vr = format == IRC_FORMAT_I420 ? frame->data[2] + (size_t) cy * frame->stride[2]
        : ur + 1;
    const int cstep = format == IRC_FORMAT_I420 ? 1 : 2;
    for (int cx = 0; cx < cw; cx++) {
      float sr = 0, sg = 0, sb = 0;
      int n = 0;
      for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
          const int y = 2 * cy + dy, x = 2 * cx + dx;
          if (y < height && x < width) {
            const size_t i = (size_t) y * width + x;
            sr += rgb[i], sg += rgb[plane + i], sb += rgb[2 * plane + i];
            n++;
          }
        }
      sr /= n, sg /= n, sb /= n;
      const float Y = kr * sr + kg * sg + kb * sb;
      ur[cx * cstep] = clamp_u8 ((sb - Y) / (2.0f * (1.0f - kb)) * cs + 128.0f);
      vr[cx * cstep] = clamp_u8 ((sr - Y) / (2.0f * (1.0f - kr)) * cs + 128.0f);
    }
  }
  return IRC_OK;
}
