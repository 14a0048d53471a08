// What a Vulkan device must offer to run Kite's baseline shaders, as a pure check over a
// few facts about the device (so the refusal messages are testable without a device).
// The baseline needs only Vulkan 1.1, 32-bit storage buffers and fp32 arithmetic, and fits
// the smallest devices Kite targets (Raspberry Pi 5's V3DV: 16 KiB of shared memory, 256
// invocations per workgroup). Faster variants (fp16, int8, integer dot) are optional.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/loader.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Lowest Vulkan version a device must report (apiVersion of its properties).
inline constexpr uint32_t kRequiredApiVersion = VK_API_VERSION_1_1;
/// Shared memory a compute workgroup must be able to use, in bytes (the shaders use at most
/// this much).
inline constexpr uint32_t kRequiredSharedMemoryBytes = 16384;
/// Smallest workgroup (invocations along x) every shader runs with; the device's limit
/// must reach it.
inline constexpr uint32_t kMinWorkgroupSize = 64;
/// Largest workgroup a shader is built for (the shared-memory arrays are sized by it).
inline constexpr uint32_t kMaxWorkgroupSize = 256;
/// Most storage buffers one shader binds (q4r16_matvec: w, xq, xscale, xsum, y).
inline constexpr uint32_t kRequiredStorageBuffers = 5;

/// The facts CheckRequirements looks at, read from vkGetPhysicalDeviceProperties and the
/// queue families. Plain data; `name` is borrowed (NUL-terminated).
struct DeviceFacts {
  const char* name = "";
  uint32_t api_version = 0;                  ///< VkPhysicalDeviceProperties::apiVersion
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  bool has_compute_queue = false;            ///< a queue family with VK_QUEUE_COMPUTE_BIT
  uint32_t max_shared_memory_bytes = 0;      ///< limits.maxComputeSharedMemorySize
  uint32_t max_workgroup_invocations = 0;    ///< limits.maxComputeWorkGroupInvocations
  uint32_t max_workgroup_size_x = 0;         ///< limits.maxComputeWorkGroupSize[0]
  uint32_t max_storage_buffers = 0;          ///< limits.maxPerStageDescriptorStorageBuffers
  /// Optional: VK_KHR_shader_integer_dot_product is present and its shaderIntegerDotProduct
  /// feature is on (Device::Create then enables both). Read for the chosen device only.
  bool integer_dot_product = false;
  /// VkPhysicalDeviceShaderIntegerDotProductProperties::
  /// integerDotProduct4x8BitPackedSignedAccelerated: the packed signed 4x8-bit dot product
  /// is faster than the plain arithmetic it replaces (lavapipe: false).
  bool integer_dot_accelerated = false;
  /// VkPhysicalDeviceSubgroupProperties::subgroupSize (Vulkan 1.1 core): invocations that
  /// run in lockstep (lavapipe: 8). 0 when not read. Read for the chosen device only.
  uint32_t subgroup_size = 0;
  /// Optional: VK_EXT_external_memory_host is present (Device::Create then enables it):
  /// host memory, such as the mapped model file, can be imported as device memory
  /// (host_import.h). Read for the chosen device only.
  bool external_memory_host = false;
  /// VkPhysicalDeviceExternalMemoryHostPropertiesEXT::minImportedHostPointerAlignment: an
  /// imported range's start and size are multiples of it (lavapipe: 4096). 0 without the
  /// extension.
  uint64_t min_imported_host_pointer_alignment = 0;
  /// VkPhysicalDeviceMaintenance3Properties::maxMemoryAllocationSize (Vulkan 1.1 core): the
  /// largest single allocation or import; 0 when not read (no limit assumed).
  uint64_t max_memory_allocation_size = 0;
  /// Optional: VkPhysicalDevice16BitStorageFeatures::storageBuffer16BitAccess (Vulkan 1.1
  /// core, optional; Device::Create then enables it): shaders may read f16 values from
  /// storage buffers (f16_matvec.comp). lavapipe: yes; the Pi 5's V3DV: no. Read for the
  /// chosen device only.
  bool storage_buffer_16bit = false;
};

/// Ok when the device can run the baseline shaders; otherwise Error::kUnsupported with a
/// message naming the device and every requirement it misses, e.g.
/// "Vulkan device 'X' lacks: Vulkan 1.1 (has 1.0.3), a compute queue". Pure; thread-safe.
Status CheckRequirements(const DeviceFacts& facts);

/// True for a device that runs on the CPU (VK_PHYSICAL_DEVICE_TYPE_CPU, e.g. lavapipe).
bool IsCpuDevice(VkPhysicalDeviceType type);

/// Lower-case name of a device type: "discrete GPU", "integrated GPU", "virtual GPU",
/// "CPU", "other". Static string.
const char* DeviceTypeName(VkPhysicalDeviceType type);

/// The largest workgroup size (invocations along x) the shaders may use on a device with
/// these facts: a power of two in [kMinWorkgroupSize, kMaxWorkgroupSize] within the
/// device's limits. Requires CheckRequirements(facts) to be ok. Pure.
uint32_t MaxWorkgroupSize(const DeviceFacts& facts);

/// The workgroup size of the 4-bit and 3-bit products (Q4R16Matvec, Q4Sp24Matvec,
/// Q4gMatvec, Q3R16Matvec: the decode matvecs and the tiled prefill GEMMs) on a device
/// with these facts: the smallest power of two that is at least kMinWorkgroupSize and
/// holds a whole subgroup (facts.subgroup_size; 0 counts as none), within
/// MaxWorkgroupSize(facts). 64 on lavapipe
/// (subgroup 8) and on devices with subgroups of 32 or 64; 128 with subgroups of 128.
/// Their invocations split a row's groups (16 rows per workgroup), so a wider workgroup
/// leaves most of them idle on narrow models. The forward pass also gives it to the ops
/// with one invocation per activation group, KV head or RoPE pair (Q8Quantize,
/// Q8KvQuantize, Rope). Requires CheckRequirements(facts) to be ok. Pure.
uint32_t Q4WorkgroupSize(const DeviceFacts& facts);

}  // namespace kite::vulkan
