/* vk_backend: the Vulkan backend's state, shared by the ops that record
 * into its command buffer (backend_vulkan.c) and the recording, barrier,
 * staging and submission machinery (vk_record.c).
 *
 * Device buffers hold tensors as elements of vb->es bytes: 4 (float) or, with
 * fp16 storage, 2 (IEEE half); every count and offset below is in elements,
 * and the host's float arenas map onto them element for element. Staging
 * converts between float and half on the host. */
#ifndef IRC_VK_BACKEND_H
#define IRC_VK_BACKEND_H

#include "backend.h"
#include "vk_pipelines.h"

/* A NAFBlock's weights with the linear parts folded in once, on the device:
 * LayerNorm affines into conv1/conv4, gamma into conv5, beta into conv3 (the
 * attention's scale joins conv3 per frame, in sca_fold). */
typedef struct {
  const irc_nafblock_w *src;
  VkDeviceAddress w1, b1, w4, b4, w5, b5, w3b, b3b;
} vk_block;

typedef struct {
  irc_backend base;
  irc_vk_context *ctx;
  irc_vk_pipelines pl;
  const float *wts, *acts;        /* host arenas mirrored on the device */
  size_t wts_count, acts_count;
  size_t es;                      /* bytes per stored element: 4, or 2 with fp16 */
  irc_vk_buffer wbuf;             /* weights, then the folded blocks */
  irc_vk_buffer abuf;             /* the activation arena's mirror */
  irc_vk_buffer sbuf;             /* scratch, sized by the measuring pass */
  irc_vk_buffer up, down;         /* staging, reused every frame */
  size_t up_cap, down_cap, up_used;   /* elements */
  size_t need_scratch;            /* elements */
  vk_block *blocks;
  size_t n_blocks;
  int recording, dispatches;
  /* profile (ctx->profile): the pipeline of each timed dispatch this
   * submission, a timestamp before and after each */
  irc_vk_pipe timed[IRC_VK_PROFILE_QUERIES / 2];
  int n_timed;
  VkPipeline bound;
  /* the barrier owed before the next command: what earlier commands did */
  VkPipelineStageFlags pend_stage;
  VkAccessFlags pend_access;
  /* first error of an op (ops return void): every later call reports it */
  irc_error failed;
} vk_backend;

void irc_vk_fail (vk_backend *vb, irc_status st, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* The first error recorded (IRC_OK if none), copied into @err. */
irc_status irc_vk_report (vk_backend *vb, irc_error *err);

/* The device address of the mirror of @count floats at host @p, in either
 * arena; 0 (and a recorded error) when outside both. */
VkDeviceAddress irc_vk_addr_of (vk_backend *vb, const float *p, size_t count, const char *what);

/* Starts the command buffer if needed; 0 once an error was recorded. */
int irc_vk_begin (vk_backend *vb);

/* Emits the barrier owed to earlier commands before one of @stage/@access. */
void irc_vk_barrier (vk_backend *vb, VkPipelineStageFlags stage, VkAccessFlags access);

void irc_vk_dispatch (vk_backend *vb, irc_vk_pipe pipe, const irc_vk_args *args, uint32_t gx,
    uint32_t gy, uint32_t gz);

/* @tiles workgroups of a 1-D pixel range, laid over x and y. */
void irc_vk_dispatch_tiles (vk_backend *vb, irc_vk_pipe pipe, const irc_vk_args *args,
    size_t tiles, uint32_t gz);

/* Ends, submits and waits for what was recorded; the staging ring is free after. */
irc_status irc_vk_submit_wait (vk_backend *vb);

/* The backend table's host sync hooks. */
irc_status irc_vk_upload (irc_backend *be, const float *host, size_t count, irc_error *err);
irc_status irc_vk_download (irc_backend *be, float *host, size_t count, irc_error *err);

static inline size_t
align16 (size_t n)
{
  return (n + 15) / 16 * 16;
}

static inline uint32_t
div_up (size_t n, size_t d)
{
  return (uint32_t) ((n + d - 1) / d);
}

static inline VkDeviceAddress
scratch (vk_backend *vb, size_t off)
{
  return vb->sbuf.addr + off * vb->es;
}

/* Elements of scratch that @n fp32 values take: the partial sums of
 * reductions stay fp32 whatever the storage (Floats32 in common.glsl). */
static inline size_t
f32_elems (const vk_backend *vb, size_t n)
{
  return n * sizeof (float) / vb->es;
}

/* Host floats -> stored elements at @dst, and back. */
void irc_vk_pack (const vk_backend *vb, void *dst, const float *src, size_t n);
void irc_vk_unpack (const vk_backend *vb, float *dst, const void *src, size_t n);

static inline void
need_scratch (vk_backend *vb, size_t floats)
{
  if (floats > vb->need_scratch)
    vb->need_scratch = floats;
}

#endif
