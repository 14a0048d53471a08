#include "sdk/backends/vulkan/buffer.h"

#include <utility>

#include "sdk/backends/vulkan/vk_status.h"

namespace kite::vulkan {

namespace {

// `bytes` rounded up to whole 32-bit words: the size of a storage buffer that holds them;
// an error naming the buffer `what` when that is 0 or above maxStorageBufferRange.
Result<uint64_t> BufferSize(const Device& device, uint64_t bytes, const char* what) {
  KITE_CHECK_OR_RETURN(bytes > 0, Error::kInvalidArgument, "Vulkan buffer '%s' of 0 bytes",
                       what);
  const uint64_t size = (bytes + 3) / 4 * 4;
  const uint64_t range = device.properties().limits.maxStorageBufferRange;
  KITE_CHECK_OR_RETURN(size <= range, Error::kUnsupported,
                       "Vulkan buffer '%s' needs %llu bytes, more than the device's "
                       "maxStorageBufferRange (%llu bytes)",
                       what, static_cast<unsigned long long>(size),
                       static_cast<unsigned long long>(range));
  return Result<uint64_t>(size);
}

}  // namespace

Result<Buffer> Buffer::Create(const Device& device, uint64_t bytes, const char* what,
                              Memory memory) {
  KITE_ASSIGN_OR_RETURN(const uint64_t size, BufferSize(device, bytes, what));
  Buffer b;
  b.vk_ = &device.vk();
  b.device_ = device.handle();
  b.size_ = size;
  VkBufferCreateInfo info = {};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  KITE_RETURN_IF_ERROR(
      VkCheck(b.vk_->CreateBuffer(b.device_, &info, nullptr, &b.buffer_), "vkCreateBuffer"));
  VkMemoryRequirements req;
  b.vk_->GetBufferMemoryRequirements(b.device_, b.buffer_, &req);
  constexpr VkMemoryPropertyFlags kMappable =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const bool device_local = memory == Memory::kDeviceLocal;
  const int type = device.FindMemoryType(
      req.memoryTypeBits,
      device_local ? static_cast<VkMemoryPropertyFlags>(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
                   : kMappable);
  KITE_CHECK_OR_RETURN(type >= 0, Error::kUnsupported,
                       "Vulkan buffer '%s': the device has no %s memory", what,
                       device_local ? "device-local" : "host-visible coherent");
  const bool mappable =
      (device.memory().memoryTypes[type].propertyFlags & kMappable) == kMappable;
  VkMemoryAllocateInfo alloc = {};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = static_cast<uint32_t>(type);
  KITE_RETURN_IF_ERROR(
      VkCheck(b.vk_->AllocateMemory(b.device_, &alloc, nullptr, &b.memory_), "vkAllocateMemory"));
  KITE_RETURN_IF_ERROR(
      VkCheck(b.vk_->BindBufferMemory(b.device_, b.buffer_, b.memory_, 0), "vkBindBufferMemory"));
  if (mappable) {
    KITE_RETURN_IF_ERROR(VkCheck(
        b.vk_->MapMemory(b.device_, b.memory_, 0, VK_WHOLE_SIZE, 0, &b.mapped_), "vkMapMemory"));
  }
  return Result<Buffer>(std::move(b));
}

Result<Buffer> Buffer::CreateIn(const Device& device, const HostMemory& memory,
                                uint64_t offset, uint64_t bytes, const char* what) {
  KITE_ASSIGN_OR_RETURN(const uint64_t size, BufferSize(device, bytes, what));
  Buffer b;
  b.vk_ = &device.vk();
  b.device_ = device.handle();
  b.size_ = size;
  b.owns_memory_ = false;
  VkExternalMemoryBufferCreateInfo external = {};
  external.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
  external.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  VkBufferCreateInfo info = {};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.pNext = &external;
  info.size = size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  KITE_RETURN_IF_ERROR(
      VkCheck(b.vk_->CreateBuffer(b.device_, &info, nullptr, &b.buffer_), "vkCreateBuffer"));
  VkMemoryRequirements req;
  b.vk_->GetBufferMemoryRequirements(b.device_, b.buffer_, &req);
  const uint64_t held = memory.range().size();
  KITE_CHECK_OR_RETURN(
      (req.memoryTypeBits & (1u << memory.type_index())) != 0 &&
          (req.alignment == 0 || offset % req.alignment == 0) && offset <= held &&
          req.size <= held - offset,
      Error::kUnsupported,
      "Vulkan buffer '%s' cannot be bound at offset %llu of imported host memory of %llu "
      "bytes (needs %llu bytes aligned to %llu, memory types 0x%x)",
      what, static_cast<unsigned long long>(offset), static_cast<unsigned long long>(held),
      static_cast<unsigned long long>(req.size), static_cast<unsigned long long>(req.alignment),
      req.memoryTypeBits);
  KITE_RETURN_IF_ERROR(VkCheck(b.vk_->BindBufferMemory(b.device_, b.buffer_, memory.handle(),
                                                       offset),
                               "vkBindBufferMemory (imported host memory)"));
  b.mapped_ = reinterpret_cast<void*>(memory.range().begin + offset);
  return Result<Buffer>(std::move(b));
}

Buffer::Buffer(Buffer&& other)
    : vk_(other.vk_),
      device_(other.device_),
      buffer_(other.buffer_),
      memory_(other.memory_),
      mapped_(other.mapped_),
      size_(other.size_),
      owns_memory_(other.owns_memory_) {
  other.buffer_ = VK_NULL_HANDLE;
  other.memory_ = VK_NULL_HANDLE;
  other.mapped_ = nullptr;
}

Buffer::~Buffer() {
  if (buffer_ != VK_NULL_HANDLE) vk_->DestroyBuffer(device_, buffer_, nullptr);
  // Unmaps too. A buffer in imported memory has none of its own.
  if (memory_ != VK_NULL_HANDLE) vk_->FreeMemory(device_, memory_, nullptr);
}

Status CheckBufferSize(const char* shader, const Buffer* buffer, uint64_t bytes,
                       const char* what) {
  KITE_CHECK_OR_RETURN(buffer != nullptr, Error::kInvalidArgument, "%s: no '%s' buffer",
                       shader, what);
  KITE_CHECK_OR_RETURN(buffer->size() >= bytes, Error::kInvalidArgument,
                       "%s: buffer '%s' holds %llu bytes, the shape needs %llu", shader, what,
                       static_cast<unsigned long long>(buffer->size()),
                       static_cast<unsigned long long>(bytes));
  return Status::Ok();
}

}  // namespace kite::vulkan
