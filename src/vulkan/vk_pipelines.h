/* vk_pipelines: the compute pipelines of the backend, one per shader and
 * specialisation, built from the SPIR-V embedded at build time, all sharing
 * one push-constant-only layout (tensors travel as buffer device addresses). */
#ifndef IRC_VK_PIPELINES_H
#define IRC_VK_PIPELINES_H

#include "vk_context.h"

/* Mirrors `Args` in shaders/common.glsl (std430: the addresses first). */
typedef struct {
  VkDeviceAddress dst, src, src2, wt, bias, res;
  uint32_t cin, cin_a, cout, flags;
  uint32_t hi, wi, ho, wo;
  uint32_t stride, n, extra0, extra1;
} irc_vk_args;

#define IRC_VK_FLAG_BIAS 1u
#define IRC_VK_FLAG_LEAKY 2u
#define IRC_VK_FLAG_RESIDUAL 4u

/* Work per workgroup, as the shaders define it. */
#define IRC_VK_CONV_TILE_W 32    /* conv3x3, dwconv3x3_gate: 32x8 pixels */
#define IRC_VK_CONV_TILE_H 8
#define IRC_VK_OCB 8             /* output channels per invocation of the convs */
#define IRC_VK_CONV1_TILE 256    /* conv1x1: pixels per workgroup */
#define IRC_VK_BOX_TILE 8        /* box_mean: 8x8 pixels */
#define IRC_VK_SUM_CHUNK 8192    /* chan_sum: values per workgroup */
#define IRC_VK_SCA_MAXC 1024     /* sca_fold: widest block */

typedef enum {
  IRC_VK_CONV3,
  IRC_VK_CONV3_S2,
  IRC_VK_CONV3_UNSHUFFLE,
  IRC_VK_CONV3_SHUFFLE,
  IRC_VK_CONV1,
  IRC_VK_CONV1_LN,
  IRC_VK_CONV1_GATE,
  IRC_VK_CONV1_CAT,
  IRC_VK_DWCONV3X3_GATE,
  IRC_VK_CHAN_SUM,
  IRC_VK_MEAN_FINAL,
  IRC_VK_SCA_FOLD,
  IRC_VK_BOX_ROWS,
  IRC_VK_BOX_COLS,
  IRC_VK_BOX_SAMPLE,
  IRC_VK_N_PIPES
} irc_vk_pipe;

typedef struct {
  VkPipelineLayout layout;
  VkPipeline pipes[IRC_VK_N_PIPES];
} irc_vk_pipelines;

irc_status irc_vk_pipelines_new (irc_vk_context *ctx, irc_vk_pipelines *p, irc_error *err);

/* The pipeline's name for messages and profiles ("conv3x3 stride 2"). */
const char *irc_vk_pipe_name (irc_vk_pipe pipe);

/* NULL-safe on a zeroed struct. */
void irc_vk_pipelines_free (irc_vk_context *ctx, irc_vk_pipelines *p);

#endif
