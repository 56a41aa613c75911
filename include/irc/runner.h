/* runner: the streaming core. Restores video frame after frame in the
 * caller's pixel format, computing the ConStyle style code once per scene and
 * reusing it for every frame and tile of that scene; large frames run in
 * overlapping tiles blended seamlessly. Plain C11, no GLib. */
#ifndef IRC_RUNNER_H
#define IRC_RUNNER_H

#include "irc/irc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Pixel formats, named as GStreamer names them. Packed formats are 8 bits
 * per sample in the order of the name (RGBx: R, G, B, padding); an alpha
 * channel is passed through untouched. I420: Y plane, then U and V at half
 * width and height. NV12: Y plane, then interleaved UV at half size. */
typedef enum {
  IRC_FORMAT_RGB, IRC_FORMAT_BGR,
  IRC_FORMAT_RGBx, IRC_FORMAT_BGRx, IRC_FORMAT_xRGB, IRC_FORMAT_xBGR,
  IRC_FORMAT_RGBA, IRC_FORMAT_BGRA, IRC_FORMAT_ARGB, IRC_FORMAT_ABGR,
  IRC_FORMAT_I420, IRC_FORMAT_NV12,
  IRC_FORMAT_COUNT
} irc_pixel_format;

/** YUV to RGB matrix of the YUV formats. */
typedef enum {
  IRC_MATRIX_BT601 = 0,
  IRC_MATRIX_BT709,
} irc_matrix;

/** Name of @format ("RGBx"...), or NULL when out of range. */
const char *irc_pixel_format_name (irc_pixel_format format);

/** One frame in memory: up to three planes with their row strides in bytes.
 * Packed formats use plane 0 only; I420 uses 0 (Y), 1 (U), 2 (V); NV12 uses
 * 0 (Y) and 1 (UV). Odd sizes round chroma up: (w + 1) / 2. */
typedef struct {
  uint8_t *data[3];
  int stride[3];
} irc_frame;

/** Options of irc_runner_new(). Use IRC_RUNNER_DEFAULTS. */
typedef struct {
  int width, height;            /**< frame size, 1 or more */
  irc_pixel_format format;
  irc_matrix matrix;            /**< YUV formats only */
  int full_range;               /**< YUV formats only: 0 = limited (16-235), 1 = full */
  irc_backend_kind backend;     /**< AUTO, CPU, REFERENCE or VULKAN */
  int device;                   /**< Vulkan device index, -1 = choose */
  int threads;                  /**< 0 = all cores */
  /** Output pixels per tile side; frames larger than this run in tiles.
   * 0 = never tile. */
  int tile_size;
  /** Context added around each tile on every side, and blended with its
   * neighbours; the tiles agree better the larger it is. Rounded up to a
   * multiple of 8; half the tile size or more is cut to the largest multiple
   * of 8 below half the tile (at least 8), with irc_runner_warning() saying so. */
  int tile_overlap;
  /** Scene-cut threshold in [0, 1]: the mean absolute luma change (of
   * mean-free, normalised thumbnails) above which a frame starts a new scene. */
  float scene_threshold;
  /** Also recompute the style code every this many frames of a scene; 0 =
   * only at scene cuts. */
  int style_interval;
  /** Channel-attention window (NAFNet TLC) at full resolution, halved at
   * each U-Net level: 0 = the model's own, irc_model_tlc_window(); -1 = the
   * global pool (each tile pools over itself when tiling); N = N pixels.
   * A window wider than the tiles (or, when asked for, than the frame) is
   * run as far as it fits, with irc_runner_warning() saying so. */
  int tlc_window;
  /** Vulkan only: weights and activations stored as 16-bit floats on the
   * device (irc_net_params.vulkan_fp16); 0 = fp32. */
  int vulkan_fp16;
  /** Reads each scene's degradation at its style pass (irc_frame_result):
   * a model with a degradation head, whose encoder runs once per scene on
   * the whole frame. NULL: the runner's own model when it has a head, else
   * no reading (known = 0). Must outlive the runner. */
  const irc_model *detector;
  /** Routing, the all-in-one use: per kind (rain, haze, noise, blur) a
   * model that restores a scene the detector reads as that kind alone, with
   * at least @route_confidence; NULL keeps that kind on the runner's model,
   * which also restores mixtures and uncertain scenes. Each route gets its
   * own network here (allocated once, none per frame). Must outlive the
   * runner. */
  const irc_model *routes[IRC_DEGRADATION_KINDS];
  /** 0-1, see @routes. The default, 0.3: a single kind read with less is
   * still more often right than wrong (on the dev images, 23 right readings
   * against 7 wrong between 0.25 and 0.5), and its own model restores it far
   * better than the all-in-one model does. */
  float route_confidence;
  /** 1: a scene read as clean with at least @route_confidence skips the
   * network (the frame is converted to float and back, nothing else). */
  int route_clean;
  /** 0 (the default): a model whose NAFBlocks pool over the whole frame
   * (no TLC window) pools once per scene, at its style pass, on the frame
   * shrunk to at most IRC_RUNNER_ATTENTION_SIDE px on its longer side, and
   * every tile of every frame of the scene takes that attention
   * (irc_net_set_attention): tiles agree with each other and with the
   * untiled frame. 1: every frame, and every tile, pools over itself (tiles
   * then disagree at their seams); a still image at most that size gets
   * the same either way. */
  int per_frame_attention;
  /** 1: a model whose NAFBlocks pool in windows (TLC: denoise, deblur,
   * dehaze, defog, auto) reads every block's per-pixel pool from attention
   * maps recorded each frame on a view of the whole frame (at most
   * IRC_RUNNER_ATTENTION_SIDE px on its longer side, every f-th pixel, its
   * windows shrunk alike; irc_net_set_attention_maps), so that tiles agree
   * with each other and with the untiled frame. Costs a pass on the view
   * each frame (about 1/f^2 of the frame's; the whole frame again when a
   * frame within the view's size is tiled). On frames larger than the view
   * the models see their attention at the view's scale, which changes what
   * they do: measured in MODELS.md (blur and haze are restored less). 0
   * (the default): every tile pools its own windows. */
  int window_maps;
} irc_runner_params;

/** The longer side of the view a scene's attention is pooled on: a whole
 * factor shrink of larger frames (irc_box_shrink), near the scale the
 * models are trained at, and within the default tile's network. */
#define IRC_RUNNER_ATTENTION_SIDE 512

#define IRC_RUNNER_DEFAULTS \
  { 0, 0, IRC_FORMAT_RGB, IRC_MATRIX_BT709, 0, IRC_BACKEND_AUTO, -1, 0, 512, 48, 0.3f, 0, 0, 0, \
    NULL, { NULL, NULL, NULL, NULL }, 0.3f, 0, 0, 0 }

typedef struct irc_runner irc_runner;

/** Configures a runner for one stream: every buffer is allocated here, none
 * per frame. @model must outlive the runner. */
irc_status irc_runner_new (const irc_model *model, const irc_runner_params *params,
    irc_runner **out, irc_error *err);

/** Frees @runner and sets *@runner to NULL. NULL-safe. */
void irc_runner_free (irc_runner **runner);

/** What happened to one frame. */
typedef struct {
  int scene_cut;                /**< 1 when this frame started a new scene */
  int style_pass;               /**< 1 when the style code was computed on this frame */
  float scene_score;            /**< the detector's statistic for this frame */
  /** The scene's degradation as the detector read it at the scene's last
   * style pass (known = 0 without a degradation head). */
  irc_degradation degradation;
  /** What restored the frame: -1 the runner's model, 0-3 the route of that
   * kind (rain, haze, noise, blur), IRC_ROUTE_CLEAN passed through. */
  int route;
} irc_frame_result;

/** irc_frame_result.route of a scene found clean and passed through. */
#define IRC_ROUTE_CLEAN IRC_DEGRADATION_KINDS

/** Restores @in into @out (same format and size; may be the same frame).
 * The first frame, every detected cut and every style_interval-th frame run
 * the style pass. @result may be NULL. */
irc_status irc_runner_process (irc_runner *runner, const irc_frame *in, irc_frame *out,
    irc_frame_result *result, irc_error *err);

/** Forgets the scene (after a seek or flush): the next frame starts one. */
void irc_runner_reset (irc_runner *runner);

/** Counters since creation. */
typedef struct {
  uint64_t frames;
  uint64_t scenes;              /**< scene starts, the first frame included */
  uint64_t style_passes;
  int tiles_per_frame;
} irc_runner_stats;

void irc_runner_get_stats (const irc_runner *runner, irc_runner_stats *stats);

/** The backend actually in use. */
irc_backend_kind irc_runner_backend (const irc_runner *runner);

/** What irc_runner_new() did not take as given, and what the runner does
 * instead (a tile overlap cut below half the tile; an attention window
 * wider than the tiles it runs in, or than the frame), as one message of
 * sentences joined by "; "; NULL when every setting applies as given. Owned
 * by @runner. */
const char *irc_runner_warning (const irc_runner *runner);

/* Pixel-format conversion, exposed for tests and tools: planar float RGB
 * (3 x h x w in [0,1]) from and to a frame. to_frame keeps the alpha of
 * @alpha_src (NULL = opaque 255) in formats that have alpha. */
irc_status irc_frame_to_float (float *rgb, const irc_frame *frame, int width, int height,
    irc_pixel_format format, irc_matrix matrix, int full_range, irc_error *err);
irc_status irc_frame_from_float (irc_frame *frame, const float *rgb, int width, int height,
    irc_pixel_format format, irc_matrix matrix, int full_range, const irc_frame *alpha_src,
    irc_error *err);

#ifdef __cplusplus
}
#endif
#endif
