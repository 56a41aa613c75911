/* libirc: the IRConStyle restoration network (ConStyle encoder + ConStyle-NAFNet).
 *
 * Plain C11, no GLib. Every fallible function returns an irc_status and, on
 * failure, fills the caller's irc_error (which may be NULL) with a readable
 * message naming what was wrong: which file, which tensor, which shape. The
 * library never aborts, exits or prints on bad input.
 *
 * Images are planar float RGB in [0,1], CHW, one image at a time.
 */
#ifndef IRC_IRC_H
#define IRC_IRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status of a fallible call. IRC_OK is zero. */
typedef enum {
  IRC_OK = 0,
  IRC_ERR_IO,           /**< a file could not be opened, read or written */
  IRC_ERR_FORMAT,       /**< a file is malformed (header, JSON, offsets, dtype) */
  IRC_ERR_MODEL,        /**< tensors missing, unexpected, wrong shape or non-finite */
  IRC_ERR_INVALID,      /**< an argument is out of range or inconsistent */
  IRC_ERR_NOMEM,        /**< an allocation failed */
  IRC_ERR_UNSUPPORTED,  /**< the request is valid but not supported here */
  IRC_ERR_BACKEND,      /**< a compute backend failed (device lost, driver error) */
} irc_status;

/** Where a failed call leaves its message. Zero-initialise before use. */
typedef struct {
  irc_status status;
  char message[512];
} irc_error;

/** A short constant name for @status ("IRC_ERR_FORMAT"...). */
const char *irc_status_name (irc_status status);

/** Network configuration: the shape of ConStyle-NAFNet.
 * The paper's is dim 48, left {7,8,9}, bottom 9, right {7,8,9}, enc_width 16,
 * code 128. */
typedef struct {
  int dim;        /**< U-Net base width C (levels use C, 2C, 3C, 4C) */
  int left[3];    /**< NAFBlocks at encoder levels 1..3 */
  int bottom;     /**< NAFBlocks at the bottleneck */
  int right[3];   /**< NAFBlocks at decoder levels 1..3 (index 2 is the deepest) */
  int enc_width;  /**< ConStyle encoder base width (16 in the paper) */
  int code;       /**< latent code size (128 in the paper) */
  /** Outputs of the degradation head on the code (ConStyle.degradation_head,
   * a linear layer): 0 (none, as the paper's network) or
   * IRC_DEGRADATION_HEAD_OUTPUTS. Stored in the config JSON only when set. */
  int degradation_head;
} irc_config;

/** The degradation head's outputs: a presence logit per kind (rain, haze,
 * noise, blur), then a strength logit per kind. */
#define IRC_DEGRADATION_HEAD_OUTPUTS 8

/** Fills @cfg with a named configuration: "paper", "lite16" (dim 16, one block
 * per level, the paper's encoder) or "tiny8". Returns IRC_ERR_INVALID for an
 * unknown name. */
irc_status irc_config_named (const char *name, irc_config *cfg, irc_error *err);

/** Checks that @cfg is one the network can be built with (positive widths,
 * dim divisible by 4, block counts >= 0 and <= 64...). */
irc_status irc_config_validate (const irc_config *cfg, irc_error *err);

/** Multiply-adds per input pixel of the whole network (encoder + U-Net). */
double irc_config_macs_per_pixel (const irc_config *cfg);

/** Number of float parameters (encoder_q + U-Net, BatchNorm statistics excluded). */
size_t irc_config_param_count (const irc_config *cfg);

/** Writes @cfg as the JSON object stored in `__metadata__.config` into @buf.
 * Returns the length written (excluding NUL), or the length needed when @size
 * is too small, like snprintf. */
int irc_config_to_json (const irc_config *cfg, char *buf, size_t size);

/* ------------------------------------------------------------------ model */

/** Immutable weights plus configuration. Shareable between runners and
 * threads once loaded. */
typedef struct irc_model irc_model;

/** Options of irc_model_load(). Use IRC_MODEL_LOAD_DEFAULTS. */
typedef struct {
  /** Tensors whose name starts with this prefix are ignored instead of being
   * refused as unexpected (the golden files carry "golden." tensors). NULL:
   * every tensor must belong to the network. */
  const char *ignore_prefix;
  /** Accept the training state an official checkpoint carries
   * (ConStyle.encoder_k.*, ConStyle.queue, ConStyle.queue_ptr) and ignore it. */
  int accept_training_state;
} irc_model_load_params;

#define IRC_MODEL_LOAD_DEFAULTS { NULL, 1 }

/** Loads a safetensors model file. The configuration comes from
 * `__metadata__.config` when present, otherwise it is inferred from the
 * tensor shapes. F32 and F16 tensors are accepted (converted to F32); I64
 * BatchNorm counters are accepted and ignored. Every malformed file is
 * refused with a message naming the problem. @params may be NULL (defaults).
 * On success *@out owns the model; free it with irc_model_free(). */
irc_status irc_model_load (const char *path, const irc_model_load_params *params,
    irc_model **out, irc_error *err);

/** Same as irc_model_load() on a file image in memory (@data, @size). @name
 * is used in messages. The buffer is not kept. */
irc_status irc_model_load_memory (const void *data, size_t size, const char *name,
    const irc_model_load_params *params, irc_model **out, irc_error *err);

/** A model with every weight set by @init (called once per tensor with its
 * name, element count and storage) for tests and training. @init may be NULL:
 * weights are then zero, LayerNorm/BatchNorm scales one. */
irc_status irc_model_new (const irc_config *cfg,
    void (*init) (void *user, const char *name, float *data, size_t count),
    void *user, irc_model **out, irc_error *err);

/** Frees @model and sets *@model to NULL. NULL-safe. */
void irc_model_free (irc_model **model);

/** The configuration of @model. */
const irc_config *irc_model_config (const irc_model *model);

/** Metadata string @key of the file the model came from, or NULL. */
const char *irc_model_metadata (const irc_model *model, const char *key);

/** The channel-attention (TLC) window, at full resolution, that @model is
 * meant to run with (irc_net_params.tlc_window): its `tlc_window` metadata
 * (chosen per model by measuring its dev sets, MODELS.md), where `global`
 * gives 0, pooling the whole region processed at once (each tile of a tiled
 * frame) as the paper does; else 1.5x its `train_patch` (NAFNet's rule, for
 * files irc-train wrote); else 0, the global pool: a file with neither key
 * (a converted official checkpoint, any other export) runs as the paper
 * authors' code runs it. The streaming runner and irc-eval both use it, so
 * the figures measured are the element's. */
int irc_model_tlc_window (const irc_model *model);

/** Kinds of degradation the degradation head tells apart; a scene may have
 * several (rain with haze...). None set means clean. */
typedef enum {
  IRC_DEGRADATION_RAIN = 1 << 0,
  IRC_DEGRADATION_HAZE = 1 << 1,
  IRC_DEGRADATION_NOISE = 1 << 2,
  IRC_DEGRADATION_BLUR = 1 << 3,
} irc_degradation_kind;

/** Number of kinds; presence[] and strength[] are indexed rain, haze, noise, blur. */
#define IRC_DEGRADATION_KINDS 4

/** What the degradation head reads from a style code. */
typedef struct {
  int known;            /**< 0: the model has no degradation head (all else zero) */
  unsigned kinds;       /**< IRC_DEGRADATION_* present (probability above 0.5); 0 = clean */
  /** Probability of the answer as a whole: the product over the four kinds
   * of the probability of what was decided for each (present or absent). */
  float confidence;
  float presence[IRC_DEGRADATION_KINDS];  /**< probability that each kind is present */
  /** Estimated strength of each kind, 0-1 (rain: streak layers, haze: the
   * scattering coefficient over 0.2, noise: sigma over 50, blur: kernel
   * extent); meaningful where present. */
  float strength[IRC_DEGRADATION_KINDS];
} irc_degradation;

/** 1 when @model carries a degradation head (config.degradation_head). */
int irc_model_has_degradation_head (const irc_model *model);

/** Reads @code (config.code floats, as irc_net_code() returns it for this
 * model's encoder) through the model's degradation head into @out. A model
 * without a head gives known = 0 and returns IRC_OK. */
irc_status irc_model_degradation (const irc_model *model, const float *code,
    irc_degradation *out, irc_error *err);

/** Which model a scene read as @d goes to under task=auto's rule: the kind
 * (0-3: rain, haze, noise, blur) when it is read alone with at least
 * @min_confidence; IRC_DEGRADATION_KINDS when it is read clean with that
 * confidence; -1 otherwise (a mixture, doubt, or no reading): the all-in-one
 * model. */
int irc_degradation_route (const irc_degradation *d, float min_confidence);

/** Writes the name of @kinds into @buf: "clean", one of "rain", "haze",
 * "noise", "blur", or several joined by '+' ("rain+haze"); "unknown" when
 * @known is 0. Returns @buf. */
const char *irc_degradation_name (int known, unsigned kinds, char *buf, size_t size);

/** The reverse of irc_degradation_name(): the first @len characters of
 * @text, "clean" or kinds joined by '+' ("rain+haze"), into *@kinds.
 * Returns 0, or -1 for a word that names no kind (or none at all). */
int irc_degradation_parse (const char *text, size_t len, unsigned *kinds);

/** Number of weight tensors and access to each by index (name, element count,
 * storage). Used by the trainer and the model writer. */
size_t irc_model_tensor_count (const irc_model *model);
const char *irc_model_tensor_info (const irc_model *model, size_t index,
    size_t *count, int *ndim, int64_t shape[4], float **data);

/** Pointer to the storage of the tensor called @name, or NULL. */
float *irc_model_tensor (irc_model *model, const char *name, size_t *count);

/** Writes @model as a safetensors file at @path (F32, or F16 when @fp16),
 * with `__metadata__` holding config plus the @n_meta key/value pairs in
 * @meta_kv (key0, value0, key1, value1...). Written to a temporary file and
 * renamed, so @path is never left half written. */
irc_status irc_model_save (const irc_model *model, const char *path, int fp16,
    const char *const *meta_kv, size_t n_meta, irc_error *err);

/* ---------------------------------------------------------------- network */

/** Which implementation runs the maths. */
typedef enum {
  IRC_BACKEND_AUTO = 0,  /**< the best available: Vulkan GPU, else CPU */
  IRC_BACKEND_CPU,       /**< optimised CPU kernels (OpenBLAS GEMM, vectorised C) */
  IRC_BACKEND_REFERENCE, /**< naive reference ops: the oracle, slow */
  IRC_BACKEND_VULKAN,    /**< Vulkan compute */
} irc_backend_kind;

/** Options of irc_net_new(). Use IRC_NET_DEFAULTS. */
typedef struct {
  irc_backend_kind backend;
  int threads;   /**< worker threads; 0 = all cores */
  int device;    /**< Vulkan device index; -1 = choose */
  /** Channel-attention pooling window at full resolution (NAFNet's TLC:
   * about 1.5x the training patch), halved at each U-Net level. 0 pools
   * globally as the paper does; a window makes the output independent of
   * how large a region is processed at once, which seamless tiling needs. */
  int tlc_window;
  /** Allocate only what irc_net_encode() needs for the code (the style pass
   * of a large frame whose U-Net runs in tiles elsewhere); its feature maps
   * are not kept (irc_encoder_out.fea[] are NULL). */
  int encoder_only;
  /** Vulkan backend only (other backends ignore it): 1 stores weights and
   * activations in device buffers as IEEE half floats (16-bit storage),
   * halving their memory and bandwidth; the shaders still compute and reduce
   * in fp32, converting on every load and store. Results differ from fp32 by
   * half-precision rounding: about 1e-3 max abs error on the golden outputs,
   * PSNR above 70 dB against fp32 (tests/test_vulkan.c holds the tolerance);
   * values beyond +-65504 become infinite.
   * A device without storageBuffer16BitAccess makes irc_net_new() fail with
   * IRC_ERR_UNSUPPORTED (with IRC_BACKEND_AUTO, the CPU is used instead).
   * 0 (the default): fp32 storage. */
  int vulkan_fp16;
  /** A window net (tlc_window above 0) that records or reads attention maps
   * (irc_net_restore_recording_maps(), irc_net_set_attention_maps()): the
   * largest view, in pixels, whose maps it holds. Room for them is planned
   * with the activations (irc_net_attention_maps_size() floats). 0 (the
   * default): none. */
  int maps_width, maps_height;
} irc_net_params;

#define IRC_NET_DEFAULTS { IRC_BACKEND_AUTO, 0, -1, 0, 0, 0, 0, 0 }

/** A network instance: a model bound to a backend, with activation buffers
 * sized for frames up to @max_width x @max_height (padded internally to a
 * multiple of 8). Not thread-safe: one per stream. Everything is allocated
 * here; the per-frame calls allocate nothing. */
typedef struct irc_net irc_net;

irc_status irc_net_new (const irc_model *model, int max_width, int max_height,
    const irc_net_params *params, irc_net **out, irc_error *err);

/** Frees @net and sets *@net to NULL. NULL-safe. */
void irc_net_free (irc_net **net);

/** The backend actually in use (never AUTO). */
irc_backend_kind irc_net_backend (const irc_net *net);

/** Encoder outputs of one image: the two MLP codes and the three feature maps
 * (post-activation, at 1/2, 1/4, 1/8 of the padded size). The arrays belong
 * to the net and stay valid until the next call that changes them. */
typedef struct {
  const float *code1;   /**< mlp1 output, config.code floats */
  const float *code2;   /**< mlp2 output: the latent style code */
  const float *fea[3];  /**< 2w x H/2 x W/2, 4w x H/4 x W/4, 8w x H/8 x W/8 */
  int fea_c[3], fea_h[3], fea_w[3];
} irc_encoder_out;

/** Runs the whole network on one image: @src and @dst are 3 x @height x
 * @width planar float RGB (may alias). Reflect-pads right/bottom to a
 * multiple of 8 and crops back, as the authors do. */
irc_status irc_net_restore (irc_net *net, float *dst, const float *src,
    int width, int height, irc_error *err);

/** The style pass: runs the encoder on @src (3 x @height x @width) and keeps
 * the latent code for later irc_net_restore_with_code() calls. If @out is not
 * NULL it receives views of the codes and feature maps. */
irc_status irc_net_encode (irc_net *net, const float *src, int width, int height,
    irc_encoder_out *out, irc_error *err);

/** The per-frame pass: encoder stages 1-3 on @src, then the U-Net guided by
 * the code from the last irc_net_encode() (or irc_net_set_code()).
 * Not available on an encoder_only net. */
irc_status irc_net_restore_with_code (irc_net *net, float *dst, const float *src,
    int width, int height, irc_error *err);

/** How many floats a net's scene attention has: every NAFBlock's pooled
 * channel means (the simplified channel attention's input), in the order
 * the blocks run. 0 when the blocks pool in windows (TLC, a tlc_window
 * above 0) or the net is encoder-only: such a net has none. */
size_t irc_net_attention_size (const irc_net *net);

/** Restores @src as irc_net_restore() (@with_code 0) or
 * irc_net_restore_with_code() (@with_code 1) would, with every NAFBlock
 * pooling this frame, and writes what they pooled to @means
 * (irc_net_attention_size() floats). @dst may be NULL when only the
 * attention is wanted. The net's attention becomes the one recorded (and
 * stays fixed if it was). A scene's attention, recorded once on a view of
 * the whole frame, makes every tile of every frame of the scene pool alike,
 * so that tiles agree with each other and with the whole frame. */
irc_status irc_net_restore_recording (irc_net *net, float *dst, const float *src, int width,
    int height, int with_code, float *means, irc_error *err);

/** Fixes the attention of later restores to @means (as
 * irc_net_restore_recording() wrote them, possibly by another net of the
 * same model): the blocks take them as their pools instead of pooling each
 * frame. NULL returns to pooling each frame. Fails on a net without scene
 * attention (irc_net_attention_size() 0). The values are taken as given: a
 * non-finite one gives what a frame pooling it would (the pixel formats
 * clamp it to defined bytes). */
irc_status irc_net_set_attention (irc_net *net, const float *means, irc_error *err);

/* Attention maps: the same agreement for nets whose blocks pool in windows
 * (TLC). A window's mean varies over the frame, so a tile that pools its
 * own windows near its edges (clamped inside the tile) sees other means
 * than the whole frame does there. Instead every block's per-pixel pool is
 * recorded once per frame on a view of the whole frame (shrunk by a whole
 * factor; its windows shrunk alike), and every tile reads its pools from
 * those maps at its own place in the frame, as the whole frame does. The
 * net keeps the maps with its activations (irc_net_params.maps_width,
 * maps_height): on every backend. */

/** How many floats the attention maps of a @width x @height frame take
 * (every NAFBlock's per-pixel pool, channels x the block's level size of
 * the frame padded to a multiple of 8, in the order the blocks run). 0 for
 * a net whose blocks pool globally (see irc_net_attention_size()) or that
 * is encoder-only. */
size_t irc_net_attention_maps_size (const irc_net *net, int width, int height);

/** Restores @src as irc_net_restore_recording() does, writing every block's
 * per-pixel pool to @maps (irc_net_attention_maps_size(@width, @height)
 * floats) instead. @dst may be NULL. Maps the net held fixed are dropped.
 * Fails on a global-pool net, without @maps, or on a frame larger than the
 * net's maps_width x maps_height. */
irc_status irc_net_restore_recording_maps (irc_net *net, float *dst, const float *src,
    int width, int height, int with_code, float *maps, irc_error *err);

/** Fixes the pools of later restores to @maps (copied), recorded by
 * irc_net_restore_recording_maps() on a @map_width x @map_height view of the
 * frame shrunk by the whole factor @shrink (1: the frame itself), possibly
 * by another net of the same model. The blocks then read each pixel's pool
 * from the maps, bilinearly, at the pixel's place in the frame
 * (irc_net_set_origin()). NULL returns to pooling each frame. Fails on a
 * global-pool net or a view larger than its maps_width x maps_height. */
irc_status irc_net_set_attention_maps (irc_net *net, const float *maps, int map_width,
    int map_height, int shrink, irc_error *err);

/** Where the next restores' top-left pixel lies in the frame the attention
 * maps describe (a tile's origin; 0, 0 for the whole frame). */
void irc_net_set_origin (irc_net *net, int x, int y);

/** Sets the latent code (config.code floats) used by irc_net_restore_with_code(). */
irc_status irc_net_set_code (irc_net *net, const float *code2, irc_error *err);

/** The latent code in use (config.code floats), or NULL before any. */
const float *irc_net_code (const irc_net *net);

/** Frames are read by the detector at most this large on their longer
 * side (shrunk by a whole factor, box average): the scale of the photos the
 * head was trained on, so a 4K frame and a 640x360 one look alike to it. */
#define IRC_DETECT_MAX_SIDE 640

/** Shrinks @src (3 x @height x @width planar float) by the whole factor f
 * that brings its longer side to at most @max_side, each output pixel the
 * mean of an f x f block (the ragged edge dropped), as the detector shrinks
 * frames and irc-train the photos it is trained on. Writes *@out_width x
 * *@out_height into @dst unless @dst is NULL (only the size asked) or f is
 * 1 (nothing to do). Returns f. */
int irc_box_shrink (const float *src, int width, int height, int max_side, float *dst,
    int *out_width, int *out_height);

/** A reader of the degradation of whole frames by a model with a degradation
 * head, as that head was trained: on crops. The frame is shrunk to at most
 * IRC_DETECT_MAX_SIDE on its longer side, a grid of crops of the model's
 * `train_patch` (128 if unrecorded) spread over it (at most 4 x 4, covering
 * it), the style code of each computed and averaged, and the mean code read
 * through the head. An encoder sees a crop the size it was trained on
 * (reading a whole frame, its borders' share and the pooled statistics
 * differ: synthetic haze read on whole photos was taken for rain), and the
 * cost is bounded whatever the frame size. Everything is allocated here. */
typedef struct irc_detector irc_detector;

/** A detector for frames up to @max_width x @max_height with @model, which
 * must have a degradation head; the encoder runs with @params (encoder_only
 * is implied). */
irc_status irc_detector_new (const irc_model *model, int max_width, int max_height,
    const irc_net_params *params, irc_detector **out, irc_error *err);
void irc_detector_free (irc_detector **detector);

/** Reads @rgb (3 x @height x @width planar float) into @out. */
irc_status irc_detector_read (irc_detector *detector, const float *rgb, int width, int height,
    irc_degradation *out, irc_error *err);

/** The mean style code of the last irc_detector_read() (config.code floats). */
const float *irc_detector_code (const irc_detector *detector);

/** The crop side the detector reads frames in. */
int irc_detector_crop (const irc_detector *detector);

/** Version string of the library. */
const char *irc_version (void);

#ifdef __cplusplus
}
#endif
#endif /* IRC_IRC_H */
