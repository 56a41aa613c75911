/* vk_context: one Vulkan device opened for the backend (loader opened at run
 * time, instance, device choice, queue, command buffer, fence, pipeline
 * cache), device buffers, and VkResult -> irc_status with names. */
#ifndef IRC_VK_CONTEXT_H
#define IRC_VK_CONTEXT_H

#include "error.h"
#include "vk_funcs.h"

typedef struct {
  VkBuffer buf;
  VkDeviceMemory mem;
  VkDeviceSize size;
  VkDeviceAddress addr;   /* for shaders (buffer device address) */
  void *map;              /* host-visible buffers stay mapped; NULL otherwise */
  int coherent;
} irc_vk_buffer;

typedef enum {
  IRC_VK_MEM_DEVICE,      /* device-local, shader storage + transfer */
  IRC_VK_MEM_UPLOAD,      /* host-visible, written by the host, copied from */
  IRC_VK_MEM_DOWNLOAD,    /* host-visible (cached when possible), copied into */
} irc_vk_mem_kind;

typedef struct {
  irc_vk_fns f;
  void *lib;
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice phys;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  VkDeviceSize max_alloc;
  VkDevice device;
  uint32_t queue_family;
  VkQueue queue;
  VkCommandPool pool;
  VkCommandBuffer cmd;
  VkFence fence;
  VkPipelineCache cache;
  int lost;               /* VK_ERROR_DEVICE_LOST seen: later calls fail fast */
  /* storageBuffer16BitAccess enabled: tensors are stored as IEEE half floats
   * (the shaders' IRC_FP16 variant) */
  int fp16;
  /* with IRC_VULKAN_PROFILE set: a timestamp before and after each dispatch
   * (IRC_VK_PROFILE_QUERIES per submission), ticks of timestamp_ns */
  VkQueryPool profile;
  double timestamp_ns;
  /* with IRC_VULKAN_VALIDATION set: the validation layer's messages */
  int validating;
  unsigned validation_errors;
  char first_validation_error[384];
} irc_vk_context;

/* Opens the device to use. The environment variable IRC_VULKAN_DEVICE (an
 * index or part of a device name) forces one; otherwise @device >= 0 picks by
 * index; otherwise the best kind present: discrete > integrated > virtual >
 * CPU (lavapipe), where @gpu_only refuses a CPU device. IRC_VULKAN_LOADER
 * names another loader library (tests use it to simulate a machine without).
 * With @fp16 the device is opened with 16-bit storage (ctx->fp16); a chosen
 * device without storageBuffer16BitAccess is IRC_ERR_UNSUPPORTED, never a
 * silent fp32 (IRC_VULKAN_NO_16BIT_STORAGE set makes every device look like
 * one without, for tests). */
irc_status irc_vk_context_new (int device, int gpu_only, int fp16, irc_vk_context **out,
    irc_error *err);

/* Waits for the device and frees everything. NULL-safe. */
void irc_vk_context_free (irc_vk_context *ctx);

/* IRC_OK for VK_SUCCESS, else IRC_ERR_BACKEND with "@where: VK_ERROR_...";
 * remembers device loss. */
irc_status irc_vk_check (irc_vk_context *ctx, VkResult r, const char *where, irc_error *err);

const char *irc_vk_result_name (VkResult r);

irc_status irc_vk_buffer_new (irc_vk_context *ctx, VkDeviceSize size, irc_vk_mem_kind kind,
    const char *what, irc_vk_buffer *out, irc_error *err);

/* NULL-safe on a zeroed buffer; leaves it zeroed. */
void irc_vk_buffer_free (irc_vk_context *ctx, irc_vk_buffer *b);

/* Process-wide counters (atomic), read by irc_backend_vulkan_counters(). */
void irc_vk_count (int dispatches, int submits);

/* Adds @ns of GPU time and one dispatch to pipeline @pipe's profile. */
void irc_vk_count_time (int pipe, uint64_t ns);

/* Timestamps per submission: two per dispatch. */
#define IRC_VK_PROFILE_QUERIES 4096

#endif
