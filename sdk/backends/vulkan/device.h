// A Vulkan device for Kite's compute shaders: the instance, the chosen physical device, one
// compute queue, and one reusable command buffer with its fence.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "sdk/backends/vulkan/requirements.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Name of the environment variable that lets Device::Create pick a CPU device (lavapipe):
/// "1" allows it. The tests set it; users set it to try the backend without a GPU.
inline constexpr char kAllowCpuEnv[] = "KITE_VULKAN_ALLOW_CPU";

/// How Device::Create chooses.
struct DeviceOptions {
  /// Also accept a CPU device (VK_PHYSICAL_DEVICE_TYPE_CPU, e.g. lavapipe), ranked below
  /// every GPU. Off: only GPUs (discrete, integrated, virtual, other) are considered.
  bool allow_cpu = false;
};

/// DeviceOptions with allow_cpu set when the environment variable kAllowCpuEnv is "1".
/// Reads the environment: not thread-safe against concurrent setenv.
DeviceOptions DeviceOptionsFromEnvironment();

/// An open device. Move-only; the destructor waits for the device to go idle and releases
/// everything. One thread at a time: Begin/SubmitAndWait share one command buffer.
class Device {
 public:
  /// Creates an instance (Vulkan 1.1, no layers or extensions) and opens the best device:
  /// a discrete GPU, then integrated, virtual, other, and a CPU device last (only with
  /// options.allow_cpu), among those passing CheckRequirements. Without one: a Status
  /// (Error::kUnsupported) naming every device seen and why it was skipped, or saying that
  /// no Vulkan driver is installed. Never aborts.
  static Result<Device> Create(const DeviceOptions& options);

  Device(Device&& other);
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  Device& operator=(Device&&) = delete;
  ~Device();

  VkDevice handle() const { return device_; }
  VkPhysicalDevice physical() const { return physical_; }
  /// Properties and limits of the chosen device (deviceName, limits, ...).
  const VkPhysicalDeviceProperties& properties() const { return properties_; }
  /// The facts CheckRequirements passed on.
  const DeviceFacts& facts() const { return facts_; }
  /// Largest workgroup size the shaders may use here (MaxWorkgroupSize of facts()).
  uint32_t max_workgroup_size() const { return MaxWorkgroupSize(facts_); }

  /// Index of a memory type allowed by `type_bits` (VkMemoryRequirements::memoryTypeBits)
  /// with all of `flags`, preferring one that is also DEVICE_LOCAL; -1 when there is none.
  int FindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags flags) const;

  /// Resets the command buffer and begins recording into it (one-time submit). The buffer
  /// is owned by the device; record into it, then call SubmitAndWait.
  Result<VkCommandBuffer> Begin();

  /// Ends the command buffer, submits it and waits for it at most `timeout_ns`. A timeout
  /// or a lost device returns an error and marks the device failed: every later Begin
  /// returns the same error (no hang, no crash).
  Status SubmitAndWait(uint64_t timeout_ns);

 private:
  Device() = default;
  void Release();

  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer commands_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties_ = {};
  VkPhysicalDeviceMemoryProperties memory_ = {};
  DeviceFacts facts_;
  Status failed_;  ///< not ok after a timeout or device loss
};

}  // namespace kite::vulkan
