/* temporal: a causal, motion-aware temporal filter for restored video.
 *
 * The single-frame network leaves much of real camera rain (fine, faint,
 * out-of-focus streaks) and some sensor noise in place; over a few frames
 * of a static background both show as what they are: rain streaks as
 * pixels brighter than the same pixel in the neighbouring frames, noise as
 * small disagreement around a common value. This filter keeps the last few
 * frames it was given (past frames only: it adds no latency). Each new
 * frame's global shift against the previous one is measured (a panning or
 * shaking camera; up to 42 pixels a frame either way; moving objects and
 * rain do not pull it), and the past frames
 * are compared where they saw the same point of the view. Then, pixel by
 * pixel:
 *
 *  - takes the temporal reference: the lower median of the pixel's luma over
 *    the past frames and the current one (a bright rain streak in a minority
 *    of them does not move it);
 *  - calls the pixel static when all past frames but at most one lie within
 *    the tolerance of the reference, and no motion is seen around it: within
 *    a 9x9 window few pixels have a disagreeing past or are darker than
 *    their reference (rain only adds light; moving edges and shadows take
 *    it away), not most of them are brighter, and few belong to a bright
 *    area 3x3 pixels or larger (an object entering, brighter than what was
 *    there: a streak is thinner);
 *  - on a static pixel: when the current frame is brighter than the
 *    reference by more than the tolerance (IRC_TEMPORAL_RAIN only), replaces
 *    it by the mean of the agreeing past frames, provided there are two
 *    past frames or more, the newest agrees, and the 5x5 block around the
 *    pixel does not match the newest past frame better a few pixels away
 *    than in place (something bright that moved there: a streak matches
 *    nowhere); when it agrees itself, by the mean of all agreeing frames,
 *    current included (a temporal denoise); otherwise keeps it;
 *  - everywhere else (moving objects, motion the global shift does not
 *    explain such as a zoom or parallax, a changing background) keeps the
 *    frame as it came.
 *
 * Past frames are read at the measured shift to a fraction of a pixel
 * (bilinearly). The tolerance follows the footage's own noise (3.5 times a
 * robust estimate of its standard deviation, from the difference to the
 * aligned previous frame, at least 3 levels of 255) unless set. Decisions
 * use the sum of R, G and B; replacements apply to all three channels.
 *
 * The history must not outlive the footage it describes: call
 * irc_temporal_reset() at every scene cut, seek/flush, discontinuity or
 * dropped frame, so no stale frame is ever blended into a new one.
 *
 * Plain C11, no GLib. Every buffer is allocated by irc_temporal_new(), none
 * per frame. Never aborts or prints; failures return an irc_status with the
 * message in the caller's irc_error.
 */
#ifndef IRC_TEMPORAL_H
#define IRC_TEMPORAL_H

#include "irc/irc.h"
#include "irc/runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the filter does. */
typedef enum {
  /** Nothing: frames pass unchanged (and no history is kept). */
  IRC_TEMPORAL_OFF = 0,
  /** Static pixels brighter than their temporal reference (rain streaks)
   * are replaced by it, static pixels that agree are averaged over time. */
  IRC_TEMPORAL_RAIN,
  /** Static pixels that agree are averaged over time; nothing is replaced. */
  IRC_TEMPORAL_NOISE,
  IRC_TEMPORAL_MODE_COUNT
} irc_temporal_mode;

/** Largest number of past frames the filter keeps. */
#define IRC_TEMPORAL_MAX_FRAMES 8

/** Options of irc_temporal_new(). Use IRC_TEMPORAL_DEFAULTS. */
typedef struct {
  int width, height;            /**< frame size, 1 to 16384 a side */
  irc_pixel_format format;      /**< of the frames given to irc_temporal_process() */
  irc_matrix matrix;            /**< YUV formats only */
  int full_range;               /**< YUV formats only: 0 = limited range, 1 = full */
  irc_temporal_mode mode;
  /** Past frames kept and compared, 1 to IRC_TEMPORAL_MAX_FRAMES (3 by
   * default). More average more noise away on a still view; fewer follow a
   * moving or changing one better (on a panning clip 3 did best). */
  int frames;
  /** Agreement tolerance in [0, 1] (1 = full scale): 0 = from the
   * footage's noise, frame by frame. */
  float tolerance;
} irc_temporal_params;

#define IRC_TEMPORAL_DEFAULTS \
  { 0, 0, IRC_FORMAT_RGB, IRC_MATRIX_BT709, 0, IRC_TEMPORAL_RAIN, 3, 0.0f }

typedef struct irc_temporal irc_temporal;

/** Configures a filter for one stream, allocating its history. */
irc_status irc_temporal_new (const irc_temporal_params *params, irc_temporal **out,
    irc_error *err);

/** Frees @temporal and sets *@temporal to NULL. NULL-safe. */
void irc_temporal_free (irc_temporal **temporal);

/** Forgets every past frame: the next frame passes unchanged and starts a
 * new history. NULL-safe. */
void irc_temporal_reset (irc_temporal *temporal);

/** What the filter did to one frame. Shares are of the frame's pixels. */
typedef struct {
  int history;                  /**< past frames compared (0 after a reset) */
  /** The view's shift against the previous frame, to a fraction of a
   * pixel: the current pixel (x, y) matched the previous frame's
   * (x + shift_x, y + shift_y). */
  float shift_x, shift_y;
  float tolerance;              /**< the tolerance used, in [0, 1] */
  float replaced;               /**< share replaced as rain */
  float averaged;               /**< share averaged over agreeing frames */
  float moving;                 /**< share kept as motion or disagreement */
} irc_temporal_result;

/** Filters @frame in place (the caller's format, irc_temporal_params) and
 * remembers it, as it came, for the next frames. @result may be NULL. */
irc_status irc_temporal_process (irc_temporal *temporal, irc_frame *frame,
    irc_temporal_result *result, irc_error *err);

/** The same on planar float RGB (3 x height x width, [0, 1]) in place, for
 * callers that hold the frame as the network's image; the format fields of
 * the parameters are then unused. */
irc_status irc_temporal_process_rgb (irc_temporal *temporal, float *rgb,
    irc_temporal_result *result, irc_error *err);

/** Name of @mode ("off", "rain", "noise"), or NULL when out of range. */
const char *irc_temporal_mode_name (irc_temporal_mode mode);

#ifdef __cplusplus
}
#endif
#endif
