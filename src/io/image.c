/* image: decoding PNG/JPEG into planar float RGB and encoding it back, with
 * libpng/libjpeg's longjmp-based error handling contained here, atomic
 * saves, and dataset folder listing. */
#include "io/image.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#define DEFAULT_JPEG_QUALITY 95

irc_status
irc_image_alloc (irc_image *img, int width, int height, irc_error *err)
{
  img->width = img->height = 0;
  img->data = NULL;
  if (width <= 0 || height <= 0 || width > IRC_IMAGE_MAX_SIDE
      || height > IRC_IMAGE_MAX_SIDE
      || (size_t) width * (size_t) height > IRC_IMAGE_MAX_PIXELS)
    return irc_fail (err, IRC_ERR_INVALID, "image size %dx%d is out of range",
        width, height);
  img->data = calloc ((size_t) 3 * width * height, sizeof (float));
  if (!img->data)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory for a %dx%d image",
        width, height);
  img->width = width;
  img->height = height;
  return IRC_OK;
}

void
irc_image_clear (irc_image *img)
{
  if (!img)
    return;
  free (img->data);
  img->data = NULL;
  img->width = img->height = 0;
}

static int
has_ext (const char *path, const char *ext)
{
  size_t lp = strlen (path), le = strlen (ext);
  if (lp < le)
    return 0;
  return strcasecmp (path + lp - le, ext) == 0;
}

static int
is_image_name (const char *name)
{
  return has_ext (name, ".png") || has_ext (name, ".jpg") || has_ext (name, ".jpeg");
}

/* ------------------------------------------------------------------ PNG */

typedef struct {
  char msg[200];
} png_ctx;

/* libpng calls this on a fatal error and must not return: we record the
 * message and jump back to the setjmp in the caller. */
static void
png_error_cb (png_structp png, png_const_charp msg)
{
  png_ctx *ctx = png_get_error_ptr (png);
  snprintf (ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "unknown libpng error");
  png_longjmp (png, 1);
}

/* Warnings (bad CRC in an ancillary chunk, odd sRGB profiles) do not make
 * the pixels wrong; stay quiet, a library must not print. */
static void
png_warning_cb (png_structp png, png_const_charp msg)
{
  (void) png;
  (void) msg;
}

static irc_status
load_png (FILE *fp, const char *path, irc_image *out, irc_error *err)
{
  png_ctx ctx = { "" };
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &ctx,
      png_error_cb, png_warning_cb);
  if (!png)
    return irc_fail (err, IRC_ERR_NOMEM, "%s: cannot create a PNG reader", path);
  png_infop info = png_create_info_struct (png);
  if (!info) {
    png_destroy_read_struct (&png, NULL, NULL);
    return irc_fail (err, IRC_ERR_NOMEM, "%s: cannot create a PNG reader", path);
  }
  /* Allocated after setjmp, freed on either path: volatile so their values
   * survive the longjmp. */
  unsigned char *volatile buf = NULL;
  png_bytep *volatile rows = NULL;
  float *volatile pixels = NULL;

  if (setjmp (png_jmpbuf (png))) {
    free (buf);
    free (rows);
    free (pixels);
    png_destroy_read_struct (&png, &info, NULL);
    return irc_fail (err, IRC_ERR_FORMAT, "%s: corrupt or unsupported PNG: %s",
        path, ctx.msg);
  }
  png_init_io (png, fp);
  png_set_user_limits (png, IRC_IMAGE_MAX_SIDE, IRC_IMAGE_MAX_SIDE);
  png_read_info (png, info);

  png_uint_32 w = png_get_image_width (png, info);
  png_uint_32 h = png_get_image_height (png, info);
  int color = png_get_color_type (png, info);
  int depth = png_get_bit_depth (png, info);
  if ((size_t) w * h > IRC_IMAGE_MAX_PIXELS)
    png_error (png, "image too large");

  /* Normalise every layout to 8 or 16 bit grey/grey+alpha/RGB/RGBA; alpha
   * is then ignored (training photos and video frames are opaque). */
  if (color == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8 (png);
  png_set_interlace_handling (png);
  png_read_update_info (png, info);

  int channels = png_get_channels (png, info);
  int bits = png_get_bit_depth (png, info);
  size_t rowbytes = png_get_rowbytes (png, info);
  if ((bits != 8 && bits != 16) || channels < 1 || channels > 4)
    png_error (png, "unexpected pixel layout after expansion");

  buf = malloc (rowbytes * h);
  rows = malloc (sizeof (png_bytep) * h);
  pixels = malloc (sizeof (float) * 3 * (size_t) w * h);
  if (!buf || !rows || !pixels)
    png_error (png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++)
    rows[y] = buf + rowbytes * y;
  png_read_image (png, rows);
  png_read_end (png, NULL);

  size_t plane = (size_t) w * h;
  int colour_ch = channels >= 3 ? 3 : 1;
  /* Divide (not multiply by a reciprocal) so a byte k loads as exactly
   * k / 255.0f, the value that saves back to k. */
  float maxval = bits == 16 ? 65535.0f : 255.0f;
  for (png_uint_32 y = 0; y < h; y++) {
    const unsigned char *row = rows[y];
    for (png_uint_32 x = 0; x < w; x++) {
      for (int c = 0; c < 3; c++) {
        int sc = colour_ch == 3 ? c : 0;
        unsigned v;
        if (bits == 16) {
          const unsigned char *p = row + ((size_t) x * channels + sc) * 2;
          v = ((unsigned) p[0] << 8) | p[1];   /* PNG samples are big-endian */
        } else {
          v = row[(size_t) x * channels + sc];
        }
        pixels[c * plane + (size_t) y * w + x] = (float) v / maxval;
      }
    }
  }
  free (buf);
  free (rows);
  png_destroy_read_struct (&png, &info, NULL);
  out->width = (int) w;
  out->height = (int) h;
  out->data = pixels;
  return IRC_OK;
}

/* ----------------------------------------------------------------- JPEG */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
  int truncated;
} jpeg_ctx;

/* libjpeg's default error_exit calls exit(); ours jumps back instead. */
static void
jpeg_error_exit_cb (j_common_ptr cinfo)
{
  jpeg_ctx *ctx = (jpeg_ctx *) cinfo->err;
  (*cinfo->err->format_message) (cinfo, ctx->msg);
  longjmp (ctx->jb, 1);
}

/* Warnings are silent, except that a file cut short is remembered: libjpeg
 * fills the missing rows with grey and carries on, and a grey half-frame
 * must not reach training as if it were a photo. */
static void
jpeg_emit_message_cb (j_common_ptr cinfo, int level)
{
  jpeg_ctx *ctx = (jpeg_ctx *) cinfo->err;
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    ctx->truncated = 1;
}

static irc_status
load_jpeg (FILE *fp, const char *path, irc_image *out, irc_error *err)
{
  struct jpeg_decompress_struct cinfo;
  jpeg_ctx ctx;
  memset (&ctx, 0, sizeof ctx);
  cinfo.err = jpeg_std_error (&ctx.pub);
  ctx.pub.error_exit = jpeg_error_exit_cb;
  ctx.pub.emit_message = jpeg_emit_message_cb;
  unsigned char *volatile row = NULL;
  float *volatile pixels = NULL;

  if (setjmp (ctx.jb)) {
    jpeg_destroy_decompress (&cinfo);
    free (row);
    free (pixels);
    return irc_fail (err, IRC_ERR_FORMAT, "%s: corrupt or unsupported JPEG: %s",
        path, ctx.msg);
  }
  jpeg_create_decompress (&cinfo);
  jpeg_stdio_src (&cinfo, fp);
  jpeg_read_header (&cinfo, TRUE);

  int gray = 0, cmyk = 0;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      gray = 1;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      cmyk = 1;
      break;
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }
  jpeg_start_decompress (&cinfo);
  size_t w = cinfo.output_width, h = cinfo.output_height;
  int nc = cinfo.output_components;
  if (w == 0 || h == 0 || w > IRC_IMAGE_MAX_SIDE || h > IRC_IMAGE_MAX_SIDE
      || w * h > IRC_IMAGE_MAX_PIXELS) {
    snprintf (ctx.msg, sizeof ctx.msg, "image size %zux%zu is out of range", w, h);
    longjmp (ctx.jb, 1);
  }
  if (nc != (gray ? 1 : cmyk ? 4 : 3)) {
    snprintf (ctx.msg, sizeof ctx.msg, "unexpected %d output components", nc);
    longjmp (ctx.jb, 1);
  }
  row = malloc (w * nc);
  pixels = malloc (sizeof (float) * 3 * w * h);
  if (!row || !pixels) {
    snprintf (ctx.msg, sizeof ctx.msg, "out of memory");
    longjmp (ctx.jb, 1);
  }
  size_t plane = w * h;
  /* Adobe writes CMYK inverted (0 = full ink); others store it plainly. */
  int inverted = cinfo.saw_Adobe_marker;
  while (cinfo.output_scanline < h) {
    size_t y = cinfo.output_scanline;
    JSAMPROW rp = row;
    jpeg_read_scanlines (&cinfo, &rp, 1);
    for (size_t x = 0; x < w; x++) {
      float r, g, b;
      const unsigned char *p = row + x * nc;
      if (gray) {
        r = g = b = p[0] / 255.0f;
      } else if (cmyk) {
        float c = p[0] / 255.0f, m = p[1] / 255.0f, ye = p[2] / 255.0f, k = p[3] / 255.0f;
        if (!inverted) {
          c = 1 - c; m = 1 - m; ye = 1 - ye; k = 1 - k;
        }
        r = c * k; g = m * k; b = ye * k;
      } else {
        r = p[0] / 255.0f; g = p[1] / 255.0f; b = p[2] / 255.0f;
      }
      pixels[y * w + x] = r;
      pixels[plane + y * w + x] = g;
      pixels[2 * plane + y * w + x] = b;
    }
  }
  if (ctx.truncated) {
    snprintf (ctx.msg, sizeof ctx.msg, "file is truncated");
    longjmp (ctx.jb, 1);
  }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  free (row);
  out->width = (int) w;
  out->height = (int) h;
  out->data = pixels;
  return IRC_OK;
}

irc_status
irc_image_load (const char *path, irc_image *out, irc_error *err)
{
  if (!path || !out)
    return irc_fail (err, IRC_ERR_INVALID, "irc_image_load: NULL argument");
  out->width = out->height = 0;
  out->data = NULL;
  FILE *fp = fopen (path, "rb");
  if (!fp)
    return irc_fail (err, IRC_ERR_IO, "%s: cannot open: %s", path, strerror (errno));
  unsigned char sig[8];
  size_t got = fread (sig, 1, sizeof sig, fp);
  irc_status st;
  if (got == 0 && ferror (fp)) {
    st = irc_fail (err, IRC_ERR_IO, "%s: cannot read: %s", path, strerror (errno));
  } else if (got == 8 && png_sig_cmp (sig, 0, 8) == 0) {
    rewind (fp);
    st = load_png (fp, path, out, err);
  } else if (got >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF) {
    rewind (fp);
    st = load_jpeg (fp, path, out, err);
  } else if (got == 0) {
    st = irc_fail (err, IRC_ERR_FORMAT, "%s: file is empty", path);
  } else {
    st = irc_fail (err, IRC_ERR_FORMAT,
        "%s: not a PNG or JPEG file (unrecognised signature)", path);
  }
  fclose (fp);
  return st;
}

/* ----------------------------------------------------------------- save */

static inline unsigned char
quantise (float v)
{
  /* !(v > 0) also catches NaN, which must not become an arbitrary byte. */
  if (!(v > 0.0f))
    return 0;
  if (v >= 1.0f)
    return 255;
  return (unsigned char) (v * 255.0f + 0.5f);
}

static void
pack_row (const irc_image *img, int y, unsigned char *row)
{
  size_t plane = (size_t) img->width * img->height;
  const float *r = img->data + (size_t) y * img->width;
  for (int x = 0; x < img->width; x++) {
    row[3 * x] = quantise (r[x]);
    row[3 * x + 1] = quantise (r[plane + x]);
    row[3 * x + 2] = quantise (r[2 * plane + x]);
  }
}

static irc_status
save_png (FILE *fp, const char *path, const irc_image *img, irc_error *err)
{
  png_ctx ctx = { "" };
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &ctx,
      png_error_cb, png_warning_cb);
  if (!png)
    return irc_fail (err, IRC_ERR_NOMEM, "%s: cannot create a PNG writer", path);
  png_infop info = png_create_info_struct (png);
  if (!info) {
    png_destroy_write_struct (&png, NULL);
    return irc_fail (err, IRC_ERR_NOMEM, "%s: cannot create a PNG writer", path);
  }
  unsigned char *volatile row = NULL;
  if (setjmp (png_jmpbuf (png))) {
    free (row);
    png_destroy_write_struct (&png, &info);
    return irc_fail (err, IRC_ERR_IO, "%s: cannot write PNG: %s", path, ctx.msg);
  }
  row = malloc ((size_t) 3 * img->width);
  if (!row)
    png_error (png, "out of memory");
  png_init_io (png, fp);
  png_set_IHDR (png, info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB,
      PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (png, info);
  for (int y = 0; y < img->height; y++) {
    pack_row (img, y, row);
    png_write_row (png, row);
  }
  png_write_end (png, NULL);
  free (row);
  png_destroy_write_struct (&png, &info);
  return IRC_OK;
}

static irc_status
save_jpeg (FILE *fp, const char *path, const irc_image *img, int quality,
    int full_chroma, irc_error *err)
{
  struct jpeg_compress_struct cinfo;
  jpeg_ctx ctx;
  memset (&ctx, 0, sizeof ctx);
  cinfo.err = jpeg_std_error (&ctx.pub);
  ctx.pub.error_exit = jpeg_error_exit_cb;
  ctx.pub.emit_message = jpeg_emit_message_cb;
  unsigned char *volatile row = NULL;
  if (setjmp (ctx.jb)) {
    jpeg_destroy_compress (&cinfo);
    free (row);
    return irc_fail (err, IRC_ERR_IO, "%s: cannot write JPEG: %s", path, ctx.msg);
  }
  jpeg_create_compress (&cinfo);
  row = malloc ((size_t) 3 * img->width);
  if (!row) {
    snprintf (ctx.msg, sizeof ctx.msg, "out of memory");
    longjmp (ctx.jb, 1);
  }
  jpeg_stdio_dest (&cinfo, fp);
  cinfo.image_width = img->width;
  cinfo.image_height = img->height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, quality, TRUE);
  if (full_chroma) {
    /* At high quality keep full-resolution chroma: thin coloured details
     * (and our one-pixel streaks) otherwise bleed, wasting the setting. */
    for (int c = 0; c < cinfo.num_components; c++)
      cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_start_compress (&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    pack_row (img, (int) cinfo.next_scanline, row);
    JSAMPROW rp = row;
    jpeg_write_scanlines (&cinfo, &rp, 1);
  }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);
  free (row);
  return IRC_OK;
}

irc_status
irc_image_save (const char *path, const irc_image *img, int jpeg_quality,
    irc_error *err)
{
  if (!path || !img || !img->data || img->width <= 0 || img->height <= 0)
    return irc_fail (err, IRC_ERR_INVALID, "irc_image_save: %s: empty image",
        path ? path : "(null)");
  int is_png = has_ext (path, ".png");
  int is_jpeg = has_ext (path, ".jpg") || has_ext (path, ".jpeg");
  if (!is_png && !is_jpeg)
    return irc_fail (err, IRC_ERR_UNSUPPORTED,
        "%s: unknown image extension (use .png, .jpg or .jpeg)", path);
  if (jpeg_quality == 0)
    jpeg_quality = DEFAULT_JPEG_QUALITY;
  if (jpeg_quality < 1 || jpeg_quality > 100)
    return irc_fail (err, IRC_ERR_INVALID, "%s: JPEG quality %d is not in 1..100",
        path, jpeg_quality);

  /* Same folder as the target, so rename() is atomic (same filesystem). */
  size_t len = strlen (path);
  char *tmp = malloc (len + 16);
  if (!tmp)
    return irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", path);
  snprintf (tmp, len + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp (tmp);
  if (fd < 0) {
    irc_status st = irc_fail (err, IRC_ERR_IO, "%s: cannot create a temporary file: %s",
        path, strerror (errno));
    free (tmp);
    return st;
  }
  /* mkstemp makes the file private (0600); an image is an ordinary file. */
  if (fchmod (fd, 0644) != 0) {
    /* not fatal: the file is still written, just with tighter permissions */
  }
  FILE *fp = fdopen (fd, "wb");
  if (!fp) {
    irc_status st = irc_fail (err, IRC_ERR_IO, "%s: cannot open a temporary file: %s",
        path, strerror (errno));
    close (fd);
    unlink (tmp);
    free (tmp);
    return st;
  }
  irc_status st = is_png ? save_png (fp, path, img, err)
      : save_jpeg (fp, path, img, jpeg_quality, jpeg_quality >= 90, err);
  int write_failed = ferror (fp);
  int close_failed = fclose (fp) != 0;
  if (st == IRC_OK && (write_failed || close_failed))
    st = irc_fail (err, IRC_ERR_IO, "%s: write failed: %s", path, strerror (errno));
  if (st == IRC_OK && rename (tmp, path) != 0)
    st = irc_fail (err, IRC_ERR_IO, "%s: cannot rename the temporary file: %s",
        path, strerror (errno));
  if (st != IRC_OK)
    unlink (tmp);
  free (tmp);
  return st;
}

irc_status
irc_image_jpeg_roundtrip (irc_image *img, int quality, irc_error *err)
{
  static const char what[] = "JPEG round trip";
  if (!img || !img->data || img->width <= 0 || img->height <= 0)
    return irc_fail (err, IRC_ERR_INVALID, "%s: empty image", what);
  if (quality < 1 || quality > 100)
    return irc_fail (err, IRC_ERR_INVALID, "%s: quality %d is not in 1..100", what, quality);
  /* Through memory streams, so the file encoder and decoder above (and
   * their error handling) are the ones used. */
  char *buf = NULL;
  size_t size = 0;
  FILE *fp = open_memstream (&buf, &size);
  if (!fp)
    return irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", what);
  /* 4:2:0 chroma at every quality: what video codecs keep of colour. */
  irc_status st = save_jpeg (fp, what, img, quality, 0, err);
  if (fclose (fp) != 0 && st == IRC_OK)
    st = irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", what);
  irc_image decoded = { 0, 0, NULL };
  if (st == IRC_OK) {
    fp = fmemopen (buf, size, "rb");
    if (!fp)
      st = irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", what);
    else {
      st = load_jpeg (fp, what, &decoded, err);
      fclose (fp);
    }
  }
  if (st == IRC_OK && (decoded.width != img->width || decoded.height != img->height))
    st = irc_fail (err, IRC_ERR_FORMAT, "%s: decoded %dx%d, encoded %dx%d", what,
        decoded.width, decoded.height, img->width, img->height);
  if (st == IRC_OK)
    memcpy (img->data, decoded.data, sizeof (float) * 3 * img->width * img->height);
  irc_image_clear (&decoded);
  free (buf);
  return st;
}

/* ------------------------------------------------------------- listing */

typedef struct {
  char **items;
  size_t n, cap;
} str_list;

static int
list_push (str_list *l, char *s)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    char **items = realloc (l->items, cap * sizeof *items);
    if (!items)
      return -1;
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = s;
  return 0;
}

static char *
join_path (const char *dir, const char *name)
{
  size_t ld = strlen (dir), ln = strlen (name);
  int slash = ld > 0 && dir[ld - 1] != '/';
  char *p = malloc (ld + slash + ln + 1);
  if (!p)
    return NULL;
  memcpy (p, dir, ld);
  if (slash)
    p[ld] = '/';
  memcpy (p + ld + slash, name, ln + 1);
  return p;
}

/* Collects images in @dir; descends into subfolders while @depth > 0. */
static irc_status
scan_dir (const char *dir, int depth, str_list *l, irc_error *err)
{
  DIR *d = opendir (dir);
  if (!d)
    return irc_fail (err, IRC_ERR_IO, "%s: cannot open folder: %s", dir,
        strerror (errno));
  irc_status st = IRC_OK;
  struct dirent *e;
  while (st == IRC_OK && (e = readdir (d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char *p = join_path (dir, e->d_name);
    if (!p) {
      st = irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", dir);
      break;
    }
    struct stat sb;
    if (stat (p, &sb) != 0) {
      free (p);   /* a dangling link: not an image we could read anyway */
      continue;
    }
    if (S_ISDIR (sb.st_mode) && depth > 0) {
      st = scan_dir (p, depth - 1, l, err);
      free (p);
    } else if (S_ISREG (sb.st_mode) && is_image_name (e->d_name)) {
      if (list_push (l, p) != 0) {
        free (p);
        st = irc_fail (err, IRC_ERR_NOMEM, "%s: out of memory", dir);
      }
    } else {
      free (p);
    }
  }
  closedir (d);
  return st;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
irc_image_list_free (char **paths, size_t n)
{
  if (!paths)
    return;
  for (size_t i = 0; i < n; i++)
    free (paths[i]);
  free (paths);
}

irc_status
irc_image_list_dir (const char *dir, char ***paths, size_t *n, irc_error *err)
{
  if (!dir || !paths || !n)
    return irc_fail (err, IRC_ERR_INVALID, "irc_image_list_dir: NULL argument");
  *paths = NULL;
  *n = 0;
  struct stat sb;
  if (stat (dir, &sb) != 0)
    return irc_fail (err, IRC_ERR_IO, "%s: no such folder: %s", dir, strerror (errno));
  if (!S_ISDIR (sb.st_mode))
    return irc_fail (err, IRC_ERR_INVALID, "%s: not a folder", dir);
  str_list l = { NULL, 0, 0 };
  irc_status st = scan_dir (dir, 1, &l, err);
  if (st != IRC_OK) {
    irc_image_list_free (l.items, l.n);
    return st;
  }
  if (l.n == 0) {
    free (l.items);
    return irc_fail (err, IRC_ERR_INVALID,
        "%s: no .png/.jpg/.jpeg images in the folder or its subfolders", dir);
  }
  qsort (l.items, l.n, sizeof *l.items, cmp_str);
  *paths = l.items;
  *n = l.n;
  return IRC_OK;
}
