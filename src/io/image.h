/* image: PNG/JPEG files <-> planar float RGB in [0,1] (CHW), and listing the
 * image files of a dataset folder. The only place that talks to libpng and
 * libjpeg; their fatal-error paths are caught and turned into irc_error. */
#ifndef IRC_IO_IMAGE_H
#define IRC_IO_IMAGE_H

#include "irc/irc.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An image: 3 planes (R, G, B) of @height rows of @width floats, in [0,1]
 * once loaded (values written by degradations may be clamped on save). */
typedef struct {
  int width, height;
  float *data;   /**< 3 * width * height floats, malloc'd; plane c at data + c*w*h */
} irc_image;

/** Largest accepted side, and pixel count, so a lying header cannot make us
 * allocate gigabytes. */
#define IRC_IMAGE_MAX_SIDE 32768
#define IRC_IMAGE_MAX_PIXELS ((size_t) 1 << 28)

/** Allocates @img as @width x @height, zero-filled. */
irc_status irc_image_alloc (irc_image *img, int width, int height, irc_error *err);

/** Loads a PNG (1-16 bit grey, grey+alpha, RGB, RGBA, palette; alpha dropped)
 * or a JPEG (greyscale, YCbCr, CMYK) into @out, which must be cleared or
 * zeroed. The format is taken from the file's signature, not its name. On
 * failure @out is left empty and @err names the file and the problem. */
irc_status irc_image_load (const char *path, irc_image *out, irc_error *err);

/** Saves @img as 8-bit RGB (values clamped to [0,1], rounded to nearest), as
 * PNG or JPEG according to the extension of @path (.png, .jpg, .jpeg; case
 * ignored). @jpeg_quality is 1..100, or 0 for the default (95); ignored for
 * PNG. The file is written under a temporary name in the same folder then
 * renamed, so @path never holds a half-written image. */
irc_status irc_image_save (const char *path, const irc_image *img, int jpeg_quality,
    irc_error *err);

/** Compresses @img to a JPEG at @quality (1..100, 4:2:0 chroma) in memory
 * and decodes it back in place: the blocking, ringing and smoothing a video
 * codec leaves on noise and fine detail, for training and evaluation. The
 * result is clamped to [0,1] and quantised to 8 bits. */
irc_status irc_image_jpeg_roundtrip (irc_image *img, int quality, irc_error *err);

/** Frees the pixels and zeroes @img. NULL-safe, idempotent. */
void irc_image_clear (irc_image *img);

/** Lists the .png/.jpg/.jpeg files (case ignored, hidden files skipped) in
 * @dir and in its immediate subfolders, as "dir/name" or "dir/sub/name",
 * sorted by path (byte order). On success *@paths is a malloc'd array of
 * *@n malloc'd strings (free with irc_image_list_free()). A missing folder,
 * a path that is not a folder, or a folder without images is an error. */
irc_status irc_image_list_dir (const char *dir, char ***paths, size_t *n,
    irc_error *err);

/** Frees a list from irc_image_list_dir(). NULL-safe. */
void irc_image_list_free (char **paths, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* IRC_IO_IMAGE_H */
