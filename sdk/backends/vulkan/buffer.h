// A storage buffer, either in host-visible, host-coherent memory, mapped for its whole life
// (the host writes inputs and reads results through data()), or in device-local memory
// (weights, activations, the KV cache; mapped too when that memory is also host-visible,
// as on unified-memory devices). Shaders bind it as a storage buffer; transfers may copy
// to and from it.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/host_import.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Where a buffer's memory lives.
enum class Memory {
  /// Host-visible and coherent (device-local too when the device has such memory); always
  /// mapped.
  kHostVisible,
  /// Device-local; mapped only when the chosen memory type is also host-visible and
  /// coherent (unified memory), else data() is null and the host reaches it by transfers.
  kDeviceLocal,
};

/// Move-only owner of a VkBuffer and its memory. The Device must outlive it. Not
/// thread-safe; the host must not touch data() while the GPU runs work that uses it.
class Buffer {
 public:
  /// A buffer of `bytes` bytes (rounded up to a multiple of 4), usable as a storage buffer
  /// and as a transfer source and destination, in `memory` (see Memory). `what` names its
  /// contents in error messages (static storage or outliving the call). Errors: `bytes` is
  /// 0 (kInvalidArgument), above the device's maxStorageBufferRange (kUnsupported, the
  /// message gives both sizes), or no memory of the kind (kUnsupported); Vulkan failures
  /// per VkCheck (out of device memory: kOutOfMemory).
  static Result<Buffer> Create(const Device& device, uint64_t bytes, const char* what,
                               Memory memory = Memory::kHostVisible);

  /// A buffer of `bytes` bytes (rounded up to a multiple of 4) bound at `offset` inside
  /// imported host memory (HostMemory): no memory of its own, data() is the host bytes. For
  /// reading only (the host memory is the caller's, e.g. the model file). `what` as in
  /// Create. Errors (kUnsupported, naming `what`): the size is above maxStorageBufferRange,
  /// `offset` is not a multiple of the buffer's required alignment, the buffer does not fit
  /// in the import, or the import's memory type is not allowed for it; Vulkan failures per
  /// VkCheck. The HostMemory must outlive the buffer.
  static Result<Buffer> CreateIn(const Device& device, const HostMemory& memory,
                                 uint64_t offset, uint64_t bytes, const char* what);

  Buffer(Buffer&& other);
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;
  ~Buffer();

  VkBuffer handle() const { return buffer_; }
  /// Usable size in bytes (the size asked for, rounded up to a multiple of 4).
  uint64_t size() const { return size_; }
  /// The mapped bytes, size() of them, valid while the buffer lives; null for device-local
  /// memory the host cannot map.
  void* data() const { return mapped_; }
  /// True when the buffer is bound in imported host memory (CreateIn).
  bool imported() const { return !owns_memory_; }

 private:
  Buffer() = default;

  const Functions* vk_ = nullptr;  // the Device's entry points
  VkDevice device_ = VK_NULL_HANDLE;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;
  uint64_t size_ = 0;
  bool owns_memory_ = true;  // false: bound in a HostMemory (CreateIn)
};

/// Ok when `buffer` is not null and holds at least `bytes`; else kInvalidArgument naming
/// the shader and the buffer ("rmsnorm: buffer 'x' holds 64 bytes, the shape needs 80").
Status CheckBufferSize(const char* shader, const Buffer* buffer, uint64_t bytes,
                       const char* what);

}  // namespace kite::vulkan
