/* vk_pipelines: the compute pipelines of the backend, one per shader and
 * specialisation, built from the SPIR-V embedded at build time, all sharing
 * one push-constant-only layout (tensors travel as buffer device addresses). */
#ifndef IRC_VK_PIPELINES_H
#define IRC_VK_PIPELINES_H

#include "vk_context.h"

#include <stddef.h>

/* `Args` of shaders/common.glsl: the same fields (shaders/args.h). */
#define IRC_ARGS_ADDR VkDeviceAddress
#define IRC_ARGS_U32 uint32_t
typedef struct {
#include "args.h"
} irc_vk_args;
#undef IRC_ARGS_ADDR
#undef IRC_ARGS_U32
/* std430 packs the block as C does here only without padding */
_Static_assert (sizeof (irc_vk_args) == 6 * 8 + 12 * 4, "irc_vk_args is not packed as Args");
_Static_assert (offsetof (irc_vk_args, cin) == 6 * 8, "irc_vk_args' words follow 6 addresses");

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

/* Every pipeline, once: X (ID, name in messages and profiles, shader in
 * shaders/, specialisation constant 0 (the shader's mode), constant 1 (the
 * stride; shaders without it ignore it)). The enum below and the table in
 * vk_pipelines.c are made from it; each shader's SPIR-V is embedded there
 * (shaders/meson.build lists the shaders to compile). */
#define IRC_VK_PIPE_LIST(X) \
  X (CONV3, "conv3x3", conv3x3, 0, 1) \
  X (CONV3_S2, "conv3x3 stride 2", conv3x3, 0, 2) \
  X (CONV3_UNSHUFFLE, "conv3x3 unshuffle", conv3x3, 1, 1) \
  X (CONV3_SHUFFLE, "conv3x3 shuffle", conv3x3, 2, 1) \
  X (CONV1, "conv1x1", conv1x1, 0, 1) \
  X (CONV1_LN, "conv1x1 layernorm", conv1x1, 1, 1) \
  X (CONV1_GATE, "conv1x1 gate", conv1x1, 2, 1) \
  X (CONV1_CAT, "conv1x1 concat", conv1x1, 3, 1) \
  X (DWCONV3X3_GATE, "dwconv3x3_gate", dwconv3x3_gate, 0, 1) \
  X (CHAN_SUM, "chan_sum", chan_sum, 0, 1) \
  X (MEAN_FINAL, "mean_final", mean_final, 0, 1) \
  X (SCA_FOLD, "sca_fold", sca_fold, 0, 1) \
  X (BOX_ROWS, "box_mean rows", box_mean, 0, 1) \
  X (BOX_COLS, "box_mean columns", box_mean, 1, 1) \
  X (BOX_SAMPLE, "box_mean map sample", box_mean, 2, 1)

typedef enum {
#define IRC_VK_PIPE_ENUM(id, name, shader, mode, stride) IRC_VK_##id,
  IRC_VK_PIPE_LIST (IRC_VK_PIPE_ENUM)
#undef IRC_VK_PIPE_ENUM
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
