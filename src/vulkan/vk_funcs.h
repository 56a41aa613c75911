/* vk_funcs: every Vulkan entry point the backend uses, as one X-macro list, so
 * that the loader is opened at run time (dlopen) and libirc still works on a
 * machine without one. */
#ifndef IRC_VK_FUNCS_H
#define IRC_VK_FUNCS_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

/* resolved with vkGetInstanceProcAddr (NULL) */
#define IRC_VK_GLOBAL_FUNCS(X) \
  X (vkCreateInstance) \
  X (vkEnumerateInstanceExtensionProperties) \
  X (vkEnumerateInstanceLayerProperties)

/* resolved with vkGetInstanceProcAddr (instance) */
#define IRC_VK_INSTANCE_FUNCS(X) \
  X (vkDestroyInstance) \
  X (vkEnumeratePhysicalDevices) \
  X (vkGetPhysicalDeviceProperties) \
  X (vkGetPhysicalDeviceProperties2) \
  X (vkGetPhysicalDeviceFeatures2) \
  X (vkGetPhysicalDeviceQueueFamilyProperties) \
  X (vkGetPhysicalDeviceMemoryProperties) \
  X (vkCreateDevice) \
  X (vkGetDeviceProcAddr)

/* resolved with vkGetDeviceProcAddr */
#define IRC_VK_DEVICE_FUNCS(X) \
  X (vkDestroyDevice) \
  X (vkGetDeviceQueue) \
  X (vkDeviceWaitIdle) \
  X (vkCreateBuffer) \
  X (vkDestroyBuffer) \
  X (vkGetBufferMemoryRequirements) \
  X (vkAllocateMemory) \
  X (vkFreeMemory) \
  X (vkBindBufferMemory) \
  X (vkMapMemory) \
  X (vkInvalidateMappedMemoryRanges) \
  X (vkFlushMappedMemoryRanges) \
  X (vkGetBufferDeviceAddress) \
  X (vkCreateShaderModule) \
  X (vkDestroyShaderModule) \
  X (vkCreatePipelineLayout) \
  X (vkDestroyPipelineLayout) \
  X (vkCreateComputePipelines) \
  X (vkDestroyPipeline) \
  X (vkCreatePipelineCache) \
  X (vkDestroyPipelineCache) \
  X (vkGetPipelineCacheData) \
  X (vkCreateCommandPool) \
  X (vkDestroyCommandPool) \
  X (vkAllocateCommandBuffers) \
  X (vkResetCommandPool) \
  X (vkBeginCommandBuffer) \
  X (vkEndCommandBuffer) \
  X (vkCmdBindPipeline) \
  X (vkCmdPushConstants) \
  X (vkCmdDispatch) \
  X (vkCmdPipelineBarrier) \
  X (vkCmdCopyBuffer) \
  X (vkQueueSubmit) \
  X (vkCreateFence) \
  X (vkDestroyFence) \
  X (vkWaitForFences) \
  X (vkResetFences) \
  X (vkCreateQueryPool) \
  X (vkDestroyQueryPool) \
  X (vkCmdResetQueryPool) \
  X (vkCmdWriteTimestamp) \
  X (vkGetQueryPoolResults)

#define IRC_VK_DECLARE(name) PFN_##name name;

typedef struct {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  IRC_VK_GLOBAL_FUNCS (IRC_VK_DECLARE)
  IRC_VK_INSTANCE_FUNCS (IRC_VK_DECLARE)
  IRC_VK_DEVICE_FUNCS (IRC_VK_DECLARE)
  /* VK_EXT_debug_utils, only when validating */
  PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
  PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
} irc_vk_fns;

#endif
