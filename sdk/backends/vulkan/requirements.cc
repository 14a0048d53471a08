#include "sdk/backends/vulkan/requirements.h"

#include <cstdio>

namespace kite::vulkan {

namespace {

// Appends ", " (after the first item) and a formatted item to `buf`, truncating safely.
void Append(char* buf, size_t cap, size_t* len, const char* format, uint32_t a, uint32_t b,
            uint32_t c) {
  if (*len >= cap) return;
  int n = std::snprintf(buf + *len, cap - *len, "%s", *len == 0 ? "" : ", ");
  if (n > 0) *len += static_cast<size_t>(n);
  if (*len >= cap) return;
  n = std::snprintf(buf + *len, cap - *len, format, a, b, c);
  if (n > 0) *len += static_cast<size_t>(n);
  if (*len > cap) *len = cap;
}

}  // namespace

Status CheckRequirements(const DeviceFacts& facts) {
  char missing[Status::kMaxMessage];
  missing[0] = '\0';
  size_t len = 0;
  if (facts.api_version < kRequiredApiVersion) {
    Append(missing, sizeof(missing), &len, "Vulkan 1.1 (has %u.%u.%u)",
           VK_API_VERSION_MAJOR(facts.api_version), VK_API_VERSION_MINOR(facts.api_version),
           VK_API_VERSION_PATCH(facts.api_version));
  }
  if (!facts.has_compute_queue) {
    Append(missing, sizeof(missing), &len, "a compute queue", 0, 0, 0);
  }
  if (facts.max_shared_memory_bytes < kRequiredSharedMemoryBytes) {
    Append(missing, sizeof(missing), &len, "%u bytes of compute shared memory (has %u)",
           kRequiredSharedMemoryBytes, facts.max_shared_memory_bytes, 0);
  }
  if (facts.max_workgroup_invocations < kMinWorkgroupSize ||
      facts.max_workgroup_size_x < kMinWorkgroupSize) {
    const uint32_t has = facts.max_workgroup_invocations < facts.max_workgroup_size_x
                             ? facts.max_workgroup_invocations
                             : facts.max_workgroup_size_x;
    Append(missing, sizeof(missing), &len, "workgroups of %u invocations (has %u)",
           kMinWorkgroupSize, has, 0);
  }
  if (facts.max_storage_buffers < kRequiredStorageBuffers) {
    Append(missing, sizeof(missing), &len, "%u storage buffers per shader (has %u)",
           kRequiredStorageBuffers, facts.max_storage_buffers, 0);
  }
  if (len == 0) return Status::Ok();
  return Status::Make(Error::kUnsupported, "Vulkan device '%s' lacks: %s", facts.name, missing);
}

bool IsCpuDevice(VkPhysicalDeviceType type) { return type == VK_PHYSICAL_DEVICE_TYPE_CPU; }

const char* DeviceTypeName(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

uint32_t MaxWorkgroupSize(const DeviceFacts& facts) {
  uint32_t size = kMaxWorkgroupSize;
  while (size > kMinWorkgroupSize &&
         (size > facts.max_workgroup_invocations || size > facts.max_workgroup_size_x)) {
    size /= 2;
  }
  return size;
}

uint32_t Q4WorkgroupSize(const DeviceFacts& facts) {
  const uint32_t max = MaxWorkgroupSize(facts);
  uint32_t size = kMinWorkgroupSize;
  while (size < facts.subgroup_size && size < max) size *= 2;
  return size;
}

}  // namespace kite::vulkan
