/* metrics: PSNR and SSIM of a restored image against its reference, computed
 * exactly as BasicSR does (the authors' test code), so our figures compare
 * with published ones: both images are first quantised to 8 bits. */
#ifndef IRC_IO_METRICS_H
#define IRC_IO_METRICS_H

#include "irc/irc.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** PSNR reported for identical images, and the cap on every PSNR. BasicSR
 * returns +inf there; a finite value keeps means and CSV files usable. A
 * real difference only exceeds it when a single level differs in an image of
 * tens of megapixels. */
#define IRC_PSNR_MAX 100.0

/** SSIM's Gaussian window: 11 x 11, sigma 1.5. Images need at least this
 * many pixels in each direction ('valid' region, no padding). */
#define IRC_SSIM_WINDOW 11

/** The four figures BasicSR reports (crop_border 0). PSNR in dB over all
 * samples: 10 log10 (255^2 / MSE), MSE in double over the 0-255 values.
 * SSIM: per channel over the valid region of an 11x11 Gaussian window
 * (sigma 1.5), C1 = (0.01*255)^2, C2 = (0.03*255)^2, averaged over the
 * channels. Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B = u8/255,
 * not rounded to integers but passed through float32 as BasicSR's
 * to_y_channel does, in [16, 235]. */
typedef struct {
  double psnr_rgb;
  double ssim_rgb;
  double psnr_y;
  double ssim_y;
} irc_metrics;

/** Quantises @n floats to 8 bits as BasicSR's tensor2img does: clamp to
 * [0,1], times 255 in float, round half to even (numpy's round). NaN
 * becomes 0. */
void irc_quantize_u8 (uint8_t *dst, const float *src, size_t n);

/** PSNR between two planes of @n 8-bit samples (any layout; all samples
 * weigh the same), capped at IRC_PSNR_MAX. */
double irc_psnr_u8 (const uint8_t *a, const uint8_t *b, size_t n);

/** SSIM of one plane pair of @width x @height doubles in the 0-255 range
 * (the 8-bit values or Y). Fails with IRC_ERR_INVALID when a side is under
 * IRC_SSIM_WINDOW, IRC_ERR_NOMEM when scratch memory is not available. */
irc_status irc_ssim_plane (const double *a, const double *b, int width, int height,
    double *ssim, irc_error *err);

/** All four metrics of @img against @ref, both 3 x @height x @width planar
 * float RGB (nominally [0,1]; quantised first as above, so values outside
 * are clamped, as when the image is saved). */
irc_status irc_metrics_compute (const float *img, const float *ref, int width, int height,
    irc_metrics *out, irc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* IRC_IO_METRICS_H */
