#include "sdk/backends/vulkan/command_stream.h"

#include <cstdint>

#include "sdk/backends/vulkan/vk_status.h"

namespace kite::vulkan {

Result<CommandStream> CommandStream::Create(const Device& device) {
  CommandStream s;
  s.vk_ = &device.vk();
  s.device_ = device.handle();
  s.queue_ = &device.queue();
  VkCommandPoolCreateInfo pool_info = {};
  pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = s.queue_->family;
  KITE_RETURN_IF_ERROR(VkCheck(s.vk_->CreateCommandPool(s.device_, &pool_info, nullptr, &s.pool_),
                               "vkCreateCommandPool"));
  VkCommandBufferAllocateInfo alloc = {};
  alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  alloc.commandPool = s.pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  KITE_RETURN_IF_ERROR(VkCheck(s.vk_->AllocateCommandBuffers(s.device_, &alloc, &s.commands_),
                               "vkAllocateCommandBuffers"));
  VkFenceCreateInfo fence_info = {};
  fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  KITE_RETURN_IF_ERROR(
      VkCheck(s.vk_->CreateFence(s.device_, &fence_info, nullptr, &s.fence_), "vkCreateFence"));
  return Result<CommandStream>(static_cast<CommandStream&&>(s));
}

CommandStream::CommandStream(CommandStream&& other)
    : vk_(other.vk_),
      device_(other.device_),
      queue_(other.queue_),
      pool_(other.pool_),
      commands_(other.commands_),
      fence_(other.fence_),
      pending_(other.pending_),
      failed_(other.failed_) {
  other.pool_ = VK_NULL_HANDLE;
  other.commands_ = VK_NULL_HANDLE;
  other.fence_ = VK_NULL_HANDLE;
  other.pending_ = false;
}

CommandStream::~CommandStream() {
  // Work still running after a timeout must end before its command buffer goes; a lost
  // device returns at once.
  if (pending_) vk_->WaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
  if (fence_ != VK_NULL_HANDLE) vk_->DestroyFence(device_, fence_, nullptr);
  if (pool_ != VK_NULL_HANDLE) vk_->DestroyCommandPool(device_, pool_, nullptr);  // frees buffer
}

Result<VkCommandBuffer> CommandStream::Begin() {
  if (!failed_.ok()) return failed_;
  KITE_RETURN_IF_ERROR(VkCheck(vk_->ResetCommandBuffer(commands_, 0), "vkResetCommandBuffer"));
  VkCommandBufferBeginInfo begin = {};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  KITE_RETURN_IF_ERROR(VkCheck(vk_->BeginCommandBuffer(commands_, &begin), "vkBeginCommandBuffer"));
  return commands_;
}

Status CommandStream::SubmitAndWait(uint64_t timeout_ns) {
  if (!failed_.ok()) return failed_;
  KITE_RETURN_IF_ERROR(VkCheck(vk_->EndCommandBuffer(commands_), "vkEndCommandBuffer"));
  KITE_RETURN_IF_ERROR(VkCheck(vk_->ResetFences(device_, 1, &fence_), "vkResetFences"));
  VkSubmitInfo submit = {};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands_;
  Status s = queue_->Submit(submit, fence_);
  if (s.ok()) {
    pending_ = true;
    const VkResult r = vk_->WaitForFences(device_, 1, &fence_, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT) {
      s = Status::Make(Error::kInternal,
                       "Vulkan device '%s' did not finish its work within %llu ms",
                       queue_->device_name,
                       static_cast<unsigned long long>(timeout_ns / 1000000));
    } else {
      s = VkCheck(r, "vkWaitForFences");
      if (s.ok()) pending_ = false;
    }
  }
  if (!s.ok() && s.code() != Error::kOutOfMemory) failed_ = s;
  return s;
}

}  // namespace kite::vulkan
