// Host memory imported as device memory (VK_EXT_external_memory_host): the device reads
// bytes the host already holds, such as the mapped model file, without a copy. The
// arithmetic that picks the range and the buffer offsets is pure (and tested on odd
// offsets); HostMemory owns the import.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sdk/backends/vulkan/device.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Bytes [begin, end) of host memory, as addresses. Plain data.
struct HostRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  bool empty() const { return end <= begin; }
  uint64_t size() const { return empty() ? 0 : end - begin; }
};

/// The range to import so that the bytes `want` are covered: `want` widened outward to
/// multiples of `alignment` (a power of two: minImportedHostPointerAlignment), then clipped
/// inward to whole aligned blocks inside `readable` (the memory the host may hand over: a
/// mapping, or the caller's buffer). Bytes of `want` outside the result (at most one partial
/// block at either end of `readable`) cannot be imported. Empty when no whole block fits or
/// `want` is empty. Pure.
HostRange ImportRange(HostRange readable, HostRange want, uint64_t alignment);

/// Whether a buffer holding `bytes` bytes from host address `addr` can be bound inside the
/// imported `range`: its size rounded up to 4 (Buffer's rule) must lie inside the range, and
/// its offset from range.begin must be a multiple of `offset_alignment` (a power of two:
/// the buffer's VkMemoryRequirements::alignment). Sets *offset on success. Pure.
bool ImportOffset(HostRange range, uintptr_t addr, uint64_t bytes, uint64_t offset_alignment,
                  uint64_t* offset);

/// The imports that cover the buffers `spans` (each one buffer's host bytes, sorted by
/// begin) when one import may hold at most `max_bytes` (maxMemoryAllocationSize; 0: no
/// limit): runs of consecutive spans, each run's range as ImportRange gives it within
/// `readable`, at most max_bytes and not sharing an aligned block with another run (an
/// implementation may refuse to import the same pages twice). A span that fits no run is
/// left out (its buffer is copied): one larger than max_bytes alone, one with bytes outside
/// `readable`, or one starting in the last block of the previous run when the run cannot
/// take it. Replaces *out (load time: it allocates). Pure.
void SplitImports(HostRange readable, const HostRange* spans, size_t count, uint64_t alignment,
                  uint64_t max_bytes, std::vector<HostRange>* out);

/// Whether weights should be read from imported host memory on a device with these facts
/// when nothing forces a choice: the device has VK_EXT_external_memory_host and shares
/// the host's memory (an integrated GPU or a CPU device). A discrete GPU reads imported
/// memory across the bus at every use, far slower than its own memory, so it gets a copy.
/// Pure.
bool PreferHostImport(const DeviceFacts& facts);

/// Host memory imported into a device: one VkDeviceMemory over a range the host keeps
/// mapped and unchanged while it lives. Move-only; the Device and the host memory must
/// outlive it. Buffers are bound inside it with Buffer::CreateIn. Thread-compatible.
class HostMemory {
 public:
  /// Imports `range` (start and size multiples of the device's
  /// minImportedHostPointerAlignment, see ImportRange) into a host-visible memory type that
  /// vkGetMemoryHostPointerPropertiesEXT allows for it (device-local too where possible).
  /// `what` names it in messages (static storage). `max_bytes`: the largest range to
  /// import, 0 for the device's maxMemoryAllocationSize (a lower one: tests). Errors
  /// (kUnsupported): the device lacks VK_EXT_external_memory_host, the range is empty or
  /// misaligned, larger than the limit (both sizes named; one import is one allocation:
  /// SplitImports chooses ranges within it), no host-visible type allows it; Vulkan
  /// failures per VkCheck.
  static Result<HostMemory> Import(const Device& device, HostRange range, const char* what,
                                   uint64_t max_bytes = 0);

  HostMemory(HostMemory&& other);
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  HostMemory& operator=(HostMemory&&) = delete;
  ~HostMemory();

  VkDeviceMemory handle() const { return memory_; }
  /// The memory type the import uses.
  uint32_t type_index() const { return type_index_; }
  /// The host bytes it covers.
  HostRange range() const { return range_; }

 private:
  HostMemory() = default;

  const Functions* vk_ = nullptr;
  VkDevice device_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  uint32_t type_index_ = 0;
  HostRange range_;
};

}  // namespace kite::vulkan
