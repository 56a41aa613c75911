/* vk_context: opening a Vulkan device without linking the loader (dlopen), the
 * device choice (environment, index, then discrete > integrated > CPU), the
 * one queue/command buffer/fence the backend records into, and buffers. */
#include "vk_context.h"
#include "vk_pipelines.h"
#include "backend.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ullong n_dispatches, n_submits, n_validation_errors;
static atomic_ullong pipe_ns[IRC_VULKAN_MAX_PIPES], pipe_runs[IRC_VULKAN_MAX_PIPES];
_Static_assert (IRC_VK_N_PIPES <= IRC_VULKAN_MAX_PIPES, "irc_vulkan_counters has too few pipes");
static char last_device[256];
static pthread_mutex_t last_device_lock = PTHREAD_MUTEX_INITIALIZER;

void
irc_vk_count (int dispatches, int submits)
{
  atomic_fetch_add (&n_dispatches, (unsigned long long) dispatches);
  atomic_fetch_add (&n_submits, (unsigned long long) submits);
}

void
irc_vk_count_time (int pipe, uint64_t ns)
{
  if (pipe < 0 || pipe >= IRC_VK_N_PIPES)
    return;
  atomic_fetch_add (&pipe_ns[pipe], (unsigned long long) ns);
  atomic_fetch_add (&pipe_runs[pipe], 1ull);
}

void
irc_backend_vulkan_counters (irc_vulkan_counters *out)
{
  memset (out, 0, sizeof *out);
  for (int i = 0; i < IRC_VK_N_PIPES; i++) {
    out->pipe_ns[i] = atomic_load (&pipe_ns[i]);
    out->pipe_runs[i] = atomic_load (&pipe_runs[i]);
    out->pipe_name[i] = irc_vk_pipe_name ((irc_vk_pipe) i);
  }
  out->dispatches = atomic_load (&n_dispatches);
  out->submits = atomic_load (&n_submits);
  out->validation_errors = atomic_load (&n_validation_errors);
  pthread_mutex_lock (&last_device_lock);
  memcpy (out->device, last_device, sizeof out->device);
  pthread_mutex_unlock (&last_device_lock);
  out->device[sizeof out->device - 1] = 0;
}

const char *
irc_vk_result_name (VkResult r)
{
  switch (r) {
#define R(x) case x: return #x;
    R (VK_SUCCESS) R (VK_NOT_READY) R (VK_TIMEOUT) R (VK_INCOMPLETE)
    R (VK_ERROR_OUT_OF_HOST_MEMORY) R (VK_ERROR_OUT_OF_DEVICE_MEMORY)
    R (VK_ERROR_INITIALIZATION_FAILED) R (VK_ERROR_DEVICE_LOST)
    R (VK_ERROR_MEMORY_MAP_FAILED) R (VK_ERROR_LAYER_NOT_PRESENT)
    R (VK_ERROR_EXTENSION_NOT_PRESENT) R (VK_ERROR_FEATURE_NOT_PRESENT)
    R (VK_ERROR_INCOMPATIBLE_DRIVER) R (VK_ERROR_TOO_MANY_OBJECTS)
    R (VK_ERROR_FORMAT_NOT_SUPPORTED) R (VK_ERROR_FRAGMENTED_POOL) R (VK_ERROR_UNKNOWN)
    R (VK_ERROR_OUT_OF_POOL_MEMORY) R (VK_ERROR_INVALID_EXTERNAL_HANDLE)
    R (VK_ERROR_FRAGMENTATION) R (VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    R (VK_PIPELINE_COMPILE_REQUIRED)
#undef R
    default: return "VK_RESULT_UNKNOWN";
  }
}

irc_status
irc_vk_check (irc_vk_context *ctx, VkResult r, const char *where, irc_error *err)
{
  if (r == VK_SUCCESS)
    return IRC_OK;
  if (r == VK_ERROR_DEVICE_LOST && ctx)
    ctx->lost = 1;
  return irc_fail (err, IRC_ERR_BACKEND, "vulkan: %s failed: %s (%d)%s", where,
      irc_vk_result_name (r), (int) r,
      r == VK_ERROR_DEVICE_LOST ? "; the device was lost, recreate the network" : "");
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_validation (VkDebugUtilsMessageSeverityFlagBitsEXT severity,
    VkDebugUtilsMessageTypeFlagsEXT types, const VkDebugUtilsMessengerCallbackDataEXT *data,
    void *user)
{
  irc_vk_context *ctx = user;
  (void) types;
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    if (ctx->validation_errors++ == 0)
      snprintf (ctx->first_validation_error, sizeof ctx->first_validation_error, "%s",
          data->pMessage ? data->pMessage : "(no message)");
    atomic_fetch_add (&n_validation_errors, 1);
  }
  return VK_FALSE;
}

static int
has_layer (irc_vk_context *ctx, const char *name)
{
  uint32_t n = 0;
  if (ctx->f.vkEnumerateInstanceLayerProperties (&n, NULL) != VK_SUCCESS || !n)
    return 0;
  VkLayerProperties *p = calloc (n, sizeof *p);
  int found = 0;
  if (p && ctx->f.vkEnumerateInstanceLayerProperties (&n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++)
      found |= !strcmp (p[i].layerName, name);
  free (p);
  return found;
}

static irc_status
open_loader (irc_vk_context *ctx, irc_error *err)
{
  const char *lib = getenv ("IRC_VULKAN_LOADER");
  if (!lib || !*lib)
    lib = "libvulkan.so.1";
  ctx->lib = dlopen (lib, RTLD_NOW | RTLD_LOCAL);
  if (!ctx->lib)
    return irc_fail (err, IRC_ERR_UNSUPPORTED,
        "vulkan: no Vulkan loader on this machine (%s: %s); install libvulkan1 and a driver",
        lib, dlerror ());
  void *sym = dlsym (ctx->lib, "vkGetInstanceProcAddr");
  if (!sym)
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: %s has no vkGetInstanceProcAddr", lib);
  memcpy (&ctx->f.vkGetInstanceProcAddr, &sym, sizeof sym);
#define LOAD(name) \
  ctx->f.name = (PFN_##name) ctx->f.vkGetInstanceProcAddr (NULL, #name); \
  if (!ctx->f.name) \
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: the loader lacks %s", #name);
  IRC_VK_GLOBAL_FUNCS (LOAD)
#undef LOAD
  PFN_vkEnumerateInstanceVersion version = (PFN_vkEnumerateInstanceVersion)
      ctx->f.vkGetInstanceProcAddr (NULL, "vkEnumerateInstanceVersion");
  uint32_t v = VK_API_VERSION_1_0;
  if (version)
    version (&v);
  if (v < VK_API_VERSION_1_2)
    return irc_fail (err, IRC_ERR_UNSUPPORTED,
        "vulkan: the loader supports Vulkan %u.%u; the backend needs 1.2",
        VK_API_VERSION_MAJOR (v), VK_API_VERSION_MINOR (v));
  return IRC_OK;
}

/* Whether the environment variable @name asks for its behaviour: set,
 * non-empty and not "0". */
static int
env_flag (const char *name)
{
  const char *v = getenv (name);
  return v && *v && strcmp (v, "0");
}

static irc_status
create_instance (irc_vk_context *ctx, irc_error *err)
{
  ctx->validating = env_flag ("IRC_VULKAN_VALIDATION");
  const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
  const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  if (ctx->validating && !has_layer (ctx, layers[0]))
    return irc_fail (err, IRC_ERR_UNSUPPORTED,
        "vulkan: IRC_VULKAN_VALIDATION is set but %s is not installed", layers[0]);
  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "libirc", .pEngineName = "irconstyle",
    .apiVersion = VK_API_VERSION_1_2,
  };
  /* synchronisation validation checks our barriers, the part easiest to get wrong */
  VkValidationFeatureEnableEXT enables[] = {
    VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features = {
    .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
    .enabledValidationFeatureCount = 1, .pEnabledValidationFeatures = enables,
  };
  VkDebugUtilsMessengerCreateInfoEXT mci = {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .pNext = &features,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT
        | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT
        | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT
        | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = on_validation, .pUserData = ctx,
  };
  VkInstanceCreateInfo ici = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pNext = ctx->validating ? &mci : NULL,
    .pApplicationInfo = &app,
    .enabledLayerCount = ctx->validating ? 1 : 0, .ppEnabledLayerNames = layers,
    .enabledExtensionCount = ctx->validating ? 1 : 0, .ppEnabledExtensionNames = exts,
  };
  irc_status st = irc_vk_check (ctx, ctx->f.vkCreateInstance (&ici, NULL, &ctx->instance),
      "vkCreateInstance", err);
  if (st != IRC_OK)
    return st;
#define LOAD(name) \
  ctx->f.name = (PFN_##name) ctx->f.vkGetInstanceProcAddr (ctx->instance, #name); \
  if (!ctx->f.name) \
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: the instance lacks %s", #name);
  IRC_VK_INSTANCE_FUNCS (LOAD)
  if (ctx->validating) {
    LOAD (vkCreateDebugUtilsMessengerEXT)
    LOAD (vkDestroyDebugUtilsMessengerEXT)
#undef LOAD
    mci.pNext = NULL;
    st = irc_vk_check (ctx, ctx->f.vkCreateDebugUtilsMessengerEXT (ctx->instance, &mci, NULL,
        &ctx->messenger), "vkCreateDebugUtilsMessengerEXT", err);
  }
  return st;
}

static int
type_rank (VkPhysicalDeviceType t)
{
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

/* NULL when @pd can run the backend, else why not. */
static const char *
unusable (irc_vk_context *ctx, VkPhysicalDevice pd, uint32_t *family)
{
  VkPhysicalDeviceProperties p;
  ctx->f.vkGetPhysicalDeviceProperties (pd, &p);
  if (p.apiVersion < VK_API_VERSION_1_2)
    return "it supports Vulkan 1.1 or older (1.2 needed)";
  VkPhysicalDeviceVulkan12Features f12 = {.sType =
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = &f12};
  ctx->f.vkGetPhysicalDeviceFeatures2 (pd, &f);
  if (!f12.bufferDeviceAddress)
    return "it lacks bufferDeviceAddress";
  uint32_t n = 0;
  ctx->f.vkGetPhysicalDeviceQueueFamilyProperties (pd, &n, NULL);
  VkQueueFamilyProperties q[64];
  if (n > 64)
    n = 64;
  ctx->f.vkGetPhysicalDeviceQueueFamilyProperties (pd, &n, q);
  /* prefer a compute queue that also does graphics: the "universal" one is
   * the fastest path on most drivers */
  int best = -1;
  for (uint32_t i = 0; i < n; i++)
    if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
        && (best < 0 || (q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
      best = (int) i;
  if (best < 0)
    return "it has no compute queue";
  *family = (uint32_t) best;
  return NULL;
}

static int
all_digits (const char *s)
{
  for (; *s; s++)
    if (!isdigit ((unsigned char) *s))
      return 0;
  return 1;
}

static int
name_contains (const char *name, const char *part)
{
  for (; *name; name++) {
    size_t i = 0;
    while (part[i] && name[i] && tolower ((unsigned char) name[i])
        == tolower ((unsigned char) part[i]))
      i++;
    if (!part[i])
      return 1;
  }
  return 0;
}

static irc_status
choose_device (irc_vk_context *ctx, int index, int gpu_only, irc_error *err)
{
  uint32_t n = 0;
  irc_status st = irc_vk_check (ctx, ctx->f.vkEnumeratePhysicalDevices (ctx->instance, &n,
      NULL), "vkEnumeratePhysicalDevices", err);
  if (st != IRC_OK)
    return st;
  if (n == 0)
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: no Vulkan device on this machine");
  VkPhysicalDevice pds[16];
  if (n > 16)
    n = 16;
  VkResult r = ctx->f.vkEnumeratePhysicalDevices (ctx->instance, &n, pds);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE)
    return irc_vk_check (ctx, r, "vkEnumeratePhysicalDevices", err);
  char list[256] = "";
  VkPhysicalDeviceProperties p[16];
  for (uint32_t i = 0; i < n; i++) {
    ctx->f.vkGetPhysicalDeviceProperties (pds[i], &p[i]);
    size_t len = strlen (list);
    snprintf (list + len, sizeof list - len, "%s%u: %s", i ? ", " : "", i, p[i].deviceName);
  }
  const char *env = getenv ("IRC_VULKAN_DEVICE");
  int pick = -1;
  if (env && *env) {
    for (uint32_t i = 0; i < n && pick < 0; i++)
      if (all_digits (env) ? (uint32_t) atoi (env) == i : name_contains (p[i].deviceName, env))
        pick = (int) i;
    if (pick < 0)
      return irc_fail (err, IRC_ERR_INVALID,
          "vulkan: IRC_VULKAN_DEVICE=%s names no device (devices: %s)", env, list);
  } else if (index >= 0) {
    if ((uint32_t) index >= n)
      return irc_fail (err, IRC_ERR_INVALID, "vulkan: no device %d (devices: %s)", index, list);
    pick = index;
  }
  uint32_t family = 0;
  if (pick >= 0) {
    const char *why = unusable (ctx, pds[pick], &family);
    if (why)
      return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: device %d (%s) cannot be used: %s",
          pick, p[pick].deviceName, why);
  } else {
    int best_rank = -1;
    const char *why = NULL;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t fam;
      const char *w = unusable (ctx, pds[i], &fam);
      if (w) {
        why = w;
        continue;
      }
      if (type_rank (p[i].deviceType) > best_rank) {
        best_rank = type_rank (p[i].deviceType);
        pick = (int) i;
        family = fam;
      }
    }
    if (pick < 0)
      return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: no usable device (%s: %s)", list,
          why);
    if (gpu_only && best_rank <= type_rank (VK_PHYSICAL_DEVICE_TYPE_CPU))
      return irc_fail (err, IRC_ERR_UNSUPPORTED,
          "vulkan: no GPU, only a CPU Vulkan device (%s)", list);
  }
  ctx->phys = pds[pick];
  ctx->props = p[pick];
  ctx->queue_family = family;
  ctx->f.vkGetPhysicalDeviceMemoryProperties (ctx->phys, &ctx->mem);
  VkPhysicalDeviceMaintenance3Properties m3 = {.sType =
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
      .pNext = &m3};
  ctx->f.vkGetPhysicalDeviceProperties2 (ctx->phys, &p2);
  ctx->max_alloc = m3.maxMemoryAllocationSize;
  pthread_mutex_lock (&last_device_lock);
  snprintf (last_device, sizeof last_device, "%s", ctx->props.deviceName);
  pthread_mutex_unlock (&last_device_lock);
  return IRC_OK;
}

/* 16-bit storage is asked for: the chosen device must have it. */
static irc_status
check_fp16 (irc_vk_context *ctx, irc_error *err)
{
  VkPhysicalDeviceVulkan11Features f11 = {.sType =
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = &f11};
  ctx->f.vkGetPhysicalDeviceFeatures2 (ctx->phys, &f);
  if (env_flag ("IRC_VULKAN_NO_16BIT_STORAGE"))
    f11.storageBuffer16BitAccess = VK_FALSE;
  if (!f11.storageBuffer16BitAccess)
    return irc_fail (err, IRC_ERR_UNSUPPORTED,
        "vulkan: fp16 storage was requested but %s lacks 16-bit storage buffers "
        "(storageBuffer16BitAccess); use fp32 storage (vulkan_fp16 0) on it",
        ctx->props.deviceName);
  return IRC_OK;
}

static irc_status
create_device (irc_vk_context *ctx, irc_error *err)
{
  const float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = ctx->queue_family, .queueCount = 1, .pQueuePriorities = &prio,
  };
  /* 16-bit storage only when asked for: the fp32 device stays as it was */
  VkPhysicalDeviceVulkan11Features f11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .storageBuffer16BitAccess = ctx->fp16 ? VK_TRUE : VK_FALSE,
  };
  VkPhysicalDeviceVulkan12Features f12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = ctx->fp16 ? &f11 : NULL,
    .bufferDeviceAddress = VK_TRUE,
  };
  VkDeviceCreateInfo dci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f12,
    .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
  };
  irc_status st = irc_vk_check (ctx, ctx->f.vkCreateDevice (ctx->phys, &dci, NULL,
      &ctx->device), "vkCreateDevice", err);
  if (st != IRC_OK)
    return st;
#define LOAD(name) \
  ctx->f.name = (PFN_##name) ctx->f.vkGetDeviceProcAddr (ctx->device, #name); \
  if (!ctx->f.name) \
    return irc_fail (err, IRC_ERR_UNSUPPORTED, "vulkan: the device lacks %s", #name);
  IRC_VK_DEVICE_FUNCS (LOAD)
#undef LOAD
  ctx->f.vkGetDeviceQueue (ctx->device, ctx->queue_family, 0, &ctx->queue);
  VkCommandPoolCreateInfo pci = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT, .queueFamilyIndex = ctx->queue_family,
  };
  if ((st = irc_vk_check (ctx, ctx->f.vkCreateCommandPool (ctx->device, &pci, NULL,
      &ctx->pool), "vkCreateCommandPool", err)) != IRC_OK)
    return st;
  VkCommandBufferAllocateInfo cai = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = ctx->pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
  };
  if ((st = irc_vk_check (ctx, ctx->f.vkAllocateCommandBuffers (ctx->device, &cai, &ctx->cmd),
      "vkAllocateCommandBuffers", err)) != IRC_OK)
    return st;
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if ((st = irc_vk_check (ctx, ctx->f.vkCreateFence (ctx->device, &fci, NULL, &ctx->fence),
      "vkCreateFence", err)) != IRC_OK)
    return st;
  /* the profile is for benchmarks: asked for by the environment, and quietly
   * absent on a device that cannot time compute work */
  if (env_flag ("IRC_VULKAN_PROFILE") && ctx->props.limits.timestampComputeAndGraphics
      && ctx->props.limits.timestampPeriod > 0) {
    VkQueryPoolCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
      .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = IRC_VK_PROFILE_QUERIES,
    };
    if ((st = irc_vk_check (ctx, ctx->f.vkCreateQueryPool (ctx->device, &qci, NULL,
        &ctx->profile), "vkCreateQueryPool", err)) != IRC_OK)
      return st;
    ctx->timestamp_ns = ctx->props.limits.timestampPeriod;
  }
  VkPipelineCacheCreateInfo cci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  return irc_vk_check (ctx, ctx->f.vkCreatePipelineCache (ctx->device, &cci, NULL,
      &ctx->cache), "vkCreatePipelineCache", err);
}

irc_status
irc_vk_context_new (int device, int gpu_only, int fp16, irc_vk_context **out, irc_error *err)
{
  irc_vk_context *ctx = calloc (1, sizeof *ctx);
  if (!ctx)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  irc_status st = open_loader (ctx, err);
  if (st == IRC_OK)
    st = create_instance (ctx, err);
  if (st == IRC_OK)
    st = choose_device (ctx, device, gpu_only, err);
  if (st == IRC_OK && fp16)
    st = check_fp16 (ctx, err);
  ctx->fp16 = fp16 != 0;
  if (st == IRC_OK)
    st = create_device (ctx, err);
  if (st != IRC_OK) {
    irc_vk_context_free (ctx);
    return st;
  }
  *out = ctx;
  return IRC_OK;
}

void
irc_vk_context_free (irc_vk_context *ctx)
{
  if (!ctx)
    return;
  if (ctx->device) {
    ctx->f.vkDeviceWaitIdle (ctx->device);
    if (ctx->cache)
      ctx->f.vkDestroyPipelineCache (ctx->device, ctx->cache, NULL);
    if (ctx->fence)
      ctx->f.vkDestroyFence (ctx->device, ctx->fence, NULL);
    if (ctx->profile)
      ctx->f.vkDestroyQueryPool (ctx->device, ctx->profile, NULL);
    if (ctx->pool)
      ctx->f.vkDestroyCommandPool (ctx->device, ctx->pool, NULL);
    ctx->f.vkDestroyDevice (ctx->device, NULL);
  }
  if (ctx->messenger)
    ctx->f.vkDestroyDebugUtilsMessengerEXT (ctx->instance, ctx->messenger, NULL);
  if (ctx->instance)
    ctx->f.vkDestroyInstance (ctx->instance, NULL);
  if (ctx->lib)
    dlclose (ctx->lib);
  free (ctx);
}

static int
find_memory (const irc_vk_context *ctx, uint32_t bits, VkMemoryPropertyFlags want)
{
  for (uint32_t i = 0; i < ctx->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (ctx->mem.memoryTypes[i].propertyFlags & want) == want)
      return (int) i;
  return -1;
}

irc_status
irc_vk_buffer_new (irc_vk_context *ctx, VkDeviceSize size, irc_vk_mem_kind kind,
    const char *what, irc_vk_buffer *out, irc_error *err)
{
  memset (out, 0, sizeof *out);
  if (size == 0)
    size = 4;
  /* the shaders index floats with 32-bit integers the driver may treat as
   * signed: 2^31 floats is the most one buffer can hold for them */
  const VkDeviceSize limit = (VkDeviceSize) 1 << 33;
  if (size > limit || (ctx->max_alloc && size > ctx->max_alloc))
    return irc_fail (err, IRC_ERR_UNSUPPORTED,
        "vulkan: %s needs %llu MB in one buffer; %s allows %llu MB (use smaller frames)", what,
        (unsigned long long) (size >> 20), ctx->props.deviceName,
        (unsigned long long) ((ctx->max_alloc && ctx->max_alloc < limit ? ctx->max_alloc
        : limit) >> 20));
  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
    .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  if (kind == IRC_VK_MEM_DEVICE)
    bci.usage |= VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
        | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  char where[128];
  snprintf (where, sizeof where, "vkCreateBuffer (%s)", what);
  irc_status st = irc_vk_check (ctx, ctx->f.vkCreateBuffer (ctx->device, &bci, NULL,
      &out->buf), where, err);
  if (st != IRC_OK)
    return st;
  out->size = size;
  VkMemoryRequirements req;
  ctx->f.vkGetBufferMemoryRequirements (ctx->device, out->buf, &req);
  const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
      HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  int type = -1;
  if (kind == IRC_VK_MEM_DEVICE) {
    type = find_memory (ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (type < 0)
      type = find_memory (ctx, req.memoryTypeBits, 0);
  } else {
    /* reading back from uncached memory is very slow on discrete GPUs */
    if (kind == IRC_VK_MEM_DOWNLOAD)
      type = find_memory (ctx, req.memoryTypeBits, HV | CA);
    if (type < 0)
      type = find_memory (ctx, req.memoryTypeBits, HV | HC);
    if (type < 0)
      type = find_memory (ctx, req.memoryTypeBits, HV);
  }
  if (type < 0) {
    irc_vk_buffer_free (ctx, out);
    return irc_fail (err, IRC_ERR_BACKEND, "vulkan: no memory type for %s", what);
  }
  VkMemoryAllocateFlagsInfo flags = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
    .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT,
  };
  VkMemoryAllocateInfo mai = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .pNext = kind == IRC_VK_MEM_DEVICE ? &flags : NULL,
    .allocationSize = req.size, .memoryTypeIndex = (uint32_t) type,
  };
  snprintf (where, sizeof where, "vkAllocateMemory (%s, %llu MB)", what,
      (unsigned long long) (req.size >> 20));
  st = irc_vk_check (ctx, ctx->f.vkAllocateMemory (ctx->device, &mai, NULL, &out->mem), where,
      err);
  if (st == IRC_OK)
    st = irc_vk_check (ctx, ctx->f.vkBindBufferMemory (ctx->device, out->buf, out->mem, 0),
        "vkBindBufferMemory", err);
  if (st == IRC_OK && kind != IRC_VK_MEM_DEVICE) {
    out->coherent = (ctx->mem.memoryTypes[type].propertyFlags & HC) != 0;
    st = irc_vk_check (ctx, ctx->f.vkMapMemory (ctx->device, out->mem, 0, VK_WHOLE_SIZE, 0,
        &out->map), "vkMapMemory", err);
  }
  if (st == IRC_OK && kind == IRC_VK_MEM_DEVICE) {
    VkBufferDeviceAddressInfo ai = {.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO,
        .buffer = out->buf};
    out->addr = ctx->f.vkGetBufferDeviceAddress (ctx->device, &ai);
  }
  if (st != IRC_OK)
    irc_vk_buffer_free (ctx, out);
  return st;
}

void
irc_vk_buffer_free (irc_vk_context *ctx, irc_vk_buffer *b)
{
  if (b->buf)
    ctx->f.vkDestroyBuffer (ctx->device, b->buf, NULL);
  if (b->mem)
    ctx->f.vkFreeMemory (ctx->device, b->mem, NULL);   /* unmaps too */
  memset (b, 0, sizeof *b);
}
