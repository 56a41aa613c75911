/* vk_pipelines: SPIR-V compiled from shaders/ at build time (each shader for
 * fp32 and for 16-bit storage), embedded here, turned into compute pipelines
 * of the variant the context's storage wants, through its pipeline cache. */
#include "vk_pipelines.h"

#include <stdio.h>
#include <string.h>

static const uint32_t conv3x3_spv[] =
#include "conv3x3.spv.h"
;
static const uint32_t conv3x3_fp16_spv[] =
#include "conv3x3_fp16.spv.h"
;
static const uint32_t conv1x1_spv[] =
#include "conv1x1.spv.h"
;
static const uint32_t conv1x1_fp16_spv[] =
#include "conv1x1_fp16.spv.h"
;
static const uint32_t dwconv3x3_gate_spv[] =
#include "dwconv3x3_gate.spv.h"
;
static const uint32_t dwconv3x3_gate_fp16_spv[] =
#include "dwconv3x3_gate_fp16.spv.h"
;
static const uint32_t chan_sum_spv[] =
#include "chan_sum.spv.h"
;
static const uint32_t chan_sum_fp16_spv[] =
#include "chan_sum_fp16.spv.h"
;
static const uint32_t mean_final_spv[] =
#include "mean_final.spv.h"
;
static const uint32_t mean_final_fp16_spv[] =
#include "mean_final_fp16.spv.h"
;
static const uint32_t sca_fold_spv[] =
#include "sca_fold.spv.h"
;
static const uint32_t sca_fold_fp16_spv[] =
#include "sca_fold_fp16.spv.h"
;
static const uint32_t box_mean_spv[] =
#include "box_mean.spv.h"
;
static const uint32_t box_mean_fp16_spv[] =
#include "box_mean_fp16.spv.h"
;

/* fp32 storage, then 16-bit storage (built with -DIRC_FP16) */
#define SPV(a) {{a##_spv, sizeof a##_spv}, {a##_fp16_spv, sizeof a##_fp16_spv}}

static const struct {
  const char *name;
  struct {
    const uint32_t *code;
    size_t size;
  } spv[2];
  uint32_t spec[2];   /* specialisation constants 0 (mode) and 1 (stride) */
} pipe_table[IRC_VK_N_PIPES] = {
#define IRC_VK_PIPE_ROW(id, name, shader, mode, stride) \
  [IRC_VK_##id] = {name, SPV (shader), {mode, stride}},
  IRC_VK_PIPE_LIST (IRC_VK_PIPE_ROW)
#undef IRC_VK_PIPE_ROW
};

const char *
irc_vk_pipe_name (irc_vk_pipe pipe)
{
  return pipe >= 0 && pipe < IRC_VK_N_PIPES ? pipe_table[pipe].name : NULL;
}

irc_status
irc_vk_pipelines_new (irc_vk_context *ctx, irc_vk_pipelines *p, irc_error *err)
{
  const irc_vk_fns *f = &ctx->f;
  VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof (irc_vk_args)};
  VkPipelineLayoutCreateInfo lci = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .pushConstantRangeCount = 1, .pPushConstantRanges = &range,
  };
  irc_status st = irc_vk_check (ctx, f->vkCreatePipelineLayout (ctx->device, &lci, NULL,
      &p->layout), "vkCreatePipelineLayout", err);
  VkShaderModule module = VK_NULL_HANDLE;
  const uint32_t *module_code = NULL;
  const int variant = ctx->fp16 ? 1 : 0;
  for (int i = 0; i < IRC_VK_N_PIPES && st == IRC_OK; i++) {
    char where[96];
    const uint32_t *code = pipe_table[i].spv[variant].code;
    if (code != module_code) {
      if (module)
        f->vkDestroyShaderModule (ctx->device, module, NULL);
      module = VK_NULL_HANDLE;
      VkShaderModuleCreateInfo mci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = pipe_table[i].spv[variant].size, .pCode = code,
      };
      snprintf (where, sizeof where, "vkCreateShaderModule (%s%s)", pipe_table[i].name,
          variant ? ", fp16" : "");
      st = irc_vk_check (ctx, f->vkCreateShaderModule (ctx->device, &mci, NULL, &module),
          where, err);
      if (st != IRC_OK)
        break;
      module_code = code;
    }
    /* a shader without constant 1 ignores its entry */
    const VkSpecializationMapEntry entries[2] = {{0, 0, 4}, {1, 4, 4}};
    uint32_t values[2] = {pipe_table[i].spec[0], pipe_table[i].spec[1]};
    VkSpecializationInfo spec = {2, entries, sizeof values, values};
    VkComputePipelineCreateInfo cci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
        .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = module, .pName = "main",
        .pSpecializationInfo = &spec,
      },
      .layout = p->layout,
    };
    snprintf (where, sizeof where, "vkCreateComputePipelines (%s%s)", pipe_table[i].name,
        variant ? ", fp16" : "");
    st = irc_vk_check (ctx, f->vkCreateComputePipelines (ctx->device, ctx->cache, 1, &cci,
        NULL, &p->pipes[i]), where, err);
  }
  if (module)
    f->vkDestroyShaderModule (ctx->device, module, NULL);
  return st;
}

void
irc_vk_pipelines_free (irc_vk_context *ctx, irc_vk_pipelines *p)
{
  if (!ctx || !ctx->device)
    return;
  for (int i = 0; i < IRC_VK_N_PIPES; i++)
    if (p->pipes[i])
      ctx->f.vkDestroyPipeline (ctx->device, p->pipes[i], NULL);
  if (p->layout)
    ctx->f.vkDestroyPipelineLayout (ctx->device, p->layout, NULL);
  memset (p, 0, sizeof *p);
}
