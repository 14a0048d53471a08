#include "sdk/backends/vulkan/host_import.h"

#include "sdk/backends/vulkan/vk_status.h"

namespace kite::vulkan {

HostRange ImportRange(HostRange readable, HostRange want, uint64_t alignment) {
  if (want.empty() || readable.empty() || alignment == 0) return HostRange{};
  const uintptr_t mask = static_cast<uintptr_t>(alignment - 1);
  uintptr_t begin = want.begin & ~mask;
  // Widening want.end up could overflow at the top of the address space: clip first.
  uintptr_t end = want.end;
  if (end > readable.end) end = readable.end;
  end = end > UINTPTR_MAX - mask ? end & ~mask : (end + mask) & ~mask;
  if (begin < readable.begin) {
    // The first whole block inside readable.
    begin = readable.begin > UINTPTR_MAX - mask ? 0 : (readable.begin + mask) & ~mask;
    if (begin == 0) return HostRange{};
  }
  if (end > readable.end) end = readable.end & ~mask;
  if (end <= begin) return HostRange{};
  return HostRange{begin, end};
}

bool ImportOffset(HostRange range, uintptr_t addr, uint64_t bytes, uint64_t offset_alignment,
                  uint64_t* offset) {
  if (range.empty() || bytes == 0 || addr < range.begin || addr >= range.end) return false;
  const uint64_t at = addr - range.begin;
  if (offset_alignment != 0 && at % offset_alignment != 0) return false;
  if (bytes > UINT64_MAX - 3) return false;
  const uint64_t size = (bytes + 3) / 4 * 4;
  if (size > range.size() - at) return false;
  *offset = at;
  return true;
}

void SplitImports(HostRange readable, const HostRange* spans, size_t count, uint64_t alignment,
                  uint64_t max_bytes, std::vector<HostRange>* out) {
  out->clear();
  const uint64_t limit = max_bytes != 0 ? max_bytes : UINT64_MAX;
  HostRange run;                      // the open run's range
  uintptr_t floor = readable.begin;   // where the next run may start: after the last one
  for (size_t i = 0; i < count; ++i) {
    const HostRange s = spans[i];
    HostRange r = ImportRange(readable, s, alignment);
    if (s.empty() || r.begin > s.begin || r.end < s.end) continue;  // not all importable
    if (!run.empty()) {
      const HostRange joined = {run.begin, r.end > run.end ? r.end : run.end};
      if (joined.size() <= limit) {
        run = joined;
        continue;
      }
      out->push_back(run);
      floor = run.end;
      run = HostRange{};
    }
    if (r.begin < floor) r.begin = floor;
    if (r.begin > s.begin || r.size() > limit) continue;
    run = r;
  }
  if (!run.empty()) out->push_back(run);
}

bool PreferHostImport(const DeviceFacts& facts) {
  return facts.external_memory_host && (facts.type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                                        facts.type == VK_PHYSICAL_DEVICE_TYPE_CPU);
}

Result<HostMemory> HostMemory::Import(const Device& device, HostRange range, const char* what,
                                      uint64_t max_bytes) {
  const DeviceFacts& facts = device.facts();
  KITE_CHECK_OR_RETURN(facts.external_memory_host, Error::kUnsupported,
                       "Vulkan device '%s' cannot import host memory for %s (no "
                       "VK_EXT_external_memory_host)",
                       device.properties().deviceName, what);
  const uint64_t align = facts.min_imported_host_pointer_alignment;
  KITE_CHECK_OR_RETURN(!range.empty() && range.begin % align == 0 && range.size() % align == 0,
                       Error::kUnsupported,
                       "%s: host range of %llu bytes at 0x%llx is empty or not aligned to the "
                       "device's minImportedHostPointerAlignment (%llu)",
                       what, static_cast<unsigned long long>(range.size()),
                       static_cast<unsigned long long>(range.begin),
                       static_cast<unsigned long long>(align));
  // One import is one allocation: not above maxMemoryAllocationSize (or the caller's lower
  // limit; SplitImports chooses ranges within it).
  uint64_t limit = facts.max_memory_allocation_size;
  if (max_bytes != 0 && (limit == 0 || max_bytes < limit)) limit = max_bytes;
  KITE_CHECK_OR_RETURN(limit == 0 || range.size() <= limit, Error::kUnsupported,
                       "%s: %llu bytes to import exceed the largest allocation of %llu bytes "
                       "(Vulkan device '%s', maxMemoryAllocationSize%s)",
                       what, static_cast<unsigned long long>(range.size()),
                       static_cast<unsigned long long>(limit), device.properties().deviceName,
                       limit == facts.max_memory_allocation_size ? "" : " or the caller's limit");
  HostMemory m;
  m.vk_ = &device.vk();
  m.device_ = device.handle();
  void* host = reinterpret_cast<void*>(range.begin);
  VkMemoryHostPointerPropertiesEXT props = {};
  props.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT;
  KITE_RETURN_IF_ERROR(VkCheck(
      m.vk_->GetMemoryHostPointerPropertiesEXT(
          m.device_, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, host, &props),
      "vkGetMemoryHostPointerPropertiesEXT"));
  const int type = device.FindMemoryType(props.memoryTypeBits,
                                         VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  KITE_CHECK_OR_RETURN(type >= 0, Error::kUnsupported,
                       "Vulkan device '%s' has no host-visible memory type for imported host "
                       "memory (%s)",
                       device.properties().deviceName, what);
  m.type_index_ = static_cast<uint32_t>(type);
  VkImportMemoryHostPointerInfoEXT import = {};
  import.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT;
  import.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  import.pHostPointer = host;
  VkMemoryAllocateInfo alloc = {};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.pNext = &import;
  alloc.allocationSize = range.size();
  alloc.memoryTypeIndex = m.type_index_;
  KITE_RETURN_IF_ERROR(VkCheck(m.vk_->AllocateMemory(m.device_, &alloc, nullptr, &m.memory_),
                               "vkAllocateMemory (imported host memory)"));
  m.range_ = range;
  return Result<HostMemory>(static_cast<HostMemory&&>(m));
}

HostMemory::HostMemory(HostMemory&& other)
    : vk_(other.vk_),
      device_(other.device_),
      memory_(other.memory_),
      type_index_(other.type_index_),
      range_(other.range_) {
  other.memory_ = VK_NULL_HANDLE;
}

HostMemory::~HostMemory() {
  if (memory_ != VK_NULL_HANDLE) vk_->FreeMemory(device_, memory_, nullptr);
}

}  // namespace kite::vulkan
