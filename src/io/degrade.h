/* degrade: seeded synthetic degradations of clean planar float RGB images
 * (rain streaks + accumulation, haze, sensor noise, motion blur, and a mix)
 * for training and evaluation. Same seed and parameters = same bits. */
#ifndef IRC_IO_DEGRADE_H
#define IRC_IO_DEGRADE_H

#include "irc/irc.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ RNG */

/** PCG32 (O'Neill 2014, "PCG-XSH-RR"): 64-bit LCG state, 32-bit output by
 * xorshift + random rotation. Small, fast, statistically solid, and fully
 * specified, so a seed means the same stream on every platform. */
typedef struct {
  uint64_t state;
  uint64_t inc;          /**< stream selector, always odd */
  int has_spare;         /**< Box-Muller makes normals in pairs */
  float spare;
} irc_rng;

/** Seeds @rng with @seed on stream @stream (different streams of one seed
 * are independent sequences). */
void irc_rng_seed (irc_rng *rng, uint64_t seed, uint64_t stream);
/** Next 32 random bits. */
uint32_t irc_rng_u32 (irc_rng *rng);
/** Uniform float in [0, 1) with 24 random bits. */
float irc_rng_uniform (irc_rng *rng);
/** Uniform float in [@lo, @hi). */
float irc_rng_range (irc_rng *rng, float lo, float hi);
/** Uniform integer in [0, @n) without modulo bias; 0 when @n is 0. */
uint32_t irc_rng_below (irc_rng *rng, uint32_t n);
/** Standard normal (mean 0, std 1), Box-Muller. */
float irc_rng_normal (irc_rng *rng);
/** A 64-bit value to seed something else with (a sub-generator, a static
 * random field). */
uint64_t irc_rng_u64 (irc_rng *rng);

/* ----------------------------------------------------------------- rain */

/** Rain streaks, summed into a streak map per layer and ADDED onto the
 * image (not multiplied), so they are bright, near-white and
 * semi-transparent. Every streak is a segment with an anti-aliased soft
 * cross-section and soft ends, drawn in one of two styles:
 * LEVELS, the way the standard synthetic sets were made in a photo editor
 * (noise grains -> motion blur -> levels), tuned against Rain100L's streak
 * statistics; DROPS, individual streaks of varied length, width and
 * brightness with an uneven profile along them (near drops in real
 * footage). Heavy rain stacks layers at different depths and directions
 * over a veil of rain accumulation. A map is rendered in time proportional
 * to the streaks' area, not pixels x length. */
typedef enum {
  IRC_RAIN_LEVELS = 0,    /**< photo-editor pipeline: noise grains, motion blur, levels */
  IRC_RAIN_DROPS,         /**< individual streaks, each its own length/width/brightness */
  IRC_RAIN_MIXED,         /**< nearest layer DROPS (at a tenth of the density), others LEVELS */
} irc_rain_style;

typedef struct {
  irc_rain_style style;
  int layers;             /**< streak layers, 1 (light) .. 5 (heavy) */
  float density;          /**< per layer, expected fraction of pixels under a streak core
                               (LEVELS: before the black point removes most), ~0.01-1 */
  float length_min;       /**< streak length in pixels, drawn log-uniform in [min, max] */
  float length_max;
  float width_min;        /**< streak core width in pixels, uniform in [min, max] */
  float width_max;
  float angle;            /**< mean direction, degrees from vertical; > 0: bottom end to the right */
  float angle_jitter;     /**< per-streak direction deviation (std, degrees) */
  float layer_spread;     /**< per-layer direction offset (std, degrees) */
  float brightness;       /**< added intensity of the brightest streaks, 0..1 */
  float brightness_min;   /**< DROPS: faintest streak, as a fraction of @brightness */
  float threshold;        /**< LEVELS: black point, in std above the blurred noise's mean */
  float levels_range;     /**< LEVELS: white point above the black point, in std */
  float levels_gamma;     /**< LEVELS: midtone curve, > 1 leaves more faint streaks */
  float softness;         /**< edge blur std in pixels (0.35 crisp .. 2 defocused) */
  float depth_var;        /**< 0..1: far layers thinner, shorter, dimmer, denser; near ones blurrier */
  float sky_follow;       /**< 0..1: streak brightness follows the low-frequency scene brightness */
  float tint;             /**< 0..1: streak colour pulled from white toward the scene's mean colour */
  float veil;             /**< rain accumulation: fraction of light replaced by scattered light, 0..0.6 */
  float brighten;         /**< global additive brightening, 0..0.15 */
  uint64_t field_seed;    /**< seed of the veil's static random field (fixed over a video) */
} irc_rain_params;

/** Light rain like Rain100L: one sparse layer, near vertical, thin, no veil. */
void irc_rain_preset_light (irc_rain_params *p);
/** Heavy rain like Rain100H/Rain1400: four layers, long dense streaks, veil. */
void irc_rain_preset_heavy (irc_rain_params *p);
/** Draws parameters over wide ranges for training. @heaviness: 0 = light
 * rain only, 1 = heavy only, in between = probability of heavy. */
void irc_rain_sample (irc_rain_params *p, float heaviness, irc_rng *rng);

/** Adds rain to @rgb (3 x @height x @width, in place); streak positions come
 * from @rng (fresh per call: per video frame), everything else from @p. */
irc_status irc_degrade_rain (float *rgb, int width, int height,
    const irc_rain_params *p, irc_rng *rng, irc_error *err);

/** Renders only the streak map (one plane, @width x @height, accumulated
 * into @map, not cleared first), before colour, sky light and veil: for
 * inspection and tests. */
irc_status irc_rain_streaks (float *map, int width, int height,
    const irc_rain_params *p, irc_rng *rng, irc_error *err);

/* ----------------------------------------------------------------- haze */

/** Atmospheric scattering I = J t + A (1 - t), t = exp(-beta d), over a depth
 * proxy in the units of RESIDE's outdoor sets (measured on SOTS: ground at
 * 1.3-4.5, sky farther), built from: height in the image (higher = farther),
 * a smooth random field, and a sky cue (bright, flat regions are far). */
typedef struct {
  float beta;             /**< scattering coefficient, RESIDE outdoor 0.04-0.2 */
  float airlight[3];      /**< A per channel, 0.7-1.0 grey-white */
  float depth_near;       /**< depth at the bottom of the frame */
  float depth_far;        /**< depth at the top / in the sky */
  float w_vertical;       /**< weight of the height cue */
  float w_field;          /**< weight of the random field */
  float w_sky;            /**< weight of the bright-and-flat cue */
  float horizon;          /**< 0..1 from the top: rows above it are at full vertical depth */
  float field_scale;      /**< random field cell size, as a fraction of the larger side */
  uint64_t field_seed;    /**< seed of the random field (fixed over a video) */
} irc_haze_params;

void irc_haze_preset (irc_haze_params *p);
void irc_haze_sample (irc_haze_params *p, irc_rng *rng);
/** Draws dense haze as real thick fog looks (NTIRE Dense-Haze): scattering
 * 2-5x the RESIDE range over a nearer, shallower depth range, so little of
 * the scene survives, a patchy density (strong, small-scale random field)
 * and a white to blue-grey airlight. */
void irc_haze_sample_dense (irc_haze_params *p, irc_rng *rng);
irc_status irc_degrade_haze (float *rgb, int width, int height,
    const irc_haze_params *p, irc_error *err);
/** The normalised depth proxy in [0, 1] (0 near, 1 far) into @depth
 * (@width x @height) for @rgb; used by haze and by rain accumulation. */
irc_status irc_depth_proxy (float *depth, const float *rgb, int width, int height,
    const irc_haze_params *p, irc_error *err);

/* ---------------------------------------------------------------- noise */

/** Sensor noise: Gaussian of std @sigma (0-255 units), or drawn uniformly
 * in [@sigma, @sigma_max] per call when @sigma_max > @sigma; plus optional
 * signal-dependent shot noise (variance @shot * x, x in [0,1]); optional
 * clipping to [0,1] and 8-bit quantisation, as a video element sees it. */
typedef struct {
  float sigma;
  float sigma_max;
  float shot;             /**< Poisson-Gaussian gain, 0 (off) .. ~0.02 */
  int clip;               /**< clip to [0,1] */
  int quantize;           /**< round to 1/255 steps (implies clip) */
} irc_noise_params;

void irc_noise_preset (irc_noise_params *p, float sigma);
void irc_noise_sample (irc_noise_params *p, irc_rng *rng);
irc_status irc_degrade_noise (float *rgb, int width, int height,
    const irc_noise_params *p, irc_rng *rng, irc_error *err);

/* ----------------------------------------------------------------- blur */

/** A blur kernel (point spread function), row-major, summing to 1. */
typedef struct {
  int width, height;
  float *k;
} irc_kernel;

/** Loads a kernel from a text file: one row per line, numbers separated by
 * spaces/tabs/commas (the Levin et al. files). Must be rectangular, finite,
 * non-negative with a positive sum; renormalised to sum 1. */
irc_status irc_kernel_load (const char *path, irc_kernel *out, irc_error *err);
/** Loads every *.txt kernel in @dir, sorted by name, into a malloc'd array. */
irc_status irc_kernel_load_dir (const char *dir, irc_kernel **out, size_t *n,
    irc_error *err);
void irc_kernel_clear (irc_kernel *k);
void irc_kernel_array_free (irc_kernel *ks, size_t n);
/** Deep copy of @src into @dst. */
irc_status irc_kernel_copy (irc_kernel *dst, const irc_kernel *src, irc_error *err);

/** A random camera-shake kernel of odd @size (3..63): a walk with momentum,
 * a pull back toward its start and occasional jerks, after Boracchi & Foi
 * 2012 as DeblurGAN uses it; @intensity 0..1 scales its shakiness (0: a
 * straight line). Rasterised with sub-pixel bilinear splatting. */
irc_status irc_kernel_random (irc_kernel *out, int size, float intensity,
    irc_rng *rng, irc_error *err);

/** A rolling shutter's view of one hand shake: rows are read out one after
 * another, so the bottom row's exposure starts @readout exposures (0..4)
 * after the top row's and sees a later stretch of the same camera path.
 * @top and @bottom are that path over the first and the last row's
 * exposure, at one scale, each centred on its own centroid (the blur
 * changes shape down the frame; the readout's skew is left out, as
 * sharp targets have it too). Used as a non-uniform blur from top to
 * bottom (irc_blur_params.kernel_far, ramp (0, 1)). */
irc_status irc_kernel_random_rolling (irc_kernel *top, irc_kernel *bottom, int size,
    float intensity, float readout, irc_rng *rng, irc_error *err);

/** @src turned by @angle_deg and its extent scaled by @scale (0.25..4)
 * about its centre, into a new square kernel of odd size (at most 63)
 * that holds it: the same shake seen elsewhere in a frame when the camera
 * also turns about its axis (the path turns) or the scene's depth changes
 * (a nearer point moves further). */
irc_status irc_kernel_warp (const irc_kernel *src, float angle_deg, float scale,
    irc_kernel *out, irc_error *err);

typedef struct {
  const irc_kernel *kernel;  /**< not owned */
  float gamma;               /**< blur in linear light: decode x^gamma, encode back; 1 = off */
  float noise_sigma;         /**< Gaussian noise after blurring, 0-255 units */
  int quantize;              /**< clip and round to 8 bits at the end */
  /** Non-uniform blur when set (not owned): the point spread function
   * changes smoothly across the frame, @kernel at one side, this one at the
   * other, along the unit direction (@ramp_x, @ramp_y); in between each
   * pixel blends the two blurred values (the usual interpolated-PSF model
   * of spatially varying shake), in linear light with @gamma. */
  const irc_kernel *kernel_far;
  float ramp_x, ramp_y;
} irc_blur_params;

irc_status irc_degrade_blur (float *rgb, int width, int height,
    const irc_blur_params *p, irc_rng *rng, irc_error *err);

/* ------------------------------------------------------ tasks and plans */

typedef enum {
  IRC_TASK_RAIN = 0,     /**< light or heavy, drawn */
  IRC_TASK_RAIN_LIGHT,
  IRC_TASK_RAIN_HEAVY,
  IRC_TASK_HAZE,
  IRC_TASK_NOISE,
  IRC_TASK_BLUR,
  IRC_TASK_MIX,          /**< one of rain/haze/noise/blur at random, sometimes two */
  IRC_TASK_HAZE_DENSE,   /**< dense, patchy fog (irc_haze_sample_dense) */
  IRC_TASK_BLUR_NONUNIFORM,  /**< blur whose kernel turns and grows across the frame */
  IRC_TASK_BLUR_ROLLING,     /**< camera shake seen through a rolling shutter */
} irc_task;

/** Parses "rain", "rain-light", "rain-heavy", "haze", "noise", "blur", "mix",
 * "haze-dense", "blur-nonuniform", "blur-rolling". */
irc_status irc_task_from_name (const char *name, irc_task *task, irc_error *err);
const char *irc_task_name (irc_task task);

/** The steps of a plan, in the order they are applied. */
enum { IRC_DEG_HAZE = 0, IRC_DEG_RAIN, IRC_DEG_BLUR, IRC_DEG_NOISE, IRC_DEG_COUNT };

/** How plans are drawn. Use irc_plan_options_init(). */
typedef struct {
  const irc_kernel *kernels;   /**< e.g. the Levin set; may be NULL */
  size_t n_kernels;
  float kernel_prob;           /**< chance of a kernel from @kernels rather than a random trajectory */
  const irc_kernel *fixed_kernel;  /**< when set, blur always uses it */
  float sigma_min, sigma_max;  /**< noise task: Gaussian sigma range, 0-255 units */
  float mix_two_prob;          /**< mix: chance of two degradations instead of one */
  float rain_heavy_prob;       /**< rain and mix: chance that a rain draw is heavy rather than light */
  float haze_dense_prob;       /**< haze and mix: chance that a haze draw is dense
                                    (irc_haze_sample_dense); 0 draws no extra number */
  float blur_nonuniform_prob;  /**< blur and mix: chance that a blur is non-uniform (its
                                    kernel warped across the frame, irc_kernel_warp);
                                    0 draws no extra number */
  float blur_rolling_prob;     /**< blur and mix: chance that a random camera path is
                                    seen through a rolling shutter
                                    (irc_kernel_random_rolling); 0 draws no extra number */
  float kind_weight[IRC_DEG_COUNT];  /**< mix: relative chance of each step, indexed by
                                    IRC_DEG_HAZE..IRC_DEG_NOISE; all equal (the
                                    default: all zero) draws uniformly */
} irc_plan_options;

void irc_plan_options_init (irc_plan_options *o);

/** One draw of degradation parameters, applied in physical order: haze (the
 * scene), rain (in front of it), blur (the camera), noise (the sensor). A
 * video uses one plan for all its frames. */
typedef struct {
  int use[IRC_DEG_COUNT];      /**< which steps apply */
  irc_rain_params rain;
  irc_haze_params haze;
  irc_noise_params noise;
  irc_blur_params blur;        /**< blur.kernel is unused: the plan applies @kernel */
  irc_kernel kernel;           /**< the plan's own copy of its blur kernel */
  irc_kernel kernel_far;       /**< non-uniform blur: the kernel at the frame's far side */
} irc_plan;

irc_status irc_plan_sample (irc_plan *plan, irc_task task, const irc_plan_options *o,
    irc_rng *rng, irc_error *err);
/** Applies @plan in place; per-call randomness (rain streaks, noise) from @rng. */
irc_status irc_plan_apply (const irc_plan *plan, float *rgb, int width, int height,
    irc_rng *rng, irc_error *err);
void irc_plan_clear (irc_plan *plan);

/** One-shot: draws a plan for @task and applies it. */
irc_status irc_degrade (float *rgb, int width, int height, irc_task task,
    const irc_plan_options *o, irc_rng *rng, irc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* IRC_IO_DEGRADE_H */
