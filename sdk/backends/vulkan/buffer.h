// A storage buffer in host-visible, host-coherent memory, mapped for its whole life: the
// host writes inputs and reads results through data(), shaders bind it as a storage buffer.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "sdk/backends/vulkan/device.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Move-only owner of a VkBuffer and its memory. The Device must outlive it. Not
/// thread-safe; the host must not touch data() while the GPU runs work that uses it.
class Buffer {
 public:
  /// A buffer of `bytes` bytes (rounded up to a multiple of 4), usable as a storage buffer,
  /// in memory the host can map (device-local too when the device has such memory, as on
  /// unified-memory devices). `what` names its contents in error messages. Errors: `bytes`
  /// is 0 (kInvalidArgument), above the device's maxStorageBufferRange (kUnsupported, the
  /// message gives both sizes), or no host-visible coherent memory (kUnsupported); Vulkan
  /// failures per VkCheck.
  static Result<Buffer> Create(const Device& device, uint64_t bytes, const char* what);

  Buffer(Buffer&& other);
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;
  ~Buffer();

  VkBuffer handle() const { return buffer_; }
  /// Usable size in bytes (the size asked for, rounded up to a multiple of 4).
  uint64_t size() const { return size_; }
  /// The mapped bytes, size() of them, valid while the buffer lives.
  void* data() const { return mapped_; }

 private:
  Buffer() = default;

  VkDevice device_ = VK_NULL_HANDLE;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;
  uint64_t size_ = 0;
};

/// Ok when `buffer` is not null and holds at least `bytes`; else kInvalidArgument naming
/// the shader and the buffer ("rmsnorm: buffer 'x' holds 64 bytes, the shape needs 80").
Status CheckBufferSize(const char* shader, const Buffer* buffer, uint64_t bytes,
                       const char* what);

}  // namespace kite::vulkan
