/* vk_record: the command buffer a frame is recorded into: one barrier
 * between dependent commands, uploads through a reused staging ring, and one
 * submission per download (the host needs a result). */
#include "vk_backend.h"
#include "safetensors.h"   /* irc_float_to_half, irc_half_to_float */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
irc_vk_fail (vk_backend *vb, irc_status st, const char *fmt, ...)
{
  if (vb->failed.status != IRC_OK)
    return;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (vb->failed.message, sizeof vb->failed.message, fmt, ap);
  va_end (ap);
  vb->failed.status = st;
}

irc_status
irc_vk_report (vk_backend *vb, irc_error *err)
{
  if (err && vb->failed.status != IRC_OK)
    *err = vb->failed;
  return vb->failed.status;
}

void
irc_vk_pack (const vk_backend *vb, void *dst, const float *src, size_t n)
{
  if (vb->es == sizeof (float)) {
    memcpy (dst, src, n * sizeof (float));
    return;
  }
  /* round to nearest even; infinities, NaNs and subnormals kept as such */
  uint16_t *h = dst;
  for (size_t i = 0; i < n; i++)
    h[i] = irc_float_to_half (src[i]);
}

void
irc_vk_unpack (const vk_backend *vb, float *dst, const void *src, size_t n)
{
  if (vb->es == sizeof (float)) {
    memcpy (dst, src, n * sizeof (float));
    return;
  }
  const uint16_t *h = src;
  for (size_t i = 0; i < n; i++)
    dst[i] = irc_half_to_float (h[i]);
}

/* The device address of @count floats at host @p, in either mirrored arena:
 * the same element index on the device. */
VkDeviceAddress
irc_vk_addr_of (vk_backend *vb, const float *p, size_t count, const char *what)
{
  const uintptr_t a = (uintptr_t) p, n = count * sizeof (float);
  const uintptr_t ab = (uintptr_t) vb->acts, wb = (uintptr_t) vb->wts;
  if (p && a >= ab && a + n <= ab + vb->acts_count * sizeof (float))
    return vb->abuf.addr + (VkDeviceAddress) (p - vb->acts) * vb->es;
  if (p && a >= wb && a + n <= wb + vb->wts_count * sizeof (float))
    return vb->wbuf.addr + (VkDeviceAddress) (p - vb->wts) * vb->es;
  irc_vk_fail (vb, IRC_ERR_INVALID, "vulkan: %s (%zu floats at %p) is outside the activation "
      "and weight arenas the backend mirrors", what, count, (const void *) p);
  return 0;
}

int
irc_vk_begin (vk_backend *vb)
{
  if (vb->failed.status != IRC_OK)
    return 0;
  if (vb->recording)
    return 1;
  irc_vk_context *ctx = vb->ctx;
  VkCommandBufferBeginInfo bi = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  irc_error e = {0};
  if (irc_vk_check (ctx, ctx->f.vkBeginCommandBuffer (ctx->cmd, &bi), "vkBeginCommandBuffer",
      &e) != IRC_OK) {
    irc_vk_fail (vb, e.status, "%s", e.message);
    return 0;
  }
  vb->recording = 1;
  vb->bound = VK_NULL_HANDLE;
  vb->n_timed = 0;
  if (ctx->profile)
    ctx->f.vkCmdResetQueryPool (ctx->cmd, ctx->profile, 0, IRC_VK_PROFILE_QUERIES);
  /* order after everything the previous submission wrote */
  vb->pend_stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vb->pend_access = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  return 1;
}

void
irc_vk_barrier (vk_backend *vb, VkPipelineStageFlags stage, VkAccessFlags access)
{
  if (!vb->pend_stage)
    return;
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = vb->pend_access, .dstAccessMask = access,
  };
  vb->ctx->f.vkCmdPipelineBarrier (vb->ctx->cmd, vb->pend_stage, stage, 0, 1, &mb, 0, NULL, 0,
      NULL);
  vb->pend_stage = 0;
  vb->pend_access = 0;
}

/* Every dispatch depends on the one before (the graph is a chain), so each is
 * preceded by a compute -> compute barrier. */
void
irc_vk_dispatch (vk_backend *vb, irc_vk_pipe pipe, const irc_vk_args *args, uint32_t gx,
    uint32_t gy, uint32_t gz)
{
  if (!irc_vk_begin (vb))
    return;
  const irc_vk_fns *f = &vb->ctx->f;
  VkCommandBuffer cmd = vb->ctx->cmd;
  irc_vk_barrier (vb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  if (vb->bound != vb->pl.pipes[pipe]) {
    f->vkCmdBindPipeline (cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vb->pl.pipes[pipe]);
    vb->bound = vb->pl.pipes[pipe];
  }
  f->vkCmdPushConstants (cmd, vb->pl.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof *args, args);
  /* bottom-of-pipe both times: when everything before has finished, then when
   * this dispatch has (the barrier keeps them from overlapping) */
  const int timed = vb->ctx->profile && vb->n_timed < IRC_VK_PROFILE_QUERIES / 2;
  if (timed)
    f->vkCmdWriteTimestamp (cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vb->ctx->profile,
        (uint32_t) vb->n_timed * 2);
  f->vkCmdDispatch (cmd, gx, gy, gz);
  if (timed) {
    f->vkCmdWriteTimestamp (cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vb->ctx->profile,
        (uint32_t) vb->n_timed * 2 + 1);
    vb->timed[vb->n_timed++] = pipe;
  }
  vb->pend_stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
  vb->pend_access = VK_ACCESS_SHADER_WRITE_BIT;
  vb->dispatches++;
}

/* Pixel tiles laid over x and y of the grid: x alone stops at 65535. */
void
irc_vk_dispatch_tiles (vk_backend *vb, irc_vk_pipe pipe, const irc_vk_args *args, size_t tiles,
    uint32_t gz)
{
  const uint32_t gx = tiles < 65535 ? (uint32_t) tiles : 65535;
  irc_vk_dispatch (vb, pipe, args, gx ? gx : 1, div_up (tiles, gx ? gx : 1), gz);
}

/* Ends, submits and waits for the command buffer; the staging ring is free
 * again afterwards. */
irc_status
irc_vk_submit_wait (vk_backend *vb)
{
  if (!vb->recording || vb->failed.status != IRC_OK)
    return vb->failed.status;
  irc_vk_context *ctx = vb->ctx;
  const irc_vk_fns *f = &ctx->f;
  irc_error e = {0};
  irc_status st = irc_vk_check (ctx, f->vkEndCommandBuffer (ctx->cmd), "vkEndCommandBuffer", &e);
  VkSubmitInfo si = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &ctx->cmd,
  };
  if (st == IRC_OK)
    st = irc_vk_check (ctx, f->vkQueueSubmit (ctx->queue, 1, &si, ctx->fence), "vkQueueSubmit",
        &e);
  if (st == IRC_OK)
    st = irc_vk_check (ctx, f->vkWaitForFences (ctx->device, 1, &ctx->fence, VK_TRUE, UINT64_MAX),
        "vkWaitForFences", &e);
  if (st == IRC_OK)
    st = irc_vk_check (ctx, f->vkResetFences (ctx->device, 1, &ctx->fence), "vkResetFences", &e);
  if (st == IRC_OK && ctx->profile && vb->n_timed > 0) {
    uint64_t ts[IRC_VK_PROFILE_QUERIES];
    const VkResult r = f->vkGetQueryPoolResults (ctx->device, ctx->profile, 0,
        (uint32_t) vb->n_timed * 2, sizeof ts, ts, sizeof ts[0], VK_QUERY_RESULT_64_BIT);
    for (int i = 0; r == VK_SUCCESS && i < vb->n_timed; i++)
      irc_vk_count_time (vb->timed[i], (uint64_t) ((double) (ts[2 * i + 1] - ts[2 * i])
          * ctx->timestamp_ns));
  }
  if (st == IRC_OK)
    st = irc_vk_check (ctx, f->vkResetCommandPool (ctx->device, ctx->pool, 0),
        "vkResetCommandPool", &e);
  irc_vk_count (vb->dispatches, 1);
  vb->dispatches = 0;
  vb->recording = 0;
  vb->up_used = 0;
  if (st != IRC_OK)
    irc_vk_fail (vb, st, "%s", e.message);
  else if (ctx->validating && ctx->validation_errors)
    irc_vk_fail (vb, IRC_ERR_BACKEND, "vulkan: validation error: %s", ctx->first_validation_error);
  return vb->failed.status;
}

/* Records a copy of @count host floats into @dst at element offset @dst_off
 * through the upload ring (converted to the stored type on the way); flushes
 * when the ring is full. */
static irc_status
stage_in (vk_backend *vb, const irc_vk_buffer *dst, size_t dst_off, const float *host,
    size_t count)
{
  while (count > 0 && vb->failed.status == IRC_OK) {
    if (vb->up_used == vb->up_cap && irc_vk_submit_wait (vb) != IRC_OK)
      break;
    size_t n = vb->up_cap - vb->up_used;
    if (n > count)
      n = count;
    irc_vk_pack (vb, (char *) vb->up.map + vb->up_used * vb->es, host, n);
    if (!vb->up.coherent) {
      VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
          .memory = vb->up.mem, .size = VK_WHOLE_SIZE};
      vb->ctx->f.vkFlushMappedMemoryRanges (vb->ctx->device, 1, &r);
    }
    if (!irc_vk_begin (vb))
      break;
    irc_vk_barrier (vb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferCopy region = {vb->up_used * vb->es, dst_off * vb->es, n * vb->es};
    vb->ctx->f.vkCmdCopyBuffer (vb->ctx->cmd, vb->up.buf, dst->buf, 1, &region);
    vb->pend_stage |= VK_PIPELINE_STAGE_TRANSFER_BIT;
    vb->pend_access |= VK_ACCESS_TRANSFER_WRITE_BIT;
    vb->up_used += n;
    host += n, dst_off += n, count -= n;
  }
  return vb->failed.status;
}

irc_status
irc_vk_upload (irc_backend *be, const float *host, size_t count, irc_error *err)
{
  vk_backend *vb = (vk_backend *) be;
  if (irc_vk_addr_of (vb, host, count, "upload"))
    stage_in (vb, &vb->abuf, (size_t) (host - vb->acts), host, count);
  return irc_vk_report (vb, err);
}

irc_status
irc_vk_download (irc_backend *be, float *host, size_t count, irc_error *err)
{
  vk_backend *vb = (vk_backend *) be;
  if (count == 0 || !irc_vk_addr_of (vb, host, count, "download"))
    return irc_vk_report (vb, err);
  size_t off = (size_t) (host - vb->acts);
  irc_vk_context *ctx = vb->ctx;
  do {
    const size_t n = count < vb->down_cap ? count : vb->down_cap;
    if (!irc_vk_begin (vb))
      break;
    irc_vk_barrier (vb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferCopy region = {off * vb->es, 0, n * vb->es};
    ctx->f.vkCmdCopyBuffer (ctx->cmd, vb->abuf.buf, vb->down.buf, 1, &region);
    VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    ctx->f.vkCmdPipelineBarrier (ctx->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
        VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    if (irc_vk_submit_wait (vb) != IRC_OK)
      break;
    if (!vb->down.coherent) {
      VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
          .memory = vb->down.mem, .size = VK_WHOLE_SIZE};
      ctx->f.vkInvalidateMappedMemoryRanges (ctx->device, 1, &r);
    }
    irc_vk_unpack (vb, host, vb->down.map, n);
    host += n, off += n, count -= n;
  } while (count > 0);
  return irc_vk_report (vb, err);
}

