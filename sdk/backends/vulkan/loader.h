// The Vulkan loader (libvulkan), opened at run time: a build with the Vulkan backend starts
// and runs on the CPU where libvulkan is missing. Every Vulkan entry point the backend calls
// is in the lists below, resolved once through vkGetInstanceProcAddr / vkGetDeviceProcAddr
// into a Functions table. The backend is compiled with VK_NO_PROTOTYPES (CMake), so no call
// can bypass the table: include this header, never <vulkan/vulkan.h> directly.
#pragma once

#ifndef VK_NO_PROTOTYPES
#error "the Vulkan backend is compiled with VK_NO_PROTOTYPES (sdk/backends/vulkan/CMakeLists.txt)"
#endif
#include <vulkan/vulkan.h>

#include "sdk/base/status.h"

namespace kite::vulkan {

/// Names of libvulkan tried in order: the run-time package's (libvulkan1) soname, then the
/// development symlink.
inline constexpr const char* kLoaderNames[] = {"libvulkan.so.1", "libvulkan.so"};

/// Test hook: when set, the name or path of the only library tried instead of
/// kLoaderNames (e.g. /nonexistent/libvulkan.so.1 to test a machine without the loader).
inline constexpr char kLoaderEnv[] = "KITE_VULKAN_LOADER";

// The entry points, each written once as X(Name) for vkName, by how they are resolved.
// Global: through vkGetInstanceProcAddr(NULL, ...).
#define KITE_VK_GLOBAL_FUNCTIONS(X) X(CreateInstance)
// Instance-level: through vkGetInstanceProcAddr(instance, ...).
#define KITE_VK_INSTANCE_FUNCTIONS(X)                                                        \
  X(DestroyInstance) X(EnumeratePhysicalDevices) X(GetPhysicalDeviceProperties)              \
  X(GetPhysicalDeviceProperties2) X(GetPhysicalDeviceFeatures2)                              \
  X(GetPhysicalDeviceQueueFamilyProperties) X(GetPhysicalDeviceMemoryProperties)             \
  X(EnumerateDeviceExtensionProperties) X(CreateDevice) X(GetDeviceProcAddr)
// Device-level: through vkGetDeviceProcAddr(device, ...).
#define KITE_VK_DEVICE_FUNCTIONS(X)                                                          \
  X(DestroyDevice) X(GetDeviceQueue) X(DeviceWaitIdle) X(QueueSubmit)                        \
  X(CreateBuffer) X(DestroyBuffer) X(GetBufferMemoryRequirements) X(AllocateMemory)          \
  X(FreeMemory) X(BindBufferMemory) X(MapMemory)                                             \
  X(CreateShaderModule) X(DestroyShaderModule) X(CreateDescriptorSetLayout)                  \
  X(DestroyDescriptorSetLayout) X(CreatePipelineLayout) X(DestroyPipelineLayout)             \
  X(CreateComputePipelines) X(DestroyPipeline) X(CreateDescriptorPool)                       \
  X(DestroyDescriptorPool) X(AllocateDescriptorSets) X(UpdateDescriptorSets)                 \
  X(CreateCommandPool) X(DestroyCommandPool) X(AllocateCommandBuffers)                       \
  X(ResetCommandBuffer) X(BeginCommandBuffer) X(EndCommandBuffer)                            \
  X(CreateFence) X(DestroyFence) X(ResetFences) X(WaitForFences)                             \
  X(CreateEvent) X(DestroyEvent) X(SetEvent)                                                 \
  X(CreateQueryPool) X(DestroyQueryPool) X(GetQueryPoolResults)                              \
  X(CmdBindPipeline) X(CmdBindDescriptorSets) X(CmdPushConstants) X(CmdDispatch)             \
  X(CmdPipelineBarrier) X(CmdCopyBuffer) X(CmdFillBuffer) X(CmdWaitEvents)                   \
  X(CmdResetQueryPool) X(CmdWriteTimestamp)
// Device-level, of optional extensions: null when the driver does not give them (the
// extension is absent); callers check. VK_EXT_external_memory_host (host_import.h).
#define KITE_VK_OPTIONAL_DEVICE_FUNCTIONS(X) X(GetMemoryHostPointerPropertiesEXT)

/// The entry points: member Name is vkName (null until resolved). A Device fills its own
/// (the instance and device functions are valid for that instance and device only).
struct Functions {
  PFN_vkGetInstanceProcAddr GetInstanceProcAddr = nullptr;
#define KITE_VK_MEMBER(name) PFN_vk##name name = nullptr;
  KITE_VK_GLOBAL_FUNCTIONS(KITE_VK_MEMBER)
  KITE_VK_INSTANCE_FUNCTIONS(KITE_VK_MEMBER)
  KITE_VK_DEVICE_FUNCTIONS(KITE_VK_MEMBER)
  KITE_VK_OPTIONAL_DEVICE_FUNCTIONS(KITE_VK_MEMBER)
#undef KITE_VK_MEMBER
};

/// Opens libvulkan (kLoaderNames, or the library kLoaderEnv names) on first use and fills
/// `vk`'s GetInstanceProcAddr and global functions. The first library that loads is kept for
/// the life of the process; a failure is not kept (a later call tries again). Errors
/// (kUnsupported): no loader ("Vulkan loader libvulkan.so.1 not found: install libvulkan1
/// ..."), a library without vkGetInstanceProcAddr, or a global function it does not give.
/// Thread-safe.
Status LoadGlobalFunctions(Functions* vk);

/// Fills the instance-level functions of `vk` for `instance` (vk's global functions are
/// loaded). Errors: a function the loader does not give (kUnsupported, naming it).
Status LoadInstanceFunctions(VkInstance instance, Functions* vk);

/// Fills the device-level functions of `vk` for `device` (vk's instance functions are
/// loaded), and the optional ones the driver gives (the others stay null). Errors: a
/// required function the driver does not give (kUnsupported, naming it).
Status LoadDeviceFunctions(VkDevice device, Functions* vk);

}  // namespace kite::vulkan
