// A Vulkan device for Kite's compute shaders: the instance, the chosen physical device, one
// compute queue shared by every thread (submissions serialised by a mutex), and one
// command stream of its own for single-threaded callers (the op tests).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/requirements.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Name of the environment variable that lets Device::Create pick a CPU device (lavapipe):
/// "1" allows it. The tests set it; users set it to try the backend without a GPU.
inline constexpr char kAllowCpuEnv[] = "KITE_VULKAN_ALLOW_CPU";

/// Name of the environment variable that chooses how the shaders compute a fused
/// multiply-add (FmaMode): "auto", "emulate" or "native"; unset is auto.
inline constexpr char kFmaEnv[] = "KITE_VULKAN_FMA";

/// How the shaders' FmaExact (shaders/fma_exact.glsl) computes a * b + c rounded once.
enum class FmaMode {
  /// Probe the device at creation (fma_probe.h): GLSL's fma() where it is fused, the
  /// emulation otherwise (and when the probe's answer is inconsistent).
  kAuto,
  /// Always the emulation from single-rounding fp32 operations (~20 of them): exact on
  /// every device.
  kEmulate,
  /// Always GLSL's fma(), fused or not: where the device rounds it twice (lavapipe), the
  /// results differ from the CPU's in the last bits (for tests of that path).
  kNative,
};

/// How Device::Create chooses.
struct DeviceOptions {
  /// Also accept a CPU device (VK_PHYSICAL_DEVICE_TYPE_CPU, e.g. lavapipe), ranked below
  /// every GPU. Off: only GPUs (discrete, integrated, virtual, other) are considered.
  bool allow_cpu = false;
  /// How FmaExact is computed (FmaMode).
  FmaMode fma = FmaMode::kAuto;
  /// Set by DeviceOptionsFromEnvironment to kFmaEnv's value when it is none of the
  /// accepted ones (static storage of the environment): Device::Create then refuses.
  const char* bad_fma = nullptr;
};

/// The FmaMode named `text` ("auto", "emulate", "native"; null is kAuto); false when
/// `text` names none. Pure.
bool ParseFmaMode(const char* text, FmaMode* mode);

/// DeviceOptions with allow_cpu set when the environment variable kAllowCpuEnv is "1",
/// and fma from kFmaEnv (ParseFmaMode; an unknown value goes to bad_fma).
/// Reads the environment: not thread-safe against concurrent setenv.
DeviceOptions DeviceOptionsFromEnvironment();

class CommandStream;

/// The device's compute queue and the lock around its submissions. Stable in memory while
/// the Device lives (moving the Device keeps it), so command streams may point at it.
struct SharedQueue {
  const Functions* vk = nullptr;  ///< the Device's entry points
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  /// vkQueueSubmit needs the queue externally synchronised: held around every submission.
  std::mutex mutex;
  char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE] = {};

  /// Submits `submit` to the queue, signalling `fence`, under the lock: safe from several
  /// threads at once. Errors: VkCheck of vkQueueSubmit.
  Status Submit(const VkSubmitInfo& submit, VkFence fence);
};

/// An open device. Move-only; the destructor waits for the device to go idle and releases
/// everything. Thread safety: the const methods (properties, memory types, Submit, and
/// creating CommandStreams, buffers and pipelines from it) may be called from several
/// threads at once; Begin/SubmitAndWait use the device's own command stream and are for
/// one thread at a time (sessions each make a CommandStream instead).
class Device {
 public:
  /// Loads libvulkan (LoadGlobalFunctions: its absence is a kUnsupported status, "Vulkan
  /// loader libvulkan.so.1 not found: ..."), then
  /// creates an instance (Vulkan 1.1, no layers or extensions) and opens the best device:
  /// a discrete GPU, then integrated, virtual, other, and a CPU device last (only with
  /// options.allow_cpu), among those passing CheckRequirements. Where the device has
  /// VK_KHR_shader_integer_dot_product (facts().integer_dot_product) it is enabled with its
  /// feature, and VK_EXT_external_memory_host (facts().external_memory_host) likewise.
  /// Without one: a Status
  /// (Error::kUnsupported) naming every device seen and why it was skipped, or saying that
  /// no Vulkan driver is installed. Then, with options.fma kAuto, runs the fma probe
  /// (ProbeFma: one tiny dispatch) to set fma_native(); a probe that fails to run is a
  /// status naming it (a lost device or a timeout, never a hang). options.bad_fma set:
  /// kInvalidArgument naming kFmaEnv and the value. Never aborts.
  static Result<Device> Create(const DeviceOptions& options);

  Device(Device&& other);
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  Device& operator=(Device&&) = delete;
  ~Device();

  VkDevice handle() const { return device_; }
  /// The Vulkan entry points for this device and its instance (loader.h). Stable in memory
  /// while the Device lives (moving the Device keeps it): objects made from it keep a pointer.
  const Functions& vk() const { return *vk_; }
  VkPhysicalDevice physical() const { return physical_; }
  /// Properties and limits of the chosen device (deviceName, limits, ...).
  const VkPhysicalDeviceProperties& properties() const { return properties_; }
  /// The facts CheckRequirements passed on, and the optional features found.
  const DeviceFacts& facts() const { return facts_; }
  /// True when the shaders' FmaExact is GLSL's fma() (specialization constant
  /// kFmaNativeConstantId of every pipeline, pipeline.h): options.fma kNative, or kAuto on
  /// a device whose fma() the probe found fused.
  bool fma_native() const { return fma_native_; }
  /// Largest workgroup size the shaders may use here (MaxWorkgroupSize of facts()).
  uint32_t max_workgroup_size() const { return MaxWorkgroupSize(facts_); }

  /// Index of a memory type allowed by `type_bits` (VkMemoryRequirements::memoryTypeBits)
  /// with all of `flags`, preferring one that is also DEVICE_LOCAL; -1 when there is none.
  int FindMemoryType(uint32_t type_bits, VkMemoryPropertyFlags flags) const;

  /// The memory types and heaps of the device.
  const VkPhysicalDeviceMemoryProperties& memory() const { return memory_; }

  /// The compute queue every command stream submits to (SharedQueue::Submit locks it).
  SharedQueue& queue() const { return *queue_; }

  /// The device's own command stream (CommandStream::Begin): for one thread at a time.
  Result<VkCommandBuffer> Begin();

  /// CommandStream::SubmitAndWait of the device's own stream: a timeout or a lost device
  /// returns an error and marks that stream failed (every later Begin returns the error).
  Status SubmitAndWait(uint64_t timeout_ns);

 private:
  Device();
  void Release();

  std::unique_ptr<Functions> vk_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  std::unique_ptr<SharedQueue> queue_;
  std::unique_ptr<CommandStream> stream_;  ///< Begin/SubmitAndWait's stream
  VkPhysicalDeviceProperties properties_ = {};
  VkPhysicalDeviceMemoryProperties memory_ = {};
  DeviceFacts facts_;
  bool fma_native_ = false;
};

}  // namespace kite::vulkan
